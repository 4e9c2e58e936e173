"""The callbacks a phase-2/3 Trainer runs besides its own: the epoch of its samplers (``EpochSetter``), the loss
guard that stops a failing run (``LossGuard``), and the progress output (``ProgressBar``, ``StepLog``) that replaces
the Trainer's printed log dicts; with the functions that put them, and the trackers' log folders, in place.
"""
from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch
from transformers import Trainer, TrainerCallback, TrainerState
from transformers.trainer_callback import PrinterCallback, ProgressCallback

from xstilts.checkpoints import last_finite_checkpoint, remove_bad_checkpoints
from xstilts.errors import TrainingFailed
from xstilts.log import duration, log, step_line


class EpochSetter(TrainerCallback):
    """Sets the epoch of the trainer's own samplers before each epoch: ``samplers`` is the list
    ``XTrainer.epoch_samplers`` itself, which the Trainer fills as it builds its samplers.

    The Trainer's ``set_epoch`` calls reach a sampler only through some of accelerate's wrappers: resuming mid-epoch
    under torchrun wraps it as ``SkipBatchSampler(BatchSamplerShard(...))``, which neither forwards. The epoch is
    computed as the Trainer computes the one it resumes in: completed optimizer steps // steps per epoch.
    """

    def __init__(self, samplers: list[Any]):
        self.samplers = samplers

    def on_epoch_begin(self, args, state, control, train_dataloader=None, **kwargs):
        if train_dataloader is None or not self.samplers:
            return
        batches = len(train_dataloader)
        per_epoch = max(batches // args.gradient_accumulation_steps
                        + int(batches % args.gradient_accumulation_steps > 0), 1)
        for sampler in self.samplers:
            sampler.set_epoch(state.global_step // per_epoch)


class LossGuard(TrainerCallback):
    """Stops a run whose loss is NaN/inf or explodes, naming the optimizer step where it happened.

    Every step's loss is checked, without making the host wait for the GPU each step: ``XTrainer.compute_loss`` hands
    each micro-batch loss to ``record``; at the end of each optimizer step ``update`` folds that step's mean loss into
    a few device scalars (the first bad step and its loss) with device operations only. Their value is read

    - at every step that logs, evaluates, saves a checkpoint or ends training (``must_read``), before the Trainer
      saves: no checkpoint of a failed step is written, and every checkpoint was checked up to its own step, so no
      bad checkpoint is ever named the last good one;
    - on a GPU also in between, from a copy to pinned host memory started one step earlier, once its copy has
      finished (``event.query()``, which never waits): a failure is then seen a step or two after it happened.

    Older checkpoints with non-finite weights (a step whose finite loss gave non-finite gradients) are removed and
    never named as the last good checkpoint.
    """

    def __init__(self, tasks: list[str], checkpoint_dir: Path, explode_factor: float = 1e4):
        self.tasks = tasks
        self.checkpoint_dir = checkpoint_dir
        self.explode_factor = explode_factor
        self.step_sum: torch.Tensor | None = None  # sum of this optimizer step's micro-batch losses (device)
        self.micro = 0
        self.first: torch.Tensor | None = None  # the first step's mean loss (device)
        self.bad_step: torch.Tensor | None = None  # the first failing step, -1 while none (device, int64)
        self.bad_loss: torch.Tensor | None = None  # that step's loss (device)
        self.peek: tuple[torch.Tensor, Any] | None = None  # (pinned host copy of bad_step, its CUDA event)

    def record(self, loss: torch.Tensor) -> None:
        """Notes one micro-batch loss of the current optimizer step (device operations only, no host read)."""
        loss = loss.detach().float().mean()  # a vector of per-GPU losses under nn.DataParallel
        self.step_sum = loss if self.step_sum is None else self.step_sum + loss
        self.micro += 1

    def update(self, step: int) -> None:
        """Folds the mean loss of optimizer step ``step`` into the device flags (no host read)."""
        if self.step_sum is None:
            return
        loss, self.step_sum, self.micro = self.step_sum / self.micro, None, 0
        if self.first is None:
            self.first = loss
            self.bad_step = torch.full((), -1, dtype=torch.int64, device=loss.device)
            self.bad_loss = torch.zeros((), dtype=loss.dtype, device=loss.device)
        limit = self.explode_factor * torch.clamp(self.first, min=1e-3)
        new = (~torch.isfinite(loss) | (loss > limit)) & (self.bad_step < 0)
        self.bad_step = torch.where(new, step, self.bad_step)
        self.bad_loss = torch.where(new, loss, self.bad_loss)

    def on_step_end(self, args, state, control, **kwargs):
        self.update(state.global_step)
        if self.must_read(state, control):
            self.check_now()
        elif self.bad_step is not None and self.bad_step.is_cuda:
            self.check_ready()

    @staticmethod
    def must_read(state: TrainerState, control: Any) -> bool:
        """Whether this step's flags are read now: it logs, evaluates, saves or ends training (the Trainer's flow
        callback has set ``control`` for this step before this callback runs)."""
        return bool(control.should_log or control.should_evaluate or control.should_save
                    or control.should_training_stop or (state.max_steps > 0 and state.global_step >= state.max_steps))

    def check_ready(self) -> None:
        """On a GPU: reads the flag copied to the host one step ago if the copy has finished (never waits), then
        starts the copy of the current flag."""
        if self.peek is not None:
            host, event = self.peek
            if event.query() and int(host) >= 0:  # host memory: no device synchronisation
                self.check_now()
        host = self.bad_step.to("cpu", non_blocking=True)  # into pinned memory; valid once the event has passed
        event = torch.cuda.Event()
        event.record()
        self.peek = (host, event)

    def check_now(self) -> None:
        """Reads the flags (waits for the device) and raises TrainingFailed naming the first failing step."""
        self.peek = None
        if self.bad_step is None:
            return
        step = int(self.bad_step)
        if step < 0:
            return
        loss, first = float(self.bad_loss), float(self.first)
        if not math.isfinite(loss):
            self.fail(f"loss is {loss}", step)
        self.fail(f"loss is {loss}", step, f"It exploded ({self.explode_factor:g} times its first value "
                                           f"{first:.4g}). ")

    def on_train_end(self, args, state, control, **kwargs):
        self.check_now()  # whatever ended training, its last steps were checked

    def on_log(self, args, state, control, logs=None, **kwargs):
        # The logged gradient norm is the one signal of a step that on_step_end does not see (a finite loss whose
        # gradients are not finite); the logged loss was checked step by step already.
        grad_norm = (logs or {}).get("grad_norm")
        if args.fp16:
            # fp16 loss scaling: an overflowing step logs an infinite grad_norm, is skipped and lowers the scale.
            grad_norm = None
        if grad_norm is not None and not math.isfinite(grad_norm):
            self.fail(f"the gradient norm is {grad_norm}", state.global_step)

    def check(self, loss: float | None, step: int) -> None:
        """Checks the host value ``loss`` of optimizer step ``step`` at once (raises TrainingFailed): the same rules
        as ``update`` followed by ``check_now``."""
        if loss is None:
            return
        self.record(torch.tensor(loss))
        self.update(step)
        self.check_now()

    def fail(self, what: str, step: int, why: str = "") -> None:
        """Removes the checkpoints the failure spoiled and raises TrainingFailed naming the last good one."""
        removed = remove_bad_checkpoints(self.checkpoint_dir, step)
        good = last_finite_checkpoint(self.checkpoint_dir) or "none (no checkpoint with finite weights)"
        note = f" (removed {len(removed)} checkpoint(s) of step {step} or later or with non-finite weights)" \
            if removed else ""
        raise TrainingFailed(f"{what} at step {step} while training {', '.join(self.tasks)}; last good checkpoint: "
                             f"{good}{note}. {why}Lower train.lr or check the data.")


def progress_bar_wanted() -> bool:
    """Whether training shows the Trainer's tqdm bar: only on a terminal (stdout and stderr), and not where tqdm is
    switched off (``TQDM_DISABLE``). Redirected to a file (CI, a SLURM log) a bar is a stream of carriage-return
    redraws; there ``StepLog`` writes one line per logging step instead."""
    if os.environ.get("TQDM_DISABLE", "").lower() in ("1", "true", "yes"):
        return False
    return sys.stdout.isatty() and sys.stderr.isatty()


class ProgressBar(ProgressCallback):
    """The Trainer's tqdm bar (steps, rate, ETA) without its printed log dicts: ``StepLog`` writes the records."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        pass


class StepLog(TrainerCallback):
    """One formatted record per logging step (``step 120/800 loss 0.873 lr 1.2e-5 dev 71.4 (3m05s, ETA 17m)``), in
    place of the Trainer's printed dicts; through the bar's ``write`` when there is a bar, so the bar stays whole.

    A step that logs the loss and evaluates gives one record: the loss is held until the dev score of the same step
    arrives. ``dev`` is the mean English dev selection score (``eval_score``); the ETA assumes the steps to come are
    as fast as the ones since this attempt started (a resumed run counts from its checkpoint).
    """

    def __init__(self, bar: ProgressBar | None = None):
        self.bar = bar
        self.pending: dict[str, Any] | None = None
        self.started: float | None = None
        self.first_step = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self.started, self.first_step = time.time(), state.global_step

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        if "loss" in logs:
            self.flush(state)
            self.pending = dict(logs)
            if not control.should_evaluate:
                self.flush(state)
        elif "eval_score" in logs:
            self.flush(state, logs["eval_score"], always=True)
        elif "train_runtime" in logs:
            self.flush(state)
            loss = logs.get("train_loss")
            self.emit(state, f"training done: step {state.global_step}/{state.max_steps} in "
                             f"{duration(logs['train_runtime'])}" + (f", mean loss {loss:.3f}" if loss is not None
                                                                    else ""))

    def on_train_end(self, args, state, control, **kwargs):
        self.flush(state)

    def flush(self, state: TrainerState, dev: float | None = None, always: bool = False) -> None:
        """Writes the held loss record (with ``dev`` when given); ``always``: a record even without one."""
        logs, self.pending = self.pending, None
        if logs is None and not always:
            return
        logs = logs or {}
        seconds = time.time() - self.started if self.started is not None else None
        done = state.global_step - self.first_step
        eta = seconds / done * (state.max_steps - state.global_step) if seconds is not None and done > 0 else None
        self.emit(state, step_line(state.global_step, state.max_steps, logs.get("loss"), logs.get("learning_rate"),
                                   dev, seconds, eta))

    def emit(self, state: TrainerState, line: str) -> None:
        bar = self.bar.training_bar if self.bar is not None else None
        if bar is not None:
            if state.is_world_process_zero:
                bar.write(f"[xstilts] {line}")
        else:
            log(line)


def use_progress_output(trainer: Trainer, bar: bool) -> None:
    """Replaces the Trainer's printing callbacks (raw log dicts) with ``StepLog``, on ``ProgressBar`` when ``bar``."""
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    progress = ProgressBar() if bar else None
    if progress is not None:
        trainer.add_callback(progress)
    trainer.add_callback(StepLog(progress))


def place_tracker_logs(trainer: Trainer, folder: Path) -> None:
    """Makes the trackers of ``train.report_to`` write into the run folder (``<output>/logs``), beside the run they
    describe, rather than into the checkpoints (deleted at the end) or the current directory. Their own environment
    settings (``TENSORBOARD_LOGGING_DIR``, ``WANDB_DIR``) win."""
    from transformers.integrations import TensorBoardCallback

    for callback in trainer.callback_handler.callbacks:
        if isinstance(callback, TensorBoardCallback) and callback.logging_dir is None:
            callback.logging_dir = str(folder / "tensorboard")
    if "wandb" in trainer.args.report_to and not os.environ.get("WANDB_DIR"):
        folder.mkdir(parents=True, exist_ok=True)
        os.environ["WANDB_DIR"] = str(folder)
