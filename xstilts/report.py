"""A results folder as a publishable summary: the score grid, time per phase, machine and library versions.

    python -m xstilts.report results/mini                      # print the Markdown summary
    python -m xstilts.report results/mini --write results/mini/SUMMARY.md   # and write it (plus summary.json)

Everything comes from the result files themselves: scores from each ``<task>.json``, the training phases' wall
times and machines from the provenance chain each result carries (``done.wall_time_s``, ``environment``), the
evaluation's own from the result. Nothing is re-measured, so the summary is only as complete as the results are:
results written before a field existed show it as unknown. Result files that cannot be read (wrong-typed fields,
truncated, too large) are listed on stderr and in ``summary.json`` (``skipped``) and left out; every string taken
from a result file is escaped in the Markdown, so it shows as text on GitHub (never a link or an image).
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from xstilts.reliability import CONSTANT_SHARE
from xstilts.results import TaskResult, find_results
from xstilts.runfiles import atomic_write_json, atomic_write_text
from xstilts.view.loading import dedupe, intermediate_order, md_literal, script_of, task_order

PHASE_NAMES = {"phase1": "phase 1 (import)", "phase2": "phase 2 (intermediate)", "phase3": "phase 3 (target)"}


def columns(results: Iterable[TaskResult]) -> list[tuple[str, str]]:
    """(encoder, intermediate) pairs: multilingual encoders first, the no-intermediate baseline first per encoder."""
    results = list(results)
    kinds = {r.run.encoder: r.run.encoder_kind for r in results}
    encoders = sorted(kinds, key=lambda e: (kinds[e] != "multilingual", e))
    out = []
    for enc in encoders:
        for inter in intermediate_order({r.run.intermediate for r in results if r.run.encoder == enc}):
            out.append((enc, inter))
    return out


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


def score_grid(results: list[TaskResult]) -> dict[str, Any]:
    """{"columns": [[encoder, intermediate]], "rows": [{"task", "metric", "cells": [score | None], "partial": [...],
    "ci95": [[low, high] | None], "constant": [[lang...]], "languages"}]} with one row per task plus a Tatoeba row
    over non-Latin-script languages (no interval: the result holds none for that subset)."""
    results = dedupe(results)
    cols = columns(results)
    by_key = {(r.run.encoder, r.run.intermediate, r.task): r for r in results}
    rows = []
    for task in task_order({r.task for r in results}):
        cells = [by_key.get((enc, inter, task)) for enc, inter in cols]
        metric = next(c.main_metric for c in cells if c is not None)
        rows.append({"task": task, "metric": metric, "cells": [c.score if c else None for c in cells],
                     "partial": [bool(c and c.partial) for c in cells],
                     "ci95": [c.score_ci95 if c else None for c in cells],
                     "constant": [constant_languages(c) if c else [] for c in cells],
                     "scored": [len(c.languages) if c else 0 for c in cells],
                     "languages": max(len(c.languages) for c in cells if c is not None)})
        if task == "tatoeba":
            non_latin = [[lang for lang in c.languages if script_of(lang) != "Latin"] if c else [] for c in cells]
            rows.append({"task": "tatoeba (non-Latin scripts)", "metric": metric,
                         "cells": [non_latin_mean(c) if c else None for c in cells],
                         "partial": [bool(c and c.partial) for c in cells],
                         "ci95": [None for _ in cells],
                         "constant": [constant_languages(c, ls) if c else [] for c, ls in zip(cells, non_latin)],
                         "scored": [len(ls) for ls in non_latin],
                         "languages": max(len(ls) for c, ls in zip(cells, non_latin) if c is not None)})
    return {"columns": [list(c) for c in cols], "rows": rows}


def phase_times(results: list[TaskResult]) -> dict[str, Any]:
    """Wall time per phase folder (each counted once, however many results share it) and per evaluation."""
    folders: dict[str, dict[str, Any]] = {}
    for r in results:
        for k, entry in enumerate(r.chain):
            done = entry.get("done") or {}
            # An entry without a folder cannot be matched with the other results': it counts on its own.
            folder = entry.get("folder") or f"(no folder: {r.run.encoder}/{r.run.intermediate}/{r.task} #{k})"
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
    return {"totals": totals,
            "folders": {Path(k).name: v for k, v in sorted(folders.items())},
            "evaluations": evaluations}


def environments(results: list[TaskResult]) -> list[dict[str, Any]]:
    """The distinct machines/versions that produced the results (training phases and evaluations)."""
    seen: list[dict[str, Any]] = []
    for r in results:
        for env in [r.environment] + [e.get("environment") for e in r.chain]:
            if env and env not in seen:
                seen.append(env)
    return seen


def _fmt(value: float | None, partial: bool = False, ci95: list[float] | None = None,
         constant: list[str] | None = None, scored: int = 0) -> str:
    """A grid cell: ``58.9``, with its interval where the result has one (``58.9 [57.1, 60.6]``), ``*`` when
    partial, and ``const`` when every language's predictions are constant (``const 2/7`` when some are)."""
    if value is None:
        return "n/a"
    text = f"{value:.1f}" + (f" [{ci95[0]:.1f}, {ci95[1]:.1f}]" if ci95 else "") + ("*" if partial else "")
    if constant:
        text += " const" if len(constant) >= scored else f" const {len(constant)}/{scored}"
    return text


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def _cell(value: Any) -> str:
    return md_literal(value, table=True)


def render(summary: dict[str, Any]) -> str:
    grid, times, envs = summary["grid"], summary["times"], summary["environments"]
    head = [f"{_cell(enc)}<br>{_cell(inter)}" for enc, inter in grid["columns"]]
    lines = ["| task | metric | langs | " + " | ".join(head) + " |",
             "|---|---|---|" + "---|" * len(head)]
    for row in grid["rows"]:
        n = len(row["cells"])  # summary.json files written before the intervals have none of these keys
        cells = [_fmt(v, p, ci, const, scored) for v, p, ci, const, scored in
                 zip(row["cells"], row["partial"], row.get("ci95", [None] * n), row.get("constant", [[]] * n),
                     row.get("scored", [0] * n))]
        lines.append(f"| {_cell(row['task'])} | {_cell(row['metric'])} | {row['languages']} | " + " | ".join(cells)
                     + " |")
    if any(p for row in grid["rows"] for p in row["partial"]):
        lines.append("\n\\* partial: some languages had no data (named in the result file).")
    if any(ci for row in grid["rows"] for ci in row.get("ci95", [])):
        lines.append("\n[low, high]: bootstrap 95% interval of the score (examples resampled in each language).")
    if any(c for row in grid["rows"] for c in row.get("constant", [])):
        lines.append(f"\nconst: the model gives one prediction to at least {CONSTANT_SHARE:g}% of the examples in "
                     "every language (k/n: in k of the n languages), so the score is the class balance there, not "
                     "something learned.")
    t = times["totals"]
    lines += ["", "| phase | runs | wall time |", "|---|---|---|"]
    for key, name in [*PHASE_NAMES.items(), ("evaluation", "evaluation")]:
        unknown = f" ({t[key]['unknown']} unknown)" if t[key]["unknown"] else ""
        lines.append(f"| {name} | {t[key]['runs']} | {_minutes(t[key]['total_s'])}{unknown} |")
    lines.append(f"| **all** | | **{_minutes(t['all'])}** |")
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


def summarize(root: str | Path, found: tuple[list, list] | None = None) -> dict[str, Any]:
    """The summary of a results folder; ``skipped`` lists the files that could not be read, with the problem.

    Args:
        root: The results folder.
        found: ``find_results(root)`` when the caller already has it.

    Raises:
        FileNotFoundError: No readable result file (the message counts the skipped ones).
    """
    good, bad = found if found is not None else find_results(root)
    if not good:
        raise FileNotFoundError(f"no readable result files under {root}" + (f" ({len(bad)} skipped)" if bad else ""))
    results = [r for _, r in good]
    return {"root": str(root), "results": len(results), "skipped": [{"file": str(p), "problem": m} for p, m in bad],
            "grid": score_grid(results), "times": phase_times(dedupe(results)),
            "environments": environments(results)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xstilts.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("results", help="a results folder (searched recursively for result files)")
    parser.add_argument("--write", metavar="FILE.md", help="also write the Markdown here and summary.json beside it")
    args = parser.parse_args(argv)
    found = find_results(args.results)
    for path, problem in found[1]:  # the same lines as `evaluate_xtreme.py benchmark`
        print(f"warning: skipped {path}: {problem}", file=sys.stderr)
    try:
        summary = summarize(args.results, found)
    except FileNotFoundError as exc:
        print(f"xstilts.report: error: {exc}", file=sys.stderr)
        return 2
    text = render(summary)
    print(text, end="")
    if args.write:
        out = Path(args.write)
        atomic_write_text(out, text)
        atomic_write_json(out.with_name("summary.json"), summary)
        print(f"wrote {out} and {out.with_name('summary.json')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
