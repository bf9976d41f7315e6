# Tessera: `make run` to try it, `make test` to check it. Needs Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test lint bench migrate seed clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

migrate: $(STAMP)
	$(BIN)/alembic upgrade head

seed: migrate
	$(BIN)/flask --app app demo seed --if-empty

run: seed
	@echo ""
	@echo "Tessera is starting on http://127.0.0.1:$(PORT)/  (Ctrl-C stops it)"
	@echo ""
	$(BIN)/gunicorn --bind 127.0.0.1:$(PORT) --worker-class gthread --workers 2 --threads 8 \
		--access-logfile - 'app:create_app()'

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench.resolve_bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
