"""The documentation matches the code, both ways.

Everything a user can reach, every `RAG_*` variable the code reads, every `rag` command and
subcommand and every HTTP route, is named in README.md or docs/*.md; and every variable,
command and route those files (and eval/README.md) name exists. The code side is introspected:
the `Settings` model and the source's environment reads, the typer app, the FastAPI app (built
without loading an index). Fast: no index, no model, no ../shared.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Where each thing must be documented.
USER_DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# Where anything named must exist: the user docs and the evaluation guide.
NAMING_DOCS = [*USER_DOCS, REPO / "eval" / "README.md"]
# Source whose environment reads count (tests included: their switches are documented too).
SOURCE_DIRS = ("rag", "index", "api", "eval", "bench", "train", "tests")

VAR = re.compile(r"\bRAG_[A-Z0-9_]*[A-Z0-9]\b")
ENV_READ = re.compile(r"""(?:environ\.get|environ\[|getenv)\(?\s*["'](RAG_[A-Z0-9_]+)["']""")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ROUTE = re.compile(r"\b(" + "|".join(METHODS) + r")\s+(/[^\s`|,;)\]]*)")
# `rag WORD [WORD]` where `rag` starts a command: at a line or code span's start, after
# whitespace or `bin/` (`.venv/bin/rag`). Only looked for inside code (spans and fenced blocks).
COMMAND = re.compile(r"(?:^|(?<=[\s`(])|(?<=bin/))rag((?: [a-z][a-z-]*){1,2})")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
CODE_SPAN = re.compile(r"`([^`\n]+)`")


def _read(paths: list[Path]) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in paths)


def _code(text: str) -> list[str]:
    """Fenced blocks and inline code spans: where commands are written."""
    blocks = FENCE.findall(text)
    rest = FENCE.sub("", text)
    return blocks + CODE_SPAN.findall(rest)


# --- what the code has -----------------------------------------------------------------------

@functools.cache
def code_variables() -> set[str]:
    """Every environment variable `Settings` reads, and every RAG_* read elsewhere."""
    from pydantic import AliasChoices

    from rag.config import Settings

    prefix = Settings.model_config.get("env_prefix", "")
    names: set[str] = set()
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(a for a in alias.choices if isinstance(a, str))
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(f"{prefix}{field_name}".upper())
    this = Path(__file__).resolve()
    for folder in SOURCE_DIRS:
        for path in (REPO / folder).rglob("*.py"):
            if path.resolve() != this:
                names.update(ENV_READ.findall(path.read_text(encoding="utf-8")))
    return names


@functools.cache
def code_options() -> dict[str, frozenset[str]]:
    """Every command path of the typer app (`ask`, `docs`, `docs show`, …) with its options."""
    import typer

    from rag.cli import app

    found: dict[str, frozenset[str]] = {}

    def walk(group, prefix: str) -> None:
        for name, command in getattr(group, "commands", {}).items():
            options = {"--help"}
            for param in command.params:
                options.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("-"))
            found[f"{prefix}{name}"] = frozenset(options)
            walk(command, f"{prefix}{name} ")

    walk(typer.main.get_command(app), "")
    return found


def code_commands() -> set[str]:
    return set(code_options())


def _normal(path: str) -> str:
    """`/v1/documents/{doc_id:path}` and `/v1/documents/{doc_id}` alike: parameters as `{}`."""
    return re.sub(r"\{[^}]*\}", "{}", path.split("?")[0]).rstrip(".:") or "/"


@functools.cache
def code_routes() -> tuple[set[tuple[str, str]], set[str]]:
    """(method, path) of every route of the app, and the paths of its mounts."""
    from starlette.routing import Mount

    from api.app import create_app
    from rag.config import Settings

    routes: set[tuple[str, str]] = set()
    mounts: set[str] = set()

    def walk(items, prefix: str = "") -> None:
        for route in items:
            included = getattr(route, "original_router", None)
            if included is not None:  # newer FastAPI keeps included routers unflattened
                context = getattr(route, "include_context", None)
                walk(included.routes, prefix + (getattr(context, "prefix", "") or ""))
            elif isinstance(route, Mount):
                mounts.add(prefix + route.path)
            elif getattr(route, "methods", None):
                routes.update((m, _normal(prefix + route.path)) for m in route.methods
                              if m != "HEAD")

    # create_app loads nothing: the service (index, embedder) is loaded by the lifespan, which
    # only a running server enters.
    walk(create_app(settings=Settings()).routes)
    assert ("POST", "/v1/ask") in routes, f"route discovery found only {sorted(routes)}"
    return routes, mounts


# --- what the docs say -----------------------------------------------------------------------

def documented_commands(text: str) -> set[tuple[str, ...]]:
    found = set()
    for code in _code(text):
        for line in code.splitlines():
            found.update(tuple(m.group(1).split()) for m in COMMAND.finditer(line))
    return found


def documented_options(text: str) -> set[tuple[str, str]]:
    """(command path, option) for every `--option` written after a `rag` command on its line."""
    commands = code_commands()
    found = set()
    for code in _code(text):
        for line in code.splitlines():
            for m in COMMAND.finditer(line):
                words = m.group(1).split()
                path = " ".join(words) if " ".join(words) in commands else words[0]
                if path not in commands:
                    continue  # an unknown command: test_every_documented_command_exists says so
                rest = COMMAND.split(line[m.end():])[0]  # up to the next command on the line
                found.update((path, o) for o in re.findall(r"(?<![\w-])--?[a-z][a-z-]*", rest))
    return found


def documented_routes(text: str) -> set[tuple[str, str]]:
    return {(m.group(1), _normal(m.group(2))) for m in ROUTE.finditer(text)}


# --- the checks ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def user_docs() -> str:
    return _read(USER_DOCS)


@pytest.fixture(scope="module")
def naming_docs() -> str:
    return _read(NAMING_DOCS)


def test_every_variable_the_code_reads_is_documented(user_docs):
    documented = set(VAR.findall(user_docs)) | set(re.findall(r"\bRAY_ADDRESS\b", user_docs))
    missing = sorted(code_variables() - documented)
    assert not missing, f"document these in docs/configuration.md: {missing}"


def test_every_documented_variable_exists(naming_docs):
    unknown = sorted(set(VAR.findall(naming_docs)) - code_variables())
    assert not unknown, f"the docs name variables the code never reads: {unknown}"


def test_every_command_is_documented(user_docs):
    missing = sorted(c for c in code_commands()
                     if not re.search(rf"\brag {re.escape(c)}(?![\w-])", user_docs))
    assert not missing, f"document these commands (README's table): {missing}"


def test_every_documented_command_exists(naming_docs):
    commands = code_commands()
    unknown = []
    for words in documented_commands(naming_docs):
        first = words[0]
        if first not in commands:
            unknown.append(" ".join(words))
        elif len(words) > 1 and any(c.startswith(f"{first} ") for c in commands) \
                and " ".join(words) not in commands:
            unknown.append(" ".join(words))  # a group's word that is none of its subcommands
    assert not unknown, f"the docs show commands the CLI lacks: {sorted(set(unknown))}"


def test_every_documented_option_exists(naming_docs):
    options = code_options()
    unknown = sorted(f"rag {path} {o}" for path, o in documented_options(naming_docs)
                     if o not in options[path])
    assert not unknown, f"the docs show options the CLI lacks: {unknown}"


def test_every_route_is_documented(user_docs):
    routes, mounts = code_routes()
    documented = documented_routes(user_docs)
    missing = sorted(f"{m} {p}" for m, p in routes - documented)
    assert not missing, f"document these routes (README's table, docs/api.md): {missing}"
    unnamed = sorted(m for m in mounts if m not in user_docs)
    assert not unnamed, f"say what these mounts serve: {unnamed}"


def test_every_documented_route_exists(naming_docs):
    routes, _ = code_routes()
    unknown = sorted(f"{m} {p}" for m, p in documented_routes(naming_docs) - routes)
    assert not unknown, f"the docs name routes the app lacks: {unknown}"


def test_the_readme_is_short_and_leads_with_your_own_documents():
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 220, f"README.md has {len(lines)} lines; depth belongs in docs/"
    first_screen = "\n".join(lines[:50])
    for command in ("rag ingest", "rag ask", "rag serve"):
        assert re.search(rf"{command} .*--index", first_screen), command
    for command in ("make demo", "make test"):
        assert command in first_screen, command


def _anchors(doc: Path) -> set[str]:
    """GitHub's anchors for a Markdown file's headings."""
    text = FENCE.sub("", doc.read_text(encoding="utf-8"))
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
            for h in re.findall(r"^#+ (.+)$", text, re.M)}


def test_links_between_the_docs_resolve():
    broken = []
    for doc in NAMING_DOCS:
        text = doc.read_text(encoding="utf-8")
        for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", text):
            if "://" in target:
                continue
            path = (doc.parent / target) if target else doc
            if not path.exists():
                broken.append(f"{doc.relative_to(REPO)} → {target}")
            elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
                broken.append(f"{doc.relative_to(REPO)} → {target}#{anchor}")
    assert not broken, broken
