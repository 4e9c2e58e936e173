"""Progress and logging: training records read as lines (or a tqdm bar on a terminal), trackers through
``train.report_to``, the recipe in one line unless ``verbose=true``, evaluation progress per language, and absent
languages grouped by cause."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import FAST

import evaluate_xtreme
import phase3_target
from xstilts import callbacks, recipe, training
from xstilts.config import EvalRecipe, Phase3Recipe
from xstilts.log import duration, grouped_by_reason, language_line, short_number, step_line
from xstilts.recipe import RecipeError
from xstilts.results import read_result
from xstilts.tasks import get_task

REPO = Path(__file__).resolve().parents[1]
P3 = ["recipes/quickstart/phase3_xnli.yaml", *FAST, "train.dev_examples=4"]


# ---- The formatted records (pure) ----------------------------------------------------------------------------------
def test_step_line_is_the_documented_record():
    assert step_line(120, 800, 0.87341, 1.2e-5, 71.44) == "step 120/800 loss 0.873 lr 1.2e-5 dev 71.4"
    # Parts without a value are left out: no dev unless an evaluation happened, no ETA before a step was timed.
    assert step_line(3, 10, 2.0, 5e-4) == "step 3/10 loss 2.000 lr 5e-4"
    assert step_line(10, 10, dev=80.0) == "step 10/10 dev 80.0"
    assert step_line(5, 10, 1.5, 0.001, seconds=185, eta=1040) == "step 5/10 loss 1.500 lr 0.001 (3m05s, ETA 17m20s)"
    assert step_line(1, 2, float("nan"), 1e-5) == "step 1/2 loss nan lr 1e-5"  # a NaN loss is shown, not hidden


def test_durations_and_short_numbers():
    assert [duration(s) for s in (0, 42.4, 185, 7620)] == ["0s", "42s", "3m05s", "2h07m"]
    assert [short_number(x) for x in (1.2e-5, 3e-4, 0.02, 2e-05, 1e10, 0.0, 1.51e-5)] == [
        "1.2e-5", "3e-4", "0.02", "2e-5", "1e10", "0", "1.5e-5"]


def test_language_line():
    line = language_line("xnli", "de", 1, 15, {"accuracy": 71.234, "n": 5010.0}, 5010, 3.14)
    assert line == "xnli de 1/15: accuracy 71.23 (5010 rows, 3.1 s)"
    assert language_line("tatoeba", "fr", 2, 3, {"accuracy": 50.0}) == "tatoeba fr 2/3: accuracy 50.00"


def test_reasons_naming_their_language_group_into_one():
    items = [(lang, f"task xnli (test, {lang}): embedded file test-{lang}.tsv is not shipped") for lang in
             ("ar", "bg", "el")] + [("sw", "task xnli (test, sw): no Hub dataset"), ("es", "other cause")]
    assert grouped_by_reason(items) == [
        (["ar", "bg", "el"], "task xnli (test, <lang>): embedded file test-<lang>.tsv is not shipped"),
        (["sw"], "task xnli (test, <lang>): no Hub dataset"), (["es"], "other cause")]
    # A language code inside a longer word is not the language ("de" in "decode").
    assert grouped_by_reason([("de", "cannot decode de.txt")]) == [(["de"], "cannot decode <lang>.txt")]


# ---- Recipe printing -----------------------------------------------------------------------------------------------
def _p3(*overrides: str) -> Phase3Recipe:
    return recipe.load(Phase3Recipe, ["recipes/quickstart/phase3_xnli.yaml", "input=runs/p2", "output=runs/p3",
                                      *overrides])


def test_differing_keys_list_required_and_changed_keys_only():
    keys = recipe.differing_keys(_p3("lora.r=4", "train.report_to=[tensorboard]", "data.translated_languages=[de]",
                                     "data.translated_path=tr"))
    assert keys == ["input=runs/p2", "output=runs/p3", "task=xnli", "data.source=embedded",
                    "data.translated_languages=[de]", "data.translated_path=tr", "train.lr=0.001", "train.epochs=4.0",
                    "train.batch_size=16", "train.max_length=64", "train.eval_steps=40",
                    "train.report_to=[tensorboard]", "lora=on", "lora.r=4"]
    # Set to its default, a key is not a difference.
    assert "train.seed=42" not in recipe.differing_keys(_p3("train.seed=42"))


def test_recipe_is_one_line_unless_verbose():
    out = io.StringIO()
    recipe.print_recipe(_p3("train.lr=1e-4"), "phase3", out)
    assert out.getvalue() == ("[xstilts] phase3 recipe: runs/p3/recipe.yaml (differs from defaults: input=runs/p2, "
                              "output=runs/p3, task=xnli, data.source=embedded, train.lr=0.0001, train.epochs=4.0, "
                              "train.batch_size=16, train.max_length=64, train.eval_steps=40; verbose=true prints it "
                              "in full)\n")
    out = io.StringIO()
    recipe.print_recipe(_p3("verbose=true"), "phase3", out)
    text = out.getvalue()
    assert text.startswith("# resolved phase3 recipe\n") and "  logging_steps: 50\n" in text and "verbose: true" in text
    # The evaluation saves no recipe.yaml of its own: its line names none.
    out = io.StringIO()
    recipe.print_recipe(recipe.load(EvalRecipe, ["input=a", "output=b"]), "evaluation", out)
    assert out.getvalue().startswith("[xstilts] evaluation recipe (differs from defaults: input=a, output=b;")


def test_unknown_tracker_is_one_recipe_error_listing_the_choices():
    with pytest.raises(RecipeError) as err:
        _p3("train.report_to=tensorbord")
    assert str(err.value).startswith("recipes/quickstart/phase3_xnli.yaml: train.report_to: unknown integration "
                                     "'tensorbord'; choose from none, all, ")
    assert "tensorboard" in str(err.value) and "wandb" in str(err.value)
    with pytest.raises(RecipeError, match="train.report_to: none and all stand alone"):
        _p3("train.report_to=[none,tensorboard]")


# ---- Training logs -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def logged_run(tiny_phase1, tmp_path_factory):
    """A phase-3 run in a subprocess whose output is a pipe (as in CI or a SLURM log), reporting to TensorBoard."""
    out = tmp_path_factory.mktemp("progress") / "p3"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    env.pop("TENSORBOARD_LOGGING_DIR", None)
    done = subprocess.run([sys.executable, "phase3_target.py", *P3, f"input={tiny_phase1}", f"output={out}",
                           "train.report_to=tensorboard"], check=False, cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done.stdout, done.stderr


def test_captured_training_log_has_one_line_per_logging_step(logged_run):
    out, stdout, stderr = logged_run
    print(stdout, stderr)
    lines = stdout.splitlines()
    steps = [line for line in lines if line.startswith("[xstilts] step ")]
    # logging_steps=1, max_steps=2, evaluation at step 2: its loss and dev score are one record.
    assert len(steps) == 2, stdout
    assert steps[0].startswith("[xstilts] step 1/2 loss ") and " lr " in steps[0] and " dev " not in steps[0]
    assert steps[1].startswith("[xstilts] step 2/2 loss ") and " dev " in steps[1] and "ETA 0s)" in steps[1]
    assert any(line.startswith("[xstilts] training done: step 2/2 in ") for line in lines)
    # No raw Trainer dicts, no progress bar redraws in a file.
    assert "{'loss'" not in stdout + stderr and "'eval_score'" not in stdout + stderr and "\r" not in stdout + stderr
    # The recipe is one line naming the saved file and what differs; not the full YAML.
    assert f"[xstilts] phase3 recipe: {out}/recipe.yaml (differs from defaults: input=" in stdout
    assert "train.report_to=tensorboard" in stdout and "# resolved" not in stdout


def test_tensorboard_events_land_in_the_run_folder(logged_run):
    out = logged_run[0]
    events = list((out / "logs" / "tensorboard").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(events[0].parent))
    acc.Reload()
    assert {"train/loss", "eval/score"} <= set(acc.Tags()["scalars"])
    assert [e.step for e in acc.Scalars("train/loss")] == [1, 2]


def test_terminal_shows_the_bar_and_formatted_records(tiny_phase1, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(training, "progress_bar_wanted", lambda: True)
    assert phase3_target.main([*P3, f"input={tiny_phase1}", f"output={tmp_path}/p3"]) == 0
    captured = capsys.readouterr()
    assert "[xstilts] step 2/2 loss " in captured.out and "{'loss'" not in captured.out + captured.err
    assert "2/2 [" in captured.err  # tqdm's bar: steps, elapsed, rate


def test_progress_bar_only_on_a_terminal(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    monkeypatch.setattr(sys, "stdout", Tty())
    monkeypatch.setattr(sys, "stderr", Tty())
    assert callbacks.progress_bar_wanted()
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert not callbacks.progress_bar_wanted()
    monkeypatch.delenv("TQDM_DISABLE")
    monkeypatch.setattr(sys, "stdout", io.StringIO())  # redirected to a file
    assert not callbacks.progress_bar_wanted()


@pytest.mark.skipif(__import__("importlib").util.find_spec("wandb") is not None, reason="wandb is installed here")
def test_tracker_without_its_package_is_one_line(tiny_phase1, tmp_path, capsys):
    assert phase3_target.main([*P3, f"input={tiny_phase1}", f"output={tmp_path}/p3", "train.report_to=wandb"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("phase3_target.py: error: train.report_to=wandb cannot start here (") and \
        err.count("\n") == 1 and "set train.report_to=none" in err


# ---- Evaluation progress -------------------------------------------------------------------------------------------
def test_evaluation_lines_per_language_and_absent_languages_grouped(logged_run, tmp_path, capsys):
    out = logged_run[0]
    assert evaluate_xtreme.main([f"input={out}", f"output={tmp_path}/r", "data.source=embedded",
                                 "data.max_eval_samples=4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    evaluated = [line for line in lines if line.startswith("[xstilts] xnli ") and " rows, " in line]
    assert evaluated and evaluated[0].startswith(f"[xstilts] xnli ar 1/{len(evaluated)}: accuracy ")
    assert evaluated[0].endswith(" s)") and "(4 rows, " in evaluated[0]
    # Every language without embedded data in one line, not one line each.
    skipped = [line for line in lines if "skipped" in line]
    assert len(skipped) == 1, skipped
    evaluated = read_result(tmp_path / "r" / "xnli.json").languages
    absent = [lang for lang in get_task("xnli").languages if lang not in evaluated]
    assert skipped[0].startswith(f"[xstilts] warning: skipped {' '.join(absent)} (no data; the result is marked "
                                 "partial): task xnli (test, <lang>, source embedded): embedded file test-<lang>.jsonl")


def test_printing_and_tracker_keys_do_not_block_a_resume(tmp_path):
    from xstilts import provenance

    provenance.write_run_header(tmp_path, "phase3", _p3(), parent=None)
    assert provenance.recipe_changes(tmp_path, _p3("verbose=true", "train.report_to=tensorboard"), None) == []
    assert provenance.recipe_changes(tmp_path, _p3("train.lr=0.1"), None) == ["train.lr: 0.001 -> 0.1"]
