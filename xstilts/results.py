"""The one results schema: written by ``evaluate_xtreme.py``, read by the viewer and the benchmark aggregation.

A result file is ``<task>.json`` (indented, sorted keys) holding the per-language metrics of one task for one
checkpoint, the task average and score, and the provenance chain back to phase 1. Reading validates the shape and
raises ``ResultsError`` naming the file and the problem, so callers can skip a broken file with a warning instead of
folding garbage into a benchmark score.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from xstilts.errors import XstiltsError
from xstilts.runfiles import atomic_write_json
from xstilts.tasks import TASKS, benchmark_categories, benchmark_languages

SCHEMA = "xstilts.results/v1"

# XTREME (Hu et al. 2020) and XTREME-R (Ruder et al. 2021) categories -> task registry names, from the registry.
XTREME_CATEGORIES: dict[str, list[str]] = benchmark_categories("xtreme")
XTREME_R_CATEGORIES: dict[str, list[str]] = benchmark_categories("xtreme_r")
# The intermediate setting of the runs without phase 2: every comparison's baseline.
BASELINE = "none"


# JSON files of model and run folders that are never results (tokenizer.json alone can be 17 MB).
NOT_RESULTS = {"tokenizer.json", "tokenizer_config.json", "config.json", "trainer_state.json",
               "special_tokens_map.json", "heads.json", "adapter_config.json", "run.json", "metrics.json",
               "encoder_stats.json", "generation_config.json", "model.safetensors.index.json", "DONE"}


class ResultsError(XstiltsError, ValueError):
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
    # What is needed to judge a number (absent from results written before it existed; the viewer then says so):
    # lang -> {"majority_share": % of gold labels in the most frequent class (null where a task has no classes),
    #          "top_prediction_share": % of predictions equal to the most frequent one (null where not a label),
    #          "constant": true when top_prediction_share >= CONSTANT_SHARE (the model predicts one answer),
    #          "ci95": [low, high] bootstrap 95% interval of the language's task score (null where not computed)}
    reliability: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    score_ci95: list[float] | None = None  # bootstrap 95% interval of ``score`` (languages resampled independently)
    chance: float | None = None  # the task score of a uniform random guess, in percent (null where undefined)
    # lang -> {"num": [...], "den": [...]}: each scored item's contribution to the language's ratio-of-sums score, in
    # the order the items were read ("den" absent: 1 each). A difference of two cells redraws the same items on both
    # sides (and jointly across translated languages) from these; absent from results written before it existed,
    # whose differences fall back to the recorded intervals (``reliability.difference`` says which).
    items: dict[str, dict[str, list[float]]] = dataclasses.field(default_factory=dict)
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


# Largest file read as a result: a result holds a few numbers per language and its provenance chain (kilobytes);
# anything bigger is a tokenizer or data dump that happens to end in .json.
MAX_RESULT_BYTES = 20 * 2**20
_CONTROL = {chr(c) for c in range(32)} | {"\x7f"}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_name(value: Any) -> bool:
    """A non-empty single-line string: names are shown in tables, terminals and Markdown, so no control characters."""
    return isinstance(value, str) and bool(value) and not (set(value) & _CONTROL)


def _type_problems(data: dict[str, Any]) -> list[str]:
    """Every field of a parsed result whose type or shape is wrong, as ``field: problem`` (empty if none)."""
    problems: list[str] = []

    def need(ok: bool, field: str, expected: str, value: Any) -> bool:
        if not ok:
            problems.append(f"{field} is {type(value).__name__} {_shown(value)}, expected {expected}")
        return ok

    for name in ("task", "main_metric"):
        need(_is_name(data[name]), name, "a name (non-empty, one line)", data[name])
    for name in ("task_type", "split", "data_source", "checkpoint", "created", "version"):
        need(isinstance(data[name], str), name, "a string", data[name])
    need(_is_number(data["score"]), "score", "a finite number", data["score"])
    need(isinstance(data["partial"], bool), "partial", "true or false", data["partial"])
    for name in ("missing_languages", "notes"):
        value = data.get(name, [])
        if need(isinstance(value, list), name, "a list of strings", value):
            for i, item in enumerate(value):
                need(isinstance(item, str), f"{name}[{i}]", "a string", item)
    average = data["average"]
    if need(isinstance(average, dict), "average", "a mapping of metric -> number", average):
        for metric, value in average.items():
            need(_is_number(value), f"average.{metric}", "a finite number", value)
    main = data["main_metric"]
    wanted = ["exact_match", "f1"] if main == "exact_match+f1" else [main]
    languages = data["languages"]
    if need(isinstance(languages, dict) and bool(languages), "languages",
            "a non-empty mapping of language -> metrics", languages):
        for lang, metrics in languages.items():
            need(_is_name(lang), f"languages key {lang!r}", "a language code", lang)
            if not need(isinstance(metrics, dict), f"languages.{lang}", "a mapping of metric -> number", metrics):
                continue
            for name, value in metrics.items():
                if name == "n":  # an example count: a whole number, however it was serialised
                    need(_is_number(value) and value >= 0 and float(value).is_integer(), f"languages.{lang}.n",
                         "a whole number of examples", value)
                else:
                    need(_is_number(value), f"languages.{lang}.{name}", "a finite number", value)
            absent = [m for m in wanted if isinstance(main, str) and m not in metrics]
            if absent:
                problems.append(f"languages.{lang} has no {' and '.join(absent)} (the main metric {main!r})")
    run = data["run"]
    run_fields = {f.name for f in dataclasses.fields(RunInfo)}
    if need(isinstance(run, dict), "run", "a mapping", run):
        unknown = sorted(set(run) - run_fields)
        if unknown:
            problems.append(f"run has unknown keys {unknown}; valid keys: {sorted(run_fields)}")
        for name in ("encoder", "encoder_kind", "intermediate", "target"):
            if name not in run:
                problems.append(f"run.{name} is missing")
            else:
                need(_is_name(run[name]), f"run.{name}", "a name (non-empty, one line)", run[name])
        seed = run.get("seed")
        need(seed is None or (isinstance(seed, int) and not isinstance(seed, bool)), "run.seed", "an integer or null",
             seed)
        need(isinstance(run.get("lora", False), bool), "run.lora", "true or false", run.get("lora"))
    chain = data["chain"]
    if need(isinstance(chain, list), "chain", "a list of phase entries", chain):
        for i, entry in enumerate(chain):
            if not need(isinstance(entry, dict), f"chain[{i}]", "a mapping", entry):
                continue
            for name in ("phase", "folder"):
                if name in entry:
                    need(isinstance(entry[name], str), f"chain[{i}].{name}", "a string", entry[name])
            for name in ("recipe", "metrics", "stats", "done", "environment"):
                if entry.get(name) is not None:
                    need(isinstance(entry[name], dict), f"chain[{i}].{name}", "a mapping or null", entry[name])
            done = entry.get("done")
            if isinstance(done, dict) and done.get("wall_time_s") is not None:
                need(_is_number(done["wall_time_s"]), f"chain[{i}].done.wall_time_s", "a finite number or null",
                     done["wall_time_s"])
    need(isinstance(data.get("environment", {}), dict), "environment", "a mapping", data.get("environment"))

    def interval(value: Any, field: str) -> None:
        ok = (isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)
              and value[0] <= value[1])
        need(value is None or ok, field, "null or [low, high] (finite numbers, low <= high)", value)

    reliability = data.get("reliability", {})
    if need(isinstance(reliability, dict), "reliability", "a mapping of language -> figures", reliability):
        for lang, figures in reliability.items():
            need(_is_name(lang), f"reliability key {lang!r}", "a language code", lang)
            if not need(isinstance(figures, dict), f"reliability.{lang}", "a mapping", figures):
                continue
            for name in ("majority_share", "top_prediction_share"):
                value = figures.get(name)
                need(value is None or (_is_number(value) and 0 <= value <= 100), f"reliability.{lang}.{name}",
                     "null or a percentage", value)
            need(isinstance(figures.get("constant", False), bool), f"reliability.{lang}.constant", "true or false",
                 figures.get("constant"))
            interval(figures.get("ci95"), f"reliability.{lang}.ci95")
    interval(data.get("score_ci95"), "score_ci95")
    items = data.get("items", {})
    if need(isinstance(items, dict), "items", "a mapping of language -> {num, den}", items):
        for lang, v in items.items():
            ok = isinstance(v, dict) and set(v) <= {"num", "den"} and isinstance(v.get("num"), list) and all(
                _is_number(x) for x in v["num"]) and ("den" not in v or (isinstance(v["den"], list) and len(
                    v["den"]) == len(v["num"]) and all(_is_number(x) for x in v["den"])))
            need(_is_name(lang) and ok, f"items.{lang}", "{num: [numbers], den: [as many numbers] (optional)}",
                 "(not shown)" if isinstance(v, dict) else v)
    chance = data.get("chance")
    need(chance is None or (_is_number(chance) and 0 <= chance <= 100), "chance", "null or a percentage", chance)
    wall = data.get("wall_time_s")
    need(wall is None or _is_number(wall), "wall_time_s", "a finite number or null", wall)
    return problems


class UnsafeFile(XstiltsError, OSError):
    """A file a reader of results must not open: a link leading out of the folders it may read, not a regular file
    (a FIFO would block the reader forever, a device would stream), or larger than what it may hold."""


def read_guarded(path: str | Path, roots: Iterable[str | Path], max_bytes: int) -> str:
    """The UTF-8 text of ``path``, opened only when it is a regular file inside one of ``roots`` (symlinks followed
    to their target, which must lie inside too) and at most ``max_bytes`` long: the one guard every file the viewer
    and the report read goes through.

    The file is opened non-blocking and checked on the open descriptor, so a file swapped for a FIFO or a link
    between the check and the read is still refused (never waited on).

    Raises:
        UnsafeFile: outside the roots, not a regular file, or too large (the message says which).
        FileNotFoundError: absent. UnicodeDecodeError: not UTF-8. OSError: unreadable.
    """
    p = Path(path)
    real = Path(os.path.realpath(p))
    inside = [Path(os.path.realpath(r)) for r in roots]
    if not any(real == r or real.is_relative_to(r) for r in inside):
        raise UnsafeFile(f"{p} leads outside the folders that may be read ({real}); not read")
    fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeFile(f"{p} is not a regular file (a FIFO, device or folder); not read")
        if st.st_size > max_bytes:
            raise UnsafeFile(f"{p} is {st.st_size / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB limit; "
                             "not read")
        with os.fdopen(fd, "rb", closefd=True) as f:
            fd = -1
            data = f.read(max_bytes + 1)
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > max_bytes:  # grew after the check
        raise UnsafeFile(f"{p} is over the {max_bytes / 2**20:.0f} MiB limit; not read")
    return data.decode("utf-8")


def read_result(path: str | Path) -> TaskResult:
    """Reads and validates one result file.

    Every field is checked for its type (names are non-empty single-line strings, metrics finite numbers, ``n`` a
    whole number, ``partial`` a boolean, the run block complete...), so a reader never crashes on a hand-edited or
    foreign file and never folds a wrong-typed value into a number.

    Raises:
        ResultsError: the file is missing, not UTF-8 JSON (e.g. truncated), of another schema, or has fields of the
            wrong type or shape; the message names the file and every such field with its problem.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"{p}: no such result file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{p}: not valid JSON ({exc}); the file is truncated or corrupted, "
                           "re-run the evaluation") from None
    except RecursionError:
        raise ResultsError(f"{p}: nested too deeply to be a result file") from None
    return result_from_data(p, data)


def result_from_data(p: Path, data: Any) -> TaskResult:
    """The result of a parsed result file ``p`` (``read_result`` without the read), validated the same way.

    Raises:
        ResultsError: as ``read_result``.
    """
    _check(isinstance(data, dict), p, "top level is not a mapping")
    _check(data.get("schema") == SCHEMA, p, f"schema is {_shown(data.get('schema'))}, expected {SCHEMA!r}")
    fields = {f.name for f in dataclasses.fields(TaskResult)}
    optional = {f.name for f in dataclasses.fields(TaskResult)
                if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING}
    missing = sorted(f for f in fields if f not in data and f not in optional)
    _check(not missing, p, f"missing keys {missing}")
    problems = _type_problems(data)
    _check(not problems, p, "; ".join(problems))
    run = RunInfo(**data["run"])
    kwargs = {k: v for k, v in data.items() if k in fields and k != "run"}
    return TaskResult(run=run, **kwargs)


def find_results(root: str | Path) -> tuple[list[tuple[Path, TaskResult]], list[tuple[Path, str]]]:
    """Every result file below ``root``: (readable results, [(path, problem)] for the ones skipped).

    A result file is any ``*.json`` whose top level declares the results schema; JSON that does not parse at all is
    reported as broken (a truncated result no longer shows its schema), and so is a ``*.json`` too large to be a
    result (``MAX_RESULT_BYTES``; its size is given). Other JSON (configs, metrics) is ignored. The problems do not
    repeat the path.
    """
    root = Path(root)
    good: list[tuple[Path, TaskResult]] = []
    bad: list[tuple[Path, str]] = []
    for path in sorted(root.rglob("*.json")):
        if not path.is_file() or path.is_symlink() or path.name in NOT_RESULTS:
            continue
        size = path.stat().st_size
        if size > MAX_RESULT_BYTES:  # not parsed: a result is kilobytes, this is a dump or a weight index
            bad.append((path, f"not read: {size / 2**20:.1f} MiB is over the {MAX_RESULT_BYTES / 2**20:.0f} MiB "
                              "limit for a result file"))
            continue
        try:
            parsed = json.loads(read_guarded(path, [root], MAX_RESULT_BYTES))
        except UnsafeFile as exc:
            bad.append((path, str(exc).replace(f"{path} ", "", 1)))
            continue
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            # A result cut off mid-write no longer says which schema it had: any unreadable JSON is reported.
            bad.append((path, f"not valid JSON ({exc}); the file is truncated or corrupted"))
            continue
        if not (isinstance(parsed, dict) and parsed.get("schema") == SCHEMA):
            continue
        try:  # from what the guard read: the file is never opened a second time (it could be swapped meanwhile)
            good.append((path, result_from_data(path, parsed)))
        except ResultsError as exc:
            bad.append((path, str(exc).removeprefix(f"{path}: ")))
    return good, bad


def benchmark_of(categories: dict[str, list[str]]) -> str:
    """The benchmark whose language sets a category table scores with: "xtreme_r" for ``XTREME_R_CATEGORIES``,
    "xtreme" otherwise."""
    return "xtreme_r" if categories == XTREME_R_CATEGORIES else "xtreme"


def uncovered_languages(result: TaskResult, benchmark: str = "xtreme") -> list[str]:
    """The languages of the result's task in ``benchmark``'s set that the result has no score for: what makes it
    partial, named also for results written before ``partial`` accounted for ``languages=`` subsets (a task outside
    the registry is judged by its own ``missing_languages``)."""
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


# ---- Grouping and ordering results (shared by the report and the viewer) -------------------------------------------


# Recipe keys that do not change what a run computes: where it reads its parent from and writes to, how it reports.
# Every other difference between two runs (lr, epochs, precision, max_length, data...) makes them different runs.
# Seeds are left out separately: they are what a cell pools over.
NON_RECIPE_KEYS = frozenset({"output", "input", "overwrite", "verbose", "push_to_hub", "hub_model_id", "report_to"})
SEED_KEY = "seed"


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mapping -> {"a.b.c": value} (lists and empty mappings kept whole): how recipes and records compare and
    show key by key."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def phase2_seed(result: TaskResult) -> int | None:
    """The seed of the phase-2 (intermediate) run a result's model started from: its chain's phase-2 recipe's
    ``train.seed`` (None without a phase 2, or not recorded). ``run.seed`` is the phase-3 seed (retrieval on a
    phase-2 encoder: this one)."""
    for entry in result.chain:
        if isinstance(entry, dict) and entry.get("phase") == "phase2":
            recipe = entry.get("recipe")
            train = recipe.get("train") if isinstance(recipe, dict) else None
            seed = train.get("seed") if isinstance(train, dict) else None
            return seed if isinstance(seed, int) and not isinstance(seed, bool) else None
    return None


def recipe_fingerprint(result: TaskResult) -> dict[str, str]:
    """What a result's number depends on besides the seed: its split, its data source and every chain entry's
    resolved recipe, flattened (``phase3 train.lr`` -> JSON of the value), seeds and pure input/output/reporting keys
    left out.

    Two results with equal fingerprints differ in the seed alone (or not at all: a re-evaluation).
    """
    # The data a number was measured on is part of it: a quick check on the embedded quickstart sample never replaces
    # (as "the newest") nor pools with an evaluation on the Hub's data of the same model.
    out = {"split": json.dumps(result.split), "data_source": json.dumps(result.data_source)}
    seen: dict[str, int] = {}
    for entry in result.chain:
        phase = str(entry.get("phase") or "?")
        seen[phase] = seen.get(phase, 0) + 1  # sequential intermediates: two phase-2 entries
        name = phase if seen[phase] == 1 else f"{phase}#{seen[phase]}"
        recipe = entry.get("recipe")
        if not isinstance(recipe, dict):
            out[f"{name} recipe"] = "null"
            continue
        for key, value in flatten(recipe).items():
            leaf = key.rsplit(".", 1)[-1]
            if leaf == SEED_KEY or leaf in NON_RECIPE_KEYS:
                continue
            out[f"{name} {key}"] = json.dumps(value, sort_keys=True, default=str)
    return out


def _fingerprint_key(result: TaskResult) -> str:
    return json.dumps(recipe_fingerprint(result), sort_keys=True)


def _config_key(r: TaskResult) -> tuple:
    return (r.run.encoder, r.run.intermediate, r.task, r.run.seed, r.run.lora, _fingerprint_key(r))


def created_at(result: TaskResult) -> datetime.datetime | None:
    """When a result was written, as a timezone-aware datetime (naive stamps read as UTC); None if unreadable."""
    try:
        when = datetime.datetime.fromisoformat(str(result.created).strip())
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=datetime.timezone.utc)


def _newer(a: TaskResult, b: TaskResult) -> bool:
    """``a`` was written after ``b`` (instants compared, whatever their time zones; an unreadable time is oldest)."""
    ta, tb = created_at(a), created_at(b)
    if ta is None or tb is None:
        return ta is not None and tb is None
    return ta > tb


def dedupe(results: Iterable[TaskResult]) -> list[TaskResult]:
    """One result per evaluated configuration: (encoder, intermediate, task, seed, LoRA, split and resolved recipes);
    of several evaluations of the same configuration, the newest by ``created`` (compared as instants) wins. A
    re-evaluation on another split, or a run with another recipe, never replaces a result.

    Nor does a re-evaluation on fewer languages (``languages=[de]``): it never replaces one whose languages strictly
    contain its own, whatever their times, or the cell would silently be scored on one language. Keeping both is no
    answer either (the same seed would be pooled twice); to replace a result, re-evaluate on all its languages.
    """
    groups: dict[tuple, list[TaskResult]] = {}
    for r in results:
        groups.setdefault(_config_key(r), []).append(r)
    out = []
    for rs in groups.values():
        langs = [frozenset(r.languages) for r in rs]
        fullest = [r for r, mine in zip(rs, langs, strict=True) if not any(mine < other for other in langs)]
        best = fullest[0]
        for r in fullest[1:]:
            if _newer(r, best):
                best = r
        out.append(best)
    return out


def coverage_problem(cell: Iterable[Iterable[str]], base: Iterable[Iterable[str]]) -> str | None:
    """Why two cells cannot be compared by their scores (None: they can): not every run of both is scored on the same
    languages, so a difference of means would partly be a difference of languages.

    Args:
        cell, base: the languages each run (seed) of either cell was scored on.
    """
    a, b = [frozenset(x) for x in cell], [frozenset(x) for x in base]
    if len(set(a) | set(b)) <= 1:
        return None
    union_a, union_b = frozenset().union(*a), frozenset().union(*b)
    parts = [f"only the cell: {' '.join(sorted(union_a - union_b))}" if union_a - union_b else "",
             f"only the baseline: {' '.join(sorted(union_b - union_a))}" if union_b - union_a else "",
             "its seeds differ in languages" if len(set(a)) > 1 or len(set(b)) > 1 else ""]
    return ("scored on different languages (" + "; ".join(x for x in parts if x) + "): not compared; re-evaluate "
            "both on the same languages")


VARIANT_OPEN = " ["  # "mnli [phase3 train.lr=3e-05]": the variant of a cell whose runs differ in more than the seed


def base_intermediate(name: str) -> str:
    """An intermediate label without its variant and LoRA suffixes (``mnli [train.lr=1] +LoRA`` -> ``mnli``)."""
    return name.removesuffix(" +LoRA").split(VARIANT_OPEN, 1)[0]


def constant_everywhere(results: Iterable[TaskResult]) -> bool:
    """Whether every result (seed) of a cell predicts one answer in every language it scored
    (``reliability[lang].constant``): only then is the cell's score the class balance. A cell where one seed is
    constant and another learned is marked by its constant languages, never as constant as a whole."""
    results = list(results)
    return bool(results) and all(
        bool(r.languages) and all((r.reliability.get(lang) or {}).get("constant") for lang in r.languages)
        for r in results)


def baseline_of(intermediate: str) -> str:
    """The baseline a cell is compared with: the no-intermediate run of the same recipe variant (``none [lr=1]``
    for ``mnli [lr=1]``), so no effect is computed across the recipes ``recipe_variants`` kept apart. Without LoRA
    suffix (the caller adds it)."""
    name = intermediate.removesuffix(" +LoRA")
    return BASELINE + (name[name.index(VARIANT_OPEN):] if VARIANT_OPEN in name else "")


def intermediate_parts(name: str) -> list[str]:
    """The tasks an intermediate setting trained on: ``multi:a+b`` (one multi-task phase) and ``a>b`` (sequential
    phases) name several; variant and LoRA suffixes are dropped; ``none`` names none."""
    base = base_intermediate(name)
    if base == BASELINE:
        return []
    return [t for t in base.removeprefix("multi:").replace(">", "+").split("+") if t]


def same_task(intermediate: str, own: Iterable[str]) -> bool:
    """Whether an intermediate setting trained on (any of) ``own``, the target's own tasks (its name and the task
    whose English data trained it): then it is more training on the target, not transfer between tasks, also when
    it is one part of a multi-task or sequential intermediate."""
    return bool(set(intermediate_parts(intermediate)) & set(own))


def recipe_variants(results: Iterable[TaskResult]) -> list[TaskResult]:
    """Results made ready to pool as seeds: where the results of one cell (encoder, intermediate, task, LoRA) differ
    in more than the seed (another split, lr, precision, data...), each group of equal recipes becomes its own cell,
    its intermediate suffixed with the differing keys and its values (``none [split="test", phase3 train.lr=3e-05]``).

    No group keeps the plain name: which recipe is "the" cell is not for the tool to guess, and a variant then has
    no baseline unless its baseline is the same variant (so no effect is computed across recipes). Deduplicates
    first (``dedupe``); results are copies, the inputs are not changed.
    """
    results = dedupe(results)
    cells: dict[tuple, list[TaskResult]] = {}
    for r in results:
        cells.setdefault((r.run.encoder, r.run.intermediate, r.task, r.run.lora), []).append(r)
    out = []
    for rs in cells.values():
        prints = [recipe_fingerprint(r) for r in rs]
        keys = sorted({k for p in prints for k in p})
        differing = [k for k in keys if len({p.get(k, "(absent)") for p in prints}) > 1]
        if not differing:
            out += rs
            continue
        for r, p in zip(rs, prints, strict=True):
            label = ", ".join(f"{k.removeprefix('phase3 ')}={p.get(k, '(absent)')}" for k in differing)
            run = dataclasses.replace(r.run, intermediate=f"{r.run.intermediate}{VARIANT_OPEN}{label}]")
            out.append(dataclasses.replace(r, run=run))
    return out


def trained_on(result: TaskResult) -> str:
    """The task whose English data trained the target (``data.train_task``, e.g. tydiqa for an XQuAD model); the
    result's task for untrained (retrieval) results."""
    p3 = next((e for e in result.chain if e.get("phase") == "phase3"), None)
    recipe = (p3 or {}).get("recipe") or {}  # a chain entry may hold a null recipe (results are validated, not trusted)
    data = recipe.get("data") if isinstance(recipe.get("data"), dict) else {}
    named = data.get("train_task") or recipe.get("task")
    return named if isinstance(named, str) and named else result.task


def intermediate_order(names: Iterable[str]) -> list[str]:
    """The baseline first, single tasks alphabetically, multi-task mixtures last; recipe variants of a setting
    (``recipe_variants``) right after it."""
    def rank(name: str) -> tuple:
        base = base_intermediate(name)
        return base != BASELINE, base.startswith("multi:"), base, name

    return sorted(set(names), key=rank)


def task_order(names: Iterable[str]) -> list[str]:
    """Tasks in XTREME category order, then any others alphabetically."""
    known = [t for ts in XTREME_CATEGORIES.values() for t in ts]
    names = set(names)
    return [t for t in known if t in names] + sorted(names - set(known))
