#!/usr/bin/env bash
# xstilts sweep mini_replication_seeds: 16 runs, written by: python -m xstilts.sweep recipes/mini/replication.yaml --block b3 --write results/mini/b3.sh
# Run with: bash THIS_SCRIPT (PYTHON=... to choose the interpreter)
# A run whose DONE marker (evaluations: <task>.json) exists is skipped; the first failure stops everything
# and names the failing command. Re-run this script after fixing it: finished runs are skipped.
# Paths are relative to the run root: the folder the sweep was written from, found from this script's place.
set -Eeuo pipefail
SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/$(basename "${BASH_SOURCE[0]}")"
cd "$(dirname "$SELF")"/../..
PYTHON="${PYTHON:-$(if [ -x .venv/bin/python ]; then echo .venv/bin/python; else command -v python || echo python3; fi)}"
export HF_HUB_DISABLE_TELEMETRY=1 TOKENIZERS_PARALLELISM=false
CURRENT=""
trap 'rc=$?; echo "sweep: FAILED (exit $rc): $CURRENT" >&2; exit $rc' ERR

# run DONE_FILE COMMAND...: skips the command when DONE_FILE exists, else runs it (a failure stops all).
run() {
  local done_file=$1; shift
  if [ -e "$done_file" ]; then echo "sweep: skip (finished: $done_file)"; return 0; fi
  CURRENT=$(printf "%q " "$@")
  echo "sweep: run: $CURRENT"
  "$@"
  CURRENT=""
}

# XSTILTS_SHARD=k/n runs the k-th of n shares of the work: every n-th unit from the k-th, a unit being one
# evaluation of a phase-1/2 encoder or one phase-3 run with its evaluations. Phases 1 and 2 (unit 0) belong to
# every shard: start the other shards once they have finished. On CPU: OMP_NUM_THREADS=1 per shard.
SHARD="${XSTILTS_SHARD:-1/1}"
if ! [[ "$SHARD" =~ ^([1-9][0-9]{0,17})/([1-9][0-9]{0,17})$ ]] || (( BASH_REMATCH[1] > BASH_REMATCH[2] )); then
  echo "sweep: XSTILTS_SHARD=$SHARD: give k/n with 1 <= k <= n (whole numbers of at most 18 digits)" >&2; exit 2
fi
SHARD_K=${BASH_REMATCH[1]}; SHARD_N=${BASH_REMATCH[2]}
in_shard() { [ "$1" -eq 0 ] || [ $(( ($1 - 1) % SHARD_N + 1 )) -eq "$SHARD_K" ]; }

# ---- phase1: 1 runs
in_shard 0 && run runs/mini_seeds/p1-e5-small-multi/DONE "$PYTHON" phase1_pretrained.py recipes/phase1/local.yaml model=models/multilingual-e5-small name=multilingual-e5-small kind=multilingual output=runs/mini_seeds/p1-e5-small-multi

# ---- phase2: 3 runs
in_shard 0 && run runs/mini_seeds/p2-e5-small-multi-nli-s1/DONE "$PYTHON" phase2_intermediate.py recipes/phase2/mnli.yaml data.source=xtreme data.path=data/xtreme train.precision=bf16 train.freeze_embeddings=true train.batch_size=16 train.grad_accum=1 train.lr=1e-4 train.max_length=128 train.dev_examples=200 train.patience=null data.train_task=xnli data.train_split=validation train.epochs=3 train.eval_steps=60 lora=null train.seed=1 input=runs/mini_seeds/p1-e5-small-multi output=runs/mini_seeds/p2-e5-small-multi-nli-s1
in_shard 0 && { "$PYTHON" -m xstilts.sweep check-rebuilt runs/mini_seeds/p2-e5-small-multi-nli-s1 1b38538b0dee19b1 results/mini/e5-small-multi-nli-p2s1/tatoeba.json || exit 3; }
in_shard 0 && run runs/mini_seeds/p2-e5-small-multi-nli-s2/DONE "$PYTHON" phase2_intermediate.py recipes/phase2/mnli.yaml data.source=xtreme data.path=data/xtreme train.precision=bf16 train.freeze_embeddings=true train.batch_size=16 train.grad_accum=1 train.lr=1e-4 train.max_length=128 train.dev_examples=200 train.patience=null data.train_task=xnli data.train_split=validation train.epochs=3 train.eval_steps=60 lora=null train.seed=2 input=runs/mini_seeds/p1-e5-small-multi output=runs/mini_seeds/p2-e5-small-multi-nli-s2
in_shard 0 && { "$PYTHON" -m xstilts.sweep check-rebuilt runs/mini_seeds/p2-e5-small-multi-nli-s2 55be2cbb598208aa results/mini/e5-small-multi-nli-p2s2/tatoeba.json || exit 3; }
in_shard 0 && run runs/mini_seeds/p2-e5-small-multi-nli-s3/DONE "$PYTHON" phase2_intermediate.py recipes/phase2/mnli.yaml data.source=xtreme data.path=data/xtreme train.precision=bf16 train.freeze_embeddings=true train.batch_size=16 train.grad_accum=1 train.lr=1e-4 train.max_length=128 train.dev_examples=200 train.patience=null data.train_task=xnli data.train_split=validation train.epochs=3 train.eval_steps=60 lora=null train.seed=3 input=runs/mini_seeds/p1-e5-small-multi output=runs/mini_seeds/p2-e5-small-multi-nli-s3
in_shard 0 && { "$PYTHON" -m xstilts.sweep check-rebuilt runs/mini_seeds/p2-e5-small-multi-nli-s3 29af14ac9c52d843 results/mini/e5-small-multi-nli-p2s3/tatoeba.json || exit 3; }

# ---- seed 1: phase 3, each run then its evaluations: 4 runs
in_shard 1 && run runs/mini_seeds/p3-e5-small-multi-none-xquad-s1/DONE "$PYTHON" phase3_target.py recipes/phase3/xquad.yaml data.source=xtreme data.path=data/xtreme train.precision=bf16 train.freeze_embeddings=true train.batch_size=16 train.grad_accum=1 train.lr=1e-4 train.dev_examples=200 train.patience=null data.train_task=tydiqa data.selection=holdout data.max_train_samples=1500 train.max_length=256 train.epochs=2 train.eval_steps=60 train.dev_examples=300 train.seed=1 lora=null input=runs/mini_seeds/p1-e5-small-multi output=runs/mini_seeds/p3-e5-small-multi-none-xquad-s1
in_shard 1 && run results/mini/e5-small-multi-none-s1/xquad.json "$PYTHON" evaluate_xtreme.py data.source=xtreme data.path=data/xtreme precision=bf16 data.max_eval_samples=100 input=runs/mini_seeds/p3-e5-small-multi-none-xquad-s1 output=results/mini/e5-small-multi-none-s1
in_shard 2 && run runs/mini_seeds/p3-e5-small-multi-nli-xquad-s1/DONE "$PYTHON" phase3_target.py recipes/phase3/xquad.yaml data.source=xtreme data.path=data/xtreme train.precision=bf16 train.freeze_embeddings=true train.batch_size=16 train.grad_accum=1 train.lr=1e-4 train.dev_examples=200 train.patience=null data.train_task=tydiqa data.selection=holdout data.max_train_samples=1500 train.max_length=256 train.epochs=2 train.eval_steps=60 train.dev_examples=300 train.seed=1 lora=null input=runs/mini_seeds/p2-e5-small-multi-nli-s1 output=runs/mini_seeds/p3-e5-small-multi-nli-xquad-s1
in_shard 2 && run results/mini/e5-small-multi-nli-s1/xquad.json "$PYTHON" evaluate_xtreme.py data.source=xtreme data.path=data/xtreme precision=bf16 data.max_eval_samples=100 input=runs/mini_seeds/p3-e5-small-multi-nli-xquad-s1 output=results/mini/e5-small-multi-nli-s1

# ---- seed 2: phase 3, each run then its evaluations: 4 runs
in_shard 3 && run runs/mini_seeds/p3-e5-small-multi-none-xquad-s2/DONE "$PYTHON" phase3_target.py recipes/phase3/xquad.yaml data.source=xtreme data.path=data/xtreme train.precision=bf16 train.freeze_embeddings=true train.batch_size=16 train.grad_accum=1 train.lr=1e-4 train.dev_examples=200 train.patience=null data.train_task=tydiqa data.selection=holdout data.max_train_samples=1500 train.max_length=256 train.epochs=2 train.eval_steps=60 train.dev_examples=300 train.seed=2 lora=null input=runs/mini_seeds/p1-e5-small-multi output=runs/mini_seeds/p3-e5-small-multi-none-xquad-s2
in_shard 3 && run results/mini/e5-small-multi-none-s2/xquad.json "$PYTHON" evaluate_xtreme.py data.source=xtreme data.path=data/xtreme precision=bf16 data.max_eval_samples=100 input=runs/mini_seeds/p3-e5-small-multi-none-xquad-s2 output=results/mini/e5-small-multi-none-s2
in_shard 4 && run runs/mini_seeds/p3-e5-small-multi-nli-xquad-s2/DONE "$PYTHON" phase3_target.py recipes/phase3/xquad.yaml data.source=xtreme data.path=data/xtreme train.precision=bf16 train.freeze_embeddings=true train.batch_size=16 train.grad_accum=1 train.lr=1e-4 train.dev_examples=200 train.patience=null data.train_task=tydiqa data.selection=holdout data.max_train_samples=1500 train.max_length=256 train.epochs=2 train.eval_steps=60 train.dev_examples=300 train.seed=2 lora=null input=runs/mini_seeds/p2-e5-small-multi-nli-s2 output=runs/mini_seeds/p3-e5-small-multi-nli-xquad-s2
in_shard 4 && run results/mini/e5-small-multi-nli-s2/xquad.json "$PYTHON" evaluate_xtreme.py data.source=xtreme data.path=data/xtreme precision=bf16 data.max_eval_samples=100 input=runs/mini_seeds/p3-e5-small-multi-nli-xquad-s2 output=results/mini/e5-small-multi-nli-s2

# ---- seed 3: phase 3, each run then its evaluations: 4 runs
in_shard 5 && run runs/mini_seeds/p3-e5-small-multi-none-xquad-s3/DONE "$PYTHON" phase3_target.py recipes/phase3/xquad.yaml data.source=xtreme data.path=data/xtreme train.precision=bf16 train.freeze_embeddings=true train.batch_size=16 train.grad_accum=1 train.lr=1e-4 train.dev_examples=200 train.patience=null data.train_task=tydiqa data.selection=holdout data.max_train_samples=1500 train.max_length=256 train.epochs=2 train.eval_steps=60 train.dev_examples=300 train.seed=3 lora=null input=runs/mini_seeds/p1-e5-small-multi output=runs/mini_seeds/p3-e5-small-multi-none-xquad-s3
in_shard 5 && run results/mini/e5-small-multi-none-s3/xquad.json "$PYTHON" evaluate_xtreme.py data.source=xtreme data.path=data/xtreme precision=bf16 data.max_eval_samples=100 input=runs/mini_seeds/p3-e5-small-multi-none-xquad-s3 output=results/mini/e5-small-multi-none-s3
in_shard 6 && run runs/mini_seeds/p3-e5-small-multi-nli-xquad-s3/DONE "$PYTHON" phase3_target.py recipes/phase3/xquad.yaml data.source=xtreme data.path=data/xtreme train.precision=bf16 train.freeze_embeddings=true train.batch_size=16 train.grad_accum=1 train.lr=1e-4 train.dev_examples=200 train.patience=null data.train_task=tydiqa data.selection=holdout data.max_train_samples=1500 train.max_length=256 train.epochs=2 train.eval_steps=60 train.dev_examples=300 train.seed=3 lora=null input=runs/mini_seeds/p2-e5-small-multi-nli-s3 output=runs/mini_seeds/p3-e5-small-multi-nli-xquad-s3
in_shard 6 && run results/mini/e5-small-multi-nli-s3/xquad.json "$PYTHON" evaluate_xtreme.py data.source=xtreme data.path=data/xtreme precision=bf16 data.max_eval_samples=100 input=runs/mini_seeds/p3-e5-small-multi-nli-xquad-s3 output=results/mini/e5-small-multi-nli-s3

echo "sweep: all runs of shard $SHARD finished"
