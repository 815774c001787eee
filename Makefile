# Two commands do all the set-up on a fresh machine with Python 3.11+:
#   make demo   - create .venv, install, ingest the demo corpus (docs/), search it
#   make test   - create .venv, install, run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= .ragchat

.PHONY: demo test install bench eval clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and exactly pinned: the CPU wheel, not the multi-GB CUDA build
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[local,dev]"
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/ragchat ingest docs README.md --data $(DATA)
	$(BIN)/ragchat search "how are changed files re-ingested?" --data $(DATA)

# pytest exits 5 when a selection collects no test: that is not a failure of the suite.
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS) || [ $$? -eq 5 ]

eval: install
	$(BIN)/ragchat eval retrieval --dataset ../shared/datasets/scifact --data $(DATA)

bench: install
	$(BIN)/python benchmarks/ingest_and_search.py

clean:
	rm -rf $(VENV) $(DATA)
