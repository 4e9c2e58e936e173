"""Real interruptions at chosen points: a phase or an evaluation is stopped by SIGTERM or SIGKILL, then re-run.

Each killed process is a subprocess of a tiny phase 2 (or evaluation) whose code is patched at one point to announce
that it got there (a marker file) and wait; the test then sends the signal. Points: during training after a
checkpoint, while a checkpoint is written (before its last files; with ``trainer_state.json`` cut in half), while
``final/`` is written, while the checkpoints are removed after ``final/`` and ``metrics.json`` are in place, before
``DONE``, and during an evaluation (between languages; with the result file written but not yet renamed into place).

After each kill nothing looks finished (no ``DONE``, no result JSON), and re-running the same command finishes with
exactly the weights, dev metrics and scores of an uninterrupted run (CPU, fixed seed).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from xstilts import io, provenance
from xstilts.results import find_results, read_result
from xstilts.training import checkpoint_problem, last_checkpoint

REPO = Path(__file__).resolve().parents[1]
# PYTHONHASHSEED: FakeHub seeds its datasets with hash(), so every process must hash alike to see the same data.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
       "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}

# The subprocess: a tiny offline chain (FakeHub, fixed corpus) plus, when XKILL names one, a patched point that
# touches XKILL_MARKER and waits there to be killed. Nothing else in the code under test is changed.
RUNNER = r'''
import os, sys, time
from pathlib import Path
sys.path[:0] = [REPO, REPO + "/tests"]
import xstilts.encoders as E, xstilts.data as D
from fakehub import FakeHub
E.corpus_lines = lambda lang, sample=False: [f"the cat sees the dog number {i} in the big city" for i in range(60)]
D.hub_loader = FakeHub(n=40)

def reached():
    Path(os.environ["XKILL_MARKER"]).touch()
    time.sleep(300)

kind, _, arg = os.environ.get("XKILL", "").partition(":")
if kind == "train_step":  # in the middle of training, after checkpoints were written
    from transformers import Trainer
    original, calls = Trainer.training_step, [0]
    def training_step(self, *a, **k):
        calls[0] += 1
        if calls[0] == int(arg):
            reached()
        return original(self, *a, **k)
    Trainer.training_step = training_step
elif kind == "before_rng":  # checkpoint-N has weights, optimizer and scheduler, but no RNG state nor trainer state
    from transformers import Trainer
    original = Trainer._save_rng_state
    def save_rng(self, output_dir):
        if self.state.global_step == int(arg):
            reached()
        return original(self, output_dir)
    Trainer._save_rng_state = save_rng
elif kind == "state_half":  # checkpoint-N's trainer_state.json (the Trainer's last file) is cut off mid-write
    import dataclasses, json
    from transformers import TrainerState
    original = TrainerState.save_to_json
    def save_to_json(self, path):
        if self.global_step == int(arg):
            text = json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)
            with open(path, "w") as f:
                f.write(text[: len(text) // 2])
            reached()
        return original(self, path)
    TrainerState.save_to_json = save_to_json
elif kind == "final_heads":  # final.tmp/ has the encoder and tokenizer, not yet the heads
    import xstilts.modeling as M
    original = M.save_file
    def save_file(state, path, *a, **k):
        if "final.tmp" in str(path):
            reached()
        return original(state, path, *a, **k)
    M.save_file = save_file
elif kind == "rm_checkpoints":  # final/ and metrics.json are written; removing the checkpoints is cut short
    import shutil
    original = shutil.rmtree
    def rmtree(path, *a, **k):
        p = Path(path)
        if p.name.startswith("checkpoints"):
            ckpts = sorted(p.glob("checkpoint-*"), key=lambda c: int(c.name.split("-")[-1]))
            for c in ckpts[:-1]:
                original(c)  # the older ones (the best among them) already gone...
            for name in ("optimizer.pt", "rng_state.pth"):
                (ckpts[-1] / name).unlink(missing_ok=True)  # ...and the newest one half-way
            reached()
        return original(path, *a, **k)
    shutil.rmtree = rmtree
elif kind == "before_done":  # everything written except the DONE marker
    import xstilts.io as IO
    original = IO.mark_finished
    def mark_finished(*a, **k):
        reached()
        return original(*a, **k)
    IO.mark_finished = mark_finished
elif kind == "eval_lang":  # evaluation: some languages scored, the result not written
    import xstilts.evaluation as EV
    original, calls = EV.evaluate_language, [0]
    def evaluate_language(*a, **k):
        calls[0] += 1
        if calls[0] == int(arg):
            reached()
        return original(*a, **k)
    EV.evaluate_language = evaluate_language
elif kind == "result_rename":  # evaluation: the result's temp file is complete, not yet renamed into place
    original = os.replace
    def replace(src, dst, *a, **k):
        if str(dst).endswith(arg):
            reached()
        return original(src, dst, *a, **k)
    os.replace = replace

import phase1_pretrained, phase2_intermediate, phase3_target, evaluate_xtreme
cmd, out, inp = sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None
TRAIN = ["train.precision=fp32", "train.batch_size=8", "train.max_length=32", "data.source=hub",
         "train.grad_accum=1", "train.save_total_limit=2", "train.eval_steps=2"]
if cmd == "p1":
    rc = phase1_pretrained.main(["recipes/phase1/tiny_multilingual.yaml", f"output={out}", "stats_languages=[en]",
                                 "tiny.vocab_size=200"])
elif cmd == "p2":  # 40 examples, batch 8: 8 steps cross an epoch boundary; checkpoints at 2, 4, 6, 8
    rc = phase2_intermediate.main(["recipes/phase2/mnli.yaml", f"input={inp}", f"output={out}",
                                   "train.max_steps=8", *TRAIN])
elif cmd == "p3":
    rc = phase3_target.main(["recipes/phase3/xnli.yaml", f"input={inp}", f"output={out}", "train.max_steps=2",
                             *TRAIN])
else:
    rc = evaluate_xtreme.main([f"input={inp}", f"output={out}", "data.source=hub", "data.max_eval_samples=8",
                               "languages=[de,en,fr]"])
sys.exit(rc)
'''


class Kit:
    """The runner script and the uninterrupted reference runs every kill is compared with."""

    def __init__(self, root: Path):
        self.root = root
        self.script = root / "runner.py"
        self.script.write_text(f"REPO = {str(REPO)!r}\n" + RUNNER)

    def run(self, *args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, str(self.script), *args], cwd=REPO, env=ENV, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, f"{args}: {done.stdout[-1500:]}\n{done.stderr[-3000:]}"
        return done

    def kill_at(self, hook: str, sig: int, *args: str) -> int:
        """Starts the command with ``hook`` armed, sends ``sig`` once the hook is reached; returns the exit code."""
        marker = self.root / f"reached-{hook.replace(':', '-')}-{int(sig)}"
        log = self.root / f"{marker.name}.log"
        with open(log, "w") as out:
            proc = subprocess.Popen([sys.executable, str(self.script), *args], cwd=REPO,
                                    env={**ENV, "XKILL": hook, "XKILL_MARKER": str(marker)}, stdout=out, stderr=out)
        deadline = time.time() + 240
        while not marker.exists():
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.fail(f"{hook}: never reached (exit {proc.wait()}):\n{log.read_text()[-3000:]}")
            time.sleep(0.05)
        proc.send_signal(sig)
        return proc.wait(timeout=60)


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> Kit:
    kit = Kit(tmp_path_factory.mktemp("kill"))
    r = kit.root
    kit.run("p1", f"{r}/p1")
    with ThreadPoolExecutor(2) as pool:  # the two references side by side (one thread each)
        jobs = [pool.submit(kit.run, "p2", f"{r}/p2-straight", f"{r}/p1"),
                pool.submit(kit.run, "p3", f"{r}/p3", f"{r}/p1")]
        for job in jobs:
            job.result()
    kit.run("eval", f"{r}/res-straight", f"{r}/p3")
    return kit


def _assert_unfinished(folder: Path) -> None:
    assert not (folder / io.DONE).exists()
    with pytest.raises(io.RunFolderError, match="unfinished"):  # no later phase would build on it
        provenance.check_input(folder, ("phase2",), "phase 3")


def _assert_same_as_straight(kit: Kit, folder: Path) -> dict:
    straight = kit.root / "p2-straight"
    assert (folder / io.DONE).is_file() and not (folder / io.LOCK).exists()
    assert not any(p.name.startswith("checkpoints") or p.name.startswith("final.") for p in folder.iterdir())
    m_straight = json.loads((straight / "metrics.json").read_text())
    m = json.loads((folder / "metrics.json").read_text())
    assert m["dev"] == m_straight["dev"] and m["global_step"] == m_straight["global_step"] == 8
    assert m["best_step"] == m_straight["best_step"]
    for name in ("model.safetensors", "heads.safetensors"):
        a, b = load_file(str(straight / "final" / name)), load_file(str(folder / "final" / name))
        assert a.keys() == b.keys()
        for key in a:
            assert torch.allclose(a[key], b[key], atol=1e-6), (name, key)
    return m


@pytest.mark.parametrize("hook, sig, resumes_from", [
    ("train_step:6", signal.SIGTERM, "checkpoint-4"),     # training, after checkpoints 2 and 4
    ("before_rng:6", signal.SIGKILL, "checkpoint-4"),     # checkpoint-6 lacks rng_state.pth and trainer_state.json
    ("state_half:6", signal.SIGKILL, "checkpoint-4"),     # checkpoint-6's trainer_state.json is half there
    ("state_half:6", signal.SIGTERM, "checkpoint-4"),
    ("final_heads", signal.SIGKILL, "checkpoint-8"),      # final.tmp/ half written
])
def test_killed_phase2_resumes_and_equals_an_uninterrupted_run(kit, hook, sig, resumes_from):
    out = kit.root / f"p2-{hook.replace(':', '-')}-{int(sig)}"
    code = kit.kill_at(hook, sig, "p2", str(out), f"{kit.root}/p1")
    _assert_unfinished(out)
    assert not (out / "final").exists() and not (out / "metrics.json").exists()
    if sig == signal.SIGTERM:
        # SIGTERM ends the run cleanly: exit 128+15 and the lock released (any host may resume the run).
        assert code == 128 + signal.SIGTERM and not (out / io.LOCK).exists()
    else:
        assert code == -signal.SIGKILL and (out / io.LOCK).exists()  # left behind; a dead pid's lock is taken over
    chosen = last_checkpoint(out / "checkpoints")
    assert chosen is not None and chosen.endswith(resumes_from)
    rerun = kit.run("p2", str(out), f"{kit.root}/p1")
    assert f"resuming from {out / 'checkpoints' / resumes_from}" in rerun.stdout
    _assert_same_as_straight(kit, out)


@pytest.mark.parametrize("hook", ["rm_checkpoints", "before_done"])
def test_killed_after_final_finishes_without_retraining(kit, hook):
    out = kit.root / f"p2-{hook}"
    assert kit.kill_at(hook, signal.SIGKILL, "p2", str(out), f"{kit.root}/p1") == -signal.SIGKILL
    _assert_unfinished(out)
    assert (out / "final").is_dir() and (out / "metrics.json").is_file()
    rerun = kit.run("p2", str(out), f"{kit.root}/p1")
    assert "resuming from" not in rerun.stdout and "not trained again" in rerun.stdout
    _assert_same_as_straight(kit, out)


@pytest.mark.parametrize("hook, sig", [("eval_lang:2", signal.SIGKILL), ("eval_lang:3", signal.SIGTERM),
                                       ("result_rename:xnli.json", signal.SIGKILL)])
def test_killed_evaluation_writes_no_result_and_reruns_to_the_same_scores(kit, hook, sig):
    res = kit.root / f"res-{hook.split(':')[0]}-{int(sig)}"
    assert kit.kill_at(hook, sig, "eval", str(res), f"{kit.root}/p3") == -sig
    assert not (res / "xnli.json").exists()
    readable, broken = find_results(res) if res.exists() else ([], [])
    assert readable == [] and broken == []  # a temp file left by the kill is neither a result nor a broken one
    kit.run("eval", str(res), f"{kit.root}/p3")
    a, b = read_result(kit.root / "res-straight" / "xnli.json"), read_result(res / "xnli.json")
    assert a.languages == b.languages and a.score == b.score and not b.partial


def test_incomplete_checkpoints_are_never_resumed_from(tmp_path):
    """Each file the Trainer writes is needed: without it the resume would be silently different (the Trainer skips
    a missing optimizer or RNG state with at most a warning) or fail deep inside a library."""
    from safetensors.torch import save_file

    def make(step: int) -> Path:
        c = tmp_path / f"checkpoint-{step}"
        c.mkdir()
        save_file({"w": torch.zeros(4)}, str(c / "model.safetensors"))
        for name in ("optimizer.pt", "scheduler.pt", "rng_state.pth"):
            (c / name).write_bytes(b"x")
        (c / "trainer_state.json").write_text(json.dumps({"global_step": step}))
        return c

    assert checkpoint_problem(make(2)) is None
    for step, breakage in enumerate(["optimizer.pt", "scheduler.pt", "rng_state.pth", "trainer_state.json",
                                     "model.safetensors", "state-half", "state-other-step", "weights-half"], start=3):
        c = make(step)
        if breakage == "state-half":
            (c / "trainer_state.json").write_text('{"global_step": ')
        elif breakage == "state-other-step":
            (c / "trainer_state.json").write_text(json.dumps({"global_step": 99}))
        elif breakage == "weights-half":
            blob = (c / "model.safetensors").read_bytes()
            (c / "model.safetensors").write_bytes(blob[:-3])
        else:
            (c / breakage).unlink()
        assert checkpoint_problem(c), breakage
        assert last_checkpoint(tmp_path).endswith("checkpoint-2"), breakage
    make(20)
    assert last_checkpoint(tmp_path).endswith("checkpoint-20")
