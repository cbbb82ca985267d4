"""Starting and stopping a real `rag serve` (uvicorn on 127.0.0.1, a free port) for the API tests."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

RAG = str(Path(sys.executable).with_name("rag"))
API_KEY = "test-key-7f3a"
QUESTION = "2020年重庆累计培育高新技术企业多少家？"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running `rag serve`: its base URL and the headers a client must send."""

    url: str
    headers: dict
    process: subprocess.Popen
    index: Path
    log: Path

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the server's own output: where a 5xx or a dropped connection is explained."""
        return self.log.read_text(errors="replace")[-chars:]

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers, timeout=60, **kwargs)


def start_server(index: Path, log: Path, env: dict | None = None) -> Server:
    """Start `rag serve` on a free port and wait until /healthz answers."""
    port = free_port()
    env = env or {}
    full_env = {k: v for k, v in os.environ.items() if k != "RAG_API_KEY"} | env
    process = subprocess.Popen([RAG, "serve", "--index", str(index), "--port", str(port)],
                               env=full_env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    key = env.get("RAG_API_KEY")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"rag serve exited {process.returncode}: {log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return Server(url, headers, process, index, log)
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"rag serve did not start in 120 s: {log.read_text()}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
