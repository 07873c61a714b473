# The two commands that matter: `make demo` and `make test`. Both build the environment first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EMBED  := $(VENV)/.installed-embeddings

.PHONY: demo test lint typecheck bench screenshots system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# The sentence-embedding sentiment model needs CPU torch (~1 GB); only the tests and training need it.
$(EMBED): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,embeddings]'
	touch $(EMBED)

# Debian's Chromium drives the console's browser tests and screenshots (never a downloaded browser).
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian chromium for the console's browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not found and cannot install it: browser tests will be skipped"; fi; }

demo: $(STAMP)
	$(BIN)/cxlens demo

test: $(EMBED) system-deps
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy src
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts

typecheck: $(STAMP)
	$(BIN)/mypy src

bench: $(STAMP)
	$(BIN)/python -m bench

screenshots: $(STAMP) system-deps
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) cxlens-data .pytest_cache
