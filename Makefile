# Two commands do all the set-up on a fresh machine with Python 3.11+:
#   make demo   - create .venv, install, ingest the demo corpus (docs/), serve the chat on :8000
#   make test   - create .venv, install, run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= .ragchat

.PHONY: demo test lint requirements install bench eval clean browser infra fuzz rehearse

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

# pytest exits 5 when it collects no test. For a narrowed selection (PYTEST_ARGS) that is no failure;
# for the whole suite it means the tests could not even be found, and `make test` fails.
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS) || { code=$$?; \
	  if [ $$code -eq 5 ] && [ -n "$(PYTEST_ARGS)" ]; then echo "make test: no test in this selection"; \
	  else exit $$code; fi; }

# The fuzz tests at FUZZ_SCALE times their default number of examples (the default run does 1x).
FUZZ_SCALE ?= 20
fuzz: install
	RAGCHAT_FUZZ_SCALE=$(FUZZ_SCALE) $(BIN)/python -m pytest -p no:cacheprovider \
	  tests/unit/test_fuzz_frames.py tests/unit/test_fuzz_parsers.py tests/functional/test_fuzz_events.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/python layers/requirements.py --check

# The Lambda layer's requirements.txt, generated from pyproject.toml (a test fails when it is stale).
requirements:
	$(PYTHON) layers/requirements.py

# The AWS side: lint the template with the serverless rules, validate it and build it. SAM CLI pins
# older boto3/pydantic/click than the app, so it lives in a virtual environment of its own.
SAM_VENV ?= .venv-sam
PYTHON_LAMBDA ?= $(firstword $(wildcard /root/.pyenv/versions/3.12*/bin) $(dir $(shell command -v python3.12)))

$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet "aws-sam-cli==1.170.0" "cfn-lint==1.58.0" "cfn-lint-serverless==0.3.6"
	touch $@

infra: $(SAM_VENV)/.installed
	$(SAM_VENV)/bin/cfn-lint template.yaml --append-rules cfn_lint_serverless.rules
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-eu-west-1} $(SAM_VENV)/bin/sam validate --lint
	PATH="$(PYTHON_LAMBDA):$$PATH" SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build
	$(PYTHON) benchmarks/deployment_size.py

# The built stack (what `sam build` made), run as Lambda runs it against moto and the project's fakes,
# through the scenario of a new deployment (tests/rehearsal/).
rehearse: install infra
	RAGCHAT_PYTHON312="$(firstword $(wildcard $(PYTHON_LAMBDA)/python3.12) python3.12)" \
	  $(BIN)/python -m pytest tests/rehearsal -m rehearsal -p no:randomly -s -q

eval: install
	$(BIN)/ragchat eval retrieval --dataset ../shared/datasets/scifact --data $(DATA)

bench: install
	$(BIN)/python benchmarks/ingest_and_search.py
	$(BIN)/python benchmarks/chat_latency.py

clean:
	rm -rf $(VENV) $(DATA)
