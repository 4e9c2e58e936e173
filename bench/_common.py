"""Measurement helpers shared by the benchmark scripts (run as ``python bench/<script>.py``)."""
from __future__ import annotations

import os
import resource
import sys
from pathlib import Path


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


_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


def parse_args(argv: list[str], defaults: dict) -> dict:
    """``key=value`` arguments over ``defaults`` (each value read as its default's type; a None default takes a
    string; booleans as true/false), plus ``force=true`` to replace an existing ``out=`` file. A malformed or unknown
    argument exits with its name and the known keys."""
    known = {**defaults, "force": False}
    cfg = dict(known)
    for arg in argv:
        key, sep, value = arg.partition("=")
        if not sep or key not in known:
            raise SystemExit(f"unknown or malformed argument {arg!r}; use key=value with keys {sorted(known)}")
        kind = type(known[key])
        if kind is bool:
            if value.lower() not in _TRUE + _FALSE:
                raise SystemExit(f"{key}={value}: give true or false")
            cfg[key] = value.lower() in _TRUE
        elif known[key] is None or kind is str:
            cfg[key] = value
        else:
            try:
                cfg[key] = kind(value)
            except ValueError:
                raise SystemExit(f"{key}={value}: not {'a whole number' if kind is int else 'a number'}") from None
    return cfg


def out_file(cfg: dict, repo: Path) -> Path:
    """The result file ``out=`` names (relative to the repository), checked before any work: an existing file is a
    measurement, refused unless ``force=true`` says to replace it; exits 2 naming the file and the fix."""
    from xstilts.runfiles import RunFolderError, check_new_file

    out = Path(repo) / cfg["out"]
    try:
        return check_new_file(out, cfg["force"], "out=", "pass force=true")
    except RunFolderError as exc:
        print(f"{Path(sys.argv[0]).name}: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def write_json(path: Path, data: object, force: bool = False) -> None:
    """Writes ``data`` to ``path`` whole or not at all (a temporary file beside it, then moved into place). Without
    ``force`` the move never replaces a file that appeared since ``out_file`` checked (a second run of the same
    benchmark): the measurement is then kept beside it and named, exit 2."""
    import json

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if force:
        os.replace(tmp, path)
    else:
        try:
            os.link(tmp, path)  # fails if the file exists: never replaces one
            tmp.unlink()
        except FileExistsError:
            print(f"{Path(sys.argv[0]).name}: error: {path} appeared while this ran (another run?); this run's "
                  f"measurement is kept in {tmp}", file=sys.stderr)
            raise SystemExit(2) from None
        except OSError:  # a file system without hard links: the same check, then the move
            if path.exists():
                print(f"{Path(sys.argv[0]).name}: error: {path} appeared while this ran (another run?); this "
                      f"run's measurement is kept in {tmp}", file=sys.stderr)
                raise SystemExit(2) from None
            os.replace(tmp, path)
    print(f"wrote {path}")
