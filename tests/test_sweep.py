"""Sweeps: expansion of a sweep recipe into shared phase runs, the bash and SLURM scripts (skip finished runs, stop at
the first failure naming it), the dry run's plan and estimate, and the tiny grid run for real, offline, twice."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from xstilts import sweep
from xstilts.recipe import RecipeError

REPO = Path(__file__).resolve().parents[1]
TINY = "recipes/sweeps/tiny_grid.yaml"
PAPER = "recipes/sweeps/paper_grid.yaml"
# Small and quick phases: the grid's shape is what is tested, not what the models learn.
FAST = ['phase1_overrides=["stats_languages=[en]", "tiny.vocab_size=1000", "tiny.hidden_size=32"]',
        "phase2_overrides=[train.max_steps=3, train.eval_steps=3, train.batch_size=8, train.max_length=32]",
        "phase3_overrides=[train.max_steps=3, train.eval_steps=3, train.batch_size=8, train.max_length=32]",
        "data.max_train_samples=48", "data.max_eval_samples=8"]


@pytest.fixture(autouse=True)
def in_repo(monkeypatch):
    monkeypatch.chdir(REPO)  # recipe paths in the sweep recipes are relative to the repository


def _plan(tmp_path, *overrides):
    return sweep.expand(sweep.load_sweep([TINY, f"runs={tmp_path}/runs", f"results={tmp_path}/results", *overrides]))


def test_tiny_grid_expands_into_shared_phase_runs(tmp_path):
    plan = _plan(tmp_path)
    counts = {p: len(plan.level(p)) for p in sweep.PHASES}
    assert counts == {"phase1": 2, "phase2": 2, "phase3": 8, "eval": 8}
    p3 = {r.name: r for r in plan.level("phase3")}
    # The baseline starts from the phase-1 folder, the MNLI chain from the one phase-2 folder of its encoder: both
    # targets share it.
    assert p3["p3-tiny-multi-none-xnli-s42"].needs == ["p1-tiny-multi"]
    assert p3["p3-tiny-multi-mnli-xnli-s42"].needs == p3["p3-tiny-multi-mnli-pawsx-s42"].needs == \
        ["p2-tiny-multi-mnli"]
    assert f"input={tmp_path}/runs/p2-tiny-multi-mnli" in p3["p3-tiny-multi-mnli-pawsx-s42"].args
    evals = {r.done for r in plan.level("eval")}
    assert f"{tmp_path}/results/tiny-english-mnli-s42/pawsx.json" in evals
    # Deterministic: the same recipe gives the same runs, names and commands.
    again = _plan(tmp_path)
    assert [(r.name, r.args) for r in again.runs] == [(r.name, r.args) for r in plan.runs]
    assert all(r.status == "todo" for r in plan.runs)


def test_launcher_starts_every_phase_script(tmp_path):
    """Every script is rank-aware (training through the Trainer, phase 1 and evaluation themselves), so a launcher
    wraps all of them; without one, the sweep's interpreter runs them."""
    launcher = "torchrun --standalone --nproc_per_node 2"
    text = sweep.bash_script(_plan(tmp_path, f"launcher='{launcher}'"), "test", "run.sh")
    commands = [line for line in text.splitlines() if line.startswith("in_shard ")]
    assert len(commands) == 20
    for script in sweep.SCRIPTS.values():
        assert any(f" {launcher} {script} " in c for c in commands), script
    assert not any('"$PYTHON" ' in c for c in commands)
    assert not any(launcher in line for line in sweep.bash_script(_plan(tmp_path), "test", "run.sh").splitlines())


def test_seeds_lora_and_retrieval_targets(tmp_path):
    plan = _plan(tmp_path, "seeds=[1,2]", "lora=[false,true]", "lora_settings.r=4",
                 "targets.tatoeba={task: tatoeba}")
    counts = {p: len(plan.level(p)) for p in sweep.PHASES}
    # phase 2: 2 encoders x mnli x 2 LoRA settings; phase 3: 2 x 2 intermediate x 2 targets x 2 LoRA x 2 seeds.
    assert counts["phase2"] == 4 and counts["phase3"] == 32
    # Evaluations: one per phase-3 run, plus Tatoeba on each encoder chain; the phase-1 "none" chain is the same
    # encoder with or without LoRA, so it is evaluated once: 2 x (1 + 2) chains.
    tatoeba = [r for r in plan.level("eval") if r.done.endswith("tatoeba.json")]
    assert len(tatoeba) == 6 and counts["eval"] == 32 + 6
    lora_p3 = next(r for r in plan.level("phase3") if r.name == "p3-tiny-english-mnli-xnli-lora-s2")
    assert "lora.r=4" in lora_p3.args and "train.seed=2" in lora_p3.args
    assert lora_p3.needs == ["p2-tiny-english-mnli-lora"]
    plain = next(r for r in plan.level("phase3") if r.name == "p3-tiny-english-mnli-xnli-s2")
    assert "lora=null" in plain.args
    none_tatoeba = next(r for r in tatoeba if "tiny-multi-none/" in r.done)
    assert f"input={tmp_path}/runs/p1-tiny-multi" in none_tatoeba.args


def test_every_phase_recipe_is_checked_strictly_and_all_problems_reported(tmp_path, capsys):
    with pytest.raises(RecipeError) as err:
        _plan(tmp_path, "phase2_overrides=[train.lrr=1]", "targets.xnli.recipe=recipes/phase3/nope.yaml",
              "intermediates.mnli.tasks=[mnli, nonsense]")
    text = str(err.value)
    assert "intermediate mnli of tiny-multi (phase 2): train.lrr: unknown key" in text
    assert "recipes/phase3/nope.yaml does not exist" in text
    assert "unknown task 'nonsense'" in text
    # On the command line: one clear error, exit 2, no traceback.
    assert sweep.main([TINY, "intermediates.bad=null", "--dry-run"]) == 2
    assert "intermediates.bad: only 'none' may be null" in capsys.readouterr().err


def test_paper_grid_dry_run_prints_its_plan(capsys):
    # No measured throughput files: the estimate rests on the guess (and says so), whatever bench/results holds.
    assert sweep.main([PAPER, "--dry-run", "runs=/nonexistent/paper", "throughput_files=[]"]) == 0
    out = capsys.readouterr().out
    assert "1 encoder(s) x 11 intermediate setting(s) x 8 target(s) x 3 seed(s)" in out
    # 10 phase-2 runs (9 single tasks + multi-task), 11 x 6 trained targets x 3 seeds, one evaluation per phase-3
    # run + MLQA on every SQuAD-trained model + Tatoeba and BUCC per encoder chain.
    for line in ("phase1: 1 runs", "phase2: 10 runs", "phase3: 198 runs", "eval: 253 runs"):
        assert line in out
    assert "p3-xlmr-large-multi-squad_qa-s3  <- p2-xlmr-large-multi" in out
    assert "xlmr-large-hellaswag-s2/mlqa  <- p3-xlmr-large-hellaswag-squad_qa-s2" in out
    assert "xlmr-large-none/tatoeba  <- p1-xlmr-large" in out
    hours = float(out.split("estimate: ~")[1].split(" GPU-hours")[0])
    assert 50 < hours < 2000
    assert "xlmr-large: 150 training examples/s (default (large)" in out and "a GUESS, nothing measured" in out


def test_estimate_uses_recorded_throughput(tmp_path):
    plan = _plan(tmp_path)
    done = next(r for r in plan.level("phase3") if r.encoder == "tiny-english")
    Path(done.output).mkdir(parents=True)
    (Path(done.output) / "DONE").write_text("{}")
    (Path(done.output) / "metrics.json").write_text(json.dumps({"cost": {"train_examples_per_second": 40.0}}))
    est = sweep.estimate(_plan(tmp_path))
    assert est["throughput"]["tiny-english"] == {"examples_per_second": 40.0, "from": "recorded", "runs": 1}
    assert est["throughput"]["tiny-multi"]["from"] == "default (tiny)"
    # Embedded data: 300 MNLI rows x 4 epochs for each phase-2 run; the tiny-english one at 40 examples/s.
    p2 = {r.encoder: r.train_examples for r in plan.level("phase2")}
    assert p2 == {"tiny-multi": 1200.0, "tiny-english": 1200.0}
    expected = 1200 / 40 / 3600 + 1200 / (2000 * 128 / 64) / 3600
    assert est["gpu_hours"]["phase2"] == pytest.approx(expected)


def _gpu_check_file(path, gpu="NVIDIA H200", device="cuda", tiny=False):
    """A hand-made bench/gpu_check.py result: the toolkit's rates for the large size, plus entries the estimate must
    pass over (HF Trainer path, compile, failed)."""
    def entry(path_, length, rate, **extra):
        return {"kind": "train", "size": "large", "data": f"x{length}", "path": path_, "compile": False,
                "status": "ok", "max_length": length, "examples_per_s": rate, "gpu": gpu, "tiny": tiny, **extra}

    path.write_text(json.dumps({"schema": "xstilts.gpu_check/v1", "device": device, "gpu": gpu, "variants": {
        "train/large/xnli128/xstilts": entry("xstilts", 128, 400.0),
        "train/large/qa384/xstilts": entry("xstilts", 384, 100.0),
        "train/large/xnli128/hf_fixed": entry("hf_fixed", 128, 150.0),
        "train/large/xnli128/xstilts+compile": entry("xstilts", 128, 900.0, compile=True),
        "train/base/xnli128/xstilts": entry("xstilts", 128, 0.0, status="error"),
        "eval/large/xnli128/xstilts": {**entry("xstilts", 128, 5000.0), "kind": "eval"},
    }}))
    return path


def test_estimate_uses_measured_gpu_throughput_and_says_which_figures_are_guesses(tmp_path, capsys):
    """gpu_check figures replace the guess per encoder size; every run's max_length takes the rate measured at it
    (or the nearest, scaled); sizes without a measurement keep the guess, and the dry run names both."""
    measured = _gpu_check_file(tmp_path / "gpu_check_h200.json")
    _gpu_check_file(tmp_path / "gpu_check_cpu.json", device="cpu")  # a --cpu dry run is never a GPU figure
    grid = [PAPER, "runs=/nonexistent/paper", f"throughput_files=[{tmp_path}/gpu_check*.json]"]
    plan = sweep.expand(sweep.load_sweep(grid))
    est = sweep.estimate(plan)
    src = est["throughput"]["xlmr-large"]
    assert src["from"] == "measured" and src["examples_per_second"] == 400.0
    assert src["by_max_length"] == {128: 400.0, 384: 100.0} and src["gpus"] == ["NVIDIA H200"]
    assert src["files"] == [str(measured)]
    expected = {"phase2": 0.0, "phase3": 0.0}
    for r in plan.runs:
        if r.phase in expected and r.train_examples is not None:
            # 256 lies halfway: half of each measured time per example (1/400 s and 1/100 s): 160 examples/s.
            rate = {128: 400.0, 384: 100.0, 256: 160.0}[r.max_length]
            expected[r.phase] += r.train_examples / rate / 3600
    assert est["gpu_hours"] == pytest.approx(expected)
    lengths = {r.max_length for r in plan.runs if r.phase in expected}
    assert lengths == {128, 256, 384}  # 256 is not measured: interpolated

    # Another GPU asked for: nothing measured on it, so the guess is used and the dry run says it is one.
    assert sweep.main([*grid, "gpu=A100", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "xlmr-large: 150 training examples/s (default (large)" in out and "a GUESS" in out
    assert sweep.main([*grid, "gpu=h200", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "xlmr-large: 400 training examples/s (MEASURED by bench/gpu_check.py on NVIDIA H200 (400 at 128, 100 at " \
           "384 tokens max length" in out and str(measured) in out and "GUESS" not in out


# ---- the scripts, with a stand-in interpreter (fast) -----------------------------------------------------------
STUB = r"""#!/usr/bin/env bash
# Stand-in for python: logs the call, fails on the phase named by $FAIL_ON, else writes what the phase would finish.
echo "$*" >> "$STUB_LOG"
script=$1; shift
if [ -n "${FAIL_ON:-}" ] && [ "$script" = "$FAIL_ON" ]; then echo "boom" >&2; exit 3; fi
out=""; task=""
for a in "$@"; do case "$a" in output=*) out=${a#output=} ;; task=*) task=${a#task=} ;; esac; done
mkdir -p "$out"
if [ "$script" = evaluate_xtreme.py ]; then
  input=$(echo "$@" | sed -n 's/.*input=\([^ ]*\).*/\1/p')
  if [ -z "$task" ]; then task=$(sed -n 's/^task: //p' "$input/recipe.yaml"); fi
  echo '{}' > "$out/$task.json"
else
  printf 'task: %s\n' "$(sed -n 's/^task: //p' "$1" 2>/dev/null)" > "$out/recipe.yaml"
  echo '{}' > "$out/DONE"
fi
"""


def _stub(tmp_path):
    path = tmp_path / "fakepython"
    path.write_text(STUB)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def _run_script(script, tmp_path, **env):
    full = {**os.environ, "PYTHON": str(_stub(tmp_path)), "STUB_LOG": str(tmp_path / "calls.log"), **env}
    return subprocess.run(["bash", str(script)], capture_output=True, text=True, env=full, timeout=60, check=False)


def test_bash_script_runs_in_order_skips_finished_and_stops_at_first_failure(tmp_path):
    script = tmp_path / "run.sh"
    assert sweep.main([TINY, f"runs={tmp_path}/runs", f"results={tmp_path}/results", "--write", str(script)]) == 0
    failed = _run_script(script, tmp_path, FAIL_ON="phase2_intermediate.py")
    assert failed.returncode == 3
    assert "sweep: FAILED (exit 3): " in failed.stderr and "phase2_intermediate.py" in failed.stderr
    assert f"output={tmp_path}/runs/p2-tiny-multi-mnli" in failed.stderr
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert [c.split()[0] for c in calls] == ["phase1_pretrained.py", "phase1_pretrained.py", "phase2_intermediate.py"]

    # Fixed: the next run skips both phase-1 runs and completes everything else, in dependency order.
    (tmp_path / "calls.log").unlink()
    ok = _run_script(script, tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.count("sweep: skip (finished:") == 2 and "sweep: all runs of shard 1/1 finished" in ok.stdout
    calls = [c.split()[0] for c in (tmp_path / "calls.log").read_text().splitlines()]
    # Each phase-3 run is followed by its evaluation: a grid stopped early has scored cells.
    assert calls == ["phase2_intermediate.py"] * 2 + ["phase3_target.py", "evaluate_xtreme.py"] * 8
    assert sweep.expand(sweep.load_sweep([TINY, f"runs={tmp_path}/runs", f"results={tmp_path}/results"])).runs[-1] \
        .status == "done"

    # Everything finished: nothing runs.
    (tmp_path / "calls.log").unlink()
    again = _run_script(script, tmp_path)
    assert again.returncode == 0 and not (tmp_path / "calls.log").exists()
    assert again.stdout.count("sweep: skip (finished:") == 20


def test_slurm_script_submits_one_array_per_level_with_dependencies(tmp_path):
    script = tmp_path / "grid.slurm"
    assert sweep.main([TINY, f"runs={tmp_path}/runs", f"results={tmp_path}/results", "slurm.max_parallel=3",
                       "--slurm", str(script)]) == 0
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "sbatch"
    fake.write_text('#!/usr/bin/env bash\necho "$*" >> "$SBATCH_LOG"\nn=$(wc -l < "$SBATCH_LOG")\n'
                    'echo "$((100 + n));cluster"\n')
    fake.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "SBATCH_LOG": str(tmp_path / "sbatch.log")}
    res = _run_script(script, tmp_path, **env)
    assert res.returncode == 0, res.stderr
    jobs = (tmp_path / "sbatch.log").read_text().splitlines()
    assert len(jobs) == 4
    for job, (phase, n, dep) in zip(jobs, [("phase1", 2, None), ("phase2", 2, 101), ("phase3", 8, 102),
                                           ("eval", 8, 103)], strict=True):
        assert f"--job-name=tiny_grid-{phase}" in job and f"--array=0-{n - 1}%3" in job
        assert (f"--dependency=afterok:{dep}" in job) if dep else ("--dependency" not in job)
        assert f"task {phase} $SLURM_ARRAY_TASK_ID" in job and "--gres=gpu:1" in job
    # An array task runs one command of its level (and skips it once finished).
    stub_env = {**os.environ, "PYTHON": str(_stub(tmp_path)), "STUB_LOG": str(tmp_path / "calls.log")}
    one = subprocess.run(["bash", str(script), "task", "phase3", "5"], capture_output=True, text=True, timeout=60,
                         env=stub_env, check=False)
    assert one.returncode == 0, one.stderr
    sixth = _plan(tmp_path).level("phase3")[5]
    assert (tmp_path / "calls.log").read_text().split() == ["phase3_target.py", *sixth.args]
    again = subprocess.run(["bash", str(script), "task", "phase3", "5"], capture_output=True, text=True, timeout=60,
                           env=stub_env, check=False)
    assert "sweep: skip (finished:" in again.stdout and len((tmp_path / "calls.log").read_text().splitlines()) == 1


def test_scripts_name_no_path_of_the_machine_and_run_from_a_moved_tree(tmp_path, monkeypatch):
    """The script changes into the run root relative to its own place and takes .venv/bin/python there (else python
    on PATH): a tree copied or cloned elsewhere runs as it is, from any working directory."""
    tree = tmp_path / "proj"
    (tree / "scripts").mkdir(parents=True)
    (tree / "recipes").symlink_to(REPO / "recipes")
    monkeypatch.chdir(tree)
    assert sweep.main([TINY, "runs=runs", "results=results", "--write", "scripts/run.sh"]) == 0
    assert sweep.main([TINY, "runs=runs", "results=results", "--slurm", "scripts/grid.slurm"]) == 0
    for name in ("run.sh", "grid.slurm"):
        text = (tree / "scripts" / name).read_text()
        assert str(tmp_path) not in text and str(REPO) not in text and sys.executable not in text, name
        assert 'cd "$(dirname "$SELF")"/..' in text

    moved = tmp_path / "elsewhere" / "copy"
    moved.parent.mkdir()
    tree.rename(moved)
    (moved / ".venv" / "bin").mkdir(parents=True)
    _stub(tmp_path).rename(moved / ".venv" / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k != "PYTHON"}
    done = subprocess.run(["bash", "copy/scripts/run.sh"], cwd=moved.parent, capture_output=True, text=True,
                          env={**env, "STUB_LOG": str(tmp_path / "calls.log")}, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert len((tmp_path / "calls.log").read_text().splitlines()) == 20  # every run, by the .venv interpreter
    assert (moved / "runs" / "p1-tiny-multi" / "DONE").is_file()
    assert (moved / "results" / "tiny-english-mnli-s42" / "pawsx.json").is_file()
    # The SLURM script's array task re-enters the script by its own path, from wherever sbatch starts it.
    again = subprocess.run(["bash", str(moved / "scripts" / "grid.slurm"), "task", "phase1", "0"], cwd=tmp_path,
                           capture_output=True, text=True, env={**env, "STUB_LOG": str(tmp_path / "calls.log")},
                           timeout=60, check=False)
    assert again.returncode == 0 and "sweep: skip (finished: runs/p1-tiny-multi/DONE)" in again.stdout, again.stderr


# ---- the tiny grid for real ------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_tiny_grid_runs_offline_and_a_second_run_does_nothing(tmp_path):
    """20 real processes (2 phase-1, 2 phase-2, 8 phase-3, 8 evaluations) on embedded data: about 2 minutes on 2 idle
    cores, nearly all of it interpreter start-up and imports."""
    script = tmp_path / "run.sh"
    assert sweep.main([TINY, f"runs={tmp_path}/runs", f"results={tmp_path}/results", *FAST,
                       "--write", str(script)]) == 0
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    first = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, timeout=900, check=False)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert first.stdout.count("sweep: run: ") == 20 and "sweep: all runs of shard 1/1 finished" in first.stdout
    results = sorted(str(p.relative_to(tmp_path / "results")) for p in (tmp_path / "results").rglob("*.json"))
    assert results == sorted(f"tiny-{e}-{i}-s42/{t}.json" for e in ("multi", "english") for i in ("none", "mnli")
                             for t in ("xnli", "pawsx"))
    for path in (tmp_path / "results").rglob("*.json"):
        r = json.loads(path.read_text())
        assert r["run"]["intermediate"] == ("none" if "-none-" in str(path) else "mnli")
        assert r["run"]["encoder"] in ("tiny-multilingual", "tiny-english")
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file() and p != script}

    second = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert second.returncode == 0
    assert "sweep: run: " not in second.stdout and second.stdout.count("sweep: skip (finished:") == 20
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file() and p != script} == stamps
    plan = sweep.expand(sweep.load_sweep([TINY, f"runs={tmp_path}/runs", f"results={tmp_path}/results", *FAST]))
    assert all(r.status == "done" for r in plan.runs)
    assert sweep.estimate(plan)["throughput"]["tiny-multi"]["from"] == "recorded"


def test_the_replication_on_the_hub_and_on_local_folders_is_the_same_grid(tmp_path):
    """The archived grid's replication.yaml is its replication_hub.yaml on local folders: the same runs with the
    same training budget, differing only in where models and data come from and in the stand-ins it names."""
    plans = {}
    for name in ("replication_hub", "replication"):
        plans[name] = sweep.expand(sweep.load_sweep([f"results/archive/mini-before-issue29/{name}.yaml",
                                                     f"runs={tmp_path}/runs", f"results={tmp_path}/results"]))
    hub, local = plans["replication_hub"], plans["replication"]
    assert [r.name for r in hub.runs] == [r.name for r in local.runs]
    # 2 encoders x (3 intermediates + none) x 5 targets x 3 seeds (PAWS-X and XQuAD: 1), less nli/xnli and
    # qa/xquad; retrieval on the 8 phase-1/2 encoders.
    assert {p: len(hub.level(p)) for p in sweep.PHASES} == {"phase1": 2, "phase2": 6, "phase3": 80, "eval": 96}
    assert not any("-nli-xnli-" in r.name or "-qa-xquad-" in r.name for r in hub.runs)
    budget = ("data.max_train_samples=", "data.max_eval_samples=", "train.epochs=", "train.lr=", "train.batch_size=",
              "train.max_length=", "train.seed=", "train.precision=", "train.freeze_embeddings=", "languages=")
    stand_ins = ("data.train_split=", "data.selection=", "data.source=", "data.path=", "model=", "input=", "output=",
                 "recipes/phase1/local.yaml",
                 "data.train_task=xnli",  # XNLI English dev stands in for MNLI
                 "data.train_task=tydiqa",  # TyDiQA-GoldP English for SQuAD
                 "split=validation")  # dev splits stand in where the download has no test labels

    def effective(args: list[str]) -> dict[str, str]:  # the last value of a key wins, as in the phase scripts
        return {x.split("=")[0]: x for x in args if x.startswith(budget)}

    for a, b in zip(hub.runs, local.runs, strict=True):
        assert effective(a.args) == effective(b.args), a.name
        if a.phase in ("phase2", "phase3") and "-xcopa-" not in a.name:  # COPA: all of its 400 rows
            assert "data.max_train_samples" in effective(a.args), a.name  # every training run states its budget
        extra = [x for x in b.args if x not in a.args and not x.startswith(stand_ins)]
        assert not extra, (a.name, extra)
    p1 = {r.name: r for r in hub.level("phase1")}
    assert "model=intfloat/multilingual-e5-small" in p1["p1-e5-small-multi"].args
    assert "model=sentence-transformers/all-MiniLM-L6-v2" in p1["p1-minilm-english"].args
    # A target's eval_overrides reach its evaluations only (XQuAD is scored on fewer questions per language).
    evals = {r.name: r for r in hub.level("eval")}
    assert evals["e5-small-multi-none-s1/xquad"].args[-3] == "data.max_eval_samples=30"
    assert "data.max_eval_samples=30" not in evals["e5-small-multi-none-s1/xnli"].args
    assert "data.max_eval_samples=30" not in {r.name: r for r in hub.level("phase3")}[
        "p3-e5-small-multi-none-xquad-s1"].args
    assert "retrieval.also_last_layer=true" in evals["e5-small-multi-qa/tatoeba"].args


def test_the_seeded_replication_on_the_hub_is_the_local_grid_with_the_papers_training_sets(tmp_path):
    """recipes/mini/replication{,_english}_hub.yaml are issue 29's committed grid (recipes/mini/replication{,_english}
    .yaml) with the Hub's models and data: the same runs, seeds, phase-2 seeds and training budgets; they differ only
    in where models and data come from, the stand-ins the local grid names, and how many test items are scored."""
    def plans(*names):
        return [r for name in names for r in sweep.expand(sweep.load_sweep(
            [f"recipes/mini/{name}.yaml", f"runs={tmp_path}/runs", f"results={tmp_path}/results"])).runs]

    hub = plans("replication_hub", "replication_english_hub")
    local = plans("replication", "replication_english")
    assert [r.name for r in hub] == [r.name for r in local]
    assert [(r.seed, r.needs) for r in hub] == [(r.seed, r.needs) for r in local]
    assert {r.name for r in hub if r.phase == "phase2"} == {f"p2-e5-small-multi-{i}-s{k}" for i in ("nli", "qa")
                                                            for k in (1, 2, 3)}
    budget = ("train.epochs=", "train.lr=", "train.batch_size=", "train.grad_accum=", "train.max_length=",
              "train.seed=", "train.precision=", "train.freeze_embeddings=", "train.eval_steps=", "train.dev_examples=",
              "languages=", "precision=")
    stand_ins = ("data.train_split=", "data.train_task=", "data.selection=", "data.source=", "data.path=", "model=",
                 "input=", "output=", "recipes/phase1/local.yaml", "split=validation", "data.max_eval_samples=",
                 "data.max_train_samples=")

    def effective(args: list[str]) -> dict[str, str]:  # the last value of a key wins, as in the phase scripts
        return {x.split("=")[0]: x for x in args if x.startswith(budget)}

    for a, b in zip(hub, local, strict=True):
        assert effective(a.args) == effective(b.args), a.name
        assert not [x for x in b.args if x not in a.args and not x.startswith(stand_ins)], a.name
        assert not any(x.startswith(("data.train_task=", "data.path=", "model=models/")) for x in a.args), a.name
        if a.phase in ("phase2", "phase3") and "-xcopa-" not in a.name:  # COPA: all of its 400 rows in both
            assert any(x.startswith("data.max_train_samples=") for x in a.args), a.name  # a stated budget
    # the local stand-ins' sizes, stated where the Hub's sets are larger: XNLI English dev 1,992 rows for MNLI,
    # 1,500 TyDiQA-GoldP questions for SQuAD
    p3 = {r.name: r for r in hub if r.phase == "phase3"}
    assert "data.max_train_samples=1992" in p3["p3-e5-small-multi-qa-xnli-s1"].args
    assert "data.max_train_samples=1500" in p3["p3-e5-small-multi-nli-xquad-s2"].args
    p1 = {r.name: r for r in hub if r.phase == "phase1"}
    assert "model=intfloat/multilingual-e5-small" in p1["p1-e5-small-multi"].args
    assert "model=sentence-transformers/all-MiniLM-L6-v2" in p1["p1-minilm-english"].args


def test_seeds_run_round_by_round_each_phase3_run_then_its_evaluation(tmp_path):
    plan = _plan(tmp_path, "seeds=[1,2]")
    sections = sweep.bash_sections(plan)
    assert [t for t, _ in sections] == ["phase1", "phase2", "seed 1: phase 3, each run then its evaluations",
                                        "seed 2: phase 3, each run then its evaluations"]
    for title, runs in sections[2:]:
        seed = int(title.split()[1].rstrip(":"))
        assert {r.seed for r in runs} == {seed}
        for p3, ev in zip(runs[::2], runs[1::2], strict=True):
            assert p3.phase == "phase3" and ev.phase == "eval" and p3.name in ev.needs
    assert sum(len(r) for _, r in sections) == len(plan.runs)


def test_excluded_pairs_are_not_planned_and_unknown_ones_are_named(tmp_path):
    plan = _plan(tmp_path, "exclude=[mnli/xnli]")
    names = {r.name for r in plan.runs}
    assert not any("-mnli-xnli-" in n for n in names) and "p3-tiny-multi-mnli-pawsx-s42" in names
    assert "p3-tiny-multi-none-xnli-s42" in names
    with pytest.raises(RecipeError, match="exclude: 'mnli/xnl' is not <intermediate>/<target>"):
        _plan(tmp_path, "exclude=[mnli/xnl]")


def test_shards_split_the_work_after_phase_2_and_keep_each_evaluation_with_its_run(tmp_path):
    script = tmp_path / "run.sh"
    assert sweep.main([TINY, f"runs={tmp_path}/runs", f"results={tmp_path}/results", "seeds=[1,2]",
                       "--write", str(script)]) == 0
    first = _run_script(script, tmp_path, XSTILTS_SHARD="1/2")
    assert first.returncode == 0, first.stderr
    assert "sweep: all runs of shard 1/2 finished" in first.stdout
    one = (tmp_path / "calls.log").read_text().splitlines()
    (tmp_path / "calls.log").unlink()
    second = _run_script(script, tmp_path, XSTILTS_SHARD="2/2")
    assert second.returncode == 0, second.stderr
    two = (tmp_path / "calls.log").read_text().splitlines()
    trained = [[c.split("output=")[1].split()[0] for c in calls if c.startswith("phase3")] for calls in (one, two)]
    # Phases 1 and 2 ran in the first shard (the second found them finished); phase 3 is split in half, disjoint.
    assert [c.split()[0] for c in one[:4]] == ["phase1_pretrained.py"] * 2 + ["phase2_intermediate.py"] * 2
    assert not any(c.startswith(("phase1", "phase2")) for c in two)
    assert len(trained[0]) == len(trained[1]) == 8 and not set(trained[0]) & set(trained[1])
    for calls in (one, two):  # each evaluation right after its own phase-3 run, in the same shard
        for before, after in zip(calls, calls[1:], strict=False):  # consecutive calls
            if after.startswith("evaluate_xtreme.py"):
                assert before.startswith("phase3_target.py")
                assert before.split("output=")[1].split()[0] in after
    for value in ("3/2", "0/2", "1/0", "08/9", "a/b", "1/2/3", ""):
        bad = _run_script(script, tmp_path, XSTILTS_SHARD=value)
        if value == "":  # unset or empty: the whole grid (everything is finished here)
            assert bad.returncode == 0, bad.stderr
            continue
        assert bad.returncode == 2 and f"XSTILTS_SHARD={value}: give k/n with 1 <= k <= n" in bad.stderr, value


def test_a_target_can_run_fewer_seeds_than_the_sweep(tmp_path):
    plan = _plan(tmp_path, "seeds=[1,2,3]", "targets.pawsx.seeds=[1]")
    seeds = {(r.name.split("-")[-2], r.seed) for r in plan.level("phase3")}
    assert {s for t, s in seeds if t == "pawsx"} == {1} and {s for t, s in seeds if t == "xnli"} == {1, 2, 3}
    with pytest.raises(RecipeError, match=r"targets.pawsx.seeds: give a non-empty subset of the sweep's seeds"):
        _plan(tmp_path, "seeds=[1,2]", "targets.pawsx.seeds=[7]")


def test_shard_numbers_beyond_bash_arithmetic_are_refused(tmp_path):
    script = tmp_path / "run.sh"
    assert sweep.main([TINY, f"runs={tmp_path}/runs", f"results={tmp_path}/results", "--write", str(script)]) == 0
    # 2^63 wraps to a negative number in bash: without the limit, k <= n would compare wrapped values.
    for value in (f"1/{2**63}", f"{2**63}/{2**63 + 1}", "1/" + "9" * 19, f"{2**64 + 1}/{2**64 + 2}"):
        bad = _run_script(script, tmp_path, XSTILTS_SHARD=value)
        assert bad.returncode == 2 and "at most 18 digits" in bad.stderr and "Traceback" not in bad.stderr, value
    ok = _run_script(script, tmp_path, XSTILTS_SHARD=f"{10**17}/{10**18 - 1}")
    assert ok.returncode == 0, ok.stderr


def _sweep_file(tmp_path, extra: str) -> str:
    path = tmp_path / "sweep.yaml"
    path.write_text((REPO / TINY).read_text() + extra)
    return str(path)


def test_two_different_runs_mapping_to_one_output_are_refused_not_merged(tmp_path):
    # Two targets of one task (another learning rate) would write one results/<chain>-s<seed>/xnli.json.
    twin = "  xnli_lr:\n    recipe: recipes/quickstart/phase3_xnli.yaml\n    overrides: [train.lr=1e-4]\n"
    recipe_file = _sweep_file(tmp_path, "")
    text = Path(recipe_file).read_text().replace("targets:\n", "targets:\n" + twin, 1)
    Path(recipe_file).write_text(text)
    with pytest.raises(RecipeError, match=r"two different runs would write \S+/tiny-multi-none-s42/xnli\.json"):
        sweep.expand(sweep.load_sweep([recipe_file, f"runs={tmp_path}/runs", f"results={tmp_path}/results"]))
    # Names that join to the same folder: encoder "tiny-multi" + intermediate "x-mnli" vs "tiny-multi-x" + "mnli".
    text = (REPO / TINY).read_text().replace(
        "  tiny-english:\n", "  tiny-multi-x:\n    recipe: recipes/phase1/tiny_english.yaml\n    size: tiny\n"
                             "  tiny-english:\n").replace(
        "  mnli:\n", "  x-mnli:\n    recipe: recipes/quickstart/phase2_mnli.yaml\n    overrides: [train.lr=1e-4]\n"
                     "  mnli:\n")
    Path(recipe_file).write_text(text)
    with pytest.raises(RecipeError, match=r"two different runs would write \S+/p2-tiny-multi-x-mnli/DONE"):
        sweep.expand(sweep.load_sweep([recipe_file, f"runs={tmp_path}/runs", f"results={tmp_path}/results"]))
    # The very same command planned twice (the encoder evaluation shared by both LoRA settings) stays one run.
    plan = _plan(tmp_path, "lora=[false,true]")
    assert len({r.done for r in plan.runs}) == len(plan.runs)


def test_sweep_scripts_never_replace_a_file_without_force(tmp_path, capsys):
    mine = tmp_path / "my_sweep.yaml"
    mine.write_text((REPO / TINY).read_text())
    for flag in ("--write", "--slurm"):
        assert sweep.main([str(mine), f"runs={tmp_path}/runs", f"results={tmp_path}/results", flag, str(mine)]) == 2
        err = capsys.readouterr().err
        assert f"{mine} already exists; choose another {flag} or pass --force" in err
        assert mine.read_text() == (REPO / TINY).read_text()
    copy = tmp_path / "run.sh"
    copy.write_text("mine")
    assert sweep.main([TINY, f"runs={tmp_path}/runs", f"results={tmp_path}/results", "--write", str(copy),
                       "--force"]) == 0
    assert copy.read_text().startswith("#!") and os.access(copy, os.X_OK)
