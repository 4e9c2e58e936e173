"""Multi-task sampling (jiant's samplers): one task per optimizer step, drawn from a configured distribution.

- uniform: every task equally often;
- proportional: p ~ n (training set size);
- capped: p ~ min(n, cap);
- temperature: p ~ min(n, cap) ** (1 / T) (T=1 is capped-proportional, large T tends to uniform).

All micro-batches of one optimizer step (``grad_accum`` of them) come from the drawn task, so each update is a
single-task gradient, as in jiant.

An epoch's draws are a pure function of (seed, epoch) (``set_epoch``), never of how many epochs this process has
iterated: a run resumed in its third epoch must draw that epoch's tasks and batches, not the first epoch's again.
"""
from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterator
from typing import Any

from torch.utils.data import DataLoader, Sampler

from xstilts.config import SamplerConfig, TrainConfig
from xstilts.errors import DataError
from xstilts.recipe import RecipeError


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of one epoch's data order: a pure function of (seed, epoch), so a resumed run draws exactly the order
    the uninterrupted run drew in that epoch. Hashed rather than ``seed + epoch``, which would give seed 42's second
    epoch the order of seed 43's first, coupling the runs of a seed sweep."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{epoch}".encode()).digest()[:8], "little") & (2**63 - 1)


# A task drawn with a smaller probability is never trained in any run of realistic length (a billion steps).
NEVER_DRAWN = 1e-9

# The logarithm of a task's unnormalised weight under each sampler (``sampler.kind``) before the temperature, and
# the temperature each applies (weight = exp(log / T)). Logarithms, because min(n, cap) ** (1 / T) overflows a float
# for a small legal T (T=0.01: 1000 ** 100).
SAMPLER_LOG_WEIGHTS = {
    "uniform": lambda n, cap: 0.0,
    "proportional": lambda n, cap: math.log(n),
    "capped": lambda n, cap: math.log(min(n, cap)),
    "temperature": lambda n, cap: math.log(min(n, cap)),
}


def task_probabilities(sizes: dict[str, int], cfg: SamplerConfig,
                       fixed: dict[str, float] | None = None) -> dict[str, float]:
    """The probability of drawing each task for an optimizer step.

    Args:
        sizes: training examples (features) per task, in task order.
        cfg: the sampler kind and its cap / temperature.
        fixed: tasks drawn with a set probability whatever their size (the mlm pseudo-task's ``mlm.weight``); the
            other tasks share the remaining probability as ``cfg`` says.

    Returns:
        task -> probability, in the order of ``sizes``, summing to 1.
    """
    if fixed:
        unknown = [t for t in fixed if t not in sizes]
        if unknown or sum(fixed.values()) > 1 or any(p <= 0 for p in fixed.values()):
            raise ValueError(f"fixed task probabilities {fixed} must name tasks of {list(sizes)}, be positive and "
                             "sum to at most 1")
        rest = {t: n for t, n in sizes.items() if t not in fixed}
        share = 1.0 - sum(fixed.values())
        if not rest or share <= 0:
            return {t: fixed[t] / sum(fixed.values()) for t in sizes}
        others = task_probabilities(rest, cfg)
        return {t: fixed[t] if t in fixed else share * others[t] for t in sizes}
    if not sizes:
        raise ValueError("no tasks to sample from")
    empty = [t for t, n in sizes.items() if n <= 0]
    if empty:
        # An empty task would be drawn yet yield empty batches; name it instead of failing inside the collator.
        raise DataError(f"task {empty[0]!r} has no training examples; check its data or drop it from tasks")
    cap = cfg.cap or math.inf
    logs = {t: SAMPLER_LOG_WEIGHTS[cfg.kind](n, cap) for t, n in sizes.items()}
    temperature = cfg.temperature if cfg.kind == "temperature" else 1.0
    top = max(logs.values())
    # Relative to the largest (weight 1), divided by T only then: never overflow (nor inf - inf), at most underflow.
    weights = {t: math.exp((v - top) / temperature) for t, v in logs.items()}
    total = sum(weights.values())
    never = [t for t, w in weights.items() if w / total < NEVER_DRAWN]
    if never:
        # A temperature so low that a listed task would never be trained is refused, not run as a silent drop.
        raise RecipeError([f"sampler.temperature: {cfg.temperature:g} gives {', '.join(never)} a probability below "
                           f"{NEVER_DRAWN:g} (sizes {', '.join(f'{t} {n}' for t, n in sizes.items())}): it would never "
                           "be drawn; use a larger temperature (1: proportional to size) or drop the task from "
                           "tasks"], "")
    return {t: w / total for t, w in weights.items()}


class TaskBatchSampler(Sampler[list[int]]):
    """Yields index batches over concatenated task features: ``grad_accum`` batches of one drawn task per step.

    With ``replicas`` > 1 (DDP), each micro-batch is yielded as ``replicas`` consecutive batches of the same task:
    accelerate hands batch i to rank ``i % replicas``, so every rank works on the step's task and the all-reduced
    update stays a single-task gradient.
    """

    def __init__(self, sizes: dict[str, int], probs: dict[str, float], batch_size: int, grad_accum: int,
                 steps_per_epoch: int, seed: int, replicas: int = 1):
        self.tasks = list(sizes)
        self.offsets = {}
        start = 0
        for t in self.tasks:
            self.offsets[t] = (start, sizes[t])
            start += sizes[t]
        self.probs = [probs[t] for t in self.tasks]
        self.batch_size, self.grad_accum = batch_size, grad_accum
        self.replicas = replicas
        self.steps = steps_per_epoch
        self.seed = seed
        self.epoch = 0
        self.drawn: list[str] = []  # the task of each step of the last epoch (for tests and logs)

    def __len__(self) -> int:
        return self.steps * self.grad_accum * self.replicas

    def set_epoch(self, epoch: int) -> None:
        """Called before each epoch by the Trainer, accelerate and ``callbacks.EpochSetter``."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[list[int]]:
        # The epoch comes from set_epoch: counting epochs only here restarted at 0 in a resumed process, which then
        # replayed the first epoch's draws in whatever epoch it resumed. (A full pass still moves on to the next
        # epoch, for use without a Trainer.)
        rng = random.Random(epoch_seed(self.seed, self.epoch))
        orders = {t: [] for t in self.tasks}
        self.drawn = []
        for _ in range(self.steps):
            task = rng.choices(self.tasks, weights=self.probs)[0]
            self.drawn.append(task)
            start, n = self.offsets[task]
            for _ in range(self.grad_accum * self.replicas):
                batch = []
                while len(batch) < min(self.batch_size, n):
                    if not orders[task]:
                        orders[task] = rng.sample(range(n), n)  # a fresh pass over this task's data
                    batch.append(start + orders[task].pop())
                yield batch
        self.epoch += 1


def multitask_dataloader_factory(cfg: SamplerConfig, sizes: dict[str, int], train: TrainConfig,
                                 fixed: dict[str, float] | None = None) -> Any:
    """A ``get_train_dataloader`` replacement for the Trainer that samples one task per optimizer step (``fixed``:
    see :func:`task_probabilities`)."""
    probs = task_probabilities(sizes, cfg, fixed)
    total = sum(sizes.values())

    def get_train_dataloader(trainer: Any) -> DataLoader:
        replicas = trainer.accelerator.num_processes
        steps = max(1, math.ceil(total / (train.batch_size * train.grad_accum * replicas)))
        sampler = TaskBatchSampler(sizes, probs, train.batch_size, train.grad_accum, steps, train.seed, replicas)
        trainer.task_sampler = sampler
        trainer.epoch_samplers.append(sampler)
        # Pinned batches and the Trainer's workers, as its own loader has: accelerate then copies them to the GPU
        # without the host waiting (TrainingArguments accelerator_config non_blocking).
        loader = DataLoader(trainer.train_dataset, batch_sampler=sampler, collate_fn=trainer.data_collator,
                            pin_memory=trainer.args.dataloader_pin_memory,
                            num_workers=trainer.args.dataloader_num_workers)
        return trainer.accelerator.prepare(loader)

    return get_train_dataloader
