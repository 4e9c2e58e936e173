"""Run folders and their provenance: which phase wrote a folder, from which parent, with which recipe.

Each run folder holds ``run.json`` (phase, parent folder, version, start time), ``recipe.yaml`` (the resolved
recipe), the phase's outputs and, last, ``DONE``. Following ``run.json`` parents gives the chain of recipes back to
phase 1, which every result file carries.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from xstilts import __version__
from xstilts.io import (
    DONE,
    RECIPE,
    RunFolderError,
    atomic_write_json,
    atomic_write_text,
    is_finished,
    is_main_process,
    read_json,
)
from xstilts.recipe import to_yaml

RUN_JSON = "run.json"
PHASES = ("phase1", "phase2", "phase3")


def write_run_header(folder: Path, phase: str, recipe: Any, parent: Path | None) -> None:
    """Writes recipe.yaml and run.json at the start of a run (so even an interrupted run is traceable)."""
    if not is_main_process():
        return
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / RECIPE, f"# xstilts {phase} recipe (resolved)\n" + to_yaml(recipe))
    atomic_write_json(folder / RUN_JSON, {
        "phase": phase, "parent": str(parent.resolve()) if parent else None, "xstilts_version": __version__,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
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
                                 "metrics": None, "stats": None}
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
