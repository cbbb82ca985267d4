# One place for what a newcomer and CI run. `make test` is the README's test command.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
QUESTION ?= 2020年重庆累计培育高新技术企业多少家？

.PHONY: demo test eval clean

# The venv is a real target, so setup runs once and is redone only when pyproject.toml changes.
# torch is installed first, pinned, so that pip takes the CPU build instead of a multi-GB CUDA one.
$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/rag ask "$(QUESTION)"

test: $(BIN)/.installed
	$(BIN)/python -m pytest -q

eval: $(BIN)/.installed
	$(BIN)/rag eval --out eval/out

clean:
	rm -rf $(VENV) .rag eval/out
