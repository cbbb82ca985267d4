"""What the reader costs: warm `rag ask` with the reader against the rules-only path
(RAG_READER=off), in process and over HTTP; the cold start of `rag ask` both ways; and the
reader's engine alone, CTranslate2 int8 / float32 against ONNX Runtime float32 / int8.

Everything runs in one process tree on the same index, the two paths alternating question by
question, so their ratio is fair on a noisy machine. Writes bench/reader_latency.json and
prints a short table. The engine part exports the joined reader (a transformers BERT folder that
`TrainedReader` builds under <models_dir>/reader-<sha12>/) to ONNX once, into bench/out/onnx/.

    .venv/bin/python bench/reader_latency.py [--quick] [--index DIR] [--weights FILE]
                                             [--skip http,cold,engines,ask]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from common import bundled_index, percentile

GOLD = Path(__file__).resolve().parents[1] / "eval" / "gold" / "cq-sti.jsonl"
OUT = Path("bench/reader_latency.json")
PASSAGE_CHARS = 300


@contextlib.contextmanager
def _env(**values: str | None):
    """os.environ with `values` set (None: unset) for the block: the helpers this reuses from
    ask_latency.py and http_latency.py hand os.environ to their child processes."""
    saved = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _summary(values: list[float]) -> dict:
    return {"n": len(values), "p50": round(statistics.median(values), 2),
            "p95": round(percentile(values, 0.95), 2), "mean": round(statistics.fmean(values), 2)}


def _ratio(a: dict, b: dict) -> dict:
    return {k: round(a[k] / b[k], 2) if b[k] else None for k in ("p50", "p95")}


def _questions(n: int) -> list[str]:
    from eval.gold_set import load_gold

    return [g.question for g in load_gold([GOLD])][:n]


# --- warm, in process ------------------------------------------------------------------------


def in_process(index: Path, questions: list[str], repeats: int) -> dict:
    """Wall ms of RagService.ask, reader on and off, alternating which goes first."""
    from rag.config import Settings
    from rag.service import RagService

    services = {"reader": RagService(Settings(index=index, reader="on")),
                "rules": RagService(Settings(index=index, reader="off"))}
    for service in services.values():
        service.warm()  # as `rag serve` does: fast embedder, jieba, the reader
        for q in questions:  # caches: jieba, dictionary, FAISS pages
            service.ask(q)
    wall: dict[str, list[float]] = {name: [] for name in services}
    stages: dict[str, dict[str, list[float]]] = {name: {} for name in services}
    for r in range(repeats):
        for i, q in enumerate(questions):
            order = list(services) if (i + r) % 2 == 0 else list(reversed(services))
            for name in order:
                t0 = time.perf_counter()
                answer = services[name].ask(q)
                wall[name].append((time.perf_counter() - t0) * 1000)
                for stage, ms in answer.timings_ms.items():
                    stages[name].setdefault(stage, []).append(ms)
    out = {name: {**_summary(v), "stages_p50_ms": {s: round(statistics.median(x), 2)
                                                   for s, x in stages[name].items()}}
           for name, v in wall.items()}
    return {"method": f"RagService.ask wall time, {len(questions)} questions x {repeats}, after "
                      "warm() and one untimed pass; reader and rules alternate which goes first",
            **out, "ratio_reader_to_rules": _ratio(out["reader"], out["rules"])}


# --- warm, over HTTP -------------------------------------------------------------------------


def over_http(index: Path, questions: list[str], repeats: int) -> dict:
    """ms per POST /v1/ask against two `rag serve` processes (reader on, off), alternating."""
    import httpx
    from http_latency import _serve, _time

    servers = {}
    try:
        for name, reader in (("reader", "on"), ("rules", "off")):
            with _env(RAG_READER=reader):
                servers[name] = _serve(index)
        clients = {name: httpx.Client(base_url=url, timeout=120)
                   for name, (_, url) in servers.items()}
        for client in clients.values():
            for q in questions:  # warm-up pass, and the connection
                _time(client, "/v1/ask", {"question": q})
        ms: dict[str, list[float]] = {name: [] for name in clients}
        for r in range(repeats):
            for i, q in enumerate(questions):
                order = list(clients) if (i + r) % 2 == 0 else list(reversed(clients))
                for name in order:
                    ms[name].append(_time(clients[name], "/v1/ask", {"question": q}))
        for client in clients.values():
            client.close()
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=15)
    out = {name: _summary(v) for name, v in ms.items()}
    return {"method": f"POST /v1/ask over loopback to `rag serve` (uvicorn), one server per path, "
                      f"{len(questions)} questions x {repeats}, sequential, alternating; request "
                      "sent to last byte read, after one warm-up pass",
            **out, "ratio_reader_to_rules": _ratio(out["reader"], out["rules"])}


# --- cold start ------------------------------------------------------------------------------


def cold_start(index: Path, runs: int) -> dict:
    """Fresh `rag ask --json` processes (ask_latency.py's), reader on and off alternating."""
    from ask_latency import QUESTION, cold_starts

    runs_by: dict[str, list[dict]] = {"reader": [], "rules": []}
    for r in range(runs):
        order = [("reader", "on"), ("rules", "off")]
        for name, reader in (order if r % 2 == 0 else order[::-1]):
            with _env(RAG_READER=reader):
                runs_by[name] += cold_starts(index, 1)
    out = {name: {"runs": v, "median_wall_s": statistics.median(x["wall_s"] for x in v),
                  "median_cpu_s": statistics.median(x["cpu_s"] for x in v)}
           for name, v in runs_by.items()}
    return {"question": QUESTION, **out}


# --- the engine alone ------------------------------------------------------------------------


class _OrtReader:
    """The joined reader's encoder in ONNX Runtime (CPU), the same numpy head after it."""

    def __init__(self, model: Path, joined: Path, threads: int, pad_id: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(model), options,
                                             providers=["CPUExecutionProvider"])
        self._head_w = np.load(joined / "head_weight.npy").T.copy()
        self._head_b = np.load(joined / "head_bias.npy")
        self._pad = pad_id

    def logits(self, batch: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        width = max(len(ids) for ids in batch)
        ids = np.full((len(batch), width), self._pad, np.int64)
        mask = np.zeros((len(batch), width), np.int64)
        for i, row in enumerate(batch):
            ids[i, :len(row)] = row
            mask[i, :len(row)] = 1
        hidden = self._session.run(["last_hidden_state"], {
            "input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
        out = hidden @ self._head_w + self._head_b
        return out[..., 0], out[..., 1]


def export_onnx(joined: Path, out_dir: Path) -> tuple[Path, Path]:
    """model.onnx (float32, last_hidden_state) and model.int8.onnx (dynamic int8 quantisation)
    of the joined BERT folder, written once per reader."""
    out_dir.mkdir(parents=True, exist_ok=True)
    fp32, int8 = out_dir / "model.onnx", out_dir / "model.int8.onnx"
    if not fp32.is_file():
        import torch
        from transformers import BertModel

        model = BertModel.from_pretrained(str(joined), attn_implementation="eager",
                                          add_pooling_layer=False).eval()

        class Encoder(torch.nn.Module):
            def __init__(self, bert):
                super().__init__()
                self.bert = bert

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                                 token_type_ids=token_type_ids).last_hidden_state

        ids = torch.ones((2, 16), dtype=torch.long)
        axes = {0: "batch", 1: "tokens"}
        tmp = fp32.with_suffix(".tmp")
        with torch.no_grad():
            torch.onnx.export(Encoder(model), (ids, torch.ones_like(ids), torch.zeros_like(ids)),
                              str(tmp), input_names=["input_ids", "attention_mask",
                                                     "token_type_ids"],
                              output_names=["last_hidden_state"], opset_version=17,
                              dynamic_axes={"input_ids": axes, "attention_mask": axes,
                                            "token_type_ids": axes, "last_hidden_state": axes},
                              dynamo=False)
        tmp.replace(fp32)
    if not int8.is_file():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        tmp = int8.with_name("model.int8.tmp.onnx")
        # As CTranslate2's int8: the matrices of the linear layers, per output channel.
        quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"])
        tmp.replace(int8)
    return fp32, int8


def _batches(index: Path, questions: list[str], passages: int, tokenizer, bos: int, eos: int,
             max_len: int, stride: int) -> tuple[list[list[list[int]]], list[list], dict]:
    """Each question's windows: its top `passages` retrieved chunks, cut to PASSAGE_CHARS."""
    from rag.config import Settings
    from rag.reader_features import tokens, windows
    from rag.service import RagService

    service = RagService(Settings(index=index, reader="off"))
    out, wins_by_q, chars = [], [], []
    for q in questions:
        hits, _ = service.search(q, k=passages)
        texts = [h.chunk.text[:PASSAGE_CHARS] for h in hits]
        chars += [len(t) for t in texts]
        qt, *contexts = tokens(tokenizer, [q] + texts)
        wins = windows(bos, eos, qt, contexts, max_len, stride)
        wins_by_q.append(wins)
        out.append([w.ids for w in wins])
    shape = {"questions": len(questions), "passages_per_question": passages,
             "mean_passage_chars": round(statistics.fmean(chars), 1),
             "mean_windows_per_question": round(statistics.fmean(len(b) for b in out), 2),
             "mean_tokens_per_question": round(statistics.fmean(
                 sum(len(w) for w in b) for b in out), 1)}
    return out, wins_by_q, shape


def _best(engine, batch: list[list[int]], wins) -> tuple[int, int, int]:
    """(passage, char start, char end) of the question's best span by margin, as
    `TrainedReader.read` ranks them: what an engine must agree on."""
    from rag.reader_features import best_spans

    starts, ends = engine.logits(batch)
    best, key = -np.inf, (-1, -1, -1)
    for w, s, e in zip(wins, starts, ends):
        spans, null = best_spans(s, e, w, 1)
        if spans and spans[0][0] - null > best:
            best, key = spans[0][0] - null, (w.passage, spans[0][1], spans[0][2])
    return key


def engines(index: Path, questions: list[str], repeats: int, passages: int,
            weights: Path | None, threads: int) -> dict:
    """ms per question (all its windows in one call, encoder + numpy head) for each engine."""
    from rag.config import Settings
    from rag.reader import WEIGHTS, TrainedReader, checked_card

    models_dir = Settings().home / "models"
    weights = weights or WEIGHTS
    meta = checked_card(weights, weights.with_suffix(".json"))
    ct2 = {f"ct2-{ct}": TrainedReader(models_dir, compute_type=ct, threads=threads,
                                      weights=weights) for ct in ("int8", "float32")}
    reference = ct2["ct2-float32"]
    joined = reference.joined
    tok = reference._tokenizer
    bos, eos = reference._bos, reference._eos
    batches, wins, shape = _batches(index, questions, passages, tok, bos, eos, meta["max_len"],
                                    meta["stride"])
    pad = tok.token_to_id("<pad>")
    engines_: dict[str, object] = dict(ct2)
    results: dict[str, dict] = {}
    try:
        import onnxruntime

        version = onnxruntime.__version__
        try:
            fp32, int8 = export_onnx(joined, Path("bench/out/onnx") / joined.name)
            engines_["onnx-float32"] = _OrtReader(fp32, joined, threads, 1 if pad is None else pad)
            engines_["onnx-int8"] = _OrtReader(int8, joined, threads, 1 if pad is None else pad)
        except Exception as exc:  # noqa: BLE001 — recorded in the report, not fatal
            results["onnx"] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
    except ImportError:
        version = None
        results["onnx"] = {"error": "not available: onnxruntime is not installed"}
    names = list(engines_)
    ref_best = [_best(reference, b, w) for b, w in zip(batches, wins)]
    agree = {}
    logit_diff = {}
    for name, engine in engines_.items():  # warm-up pass, and agreement with ct2 float32
        same, diffs = 0, []
        for b, w, rb in zip(batches, wins, ref_best):
            same += _best(engine, b, w) == rb
            s, e = engine.logits(b)
            rs, re_ = reference.logits(b)
            n = [len(ids) for ids in b]
            diffs += [float(np.abs(s[i, :k] - rs[i, :k]).max()) for i, k in enumerate(n)]
            diffs += [float(np.abs(e[i, :k] - re_[i, :k]).max()) for i, k in enumerate(n)]
        agree[name] = round(same / len(batches), 3)
        logit_diff[name] = round(max(diffs), 4)
    ms: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        for i, b in enumerate(batches):
            shift = (i + r) % len(names)  # rotate which engine goes first
            for name in names[shift:] + names[:shift]:
                t0 = time.perf_counter()
                engines_[name].logits(b)
                ms[name].append((time.perf_counter() - t0) * 1000)
    for name in names:
        results[name] = {**_summary(ms[name]), "same_best_span_as_ct2_float32": agree[name],
                         "max_abs_logit_diff_to_ct2_float32": logit_diff[name]}
    timed = {n: results[n]["p50"] for n in names}
    return {"method": f"each question's windows in one call (encoder + numpy head), "
                      f"{len(batches)} questions x {repeats}, engines rotating order; "
                      f"{threads} threads each; after one untimed pass",
            "weights": str(weights), "joined": str(joined), "onnxruntime": version,
            "batches": shape, "results": results, "fastest_p50": min(timed, key=timed.get)}


# --- report ----------------------------------------------------------------------------------


def _table(report: dict) -> str:
    lines = ["| measure | reader | rules | ratio |", "|---|---|---|---|"]
    for key, label in (("in_process", "warm in process, ms"), ("http", "warm HTTP /v1/ask, ms")):
        part = report.get(key)
        if part:
            for q in ("p50", "p95"):
                lines.append(f"| {label} {q} | {part['reader'][q]} | {part['rules'][q]} | "
                             f"{part['ratio_reader_to_rules'][q]} |")
    cold = report.get("cold_start_s")
    if cold:
        r, o = cold["reader"]["median_wall_s"], cold["rules"]["median_wall_s"]
        lines.append(f"| cold `rag ask`, wall s (median) | {r} | {o} | {round(r / o, 2)} |")
    eng = report.get("engines")
    if eng:
        b = eng["batches"]
        lines += ["", (f"Engine alone ({b['questions']} questions, {b['passages_per_question']} "
                       f"passages of ~{b['mean_passage_chars']:.0f} chars, "
                       f"{b['mean_tokens_per_question']:.0f} tokens per question):"),
                  "", "| engine | p50 ms | p95 ms | same best span | max logit diff |",
                  "|---|---|---|---|---|"]
        for name, r in eng["results"].items():
            if "error" in r:
                lines.append(f"| {name} | {r['error']} | | | |")
            else:
                lines.append(f"| {name} | {r['p50']} | {r['p95']} | "
                             f"{r['same_best_span_as_ct2_float32']} | "
                             f"{r['max_abs_logit_diff_to_ct2_float32']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, help="index dir (default: bundled-corpus index)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: few questions, once")
    parser.add_argument("--questions", type=int, default=40, help="gold questions asked")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes")
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--engine-questions", type=int, default=30)
    parser.add_argument("--passages", type=int, default=3, help="passages read per question")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--weights", type=Path, help="reader weights (default: RAG_READER_"
                        "WEIGHTS, else rag/models/reader.safetensors)")
    parser.add_argument("--skip", default="", help="comma-separated: ask, http, cold, engines")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if args.quick:
        args.questions, args.repeats, args.cold_runs, args.engine_questions = 8, 1, 1, 5
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if args.weights:  # the services, `rag serve` and `rag ask` read it from the environment
        os.environ["RAG_READER_WEIGHTS"] = str(args.weights.resolve())
    weights = Path(os.environ["RAG_READER_WEIGHTS"]) if os.environ.get("RAG_READER_WEIGHTS") \
        else None

    index = bundled_index(args.index)
    questions = _questions(args.questions)
    report: dict = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "load_avg_1m": os.getloadavg()[0]},
        "index": str(index), "quick": args.quick, "questions": len(questions),
    }

    def part(key: str, name: str, run) -> None:
        if name in skip:
            return
        t0 = time.perf_counter()
        print(f"[reader_latency] {name} …", file=sys.stderr, flush=True)
        try:
            report[key] = run()
        except Exception as exc:  # noqa: BLE001 — one part failing still reports the others
            report[key] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        print(f"[reader_latency] {name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr,
              flush=True)

    part("engines", "engines", lambda: engines(index, _questions(args.engine_questions),
                                               args.repeats, args.passages, weights,
                                               args.threads))
    part("in_process", "ask", lambda: in_process(index, questions, args.repeats))
    part("http", "http", lambda: over_http(index, questions, args.repeats))
    part("cold_start_s", "cold", lambda: cold_start(index, args.cold_runs))
    report["machine"]["load_avg_1m_end"] = os.getloadavg()[0]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    errors = {k: v["error"] for k, v in report.items() if isinstance(v, dict) and "error" in v}
    print(_table({k: v for k, v in report.items() if k not in errors}))
    for k, e in errors.items():
        print(f"{k}: {e}")
    print(f"report: {args.out}")


if __name__ == "__main__":
    main()
