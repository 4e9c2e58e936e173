"""Multi-process work outside the Trainer: phase 1 and evaluation under ``torchrun`` / ``accelerate launch``.

Training (phases 2 and 3) is distributed by HF Trainer/accelerate. The other two scripts must not merely survive
being launched on N processes, they should use them: evaluation splits its languages over the ranks and rank 0
gathers the metrics (and each language's reliability figures) into the one result file; phase 1 is a single write,
done by rank 0 while the others wait, so that a ``torchrun phase1 ... && torchrun phase2 ...`` chain never starts
phase 2 before the folder is finished.

The process group for this is gloo on every machine: it only carries small Python objects (metrics, and a thousand
bootstrap replicates per language) and barriers, never tensors, so NCCL buys nothing here.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import torch

T = TypeVar("T")


def world() -> tuple[int, int]:
    """(rank, world size) from the launcher's environment; (0, 1) for a plain ``python`` run."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def device() -> torch.device:
    """This process's device: its own GPU (``LOCAL_RANK``) when there is one, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count())
    return torch.device("cpu")


def shard(items: Sequence[T], rank: int, size: int) -> list[T]:
    """The items rank ``rank`` of ``size`` works on: round robin, so similar-sized languages spread evenly and every
    item goes to exactly one rank."""
    if not 0 <= rank < size:
        raise ValueError(f"rank {rank} is outside a world of size {size}")
    return list(items[rank::size])


def merge_in_order(parts: Sequence[dict[str, Any]], order: Sequence[str]) -> dict[str, Any]:
    """The per-rank dicts as one dict, keys in ``order`` (the single-process order; a key no rank produced is
    left out). A key produced twice means the sharding is broken: refused rather than silently overwritten."""
    merged: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if key in merged:
                raise ValueError(f"{key!r} was produced by two ranks")
            merged[key] = value
    return {key: merged[key] for key in order if key in merged}


@contextlib.contextmanager
def process_group() -> Iterator[tuple[int, int]]:
    """Joins the launcher's process group for the duration of a script body; yields (rank, world size).

    A single process needs no group. Under a launcher, a gloo group is created (or reused when the script runs
    inside one already) and torn down on exit.
    """
    rank, size = world()
    if size == 1:
        yield 0, 1
        return
    import torch.distributed as dist

    created = not dist.is_initialized()
    if created:
        dist.init_process_group(backend="gloo")
    try:
        yield dist.get_rank(), dist.get_world_size()
    finally:
        if created:
            dist.destroy_process_group()


def gather(obj: Any) -> list[Any]:
    """Every rank's ``obj``, in rank order (a one-element list for a single process)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def barrier() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.barrier()
