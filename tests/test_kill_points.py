"""Real interruptions at chosen points: a phase or an evaluation is stopped by SIGTERM or SIGKILL, then re-run.

Each killed process is a subprocess of a tiny phase 2 (or phase 1, or evaluation) whose code is patched at one point
to announce that it got there (a marker file) and wait; the test then sends the signal. Points: during training after a
checkpoint, while a checkpoint is written (before its last files; with ``trainer_state.json`` cut in half), while
``final/`` is written, while the checkpoints are removed after ``final/`` and ``metrics.json`` are in place, before
``DONE``, in phase 1 after the encoder is saved, and during an evaluation (between languages; with the result file
written but not yet renamed into place).

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
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from xstilts import provenance, runfiles
from xstilts.results import find_results, read_result
from xstilts.checkpoints import checkpoint_problem, last_checkpoint

REPO = Path(__file__).resolve().parents[1]
# PYTHONHASHSEED: FakeHub seeds its datasets with hash(), so every process must hash alike to see the same data.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0", "MKL_NUM_THREADS": "1",
       "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
       "TRANSFORMERS_OFFLINE": "1"}

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
    import xstilts.runfiles as IO
    original = IO.mark_finished
    def mark_finished(*a, **k):
        reached()
        return original(*a, **k)
    IO.mark_finished = mark_finished
elif kind == "phase1_saved":  # phase 1: the encoder is saved, its stats and DONE are not
    original = E.save_encoder
    def save_encoder(*a, **k):
        original(*a, **k)
        reached()
    E.save_encoder = save_encoder
elif kind == "eval_lang":  # evaluation: some languages scored, the result not written
    import xstilts.tasktypes.base as EV  # where the per-language evaluator calls it
    original, calls = EV.predict_logits, [0]
    def predict_logits(*a, **k):  # once per language
        calls[0] += 1
        if calls[0] == int(arg):
            reached()
        return original(*a, **k)
    EV.predict_logits = predict_logits
elif kind == "result_rename":  # evaluation: the result's temp file is complete, not yet renamed into place
    original = os.replace
    def replace(src, dst, *a, **k):
        if str(dst).endswith(arg):
            reached()
        return original(src, dst, *a, **k)
    os.replace = replace

import phase1_pretrained, phase2_intermediate, phase3_target, evaluate_xtreme
cmd, out, inp = sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None
if cmd in ("p2e", "p2mt"):  # final/ holds the best weights (often an early step): keep the last step's too
    import shutil
    rmtree = shutil.rmtree
    def keep_last(path, *a, **k):
        if Path(path).name == "checkpoints.removing":  # remove_checkpoints renames the folder first
            last = max(Path(path).glob("checkpoint-*"), key=lambda c: int(c.name.split("-")[-1]))
            shutil.copy(last / "model.safetensors", Path(out) / f"last-{last.name}.safetensors")
        return rmtree(path, *a, **k)
    shutil.rmtree = keep_last
TRAIN = ["train.precision=fp32", "train.batch_size=8", "train.max_length=32", "data.source=hub",
         "train.grad_accum=1", "train.save_total_limit=2", "train.eval_steps=2"]
if cmd == "p1":
    rc = phase1_pretrained.main(["recipes/phase1/tiny_multilingual.yaml", f"output={out}", "stats_languages=[en]",
                                 "tiny.vocab_size=200"])
elif cmd == "p2":  # 40 examples, batch 8: 8 steps cross an epoch boundary; checkpoints at 2, 4, 6, 8
    rc = phase2_intermediate.main(["recipes/phase2/mnli.yaml", f"input={inp}", f"output={out}",
                                   "train.max_steps=8", *TRAIN])
elif cmd == "p2e":  # the default length-grouped order over 3 epochs of 5 steps; checkpoints every 2 steps
    rc = phase2_intermediate.main(["recipes/phase2/mnli.yaml", f"input={inp}", f"output={out}", "train.epochs=3",
                                   "train.max_steps=-1", "data.max_eval_samples=16", "train.logging_steps=1", *TRAIN])
elif cmd == "p2mt":  # two tasks of 16 examples: 4 steps per epoch, one task drawn per step
    rc = phase2_intermediate.main(["recipes/phase2/mnli.yaml", f"input={inp}", f"output={out}", "tasks=[mnli,qqp]",
                                   "train.max_steps=8", "data.max_train_samples=16", "data.max_eval_samples=16",
                                   "train.logging_steps=1", *TRAIN])
elif cmd == "p3":
    rc = phase3_target.main(["recipes/phase3/xnli.yaml", f"input={inp}", f"output={out}", "train.max_steps=2",
                             *TRAIN])
else:
    rc = evaluate_xtreme.main([f"input={inp}", f"output={out}", "data.source=hub", "data.max_eval_samples=8",
                               "languages=[de,en,fr]"])
sys.exit(rc)
'''


P2_KILLS = [  # (hook, signal, the checkpoint the re-run must resume from)
    ("train_step:6", signal.SIGTERM, "checkpoint-4"),     # training, after checkpoints 2 and 4
    ("before_rng:6", signal.SIGTERM, "checkpoint-4"),     # checkpoint-6 lacks rng_state.pth and trainer_state.json
    ("state_half:6", signal.SIGKILL, "checkpoint-4"),     # checkpoint-6's trainer_state.json is half there
    ("final_heads", signal.SIGKILL, "checkpoint-8"),      # final.tmp/ half written
]
P2_LATE_KILLS = [("rm_checkpoints", signal.SIGKILL), ("before_done", signal.SIGTERM)]  # final/, metrics.json there
EVAL_KILLS = [("eval_lang:2", signal.SIGKILL), ("eval_lang:3", signal.SIGTERM),
              ("result_rename:xnli.json", signal.SIGKILL)]


def _exit_code(sig: int) -> int:
    """SIGTERM reaches the lock's handler (exit 128+15: phases and evaluations hold one); SIGKILL ends the process."""
    return 128 + sig if sig == signal.SIGTERM else -sig


class Kit:
    """The runner script, the uninterrupted reference runs, and every kill-then-rerun scenario.

    The scenarios are subprocesses started two at a time in the background (the module would take twice as long one
    by one); each records what the killed folder looked like before its re-run, which the tests then check.
    """

    def __init__(self, root: Path):
        self.root = root
        self.script = root / "runner.py"
        self.script.write_text(f"REPO = {str(REPO)!r}\n" + RUNNER)
        self.pool = ThreadPoolExecutor(2)
        self.jobs: dict[str, Any] = {}

    def run(self, *args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, str(self.script), *args], cwd=REPO, env=ENV, capture_output=True,
                              text=True, timeout=300, check=False)
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

    def submit(self, key: str, fn: Any, *args: Any) -> None:
        self.jobs[key] = self.pool.submit(fn, *args)

    def result(self, key: str) -> Any:
        return self.jobs[key].result(timeout=600)

    def kill_and_rerun(self, hook: str, sig: int, cmd: str, out: Path, inp: str | None, after: str | None) -> dict:
        """Kills ``cmd`` at ``hook``, notes the state the kill left, re-runs the same command; returns both."""
        if after:
            self.result(after)  # the input folder this command needs
        args = [cmd, str(out)] + ([inp] if inp else [])
        code = self.kill_at(hook, sig, *args)
        seen = {"code": code, "done": (out / runfiles.DONE).exists(), "lock": (out / runfiles.LOCK).exists(),
                "final": (out / "final").exists(), "metrics": (out / "metrics.json").exists(),
                "model": (out / "model.safetensors").is_file(), "result": (out / "xnli.json").exists(),
                "chosen": last_checkpoint(out / "checkpoints"),
                "found": [len(x) for x in find_results(out)] if out.is_dir() else [0, 0]}
        try:
            provenance.check_input(out, ("phase1", "phase2"), "the next phase")
            seen["refused"] = None
        except runfiles.RunFolderError as exc:
            seen["refused"] = str(exc)
        seen["rerun"] = self.run(*args).stdout
        return seen


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Kit:
    """The Kit with its phase-1 encoder; each fixture below submits its own scenarios (run with -k alone, a group
    costs only its own runs)."""
    kit = Kit(tmp_path_factory.mktemp("kill"))
    kit.run("p1", f"{kit.root}/p1")
    yield kit
    for job in kit.jobs.values():
        job.cancel()
    kit.pool.shutdown(wait=True)


@pytest.fixture(scope="module")
def kit(base) -> Kit:
    kit = base
    r = kit.root
    kit.submit("p2-straight", kit.run, "p2", f"{r}/p2-straight", f"{r}/p1")
    kit.submit("p3", kit.run, "p3", f"{r}/p3", f"{r}/p1")
    kit.submit("res-straight", lambda: (kit.result("p3"), kit.run("eval", f"{r}/res-straight", f"{r}/p3")))
    for hook, sig in [(h, s) for h, s, _ in P2_KILLS] + P2_LATE_KILLS:
        kit.submit(f"p2 {hook} {sig}", kit.kill_and_rerun, hook, sig, "p2", r / f"p2-{hook}-{int(sig)}", f"{r}/p1",
                   None)
    kit.submit("p1 kill", kit.kill_and_rerun, "phase1_saved", signal.SIGTERM, "p1", r / "p1-killed", None, None)
    for hook, sig in EVAL_KILLS:
        kit.submit(f"eval {hook} {sig}", kit.kill_and_rerun, hook, sig, "eval",
                   r / f"res-{hook.split(':')[0]}-{int(sig)}", f"{r}/p3", "p3")
    return kit


# Kills in a later epoch under the default settings (length-grouped batches; several tasks): the resumed process
# starts mid-epoch, where the Trainer skips the batches already trained on before it restores the RNG state, so
# the epoch's order must not depend on the RNG (it did: the second and later epochs trained on other batches).
LATER_KILLS = [  # (command, hook, the checkpoint resumed from: mid-way through the second epoch)
    ("p2e", "train_step:9", "checkpoint-8"),   # 5 steps an epoch: steps 6-10 are the second
    ("p2mt", "train_step:7", "checkpoint-6"),  # 4 steps an epoch: steps 5-8 are the second
]


@pytest.fixture(scope="module")
def later_kit(base) -> Kit:
    kit, r = base, base.root
    for cmd, hook, _ in LATER_KILLS:
        kit.submit(f"{cmd}-straight", kit.run, cmd, f"{r}/{cmd}-straight", f"{r}/p1")
        kit.submit(f"{cmd} {hook}", kit.kill_and_rerun, hook, signal.SIGTERM, cmd, r / f"{cmd}-killed", f"{r}/p1",
                   None)
    return kit


def _assert_same_as_straight(kit: Kit, folder: Path, straight: str = "p2-straight", steps: int = 8) -> None:
    kit.result(straight)
    straight = kit.root / straight
    assert (folder / runfiles.DONE).is_file() and not (folder / runfiles.LOCK).exists()
    assert not any(p.name.startswith("checkpoints") or p.name.startswith("final.") for p in folder.iterdir())
    m_straight = json.loads((straight / "metrics.json").read_text())
    m = json.loads((folder / "metrics.json").read_text())
    assert m["dev"] == m_straight["dev"] and m["global_step"] == m_straight["global_step"] == steps
    assert m["best_step"] == m_straight["best_step"]
    for name in ("model.safetensors", "heads.safetensors"):
        a, b = load_file(str(straight / "final" / name)), load_file(str(folder / "final" / name))
        assert a.keys() == b.keys()
        for key in a:
            assert torch.allclose(a[key], b[key], atol=1e-6), (name, key)


def _assert_left_unfinished(seen: dict, sig: int) -> None:
    assert seen["code"] == _exit_code(sig)
    assert not seen["done"] and "unfinished" in seen["refused"]  # no later phase would build on it
    # SIGTERM ends a phase cleanly and releases the lock (any host may resume); after SIGKILL the lock of the dead pid
    # stays and the re-run takes it over.
    assert seen["lock"] == (sig == signal.SIGKILL)


@pytest.mark.parametrize("hook, sig, resumes_from", P2_KILLS)
def test_killed_phase2_resumes_and_equals_an_uninterrupted_run(kit, hook, sig, resumes_from):
    out = kit.root / f"p2-{hook}-{int(sig)}"
    seen = kit.result(f"p2 {hook} {sig}")
    _assert_left_unfinished(seen, sig)
    assert not seen["final"] and not seen["metrics"]
    assert seen["chosen"] is not None and seen["chosen"].endswith(resumes_from)
    assert f"resuming from {out / 'checkpoints' / resumes_from}" in seen["rerun"]
    _assert_same_as_straight(kit, out)


@pytest.mark.parametrize("cmd, hook, resumes_from", LATER_KILLS)
def test_killed_in_a_later_epoch_with_default_settings_equals_an_uninterrupted_run(later_kit, cmd, hook,
                                                                                   resumes_from):
    out = later_kit.root / f"{cmd}-killed"
    seen = later_kit.result(f"{cmd} {hook}")
    _assert_left_unfinished(seen, signal.SIGTERM)
    assert seen["chosen"] is not None and seen["chosen"].endswith(resumes_from)
    assert f"resuming from {out / 'checkpoints' / resumes_from}" in seen["rerun"]
    steps = 15 if cmd == "p2e" else 8
    _assert_same_as_straight(later_kit, out, f"{cmd}-straight", steps)
    # The best weights (final/) may come from before the kill: the last step's weights and every step's loss and
    # gradient norm (logged each step) show that the resumed steps trained on the same batches.
    straight = later_kit.root / f"{cmd}-straight"
    a, b = (load_file(str(f / f"last-checkpoint-{steps}.safetensors")) for f in (straight, out))
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    logs = [[{k: v for k, v in h.items() if k in ("step", "loss", "grad_norm", "eval_score")}
             for h in json.loads((f / "metrics.json").read_text())["log_history"]] for f in (straight, out)]
    assert sum("loss" in h for h in logs[0]) == steps
    assert logs[0] == logs[1]


@pytest.mark.parametrize("hook, sig", P2_LATE_KILLS)
def test_killed_after_final_finishes_without_retraining(kit, hook, sig):
    out = kit.root / f"p2-{hook}-{int(sig)}"
    seen = kit.result(f"p2 {hook} {sig}")
    _assert_left_unfinished(seen, sig)
    assert seen["final"] and seen["metrics"]
    assert "resuming from" not in seen["rerun"] and "not trained again" in seen["rerun"]
    _assert_same_as_straight(kit, out)


def test_killed_phase1_reruns_to_the_same_encoder(kit):
    out = kit.root / "p1-killed"
    seen = kit.result("p1 kill")
    _assert_left_unfinished(seen, signal.SIGTERM)
    assert seen["model"]
    assert (out / runfiles.DONE).is_file()
    assert (out / "model.safetensors").read_bytes() == (kit.root / "p1" / "model.safetensors").read_bytes()
    # The same tokens; their ids are not compared: the tokenizers library's Unigram trainer orders tokens of (nearly)
    # equal score differently from run to run, interrupted or not.
    tokens = [{t for t, _ in json.loads((f / "tokenizer.json").read_text())["model"]["vocab"]}
              for f in (out, kit.root / "p1")]
    assert tokens[0] == tokens[1]


@pytest.mark.parametrize("hook, sig", EVAL_KILLS)
def test_killed_evaluation_writes_no_result_and_reruns_to_the_same_scores(kit, hook, sig):
    res = kit.root / f"res-{hook.split(':')[0]}-{int(sig)}"
    seen = kit.result(f"eval {hook} {sig}")
    assert seen["code"] == _exit_code(sig)  # the evaluation holds <task>.json.lock: SIGTERM releases it, exit 143
    assert not seen["result"]
    assert seen["found"] == [0, 0]  # a temp file left by the kill is neither a result nor a broken one
    kit.result("res-straight")
    a, b = read_result(kit.root / "res-straight" / "xnli.json"), read_result(res / "xnli.json")
    assert a.languages == b.languages and a.score == b.score
    assert b.partial and sorted(b.languages) == ["de", "en", "fr"]  # languages= chose 3 of 15


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
    fsdp = make(21)  # accelerate's FSDP names the optimizer state optimizer.bin
    (fsdp / "optimizer.pt").rename(fsdp / "optimizer.bin")
    assert checkpoint_problem(fsdp) is None and last_checkpoint(tmp_path).endswith("checkpoint-21")
