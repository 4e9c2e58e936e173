#!/usr/bin/env bash
# xstilts sweep mini_replication_seeds: 14 runs, written by: python -m xstilts.sweep recipes/mini/replication.yaml --block b1 --write results/mini/b1.sh
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

# ---- phase2: 6 runs
in_shard 0 && run runs/mini_seeds/p2-e5-small-multi-nli-s1/DONE "$PYTHON" phase2_intermediate.py recipes/phase2/mnli.yaml data.source=xtreme data.path=data/xtreme train.precision=bf16 train.freeze_embeddings=true train.batch_size=16 train.grad_accum=1 train.lr=1e-4 train.max_length=128 train.dev_examples=200 train.patience=null data.train_task=xnli data.train_split=validation train.epochs=3 train.eval_steps=60 lora=null train.seed=1 input=runs/mini_seeds/p1-e5-small-multi output=runs/mini_seeds/p2-e5-small-multi-nli-s1
in_shard 0 && run runs/mini_seeds/p2-e5-small-multi-nli-s2/DONE "$PYTHON" phase2_intermediate.py recipes/phase2/mnli.yaml data.source=xtreme data.path=data/xtreme train.precision=bf16 train.freeze_embeddings=true train.batch_size=16 train.grad_accum=1 train.lr=1e-4 train.max_length=128 train.dev_examples=200 train.patience=null data.train_task=xnli data.train_split=validation train.epochs=3 train.eval_steps=60 lora=null train.seed=2 input=runs/mini_seeds/p1-e5-small-multi output=runs/mini_seeds/p2-e5-small-multi-nli-s2
in_shard 0 && run runs/mini_seeds/p2-e5-small-multi-nli-s3/DONE "$PYTHON" phase2_intermediate.py recipes/phase2/mnli.yaml data.source=xtreme data.path=data/xtreme train.precision=bf16 train.freeze_embeddings=true train.batch_size=16 train.grad_accum=1 train.lr=1e-4 train.max_length=128 train.dev_examples=200 train.patience=null data.train_task=xnli data.train_split=validation train.epochs=3 train.eval_steps=60 lora=null train.seed=3 input=runs/mini_seeds/p1-e5-small-multi output=runs/mini_seeds/p2-e5-small-multi-nli-s3
in_shard 0 && run runs/mini_seeds/p2-e5-small-multi-qa-s1/DONE "$PYTHON" phase2_intermediate.py recipes/phase2/squad.yaml data.source=xtreme data.path=data/xtreme train.precision=bf16 train.freeze_embeddings=true train.batch_size=16 train.grad_accum=1 train.lr=1e-4 train.max_length=128 train.dev_examples=200 train.patience=null data.train_task=tydiqa data.selection=holdout data.max_train_samples=1500 train.max_length=256 train.epochs=1 train.eval_steps=50 train.dev_examples=300 lora=null train.seed=1 input=runs/mini_seeds/p1-e5-small-multi output=runs/mini_seeds/p2-e5-small-multi-qa-s1
in_shard 0 && run runs/mini_seeds/p2-e5-small-multi-qa-s2/DONE "$PYTHON" phase2_intermediate.py recipes/phase2/squad.yaml data.source=xtreme data.path=data/xtreme train.precision=bf16 train.freeze_embeddings=true train.batch_size=16 train.grad_accum=1 train.lr=1e-4 train.max_length=128 train.dev_examples=200 train.patience=null data.train_task=tydiqa data.selection=holdout data.max_train_samples=1500 train.max_length=256 train.epochs=1 train.eval_steps=50 train.dev_examples=300 lora=null train.seed=2 input=runs/mini_seeds/p1-e5-small-multi output=runs/mini_seeds/p2-e5-small-multi-qa-s2
in_shard 0 && run runs/mini_seeds/p2-e5-small-multi-qa-s3/DONE "$PYTHON" phase2_intermediate.py recipes/phase2/squad.yaml data.source=xtreme data.path=data/xtreme train.precision=bf16 train.freeze_embeddings=true train.batch_size=16 train.grad_accum=1 train.lr=1e-4 train.max_length=128 train.dev_examples=200 train.patience=null data.train_task=tydiqa data.selection=holdout data.max_train_samples=1500 train.max_length=256 train.epochs=1 train.eval_steps=50 train.dev_examples=300 lora=null train.seed=3 input=runs/mini_seeds/p1-e5-small-multi output=runs/mini_seeds/p2-e5-small-multi-qa-s3

# ---- evaluation of phase-1/2 encoders: 7 runs
in_shard 1 && run results/mini/e5-small-multi-none/tatoeba.json "$PYTHON" evaluate_xtreme.py data.source=xtreme data.path=data/xtreme 'languages=[ar,bg,de,el,es,fr,hi,ru,sw,th,tr,ur,vi,zh]' retrieval.also_last_layer=true task=tatoeba input=runs/mini_seeds/p1-e5-small-multi output=results/mini/e5-small-multi-none
in_shard 2 && run results/mini/e5-small-multi-nli-p2s1/tatoeba.json "$PYTHON" evaluate_xtreme.py data.source=xtreme data.path=data/xtreme 'languages=[ar,bg,de,el,es,fr,hi,ru,sw,th,tr,ur,vi,zh]' retrieval.also_last_layer=true task=tatoeba input=runs/mini_seeds/p2-e5-small-multi-nli-s1 output=results/mini/e5-small-multi-nli-p2s1
in_shard 3 && run results/mini/e5-small-multi-nli-p2s2/tatoeba.json "$PYTHON" evaluate_xtreme.py data.source=xtreme data.path=data/xtreme 'languages=[ar,bg,de,el,es,fr,hi,ru,sw,th,tr,ur,vi,zh]' retrieval.also_last_layer=true task=tatoeba input=runs/mini_seeds/p2-e5-small-multi-nli-s2 output=results/mini/e5-small-multi-nli-p2s2
in_shard 4 && run results/mini/e5-small-multi-nli-p2s3/tatoeba.json "$PYTHON" evaluate_xtreme.py data.source=xtreme data.path=data/xtreme 'languages=[ar,bg,de,el,es,fr,hi,ru,sw,th,tr,ur,vi,zh]' retrieval.also_last_layer=true task=tatoeba input=runs/mini_seeds/p2-e5-small-multi-nli-s3 output=results/mini/e5-small-multi-nli-p2s3
in_shard 5 && run results/mini/e5-small-multi-qa-p2s1/tatoeba.json "$PYTHON" evaluate_xtreme.py data.source=xtreme data.path=data/xtreme 'languages=[ar,bg,de,el,es,fr,hi,ru,sw,th,tr,ur,vi,zh]' retrieval.also_last_layer=true task=tatoeba input=runs/mini_seeds/p2-e5-small-multi-qa-s1 output=results/mini/e5-small-multi-qa-p2s1
in_shard 6 && run results/mini/e5-small-multi-qa-p2s2/tatoeba.json "$PYTHON" evaluate_xtreme.py data.source=xtreme data.path=data/xtreme 'languages=[ar,bg,de,el,es,fr,hi,ru,sw,th,tr,ur,vi,zh]' retrieval.also_last_layer=true task=tatoeba input=runs/mini_seeds/p2-e5-small-multi-qa-s2 output=results/mini/e5-small-multi-qa-p2s2
in_shard 7 && run results/mini/e5-small-multi-qa-p2s3/tatoeba.json "$PYTHON" evaluate_xtreme.py data.source=xtreme data.path=data/xtreme 'languages=[ar,bg,de,el,es,fr,hi,ru,sw,th,tr,ur,vi,zh]' retrieval.also_last_layer=true task=tatoeba input=runs/mini_seeds/p2-e5-small-multi-qa-s3 output=results/mini/e5-small-multi-qa-p2s3

echo "sweep: all runs of shard $SHARD finished"
