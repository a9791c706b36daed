# The two commands: `make run` (the whole system on the embedded default; `make run PORT=8001` for another port) and `make test` (the whole suite).
PYTHON ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint bench

# `make run` needs the runtime pins only; test, lint and bench add the development tools (requirements-dev.txt).
$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(DEV_STAMP)

# Bytecode is compiled up front (PYTHONDONTWRITEBYTECODE environments never cache it): `python -m pooling`
# then starts in ~90 ms instead of ~110 ms, as in the image.
run: $(STAMP)
	$(BIN)/python -m compileall -q pooling evidence
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_seed
	$(BIN)/python manage.py ensure_superuser
	$(BIN)/python manage.py runstack --addrport 127.0.0.1:$(PORT)

test: $(DEV_STAMP)
	$(BIN)/python -m pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: $(DEV_STAMP)
	$(BIN)/python -m compileall -q pooling evidence
	status=0; for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || status=1; done; exit $$status
