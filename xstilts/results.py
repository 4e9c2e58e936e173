"""The one results schema: written by ``evaluate_xtreme.py``, read by the viewer and the benchmark aggregation.

A result file is ``<task>.json`` (indented, sorted keys) holding the per-language metrics of one task for one
checkpoint, the task average and score, and the provenance chain back to phase 1. Reading validates the shape and
raises ``ResultsError`` naming the file and the problem, so callers can skip a broken file with a warning instead of
folding garbage into a benchmark score.
"""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

from xstilts.io import atomic_write_json

SCHEMA = "xstilts.results/v1"

# XTREME (Hu et al. 2020) and XTREME-R (Ruder et al. 2021) categories, as task registry names.
XTREME_CATEGORIES: dict[str, list[str]] = {
    "classification": ["xnli", "pawsx"],
    "structured_prediction": ["udpos", "panx"],
    "question_answering": ["xquad", "mlqa", "tydiqa"],
    "retrieval": ["bucc2018", "tatoeba"],
}
XTREME_R_CATEGORIES: dict[str, list[str]] = {
    "classification": ["xnli", "xcopa"],
    "structured_prediction": ["udpos", "panx"],
    "question_answering": ["xquad", "mlqa", "tydiqa"],
    "retrieval": ["mewslix", "lareqa", "tatoeba"],
}


# JSON files of model and run folders that are never results (tokenizer.json alone can be 17 MB).
NOT_RESULTS = {"tokenizer.json", "tokenizer_config.json", "config.json", "trainer_state.json", "special_tokens_map.json",
               "heads.json", "adapter_config.json", "run.json", "metrics.json", "encoder_stats.json",
               "generation_config.json", "model.safetensors.index.json", "DONE"}


class ResultsError(ValueError):
    """A result file is missing, truncated, or does not follow the schema."""


@dataclasses.dataclass
class RunInfo:
    """What distinguishes one run from another in the viewer's comparisons."""

    encoder: str  # phase-1 name (e.g. "xlm-roberta-large", "tiny-multilingual")
    encoder_kind: str  # "multilingual", "english" or "unknown" (from the phase-1 recipe)
    intermediate: str  # "none", a task name, or "multi:<t1>+<t2>..."
    target: str  # the phase-3 task (equal to `task` except for retrieval on phase-1/2 folders)
    seed: int | None = None
    lora: bool = False


@dataclasses.dataclass
class TaskResult:
    """Per-language scores of one task for one checkpoint (schema ``xstilts.results/v1``)."""

    task: str
    task_type: str
    split: str
    data_source: str
    main_metric: str  # the metric the task score is built from ("accuracy", "f1", "exact_match+f1")
    languages: dict[str, dict[str, float]]  # lang -> metric -> value (percent) plus "n" (examples)
    average: dict[str, float]  # metric -> unweighted mean over languages
    score: float  # the task score (QA: (EM + F1) / 2 of the averages)
    missing_languages: list[str]
    partial: bool
    checkpoint: str
    run: RunInfo
    chain: list[dict[str, Any]]  # [{"phase", "folder", "recipe", ...}] newest first, back to phase 1
    created: str
    version: str
    notes: list[str] = dataclasses.field(default_factory=list)
    # Where and how long the evaluation itself ran (the training phases' own are in each chain entry).
    environment: dict[str, Any] = dataclasses.field(default_factory=dict)
    wall_time_s: float | None = None
    schema: str = SCHEMA

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def average_metrics(languages: dict[str, dict[str, float]]) -> dict[str, float]:
    """Unweighted mean over languages of every metric present in all of them (the benchmark's task average)."""
    if not languages:
        return {}
    names = set.intersection(*(set(m) for m in languages.values())) - {"n"}
    return {name: sum(m[name] for m in languages.values()) / len(languages) for name in sorted(names)}


def task_score(main_metric: str, average: dict[str, float]) -> float:
    """The task score from the averages: QA is (EM + F1) / 2, every other task its main metric."""
    if main_metric == "exact_match+f1":
        return (average["exact_match"] + average["f1"]) / 2
    return average[main_metric]


def write_result(path: str | Path, result: TaskResult) -> None:
    """Writes a result atomically (never a half-written file that parses)."""
    atomic_write_json(path, result.to_dict())


def _check(cond: bool, path: Path, problem: str) -> None:
    if not cond:
        raise ResultsError(f"{path}: {problem}")


def read_result(path: str | Path) -> TaskResult:
    """Reads and validates one result file.

    Raises:
        ResultsError: the file is missing, not JSON (e.g. truncated), of another schema, or has non-finite numbers.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"{p}: no such result file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{p}: not valid JSON ({exc}); the file is truncated or corrupted, re-run the evaluation") from None
    _check(isinstance(data, dict), p, "top level is not a mapping")
    _check(data.get("schema") == SCHEMA, p, f"schema is {data.get('schema')!r}, expected {SCHEMA!r}")
    fields = {f.name for f in dataclasses.fields(TaskResult)}
    optional = {f.name for f in dataclasses.fields(TaskResult)
                if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING}
    missing = sorted(f for f in fields if f not in data and f not in optional)
    _check(not missing, p, f"missing keys {missing}")
    _check(isinstance(data["languages"], dict) and data["languages"], p, "no per-language results")
    for lang, metrics in data["languages"].items():
        _check(isinstance(metrics, dict), p, f"languages.{lang} is not a mapping")
        for name, value in metrics.items():
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            _check(ok, p, f"languages.{lang}.{name} is not a finite number: {value!r}")
    _check(isinstance(data["score"], (int, float)) and math.isfinite(data["score"]), p, "score is not a finite number")
    run_fields = {f.name for f in dataclasses.fields(RunInfo)}
    _check(isinstance(data["run"], dict) and set(data["run"]) <= run_fields, p, "run block malformed")
    run = RunInfo(**data["run"])
    kwargs = {k: v for k, v in data.items() if k in fields and k != "run"}
    return TaskResult(run=run, **kwargs)


def find_results(root: str | Path) -> tuple[list[tuple[Path, TaskResult]], list[tuple[Path, str]]]:
    """Every result file below ``root``: (readable results, [(path, problem)] for broken ones).

    A result file is any ``*.json`` whose top level declares the results schema; JSON that does not parse at all is
    reported as broken (a truncated result no longer shows its schema). Other JSON (configs, metrics) is ignored.
    """
    root = Path(root)
    good: list[tuple[Path, TaskResult]] = []
    bad: list[tuple[Path, str]] = []
    for path in sorted(root.rglob("*.json")):
        if not path.is_file() or path.is_symlink() or path.name in NOT_RESULTS:
            continue
        if path.stat().st_size > 20 * 2**20:  # tokenizer/weight indexes, never a result file
            continue
        try:
            parsed = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            # A result cut off mid-write no longer says which schema it had: any unreadable JSON is reported.
            bad.append((path, f"{path}: not valid JSON ({exc}); the file is truncated or corrupted"))
            continue
        if not (isinstance(parsed, dict) and parsed.get("schema") == SCHEMA):
            continue
        try:
            good.append((path, read_result(path)))
        except ResultsError as exc:
            bad.append((path, str(exc)))
    return good, bad


def benchmark_of(categories: dict[str, list[str]]) -> str:
    """The benchmark whose language sets a category table scores with: "xtreme_r" for ``XTREME_R_CATEGORIES``,
    "xtreme" otherwise."""
    return "xtreme_r" if categories == XTREME_R_CATEGORIES else "xtreme"


def uncovered_languages(result: TaskResult, benchmark: str = "xtreme") -> list[str]:
    """The languages of the result's task in ``benchmark``'s set that the result has no score for: what makes it
    partial, named also for results written before ``partial`` accounted for ``languages=`` subsets (a task outside
    the registry is judged by its own ``missing_languages``)."""
    from xstilts.tasks import TASKS, benchmark_languages

    task = TASKS.get(result.task)
    expected = benchmark_languages(task, benchmark) if task is not None else ()
    absent = [lang for lang in expected if lang not in result.languages]
    return absent + [lang for lang in result.missing_languages if lang not in absent and lang not in result.languages]


def benchmark_scores(
    results: list[TaskResult], categories: dict[str, list[str]] = XTREME_CATEGORIES, benchmark: str | None = None
) -> dict[str, Any]:
    """XTREME(-R) score from one chain's task results: task scores, category means and the overall mean.

    A task that is absent or partial is named and excluded: the category and overall scores are then ``None`` rather
    than a silent average over fewer tasks or fewer languages. Partial means marked ``partial`` in the file *or*
    lacking a score for any language of the task in the benchmark's language set (``benchmark``, by default the one
    of ``categories``): a result over a ``languages=`` subset never stands in for the task score. The missing
    languages of each partial task are listed under ``partial_languages``.
    """
    benchmark = benchmark or benchmark_of(categories)
    by_task = {r.task: r for r in results}
    tasks: dict[str, float | None] = {}
    missing, partial = [], []
    partial_languages: dict[str, list[str]] = {}
    for names in categories.values():
        for name in names:
            r = by_task.get(name)
            if r is None:
                missing.append(name)
                tasks[name] = None
                continue
            absent = uncovered_languages(r, benchmark)
            if r.partial or absent:
                partial.append(name)
                partial_languages[name] = absent
                tasks[name] = None
            else:
                tasks[name] = r.score
    cats: dict[str, float | None] = {}
    for cat, names in categories.items():
        vals = [tasks[n] for n in names]
        cats[cat] = None if any(v is None for v in vals) else sum(vals) / len(vals)
    all_vals = [tasks[n] for names in categories.values() for n in names]
    overall = None if any(v is None for v in all_vals) else sum(all_vals) / len(all_vals)
    return {"tasks": tasks, "categories": cats, "score": overall, "missing_tasks": missing, "partial_tasks": partial,
            "partial_languages": partial_languages}
