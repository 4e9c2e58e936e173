"""The benchmark scripts run and write their JSON (smoke tests at toy sizes: timings on shared CPUs are noise, so no
ratio is asserted here; the figures come from running the scripts at their default sizes, see README)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOY = ["hidden_size=32", "num_layers=1", "num_heads=2", "intermediate_size=64", "vocab_size=1000", "threads=1"]
CASES = {
    "eval_throughput": [*TOY, "repeats=1", "batch_size=16", "max_length=32"],
    "train_throughput": [*TOY, "repeats=1", "steps=3", "warmup=1", "batch_size=8", "max_length=32"],
    "lora_vs_full": [*TOY, "repeats=1", "steps=3", "warmup_steps=1", "batch_size=8", "max_length=32",
                     "lora_r=2"],
    "bucc_mining": ["sizes=300", "dim=16", "block_size=64", "threads=1"],
}


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(CASES))
def test_benchmark_script_runs_and_writes_json(script, tmp_path):
    out = tmp_path / f"{script}.json"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, f"bench/{script}.py", *CASES[script], f"out={out}"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result, "empty benchmark result"
