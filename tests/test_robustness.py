"""Robustness: locks, corrupted files, NaN losses, unsafe inputs, fuzzed recipes and data rows, and a real SIGKILL."""
from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from fakehub import FakeHub
from helpers import CORPUS

import phase1_pretrained
import phase2_intermediate
from xstilts import checkpoints, data, encoders, recipe, runfiles, training
from xstilts.config import EvalRecipe, Phase1Recipe, Phase2Recipe, Phase3Recipe
from xstilts.modeling import ModelFolderError, check_model_folder
from xstilts.results import benchmark_scores, find_results
from xstilts.tasks import get_task

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setattr(encoders, "corpus_lines", lambda lang, sample=False: CORPUS)
    monkeypatch.setattr(data, "hub_loader", FakeHub(n=40))


@pytest.fixture
def p1(tmp_path, offline):
    assert phase1_pretrained.main(["recipes/phase1/tiny_multilingual.yaml", f"output={tmp_path}/p1",
                                   "stats_languages=[en]", "tiny.vocab_size=200"]) == 0
    return tmp_path / "p1"


def test_second_process_is_refused_naming_the_holder(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock = {"pid": holder.pid, "host": os.uname().nodename, "since": "now"}
        (tmp_path / runfiles.LOCK).write_text(json.dumps(lock))
        with pytest.raises(runfiles.RunFolderError, match=f"in use by pid {holder.pid} on host"):
            runfiles.RunLock(tmp_path).acquire()
    finally:
        holder.kill()
        holder.wait()
    # The holder died without cleaning up: its stale lock is taken over.
    lock = runfiles.RunLock(tmp_path)
    lock.acquire()
    assert json.loads((tmp_path / runfiles.LOCK).read_text())["pid"] == os.getpid()
    lock.release()
    assert not (tmp_path / runfiles.LOCK).exists()


def test_lock_refusal_through_a_phase_script(p1, tmp_path, capsys):
    out = tmp_path / "p2"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / runfiles.LOCK).write_text(json.dumps({"pid": holder.pid, "host": os.uname().nodename, "since": "now"}))
        assert phase2_intermediate.main(["recipes/phase2/mnli.yaml", f"input={p1}", f"output={out}",
                                         "data.source=hub"]) == 2
        assert f"is in use by pid {holder.pid}" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()


def test_nan_loss_stops_the_run_naming_step_task_and_checkpoint(p1, tmp_path, capsys):
    code = phase2_intermediate.main(["recipes/phase2/mnli.yaml", f"input={p1}", f"output={tmp_path}/p2",
                                     "data.source=hub", "train.precision=fp32", "train.lr=1e12", "train.max_steps=6",
                                     "train.grad_accum=1", "train.batch_size=8", "train.logging_steps=1",
                                     "train.eval_steps=2", "train.max_length=32"])
    err = capsys.readouterr().err
    assert code == 2
    assert re.search(r"loss is \S+ at step \d+ while training mnli; last good checkpoint: ", err), err
    assert not (tmp_path / "p2" / "DONE").exists()


NAN_RUN = ["recipes/phase2/mnli.yaml", "data.source=hub", "train.precision=fp32", "train.max_steps=6",
           "train.grad_accum=1", "train.batch_size=8", "train.eval_steps=1", "train.max_length=32",
           "train.save_total_limit=3"]


def _poison_weights(monkeypatch, step: int, after_backward: bool) -> None:
    """Makes every weight NaN during optimizer step ``step``: before its forward pass (its loss is NaN), or after
    its backward pass (its loss is finite, the weights it saves are not: the next step's loss is NaN)."""
    def training_step(self, model, inputs, *args, **kwargs):
        poison = self.state.global_step + 1 == step
        if poison and not after_backward:
            _fill_nan(model)
        loss = original(self, model, inputs, *args, **kwargs)
        if poison and after_backward:
            _fill_nan(model)
        return loss

    def _fill_nan(model):
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(float("nan"))

    original = training.XTrainer.training_step
    monkeypatch.setattr(training.XTrainer, "training_step", training_step)


def _checkpoint_steps(folder: Path) -> list[int]:
    return sorted(int(p.name.split("-")[-1]) for p in (folder / "checkpoints").glob("checkpoint-*"))


def test_nan_loss_before_the_first_log_stops_at_that_step(p1, tmp_path, capsys, monkeypatch):
    """logging_steps (50) is never reached: the guard still stops the run at the step whose loss is NaN, and no
    checkpoint of that step or later is left for a re-run to resume from."""
    _poison_weights(monkeypatch, step=3, after_backward=False)
    out = tmp_path / "p2"
    assert phase2_intermediate.main([*NAN_RUN, f"input={p1}", f"output={out}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("phase2_intermediate.py: error: "), err
    assert re.search(r"loss is nan at step 3 while training mnli; last good checkpoint: \S+checkpoint-2\. "
                     r".*Lower train\.lr or check the data\.$", err[0]), err[0]
    assert _checkpoint_steps(out) == [1, 2]
    assert not (out / "DONE").exists() and not (out / "final").exists()


def test_a_checkpoint_with_non_finite_weights_is_never_named_last_good(p1, tmp_path, capsys, monkeypatch):
    """Step 2's loss is finite but the weights it saves are NaN; step 3's loss is NaN. The guard names checkpoint-1
    (and removes checkpoint-2), never the newest checkpoint whatever its weights."""
    _poison_weights(monkeypatch, step=2, after_backward=True)
    out = tmp_path / "p2"
    assert phase2_intermediate.main([*NAN_RUN, f"input={p1}", f"output={out}", "train.logging_steps=1"]) == 2
    err = capsys.readouterr().err
    assert re.search(r"loss is nan at step 3 while training mnli; last good checkpoint: \S+checkpoint-1 ", err), err
    assert _checkpoint_steps(out) == [1]
    assert checkpoints.last_finite_checkpoint(out / "checkpoints").endswith("checkpoint-1")


def test_truncated_weights_and_pickles_are_named(p1, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        (broken / name).write_bytes((p1 / name).read_bytes())
    (broken / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(ModelFolderError, match="pickled weights"):
        check_model_folder(broken, "input")
    (broken / "pytorch_model.bin").unlink()
    blob = (p1 / "model.safetensors").read_bytes()
    (broken / "model.safetensors").write_bytes(blob[: len(blob) // 2])
    from xstilts.modeling import load_encoder

    with pytest.raises(Exception) as err:  # safetensors refuses the truncated file
        load_encoder(broken)
    assert "safetensors" in type(err.value).__module__ or "incomplete" in str(err.value).lower() or \
        "invalid" in str(err.value).lower() or "error" in str(err.value).lower()


def test_corrupted_results_are_skipped_with_their_problem(tmp_path):
    good = REPO / "tests" / "fixtures" / "results_demo"
    files = sorted(p for p in good.rglob("*.json") if '"xstilts.results/v1"' in p.read_text())[:3]
    for i, f in enumerate(files):
        (tmp_path / f"r{i}").mkdir()
        (tmp_path / f"r{i}" / f.name).write_text(f.read_text())
    text = (tmp_path / "r0" / files[0].name).read_text()
    (tmp_path / "r0" / files[0].name).write_text(text[: len(text) // 2])  # truncated mid-write
    nan = json.loads((tmp_path / "r1" / files[1].name).read_text())
    lang = next(iter(nan["languages"]))
    (tmp_path / "r1" / files[1].name).write_text(json.dumps(nan).replace(
        json.dumps(nan["languages"][lang]), json.dumps({**nan["languages"][lang], "accuracy": "NaN"}), 1))
    readable, broken = find_results(tmp_path)
    assert len(readable) == 1 and len(broken) == 2
    assert any("not valid JSON" in problem and "truncated" in problem for _, problem in broken)
    assert any("finite number" in problem for _, problem in broken)
    scores = benchmark_scores([r for _, r in readable])
    assert scores["score"] is None and scores["missing_tasks"]  # never averaged over what is missing


def test_trust_remote_code_is_off_by_default():
    for cls in (Phase1Recipe,):
        assert recipe.build(cls, {"output": "x"}).trust_remote_code is False


def _random_value(rng: random.Random):
    return rng.choice([None, True, 3, -1, 0.5, "", "x" * 3, [1, "a"], {"a": 1}, {"lr": "fast"}, "1e-5", [[]]])


@pytest.mark.parametrize("cls", [Phase1Recipe, Phase2Recipe, Phase3Recipe, EvalRecipe])
def test_fuzzed_recipes_give_a_recipe_error_never_a_traceback(cls):
    rng = random.Random(0)
    keys = ["input", "output", "task", "tasks", "train", "train.lr", "train.batch_size", "data", "data.source",
            "lora", "lora.r", "sampler.kind", "tiny.family", "languages", "split", "nonsense", "retrieval.layer"]
    for _ in range(200):
        overrides = [f"{rng.choice(keys)}={json.dumps(_random_value(rng))}" for _ in range(rng.randint(1, 5))]
        try:
            recipe.load(cls, overrides)
        except recipe.RecipeError:
            pass


def test_fuzzed_data_rows_give_a_data_error(monkeypatch, tmp_path):
    rng = random.Random(1)
    task = get_task("xnli")
    (tmp_path / "xnli").mkdir()
    for _ in range(40):
        lines = ["\t".join(rng.choice(["a", "", "neutral", "7", "\x00", "é"]) for _ in range(rng.randint(0, 5)))
                 for _ in range(rng.randint(1, 4))]
        (tmp_path / "xnli" / "dev-de.tsv").write_text("\n".join(lines) + "\n")
        try:
            data.load_split(task, task.eval["validation"], "xtreme", "de", "validation", str(tmp_path))
        except data.DataError:
            pass
    for _ in range(20):
        (tmp_path / "xnli" / "dev-de.tsv").write_bytes(bytes(rng.randrange(256) for _ in range(50)))
        try:
            data.load_split(task, task.eval["validation"], "xtreme", "de", "validation", str(tmp_path))
        except (data.DataError, UnicodeDecodeError) as exc:
            assert not isinstance(exc, UnicodeDecodeError), "undecodable file must be a DataError"


def test_sigkill_during_training_then_rerun_finishes(tmp_path):
    """A real pre-emption: SIGKILL a phase-2 process once it has written a checkpoint, then run it again."""
    script = tmp_path / "run.py"
    script.write_text(f"""
import sys
sys.path[:0] = [{str(REPO)!r}, {str(REPO / 'tests')!r}]
import xstilts.encoders as E, xstilts.data as D
from fakehub import FakeHub
E.corpus_lines = lambda lang, sample=False: {CORPUS!r}
D.hub_loader = FakeHub(n=64)
import phase1_pretrained, phase2_intermediate
if sys.argv[1] == "p1":
    sys.exit(phase1_pretrained.main(["recipes/phase1/tiny_multilingual.yaml", "output={tmp_path}/p1",
                                     "stats_languages=[en]", "tiny.vocab_size=200"]))
sys.exit(phase2_intermediate.main(["recipes/phase2/mnli.yaml", "input={tmp_path}/p1", "output={tmp_path}/p2",
    "data.source=hub", "train.precision=fp32", "train.max_steps=400", "train.grad_accum=1", "train.batch_size=4",
    "train.eval_steps=2", "train.max_length=32", "train.save_total_limit=2", "train.patience=null"]))
""")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.run([sys.executable, str(script), "p1"], cwd=REPO, env=env, capture_output=True, check=False)
    assert first.returncode == 0
    proc = subprocess.Popen([sys.executable, str(script), "p2"], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    ckpts = tmp_path / "p2" / "checkpoints"
    deadline = time.time() + 120
    while time.time() < deadline and not any(ckpts.glob("checkpoint-*/trainer_state.json")):
        time.sleep(0.2)
    time.sleep(random.Random(2).uniform(0.0, 1.0))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "p2" / "DONE").exists()
    rerun = subprocess.run([sys.executable, str(script), "p2"], cwd=REPO, env=env, capture_output=True, text=True,
                           timeout=600, check=False)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert (tmp_path / "p2" / "DONE").exists() and (tmp_path / "p2" / "final" / "model.safetensors").exists()
    assert "resuming from" in rerun.stdout
    assert not (tmp_path / "p2" / runfiles.LOCK).exists()
