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


@pytest.mark.slow
def test_a_benchmark_never_replaces_a_measurement_unless_told(tmp_path):
    """An existing out= file is a measurement (perhaps one a GPU lent for minutes made): refused before any work,
    exit 2 naming the file and the fix; force=true replaces it, whole (never half-written)."""
    out = tmp_path / "bucc.json"
    out.write_text('{"mine": true}\n')
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    args = [sys.executable, "bench/bucc_mining.py", *CASES["bucc_mining"], f"out={out}"]
    refused = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert refused.returncode == 2 and "already exists" in refused.stderr and "force=true" in refused.stderr
    assert out.read_text() == '{"mine": true}\n' and "config:" not in refused.stdout  # refused before the work
    forced = subprocess.run([*args, "force=true"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
                            check=False)
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert json.loads(out.read_text())["results"] and not list(tmp_path.glob(".bucc.json.partial-*"))


def test_benchmark_arguments_are_read_by_their_defaults_types():
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import _common
    finally:
        sys.path.remove(str(REPO / "bench"))
    defaults = {"steps": 3, "lr": 0.1, "real": None, "name": "x", "flag": False}
    cfg = _common.parse_args(["steps=5", "lr=1e-3", "real=data/xtreme", "flag=false", "force=true"], defaults)
    assert cfg == {"steps": 5, "lr": 1e-3, "real": "data/xtreme", "name": "x", "flag": False, "force": True}
    for bad, why in (("steps=x", "not a whole number"), ("flag=maybe", "give true or false"), ("nope=1", "unknown"),
                     ("steps", "malformed")):
        with pytest.raises(SystemExit, match=why):
            _common.parse_args([bad], defaults)


def _gpu_check_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gpu_check", REPO / "bench" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # its dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def test_a_measurement_that_appears_while_a_benchmark_runs_is_kept_and_so_is_the_benchmarks(tmp_path, capsys):
    """Two runs of one benchmark: both pass the check at the start; the second to finish never replaces the first's
    file, and keeps its own measurement beside it, named (force=true replaces)."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import _common
    finally:
        sys.path.remove(str(REPO / "bench"))
    out = tmp_path / "m.json"
    _common.write_json(out, {"run": 1})
    with pytest.raises(SystemExit) as stop:
        _common.write_json(out, {"run": 2})
    assert stop.value.code == 2 and json.loads(out.read_text()) == {"run": 1}
    kept = list(tmp_path.glob(".m.json.partial-*"))
    assert len(kept) == 1 and json.loads(kept[0].read_text()) == {"run": 2} and str(kept[0]) in capsys.readouterr().err
    _common.write_json(out, {"run": 3}, force=True)
    assert json.loads(out.read_text()) == {"run": 3}


def test_gpu_check_never_replaces_an_earlier_checks_files(tmp_path, capsys):
    (tmp_path / "gpu_check.json").write_text("{}")
    assert _gpu_check_module().main([str(tmp_path), "--cpu", "--tiny"]) == 2
    assert "already holds gpu_check.json" in capsys.readouterr().err
    assert (tmp_path / "gpu_check.json").read_text() == "{}"
    assert _gpu_check_module().main([str(tmp_path / "gpu_check.json"), "--cpu", "--tiny"]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


@pytest.mark.slow
def test_gpu_check_dry_run_on_cpu_writes_every_figure(tmp_path):
    """bench/gpu_check.py --cpu --tiny runs the GPU check's code paths (the pytest -m cuda run, step hygiene, the
    toolkit's build_trainer training in every setting, compiled ones with aot_eager, HF Trainer training, sorted
    and unsorted evaluation) with the keys the GPU run writes; one size is enough here (with --tiny both sizes are
    the same tiny shape). About 5 minutes on 2 cores."""
    out = tmp_path / "check"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "bench/gpu_check.py", str(out), "--cpu", "--tiny", "--only", "/large/"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=1200, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == ["cuda_tests.txt", "env.json", "gpu_check.json"]
    report = json.loads((out / "gpu_check.json").read_text())
    assert report["finished"] and report["device"] == "cpu" and report["schema"] == "xstilts.gpu_check/v1"
    assert report["cuda_tests"]["returncode"] == 0 and report["cuda_tests"]["failed"] == 0
    if not __import__("torch").cuda.is_available():
        assert report["cuda_tests"]["skipped"] >= 8 and report["cuda_tests"]["passed"] == 0  # skipped, not failed
    assert "6 * N_nonembedding" in report["flops_formula"]["train_per_example"]
    hygiene = report["step_hygiene"]
    assert hygiene["problems"] == [] and hygiene["syncs_per_step"] <= 1 and hygiene["syncs_in_forward"] == 0
    assert hygiene["graph_breaks"] == {"1_head": 0, "2_heads": 0}
    assert hygiene["train_shapes"]["distinct"] <= 6 and hygiene["eval_shapes"]["distinct"] <= 8
    variants = report["variants"]
    expected = {f"train/large/xnli128/{p}" for p in ("hf_fixed", "today", "xstilts", "xstilts+default",
                                                      "xstilts+graphs")} | \
        {f"train/large/qa384/{p}" for p in ("hf_fixed", "xstilts", "xstilts+graphs")} | \
        {f"eval/large/xnli128/{p}" for p in ("unsorted_fixed", "today", "xstilts", "xstilts_b64")}
    assert {k for k, v in variants.items() if v["status"] == "ok"} == expected, {k: v.get("error") for k, v in
                                                                                  variants.items()}
    for name in expected:
        v = variants[name]
        assert {"examples_per_s", "cold_examples_per_s", "tokens_per_s", "padded_tokens_per_s", "mfu", "mfu_padded",
                "peak_memory_mb"} <= set(v)
        assert v["examples_per_s"] > 0 and 0 < v["tokens_per_s"] <= v["padded_tokens_per_s"]
        assert v["mfu"] is None  # no GPU, no peak to compare with
        if v["kind"] == "train":
            assert {"ms_per_step", "cold_over_warm", "gpu_busy_ms_per_step", "syncs_per_step", "distinct_shapes"} <= \
                set(v)
            assert v["syncs_per_step"] is not None and v["syncs_per_step"] <= 1
    # Fixed padding computes every position up to max_length; the toolkit's batches carry little padding.
    assert variants["train/large/xnli128/hf_fixed"]["pad_fraction"] > 0.5 > \
        variants["train/large/xnli128/xstilts"]["pad_fraction"]
    assert variants["train/large/xnli128/xstilts"]["setting"] == {"pad_to_multiple_of": 16, "compile": "off",
                                                                   "padding": "longest row, rounded up"}
    assert variants["train/large/xnli128/today"]["setting"]["pad_to_multiple_of"] == 1
    assert variants["train/large/xnli128/xstilts+graphs"]["speed"]["compile"] == "graphs"
    assert variants["train/large/xnli128/xstilts"]["speed"]["attn_implementation"] == "sdpa"
    assert "train/large/xnli128/xstilts vs hf_fixed" in report["ratios"]
    assert len(report["goals"]) == 5 and "goals_note" in report


def test_gpu_check_skips_what_the_budget_does_not_fit_and_counts_flops(tmp_path, capsys):
    gpu_check = _gpu_check_module()
    assert gpu_check.main([str(tmp_path), "--cpu", "--tiny", "--skip-tests", "--skip-hygiene", "--budget-s", "0"]) == 0
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert report["finished"] and len(report["variants"]) == len(gpu_check.plan(True))
    assert all(v["status"] == "skipped" for v in report["variants"].values())
    assert "out of time budget" in report["variants"]["train/large/xnli128/xstilts"]["reason"]
    # One example of 3 real tokens in a batch 4 wide; 10 non-embedding parameters, 2 layers, hidden 5.
    assert gpu_check.flops([([3], 4)], 10, 2, 5, train=True) == (6 * 10 * 3 + 12 * 2 * 5 * 9,
                                                                 6 * 10 * 4 + 12 * 2 * 5 * 16, 3, 4)
    summary = gpu_check.parse_pytest_summary("...\nFAILED tests/test_cuda.py::test_x - boom\n"
                                             "==== 1 failed, 7 passed, 1 skipped in 3.2s ====\n")
    assert (summary["failed"], summary["passed"], summary["skipped"]) == (1, 7, 1)
    assert summary["failing"] == ["tests/test_cuda.py::test_x"]
    assert gpu_check.peak_tflops("NVIDIA H200")[0] == 989.0 and gpu_check.peak_tflops(None)[0] is None
    # The exact part: PCIe and NVL cards have lower peaks than the SXM part an "H100" name would otherwise get.
    assert gpu_check.peak_tflops("NVIDIA H100 80GB HBM3")[0] == 989.0
    assert gpu_check.peak_tflops("NVIDIA H100 PCIe")[0] == 756.0
    assert gpu_check.peak_tflops("NVIDIA H100 NVL")[0] == gpu_check.peak_tflops("NVIDIA H200 NVL")[0] == 835.0
    assert gpu_check.peak_tflops("NVIDIA L4")[0] == 121.0 and gpu_check.peak_tflops("NVIDIA L40S")[0] == 362.0
    goals = gpu_check.goals({"train/large/qa384/xstilts": {"status": "ok", "mfu": 0.4}},
                            {"train/large/xnli128/today vs hf_fixed": 5.0})
    assert goals[0]["met"] is None and goals[2]["met"] is True  # today's path never meets a goal
