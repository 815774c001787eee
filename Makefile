# Two commands do all the set-up on a fresh machine with Python 3.11+:
#   make demo   - create .venv, install, ingest the demo corpus (docs/), serve the chat on :8000
#   make test   - create .venv, install, run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= .ragchat

.PHONY: demo test install bench eval clean browser

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and exactly pinned: the CPU wheel, not the multi-GB CUDA build
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[local,dev]"
	touch $@

install: $(BIN)/.installed

HOST ?= 127.0.0.1
PORT ?= 8000

demo: install
	$(BIN)/ragchat ingest docs README.md --data $(DATA)
	$(BIN)/ragchat serve --host $(HOST) --port $(PORT) --data $(DATA) --watch $(DATA)/drop

# The browser tests need Debian's chromium; without it they skip with a message.
browser:
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# pytest exits 5 when a selection collects no test: that is not a failure of the suite.
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS) || [ $$? -eq 5 ]

eval: install
	$(BIN)/ragchat eval retrieval --dataset ../shared/datasets/scifact --data $(DATA)

bench: install
	$(BIN)/python benchmarks/ingest_and_search.py
	$(BIN)/python benchmarks/chat_latency.py

clean:
	rm -rf $(VENV) $(DATA)
