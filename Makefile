# Tessera: `make run` to try it, `make test` to check it. Needs Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test lint bench migrate seed clean browser proxy

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
	$(BIN)/gunicorn --bind 127.0.0.1:$(PORT) --worker-class gthread --workers 2 \
		'app:create_app()'

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

# Browser tests drive Chromium through Playwright: Debian's package where apt is
# usable, else Playwright's own download. A missing browser fails the tests loudly.
CHROMIUM ?= /usr/bin/chromium
browser: $(STAMP)
	@if [ -x "$(CHROMIUM)" ]; then echo "browser: $(CHROMIUM)"; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	elif command -v apt-get >/dev/null && sudo -n true 2>/dev/null; then \
		sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else $(BIN)/playwright install chromium; fi

# The proxy test runs the README's nginx recipe: Debian's nginx, installed with apt where it is
# usable. A missing nginx fails that test loudly, naming this target.
proxy:
	@if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then echo "proxy: nginx"; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx; \
	elif command -v apt-get >/dev/null && sudo -n true 2>/dev/null; then \
		sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx; \
	else echo "proxy: no nginx and no apt; install nginx for tests/e2e/test_proxy_isolation.py"; fi

test: lint browser proxy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench.resolve_bench
	$(BIN)/python -m bench.editor_bench
	$(BIN)/python -m bench.assignment_bench
	$(BIN)/python -m bench.analysis_bench
	$(BIN)/python -m bench.ingest_bench
	$(BIN)/python -m bench.chaos_bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
