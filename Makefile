# The two commands in the README: `make serve` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: serve test check lint typecheck unit bench vendor clean

$(VENV)/.runtime: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev: pyproject.toml $(VENV)/.runtime
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

## serve: install, migrate the SQLite database and run the service on http://127.0.0.1:8080
## (make serve PORT=9000 HOST=0.0.0.0 to listen elsewhere; the default is config.yaml's server section)
serve: $(VENV)/.runtime
	$(BIN)/frontdesk db upgrade
	$(BIN)/frontdesk serve $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

## test: install everything the tests need (Python packages, Chromium) and run all checks
test: $(VENV)/.dev
	bash .ci/install-system-deps
	$(MAKE) check

# Every step runs even if an earlier one fails, so one CI run reports all problems.
check:
	@status=0; \
	$(MAKE) --no-print-directory lint || status=1; \
	$(MAKE) --no-print-directory typecheck || status=1; \
	$(MAKE) --no-print-directory unit || status=1; \
	exit $$status

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck:
	$(BIN)/mypy

# In parallel (TEST_WORKERS=0: in one process), then the tests that start and kill whole server
# processes one at a time (marker server_processes, tests/conftest.py). Both run even if the first fails.
TEST_WORKERS ?= 3
unit:
	@status=0; \
	$(BIN)/pytest -n $(TEST_WORKERS) -m "not server_processes" || status=1; \
	$(BIN)/pytest -m server_processes || status=1; \
	exit $$status

bench: $(VENV)/.dev
	$(BIN)/python bench/webchat_throughput.py

## vendor: refresh the console's vendored htmx and Chart.js (and the tests' axe-core) from the npm registry
vendor:
	bash bot/console/vendor.sh

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
