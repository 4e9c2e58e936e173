"""A results folder as a publishable summary: the score grid, time per phase, machine and library versions; and its
XTREME / XTREME-R benchmark scores per run.

    python -m xstilts.report results/mini                      # print the Markdown summary
    python -m xstilts.report results/mini --write results/mini/SUMMARY.md   # and write it (plus summary.json)
    python evaluate_xtreme.py benchmark results=results/mini output=bench.json   # benchmark_command

Everything comes from the result files themselves: scores from each ``<task>.json``, the training phases' wall
times and machines from the provenance chain each result carries (``done.wall_time_s``, ``environment``), the
evaluation's own from the result. Nothing is re-measured, so the summary is only as complete as the results are:
results written before a field existed show it as unknown. Result files that cannot be read (wrong-typed fields,
truncated, too large) are listed on stderr and in ``summary.json`` (``skipped``) and left out; every string taken
from a result file is escaped in the Markdown, so it shows as text on GitHub (never a link or an image).
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from xstilts import anchors, claims, markdown, recipe
from xstilts.errors import RunFolderError, XstiltsError
from xstilts.families import is_contrastive
from xstilts.languages import script_of
from xstilts.log import log
from xstilts.recipe import RecipeError, field
from xstilts.reliability import CONSTANT_SHARE, SeedRun, difference, items_from_json, shares_items
from xstilts.results import (
    BASELINE,
    VARIANT_OPEN,
    XTREME_CATEGORIES,
    XTREME_R_CATEGORIES,
    TaskResult,
    baseline_of,
    benchmark_scores,
    constant_everywhere,
    coverage_problem,
    dedupe,
    find_results,
    intermediate_order,
    recipe_variants,
    same_task,
    task_order,
    phase2_seed,
    trained_on,
)
from xstilts.runfiles import atomic_write_json, atomic_write_text, check_new_file
from xstilts.tasks import TASKS, benchmark_categories

NOT_LEARNED = "not learned at this budget"
# The intermediate task itself stayed below its English dev floor: its effects say nothing about intermediate training.
INTERMEDIATE_NOT_LEARNED = "intermediate not learned"
# A cell and its baseline scored on different languages: their difference is not an effect of the intermediate task.
NOT_COMPARABLE = "other languages"
# An intermediate task trained on the target's own English data: more training, not transfer between tasks.
SAME_TASK = "same task"


@dataclasses.dataclass
class Floor:
    """What a target must reach before any claim is drawn from it (a floors file maps task -> Floor)."""

    min: float = field(help="the lowest acceptable mean over languages, in percent")
    metric: str | None = field(None, help="the language-averaged metric compared (None: the task score)")
    no_constant: bool = field(False, help="also fail when any language gives one prediction to nearly every example")
    encoder_kind: str = field("multilingual", help="checked on the encoders of this kind ...")
    intermediate: str = field("none", help="... without intermediate task (or another intermediate)")
    judged_on: str = field("test", help="test: the zero-shot mean over languages; dev: the phase-3 run's held-out English "
                                 "dev score (a target whose zero-shot mean cannot reach a floor at this scale)")


@dataclasses.dataclass
class IntermediateFloor:
    """What an intermediate task must reach on its own English dev set (the phase-2 run's metrics.json, recorded in
    every result's chain) before its effects are judged (floors file: ``intermediates: {siqa: {min: 55}}``)."""

    min: float = field(help="the lowest acceptable English dev score of the phase-2 run, in percent")
    metric: str | None = field(None, help="the dev metric compared (f1: the key ending in _f1); None: the score")


ENCODER_KINDS = ("multilingual", "english", "unknown")  # RunInfo.encoder_kind's values


def task_metrics(task: str) -> tuple[str, ...]:
    """The language-averaged metrics a task's results hold (the evaluation writes its main metric's parts, with
    precision and recall beside a tagging F1 and the last layer's beside a retrieval score)."""
    main = TASKS[task].main_metric
    parts = ("exact_match", "f1") if main == "exact_match+f1" else (main,)
    extra = ("precision", "recall") if main == "f1" else ()
    last = tuple(f"{m}_last_layer" for m in parts) if TASKS[task].task_type == "retrieval" else ()
    return parts + extra + last


def read_floors(path: str | Path) -> dict[str, Floor]:
    """A floors file (YAML: ``task: {min: 50, metric: f1, no_constant: true}``), read strictly: an unknown key or
    task is one ``RecipeError`` naming it."""
    data = dict(recipe.read_yaml(path))
    data.pop(INTERMEDIATES_KEY, None)  # read_intermediate_floors
    data.pop(STAND_INS_KEY, None)  # read_stand_ins
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


PHASE_NAMES = {"phase1": "phase 1 (import)", "phase2": "phase 2 (intermediate)", "phase3": "phase 3 (target)"}

md_literal = markdown.md_literal  # the one Markdown rule (xstilts.markdown), kept here for callers


def benchmark_table(results: Iterable[TaskResult], categories: dict[str, list[str]] = XTREME_CATEGORIES
                    ) -> pd.DataFrame:
    """Benchmark score per run (encoder, intermediate, seed, LoRA) with its category and task scores.

    Scores come from ``xstilts.results.benchmark_scores``: a category or overall score is empty (NaN) when one of its
    tasks is missing or partial, and the ``missing``/``partial`` columns name them.
    """

    runs: dict[tuple, list[TaskResult]] = defaultdict(list)
    kinds: dict[tuple, str] = {}
    seedless: dict[tuple, list[TaskResult]] = defaultdict(list)
    for r in recipe_variants(results):
        k = (r.run.encoder, r.run.intermediate, r.run.seed, bool(r.run.lora))
        kinds[k] = r.run.encoder_kind
        if r.run.seed is None:
            seedless[(r.run.encoder, r.run.intermediate, bool(r.run.lora))].append(r)
        else:
            runs[k].append(r)
    # A seedless result (retrieval straight on a phase-1 folder: nothing was trained) belongs to every seed of its
    # configuration; only where no seeded run exists does it form a row of its own.
    for (enc, inter, lora), rs in seedless.items():
        seeded = [k for k in runs if k[:2] == (enc, inter) and k[3] == lora]
        for k in seeded:
            have = {r.task for r in runs[k]}
            runs[k].extend(r for r in rs if r.task not in have)
        if not seeded:
            runs[(enc, inter, None, lora)] = list(rs)
    tasks = [t for ts in categories.values() for t in ts]
    rows = []
    for (enc, inter, seed, lora), rs in runs.items():
        b = benchmark_scores(rs, categories)
        row: dict[str, Any] = {"encoder": enc, "encoder_kind": kinds[(enc, inter, seed, lora)],
                               "intermediate": inter, "seed": seed, "lora": lora, "score": b["score"]}
        row.update({f"[{c}]": v for c, v in b["categories"].items()})
        row.update(b["tasks"])
        row["missing"] = ", ".join(b["missing_tasks"])
        row["partial"] = ", ".join(b["partial_tasks"])
        rows.append(row)
    cols = (["encoder", "encoder_kind", "intermediate", "seed", "lora", "score"] + [f"[{c}]" for c in categories]
            + tasks + ["missing", "partial"])
    df = pd.DataFrame(rows, columns=cols)
    numeric = ["score"] + [f"[{c}]" for c in categories] + tasks
    df[numeric] = df[numeric].astype(float)
    if not df.empty:
        i_rank = {n: k for k, n in enumerate(intermediate_order(df["intermediate"]))}
        df["_i"] = df["intermediate"].map(i_rank)
        df = df.sort_values(["encoder", "_i", "lora", "seed"]).drop(columns="_i").reset_index(drop=True)
    return df


def benchmark_command(argv: list[str]) -> int:
    """``evaluate_xtreme.py benchmark results=DIR [output=OUT.json]``: task, category and overall XTREME / XTREME-R
    scores per run, printed as tables and written as JSON.

    A run's category or overall score is null when one of its tasks is missing or partial (named in the output):
    never an average over fewer tasks. Unreadable result files are skipped with a warning naming them.

    Raises:
        RecipeError: Bad arguments.
        RunFolderError: The results folder does not exist or holds no readable result.
    """
    args = dict(a.split("=", 1) for a in argv if "=" in a)
    bad = [a for a in argv if "=" not in a] + [k for k in args if k not in ("results", "output", "overwrite")]
    if "results" not in args or bad or args.get("overwrite", "false") not in ("true", "false"):
        raise RecipeError([f"benchmark needs results=DIR [output=OUT.json [overwrite=true]] (unexpected {bad})"],
                          "command line")
    if "output" in args:  # before any work: an existing file is replaced only when asked to
        check_new_file(args["output"], args.get("overwrite") == "true")
    if not Path(args["results"]).is_dir():
        raise RunFolderError(f"results folder {args['results']} does not exist")
    good, broken = find_results(args["results"])
    for path, problem in broken:
        log(f"warning: skipped {path}: {problem}")
    if not good:
        raise RunFolderError(f"no readable result files under {args['results']} ({len(broken)} skipped)")
    results = [r for _, r in good]
    report = {}
    for name, categories in (("xtreme", XTREME_CATEGORIES), ("xtreme_r", XTREME_R_CATEGORIES),
                             ("beyond_xtreme", benchmark_categories("beyond_xtreme"))):
        table = benchmark_table(results, categories)
        report[name] = json.loads(table.to_json(orient="records"))
        print(f"# {name}")
        print(table[["encoder", "intermediate", "seed", "lora", "score", *[f"[{c}]" for c in categories],
                     "missing", "partial"]].to_string(index=False))
    report["skipped"] = [{"file": str(p), "problem": m} for p, m in broken]
    if "output" in args:
        atomic_write_json(args["output"], report)
        log(f"benchmark scores -> {args['output']}")
    return 0


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


def _sd(values: list[float]) -> float | None:
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
    return {"score": sum(values) / len(values) if values else None, "sd": _sd(values),
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
    (``reliability[lang].constant``): their score is the class balance, not something learned."""
    langs = result.languages if langs is None else langs
    return [lang for lang in langs if (result.reliability.get(lang) or {}).get("constant")]


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
    by_key: dict[tuple[str, str, str], list[TaskResult]] = {}
    for r in results:
        by_key.setdefault((r.run.encoder, intermediate_label(r.run), r.task), []).append(r)
    rows = []
    for task in task_order({r.task for r in results}):
        groups = [sorted(by_key.get((enc, inter, task), []), key=lambda r: (r.run.seed is None, r.run.seed))
                  for enc, inter in cols]
        cells = [seed_cell(g) if g else None for g in groups]
        if items is not None:
            for (enc, inter), g in zip(cols, groups):
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
                                      for g, ls in zip(groups, non_latin)],
                         "scored": [len(ls) for ls in non_latin],
                         "languages": max(len(ls) for g, ls in zip(groups, non_latin) if g),
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
    """Column ``i`` of a grid row as ``reliability.SeedRun``s (seeds from ``runs_seed``; summary.json files written
    before it: paired by position); ``items``: each run's per-item scores (``score_grid(items=...)``)."""
    scores, cis = row["runs"][i], row["runs_ci95"][i]
    seeds = (row.get("runs_seed") or [None] * len(row["runs"]))[i] or list(range(1, len(scores) + 1))
    per = items if items is not None and len(items) == len(scores) and " (" not in row["task"] else [None] * len(scores)
    p2 = (row.get("runs_phase2_seed") or [None] * len(row["runs"]))[i] or [None] * len(scores)
    return [SeedRun(float(s), c, k, it, q) for s, c, k, it, q in zip(scores, cis, seeds, per, p2)]


def effects(grid: dict[str, Any], items: dict[tuple[str, str, str], list[Any]] | None = None
            ) -> list[dict[str, Any]]:
    """Each intermediate task's change over its encoder's no-intermediate run (same LoRA setting), per task row, with
    the 95% interval of the difference (``reliability.difference``: seeds paired by index and read with t, plus the
    items redrawn on both sides, jointly across translated languages where ``items`` holds per-item scores) and its
    verdict: an effect is called (``up``/``down``) only where the interval excludes zero."""
    items = items or {}
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
            d = difference(seed_runs(row, i, items.get((enc, inter, row["task"]))),
                           seed_runs(row, j, items.get((*base_col, row["task"]))), shared_items=shares_items(task))
            same = same_task(inter, {task, *row.get("trained_on", [[]] * len(cols))[i]})
            coverage = row.get("coverage") or [[] for _ in cols]  # summary.json written before coverage: unknown
            other = coverage_problem(coverage[i], coverage[j])
            verdict, why, low, high = (SAME_TASK, d.why, d.low, d.high) if same else \
                (NOT_COMPARABLE, other, None, None) if other else (d.verdict, d.why, d.low, d.high)
            out.append({"encoder": enc, "intermediate": inter, "task": row["task"], "metric": row["metric"],
                        "score": row["cells"][i], "baseline": row["cells"][j], "delta": d.delta, "low": low,
                        "high": high, "verdict": verdict, "why": why,
                        "seeds": [len(row["runs"][i]), len(row["runs"][j])],
                        "phase2_seeds": len((row.get("phase2_seeds") or [[]] * len(cols))[i]), "pairs": d.pairs})
    return out


def phase_times(results: list[TaskResult]) -> dict[str, Any]:
    """Wall time per phase folder (each counted once, however many results share it) and per evaluation."""
    folders: dict[str, dict[str, Any]] = {}
    for r in results:
        for k, entry in enumerate(r.chain):
            done = entry.get("done") or {}
            # An entry without a folder cannot be matched with the other results': it counts on its own.
            folder = entry.get("folder") or f"(no folder: {r.run.encoder}/{r.run.intermediate}/{r.task} #{k})"
            if entry.get("folder"):  # recorded relative to the run root (the working directory here) or absolute:
                folder = os.path.abspath(str(folder))  # one folder written both ways counts once (no file is read)
            folders.setdefault(folder, {"phase": entry.get("phase"), "wall_time_s": done.get("wall_time_s")})
    evaluations = [{"result": f"{r.run.encoder}/{r.run.intermediate}/{r.task}", "wall_time_s": r.wall_time_s}
                   for r in results]
    totals: dict[str, Any] = {}
    for phase in ("phase1", "phase2", "phase3"):
        times = [f["wall_time_s"] for f in folders.values() if f["phase"] == phase]
        known = [t for t in times if t is not None]
        totals[phase] = {"runs": len(times), "total_s": round(sum(known), 1), "unknown": len(times) - len(known)}
    known = [e["wall_time_s"] for e in evaluations if e["wall_time_s"] is not None]
    totals["evaluation"] = {"runs": len(evaluations), "total_s": round(sum(known), 1),
                            "unknown": len(evaluations) - len(known)}
    totals["all"] = round(sum(t["total_s"] for t in totals.values()), 1)
    # Runs side by side (sweep shards, several machines) make the sum exceed the time the grid took: the span from
    # the first phase's start to the last result says how long it took.
    starts = [_when(e.get("started")) for r in results for e in r.chain]
    ends = [_when(r.created) for r in results]
    starts, ends = [t for t in starts if t is not None], [t for t in ends if t is not None]
    totals["span_s"] = round(max(ends) - min(starts), 1) if starts and ends else None
    return {"totals": totals,
            "folders": {Path(k).name: v for k, v in sorted(folders.items())},
            "evaluations": evaluations}


def _when(stamp: Any) -> float | None:
    """Seconds since the epoch of a recorded time (``%Y-%m-%dT%H:%M:%S%z``), None if absent or unreadable."""
    try:
        return datetime.datetime.strptime(str(stamp), "%Y-%m-%dT%H:%M:%S%z").timestamp()
    except ValueError:
        return None


def environments(results: list[TaskResult]) -> list[dict[str, Any]]:
    """The distinct machines/versions that produced the results (training phases and evaluations)."""
    seen: list[dict[str, Any]] = []
    for r in results:
        for env in [r.environment] + [e.get("environment") for e in r.chain]:
            if env and env not in seen:
                seen.append(env)
    return seen


def _fmt(value: float | None, partial: bool = False, ci95: list[float] | None = None,
         constant: list[str] | None = None, scored: int = 0, sd: float | None = None, seeds: int = 1,
         everywhere: bool | None = None) -> str:
    """A grid cell: ``58.9``, the standard deviation over seeds where there are several (``58.9 ±1.2 (3 seeds)``),
    the interval over examples where the result has one (``[57.1, 60.6]``), ``*`` when partial, and ``const`` when
    every language's predictions are constant (``const 2/7`` when some are)."""
    if value is None:
        return "n/a"
    text = (f"{value:.1f}" + (f" ±{sd:.1f} ({seeds} seeds)" if sd is not None else "")
            + (f" [{ci95[0]:.1f}, {ci95[1]:.1f}]" if ci95 else "") + ("*" if partial else ""))
    if constant:
        # ``everywhere``: every seed constant in every language (summary.json files before it: the languages count)
        whole = everywhere if everywhere is not None else len(constant) >= scored
        text += " const" if whole else f" const {len(constant)}/{scored}" + (" (some seeds)" if len(constant) >= scored
                                                                             else "")
    return text


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def _cell(value: Any) -> str:
    return md_literal(value, table=True)


def results_variant(intermediate: str) -> bool:
    """A column of a recipe variant (``results.recipe_variants``)."""
    return VARIANT_OPEN in intermediate


def encoder_stats(results: list[TaskResult]) -> dict[str, dict[str, Any]]:
    """Per encoder name, the depth and size its phase-1 run recorded (chain ``stats``: num_layers, parameters,
    hidden_size); a value two results of one name disagree on is left out (None) rather than one picked."""
    seen: dict[str, dict[str, set[Any]]] = {}
    for r in results:
        for entry in r.chain:
            if isinstance(entry, dict) and entry.get("phase") == "phase1" and isinstance(entry.get("stats"), dict):
                for key in ("num_layers", "parameters", "hidden_size"):
                    value = entry["stats"].get(key)
                    if isinstance(value, int) and not isinstance(value, bool):
                        seen.setdefault(r.run.encoder, {}).setdefault(key, set()).add(value)
    return {enc: {key: next(iter(v)) if len(v) == 1 else None for key, v in stats.items()}
            for enc, stats in seen.items()}


def floor_rows(results: list[TaskResult], grid: dict[str, Any], floors: dict[str, Floor]) -> list[dict[str, Any]]:
    """A table row per floor that names another metric than its task's row (XQuAD: F1 where the row is the EM/F1
    mean): the seed means of that metric in the grid's columns, shown under the task's row so each number a floor is
    compared with is in the tables under the floor's name. Kept out of the grid: effects stay on the task score."""
    cols = [tuple(c) for c in grid["columns"]]
    main = {row["task"]: row["metric"] for row in grid["rows"]}
    out = []
    for task, floor in floors.items():
        if floor.metric is None or floor.judged_on != "test" or task not in main or floor.metric == main[task]:
            continue
        groups: dict[tuple[str, str], list[TaskResult]] = {}
        for r in recipe_variants(results):
            if r.task == task:
                groups.setdefault((r.run.encoder, intermediate_label(r.run)), []).append(r)
        cells = [seed_cell(groups[c], lambda r, m=floor.metric: r.average.get(m)) if c in groups else None
                 for c in cols]
        out.append({"task": task, "metric": floor.metric, "cells": [c["score"] if c else None for c in cells],
                    "sd": [c["sd"] if c else None for c in cells], "seeds": [c["seeds"] if c else [] for c in cells]})
    return out


def _metric_name(task: str, metric: str) -> str:
    """A floor's metric as the tables name it: its own name, or the task's main metric for "score"."""
    main = TASKS[task].main_metric if task in TASKS else None
    return metric.replace("score", main) if main and metric.endswith("score") else metric


def _names(items: list[str]) -> str:
    return ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else "".join(items)


def _claim_text(claim: dict[str, Any]) -> str:
    text = str(claim.get("claim") or "").rstrip(". ")
    return text[:1].lower() + text[1:]


def headline(summary: dict[str, Any]) -> list[str]:
    """Three to five plain sentences from the analysis: what the grid is, which claims it decides, which targets and
    intermediate tasks learned (meeting their floors), and what could not be tested at this scale."""
    cols = summary["grid"]["columns"]
    encoders = list(dict.fromkeys(enc for enc, _ in cols))
    inters = [i for i in dict.fromkeys(inter for _, inter in cols) if i != BASELINE]
    targets = [row["task"] for row in summary["grid"]["rows"] if " (" not in row["task"]]
    out = [f"{summary['results']} results of {len(encoders)} encoder(s) ({_names(encoders)}), each without an "
           f"intermediate task" + (f" and after {len(inters)} ({_names(inters)})" if inters else "")
           + f", scored zero-shot on {len(targets)} task(s) ({_names(targets)})."]
    judged = summary.get("claims") or []
    decided = [f"{_claim_text(c)}: {c['verdict']}" for c in judged
               if c.get("verdict") in ("supported", "contradicted")]
    out.append(f"The claim{'s' if len(decided) > 1 else ''} of the paper decided beyond noise: {'; '.join(decided)}."
               if decided else "No claim of the paper is supported or contradicted beyond noise here.")
    floors = summary.get("floors") or []
    if floors:
        met = sorted({f["task"] for f in floors if f["met"]})
        unmet = sorted({f["task"] for f in floors if not f["met"]})
        out.append((f"{_names(met)} met {'its' if len(met) == 1 else 'their'} floor"
                    if met else "No target met its floor")
                   + (f"; {_names(unmet)} stayed below, {NOT_LEARNED}, so no effect on "
                      f"{'it' if len(unmet) == 1 else 'them'} is judged." if unmet else "."))
    inter_floors = summary.get("intermediate_floors") or []
    if inter_floors:
        weak = sorted({c["intermediate"] for c in inter_floors if not c["met"]})
        if weak and len(weak) == len({c["intermediate"] for c in inter_floors}):
            out.append(f"No intermediate task reached its own English dev floor ({_names(weak)}), so no "
                       "intermediate-task effect can be judged at this scale.")
        elif weak:
            out.append(f"The intermediate task(s) {_names(weak)} stayed below their English dev floor: their "
                       f"effects are not judged ({INTERMEDIATE_NOT_LEARNED}).")
    untestable = [f"{_claim_text(c)} ({c['verdict']})" for c in judged
                  if str(c.get("verdict", "")).startswith("not testable")]
    if untestable:
        out.append(f"Not testable here: {'; '.join(untestable)}.")
    return out


def confound_lines(summary: dict[str, Any]) -> list[str]:
    """What else differs between the compared cells: encoder depth and size (their phase-1 stats), contrastive
    pretraining, and training sets that stand in for the paper's (the floors file's ``stand_ins``)."""
    lines = []
    stats = summary.get("encoder_stats") or {}
    shown = []
    for enc, st in stats.items():
        parts = [f"{st['num_layers']} layers" if st.get("num_layers") else None,
                 f"{st['parameters'] / 1e6:.0f}M parameters" if st.get("parameters") else None,
                 f"hidden size {st['hidden_size']}" if st.get("hidden_size") else None]
        if any(parts):
            shown.append(f"{md_literal(enc)} {', '.join(p for p in parts if p)}")
    if len(stats) > 1 and shown:
        differ = any(len({(st.get(k)) for st in stats.values()}) > 1 for k in ("num_layers", "parameters"))
        lines.append(f"- Encoder size and depth: {'; '.join(shown)}" + (
            ": the encoders differ in depth or size, not only in their pretraining languages, so a gap between them "
            "is not the languages' alone." if differ else "."))
    contrastive = sorted(enc for enc, c in (summary.get("contrastive") or {}).items() if c)
    if contrastive:
        lines.append(f"- Pretrained contrastively for sentence embeddings (not only masked-language modelling, as "
                     f"the paper's encoders): {', '.join(map(md_literal, contrastive))}.")
    for name, text in (summary.get("stand_ins") or {}).items():
        lines.append(f"- Stand-in training data, {md_literal(name)}: {md_literal(text)}.")
    return ["", "## Confounds", "", *lines] if lines else []


def render(summary: dict[str, Any]) -> str:
    grid, times, envs = summary["grid"], summary["times"], summary["environments"]
    head = [f"{_cell(enc)}<br>{_cell(inter)}" for enc, inter in grid["columns"]]
    lines = []
    if "encoder_stats" in summary:  # summary.json files written before the head: tables only, as then
        lines += [f"# {md_literal(summary.get('title') or 'X-STILTs results')}", "",
                  " ".join(md_literal(s) for s in headline(summary)), *confound_lines(summary), "", "## Tables", ""]
    lines += ["| task | metric | langs | " + " | ".join(head) + " |",
              "|---|---|---|" + "---|" * len(head)]
    for row in grid["rows"]:
        n = len(row["cells"])  # summary.json files written before the intervals have none of these keys
        cells = [_fmt(v, p, ci, const, scored, sd, len(seeds) or 1, whole)
                 for v, p, ci, const, scored, sd, seeds, whole in
                 zip(row["cells"], row["partial"], row.get("ci95", [None] * n), row.get("constant", [[]] * n),
                     row.get("scored", [0] * n), row.get("sd", [None] * n), row.get("seeds", [[]] * n),
                     row.get("all_constant", [None] * n))]
        # A published number for the cell's encoder and task (xstilts/anchors.json), and a beyond-XTREME task's
        # group and chance level, from xstilts.anchors.
        models = summary.get("models")  # absent from summary.json files written before it: the run name matched
        cells = [c + (f"<br>{_cell(note)}" if (note := anchors.cell_note(
                     enc, row["task"], inter, languages=row.get("languages"),
                     model=None if models is None else models.get(enc, ""))) else "")
                 for c, (enc, inter) in zip(cells, grid["columns"])]
        lines.append(f"| {_cell(anchors.task_label(row['task']))} | {_cell(row['metric'])} | {row['languages']} | "
                     + " | ".join(cells) + " |")
        for extra in summary.get("floor_rows") or []:  # the floor's metric of this task, e.g. XQuAD's F1
            if extra["task"] == row["task"]:
                shown = [_fmt(v, False, None, [], 0, sd, len(seeds) or 1) if v is not None else "n/a"
                         for v, sd, seeds in zip(extra["cells"], extra["sd"], extra["seeds"])]
                lines.append(f"| {_cell(anchors.task_label(row['task']))} | {_cell(extra['metric'])} (floor's) | "
                             f"{row['languages']} | " + " | ".join(shown) + " |")
    if any(results_variant(inter) for _, inter in grid["columns"]):
        lines.append("\n[key=value]: runs whose resolved recipes (or split) differ in more than the seed are never "
                     "pooled as seeds: each recipe is a column of its own, named by the keys that differ, and no effect "
                     "is computed across recipes.")
    if any(p for row in grid["rows"] for p in row["partial"]):
        lines.append("\n\\* partial: some languages had no data (named in the result file).")
    if any(sd is not None for row in grid["rows"] for sd in row.get("sd", [])):
        lines.append("\n±sd (k seeds): the mean over k seeds and its standard deviation over them.")
    if any(ci for row in grid["rows"] for ci in row.get("ci95", [])):
        lines.append("\n[low, high]: bootstrap 95% interval of the score (examples resampled in each language; over "
                     "several seeds, the mean of their bounds).")
    if any(c for row in grid["rows"] for c in row.get("constant", [])):
        lines.append(f"\nconst: the model gives one prediction to at least {CONSTANT_SHARE:g}% of the examples in "
                     "every language (k/n: in k of the n languages), so the score is the class balance there, not "
                     "something learned.")
    lines += _floor_lines(summary.get("floors") or [])
    lines += _intermediate_floor_lines(summary.get("intermediate_floors") or [])
    lines += _effect_lines(summary.get("effects") or [])
    lines += _claim_lines(summary.get("claims") or [])
    t = times["totals"]
    lines += ["", "| phase | runs | wall time |", "|---|---|---|"]
    for key, name in [*PHASE_NAMES.items(), ("evaluation", "evaluation")]:
        unknown = f" ({t[key]['unknown']} unknown)" if t[key]["unknown"] else ""
        lines.append(f"| {name} | {t[key]['runs']} | {_minutes(t[key]['total_s'])}{unknown} |")
    lines.append(f"| **all** | | **{_minutes(t['all'])}** |")
    if t.get("span_s") is not None:
        lines.append(f"| first start to last result | | {_minutes(t['span_s'])} |")
    lines += ["", "Machine and versions:"]
    for env in envs:
        e = {k: md_literal(v) for k, v in env.items() if not isinstance(v, (dict, list))}
        packages = env.get("packages") if isinstance(env.get("packages"), dict) else {}
        pk = ", ".join(f"{md_literal(k)} {md_literal(v)}" for k, v in packages.items() if v)
        gpus = env.get("gpus") if isinstance(env.get("gpus"), list) else []
        lines.append(f"- {e.get('cpu')} ({e.get('cpu_count')} cores, torch threads {e.get('torch_threads')}, "
                     f"{e.get('memory_gb')} GiB), GPUs: {', '.join(map(md_literal, gpus)) or 'none'}, "
                     f"processes {e.get('world_size')}; Python {e.get('python')} on {e.get('platform')}; "
                     f"{pk}; xstilts {e.get('xstilts')}")
    return "\n".join(lines) + "\n"


def _floor_lines(checked: list[dict[str, Any]]) -> list[str]:
    """Floors: each target's measured mean against what it must reach before a claim, with its dev curve when not."""
    if not checked:
        return []
    lines = ["", "Floors: what each target must reach (mean over languages) before any claim is drawn from it.", "",
             "| task | encoder | metric | floor | measured | verdict | English dev curve (step: score) |",
             "|---|---|---|---|---|---|---|"]
    for f in checked:
        measured = f"{f['measured']:.1f}" if f["measured"] is not None else "n/a"
        verdict = "met" if f["met"] else f"{NOT_LEARNED} ({f['why']})"
        curve = " ".join(f"{step:g}: {score:.1f}" for step, score in (f["dev_curves"] or [[]])[0]) \
            if not f["met"] and f["dev_curves"] else ""
        metric = _metric_name(f["task"], f["metric"])
        lines.append(f"| {_cell(f['task'])} | {_cell(f['encoder'] or 'n/a')} | {_cell(metric)} | {f['floor']:g} | "
                     f"{measured} | {_cell(verdict)} | {_cell(curve)} |")
    return lines


def _intermediate_floor_lines(checked: list[dict[str, Any]]) -> list[str]:
    """Intermediate floors: each intermediate's English dev value (its phase-2 runs) against its floor."""
    if not checked:
        return []
    lines = ["", "Intermediate floors: what each intermediate task must reach on its own English dev set (mean over "
             "its phase-2 runs) before its effects are judged.", "",
             "| encoder | intermediate | metric | floor | measured | phase-2 runs | verdict |", "|---|---|---|---|---|---|---|"]
    for c in checked:
        measured = f"{c['measured']:.1f}" if c["measured"] is not None else "n/a"
        verdict = "met" if c["met"] else f"{INTERMEDIATE_NOT_LEARNED} ({c['why']})"
        metric = _metric_name(c["intermediate"], c["metric"])
        lines.append(f"| {_cell(c['encoder'])} | {_cell(c['intermediate'])} | {_cell(metric)} | {c['floor']:g} | "
                     f"{measured} | {c['phase2_runs']} | {_cell(verdict)} |")
    return lines


def _phase2_note(effect: dict[str, Any]) -> str:
    """How many phase-2 runs a cell's seeds started from (summary.json files before it: nothing): one phase-2 run
    under several phase-3 seeds leaves the phase-2 noise out of the interval."""
    k = effect.get("phase2_seeds")
    return f" (phase 2: {k})" if isinstance(k, int) and k > 0 else ""


def _effect_lines(found: list[dict[str, Any]]) -> list[str]:
    """The intermediate-task effects as a table: change over the baseline, its 95% interval, the verdict."""
    if not found:
        return []
    lines = ["", "Intermediate-task effects: the change of each cell over its encoder's no-intermediate run, with the "
             "95% interval of the paired difference (seed i against seed i, read with Student's t over the seeds, "
             "plus the test items redrawn on both sides: jointly across translated languages where the results "
             "keep per-item scores, from the recorded intervals otherwise, as the noise column says; one trained "
             "seed a side: no interval); an effect is called only where the interval excludes zero.", "",
             "| encoder | intermediate | task | change | 95% interval | verdict | seeds | noise |",
             "|---|---|---|---|---|---|---|---|"]
    for e in found:
        interval = f"[{e['low']:+.1f}, {e['high']:+.1f}]" if e["low"] is not None else "n/a"
        lines.append(f"| {_cell(e['encoder'])} | {_cell(e['intermediate'])} | {_cell(e['task'])} | {e['delta']:+.1f} | "
                     f"{interval} | {e['verdict']} | {e['seeds'][0]} vs {e['seeds'][1]}{_phase2_note(e)} | "
                     f"{_cell(e['why'])} |")
    return lines


def _claim_lines(judged: list[dict[str, Any]]) -> list[str]:
    """The paper's claims, each with its verdict at this scale and the numbers it rests on."""
    if not judged:
        return []
    lines = ["", "The paper's claims at this scale (rules in xstilts/claims.py: an effect counts only beyond noise, on "
             "learned targets, for the multilingual encoder):", ""]
    for c in judged:
        lines.append(f"- **{md_literal(c['verdict'])}**: {md_literal(c['claim'])}. {md_literal(c['scope'])}.")
        lines += [f"  - {md_literal(e)}" for e in c["evidence"]]
    return lines


def contrastive_encoder(result: TaskResult) -> bool:
    """Whether a result's encoder was pretrained contrastively as a sentence encoder (``families.is_contrastive`` on
    its phase-1 model, else on the encoder's name)."""
    for entry in result.chain:
        if isinstance(entry, dict) and entry.get("phase") == "phase1" and isinstance(entry.get("recipe"), dict):
            model = entry["recipe"].get("model")
            if isinstance(model, str) and model:
                return is_contrastive(model) or is_contrastive(result.run.encoder)
    return is_contrastive(result.run.encoder)


def summarize(root: str | Path, found: tuple[list, list] | None = None,
              floors: dict[str, Floor] | None = None,
              intermediate_floors: dict[str, IntermediateFloor] | None = None,
              stand_ins: dict[str, str] | None = None) -> dict[str, Any]:
    """The summary of a results folder; ``skipped`` lists the files that could not be read, with the problem.

    Args:
        root: The results folder.
        found: ``find_results(root)`` when the caller already has it.
        floors: task -> the floor it must reach; a target below it is "not learned at this budget": its effects
            get that verdict instead of a claim.

    Raises:
        FileNotFoundError: No readable result file (the message counts the skipped ones).
    """
    good, bad = found if found is not None else find_results(root)
    if not good:
        raise FileNotFoundError(f"no readable result files under {root}" + (f" ({len(bad)} skipped)" if bad else ""))
    results = [r for _, r in good]
    items: dict[tuple[str, str, str], list[Any]] = {}
    grid = score_grid(results, items)
    checked = check_floors(results, floors or {})
    not_learned = {f["task"] for f in checked if not f["met"]}
    inter_checked = check_intermediate_floors(results, intermediate_floors or {})
    weak = intermediate_not_learned(inter_checked)
    found_effects = [{**e, "verdict": NOT_LEARNED} if e["task"].split(" (")[0] in not_learned
                     and e["verdict"] not in (SAME_TASK, NOT_COMPARABLE) else e for e in effects(grid, items)]
    found_effects = [{**e, "verdict": INTERMEDIATE_NOT_LEARNED} if (e["encoder"], e["intermediate"]) in weak
                     and e["verdict"] not in (SAME_TASK, NOT_COMPARABLE) else e for e in found_effects]
    summary = {"root": str(root), "results": len(results),
               "skipped": [{"file": str(p), "problem": m} for p, m in bad], "grid": grid, "floors": checked,
               "intermediate_floors": inter_checked,
               "effects": found_effects, "times": phase_times(dedupe(results)), "environments": environments(results)}
    summary["contrastive"] = {r.run.encoder: contrastive_encoder(r) for r in results}
    summary["encoder_stats"] = encoder_stats(results)
    summary["floor_rows"] = floor_rows(results, grid, floors or {})
    names = {inter for _, inter in grid["columns"]} | {r.task for r in results}
    summary["stand_ins"] = {k: v for k, v in (stand_ins or {}).items() if k in names}
    summary["title"] = f"X-STILTs results: {Path(root).resolve().name}"  # the folder name, no path of this machine
    # The phase-1 model of each encoder name, for the published numbers beside its cells (anchors.cell_note); a name
    # given to two different models matches none.
    made_from: dict[str, set[str]] = {}
    for r in results:
        made_from.setdefault(r.run.encoder, set()).add(anchors.phase1_model(r.chain))
    summary["models"] = {enc: next(iter(m - {""})) if len(m - {""}) == 1 else "" for enc, m in made_from.items()}
    summary["claims"] = claims.judge(summary, {r.run.encoder: r.run.encoder_kind for r in results})
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xstilts.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("results", help="a results folder (searched recursively for result files)")
    parser.add_argument("--write", metavar="FILE.md", help="also write the Markdown here and summary.json beside it")
    parser.add_argument("--floors", metavar="FILE.yaml", help="what each target must reach before a claim (task: "
                                                             "{min: 50, metric: f1, no_constant: true})")
    parser.add_argument("--force", action="store_true", help="replace existing --write files")
    args = parser.parse_args(argv)
    try:
        floors = read_floors(args.floors) if args.floors else None
        intermediate_floors = read_intermediate_floors(args.floors) if args.floors else None
        stand_ins = read_stand_ins(args.floors) if args.floors else None
        if args.write:  # before any work: neither file is replaced unless --force says so
            for path in (Path(args.write), Path(args.write).with_name("summary.json")):
                check_new_file(path, args.force, "--write", "pass --force")
    except XstiltsError as exc:
        print(f"xstilts.report: error: {exc}", file=sys.stderr)
        return 2
    found = find_results(args.results)
    for path, problem in found[1]:  # the same lines as `evaluate_xtreme.py benchmark`
        print(f"warning: skipped {path}: {problem}", file=sys.stderr)
    try:
        summary = summarize(args.results, found, floors, intermediate_floors, stand_ins)
    except (FileNotFoundError, RecipeError) as exc:
        print(f"xstilts.report: error: {exc}", file=sys.stderr)
        return 2
    text = render(summary)
    print(text, end="")
    if args.write:
        out = Path(args.write)
        try:
            atomic_write_text(out, text)
            atomic_write_json(out.with_name("summary.json"), summary)
        except XstiltsError as exc:  # unwritable place, full disk: one line naming the file
            print(f"xstilts.report: error: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {out} and {out.with_name('summary.json')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
