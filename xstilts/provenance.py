"""Run folders and their provenance: which phase wrote a folder, from which parent, with which recipe.

Each run folder holds ``run.json`` (phase, parent folder, version, start time), ``recipe.yaml`` (the resolved
recipe), the phase's outputs and, last, ``DONE``. Following ``run.json`` parents gives the chain of recipes back to
phase 1, which every result file carries.
"""
from __future__ import annotations

import os
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from xstilts import __version__
from xstilts.io import (
    DONE,
    RECIPE,
    RUN_JSON,
    RunFolderError,
    atomic_write_json,
    atomic_write_text,
    is_finished,
    is_main_process,
    read_json,
)
from xstilts.recipe import to_yaml

PHASES = ("phase1", "phase2", "phase3")


PACKAGES = ("torch", "transformers", "datasets", "peft", "accelerate", "tokenizers", "safetensors", "numpy")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> dict[str, Any]:
    """Where a number was produced: interpreter, OS, CPU, memory, accelerator, process count and package versions.

    Recorded in every run header and result, because a timing or a score means little without the machine and the
    library versions that produced it (tokenizer and Trainer defaults change across transformers releases).
    """
    import torch

    try:
        memory_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        memory_gb = None
    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    gpus = []
    if torch.cuda.is_available():
        gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return {
        "python": platform.python_version(), "platform": platform.platform(), "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "memory_gb": memory_gb,
        "gpus": gpus, "world_size": int(os.environ.get("WORLD_SIZE", "1")), "packages": packages,
        "xstilts": __version__,
    }


def write_run_header(folder: Path, phase: str, recipe: Any, parent: Path | None) -> None:
    """Writes recipe.yaml and run.json at the start of a run (so even an interrupted run is traceable).

    A resumed run rewrites the header: ``started``/``environment`` describe the attempt that finished the run, and
    the ``wall_time_s`` that ``DONE`` records is that attempt's.
    """
    if not is_main_process():
        return
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / RECIPE, f"# xstilts {phase} recipe (resolved)\n" + to_yaml(recipe))
    atomic_write_json(folder / RUN_JSON, {
        "phase": phase, "parent": str(parent.resolve()) if parent else None, "xstilts_version": __version__,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "started_unix": time.time(), "environment": environment(),
    })


def run_phase(folder: Path) -> str | None:
    path = folder / RUN_JSON
    if not path.is_file():
        return None
    return read_json(path, "run record").get("phase")


def model_dir(run_folder: Path) -> Path:
    """Where the model of a run lives: phase 1 is the encoder folder itself; phases 2/3 keep it in ``final/``."""
    return run_folder if run_phase(run_folder) == "phase1" else run_folder / "final"


def check_input(folder: str | Path, allowed: tuple[str, ...], consumer: str) -> tuple[Path, str]:
    """Checks that ``folder`` is a finished run of an allowed phase; returns (folder, its phase).

    Raises:
        RunFolderError: absent, not an xstilts run folder, unfinished, or of a phase ``consumer`` cannot start from.
    """
    p = Path(folder)
    if not p.is_dir():
        raise RunFolderError(f"input {p} does not exist; give the output folder of {' or '.join(allowed)}")
    phase = run_phase(p)
    if phase is None:
        raise RunFolderError(f"input {p} is not an xstilts run folder (no {RUN_JSON}); to start from a pretrained "
                             f"model folder, import it first: python phase1_pretrained.py recipes/phase1/local.yaml "
                             f"model={p} output=...")
    if phase not in allowed:
        raise RunFolderError(f"input {p} is a {phase} folder; {consumer} starts from {' or '.join(allowed)} output")
    if not is_finished(p):
        raise RunFolderError(f"input {p} is an unfinished {phase} run (no {DONE} marker); re-run that phase first")
    return p, phase


def chain(folder: str | Path) -> list[dict[str, Any]]:
    """The provenance chain newest first: phase, folder, recipe, metrics (training phases), stats (phase 1)."""
    out: list[dict[str, Any]] = []
    p: Path | None = Path(folder).resolve()
    seen = set()
    while p is not None and str(p) not in seen:
        seen.add(str(p))
        run = read_json(p / RUN_JSON, "run record")
        recipe_text = (p / RECIPE).read_text(encoding="utf-8") if (p / RECIPE).is_file() else ""
        entry: dict[str, Any] = {"phase": run.get("phase"), "folder": str(p),
                                 "recipe": yaml.safe_load(recipe_text) or {},
                                 "metrics": None, "stats": None, "environment": run.get("environment"),
                                 "started": run.get("started"), "done": None}
        if (p / DONE).is_file():
            entry["done"] = read_json(p / DONE, "completion marker")  # finish time and wall_time_s of the phase
        if (p / "metrics.json").is_file():
            metrics = read_json(p / "metrics.json", "metrics")
            entry["metrics"] = {k: v for k, v in metrics.items() if k != "log_history"}
        if (p / "encoder_stats.json").is_file():
            entry["stats"] = read_json(p / "encoder_stats.json", "encoder stats")
        out.append(entry)
        parent = run.get("parent")
        p = Path(parent) if parent else None
        if p is not None and not (p / RUN_JSON).is_file():
            raise RunFolderError(f"the parent {p} of {out[-1]['folder']} is gone; provenance cannot be traced")
    return out


def run_info(chain_entries: list[dict[str, Any]], task: str) -> dict[str, Any]:
    """The run summary of the results schema (encoder, its kind, intermediate setting, target, seed, LoRA)."""
    phase1 = next((c for c in chain_entries if c["phase"] == "phase1"), None)
    stats = (phase1 or {}).get("stats") or {}
    p1 = (phase1 or {}).get("recipe") or {}
    encoder = stats.get("name") or p1.get("name") or p1.get("model") or "unknown"
    inter = [t for c in reversed(chain_entries) if c["phase"] == "phase2" for t in c["recipe"].get("tasks", [])]
    n_p2 = sum(1 for c in chain_entries if c["phase"] == "phase2")
    if not inter:
        intermediate = "none"
    elif len(inter) > 1 and n_p2 == 1:
        intermediate = "multi:" + "+".join(inter)
    else:
        intermediate = ">".join(inter)  # sequential intermediate phases, e.g. siqa then another
    phase3 = next((c for c in chain_entries if c["phase"] == "phase3"), None)
    seed = ((phase3 or chain_entries[0])["recipe"].get("train") or {}).get("seed")
    lora = any(c["recipe"].get("lora") for c in chain_entries)
    return {"encoder": encoder, "encoder_kind": stats.get("kind") or p1.get("kind") or "unknown",
            "intermediate": intermediate, "target": (phase3 or {}).get("recipe", {}).get("task", task),
            "seed": seed, "lora": bool(lora)}
