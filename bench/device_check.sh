#!/usr/bin/env bash
# The GPU device check (bench/gpu_check.py) as one prepared call on a lent GPU machine that cannot reach PyPI.
#
#   bash bench/device_check.sh prepare        # here, with PyPI: wheels of the pinned versions the GPU image lacks,
#                                            # into .whl/ (ignored by git through .git/info/exclude; about 25 MB)
#   bash bench/device_check.sh run OUT_DIR    # there (the device tool: carry [".whl"], timeout_s 560):
#                                            # installs them into /tmp/site, then gpu_check.py --budget-s 420
#
# The GPU image has torch, accelerate and pyarrow but older transformers/tokenizers/huggingface-hub and no datasets,
# dill, multiprocess or httpx2 (/work/.library/device/KINDS.md); the pins are requirements.txt's. BUDGET_S (420) and
# EXTRA (more gpu_check.py arguments, e.g. "--only large") can be set in the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
# The project's pins and, for huggingface-hub 2.4 and datasets 5.2, their needs in the versions of the project's venv.
WHEELS=(transformers==5.24.0 tokenizers==0.23.3 huggingface-hub==2.4.0 datasets==5.2.0 peft==0.21.2
        dill==0.4.1 multiprocess==0.70.19 httpx2==2.17.0 httpcore2==2.17.0 truststore==0.10.5 anyio==4.16.0
        idna==3.21 h11==0.16.0 hf-xet==1.8.0 click==8.5.1)

case "${1:-}" in
  prepare)
    grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
    mkdir -p .whl
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
      -d .whl "${WHEELS[@]}"
    du -sh .whl && ls .whl
    ;;
  run)
    out="${2:?usage: bash bench/device_check.sh run OUT_DIR}"
    mkdir -p "$out"
    wheels="${WHEELS_DIR:-.whl}"  # WHEELS_DIR=none: use the Python packages as they are (a dry run here)
    if ls "$wheels"/*.whl >/dev/null 2>&1; then
      python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
        "$wheels"/*.whl
      export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
    fi
    export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
    python3 -c "import torch, transformers, datasets, accelerate; print('torch', torch.__version__, 'transformers', transformers.__version__, 'datasets', datasets.__version__, 'accelerate', accelerate.__version__, 'cuda', torch.cuda.is_available())"
    # shellcheck disable=SC2086  # EXTRA is a list of arguments
    python3 bench/gpu_check.py "$out" --budget-s "${BUDGET_S:-420}" ${EXTRA:-}
    ;;
  *)
    echo "usage: bash bench/device_check.sh prepare | run OUT_DIR" >&2
    exit 2
    ;;
esac
