# The two commands: `make demo` and `make test`. Everything else is set up on the way.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RESET  ?=
HOST   ?= 127.0.0.1
PORT   ?= 5000
# Links in e-mails and calendar feeds point at the address served, unless the environment says otherwise.
export PROJECTFLOW_BASE_URL ?= http://$(HOST):$(PORT)
PYTEST_ARGS ?=
# One pytest worker per core, each with its own database; a module's tests stay on one worker
# (several build their data once per module). `make test TEST_WORKERS=0` runs in one process.
TEST_WORKERS ?= auto

.PHONY: demo test bench serve clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "projectflow needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/projectflow demo $(if $(RESET),--reset)
	@echo "Serving http://$(HOST):$(PORT) with the job runner beside it  (Ctrl-C stops both)"
	@$(BIN)/projectflow scheduler & runner=$$!; trap 'kill $$runner 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/projectflow run --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=20 $(PYTEST_ARGS)

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench
	$(BIN)/python -m bench.reminders

clean:
	rm -rf $(VENV) build dist *.egg-info artifacts
