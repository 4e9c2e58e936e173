"""Trainer checkpoints: which one a run may resume from, which ones a kill or a failed run left unusable, and
whether training had already ended at one.

A checkpoint is resumed from only when complete (``checkpoint_problem``); a failed run (``callbacks.LossGuard``) goes
back to the newest one whose weights are all finite and removes the ones its failure spoiled.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import TrainerState

from xstilts import runfiles
from xstilts.modelfolder import safetensors_problem


# What a Trainer checkpoint needs to resume exactly. The Trainer writes them in this order and trainer_state.json last
# (with a plain open/write, so a kill can leave it cut off); it skips a missing optimizer, scheduler or RNG state with
# at most a warning, so a half-deleted checkpoint would resume silently differently: all are required.
# The optimizer state is optimizer.pt, or optimizer.bin when accelerate's FSDP writes it.
CHECKPOINT_FILES = ("model.safetensors", "optimizer.*", "scheduler.pt", "rng_state*.pth", "trainer_state.json")


def checkpoint_problem(folder: Path) -> str | None:
    """Why a Trainer checkpoint folder must not be resumed from, or None when it is complete.

    Complete means: every file of ``CHECKPOINT_FILES`` is there, ``trainer_state.json`` parses and names the folder's
    own step, and ``model.safetensors`` is as long as its header says.
    """
    missing = [name for name in CHECKPOINT_FILES if not any(p.is_file() for p in folder.glob(name))]
    if missing:
        return f"missing {', '.join(missing)}"
    try:
        state = json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"trainer_state.json is cut off or corrupted ({exc})"
    step = folder.name.split("-")[-1]
    if not isinstance(state, dict) or str(state.get("global_step")) != step:
        return f"trainer_state.json is not the state of step {step}"
    return safetensors_problem(folder / "model.safetensors")


def _checkpoints(checkpoint_dir: Path) -> list[Path]:
    if not checkpoint_dir.is_dir():
        return []
    found = [p for p in checkpoint_dir.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()]
    return sorted(found, key=lambda p: int(p.name.split("-")[-1]))


def last_checkpoint(checkpoint_dir: Path) -> str | None:
    """The newest complete Trainer checkpoint (see ``checkpoint_problem``); incomplete ones are never chosen."""
    complete = [p for p in _checkpoints(checkpoint_dir) if checkpoint_problem(p) is None]
    return str(complete[-1]) if complete else None


def remove_incomplete_checkpoints(checkpoint_dir: Path, resume: str | None) -> list[str]:
    """Deletes the incomplete checkpoints newer than ``resume`` (left by a kill while one was written); returns
    log lines. The Trainer would otherwise count them in ``save_total_limit`` and write into them again."""
    if not runfiles.is_main_process():
        return []  # under torchrun rank 0 alone writes (and cleans) checkpoints
    newest = int(Path(resume).name.split("-")[-1]) if resume else -1
    notes = []
    for p in _checkpoints(checkpoint_dir):
        problem = checkpoint_problem(p)
        if problem and int(p.name.split("-")[-1]) > newest:
            shutil.rmtree(p, ignore_errors=True)
            notes.append(f"removed incomplete checkpoint {p} ({problem})")
    return notes


def ended_state(resume: str | None) -> TrainerState | None:
    """The Trainer state saved in ``resume`` when training had already ended there (its last step, or early
    stopping), else None. Assumes the same recipe as the interrupted attempt, as every resume does."""
    if not resume:
        return None
    state = TrainerState.load_from_json(str(Path(resume) / "trainer_state.json"))
    control = ((state.stateful_callbacks or {}).get("TrainerControl") or {}).get("args") or {}
    if control.get("should_training_stop") or 0 < state.max_steps <= state.global_step:
        return state
    return None


def finite_weights_problem(folder: Path) -> str | None:
    """Why the weights of a checkpoint are not usable (a non-finite value, or unreadable), or None when all finite."""
    path = folder / "model.safetensors"
    problem = safetensors_problem(path) if path.is_file() else "model.safetensors is missing"
    if problem:
        return problem
    for name, tensor in load_file(str(path)).items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            return f"{name} has non-finite values"
    return None


def last_finite_checkpoint(checkpoint_dir: Path) -> str | None:
    """The newest complete checkpoint whose weights are all finite (the one a failed run can go back to)."""
    good = [p for p in _checkpoints(checkpoint_dir) if checkpoint_problem(p) is None and not finite_weights_problem(p)]
    return str(good[-1]) if good else None


def remove_bad_checkpoints(checkpoint_dir: Path, first_bad_step: int) -> list[str]:
    """Deletes the checkpoints of ``first_bad_step`` and later, and those whose weights are not finite: a re-run
    must never resume from them, nor a report name them. Returns the removed folders."""
    if not runfiles.is_main_process():
        return []  # under torchrun rank 0 alone writes (and cleans) checkpoints
    removed = []
    for p in _checkpoints(checkpoint_dir):
        if int(p.name.split("-")[-1]) >= first_bad_step or finite_weights_problem(p):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(str(p))
    return removed
