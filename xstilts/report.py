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
import datetime
import json
import os
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from xstilts import analysis, anchors, claims
from xstilts.analysis import (
    INTERMEDIATE_NOT_LEARNED,
    NOT_LEARNED,
    Floor,
    IntermediateFloor,
    intermediate_label,
    read_floors,
    read_intermediate_floors,
    read_confounds,
    read_stand_ins,
    score_grid,
    seed_cell,
)
from xstilts.errors import RunFolderError, XstiltsError
from xstilts.families import is_contrastive
from xstilts.log import log
from xstilts.markdown import md_literal
from xstilts.recipe import RecipeError
from xstilts.reliability import CONSTANT_SHARE
from xstilts.results import (
    BASELINE,
    VARIANT_OPEN,
    XTREME_CATEGORIES,
    XTREME_R_CATEGORIES,
    TaskResult,
    benchmark_scores,
    dedupe,
    find_results,
    intermediate_order,
    recipe_variants,
)
from xstilts.runfiles import atomic_write_json, atomic_write_text, check_new_file
from xstilts.tasks import TASKS, benchmark_categories


PHASE_NAMES = {"phase1": "phase 1 (import)", "phase2": "phase 2 (intermediate)", "phase3": "phase 3 (target)"}


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
        unmet = sorted({f["task"] for f in floors if not f["met"] and f["measured"] is not None})
        # a floor with no run to measure (a grid still running block by block) is not a target that failed
        not_run = sorted({f["task"] for f in floors if f["measured"] is None} - set(met) - set(unmet))
        out.append((f"{_names(met)} met {'its' if len(met) == 1 else 'their'} floor"
                    if met else "No target met its floor")
                   + (f"; {_names(unmet)} stayed below, {NOT_LEARNED}, so no effect on "
                      f"{'it' if len(unmet) == 1 else 'them'} is judged" if unmet else "")
                   + (f"; {_names(not_run)} not run yet (no run to measure {'its' if len(not_run) == 1 else 'their'}"
                      " floor on)" if not_run else "") + ".")
    inter_floors = summary.get("intermediate_floors") or []
    if inter_floors:
        weak = sorted({c["intermediate"] for c in inter_floors if not c["met"]})
        if weak and len(weak) == len({c["intermediate"] for c in inter_floors}):
            out.append(f"No intermediate task reached its own English dev floor ({_names(weak)}), so no "
                       "intermediate-task effect can be judged at this scale.")
        elif weak:
            out.append(f"The intermediate task(s) {_names(weak)} stayed below their English dev floor: their "
                       f"effects are not judged ({INTERMEDIATE_NOT_LEARNED}).")
    effects = effects_sentence(summary.get("effects") or [])
    untestable = [f"{_claim_text(c)} ({c['verdict']})" for c in judged
                  if str(c.get("verdict", "")).startswith("not testable")]
    if effects and len(out) + bool(untestable) < 5:  # at most five sentences: the effects table holds them too
        out.append(effects)
    if untestable:
        out.append(f"Not testable here: {'; '.join(untestable)}.")
    return out


def effects_sentence(effects: list[dict[str, Any]]) -> str | None:
    """One sentence on the intermediate-task effects that were judged (learned intermediate, learned target, an
    interval): how many lie beyond noise, which, and how many within it; None when none was judged."""
    judged = [e for e in effects if e.get("verdict") in (analysis.UP, analysis.DOWN, analysis.WITHIN_NOISE)
              and " (" not in e["task"]]
    if not judged:
        return None
    beyond = [e for e in judged if e["verdict"] != analysis.WITHIN_NOISE]
    if not beyond:
        return f"Every intermediate-task effect judged ({len(judged)}) is within noise."
    named = ", ".join(f"{e['task']} {e['verdict']} after {e['intermediate']} ({e['delta']:+.1f})" for e in beyond)
    rest = len(judged) - len(beyond)
    return (f"Of {len(judged)} intermediate-task effects judged, {len(beyond)} lie beyond the noise of seeds and "
            f"items: {named}" + (f"; the other {rest} {'is' if rest == 1 else 'are'} within noise." if rest else "."))


def confound_lines(summary: dict[str, Any]) -> list[str]:
    """What else differs between the compared cells: encoder depth and size (their phase-1 stats), contrastive
    pretraining, training sets that stand in for the paper's (the floors file's ``stand_ins``) and what else the
    floors file says the grid could not have (``confounds``)."""
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
    lines += [f"- {md_literal(text)}" for text in summary.get("confounds") or []]
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
                     row.get("all_constant", [None] * n), strict=True)]
        # A published number for the cell's encoder and task (xstilts/anchors.json), and a beyond-XTREME task's
        # group and chance level, from xstilts.anchors.
        models = summary.get("models")  # absent from summary.json files written before it: the run name matched
        cells = [c + (f"<br>{_cell(note)}" if (note := anchors.cell_note(
                     enc, row["task"], inter, languages=row.get("languages"),
                     model=None if models is None else models.get(enc, ""))) else "")
                 for c, (enc, inter) in zip(cells, grid["columns"], strict=True)]
        lines.append(f"| {_cell(anchors.task_label(row['task']))} | {_cell(row['metric'])} | {row['languages']} | "
                     + " | ".join(cells) + " |")
        for extra in summary.get("floor_rows") or []:  # the floor's metric of this task, e.g. XQuAD's F1
            if extra["task"] == row["task"]:
                shown = [_fmt(v, False, None, [], 0, sd, len(seeds) or 1) if v is not None else "n/a"
                         for v, sd, seeds in zip(extra["cells"], extra["sd"], extra["seeds"], strict=True)]
                lines.append(f"| {_cell(anchors.task_label(row['task']))} | {_cell(extra['metric'])} (floor's) | "
                             f"{row['languages']} | " + " | ".join(shown) + " |")
    if any(results_variant(inter) for _, inter in grid["columns"]):
        lines.append("\n[key=value]: runs whose resolved recipes (or split) differ in more than the seed are never "
                     "pooled as seeds: each recipe is a column of its own, named by the keys that differ, and no "
                     "effect is computed across recipes.")
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
             "| encoder | intermediate | metric | floor | measured | phase-2 runs | verdict |",
             "|---|---|---|---|---|---|---|"]
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
              stand_ins: dict[str, str] | None = None, confounds: list[str] | None = None) -> dict[str, Any]:
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
    checked = analysis.check_floors(results, floors or {})
    inter_checked = analysis.check_intermediate_floors(results, intermediate_floors or {})
    found_effects = analysis.effects(grid, items, analysis.targets_not_learned(checked),
                                     analysis.intermediate_not_learned(inter_checked))
    summary = {"root": str(root), "results": len(results),
               "skipped": [{"file": str(p), "problem": m} for p, m in bad], "grid": grid, "floors": checked,
               "intermediate_floors": inter_checked,
               "effects": found_effects, "times": phase_times(dedupe(results)), "environments": environments(results)}
    summary["contrastive"] = {r.run.encoder: contrastive_encoder(r) for r in results}
    summary["encoder_stats"] = encoder_stats(results)
    summary["floor_rows"] = floor_rows(results, grid, floors or {})
    names = {inter for _, inter in grid["columns"]} | {r.task for r in results}
    summary["stand_ins"] = {k: v for k, v in (stand_ins or {}).items() if k in names}
    summary["confounds"] = list(confounds or [])
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
        confounds = read_confounds(args.floors) if args.floors else None
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
        summary = summarize(args.results, found, floors, intermediate_floors, stand_ins, confounds)
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
