"""The one analysis of a results folder that the report, the claims and the viewer read: results -> cells (seed
means, standard deviations over seeds, intervals), each cell's degenerate flags (constant predictions, its task's
chance level), the floors a target and an intermediate task must reach, and each cell's verdict against its
encoder's no-intermediate baseline.

One rule set, so SUMMARY.md and the viewer cannot disagree about a cell:

- a cell pools the seeds of one (encoder, intermediate, task), ordered by seed; LoRA runs and recipe variants are
  cells of their own (``cell_groups``);
- its standard deviation over seeds is None with one seed (the seed noise is unknown, ``seed_sd``); a language is
  constant where the model gave one prediction to nearly every example of it (``constant_languages``), a cell is
  constant as a whole only when every seed is constant in every language (``results.constant_everywhere``);
- a cell's verdict (``judge``), first that applies: ``same task`` (the intermediate trained on the target's own
  data), ``other languages`` (cell and baseline scored on different languages), ``intermediate not learned`` (the
  intermediate task below its English dev floor: every column of it, ``weak_intermediate``), ``not learned at this
  budget`` (the target below its floor for any encoder of the floor's kind, ``targets_not_learned``), else
  the 95% interval of the paired difference (``reliability.difference``): ``up`` / ``down`` beyond noise,
  ``within noise``, or ``unknown`` where nothing says how large the noise is (one trained seed a side).

No torch, no datasets: everything is read from the result files (``xstilts.results``).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from xstilts import anchors, recipe, typespecs
from xstilts.languages import script_of
from xstilts.recipe import RecipeError, field
from xstilts.reliability import Difference, SeedRun, difference, items_from_json, shares_items
from xstilts.results import (
    VARIANT_OPEN,
    TaskResult,
    base_intermediate,
    baseline_of,
    constant_everywhere,
    coverage_problem,
    intermediate_order,
    phase2_seed,
    recipe_variants,
    same_task,
    task_order,
    trained_on,
)
from xstilts.tasks import TASKS

# ---------------------------------------------------------------------------------------------------- verdicts

# ``reliability.Difference.verdict``: beyond noise either way, within it, or no interval (the noise is unknown).
UP, DOWN, WITHIN_NOISE, UNKNOWN = "up", "down", "within noise", "unknown"
JUDGED = (UP, DOWN, WITHIN_NOISE)  # the verdicts a claim may count (an interval was computed)
# The target itself stayed below its floor: no effect on it is judged.
NOT_LEARNED = "not learned at this budget"
# The intermediate task itself stayed below its English dev floor: its effects say nothing about intermediate training.
INTERMEDIATE_NOT_LEARNED = "intermediate not learned"
# A cell and its baseline scored on different languages: their difference is not an effect of the intermediate task.
NOT_COMPARABLE = "other languages"
# An intermediate task trained on the target's own English data: more training, not transfer between tasks.
SAME_TASK = "same task"


# ------------------------------------------------------------------------------------------------------- floors


@dataclasses.dataclass
class Floor:
    """What a target must reach before any claim is drawn from it (a floors file maps task -> Floor)."""

    min: float = field(help="the lowest acceptable mean over languages, in percent")
    metric: str | None = field(None, help="the language-averaged metric compared (None: the task score)")
    no_constant: bool = field(False, help="also fail when any language gives one prediction to nearly every example")
    encoder_kind: str = field("multilingual", help="checked on the encoders of this kind ...")
    intermediate: str = field("none", help="... without intermediate task (or another intermediate)")
    judged_on: str = field("test", help="test: the zero-shot mean over languages; dev: the phase-3 run's held-out "
                                        "English dev score (a target whose zero-shot mean cannot reach a floor at "
                                        "this scale)")


@dataclasses.dataclass
class IntermediateFloor:
    """What an intermediate task must reach on its own English dev set (the phase-2 run's metrics.json, recorded in
    every result's chain) before its effects are judged (floors file: ``intermediates: {siqa: {min: 55}}``)."""

    min: float = field(help="the lowest acceptable English dev score of the phase-2 run, in percent")
    metric: str | None = field(None, help="the dev metric compared (f1: the key ending in _f1); None: the score")


ENCODER_KINDS = ("multilingual", "english", "unknown")  # RunInfo.encoder_kind's values


def task_metrics(task: str) -> tuple[str, ...]:
    """The language-averaged metrics a task's results hold (the evaluation writes its main metric's parts, with
    precision and recall beside a tagging F1 and the last layer's beside a score of the bare encoder)."""
    main = TASKS[task].main_metric
    parts = ("exact_match", "f1") if main == "exact_match+f1" else (main,)
    extra = ("precision", "recall") if main == "f1" else ()
    # A type evaluated on the bare encoder (retrieval) scores its last layer too (retrieval.also_last_layer).
    last = tuple(f"{m}_last_layer" for m in parts) if typespecs.spec_of(TASKS[task]).eval_model == "encoder" else ()
    return parts + extra + last


def read_floors(path: str | Path) -> dict[str, Floor]:
    """A floors file (YAML: ``task: {min: 50, metric: f1, no_constant: true}``), read strictly: an unknown key or
    task is one ``RecipeError`` naming it."""
    data = dict(recipe.read_yaml(path))
    data.pop(INTERMEDIATES_KEY, None)  # read_intermediate_floors
    data.pop(STAND_INS_KEY, None)  # read_stand_ins
    data.pop(CONFOUNDS_KEY, None)  # read_confounds
    problems = [f"{task}: not a task of the registry" for task in data if task not in TASKS]
    floors = {}
    for task, spec in data.items():
        try:
            floors[task] = recipe.build(Floor, spec if isinstance(spec, dict) else {"min": spec}, f"{path}: {task}")
        except RecipeError as exc:
            problems.append(str(exc))
            continue
        # A misspelt value would match no run and mark a learned target "not learned": refused instead.
        if floors[task].encoder_kind not in ENCODER_KINDS:
            problems.append(f"{task}: encoder_kind {floors[task].encoder_kind!r} is not one of "
                            f"{', '.join(ENCODER_KINDS)}")
        if floors[task].judged_on not in ("test", "dev"):
            problems.append(f"{task}: judged_on {floors[task].judged_on!r} is not test or dev")
        if task in TASKS and floors[task].metric is not None and floors[task].metric not in task_metrics(task):
            problems.append(f"{task}: metric {floors[task].metric!r} is not one of {task}'s "
                            f"({', '.join(task_metrics(task))}; leave it out for the task score)")
    if problems:
        raise RecipeError(problems, str(path))
    return floors


INTERMEDIATES_KEY = "intermediates"


def read_intermediate_floors(path: str | Path) -> dict[str, IntermediateFloor]:
    """The ``intermediates:`` section of a floors file (intermediate name as the results name it -> floor)."""
    data = recipe.read_yaml(path).get(INTERMEDIATES_KEY) or {}
    if not isinstance(data, dict):
        raise RecipeError([f"{INTERMEDIATES_KEY}: a mapping of intermediate -> {{min, metric}}"], str(path))
    problems, out = [], {}
    for name, spec in data.items():
        try:
            out[name] = recipe.build(IntermediateFloor, spec if isinstance(spec, dict) else {"min": spec},
                                     f"{path}: {INTERMEDIATES_KEY}.{name}")
        except RecipeError as exc:
            problems.append(str(exc))
    if problems:
        raise RecipeError(problems, str(path))
    return out


STAND_INS_KEY = "stand_ins"


def read_stand_ins(path: str | Path) -> dict[str, str]:
    """The ``stand_ins:`` section of a floors file: intermediate or target name as the results name it -> what its
    training data was instead of the paper's (one line each), said among the summary's confounds."""
    data = recipe.read_yaml(path).get(STAND_INS_KEY) or {}
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) and v.strip()
                                             for k, v in data.items()):
        raise RecipeError([f"{STAND_INS_KEY}: a mapping of intermediate or target name -> one line saying what its "
                           "training data is instead of the paper's"], str(path))
    return {k: " ".join(v.split()) for k, v in data.items()}


CONFOUNDS_KEY = "confounds"


def read_confounds(path: str | Path) -> list[str]:
    """The ``confounds:`` section of a floors file: what the grid could not have and no result records (an encoder
    that could not be obtained, a test set scored on a sample), one line each, said among the summary's confounds."""
    data = recipe.read_yaml(path).get(CONFOUNDS_KEY) or []
    if not isinstance(data, list) or not all(isinstance(v, str) and v.strip() for v in data):
        raise RecipeError([f"{CONFOUNDS_KEY}: a list of lines, each saying what differs from the paper's setting "
                           "that no result records"], str(path))
    return [" ".join(v.split()) for v in data]


def phase2_dev(result: TaskResult, metric: str | None) -> tuple[str, float] | None:
    """(phase-2 folder, English dev value) of the intermediate run a result started from: the chain's phase-2
    entry's ``metrics.dev`` (``score``, or the key ending in ``_<metric>``); None without one."""
    for entry in result.chain:
        if isinstance(entry, dict) and entry.get("phase") == "phase2":
            dev = (entry.get("metrics") or {}).get("dev") if isinstance(entry.get("metrics"), dict) else None
            if not isinstance(dev, dict):
                return None
            keys = ["score"] if metric is None else [k for k in dev if k == metric or k.endswith(f"_{metric}")]
            value = next((dev[k] for k in keys if isinstance(dev.get(k), (int, float))), None)
            return None if value is None else (str(entry.get("folder")), float(value))
    return None


def check_intermediate_floors(results: list[TaskResult], floors: dict[str, IntermediateFloor]
                              ) -> list[dict[str, Any]]:
    """Each (encoder, intermediate) with a floor against the mean English dev value of its phase-2 runs (each run
    counted once, however many results started from it): ``met`` False is "intermediate not learned"."""
    groups: dict[tuple[str, str], dict[str, float]] = {}
    for r in results:
        floor = floors.get(r.run.intermediate)
        found = phase2_dev(r, floor.metric) if floor else None
        if floor and found:
            groups.setdefault((r.run.encoder, r.run.intermediate), {})[found[0]] = found[1]
        elif floor:
            groups.setdefault((r.run.encoder, r.run.intermediate), {})
    out = []
    for (enc, inter), runs in sorted(groups.items()):
        floor = floors[inter]
        measured = sum(runs.values()) / len(runs) if runs else None
        met = measured is not None and measured >= floor.min
        out.append({"encoder": enc, "intermediate": inter, "metric": floor.metric or "score", "floor": floor.min,
                    "measured": measured, "phase2_runs": len(runs), "met": met,
                    "why": "" if met else "no English dev score recorded in the chain" if measured is None
                    else f"English dev {measured:.1f} < {floor.min:g}"})
    return out


def intermediate_not_learned(checked: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(encoder, intermediate) -> why, for every intermediate below its floor (report, claims and viewer)."""
    return {(c["encoder"], c["intermediate"]): c["why"] for c in checked if not c["met"]}


def weak_intermediate(weak: Mapping[tuple[str, str], str], encoder: str, column: str) -> str | None:
    """Why the intermediate task of an (encoder, intermediate column) is below its English dev floor, None where it
    is not: the floor is measured over every phase-2 run of that intermediate (``check_intermediate_floors``), so it
    holds for its LoRA column and its recipe variants as for its plain column."""
    return weak.get((encoder, base_intermediate(column)))


def targets_not_learned(checked: list[dict[str, Any]]) -> dict[str, str]:
    """task -> why it is "not learned at this budget", from ``check_floors``: a task is not learned when any of its
    floor rows (one per encoder of the floor's kind) is unmet, and no effect on it is judged for any encoder."""
    out: dict[str, str] = {}
    for f in checked:
        if not f["met"]:
            out[f["task"]] = "; ".join(x for x in (out.get(f["task"], ""), f"{f['encoder'] or 'no run'}: {f['why']}")
                                       if x)
    return out


def check_floors(results: list[TaskResult], floors: dict[str, Floor]) -> list[dict[str, Any]]:
    """Each floor against the seed mean of its cells (one row per encoder of the floor's kind): ``met`` False is a
    target not learned at this budget; ``dev_curves`` are the English dev learning curves of its seeds (phase 3).

    Raises:
        RecipeError: a floor's metric is in none of its task's results, or its intermediate is no run's (a typo
            would otherwise mark the target "not learned").
    """
    out = []
    pooled = recipe_variants(results)
    # A floor names a setting ("none"); its recipe variants ("none [train.lr=...]") are each checked on their own.
    labels = {_without_variant(intermediate_label(r.run)) for r in pooled}
    problems = []
    for task, floor in floors.items():
        mine = [r for r in pooled if r.task == task]
        if floor.metric is not None and mine and not any(floor.metric in r.average for r in mine):
            problems.append(f"{task}: metric {floor.metric!r} is in none of its results (they hold "
                            f"{', '.join(sorted({m for r in mine for m in r.average}))})")
        if floor.intermediate not in labels:
            problems.append(f"{task}: intermediate {floor.intermediate!r} is no run's (the results have "
                            f"{', '.join(intermediate_order(labels))})")
    if problems:  # a value matching nothing would mark a learned target "not learned at this budget"
        raise RecipeError(problems, "floors")
    for task, floor in floors.items():
        groups: dict[str, list[TaskResult]] = {}
        for r in pooled:
            label = intermediate_label(r.run)
            if r.task == task and r.run.encoder_kind == floor.encoder_kind and _without_variant(label) == \
                    floor.intermediate:
                variant = label[label.index(VARIANT_OPEN):] if VARIANT_OPEN in label else ""
                groups.setdefault(r.run.encoder + variant, []).append(r)
        if not groups:
            out.append({"task": task, "encoder": None, "floor": floor.min, "metric": floor.metric or "score",
                        "measured": None, "met": False, "why": f"no {floor.encoder_kind} {floor.intermediate} run",
                        "constant": [], "dev_curves": []})
        for encoder, runs in sorted(groups.items()):
            if floor.judged_on == "dev":  # the phase-3 run's held-out English dev score (chain[0].metrics.dev)
                values = [((r.chain[0].get("metrics") or {}).get("dev") or {}).get("score") if r.chain else None
                          for r in runs]
            else:
                values = [r.score if floor.metric is None else r.average.get(floor.metric) for r in runs]
            values = [v for v in values if v is not None]
            measured = sum(values) / len(values) if values else None
            constant = sorted({lang for r in runs for lang in constant_languages(r)})
            met = measured is not None and measured >= floor.min and not (floor.no_constant and constant)
            why = ("no such metric in the results" if measured is None else
                   f"{measured:.1f} < {floor.min:g}" if measured < floor.min else
                   f"constant predictions in {' '.join(constant)}" if floor.no_constant and constant else "")
            curves = [((r.chain[0].get("metrics") or {}).get("dev_curve") or []) for r in runs
                      if r.chain and r.chain[0].get("phase") == "phase3"]
            out.append({"task": task, "encoder": encoder, "floor": floor.min,
                        "metric": ("English dev " if floor.judged_on == "dev" else "") + (floor.metric or "score"),
                        "measured": measured, "met": met, "why": why, "constant": constant, "dev_curves": curves})
    return out


def _without_variant(label: str) -> str:
    """An intermediate label without its recipe variant (``none [lr=1] +LoRA`` -> ``none +LoRA``)."""
    if VARIANT_OPEN not in label:
        return label
    return label.split(VARIANT_OPEN, 1)[0] + (" +LoRA" if label.endswith(" +LoRA") else "")


# -------------------------------------------------------------------------------------------------------- cells

def intermediate_label(run: Any) -> str:
    """A column's intermediate: the task, with `` +LoRA`` for runs trained with LoRA (never pooled with full ones)."""
    return run.intermediate + (" +LoRA" if run.lora else "")


def columns(results: Iterable[TaskResult]) -> list[tuple[str, str]]:
    """(encoder, intermediate) pairs: multilingual encoders first, the no-intermediate baseline first per encoder."""
    results = list(results)
    kinds = {r.run.encoder: r.run.encoder_kind for r in results}
    encoders = sorted(kinds, key=lambda e: (kinds[e] != "multilingual", e))
    out = []
    for enc in encoders:
        labels = {intermediate_label(r.run) for r in results if r.run.encoder == enc}
        plain = intermediate_order({label.removesuffix(" +LoRA") for label in labels})
        out += [(enc, label) for name in plain for label in (name, name + " +LoRA") if label in labels]
    return out


def seed_sd(values: Sequence[float]) -> float | None:
    """Sample standard deviation over seeds (None with one seed: the seed noise is unknown)."""
    if len(values) < 2:
        return None
    mean = sum(values) / len(values)
    return (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5


def seed_cell(runs: list[TaskResult], value: Any = None) -> dict[str, Any]:
    """One grid cell from the seeds of one (encoder, intermediate, task): their mean score, its standard deviation
    over seeds, the seeds, and an interval over examples (a single seed's own; with several, the mean of their
    bounds, the interval of the seed mean when seeds vary little). ``value`` picks another number than the score."""
    values = [v for v in (value(r) if value else r.score for r in runs) if v is not None]
    cis = [r.score_ci95 for r in runs]
    # An interval belongs to the task score only (the result holds none for another number).
    ci = [sum(c[0] for c in cis) / len(cis), sum(c[1] for c in cis) / len(cis)] \
        if value is None and cis and all(cis) else None
    whole = len(values) == len(runs)
    return {"score": sum(values) / len(values) if values else None, "sd": seed_sd(values),
            "seeds": sorted({r.run.seed for r in runs if r.run.seed is not None}), "n": len(runs), "ci95": ci,
            "runs": values, "runs_ci95": cis if value is None and whole else [None] * len(values),
            # each run's seed (what pairs it with its baseline's run) and the phase-2 seed its model started from
            "runs_seed": [r.run.seed for r in runs] if whole else [None] * len(values),
            "runs_phase2_seed": [phase2_seed(r) for r in runs] if whole else [None] * len(values),
            "phase2_seeds": sorted({s for r in runs if (s := phase2_seed(r)) is not None})}


def non_latin_mean(result: TaskResult) -> float | None:
    """The mean main metric over the languages not written in Latin script (where an English-only vocabulary has
    no pieces to offer)."""
    metric = "f1" if result.main_metric == "exact_match+f1" else result.main_metric
    vals = [m[metric] for lang, m in result.languages.items() if script_of(lang) != "Latin" and metric in m]
    return sum(vals) / len(vals) if vals else None


def constant_languages(result: TaskResult, langs: Iterable[str] | None = None) -> list[str]:
    """The languages (of ``langs``, default all scored) where the model gave one prediction to nearly every example
    (``reliability[lang].constant``): their score is the class balance, not something learned. A language with
    reliability figures but no score is none of them."""
    langs = result.languages if langs is None else langs
    return [lang for lang in langs if (result.reliability.get(lang) or {}).get("constant")]


def task_chance(results: Iterable[TaskResult], task: str) -> float | None:
    """The chance level of ``task`` in percent: as recorded in a result (``chance``, from its rows where it depends
    on them), else its type's spec without rows (``anchors.chance``); None where undefined."""
    for r in results:
        if r.task == task and r.chance is not None:
            return float(r.chance)
    return anchors.chance(task)


def cell_groups(results: Iterable[TaskResult]) -> dict[tuple[str, str, str], list[TaskResult]]:
    """(encoder, intermediate label, task) -> the cell's results, one per seed, ordered by seed (seedless last):
    deduplicated and split into recipe variants first (``recipe_variants``), LoRA runs apart (``intermediate_label``).
    """
    by_key: dict[tuple[str, str, str], list[TaskResult]] = {}
    for r in recipe_variants(results):
        by_key.setdefault((r.run.encoder, intermediate_label(r.run), r.task), []).append(r)
    return {k: sorted(g, key=lambda r: (r.run.seed is None, r.run.seed)) for k, g in by_key.items()}


def own_tasks(task: str, trained: Iterable[str]) -> set[str]:
    """A target's own tasks: its name and the tasks whose English data trained it (``results.trained_on`` of its
    runs); an intermediate setting that trained on one of them is ``same task``."""
    return {task, *trained}


def score_grid(results: list[TaskResult], items: dict[tuple[str, str, str], list[Any]] | None = None
               ) -> dict[str, Any]:
    """{"columns": [[encoder, intermediate]], "rows": [{"task", "metric", "cells": [seed-mean score | None], "sd":
    [sd over seeds | None], "seeds": [[seed...]], "partial": [...], "ci95": [[low, high] | None], "constant":
    [[lang...]], "languages"}]} with one row per task plus a Tatoeba row over non-Latin-script languages (no
    interval: the result holds none for that subset). The seeds of a cell are averaged, never one picked; LoRA runs
    have columns of their own, and so do runs whose recipes differ in more than the seed (``recipe_variants``).

    ``items``, when given, is filled with (encoder, intermediate, task) -> each run's per-item scores (None where a
    result keeps none), in the order of the cell's ``runs``: what ``effects`` redraws (kept out of summary.json)."""
    results = recipe_variants(results)
    cols = columns(results)
    by_key = cell_groups(results)
    rows = []
    for task in task_order({r.task for r in results}):
        groups = [by_key.get((enc, inter, task), []) for enc, inter in cols]
        cells = [seed_cell(g) if g else None for g in groups]
        if items is not None:
            for (enc, inter), g in zip(cols, groups, strict=True):
                if g:
                    items[(enc, inter, task)] = [items_from_json(r.items) for r in g]
        metric = next(g[0].main_metric for g in groups if g)
        rows.append({"task": task, "metric": metric, **_cells(cells),
                     "partial": [any(r.partial for r in g) for g in groups],
                     "constant": [sorted({lang for r in g for lang in constant_languages(r)}) for g in groups],
                     "all_constant": [constant_everywhere(g) for g in groups],
                     "scored": [max((len(r.languages) for r in g), default=0) for g in groups],
                     "languages": max(len(r.languages) for g in groups for r in g),
                     "coverage": [[list(c) for c in sorted({tuple(sorted(r.languages)) for r in g})] for g in groups],
                     "trained_on": [sorted({trained_on(r) for r in g}) for g in groups]})
        # retrieval.also_last_layer: the same pass, last layer; BUCC: the gold-pairs-only score MTEB reports, labelled
        # apart from the mining F1 (the task score), with which it is not comparable
        own = rows[-1]
        for key, label, shown in ((f"{metric}_last_layer", "last layer", metric),
                                  (f"{metric}_gold_pairs", "gold pairs only, MTEB's protocol: not comparable", metric),
                                  ("f1_mteb", "MTEB's protocol: non-English queries", "f1")):
            if any(key in r.average for g in groups for r in g):
                cells = [seed_cell(g, lambda r, k=key: r.average.get(k)) if g else None for g in groups]
                rows.append({"task": f"{task} ({label})", "metric": shown, **_cells(cells),
                             "ci95": [None for _ in groups], "partial": own["partial"],
                             "constant": [[] for _ in groups], "scored": own["scored"],
                             "languages": own["languages"], "coverage": own["coverage"],
                             "trained_on": own["trained_on"]})
        if task == "tatoeba":
            non_latin = [[lang for lang in g[0].languages if script_of(lang) != "Latin"] if g else [] for g in groups]
            cells = [seed_cell(g, non_latin_mean) if g else None for g in groups]
            rows.append({"task": "tatoeba (non-Latin scripts)", "metric": metric, **_cells(cells),
                         "ci95": [None for _ in groups],
                         "partial": [any(r.partial for r in g) for g in groups],
                         "constant": [sorted({lang for r in g for lang in constant_languages(r, ls)})
                                      for g, ls in zip(groups, non_latin, strict=True)],
                         "scored": [len(ls) for ls in non_latin],
                         "languages": max(len(ls) for g, ls in zip(groups, non_latin, strict=True) if g),
                         "coverage": [[list(c) for c in sorted({tuple(sorted(x for x in r.languages
                                                                               if script_of(x) != "Latin"))
                                                                  for r in g})] for g in groups],
                         "trained_on": [[] for _ in groups]})
    return {"columns": [list(c) for c in cols], "rows": rows}


def _cells(cells: list[dict[str, Any] | None]) -> dict[str, list[Any]]:
    return {"cells": [c["score"] if c else None for c in cells], "sd": [c["sd"] if c else None for c in cells],
            "seeds": [c["seeds"] if c else [] for c in cells], "ci95": [c["ci95"] if c else None for c in cells],
            "runs": [c["runs"] if c else [] for c in cells], "runs_ci95": [c["runs_ci95"] if c else [] for c in cells],
            "runs_seed": [c["runs_seed"] if c else [] for c in cells],
            "runs_phase2_seed": [c["runs_phase2_seed"] if c else [] for c in cells],
            "phase2_seeds": [c["phase2_seeds"] if c else [] for c in cells]}


def seed_runs(row: dict[str, Any], i: int, items: list[Any] | None = None) -> list[SeedRun]:
    """Column ``i`` of a grid row as ``reliability.SeedRun``s (``cell_seed_runs``; summary.json files written before
    ``runs_seed``: paired by position); ``items``: each run's per-item scores (``score_grid(items=...)``), used on a
    task's own row only (a derived row, such as the last layer's, scores other numbers)."""
    n = len(row["runs"])
    return cell_seed_runs({"runs": row["runs"][i], "runs_ci95": row["runs_ci95"][i],
                           "runs_seed": (row.get("runs_seed") or [None] * n)[i],
                           "runs_phase2_seed": (row.get("runs_phase2_seed") or [None] * n)[i]},
                          items if " (" not in row["task"] else None)


def cell_seed_runs(cell: Mapping[str, Any], items: Sequence[Any] | None = None) -> list[SeedRun]:
    """A cell (``seed_cell``) as the ``reliability.SeedRun``s ``judge`` pairs and redraws: each run's score, interval,
    seed (no seeds recorded: numbered 1, 2, ... in order) and phase-2 seed; ``items``: each run's per-item scores
    (``items_from_json``), in the cell's order."""
    scores, cis = cell["runs"], cell["runs_ci95"]
    seeds = cell.get("runs_seed") or list(range(1, len(scores) + 1))
    per = items if items is not None and len(items) == len(scores) else [None] * len(scores)
    p2 = cell.get("runs_phase2_seed") or [None] * len(scores)
    return [SeedRun(float(s), c, k, it, q) for s, c, k, it, q in zip(scores, cis, seeds, per, p2, strict=True)]


@dataclasses.dataclass(frozen=True)
class Effect:
    """A cell's change over its baseline and the verdict on it (``judge``)."""

    verdict: str  # UP, DOWN, WITHIN_NOISE, UNKNOWN, SAME_TASK, NOT_COMPARABLE, INTERMEDIATE_NOT_LEARNED, NOT_LEARNED
    why: str  # the noise the interval holds (``reliability.Difference.why``), or why the cell is not compared
    delta: float  # the change of the seed mean (paired seeds: the mean of the per-seed differences)
    low: float | None  # its 95% interval (None: no interval, or not compared)
    high: float | None
    pairs: int  # seed pairs the delta and its seed noise come from


def judge(cell: Sequence[SeedRun], base: Sequence[SeedRun], task: str, intermediate: str, own: Collection[str],
          cell_languages: Iterable[Iterable[str]], base_languages: Iterable[Iterable[str]],
          intermediate_weak: bool = False, target_not_learned: bool = False) -> Effect:
    """The verdict on one cell against its baseline, the rule the report, the claims and the viewer share (see the
    module docstring for the order).

    Args:
        cell, base: both sides' runs (``cell_seed_runs``).
        task: the target (a derived row's task: its task's name).
        intermediate: the cell's intermediate setting; ``own``: the target's own tasks (``own_tasks``).
        cell_languages, base_languages: the languages each run of either side was scored on.
        intermediate_weak: the intermediate task is below its English dev floor (``intermediate_not_learned``).
        target_not_learned: the target is below its floor (``targets_not_learned``).
    """
    d: Difference = difference(cell, base, shared_items=shares_items(task))
    if same_task(intermediate, own):
        return Effect(SAME_TASK, d.why, d.delta, d.low, d.high, d.pairs)
    other = coverage_problem(cell_languages, base_languages)
    if other:
        return Effect(NOT_COMPARABLE, other, d.delta, None, None, d.pairs)
    # Below a floor the interval is still shown (the numbers SUMMARY.md lists) but no effect is called; an
    # intermediate task that was not learned itself is named first: its cells say nothing about the target.
    verdict = INTERMEDIATE_NOT_LEARNED if intermediate_weak else NOT_LEARNED if target_not_learned else d.verdict
    return Effect(verdict, d.why, d.delta, d.low, d.high, d.pairs)


def effects(grid: dict[str, Any], items: dict[tuple[str, str, str], list[Any]] | None = None,
            not_learned: Collection[str] = (), weak: Mapping[tuple[str, str], str] | None = None
            ) -> list[dict[str, Any]]:
    """Each intermediate task's change over its encoder's no-intermediate run (same LoRA setting), per grid row, with
    the 95% interval of the difference (``reliability.difference``: seeds paired by index and read with t, plus the
    items redrawn on both sides, jointly across translated languages where ``items`` holds per-item scores) and its
    verdict (``judge``): an effect is called (``up``/``down``) only where the interval excludes zero.

    Args:
        not_learned: the targets below their floor (``targets_not_learned``).
        weak: (encoder, intermediate) -> why its intermediate task is below its English dev floor
            (``intermediate_not_learned``; every column of that intermediate, ``weak_intermediate``).
    """
    items, weak = items or {}, weak or {}
    cols = [tuple(c) for c in grid["columns"]]
    out = []
    for row in grid["rows"]:
        for i, (enc, inter) in enumerate(cols):
            lora = inter.endswith(" +LoRA")
            base_col = (enc, baseline_of(inter) + (" +LoRA" if lora else ""))
            if inter == base_col[1] or base_col not in cols or not row["runs"][i]:
                continue
            j = cols.index(base_col)
            if not row["runs"][j]:
                continue
            task = row["task"].split(" (")[0]
            coverage = row.get("coverage") or [[] for _ in cols]  # summary.json written before coverage: unknown
            e = judge(seed_runs(row, i, items.get((enc, inter, row["task"]))),
                      seed_runs(row, j, items.get((*base_col, row["task"]))), task, inter,
                      own_tasks(task, row.get("trained_on", [[]] * len(cols))[i]), coverage[i], coverage[j],
                      intermediate_weak=weak_intermediate(weak, enc, inter) is not None,
                      target_not_learned=task in not_learned)
            out.append({"encoder": enc, "intermediate": inter, "task": row["task"], "metric": row["metric"],
                        "score": row["cells"][i], "baseline": row["cells"][j], "delta": e.delta, "low": e.low,
                        "high": e.high, "verdict": e.verdict, "why": e.why,
                        "seeds": [len(row["runs"][i]), len(row["runs"][j])],
                        "phase2_seeds": len((row.get("phase2_seeds") or [[]] * len(cols))[i]), "pairs": e.pairs})
    return out
