"""Public MRC data -> the reader's training and validation examples (deterministic, seeded).

Sources (see ../shared/mrc/README.md): DRCD dev+test (Traditional Chinese, converted with
OpenCC t2s, every answer re-located in its converted paragraph) and the CMRC 2018 trial set.
CMRC 2018 dev is never read. About 10% of the articles of each source are held out as the
validation split, on which the reader is reported and its no-answer threshold calibrated.

Every example is {id, question, context, answer, start, kind, source, article}; `start` is -1
for an unanswerable pair. Kinds of unanswerable pair:
  hard_negative  the question with the most similar paragraph of another article;
  near_miss      the question changed in what it names (a number or year, a person, place,
                 organisation or noun taken from another article) so its paragraph no longer
                 answers it;
  cut            the question with its own paragraph, the answer's sentence cut out.
The dev splits of the gold sets may be added for the domain (`--gold`); test splits never are.

    python -m train.data --mrc ../shared/mrc --out train/out/data
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
from collections import Counter
from pathlib import Path

import numpy as np

SEED = 20261207
VAL_FRACTION = 0.10
HARD_NEGATIVE_RATE, NEAR_MISS_RATE, CUT_RATE = 0.30, 0.20, 0.12
SOURCES = {"drcd": ("drcd_dev.json", "drcd_test.json"), "cmrc_trial": ("cmrc2018_trial.json",)}
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;\n]*")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_ENTITY_POS = ("nr", "ns", "nt", "nz", "n")


def _t2s():
    import opencc  # training only: `pip install -e '.[train]'`

    return opencc.OpenCC("t2s").convert


def relocate(context: str, answer: str, hint: int) -> int:
    """The offset of `answer` in `context` nearest to `hint`, or -1 if it is not there."""
    starts = [m.start() for m in re.finditer(re.escape(answer), context)] if answer else []
    return min(starts, key=lambda s: abs(s - hint)) if starts else -1


def load_source(mrc: Path, source: str, convert) -> tuple[list[dict], Counter]:
    """Answerable examples of one source, each answer re-located in its (converted) paragraph."""
    out, counts = [], Counter()
    for name in SOURCES[source]:
        for article in json.loads((mrc / name).read_text(encoding="utf-8"))["data"]:
            art_id = f"{source}:{article.get('id') or article.get('title')}"
            for p, para in enumerate(article["paragraphs"]):
                context = convert(para["context"])
                for qa in para["qas"]:
                    gold = qa["answers"][0]
                    answer = convert(gold["text"]).strip()
                    start = relocate(context, answer, gold["answer_start"])
                    if start < 0:
                        counts["dropped (answer not re-located)"] += 1
                        continue
                    out.append(dict(id=f"{source}:{qa['id']}", question=convert(qa["question"]),
                                    context=context, answer=answer, start=start,
                                    kind="answerable", source=source, article=art_id,
                                    paragraph=f"{art_id}#{p}",
                                    answers=sorted({convert(a["text"]).strip()
                                                    for a in qa["answers"]})))
    return out, counts


def split_articles(examples: list[dict], rng: random.Random) -> tuple[set[str], set[str]]:
    """(train, validation) article ids: about VAL_FRACTION of each source's articles held out."""
    train, val = set(), set()
    by_source: dict[str, list[str]] = {}
    for ex in examples:
        by_source.setdefault(ex["source"], [])
        if ex["article"] not in by_source[ex["source"]]:
            by_source[ex["source"]].append(ex["article"])
    for arts in by_source.values():
        arts = sorted(arts)
        rng.shuffle(arts)
        n_val = max(1, round(len(arts) * VAL_FRACTION))
        val.update(arts[:n_val])
        train.update(arts[n_val:])
    return train, val


def _bigram_matrix(texts: list[str], vocab: dict[str, int] | None = None):
    from scipy.sparse import csr_matrix

    grow = vocab is None
    vocab = {} if vocab is None else vocab
    rows, cols = [], []
    for i, t in enumerate(texts):
        for g in {t[j:j + 2] for j in range(len(t) - 1)}:
            col = vocab.setdefault(g, len(vocab)) if grow else vocab.get(g)
            if col is not None:
                rows.append(i)
                cols.append(col)
    m = csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(texts), len(vocab)))
    return m, vocab


def hard_negatives(examples: list[dict], rng: random.Random, rate: float) -> list[dict]:
    """Questions paired with the most similar paragraph (bigram tf-idf) of another article."""
    paras = {ex["paragraph"]: (ex["context"], ex["article"]) for ex in examples}
    keys = sorted(paras)
    texts = [paras[k][0] for k in keys]
    P, vocab = _bigram_matrix(texts)
    idf = np.log(len(texts) / (1 + np.asarray((P > 0).sum(axis=0)).ravel())).astype(np.float32)
    P = P.multiply(idf).tocsr()
    chosen = [ex for ex in examples if rng.random() < rate]
    Q, _ = _bigram_matrix([ex["question"] for ex in chosen], vocab)
    scores = (Q.multiply(idf).tocsr() @ P.T).toarray()
    arts = np.array([paras[k][1] for k in keys])
    out = []
    for ex, row in zip(chosen, scores):
        row[arts == ex["article"]] = -1
        j = int(row.argmax())
        if any(a in texts[j] for a in ex["answers"]):
            continue  # the other paragraph happens to hold the answer string: not a clean negative
        out.append(_unanswerable(ex, "hard_negative", context=texts[j]))
    return out


def _unanswerable(ex: dict, kind: str, **change) -> dict:
    return {**ex, **change, "id": f"{ex['id']}:{kind}", "answer": "", "start": -1, "kind": kind}


def _changed_number(question: str, context: str, rng: random.Random) -> str | None:
    """The question with one of its numbers changed to a value its paragraph does not write."""
    numbers = [m for m in _NUMBER.finditer(question)]
    rng.shuffle(numbers)
    for m in numbers:
        value = m.group()
        for _ in range(6):
            if "." in value:
                new = f"{float(value) + rng.choice([-1, 1]) * rng.choice([0.1, 0.5, 1.2]):.{len(value.split('.')[1])}f}"
            elif len(value) == 4 and value[:2] in ("19", "20"):  # a year
                new = str(int(value) + rng.choice([-3, -2, -1, 1, 2, 3]))
            else:
                new = str(max(0, int(value) + rng.choice([-1, 1]) * rng.randint(1, max(3, int(value) // 3 + 1))))
            if new != value and new not in context and not new.lstrip("0") == "":
                return question[:m.start()] + new + question[m.end():]
    return None


class EntityPool:
    """Words by part of speech (jieba's nr/ns/nt/nz/n) from every article's questions, for swaps."""

    def __init__(self, examples: list[dict]):
        import jieba.posseg as pseg

        self._cut = pseg.lcut
        self.by_pos: dict[str, list[tuple[str, str]]] = {p: [] for p in _ENTITY_POS}
        seen = set()
        for ex in examples:
            for w in self._cut(ex["question"]):
                if w.flag in self.by_pos and len(w.word) >= 2 and (w.word, w.flag) not in seen:
                    seen.add((w.word, w.flag))
                    self.by_pos[w.flag].append((w.word, ex["article"]))

    def swapped(self, ex: dict, rng: random.Random) -> str | None:
        """The question with a word it shares with its paragraph replaced by another article's."""
        words = [w for w in self._cut(ex["question"])
                 if w.flag in self.by_pos and len(w.word) >= 2 and w.word in ex["context"]
                 and w.word not in ex["answer"]]
        if not words:
            return None
        w = rng.choice(words)
        for _ in range(10):
            new, art = rng.choice(self.by_pos[w.flag])
            if art != ex["article"] and new not in ex["context"] and new != w.word:
                return ex["question"].replace(w.word, new, 1)
        return None


def near_misses(examples: list[dict], rng: random.Random, rate: float) -> list[dict]:
    """Questions changed in a number, year or named thing, so their paragraph no longer answers."""
    pool = EntityPool(examples)
    out = []
    for ex in examples:
        if rng.random() >= rate:
            continue
        q = _changed_number(ex["question"], ex["context"], rng) if _NUMBER.search(
            ex["question"]) and rng.random() < 0.7 else None
        q = q or pool.swapped(ex, rng)
        if q and q != ex["question"]:
            out.append(_unanswerable(ex, "near_miss", question=q))
    return out


def cut_answers(examples: list[dict], rng: random.Random, rate: float) -> list[dict]:
    """Questions with their own paragraph, every sentence that holds an answer cut out."""
    out = []
    for ex in examples:
        if rng.random() >= rate:
            continue
        kept = [s for s in _SENTENCE.findall(ex["context"])
                if not any(a in s for a in ex["answers"])]
        context = "".join(kept)
        if len(context) >= 60 and not any(a in context for a in ex["answers"]):
            out.append(_unanswerable(ex, "cut", context=context))
    return out


def gold_dev_examples(gold_files: list[Path], corpora: list[Path], window: int = 300) -> list[dict]:
    """Answerable dev questions of the gold sets: the answer inside its evidence quote, with a
    window of the document around the quote as the paragraph. Test splits are never read."""
    from index.loaders import load_paths

    docs = {}
    for root in corpora:
        loaded, _ = load_paths([root])
        for d in loaded:
            docs[d.id] = d.text
            docs[f"{root.name}/{d.id}"] = d.text
    out = []
    for path in gold_files:
        for line in path.read_text(encoding="utf-8").splitlines():
            g = json.loads(line)
            if g.get("split") != "dev" or not g.get("answerable") or not g.get("evidence"):
                continue
            ev = g["evidence"][0]
            text = docs.get(ev["doc_id"]) or next(
                (t for k, t in docs.items() if k.endswith(ev["doc_id"])), None)
            if text is None or ev["quote"] not in text:
                continue
            q0 = text.index(ev["quote"])
            answer = next((a for a in g["answers"] if a in ev["quote"]), None)
            if answer is None:
                continue
            lo = max(0, q0 - (window - len(ev["quote"])) // 2)
            context = text[lo:lo + max(window, len(ev["quote"]) + 40)]
            start = context.find(answer, q0 - lo)
            if start < 0:
                continue
            out.append(dict(id=f"gold:{g['id']}", question=g["question"], context=context,
                            answer=answer, start=start, kind="answerable", source="gold_dev",
                            article=f"gold:{ev['doc_id']}", paragraph=f"gold:{g['id']}",
                            answers=[answer]))
    return out


def build(mrc: Path, gold_files: list[Path], corpora: list[Path]) -> dict[str, list[dict]]:
    """{"train": [...], "val": [...]}, deterministic for a given SEED and input."""
    rng = random.Random(SEED)
    convert = _t2s()
    answerable, counts = [], Counter()
    for source in SOURCES:
        exs, c = load_source(mrc, source, convert if source == "drcd" else (lambda s: s))
        answerable += exs
        counts.update({f"{source}: {k}": v for k, v in c.items()})
        counts[f"{source}: answerable"] = len(exs)
    train_arts, val_arts = split_articles(answerable, rng)
    splits = {}
    for name, arts in (("train", train_arts), ("val", val_arts)):
        base = [ex for ex in answerable if ex["article"] in arts]
        negs = (hard_negatives(base, rng, HARD_NEGATIVE_RATE) + near_misses(base, rng, NEAR_MISS_RATE)
                + cut_answers(base, rng, CUT_RATE))
        splits[name] = base + negs
    if gold_files:
        domain = gold_dev_examples(gold_files, corpora)
        counts["gold dev: answerable"] = len(domain)
        splits["train"] += domain
    for name, exs in splits.items():
        rng.shuffle(exs)
        for kind, n in sorted(Counter(ex["kind"] for ex in exs).items()):
            counts[f"{name}: {kind}"] = n
        counts[f"{name}: articles"] = len({ex["article"] for ex in exs})
    for k in sorted(counts):
        print(f"{k:45s} {counts[k]:6d}")
    return splits


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mrc", type=Path, default=Path("../shared/mrc"))
    ap.add_argument("--out", type=Path, default=Path("train/out/data"))
    ap.add_argument("--gold", type=Path, action="append", default=[],
                    help="a gold file whose dev split is added for the domain (repeatable)")
    ap.add_argument("--corpus", type=Path, action="append", default=[],
                    help="a folder of the documents the --gold files cite (repeatable)")
    args = ap.parse_args(argv)
    splits = build(args.mrc, args.gold, args.corpus)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, exs in splits.items():
        path = args.out / f"{name}.jsonl"
        path.write_text("".join(json.dumps(ex, ensure_ascii=False) + "\n" for ex in exs),
                        encoding="utf-8")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        print(f"wrote {path}: {len(exs)} examples, sha256 {digest}")


if __name__ == "__main__":
    main()
