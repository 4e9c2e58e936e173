"""Run folders and their provenance: which phase wrote a folder, from which parent, with which recipe.

Each run folder holds ``run.json`` (phase, run id, parent folder and the parent's fingerprint, version, start time),
``recipe.yaml`` (the resolved recipe), the phase's outputs and, last, ``DONE``. Following ``run.json`` parents gives
the chain of recipes back to phase 1, which every result file carries; a parent replaced since its child was trained
from it (re-run with overwrite=true, or its weights swapped) no longer matches the recorded fingerprint and is an
error, never a result that names the new parent's recipe.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import time
import typing
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from xstilts import __version__, runfiles
from xstilts.config import Phase1Recipe, Phase2Recipe, Phase3Recipe
from xstilts.recipe import RecipeError, build, to_dict, to_yaml
from xstilts.runfiles import (
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

PHASES = ("phase1", "phase2", "phase3")
RECIPE_CLASSES: dict[str, type] = {"phase1": Phase1Recipe, "phase2": Phase2Recipe, "phase3": Phase3Recipe}


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
    the ``wall_time_s`` that ``DONE`` records is that attempt's. Its ``run_id`` stays: it names the run, not the
    attempt. ``parent_fingerprint`` lets every later reader notice that the parent was replaced (``lineage``).
    """
    if not is_main_process():
        return
    folder.mkdir(parents=True, exist_ok=True)
    run_id = None
    if (folder / RUN_JSON).is_file():  # a resumed attempt (prepare_output cleared a replaced run's header)
        old = read_json(folder / RUN_JSON, "run record")
        run_id = old.get("run_id") if isinstance(old, dict) and old.get("phase") == phase else None
    atomic_write_text(folder / RECIPE, f"# xstilts {phase} recipe (resolved)\n" + to_yaml(recipe))
    atomic_write_json(folder / RUN_JSON, {
        "phase": phase, "parent": str(parent.resolve()) if parent else None, "xstilts_version": __version__,
        "run_id": run_id or uuid.uuid4().hex, "parent_fingerprint": fingerprint(parent) if parent else None,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "started_unix": time.time(), "environment": environment(),
        "cwd": str(Path.cwd().resolve()),  # what the recipe's relative paths (data.path) were relative to
    })


def read_run(folder: Path) -> dict[str, Any]:
    """A folder's run.json, checked: a mapping with a known phase, a parent folder or null, a fingerprint or null.

    Raises:
        RunFolderError: absent, not JSON, or of another shape (naming the file and the fix).
    """
    path = folder / RUN_JSON
    run = read_json(path, "run record")
    problem = None
    if not isinstance(run, dict):
        problem = f"its top level is a {type(run).__name__}, not a mapping"
    elif run.get("phase") not in PHASES:
        problem = f"phase is {run.get('phase')!r}, not one of {', '.join(PHASES)}"
    elif not isinstance(run.get("parent"), (str, type(None))):
        problem = f"parent is {run.get('parent')!r}, not a folder"
    elif not isinstance(run.get("parent_fingerprint"), (dict, type(None))):
        problem = "parent_fingerprint is not a mapping"
    if problem:
        raise RunFolderError(f"run record {path} is malformed ({problem}); re-run the phase that wrote {folder}")
    return run


def run_phase(folder: Path) -> str | None:
    if not (folder / RUN_JSON).is_file():
        return None
    return read_run(folder)["phase"]


def model_dir(run_folder: Path) -> Path:
    """Where the model of a run lives: phase 1 is the encoder folder itself; phases 2/3 keep it in ``final/``."""
    return run_folder if run_phase(run_folder) == "phase1" else run_folder / "final"


def fingerprint(folder: Path) -> dict[str, Any]:
    """What identifies a finished run cheaply: its run id, a hash of its DONE marker (finish time, dev score) and
    the size and modification time (whole seconds) of each weights file; no weights are read.

    A child records its parent's at its start; a parent re-run (or its weights replaced) since has another.
    """
    run = read_run(folder)
    done = folder / DONE
    weights = {}
    mdir = folder if run["phase"] == "phase1" else folder / "final"
    if mdir.is_dir():
        for f in sorted(mdir.rglob("*.safetensors")):
            st = f.stat()
            weights[str(f.relative_to(folder))] = [st.st_size, int(st.st_mtime)]
    return {"run_id": run.get("run_id"), "weights": weights,
            "done_sha256": hashlib.sha256(done.read_bytes()).hexdigest() if done.is_file() else None}


def _replaced(child: Path, parent: Path, recorded: dict[str, Any]) -> str | None:
    """Why ``parent`` is no longer the run ``child`` was trained from (None: it is)."""
    now = fingerprint(parent)
    what = []
    if recorded.get("run_id") != now["run_id"]:
        what.append("its run id")
    if recorded.get("done_sha256") != now["done_sha256"]:
        what.append("its DONE marker" if now["done_sha256"] else "its DONE marker is gone (a run started there)")
    if recorded.get("weights") != now["weights"]:
        what.append("its weights files (names, sizes or modification times)")
    if not what:
        return None
    return (f"the parent {parent} of {child} was replaced after {child} was trained from it ({', '.join(what)} "
            f"changed), so {child} no longer descends from what {parent} holds: re-run {child}'s phase from the new "
            f"{parent} (same command with overwrite=true), or restore the {parent} it was trained from (a copy "
            "must keep the modification times: cp -p, rsync -t)")


def lineage(folder: str | Path) -> list[tuple[Path, dict[str, Any], str | None]]:
    """The run folders from ``folder`` back to phase 1: (folder, its run.json, check of its parent link).

    The check is "verified" when the parent still is the run the folder started from, "unverified" for a run.json
    written before fingerprints were recorded, None for a folder without parent.

    Raises:
        RunFolderError: a run.json is malformed, a parent is gone, or a parent was replaced (naming both folders).
    """
    out = []
    p: Path | None = Path(folder).resolve()
    seen = set()
    while p is not None and p not in seen:
        seen.add(p)
        run = read_run(p)
        parent = Path(run["parent"]) if run.get("parent") else None
        check = None
        if parent is not None:
            if not (parent / RUN_JSON).is_file():
                raise RunFolderError(f"the parent {parent} of {p} is gone; provenance cannot be traced")
            recorded = run.get("parent_fingerprint")
            if recorded is None:
                check = "unverified"  # written before fingerprints: readable, but nothing to compare with
            else:
                problem = _replaced(p, parent, recorded)
                if problem:
                    raise RunFolderError(problem)
                check = "verified"
        out.append((p, run, check))
        p = parent
    return out


def check_input(folder: str | Path, allowed: tuple[str, ...], consumer: str) -> tuple[Path, str]:
    """Checks that ``folder`` is a finished run of an allowed phase whose chain is intact; returns (folder, phase).

    Raises:
        RunFolderError: absent, not an xstilts run folder, unfinished, of a phase ``consumer`` cannot start from, or
            one of its ancestors is gone or was replaced after its child was trained from it.
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
    lineage(p)
    return p, phase


def _read_recipe(p: Path) -> dict[str, Any]:
    try:
        text = (p / RECIPE).read_text(encoding="utf-8") if (p / RECIPE).is_file() else ""
        data = yaml.safe_load(text) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RunFolderError(f"recipe {p / RECIPE} cannot be read ({str(exc).splitlines()[0]}); re-run the phase that "
                             f"wrote {p}") from None
    if not isinstance(data, dict):
        raise RunFolderError(f"recipe {p / RECIPE} is not a mapping; re-run the phase that wrote {p}")
    return data


def shown_path(path: str | Path, root: str | Path | None = None) -> str:
    """``path`` as a result file records it: relative to ``root`` (default: the working directory, the run root the
    sweep and the Makefile run from) when it lies inside, else absolute; so results name no folder of the machine
    that wrote them."""
    p, base = Path(path).resolve(), Path(root if root is not None else Path.cwd()).resolve()
    return p.relative_to(base).as_posix() if p.is_relative_to(base) else str(p)


def chain(folder: str | Path, relative_to: str | Path | None = None) -> list[dict[str, Any]]:
    """The provenance chain newest first: phase, folder, recipe, metrics (training phases), stats (phase 1), and
    ``parent_check`` ("verified", "unverified" for run records older than parent fingerprints, None for phase 1).

    Folders are absolute, or with ``relative_to`` as ``shown_path`` writes them (what a result file records; run.json
    keeps the absolute parent its identity checks compare).

    Raises:
        RunFolderError: as ``lineage``: a parent gone or replaced, a malformed run record.
    """
    out: list[dict[str, Any]] = []
    for p, run, check in lineage(folder):
        shown = shown_path(p, relative_to) if relative_to is not None else str(p)
        entry: dict[str, Any] = {"phase": run.get("phase"), "folder": shown, "recipe": _read_recipe(p),
                                 "metrics": None, "stats": None, "environment": run.get("environment"),
                                 "started": run.get("started"), "done": None, "parent_check": check}
        if (p / DONE).is_file():
            entry["done"] = read_json(p / DONE, "completion marker")  # finish time and wall_time_s of the phase
        if (p / "metrics.json").is_file():
            metrics = read_json(p / "metrics.json", "metrics")
            entry["metrics"] = {k: v for k, v in metrics.items() if k != "log_history"}
            if isinstance(metrics, dict) and "log_history" in metrics:  # the English dev learning curve, compact
                entry["metrics"]["dev_curve"] = dev_curve(metrics["log_history"])
        if (p / "encoder_stats.json").is_file():
            entry["stats"] = read_json(p / "encoder_stats.json", "encoder stats")
        out.append(entry)
    return out


def scored_chain(folder: str | Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The chain of the run an evaluation scores, read once at its start: (chain with folders as a result records
    them, the fingerprints of every folder of the chain). ``check_scored`` compares the fingerprints again when the
    result is written, so a result never records a chain other than the one whose model it scored.

    Raises:
        RunFolderError: as ``chain``; or the run changed while its chain was being read.
    """
    folders = [p for p, _, _ in lineage(folder)]
    before = [fingerprint(p) for p in folders]
    read = chain(folder, relative_to=Path.cwd())  # no folder of this machine in the result
    check_scored(folder, before)
    return read, before


def check_scored(folder: str | Path, fingerprints: list[dict[str, Any]]) -> None:
    """Raises ``RunFolderError`` unless every run of ``folder``'s chain is still the one ``scored_chain`` read
    (same run ids, DONE markers and weights files): a run replaced (re-run, overwritten, weights swapped) while it
    was evaluated would otherwise be recorded as the one scored."""
    try:
        now = [fingerprint(p) for p, _, _ in lineage(folder)]
    except (RunFolderError, OSError) as exc:
        now = [{"error": str(exc)}]
    if now != fingerprints:
        raise RunFolderError(f"{folder} (or a run of its chain) was replaced while it was evaluated: its run id, DONE "
                             "marker or weights changed, so the model scored is not the one the chain describes; "
                             "nothing was written: evaluate it again once no run writes there")


def dev_curve(log_history: Any) -> list[list[float]]:
    """``[[step, dev score], ...]`` from a Trainer log history (its ``eval_score`` records): the English dev
    learning curve a result keeps (the full history stays in the run's metrics.json). Malformed records are
    skipped."""
    if not isinstance(log_history, list):
        return []
    curve = []
    for record in log_history:
        if isinstance(record, dict) and isinstance(record.get("eval_score"), (int, float)) \
                and isinstance(record.get("step"), (int, float)):
            curve.append([record["step"], round(float(record["eval_score"]), 2)])
    return curve


def _as_written_today(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """A stored recipe mapping as this version writes it: a section that now always holds settings but that an older
    version wrote as null (``mlm: null`` before the mlm defaults moved into the dataclass) becomes absent, so it takes
    its defaults. Sections that may be null (``lora``: off) are left alone."""
    hints = typing.get_type_hints(cls)
    out = dict(data)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if not dataclasses.is_dataclass(tp) or f.name not in out:
            continue
        if out[f.name] is None:
            del out[f.name]
        elif isinstance(out[f.name], dict):
            out[f.name] = _as_written_today(tp, out[f.name])
    return out


def typed_recipe(entry: dict[str, Any]) -> Phase1Recipe | Phase2Recipe | Phase3Recipe:
    """The recipe of a ``chain`` entry rebuilt as its phase's dataclass with the strict loader, so every reader gets
    the defaults of the dataclass (a key that an older version did not write takes today's default).

    Raises:
        RunFolderError: the stored recipe does not fit this version (a key removed or renamed since, a value no
            longer allowed), naming the recipe file and each key.
    """
    cls = RECIPE_CLASSES[entry["phase"]]
    folder = entry.get("folder") or "its run folder"
    path = Path(folder) / RECIPE
    try:
        return build(cls, _as_written_today(cls, entry["recipe"]), source=str(path))
    except RecipeError as exc:
        version = (entry.get("environment") or {}).get("xstilts") or "an unknown version"
        raise RunFolderError(f"recipe {path} (written by xstilts {version}) does not fit xstilts {__version__}: "
                             f"{'; '.join(exc.problems)}; re-run the phase that wrote {folder}") from None


# Recipe keys that may differ between the attempts of one run (a resume): none of them changes the weights, the dev
# scores that select them, or any result. Every other key must equal the one in the stored recipe.yaml, or the
# resumed optimizer state would continue under settings the folder's recipe.yaml does not describe.
RESUME_FREE_KEYS = frozenset({
    "output",                        # the folder itself, however it is spelled
    "input",                         # compared as the resolved folder and its fingerprint (run.json), not as spelled
    "overwrite",                     # what to do with a finished folder, not how to train
    "train.logging_steps",           # how often the training loss is printed
    "train.eval_batch_size",         # dev examples per forward pass: the same examples, the same scores
    "train.save_total_limit",        # how many Trainer checkpoints stay on disk (the best one is always kept)
    "train.gradient_checkpointing",  # recomputes activations (same values, same dropout RNG): time for memory
    "train.report_to",               # where the logged figures are also sent (a tracker), not what is trained
    "verbose",                       # how much of the recipe is printed
})


def _defaults(cls: type, prefix: str = "") -> dict[str, Any]:
    """Dotted key -> default of every recipe field that has one (for recipe.yaml files of older versions)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f"{prefix}{f.name}"] = to_dict(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            made = f.default_factory()
            out.update(_defaults(type(made), f"{prefix}{f.name}.") if dataclasses.is_dataclass(made)
                       else {f"{prefix}{f.name}": to_dict(made)})
    return out


_ABSENT = "(absent)"


def _diff(old: Any, new: Any, defaults: dict[str, Any], prefix: str, out: list[str]) -> None:
    """Appends ``key: old -> new`` for each differing dotted key; keys an older recipe.yaml lacks take their
    default (a version that added a setting does not make every unfinished run differ)."""
    key = prefix[:-1]
    if key in RESUME_FREE_KEYS:
        return
    if old is _ABSENT:
        old = defaults.get(key, {} if isinstance(new, dict) else _ABSENT)
    if isinstance(old, dict) and isinstance(new, dict):
        for k in sorted(set(old) | set(new), key=str):
            _diff(old.get(k, _ABSENT), new.get(k, _ABSENT), defaults, f"{prefix}{k}.", out)
    elif old != new:
        out.append(f"{key}: {_show(old)} -> {_show(new)}")


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


def is_path_key(key: str) -> bool:
    """A recipe key naming a file or folder to read (``data.path``, ``data.translated_path``)."""
    return key == "path" or key.endswith("_path")


def resolved_paths(recipe: Any, base: str | Path) -> Any:
    """A copy of a recipe mapping with every relative path value (``is_path_key``) resolved against ``base`` to
    the real, absolute path (symlinks followed), so two spellings of one folder compare equal and one spelling from
    two folders does not."""
    if not isinstance(recipe, dict):
        return recipe
    out = {}
    for key, value in recipe.items():
        if isinstance(value, dict):
            out[key] = resolved_paths(value, base)
        elif is_path_key(str(key)) and isinstance(value, str) and value:
            out[key] = os.path.realpath(os.path.join(base, os.path.expanduser(value)))
        else:
            out[key] = value
    return out


def recipe_changes(folder: Path, recipe: Any, parent: Path | None) -> list[str]:
    """How the new resolved ``recipe`` differs from the one an unfinished run in ``folder`` started with, as
    ``key: old -> new`` (keys in ``RESUME_FREE_KEYS`` excepted); the input is compared as the folder it resolves to
    and the fingerprint of the run it holds."""
    if not (folder / RECIPE).is_file():
        return ["recipe.yaml: (missing) -> the new recipe"]
    changes: list[str] = []
    run = read_run(folder)
    # Data paths are compared as the folders they name: "data/xtreme" from another working directory is other data.
    # A run.json without "cwd" (older versions) had its paths resolved from where it ran: unknown, taken as here.
    then = run.get("cwd") if isinstance(run.get("cwd"), str) else Path.cwd()
    _diff(resolved_paths(_as_written_today(type(recipe), _read_recipe(folder)), then),
          resolved_paths(to_dict(recipe), Path.cwd()), _defaults(type(recipe)), "", changes)
    if parent is not None:
        recorded, now = run.get("parent"), str(parent.resolve())
        if recorded != now:
            changes.append(f"input: {recorded} -> {now}")
        elif run.get("parent_fingerprint") and _replaced(folder, parent, run["parent_fingerprint"]):
            changes.append(f"input: {now} (the run it held) -> {now} (another run, replaced since)")
    return changes


def prepare_output(folder: Path, phase: str, recipe: Any, parent: Path | None) -> str:
    """Guards the output folder of a phase before anything is written; returns "new" or "resume".

    The location must be safe (``runfiles.check_output_location``: not the input or its ancestors, not inside or around
    them, not the current directory, root or home, writable), the folder empty or a run folder of ``phase``. An
    unfinished run resumes only if its stored recipe is this one (``recipe_changes``); otherwise it is refused, one
    line listing the differences, unless ``overwrite=true``, which, like a finished run with ``overwrite=true``,
    deletes what the old run wrote (under the folder's lock, so never under a live process) and starts anew.

    Raises:
        RunFolderError: the location or the folder is refused, or the recipe differs from the unfinished run's.
    """
    inputs = [p for p, _, _ in lineage(parent)] if parent is not None else []
    state = runfiles.prepare_output(folder, recipe.overwrite, phase, inputs)
    if state == "resume" and is_main_process():
        changes = recipe_changes(folder, recipe, parent)
        if changes and not recipe.overwrite:
            raise RunFolderError(
                f"output {folder} holds an unfinished {phase} run of another recipe ({'; '.join(changes)}); resuming "
                "would continue its training under settings its recipe.yaml does not describe: run the old recipe to "
                "resume it, pass overwrite=true to discard it and start over, or choose another output=")
        state = "replace" if changes else "resume"
    if state == "replace":
        if is_main_process():
            with runfiles.RunLock(folder):  # a live process in the folder is refused, not deleted under
                runfiles.clear_run(folder, phase)
        state = "new"
    return state


def claim_submission(folder: str | Path, task: str, run_folder: Path, overwrite: bool) -> None:
    """Records in the submission folder's marker that ``run_folder`` writes ``task``'s prediction files.

    Prediction files of ``task`` written by another model (or by no xstilts evaluation) are refused unless
    ``overwrite``, which deletes that task's ``test-*`` files first, so no language of the other model stays behind.
    Other tasks' files are left alone: a submission legitimately holds one phase-3 model per task.

    Raises:
        RunFolderError: the task's files belong to another model and ``overwrite`` is false.
    """
    folder = Path(folder)
    run = read_run(run_folder)
    me = {"run_folder": str(run_folder.resolve()), "run_id": run.get("run_id")}
    marker_path = folder / runfiles.SUBMISSION_MARKER
    with runfiles.RunLock(folder, runfiles.SUBMISSION_MARKER + ".lock", wait_s=5):
        marker = read_json(marker_path, "submission marker") if marker_path.is_file() else {}
        if not isinstance(marker, dict) or not isinstance(marker.get("tasks", {}), dict):
            raise RunFolderError(f"submission marker {marker_path} is malformed; delete it and pass overwrite=true")
        owner = marker.get("tasks", {}).get(task)
        if isinstance(owner, dict):
            owner = {k: owner.get(k) for k in me}  # who, not when
        existing = sorted((folder / task).glob("test-*")) if (folder / task).is_dir() else []
        if existing and owner != me:
            source = f"the model in {owner.get('run_folder')}" if isinstance(owner, dict) else "no xstilts evaluation"
            if not overwrite:
                raise RunFolderError(f"export_predictions {folder / task} holds predictions written by {source}; "
                                     "choose another export_predictions= or pass overwrite=true to replace them")
            if is_main_process():
                for f in existing:
                    f.unlink()
        if is_main_process() and owner != me:
            tasks = {**marker.get("tasks", {}), task: {**me, "written": time.strftime("%Y-%m-%dT%H:%M:%S%z")}}
            atomic_write_json(marker_path, {**marker, "tasks": tasks})


def run_info(chain_entries: list[dict[str, Any]], task: str) -> dict[str, Any]:
    """The run summary of the results schema (encoder, its kind, intermediate setting, target, seed, LoRA)."""
    recipes = [typed_recipe(c) for c in chain_entries]
    phase1 = next((c for c in chain_entries if c["phase"] == "phase1"), None)
    stats = (phase1 or {}).get("stats") or {}
    p1 = next((r for r in recipes if isinstance(r, Phase1Recipe)), None)
    encoder = stats.get("name") or (p1 and (p1.name or p1.model)) or "unknown"
    # Named for the data trained on: an NLI phase fed XNLI's English rows (data.train_task=xnli) is "xnli", not the
    # "mnli" of its recipe, so a same-task intermediate is visible as such.
    inter = [r.data.train_task or t for r in reversed(recipes) if isinstance(r, Phase2Recipe) for t in r.tasks]
    n_p2 = sum(1 for r in recipes if isinstance(r, Phase2Recipe))
    if not inter:
        intermediate = "none"
    elif len(inter) > 1 and n_p2 == 1:
        intermediate = "multi:" + "+".join(inter)
    else:
        intermediate = ">".join(inter)  # sequential intermediate phases, e.g. siqa then another
    phase3 = next((r for r in recipes if isinstance(r, Phase3Recipe)), None)
    newest = phase3 or recipes[0]
    seed = newest.train.seed if isinstance(newest, (Phase2Recipe, Phase3Recipe)) else None
    lora = any(isinstance(r, (Phase2Recipe, Phase3Recipe)) and r.lora is not None for r in recipes)
    return {"encoder": encoder, "encoder_kind": stats.get("kind") or (p1.kind if p1 else None) or "unknown",
            "intermediate": intermediate, "target": phase3.task if phase3 else task, "seed": seed, "lora": lora}
