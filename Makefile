# One place for what a newcomer and CI run. `make test` is the README's test command.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
QUESTION ?= 2020年重庆累计培育高新技术企业多少家？
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo serve ask test browser office eval eval-ablations eval-debian train-reader soak bench-venv bench-ocr clean

# The venv is a real target, so setup runs once and is redone only when pyproject.toml changes.
# Two levels, each with its marker: the runtime (`make demo`: the service's dependencies only,
# no torch) and dev (`make test`: every extra the tests exercise, torch among them). A dev install
# marks the runtime one done too, so `make demo` after `make test` installs nothing, and
# `make test` after `make demo` adds the dev extras to the same venv.
RUNTIME := $(BIN)/.installed-runtime
DEV := $(BIN)/.installed-dev

$(RUNTIME): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e .
	touch $@

# torch is installed first, pinned, so that pip takes the CPU build instead of a multi-GB CUDA one.
$(DEV): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(RUNTIME)

# The service on the bundled corpus: API, OpenAI-compatible chat and the chat page.
demo serve: $(RUNTIME)
	$(BIN)/rag serve --host $(HOST) --port $(PORT)

ask: $(RUNTIME)
	$(BIN)/rag ask "$(QUESTION)"

# Debian's chromium, its driver and a CJK font for the chat-page test; skipped if already there
# (apt-get needs root, as on CI; elsewhere the browser test says why it is skipped).
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				chromium chromium-driver fonts-wqy-microhei >/dev/null; \
		else echo "browser: not root, chromium not installed; the browser test will skip"; fi; \
	fi

# LibreOffice without its GUI, which index/extract/office.py runs to read .doc, .wps and .rtf
# (about 35 s and 265 MB, 86 MB downloaded); skipped if already there or not root, as above
# (the LibreOffice tests then skip, and such files are named with the package to install).
office:
	@if ! command -v soffice >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				-o DPkg::Lock::Timeout=300 --no-install-recommends libreoffice-writer-nogui >/dev/null; \
		else echo "office: not root, LibreOffice not installed; the .doc/.wps/.rtf tests will skip"; fi; \
	fi

# Two pytest-xdist workers: the suite waits on servers, subprocesses and disk as much as on the
# CPU, so two workers on two cores take about 0.7 of the time of one (figures in the README).
# TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2
test: $(DEV) browser office
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --durations=15

# The gated gold set, then (reported, not gated) the blind batches outside it: their figures show
# whether a change carries to questions nobody tuned on (eval/README.md).
BLIND_GOLD := $(foreach f,cq-sti-fresh cq-sti-batch3 cq-sti-batch4 cq-sti-batch5 cq-sti-batch6 cq-sti-batch7 cq-sti-batch8 cq-sti-batch9 cq-sti-batch10 cq-sti-batch11 cq-sti-batch12,--gold eval/gold-external/$(f).jsonl)
# The MRC validation split is read in part in CI (its first MRC_CI_LIMIT examples, a random
# sample: the file is shuffled); `make eval MRC_CI_LIMIT=0` reads all of it.
MRC_CI_LIMIT ?= 300
# CI's configurations: the retrieval baselines, the reader and the gated rules. The rules'
# ablations (one full pass each, about 3 minutes together) run in `make eval-ablations`.
EVAL_CONFIGS ?= dense bm25 hybrid-equal reader shipped
eval: $(DEV)
	$(BIN)/rag eval --out eval/out --mrc-limit $(MRC_CI_LIMIT) $(foreach c,$(EVAL_CONFIGS),--config $(c))
	$(BIN)/rag eval $(BLIND_GOLD) --config shipped --no-gate --out eval/out/blind

# Every default configuration, the rules' ablations among them (outside CI).
eval-ablations: $(DEV)
	$(BIN)/rag eval --out eval/out/ablations --mrc-limit $(MRC_CI_LIMIT)

# Outside CI (the manuals are not in the repository): the debian-zh gold files on an index of
# ../shared/corpus/debian-zh, a second corpus of another kind than the bundled one, reported
# only. A rerun re-embeds nothing unchanged.
DEBIAN_CORPUS ?= ../shared/corpus/debian-zh
DEBIAN_INDEX ?= eval/out/debian-index
eval-debian: $(DEV)
	$(BIN)/rag ingest $(DEBIAN_CORPUS) --index $(DEBIAN_INDEX)
	$(BIN)/rag eval $(foreach f,$(sort $(wildcard eval/gold-external/debian-zh*.jsonl)),--gold $(f)) \
		--index $(DEBIAN_INDEX) --config shipped --no-gate --out eval/out/debian

# The extractive reader (rag/reader.py, issue 21), outside CI: training data from the public MRC
# sets in $(MRC_DIR) plus the dev splits of the gold sets (never a test split; the debian-zh ones
# cite $(DEBIAN_CORPUS)), then three training stages on the CPU with progress on stderr, each
# starting from the one before with a fresh optimiser and new crops: the top 6 layers at lr 1e-4,
# again at 5e-5, then all 12 layers for 0.75 epoch at 3e-5 (about 80 + 80 + 110 minutes on two
# cores; minutes on a GPU). A stage whose weights exist is skipped; a rerun resumes a stage from
# its checkpoint.pt. The last stage writes $(READER_OUT)/reader.safetensors and its card
# reader.json; `make demo` needs neither step. The data is rebuilt (deterministic, seeded) only
# when its script or a gold file changes. TRAIN_ARGS passes options to every stage.
MRC_DIR ?= ../shared/mrc
TRAIN_DATA ?= train/out/data
TRAIN_WORK ?= train/out
READER_OUT ?= rag/models
TRAIN_ARGS ?=
TRAIN := $(BIN)/python -m train.reader --data $(TRAIN_DATA)
TRAIN_GOLD := eval/gold/cq-sti.jsonl $(sort $(wildcard eval/gold-external/*.jsonl))
$(TRAIN_DATA)/train.jsonl: train/data.py $(TRAIN_GOLD) | $(DEV)
	$(BIN)/pip install -q -e '.[train]'
	$(BIN)/python -m train.data --mrc $(MRC_DIR) --out $(TRAIN_DATA) \
		$(foreach f,$(TRAIN_GOLD),--gold $(f)) --corpus corpus --corpus $(DEBIAN_CORPUS)

$(TRAIN_WORK)/stage1/reader.safetensors: $(TRAIN_DATA)/train.jsonl
	$(TRAIN) --work $(@D) --out $(@D) --layers 6 --lr 1e-4 --epochs 1 $(TRAIN_ARGS)

$(TRAIN_WORK)/stage2/reader.safetensors: $(TRAIN_WORK)/stage1/reader.safetensors
	$(TRAIN) --work $(@D) --out $(@D) --layers 6 --lr 5e-5 --epochs 1 --seed-offset 1 \
		--init-from $(TRAIN_WORK)/stage1/checkpoint.pt $(TRAIN_ARGS)

train-reader: $(TRAIN_WORK)/stage2/reader.safetensors
	$(TRAIN) --work $(TRAIN_WORK)/stage3 --out $(READER_OUT) --layers 12 --lr 3e-5 --epochs 0.75 \
		--seed-offset 2 --init-from $(TRAIN_WORK)/stage2/checkpoint.pt $(TRAIN_ARGS)

# Long reliability runs, outside CI: 100 crash trials with exec'd `rag` processes, then locust
# with 32 users for 2 minutes against `rag serve` (report: bench/out/soak.json).
SOAK_INDEX ?= bench/out/soak-index
soak: $(DEV)
	$(BIN)/pip install -q -e '.[soak]'
	RAG_SOAK_EXEC=1 RAG_SOAK_CRASH_REPEATS=5 OMP_WAIT_POLICY=PASSIVE \
		$(BIN)/python -m pytest -q -s tests/reliability/test_crash.py
	OMP_WAIT_POLICY=PASSIVE $(BIN)/rag ingest corpus --index $(SOAK_INDEX)
	OMP_WAIT_POLICY=PASSIVE $(BIN)/python bench/soak.py --index $(SOAK_INDEX) --users 32 --seconds 120

# Both venvs above built from scratch under /tmp, timed and measured in one run (outside CI;
# writes bench/venv_size.json).
bench-venv:
	$(PY) bench/venv_size.py

# The OCR engines compared (outside CI; writes bench/ocr.json): RapidOCR (the extra `ocr`)
# against Debian's Tesseract with its Simplified Chinese data, installed here when root.
bench-ocr: $(DEV)
	@if ! command -v tesseract >/dev/null || [ ! -e /usr/share/tesseract-ocr/5/tessdata/chi_sim.traineddata ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				-o DPkg::Lock::Timeout=300 tesseract-ocr tesseract-ocr-chi-sim fonts-wqy-microhei >/dev/null; \
		else echo "bench-ocr: not root; install tesseract-ocr tesseract-ocr-chi-sim fonts-wqy-microhei"; exit 1; fi; \
	fi
	$(BIN)/pip install -q pytesseract
	nice -n 10 $(BIN)/python bench/ocr.py

clean:
	rm -rf $(VENV) .rag eval/out tests/artifacts
