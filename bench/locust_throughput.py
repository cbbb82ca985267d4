"""Locust user for bench/run.py's load section: POST /v1/ask with the gold questions, in turn.

Each simulated user asks the next gold question as soon as its previous answer arrives (no wait
time), so N users keep N requests in flight: throughput at concurrency N, not a traffic model.
A response that is not 200 with an `answer` field counts as a failure.
"""
from __future__ import annotations

import itertools
import sys
from pathlib import Path

from locust import HttpUser, task

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval.gold_set import load_gold  # noqa: E402

_QUESTIONS = itertools.cycle([g.question for g in load_gold()])


class AskUser(HttpUser):
    """One client asking questions back to back."""

    @task
    def ask(self) -> None:
        with self.client.post("/v1/ask", json={"question": next(_QUESTIONS)},
                              name="/v1/ask", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            elif "answer" not in response.json():
                response.failure("no answer field")
            else:
                response.success()
