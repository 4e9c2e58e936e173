"""Blocks of a sweep (issue 29, item 5): a grid run in parts at different times on different machines. A block runs
its units less those whose result files exist, rebuilds the phase-2 folders it needs and checks each against what the
committed results recorded of it; every sweep without blocks plans as before (tests/test_sweep_phase2_seeds.py)."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from xstilts import provenance, sweep
from xstilts.recipe import RecipeError

REPO = Path(__file__).resolve().parents[1]
MINI = "results/archive/mini-before-issue29/replication.yaml"  # the grid before issue 29, three blocks
# One tiny encoder, one intermediate task, two targets: the smallest grid with a phase-2 folder two blocks share.
GRID = """name: blocks
runs: {runs}
results: {results}
encoders:
  tiny-multi: {{recipe: recipes/phase1/tiny_multilingual.yaml, size: tiny}}
intermediates:
  mnli: {{recipe: recipes/quickstart/phase2_mnli.yaml}}
targets:
  xnli: {{recipe: recipes/quickstart/phase3_xnli.yaml}}
  pawsx: {{recipe: recipes/quickstart/phase3_pawsx.yaml}}
seeds: [42]
data: {{source: embedded, max_train_samples: 48, max_eval_samples: 8}}
eval: {{recipe: recipes/quickstart/eval.yaml}}
phase1_overrides: ["stats_languages=[en]", "tiny.vocab_size=1000", "tiny.hidden_size=32", "tiny.num_layers=1"]
phase2_overrides: [train.max_steps=3, train.eval_steps=3, train.batch_size=8, train.max_length=32]
phase3_overrides: [train.max_steps=3, train.eval_steps=3, train.batch_size=8, train.max_length=32]
blocks:
  first: [phase2, xnli]
  second: [pawsx]
"""


@pytest.fixture(autouse=True)
def in_repo(monkeypatch):
    monkeypatch.chdir(REPO)  # recipe paths in the sweep recipes are relative to the repository


def _mini(tmp_path, *overrides):
    return sweep.expand(sweep.load_sweep([MINI, f"results={tmp_path}/results", *overrides]))


def test_blocks_name_units_of_the_sweep_once():
    with pytest.raises(RecipeError) as err:
        sweep.load_sweep([MINI, "blocks={a: [xnli, phase3], b: [xnli], c: []}"])
    text = str(err.value)
    assert "blocks.a: 'phase3' is neither phase2 nor a target of this sweep" in text
    assert "blocks: xnli is in both a and b" in text
    assert "blocks.c: give a name" in text


def test_a_block_plans_its_units_less_finished_results_and_the_runs_they_start_from(tmp_path):
    plan = _mini(tmp_path, "blocks={retrieval: [tatoeba], nli: [xnli]}")
    sub, checks = sweep.block_plan(plan, "retrieval")
    assert checks == {}  # no result recorded any phase-2 run yet
    evals = [r for r in sub.runs if r.phase == "eval"]
    assert {r.name.split("/")[1] for r in evals} == {"tatoeba"} and len(evals) == 8
    assert not sub.level("phase3")  # retrieval trains nothing
    assert len(sub.level("phase2")) == 6 and len(sub.level("phase1")) == 2
    # a finished result drops its evaluation; a phase-3 run whose evaluations all exist is not run again
    nli, _ = sweep.block_plan(plan, "nli")
    done = next(r for r in nli.level("eval"))
    Path(done.done).parent.mkdir(parents=True)
    Path(done.done).write_text("{}")
    again, _ = sweep.block_plan(_mini(tmp_path, "blocks={retrieval: [tatoeba], nli: [xnli]}"), "nli")
    assert done.name not in {r.name for r in again.runs}
    assert done.needs[0] not in {r.name for r in again.runs}
    assert len(again.level("phase3")) == len(nli.level("phase3")) - 1
    with pytest.raises(RecipeError, match="--block bert: no such block \\(blocks: retrieval, nli\\)"):
        sweep.block_plan(plan, "bert")


@pytest.mark.parametrize("recipe", ["recipes/mini/replication.yaml", "recipes/mini/replication_english.yaml", MINI])
def test_a_block_whose_results_are_all_committed_trains_nothing(recipe):
    """Re-running a finished block (the committed grids: results/mini and its archive) plans no run, its phase2
    unit included: every result scored from those phase-2 runs exists, so rebuilding them would only cost time."""
    plan = sweep.expand(sweep.load_sweep([recipe]))
    for block in plan.sweep.blocks:
        sub, _ = sweep.block_plan(plan, block)
        assert sub.runs == [], (block, [r.name for r in sub.runs])
    # One missing result brings back exactly the phase-2 run it starts from (and its phase-1 run), nothing else.
    first = next((b for b, units in plan.sweep.blocks.items() if "phase2" in units), None)
    if first is None:  # the English-only grid trains no intermediate task
        return
    gone = next(r for r in plan.level("eval") if r.needs[0].startswith("p2-"))
    plan.runs[plan.runs.index(gone)] = dataclasses.replace(gone, status="todo")
    sub, _ = sweep.block_plan(plan, first)
    assert [r.name for r in sub.level("phase2")] == gone.needs and len(sub.level("phase1")) == 1


def test_block_command_lines_are_checked(tmp_path, capsys):
    assert sweep.main([MINI, "--block", "b1", "--slurm", str(tmp_path / "x.slurm")]) == 2
    assert "--block writes a bash script" in capsys.readouterr().err
    assert sweep.main(["check-rebuilt", "runs/mini/p2-x"]) == 2
    assert "check-rebuilt: give FOLDER FINGERPRINT RESULT_FILE" in capsys.readouterr().err
    assert sweep.main(["check-rebuilt", str(tmp_path / "absent"), "0" * 16, "r.json"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "absent: cannot read the run to check it against r.json" in err[0]
    assert sweep.main([MINI, "--block", "b2", "--dry-run"]) == 0  # the committed results: b2 has nothing to do
    out = capsys.readouterr().out
    assert out.startswith("block b2: xnli, pawsx, xquad") and "\n0 runs, 0 already finished" in out


def test_results_that_disagree_about_a_phase2_run_are_refused(tmp_path):
    entry = {"phase": "phase2", "folder": "runs/mini/p2-x", "recipe": {"seed": 1}, "metrics": {"train_loss": 1.0}}
    for name, loss in (("a", 1.0), ("b", 0.5)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "xnli.json").write_text(json.dumps({"chain": [{**entry, "metrics": {"train_loss": loss}}]}))
    with pytest.raises(RecipeError, match="runs/mini/p2-x: .*a/xnli.json records run .* but .*b/xnli.json records"):
        sweep.recorded_fingerprints(tmp_path)


def test_the_fingerprint_ignores_times_and_hosts_but_not_the_training():
    entry = {"phase": "phase2", "recipe": {"train": {"seed": 1}}, "environment": {"cpu": "A"},
             "started": "t0", "metrics": {"train_loss": 1.23456, "global_step": 3, "cost": {"wall_time_s": 5}}}
    other_machine = {**entry, "environment": {"cpu": "B"}, "started": "t1",
                     "metrics": {**entry["metrics"], "cost": {"wall_time_s": 9}, "train_loss": 1.234561}}
    assert sweep.run_fingerprint(entry) == sweep.run_fingerprint(other_machine)
    assert sweep.run_fingerprint(entry) != sweep.run_fingerprint({**entry, "recipe": {"train": {"seed": 2}}})
    assert sweep.run_fingerprint(entry) != sweep.run_fingerprint(
        {**entry, "metrics": {**entry["metrics"], "train_loss": 1.3}})


def test_a_refused_rebuild_names_what_differs_from_the_recorded_run(tmp_path):
    """A rebuilt phase-2 run that is not the recorded one: the refusal names the recipe keys, thread count and package
    versions that differ (a rebuild at another thread count is the common case on CPU), not only "not the same"."""
    recorded = {"phase": "phase2", "folder": "runs/x/p2-a", "recipe": {"train": {"seed": 1, "lr": 1e-4}},
                "environment": {"torch_threads": 2, "packages": {"torch": "2.13.0"}}}
    source = tmp_path / "cell" / "xnli.json"
    source.parent.mkdir()
    source.write_text(json.dumps({"chain": [{"phase": "phase1", "folder": "runs/x/p1"}, recorded]}))
    rebuilt = {**recorded, "environment": {"torch_threads": 1, "packages": {"torch": "2.13.0"}}}
    why = sweep._rebuild_differences(rebuilt, "runs/x/./p2-a", str(source))
    assert why == ("torch threads: 2 recorded, 1 now (CPU sums depend on them: rebuild with OMP_NUM_THREADS=2)")
    rebuilt = {**recorded, "recipe": {"train": {"seed": 2, "lr": 1e-4}},
               "environment": {"torch_threads": 2, "packages": {"torch": "2.14.0"}}}
    why = sweep._rebuild_differences(rebuilt, "runs/x/p2-a", str(source))
    assert why == "recipe train.seed: 1 recorded, 2 now; torch 2.13.0 recorded, 2.14.0 now"
    assert "thread count" in sweep._rebuild_differences(rebuilt, "runs/x/p2-other", str(source))  # not recorded
    assert sweep.recorded_fingerprints(tmp_path)["runs/x/p2-a"].threads == 2
    recorded["environment"]["gpus"] = ["NVIDIA H100"]  # trained on a GPU: no thread count to pin on a rebuild
    source.write_text(json.dumps({"chain": [recorded]}))
    assert sweep.recorded_fingerprints(tmp_path)["runs/x/p2-a"].threads is None


def _block(tmp_path, recipe, name, threads="1"):
    script = tmp_path / f"{name}.sh"
    assert sweep.main([str(recipe), "--block", name, "--write", str(script), "--force"]) == 0
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": threads, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, timeout=600, check=False)


@pytest.mark.slow
def test_a_second_block_rebuilds_the_phase2_folder_it_lacks_and_refuses_another_run(tmp_path):
    """Block 1 on one machine, block 2 on another that has the results but no run folders: the phase-2 folder is
    rebuilt from its recipe and accepted because it is the run block 1's results recorded; a record that names another
    run stops the block with one line. About a minute on 2 cores (interpreter start-ups)."""
    runs, results = tmp_path / "runs", tmp_path / "results"
    recipe = tmp_path / "grid.yaml"
    recipe.write_text(GRID.format(runs=runs, results=results))
    first = _block(tmp_path, recipe, "first")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert sorted(p.name for p in results.rglob("*.json")) == ["xnli.json"]

    p2 = runs / "p2-tiny-multi-mnli"
    shutil.rmtree(p2)  # the other machine has no run folder
    xnli = results / "tiny-multi-mnli-s42" / "xnli.json"
    stamp = xnli.stat().st_mtime_ns
    # Started with another thread count (as a shard of another machine): the rebuild runs at the recorded one.
    second = _block(tmp_path, recipe, "second", threads="2")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "OMP_NUM_THREADS=1 run " in (tmp_path / "second.sh").read_text()
    assert provenance.chain(p2)[0]["environment"]["torch_threads"] == 1
    assert f"sweep: run: {sys.executable} phase2_intermediate.py" in second.stdout and (p2 / "DONE").is_file()
    assert f"sweep: {p2} is run " in second.stdout and "the one" in second.stdout
    assert sorted(p.name for p in results.rglob("*.json")) == ["pawsx.json", "xnli.json"]
    assert xnli.stat().st_mtime_ns == stamp  # block 2 never touches block 1's unit
    assert not [line for line in second.stdout.splitlines() if line.startswith(("sweep: run:", "sweep: skip"))
                and "xnli" in line.replace("phase3_xnli", "")]

    # A committed record of another phase-2 run: the rebuilt folder is refused, naming it and both fingerprints.
    data = json.loads(xnli.read_text())
    p2_entry = next(e for e in data["chain"] if e["phase"] == "phase2")
    recorded = sweep.run_fingerprint(p2_entry)
    p2_entry["metrics"]["train_loss"] += 0.5
    tampered = sweep.run_fingerprint(p2_entry)
    xnli.write_text(json.dumps(data))
    (results / "tiny-multi-mnli-s42" / "pawsx.json").unlink()
    shutil.rmtree(p2)
    third = _block(tmp_path, recipe, "second")
    assert third.returncode == 3
    refusal = [line for line in third.stderr.splitlines() if line.startswith("sweep:")]
    assert len(refusal) == 1, third.stderr
    assert str(p2) in refusal[0] and f"is run {recorded}" in refusal[0] and f"from run {tampered}" in refusal[0]
    assert "the same recipe, threads and packages" in refusal[0]
    assert not (results / "tiny-multi-mnli-s42" / "pawsx.json").exists()
