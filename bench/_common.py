"""Measurement helpers shared by the benchmark scripts (run as ``python bench/<script>.py``)."""
from __future__ import annotations

import os
import resource
import sys


def rss_mb() -> float:
    """Current resident set size in MB (Linux /proc; falls back to the peak elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return peak_rss_mb()


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (torch allocates outside Python's allocator)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux


def xnli_model(cfg: dict, threads: int | None = None):
    """The benchmark model: a tiny XLM-R-style encoder of the given size (``hidden_size``, ``num_layers``,
    ``num_heads``, ``intermediate_size``, ``vocab_size``, ``seed`` in ``cfg``) with a fresh XNLI head, loaded through
    a phase-1 folder exactly as phase 3 loads it. Returns (task, model, tokenizer)."""
    import tempfile
    from pathlib import Path

    import torch

    from xstilts import encoders, tasktypes
    from xstilts.config import TinyEncoderConfig
    from xstilts.modeling import MultiHeadModel, load_encoder
    from xstilts.tasks import get_task

    if threads is not None:
        torch.set_num_threads(threads)
    task = get_task("xnli")
    enc_cfg = TinyEncoderConfig(hidden_size=cfg["hidden_size"], num_layers=cfg["num_layers"],
                                num_heads=cfg["num_heads"], intermediate_size=cfg["intermediate_size"],
                                vocab_size=cfg["vocab_size"])
    mlm, tokenizer = encoders.build_tiny_encoder(enc_cfg, cfg["seed"])
    with tempfile.TemporaryDirectory() as tmp:
        encoders.save_encoder(mlm, tokenizer, Path(tmp))
        encoder = load_encoder(Path(tmp))
    torch.manual_seed(cfg["seed"])
    return task, MultiHeadModel(encoder, [tasktypes.build(task).head_spec(encoder)]), tokenizer
