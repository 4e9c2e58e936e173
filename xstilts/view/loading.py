"""Loading and tabulating result files for the viewer: pure functions, no Streamlit.

Everything the viewer shows is read from the result files (``xstilts.results`` schema) below one results folder;
the provenance chain inside each result carries the recipes, dev metrics, costs and phase-1 tokenizer statistics,
so no file outside that folder is ever opened. Symlinks that lead out of the folder are refused and listed.
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import math
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xstilts import analysis, anchors
from xstilts.errors import XstiltsError
from xstilts.languages import script_of
from xstilts.recipe import RecipeError
from xstilts.reliability import items_from_json
from xstilts.results import (
    BASELINE,
    XTREME_CATEGORIES,
    XTREME_R_CATEGORIES,
    RunInfo,
    TaskResult,
    UnsafeFile,
    baseline_of,
    constant_everywhere,
    find_results,
    flatten,
    intermediate_order,
    read_guarded,
    recipe_variants,
    same_task,
    task_order,
    trained_on,
)
from xstilts.tasks import TASKS, benchmark_categories


class ViewerError(XstiltsError, ValueError):
    """The results folder cannot be shown (absent, not a folder); the message says what to pass instead."""


# Display order: Latin first (where an English vocabulary has a chance), then roughly west to east.
SCRIPT_ORDER: list[str] = [
    "Latin", "Cyrillic", "Greek", "Georgian", "Hebrew", "Arabic", "Devanagari", "Bengali", "Gujarati", "Gurmukhi",
    "Tamil", "Telugu", "Malayalam", "Thai", "Myanmar", "Han", "Japanese", "Hangul", "Other",
]

COST_KEYS = (
    "trainable_parameters", "total_parameters", "size_on_disk_bytes", "wall_time_s", "train_examples_per_second",
    "peak_memory_mb",
)


def script_rank(script: str) -> int:
    return SCRIPT_ORDER.index(script) if script in SCRIPT_ORDER else len(SCRIPT_ORDER)


def results_dir_from_args(argv: Sequence[str], environ: Mapping[str, str]) -> str | None:
    """The results folder from ``--results DIR`` in ``argv`` (after streamlit's ``--``), else ``$XSTILTS_RESULTS``.

    Unknown arguments are ignored because under ``AppTest`` the process argv belongs to pytest.
    """
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--results")
    args, _ = parser.parse_known_args(list(argv))
    return args.results or environ.get("XSTILTS_RESULTS") or None


# --------------------------------------------------------------------------------------------------------- loading


@dataclasses.dataclass
class Loaded:
    """What a results folder holds: readable results and, for everything else, the problem."""

    root: Path
    results: list[tuple[str, TaskResult]]  # (path relative to root, result), sorted by path
    broken: list[tuple[str, str]]  # (path relative to root, problem)

    @property
    def task_results(self) -> list[TaskResult]:
        return [r for _, r in self.results]


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a symlink loop resolves to neither
        return False


def _links_out(root: Path) -> list[Path]:
    """Symlinks below ``root`` whose target lies outside it (they are never followed)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            if p.is_symlink() and not _inside(p, root):
                out.append(p)
    return out


def load_results(root: str | Path) -> Loaded:
    """Reads every result file below ``root``; broken files and outward symlinks are listed, not fatal.

    Raises:
        ViewerError: ``root`` does not exist or is not a folder.
    """
    given = Path(root).expanduser()
    if not given.exists():
        raise ViewerError(f"results folder {given} does not exist; pass --results DIR with the folder holding the "
                          "evaluation JSONs")
    if not given.is_dir():
        raise ViewerError(f"{given} is a file, not a folder; pass --results DIR with the folder holding the "
                          "evaluation JSONs")
    base = given.resolve()
    broken = [(p.relative_to(base).as_posix(), "symlink to outside the results folder; not read")
              for p in _links_out(base)]
    good, bad = find_results(base)
    results = []
    for path, result in good:
        if _inside(path, base):  # find_results never follows links; checked again because this is a promise
            results.append((path.relative_to(base).as_posix(), result))
    for path, problem in bad:
        problem = problem.removeprefix(f"{path}: ")
        broken.append((path.relative_to(base).as_posix(), problem))
    return Loaded(root=base, results=results, broken=sorted(broken))


# ------------------------------------------------------------------------------------------------------ tabulation


def language_score(main_metric: str, metrics: Mapping[str, float]) -> float | None:
    """One language's value of the task's main metric (QA: (EM + F1) / 2, as the task score is built)."""
    if main_metric == "exact_match+f1":
        if "exact_match" in metrics and "f1" in metrics:
            return (metrics["exact_match"] + metrics["f1"]) / 2
        return None
    value = metrics.get(main_metric)
    return None if value is None else float(value)


def run_label(run: RunInfo, with_target: bool = False) -> str:
    """A short, unique-enough name for a run: encoder / intermediate [/ target] / seed [/ LoRA]."""
    parts = [run.encoder, f"int={run.intermediate}"]
    if with_target:
        parts.append(f"target={run.target}")
    parts.append(f"seed={run.seed}" if run.seed is not None else "no seed")
    if run.lora:
        parts.append("LoRA")
    return " / ".join(parts)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def _sd(values: Sequence[float]) -> float:
    """The standard deviation over seeds (``analysis.seed_sd``) for a table: NaN where it is unknown (one seed)."""
    sd = analysis.seed_sd(values)
    return math.nan if sd is None else sd


def encoders(results: Iterable[TaskResult]) -> dict[str, str]:
    """Encoder name -> kind ("multilingual", "english" or "unknown"), sorted by name."""
    out: dict[str, str] = {}
    for r in results:
        out.setdefault(r.run.encoder, r.run.encoder_kind)
    return dict(sorted(out.items()))


def phase1_stats(result: TaskResult) -> dict[str, Any] | None:
    """The phase-1 entry's tokenizer statistics from a result's chain, or None where not recorded."""
    for entry in result.chain or []:
        if isinstance(entry, dict) and entry.get("phase") == "phase1" and isinstance(entry.get("stats"), dict):
            return entry["stats"]
    return None


def tokenizer_stats(results: Iterable[TaskResult], encoder: str) -> dict[str, dict[str, float]]:
    """Per-language phase-1 tokenizer statistics ({lang: {"unk_rate", "tokens_per_word"}}) of one encoder."""
    merged: dict[str, dict[str, float]] = {}
    for r in results:
        if r.run.encoder != encoder:
            continue
        stats = phase1_stats(r)
        langs = stats.get("languages") if stats else None
        if isinstance(langs, dict):
            for lang, values in langs.items():
                if isinstance(values, dict):
                    merged.setdefault(lang, values)
    return merged


def _lang_means(results: Iterable[TaskResult]) -> dict[str, float]:
    per_lang: dict[str, list[float]] = defaultdict(list)
    for r in results:
        for lang, m in r.languages.items():
            v = language_score(r.main_metric, m)
            if v is not None:
                per_lang[lang].append(v)
    return {lang: _mean(v) for lang, v in per_lang.items()}


def encoder_comparison(
    results: Iterable[TaskResult], encoder_a: str, encoder_b: str, task: str, intermediate: str = BASELINE,
    lora: bool = False,
) -> pd.DataFrame:
    """Both encoders per language of one task (seed means), their difference and their phase-1 tokenizer stats.

    Returns:
        ``lang, script, score_a, score_b, diff`` (a minus b), ``unk_a, unk_b`` (percent of unknown tokens),
        ``tpw_a, tpw_b`` (tokens per word); NaN where not recorded; ``const_a, const_b`` (a seed of that encoder
        predicts one answer in that language). Sorted by script (Latin first), then language.
    """
    results = recipe_variants(results)
    pick = [r for r in results if r.task == task and r.run.intermediate == intermediate and bool(r.run.lora) == lora]
    a = _lang_means(r for r in pick if r.run.encoder == encoder_a)
    b = _lang_means(r for r in pick if r.run.encoder == encoder_b)
    const_a = {lang for r in pick if r.run.encoder == encoder_a for lang in analysis.constant_languages(r)}
    const_b = {lang for r in pick if r.run.encoder == encoder_b for lang in analysis.constant_languages(r)}
    tok_a, tok_b = tokenizer_stats(results, encoder_a), tokenizer_stats(results, encoder_b)
    nan = math.nan
    rows = []
    for lang in set(a) | set(b):
        sa, sb = a.get(lang, nan), b.get(lang, nan)
        rows.append({
            "lang": lang, "script": script_of(lang), "score_a": sa, "score_b": sb, "diff": sa - sb,
            "unk_a": tok_a.get(lang, {}).get("unk_rate", nan), "unk_b": tok_b.get(lang, {}).get("unk_rate", nan),
            "tpw_a": tok_a.get(lang, {}).get("tokens_per_word", nan),
            "tpw_b": tok_b.get(lang, {}).get("tokens_per_word", nan),
            "const_a": lang in const_a, "const_b": lang in const_b,
        })
    df = pd.DataFrame(rows, columns=["lang", "script", "score_a", "score_b", "diff", "unk_a", "unk_b", "tpw_a",
                                     "tpw_b", "const_a", "const_b"])
    if df.empty:
        return df
    df["_rank"] = df["script"].map(script_rank)
    return df.sort_values(["_rank", "lang"]).drop(columns="_rank").reset_index(drop=True)


def script_summary(comparison: pd.DataFrame) -> pd.DataFrame:
    """Mean scores, difference and unknown-token rates per script of an ``encoder_comparison`` table."""
    if comparison.empty:
        return comparison
    g = comparison.groupby("script", sort=False)
    out = g[["score_a", "score_b", "diff", "unk_a", "unk_b"]].mean()
    out.insert(0, "languages", g["lang"].apply(lambda s: " ".join(s)))
    return out.reset_index()


# English as the registry's language lists spell it: ISO 639-1 (XTREME) and FLORES-200 (SIB-200, Belebele).
ENGLISH_CODES = frozenset({"en", "eng_Latn"})


def is_training_language(task_name: str, lang: str) -> bool:
    """Whether ``lang`` is the language the task's model was trained in (English: zero-shot transfer starts there),
    read from the registry (``Task.train_language``, "eng_Latn" for SIB-200). A task trained on English data spelt
    otherwise than its evaluation languages (Belebele: trained on RACE, "en"; evaluated on "eng_Latn") counts its
    English variant too; an unknown task (a result of another version) falls back to English."""
    task = TASKS.get(task_name)
    train = task.train_language if task is not None else "en"
    return lang == train or (train in ENGLISH_CODES and lang in ENGLISH_CODES)


def run_languages(result: TaskResult) -> pd.DataFrame:
    """One result per language: ``lang, script, score, n, is_english`` (the task's training language,
    ``is_training_language``), ``constant`` (the model gave one prediction to nearly every example there), highest
    score first."""
    rows = []
    constant = set(analysis.constant_languages(result))
    for lang, m in result.languages.items():
        v = language_score(result.main_metric, m)
        if v is not None:
            rows.append({"lang": lang, "script": script_of(lang), "score": v, "n": m.get("n"),
                         "is_english": is_training_language(result.task, lang), "constant": lang in constant})
    df = pd.DataFrame(rows, columns=["lang", "script", "score", "n", "is_english", "constant"])
    return df.sort_values(["score", "lang"], ascending=[False, True]).reset_index(drop=True)


def zero_shot_gap(result: TaskResult) -> float | None:
    """English minus the mean of the other languages (the cross-lingual transfer gap); None without both, and for
    a run that predicts one answer everywhere (its "gap" is a difference of class balances, not of transfer)."""
    if constant_everywhere([result]):
        return None
    df = run_languages(result)
    en = df.loc[df["is_english"], "score"]
    rest = df.loc[~df["is_english"], "score"]
    if en.empty or rest.empty:
        return None
    return float(en.iloc[0] - rest.mean())


# ------------------------------------------------------------------------------------------- provenance and cost


def _lora_label(entry: Mapping[str, Any], run: RunInfo, cost: Mapping[str, Any]) -> str:
    recipe = entry.get("recipe")
    if isinstance(recipe, Mapping) and "lora" in recipe:
        return "LoRA" if recipe["lora"] else "full"
    if entry.get("phase") == "phase3":
        return "LoRA" if run.lora else "full"
    trainable, total = cost.get("trainable_parameters"), cost.get("total_parameters")
    if isinstance(trainable, (int, float)) and isinstance(total, (int, float)) and total > 0:
        return "LoRA" if trainable / total < 0.5 else "full"
    return "unknown"


def _cost(entry: Mapping[str, Any]) -> dict[str, Any]:
    metrics = entry.get("metrics")
    cost = metrics.get("cost") if isinstance(metrics, Mapping) else None
    return dict(cost) if isinstance(cost, Mapping) else {}


def _num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan


def chain_table(result: TaskResult) -> pd.DataFrame:
    """A result's provenance chain, newest first: phase, folder, full/LoRA, dev metrics and costs (NaN if absent)."""
    rows = []
    for entry in result.chain or []:
        if not isinstance(entry, Mapping):
            continue
        cost = _cost(entry)
        metrics = entry.get("metrics")
        dev = metrics.get("dev") if isinstance(metrics, Mapping) else None
        dev_text = ", ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}"
                             for k, v in flatten(dev).items()) if isinstance(dev, Mapping) else ""
        row = {"phase": entry.get("phase", "?"), "folder": str(entry.get("folder", "")),
               "training": _lora_label(entry, result.run, cost) if entry.get("phase") != "phase1" else "",
               "dev": dev_text, "encoder": _encoder_text(entry.get("stats"))}
        row.update({k: _num(cost.get(k)) for k in COST_KEYS})
        rows.append(row)
    return pd.DataFrame(rows, columns=["phase", "folder", "training", "dev", "encoder", *COST_KEYS])


def _encoder_text(stats: Any) -> str:
    """One line about the phase-1 encoder from its recorded stats ("" where none)."""
    if not isinstance(stats, Mapping):
        return ""
    parts = [str(stats[k]) for k in ("name", "kind", "source") if stats.get(k)]
    if isinstance(stats.get("parameters"), (int, float)):
        parts.append(f"{stats['parameters'] / 1e6:.0f}M parameters")
    if isinstance(stats.get("vocab_size"), (int, float)):
        parts.append(f"vocabulary {stats['vocab_size']:,}")
    return ", ".join(parts)


def cost_table(results: Iterable[TaskResult]) -> pd.DataFrame:
    """Every training phase (phase 2 and 3) found in the chains, once per folder, with its recorded costs.

    Returns:
        ``phase, folder, encoder, task, training`` ("full"/"LoRA"/"unknown") and the cost keys (NaN where an older
        run did not record them), plus ``trainable_share`` (percent of parameters trained) and ``size_on_disk_mb``.
    """
    seen: dict[str, dict[str, Any]] = {}
    for r in results:
        for entry in r.chain or []:
            if not isinstance(entry, Mapping) or entry.get("phase") not in ("phase2", "phase3"):
                continue
            folder = str(entry.get("folder", ""))
            if folder in seen:
                continue
            cost = _cost(entry)
            task = r.run.target if entry["phase"] == "phase3" else r.run.intermediate
            row = {"phase": entry["phase"], "folder": folder, "encoder": r.run.encoder, "task": task,
                   "training": _lora_label(entry, r.run, cost)}
            row.update({k: _num(cost.get(k)) for k in COST_KEYS})
            seen[folder] = row
    cols = ["phase", "folder", "encoder", "task", "training", *COST_KEYS, "trainable_share", "size_on_disk_mb"]
    df = pd.DataFrame(list(seen.values()), columns=[c for c in cols if c not in ("trainable_share",
                                                                                   "size_on_disk_mb")])
    df["trainable_share"] = 100 * df["trainable_parameters"] / df["total_parameters"]
    df["size_on_disk_mb"] = df["size_on_disk_bytes"] / 2**20
    return df.sort_values(["phase", "folder"]).reset_index(drop=True)[cols]


def cost_summary(costs: pd.DataFrame) -> pd.DataFrame:
    """Mean cost per (encoder, phase, full/LoRA) of a ``cost_table``, in readable units (M, min, GB, MB)."""
    g = costs.groupby(["encoder", "phase", "training"], sort=True)
    out = pd.DataFrame({
        "folders": g.size(),
        "trainable (M)": g["trainable_parameters"].mean() / 1e6,
        "trainable %": g["trainable_share"].mean(),
        "wall time (min)": g["wall_time_s"].mean() / 60,
        "examples/s": g["train_examples_per_second"].mean(),
        "peak memory (GB)": g["peak_memory_mb"].mean() / 1024,
        "size on disk (MB)": g["size_on_disk_mb"].mean(),
    })
    return out.reset_index()


# ------------------------------------------------------------------------------------------------------- overview

# How a cell of the overview is judged; the figure draws each differently and the legend names each.
STATUS_BASELINE = "baseline"  # the encoder's no-intermediate row: absolute score only
STATUS_NO_BASELINE = "no baseline"  # nothing to subtract: absolute score only
STATUS_CHANGE = "change"  # the 95% interval of the difference to the baseline excludes 0
STATUS_NOISE = "noise"  # that interval holds 0: not distinguishable from the baseline
STATUS_UNCERTAIN = "uncertain"  # one seed and no interval recorded: nothing says how large the noise is
STATUS_AGGREGATE = "aggregate"  # a benchmark mean over the tasks present (no interval of its own)
STATUS_SAME_TASK = "same task"  # the intermediate task is the target's own training data: not transfer, not judged
STATUS_OTHER_LANGUAGES = "other languages"  # cell and baseline scored on different languages: not compared
STATUS_NOT_LEARNED = "not learned"  # the target is below its floor (a floors file): no change is judged there
# The status of each of the analysis's verdicts (``analysis.judge``) on a cell with a baseline.
STATUS_OF_VERDICT = {
    analysis.UP: STATUS_CHANGE, analysis.DOWN: STATUS_CHANGE, analysis.WITHIN_NOISE: STATUS_NOISE,
    analysis.UNKNOWN: STATUS_UNCERTAIN, analysis.SAME_TASK: STATUS_SAME_TASK,
    analysis.NOT_COMPARABLE: STATUS_OTHER_LANGUAGES, analysis.NOT_LEARNED: STATUS_NOT_LEARNED,
    analysis.INTERMEDIATE_NOT_LEARNED: STATUS_NOT_LEARNED,
}
BENCHMARK_TASKS: dict[str, list[str]] = {
    "XTREME": [t for ts in XTREME_CATEGORIES.values() for t in ts],
    "XTREME-R": [t for ts in XTREME_R_CATEGORIES.values() for t in ts],
    # SIB-200, Belebele, MasakhaNER 2.0: a group of their own
    "beyond XTREME": [t for ts in benchmark_categories("beyond_xtreme").values() for t in ts],
}
# A benchmark mean over fewer tasks than this is not shown at all: two tasks say nothing about a nine-task benchmark.
MIN_AGGREGATE_TASKS = 3


def _cell(rs: Sequence[TaskResult]) -> dict[str, Any]:
    """Seed statistics of one (encoder, intermediate, task) group of results, ordered by seed
    (``analysis.cell_groups``): ``analysis.seed_cell`` with what the overview draws besides."""
    cell = analysis.seed_cell(list(rs))
    return {"score": cell["score"], "sd": math.nan if cell["sd"] is None else cell["sd"],
            "n_seeds": len(rs), "seeds": cell["seeds"], "ci": tuple(cell["ci95"]) if cell["ci95"] else None,
            # what the analysis pairs and redraws (seed, per-item scores where the results keep them)
            "runs": analysis.cell_seed_runs(cell, [items_from_json(r.items) for r in rs]),
            "constant_langs": sorted({lang for r in rs for lang in analysis.constant_languages(r)}),
            "all_constant": constant_everywhere(rs), "n_langs": len({lang for r in rs for lang in r.languages}),
            "partial": any(r.partial for r in rs),
            "reliability_recorded": all(bool(r.reliability) or r.score_ci95 is not None for r in rs),
            "lang_means": _lang_means(rs), "lang_sets": [sorted(r.languages) for r in rs],
            "trained_on": {trained_on(r) for r in rs}}


def _status(effect: analysis.Effect, target_why: str | None, intermediate_why: str | None) -> tuple[str, str]:
    """(status, why) of a cell from the analysis's verdict on it, in the viewer's words; ``target_why``,
    ``intermediate_why``: why the target, or the intermediate task, is below its floor."""
    verdict = effect.verdict
    if verdict == analysis.SAME_TASK:
        return STATUS_SAME_TASK, SAME_TASK_WHY
    if verdict == analysis.NOT_COMPARABLE:
        return STATUS_OTHER_LANGUAGES, effect.why
    if verdict == analysis.INTERMEDIATE_NOT_LEARNED:
        return STATUS_NOT_LEARNED, f"{analysis.INTERMEDIATE_NOT_LEARNED}: {intermediate_why}"
    if verdict == analysis.NOT_LEARNED:
        return STATUS_NOT_LEARNED, f"{analysis.NOT_LEARNED}: {target_why}"
    if verdict == analysis.UNKNOWN:
        return STATUS_UNCERTAIN, effect.why
    interval = f"Δ {effect.delta:+.1f}, 95% interval [{effect.low:+.1f}, {effect.high:+.1f}] ({effect.why})"
    return STATUS_OF_VERDICT[verdict], f"{interval} holds 0" if verdict == analysis.WITHIN_NOISE else interval


SAME_TASK_WHY = "the intermediate task is this target's own training data: more training, not transfer"


OVERVIEW_COLUMNS = [
    "encoder", "encoder_kind", "intermediate", "task", "score", "sd", "n_seeds", "seeds", "ci_low", "ci_high",
    "baseline", "delta", "status", "why", "constant_langs", "all_constant", "n_langs", "partial",
    "reliability_recorded", "lang_deltas", "aggregate_tasks", "not_learned", "model",
]


def overview_table(results: Iterable[TaskResult], lora: bool = False, benchmark: str | None = "XTREME",
                   not_learned: Mapping[str, str] | None = None,
                   weak_intermediates: Mapping[tuple[str, str], str] | None = None) -> pd.DataFrame:
    """Every (encoder, intermediate, task) cell of the overview: seed-mean score, change over the encoder's
    no-intermediate baseline, and how far that change can be trusted.

    A cell is judged (``status``) by the analysis's verdict on it (``analysis.judge``, the verdict SUMMARY.md's
    effects table gives the cell; ``STATUS_OF_VERDICT``): ``same task``, ``other languages`` and ``not learned``
    first, then the 95% interval of its paired difference to the baseline (seed and example noise): ``change`` where
    it excludes zero, ``noise`` where it holds it, ``uncertain`` where nothing says how large the noise is. ``delta``
    is the analysis's change (the mean of the per-seed differences where seeds pair). Constant predictions are listed
    (``constant_langs``; ``all_constant`` when every language predicts one answer) whatever the status.

    Args:
        results: the results (deduplicated here: the newest evaluation of a configuration wins).
        lora: LoRA runs instead of full fine-tuning.
        not_learned: task -> why it is below its floor (``floor_verdicts``): every cell of the task carries it
            (``not_learned``), and a change over the baseline is not judged (``STATUS_NOT_LEARNED``), as SUMMARY.md
            claims no effect there.
        weak_intermediates: (encoder, intermediate) -> why its intermediate task is below its English dev floor
            (``intermediate_floor_verdicts``): its cells are not judged either (``STATUS_NOT_LEARNED``, the why
            naming the intermediate), as SUMMARY.md's "intermediate not learned" (named before a target below its
            own floor; every column of the intermediate, its LoRA one and its recipe variants too).
        benchmark: "XTREME" or "XTREME-R": adds a row per (encoder, intermediate) with ``task`` equal to that name,
            the mean over the benchmark's tasks that every row of the encoder with at least ``MIN_AGGREGATE_TASKS``
            of them has (one task set per encoder, ``aggregate_tasks``; partial when fewer than all), so the means of
            an encoder's rows compare the same tasks; None for no aggregate.

    Returns:
        One row per cell (see ``OVERVIEW_COLUMNS``); NaN where a value does not exist (``delta`` without baseline).
    """
    # The analysis's cells (seeds ordered as the report orders them), this LoRA setting's, named without " +LoRA"
    labels: dict[tuple[str, str, str], str] = {}
    groups: dict[tuple[str, str, str], list[TaskResult]] = {}
    for (enc, label, task), rs in analysis.cell_groups(results).items():
        if bool(rs[0].run.lora) == lora:
            key = (enc, label.removesuffix(" +LoRA"), task)
            labels[key], groups[key] = label, rs
    kinds: dict[str, str] = {}
    for rs in groups.values():
        for r in rs:
            kinds.setdefault(r.run.encoder, r.run.encoder_kind)
    cells = {k: _cell(v) for k, v in groups.items()}
    nan = math.nan
    rows = []
    not_learned, weak = not_learned or {}, weak_intermediates or {}
    for (enc, inter, task), c in cells.items():
        base = cells.get((enc, baseline_of(inter), task)) if inter != baseline_of(inter) else None
        own = analysis.own_tasks(task, c["trained_on"])
        if inter == baseline_of(inter):  # the baseline (of its recipe variant)
            status, why, delta, b_score = STATUS_BASELINE, "the encoder without intermediate task", nan, nan
        elif base is None:
            status, why, delta, b_score = (STATUS_SAME_TASK, SAME_TASK_WHY, nan, nan) if same_task(inter, own) \
                else (STATUS_NO_BASELINE, "no run without intermediate task", nan, nan)
        else:  # the analysis's verdict, as SUMMARY.md's effects table gives it (the column as the report names it)
            label = labels[(enc, inter, task)]
            weak_why = analysis.weak_intermediate(weak, enc, label)
            effect = analysis.judge(c["runs"], base["runs"], task, label, own, c["lang_sets"], base["lang_sets"],
                                    intermediate_weak=weak_why is not None, target_not_learned=task in not_learned)
            status, why = _status(effect, not_learned.get(task), weak_why)
            compared = status not in (STATUS_SAME_TASK, STATUS_OTHER_LANGUAGES)
            delta, b_score = (effect.delta, base["score"]) if compared else (nan, nan)
        lang_deltas = ({lang: v - base["lang_means"][lang] for lang, v in sorted(c["lang_means"].items())
                        if lang in base["lang_means"]} if base else {})
        # The phase-1 model the cell's encoder was made from (published numbers are matched on it, never on the run
        # name a user chose; "" for a tiny encoder or runs of two models under one name): anchors.phase1_model.
        models = {anchors.phase1_model(r.chain) for r in groups[(enc, inter, task)]} - {""}
        rows.append({
            "encoder": enc, "encoder_kind": kinds[enc], "intermediate": inter, "task": task, "score": c["score"],
            "sd": c["sd"], "n_seeds": c["n_seeds"], "seeds": c["seeds"],
            "ci_low": c["ci"][0] if c["ci"] else nan, "ci_high": c["ci"][1] if c["ci"] else nan,
            "baseline": b_score, "delta": delta, "status": status, "why": why, "constant_langs": c["constant_langs"],
            "all_constant": c["all_constant"], "n_langs": c["n_langs"], "partial": c["partial"],
            "reliability_recorded": c["reliability_recorded"], "lang_deltas": lang_deltas, "aggregate_tasks": "",
            "not_learned": not_learned.get(task, ""), "model": next(iter(models)) if len(models) == 1 else "",
        })
    if benchmark:
        wanted = BENCHMARK_TASKS[benchmark]
        for enc in sorted({e for e, _, _ in cells}):
            inters = sorted({i for e, i, _ in cells if e == enc})
            have = {i: [t for t in wanted if (enc, i, t) in cells] for i in inters}
            # One task set per encoder, the tasks every row with a mean (and the baseline) has: a mean over 6 tasks
            # beside one over 5 compares task sets, not intermediate tasks. Rows with too few tasks get no mean.
            shown = [i for i in inters if len(have[i]) >= MIN_AGGREGATE_TASKS]
            common = [t for t in wanted if all(t in have[i] for i in shown)]
            if len(common) < MIN_AGGREGATE_TASKS:
                continue
            for inter in shown:
                score = _mean([cells[(enc, inter, t)]["score"] for t in common])
                base = baseline_of(inter)
                b_score = _mean([cells[(enc, base, t)]["score"] for t in common]) \
                    if base in shown and inter != base else nan
                partial = len(common) < len(wanted) or any(cells[(enc, inter, t)]["partial"] for t in common)
                left = [t for t in have[inter] if t not in common]
                rows.append({
                    "encoder": enc, "encoder_kind": kinds[enc], "intermediate": inter, "task": benchmark,
                    "score": score, "sd": nan, "n_seeds": min(cells[(enc, inter, t)]["n_seeds"] for t in common),
                    "seeds": [], "ci_low": nan, "ci_high": nan, "baseline": b_score, "delta": score - b_score,
                    "status": STATUS_AGGREGATE,
                    "why": f"mean of the {len(common)}/{len(wanted)} {benchmark} tasks every row of {enc} has: "
                           f"{', '.join(common)}" + (" (partial)" if partial else "")
                           + (f"; left out here: {', '.join(left)}" if left else ""),
                    "constant_langs": [], "all_constant": False, "n_langs": 0, "partial": partial,
                    "reliability_recorded": False, "lang_deltas": {},
                    "aggregate_tasks": f"{len(common)}/{len(wanted)}", "not_learned": "", "model": "",
                })
    df = pd.DataFrame(rows, columns=OVERVIEW_COLUMNS)
    if not df.empty:
        e_rank = {e: k for k, e in enumerate(encoder_order(kinds))}
        i_rank = {n: k for k, n in enumerate(intermediate_order(df["intermediate"]))}
        t_rank = {n: k for k, n in enumerate(task_order(df["task"]) + list(BENCHMARK_TASKS))}
        df = df.sort_values(["encoder", "intermediate", "task"],
                            key=lambda s: s.map({"encoder": e_rank, "intermediate": i_rank}.get(s.name, t_rank))
                            ).reset_index(drop=True)
    return df


def encoder_order(kinds: Mapping[str, str]) -> list[str]:
    """Encoders multilingual first, then English-only, then unknown; by name within a kind."""
    rank = {"multilingual": 0, "english": 1}
    return sorted(kinds, key=lambda e: (rank.get(kinds[e], 2), e))


# -------------------------------------------------------------------------------- encoders across every task


def encoder_tasks(results: Iterable[TaskResult], encoder_a: str, encoder_b: str, intermediate: str = BASELINE,
                  lora: bool = False, not_learned: Mapping[str, str] | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two encoders on every task they share at once: per task, and per (task, script).

    Returns:
        (per task: ``task, score_a, sd_a, n_a, score_b, sd_b, n_b, diff`` (a minus b), ``chance``, ``const_a``,
         ``const_b`` (every language of that encoder predicts one answer), ``not_learned`` (why the task is below
         its floor, ``not_learned``: task -> why, from ``floor_verdicts``; "" where learned or no floor);
         per task and script: ``task, script, languages, score_a, score_b, diff``), seed means, in task and script
        order. Empty frames when the encoders share no task with this intermediate.
    """
    results = [r for r in recipe_variants(results) if r.run.intermediate == intermediate and bool(r.run.lora) == lora]
    tasks = task_order({r.task for r in results if r.run.encoder == encoder_a}
                       & {r.task for r in results if r.run.encoder == encoder_b})
    per_task, per_script = [], []
    for task in tasks:
        ra = [r for r in results if r.task == task and r.run.encoder == encoder_a]
        rb = [r for r in results if r.task == task and r.run.encoder == encoder_b]
        sa, sb = [r.score for r in ra], [r.score for r in rb]
        per_task.append({"task": task, "score_a": _mean(sa), "sd_a": _sd(sa), "n_a": len(sa), "score_b": _mean(sb),
                         "sd_b": _sd(sb), "n_b": len(sb), "diff": _mean(sa) - _mean(sb),
                         "chance": analysis.task_chance(ra + rb, task), "const_a": constant_everywhere(ra),
                         "const_b": constant_everywhere(rb), "not_learned": (not_learned or {}).get(task, "")})
        la, lb = _lang_means(ra), _lang_means(rb)
        by_script: dict[str, list[str]] = defaultdict(list)
        for lang in set(la) & set(lb):
            by_script[script_of(lang)].append(lang)
        for script in sorted(by_script, key=script_rank):
            langs = sorted(by_script[script])
            a, b = _mean([la[x] for x in langs]), _mean([lb[x] for x in langs])
            per_script.append({"task": task, "script": script, "languages": " ".join(langs), "score_a": a,
                               "score_b": b, "diff": a - b})
    return (pd.DataFrame(per_task, columns=["task", "score_a", "sd_a", "n_a", "score_b", "sd_b", "n_b", "diff",
                                            "chance", "const_a", "const_b", "not_learned"]),
            pd.DataFrame(per_script, columns=["task", "script", "languages", "score_a", "score_b", "diff"]))


# ---------------------------------------------------------------------------------------------- training curves


def floors_file_from_args(argv: Sequence[str], environ: Mapping[str, str]) -> str | None:
    """The floors file from ``--floors FILE`` (after streamlit's ``--``), else ``$XSTILTS_FLOORS``: what each target
    must reach before a claim, as ``python -m xstilts.report --floors`` reads it."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--floors")
    args, _ = parser.parse_known_args(list(argv))
    return args.floors or environ.get("XSTILTS_FLOORS") or None


def floor_verdicts(results: Sequence[TaskResult], floors_file: str | Path | None) -> tuple[dict[str, str], str]:
    """(task -> why it is "not learned at this budget", problem): the analysis's floors rule
    (``analysis.read_floors``, ``check_floors`` and ``targets_not_learned``) on these results, as SUMMARY.md marks
    the targets. No file: nothing marked; a file that cannot be used: nothing marked and the one-line problem."""
    if not floors_file:
        return {}, ""
    try:
        checked = analysis.check_floors(list(results), analysis.read_floors(floors_file))
    except (RecipeError, OSError) as exc:
        return {}, " ".join(str(exc).split())
    return analysis.targets_not_learned(checked), ""


def intermediate_floor_verdicts(results: Sequence[TaskResult], floors_file: str | Path | None
                                ) -> tuple[dict[tuple[str, str], str], str]:
    """((encoder, intermediate) -> why its intermediate task is "intermediate not learned", problem): the analysis's
    rule (``analysis.read_intermediate_floors``, ``check_intermediate_floors``, ``intermediate_not_learned``) on these
    results, as SUMMARY.md marks the rows. No file: nothing; an unusable file: nothing and why."""
    if not floors_file:
        return {}, ""
    try:
        floors = analysis.read_intermediate_floors(floors_file)
    except (RecipeError, OSError) as exc:
        return {}, " ".join(str(exc).split())
    return analysis.intermediate_not_learned(analysis.check_intermediate_floors(list(results), floors)), ""


def runs_dir_from_args(argv: Sequence[str], environ: Mapping[str, str]) -> str | None:
    """The folder of run folders from ``--runs DIR`` (after streamlit's ``--``), else ``$XSTILTS_RUNS``: the one
    place besides the results folder the viewer may read (each run's ``metrics.json``, for training curves)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--runs")
    args, _ = parser.parse_known_args(list(argv))
    return args.runs or environ.get("XSTILTS_RUNS") or None


def run_folder(folder: str, roots: Sequence[Path]) -> tuple[Path | None, str]:
    """A chain entry's folder as a readable path inside one of ``roots``, or (None, why not).

    Results record a folder relative to the run root the evaluation ran from (``provenance.shown_path``), so a
    relative folder is looked up under the working directory (the viewer started from the same root), then under each
    root, whole or by its trailing parts (``runs/mini/p3-x`` is ``p3-x`` in ``--runs runs/mini`` given from anywhere).
    Only folders inside a root are ever returned.
    """
    if not folder:
        return None, "no folder recorded in the chain"
    roots = [Path(r).resolve() for r in roots]
    given = Path(folder)
    if given.is_absolute():
        candidates = [given]
    else:
        tails = [Path(*given.parts[i:]) for i in range(len(given.parts))]
        candidates = [Path.cwd() / given, *(root / tail for root in roots for tail in tails)]
    for cand in candidates:
        if any(_inside(cand, root) for root in roots) and cand.is_dir() and not cand.is_symlink():
            return cand.resolve(), ""
    if given.is_absolute() and not any(_inside(given, root) for root in roots):
        return None, (f"{folder} is outside the results folder; start the viewer with --runs DIR (a folder holding "
                      "it) to read its training curves")
    if not given.is_absolute():
        return None, (f"{folder} (relative to the folder the evaluation ran from) is in neither the results folder "
                      "nor --runs DIR: start the viewer with --runs DIR naming the folder that holds it")
    return None, f"{folder} is not there (moved or deleted)"


def training_history(folder: str, roots: Sequence[Path]) -> tuple[pd.DataFrame | None, str]:
    """A training phase's log history (``<folder>/metrics.json``, ``log_history``) as one row per logged step.

    Returns:
        (``step, loss, dev_score`` (NaN where a step logged only one), ""), or (None, why it is not available).
    """
    import json

    path, why = run_folder(folder, roots)
    if path is None:
        return None, why
    metrics = path / "metrics.json"
    try:  # through the one guard: a link out of the roots, a FIFO or an oversized file is refused, never read
        data = json.loads(read_guarded(metrics, roots, MAX_METRICS_BYTES))
    except FileNotFoundError:
        return None, f"{folder} has no metrics.json (training did not finish)"
    except UnsafeFile as exc:
        return None, f"{folder}/metrics.json: {str(exc).replace(f'{metrics} ', '', 1)}"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        return None, f"{folder}/metrics.json cannot be read ({str(exc).splitlines()[0]})"
    history = data.get("log_history") if isinstance(data, dict) else None
    if not isinstance(history, list):
        return None, f"{folder}/metrics.json has no log_history"
    rows = []
    for h in history:
        if not isinstance(h, dict) or not isinstance(h.get("step"), (int, float)):
            continue
        loss, dev = _num(h.get("loss")), _num(h.get("eval_score"))
        if not (math.isnan(loss) and math.isnan(dev)):
            rows.append({"step": int(h["step"]), "loss": loss, "dev_score": dev})
    if not rows:
        return None, f"{folder}/metrics.json logged no loss or dev score"
    return pd.DataFrame(rows, columns=["step", "loss", "dev_score"]), ""


MAX_METRICS_BYTES = 50 * 2**20


def has_training_history(folder: str, roots: Sequence[Path]) -> bool:
    """Whether ``training_history`` would find a metrics.json to read (a regular file inside the roots; not opened:
    the guard in ``read_guarded`` decides again when it is read)."""
    path, _ = run_folder(folder, roots)
    if path is None:
        return False
    metrics = path / "metrics.json"
    real = Path(os.path.realpath(metrics))
    return any(_inside(real, Path(r).resolve()) for r in roots) and real.is_file()


# ------------------------------------------------------------------------------------------------------ display


def fmt_number(value: Any, unit: str = "", digits: int = 1, signed: bool = False) -> str:
    """A number for a table: one decimal (by default) with its unit; "-" where there is none (never "None"/"nan")."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "-"
    text = f"{value:{'+' if signed else ''},.{digits}f}"
    return text + unit if not unit or unit[0] in " %/" else f"{text} {unit}"


def display_frame(df: pd.DataFrame, units: Mapping[str, str] | None = None, digits: Mapping[str, int] | None = None
                  ) -> pd.DataFrame:
    """A copy of ``df`` for showing: numbers as text with one decimal and their unit, missing values as "-"."""
    units, digits = units or {}, digits or {}
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_bool_dtype(s):
            out[col] = s.map(lambda v: "yes" if v else "no")
        elif pd.api.types.is_numeric_dtype(s):
            out[col] = s.map(functools.partial(fmt_number, unit=units.get(col, ""), digits=digits.get(col, 1)))
        else:
            out[col] = s.map(lambda v: "-" if v is None or (isinstance(v, float) and math.isnan(v)) or v == ""
                             else ("yes" if v is True else "no" if v is False else str(v)))
    return out
