# The two commands in README.md: `make run` and `make test`. Each creates or refreshes .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := app:create_app

.PHONY: run test cluster-test bench venv chromium node-sdk clean

# The hosted pages' catalogues (app/translations/<lang>/LC_MESSAGES/messages.po), compiled to the .mo
# files gettext reads: build outputs, never committed.
CATALOGUES := $(wildcard app/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)

venv: $(STAMP) $(COMPILED)

%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile --statistics -i $< -o $@

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
	  echo "Python's venv module is missing."; \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-venv && $(PYTHON) -m venv $(VENV); \
	  else echo "Install it with: sudo apt-get install python3-venv"; exit 1; fi; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: export TOLLGATE_PUBLIC_URL ?= http://localhost:$(PORT)
run: venv
	$(BIN)/flask db upgrade
	$(BIN)/flask tollgate seed-demo
	@# The webhook worker, the review-deadline job and the back-test worker run beside the web server
	@# and stop with it.
	$(BIN)/flask webhooks work & worker=$$!; \
	$(BIN)/flask reviews apply-sla --every 60 & sla=$$!; \
	$(BIN)/flask backtests work & backtests=$$!; \
	trap 'kill $$worker $$sla $$backtests 2>/dev/null; wait $$worker $$sla $$backtests 2>/dev/null' EXIT INT TERM; \
	$(BIN)/gunicorn --bind $(HOST):$(PORT) --workers 2 --access-logfile - 'app:create_app()'

# The browser tests drive Debian's Chromium (never a downloaded one); as root, install it if missing.
chromium:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; \
	  else echo "The browser tests need Chromium: sudo apt-get install --no-install-recommends chromium"; exit 1; fi; }

# The Node SDK tests (tests/sdk/test_node_sdk.py) run @authsignal/node from the committed lock file.
NODE_SDK := tests/sdk/node
node-sdk: $(NODE_SDK)/node_modules/.installed

$(NODE_SDK)/node_modules/.installed: $(NODE_SDK)/package-lock.json
	@command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm; \
	  else echo "The Node SDK tests need Node.js and npm: sudo apt-get install nodejs npm"; exit 1; fi; }
	npm ci --prefix $(NODE_SDK) --no-audit --no-fund --loglevel=error
	@touch $@

test: venv chromium node-sdk
	$(BIN)/ruff check --quiet app tests bench migrations scripts cluster
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Two instances, two webhook workers and the SLA job on a PostgreSQL cluster of its own, under load and
# faults (kill -9, a database restart, the receiver down); prints a table of checks (README, "Running more
# than one instance"). Needs the PostgreSQL server binaries (/usr/lib/postgresql/*/bin).
cluster-test: venv
	$(BIN)/python cluster/run.py

# Every benchmark runs even when an earlier one misses its target; the exit status reports any miss.
bench: venv
	@status=0; for script in rules_engine track verify console_lists review_queue signals backtest; do \
	  echo "== bench/$$script.py"; $(BIN)/python bench/$$script.py || status=1; done; exit $$status

clean:
	rm -rf $(VENV) .pytest_cache $(NODE_SDK)/node_modules $(COMPILED)
