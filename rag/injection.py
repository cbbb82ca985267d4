"""Marks document text that reads like an instruction to a language model (prompt injection).

The extractive assembler only ever quotes document spans, so such text cannot steer it; the mark
is for any future generator that would put passages into a prompt, and for the reader. A span is
marked `"instruction_like": true` in the JSON of citations and passages (key absent otherwise).
"""
from __future__ import annotations

import re

_INSTRUCTION = re.compile("|".join([
    r"(忽略|无视|忘记|忘掉|不要理会|跳过)掉?(以上|上面|上述|之前|此前|前面|先前)?的?"
    r"(所有|全部|一切)?的?(指令|指示|提示词?|规则|要求|设定|约束)",
    r"系统提示词?|system\s*prompt",
    r"你现在是|假装你是|从现在起你是|扮演一个",
    r"\b(ignore|disregard|forget)\b.{0,30}\b(instructions?|prompts?|rules)\b",
    r"\byou are now\b",
]), re.IGNORECASE)


def instruction_like(text: str) -> bool:
    """True if `text` holds a phrase that addresses a model rather than a reader."""
    return _INSTRUCTION.search(text) is not None
