"""The gold set itself: its shape, its coverage, and that every evidence quote is verbatim."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from eval.gold_set import GOLD_DIR, TYPES, GoldError, load_gold
from index.loaders import load_paths
from rag.config import REPO_ROOT

GOLDS = load_gold()
# Later batches over the same corpus, not in the gated set (eval/README.md): every one of them,
# so that a new batch's quotes are checked without editing this list.
FRESH = load_gold(sorted((GOLD_DIR.parent / "gold-external").glob("cq-sti-*.jsonl")))


@pytest.fixture(scope="module")
def documents():
    docs, errors = load_paths([REPO_ROOT / "corpus"])
    assert not errors
    return {d.id: d for d in docs}


def test_every_evidence_quote_is_an_exact_substring_of_its_document(documents):
    for gold in GOLDS + FRESH:
        for ev in gold.evidence:
            assert ev.doc_id in documents, (gold.id, ev.doc_id)
            assert ev.quote and ev.quote in documents[ev.doc_id].text, (gold.id, ev.quote)


def test_every_answer_string_is_in_the_evidence_or_the_question_is_unanswerable():
    # Keys come from the documents, so an extractive answer can contain them.
    for gold in GOLDS + FRESH:
        if gold.answerable:
            assert gold.answers and gold.evidence, gold.id
            assert all(any(a in ev.quote for ev in gold.evidence) for a in gold.answers), gold.id
        else:
            assert not gold.answers and gold.type == "unanswerable", gold.id


def test_the_set_covers_every_type_and_has_a_held_out_test_split():
    types = Counter(g.type for g in GOLDS)
    assert len(GOLDS) >= 100
    assert set(types) == set(TYPES)
    assert types["unanswerable"] >= 10
    assert all(types[t] >= 5 for t in TYPES), types
    splits = Counter(g.split for g in GOLDS)
    assert set(splits) == {"dev", "test"}
    assert 0.25 <= splits["test"] / len(GOLDS) <= 0.35
    # Every type is in both splits, so the test split can show a per-type regression.
    for t in TYPES:
        assert {g.split for g in GOLDS if g.type == t} == {"dev", "test"}, t


def test_gold_files_on_disk_are_the_default_set():
    assert sorted(p.stem for p in GOLD_DIR.glob("*.jsonl")) == sorted({g.source for g in GOLDS})


@pytest.mark.parametrize("line, words", [
    ("{not json", "bad gold record"),
    (json.dumps({"id": "x", "question": "q"}), "bad gold record"),
    (json.dumps({"id": "x", "question": "q", "type": "numeric", "answerable": True,
                 "answers": ["1"], "evidence": []}), "without evidence"),
])
def test_a_malformed_gold_line_names_file_and_line(tmp_path, line, words):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n" + line + "\n", encoding="utf-8")
    with pytest.raises(GoldError, match=words) as info:
        load_gold([path])
    assert f"{path}:2" in str(info.value)


def test_duplicate_ids_are_refused(tmp_path):
    rec = json.dumps({"id": "x", "question": "q", "type": "unanswerable", "answerable": False,
                      "answers": [], "evidence": []})
    path = tmp_path / "dup.jsonl"
    path.write_text(rec + "\n" + rec + "\n", encoding="utf-8")
    with pytest.raises(GoldError, match="duplicate id x"):
        load_gold([path])
