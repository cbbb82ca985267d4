"""Locust users for `make soak`: a mix of what the chat page and API clients send.

Every non-2xx response (and any 5xx) is a failure; a refusal (answerable false) is a success.
"""
from __future__ import annotations

import json
import os
import random
from pathlib import Path

from locust import HttpUser, between, task

GOLD = Path(__file__).resolve().parents[1] / "eval" / "gold" / "cq-sti.jsonl"
QUESTIONS = [json.loads(line)["question"] for line in GOLD.read_text(encoding="utf-8").splitlines()
             if line.strip()]
KEY = os.environ.get("RAG_API_KEY")


class Reader(HttpUser):
    wait_time = between(0.5, 1.5)  # a person reading answers, not a flood

    def on_start(self) -> None:
        if KEY:
            self.client.headers["Authorization"] = f"Bearer {KEY}"

    @task(6)
    def ask(self) -> None:
        self.client.post("/v1/ask", json={"question": random.choice(QUESTIONS)}, name="/v1/ask")

    @task(2)
    def chat(self) -> None:
        body = {"model": "cq-rag", "messages": [{"role": "user",
                                                 "content": random.choice(QUESTIONS)}]}
        self.client.post("/v1/chat/completions", json=body, name="/v1/chat/completions")

    @task(2)
    def search(self) -> None:
        self.client.get("/v1/search", params={"q": random.choice(QUESTIONS), "k": 5},
                        name="/v1/search")

    @task(1)
    def document(self) -> None:
        self.client.get("/v1/documents/cq-sti/004_f07454981927e40f.txt",
                        name="/v1/documents/{doc_id}")

    @task(1)
    def health(self) -> None:
        self.client.get("/healthz", name="/healthz")
