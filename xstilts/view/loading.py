"""Loading and tabulating result files for the viewer: pure functions, no Streamlit.

Everything the viewer shows is read from the result files (``xstilts.results`` schema) below one results folder;
the provenance chain inside each result carries the recipes, dev metrics, costs and phase-1 tokenizer statistics,
so no file outside that folder is ever opened. Symlinks that lead out of the folder are refused and listed.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import os
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xstilts.results import XTREME_CATEGORIES, RunInfo, TaskResult, find_results


class ViewerError(ValueError):
    """The results folder cannot be shown (absent, not a folder); the message says what to pass instead."""


# Script of every XTREME / XTREME-R language (ISO 639-1 codes as the task registry uses them). Grouping languages by
# script makes tokenizer coverage visible: an English-only vocabulary covers Latin script at best.
SCRIPTS: dict[str, str] = {
    "af": "Latin", "az": "Latin", "de": "Latin", "en": "Latin", "es": "Latin", "et": "Latin", "eu": "Latin",
    "fi": "Latin", "fr": "Latin", "ht": "Latin", "hu": "Latin", "id": "Latin", "it": "Latin", "jv": "Latin",
    "lt": "Latin", "ms": "Latin", "nl": "Latin", "pl": "Latin", "pt": "Latin", "qu": "Latin", "ro": "Latin",
    "sw": "Latin", "tl": "Latin", "tr": "Latin", "vi": "Latin", "wo": "Latin", "yo": "Latin",
    "bg": "Cyrillic", "kk": "Cyrillic", "ru": "Cyrillic", "uk": "Cyrillic",
    "el": "Greek", "ka": "Georgian", "he": "Hebrew",
    "ar": "Arabic", "fa": "Arabic", "ur": "Arabic",
    "hi": "Devanagari", "mr": "Devanagari", "bn": "Bengali", "gu": "Gujarati", "pa": "Gurmukhi",
    "ta": "Tamil", "te": "Telugu", "ml": "Malayalam",
    "th": "Thai", "my": "Myanmar",
    "zh": "Han", "ja": "Japanese", "ko": "Hangul",
}
# Display order: Latin first (where an English vocabulary has a chance), then roughly west to east.
SCRIPT_ORDER: list[str] = [
    "Latin", "Cyrillic", "Greek", "Georgian", "Hebrew", "Arabic", "Devanagari", "Bengali", "Gujarati", "Gurmukhi",
    "Tamil", "Telugu", "Malayalam", "Thai", "Myanmar", "Han", "Japanese", "Hangul", "Other",
]

BASELINE = "none"
COST_KEYS = (
    "trainable_parameters", "total_parameters", "size_on_disk_bytes", "wall_time_s", "train_examples_per_second",
    "peak_memory_mb",
)


def script_of(lang: str) -> str:
    """The writing system of a language code; "Other" for codes outside XTREME / XTREME-R."""
    return SCRIPTS.get(lang.split("-")[0].lower(), "Other")


def script_rank(script: str) -> int:
    return SCRIPT_ORDER.index(script) if script in SCRIPT_ORDER else len(SCRIPT_ORDER)


# Characters that start Markdown syntax anywhere in a line (emphasis, code, links and images, raw HTML and entities,
# tables, strikethrough, Streamlit's math and directives); backslash-escaped, they render as themselves.
_MD_SPECIAL = frozenset("\\`*_[]<>!|#~$&{}")
# Text that GitHub or Streamlit would turn into a link or an emoji/icon whatever its escapes: shown as code instead.
_MD_AUTOLINK = re.compile(r"://|www\.|@|:[^:\s]*:", re.IGNORECASE)


def md_literal(text: object, table: bool = False) -> str:
    """``text`` as Markdown that renders exactly as the text: no emphasis, link, image, HTML, emoji or math.

    Strings from result files and paths (task, language and encoder names, recipe values, error messages) go through
    this wherever Markdown is rendered (Streamlit messages and captions, the report's tables), because a name like
    ``![x](http://host/x.png)`` would otherwise load a remote image. Plain names come back unchanged; other text is
    backslash-escaped, or put in a code span where an escape cannot stop a link or emoji. Non-printable characters
    are shown as their Python escapes.

    Args:
        text: Any value; shown as ``str(text)``.
        table: The result goes into a table cell (a ``|`` must then be escaped even inside a code span).
    """
    text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(text))
    if _MD_AUTOLINK.search(text):
        longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
        fence = "`" * (longest + 1)
        body = text.replace("|", "\\|") if table else text
        pad = " " if body[:1] in ("`", " ") or body[-1:] in ("`", " ") else ""
        return f"{fence}{pad}{body}{pad}{fence}"
    out = "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in text)
    # At the start of a block, "- x", "+ x" and "---" would become a list or a rule, "1. x" a numbered list.
    out = re.sub(r"^[-+]", lambda m: "\\" + m.group(0), out)
    return re.sub(r"^(\d+)([.)])(?=\s|$)", r"\1\\\2", out)


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


def results_frame(results: Iterable[tuple[str, TaskResult]]) -> pd.DataFrame:
    """One row per result file: its run, task, score and completeness."""
    rows = []
    for path, r in results:
        rows.append({
            "path": path, "task": r.task, "encoder": r.run.encoder, "encoder_kind": r.run.encoder_kind,
            "intermediate": r.run.intermediate, "target": r.run.target, "seed": r.run.seed, "lora": r.run.lora,
            "score": r.score, "main_metric": r.main_metric, "partial": r.partial, "n_languages": len(r.languages),
            "missing_languages": ", ".join(r.missing_languages), "created": r.created,
        })
    cols = ["path", "task", "encoder", "encoder_kind", "intermediate", "target", "seed", "lora", "score",
            "main_metric", "partial", "n_languages", "missing_languages", "created"]
    return pd.DataFrame(rows, columns=cols)


def _config_key(r: TaskResult) -> tuple:
    return (r.run.encoder, r.run.intermediate, r.task, r.run.seed, r.run.lora)


def dedupe(results: Iterable[TaskResult]) -> list[TaskResult]:
    """One result per (encoder, intermediate, task, seed, LoRA): the newest by ``created`` (re-evaluations win)."""
    best: dict[tuple, TaskResult] = {}
    for r in results:
        k = _config_key(r)
        if k not in best or str(r.created) > str(best[k].created):
            best[k] = r
    return list(best.values())


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def _sd(values: Sequence[float]) -> float:
    """Sample standard deviation over seeds; NaN with fewer than two."""
    return statistics.stdev(values) if len(values) >= 2 else math.nan


def _rms(values: Iterable[float]) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return math.sqrt(sum(v * v for v in vals) / len(vals)) if vals else math.nan


def intermediate_order(names: Iterable[str]) -> list[str]:
    """The baseline first, single tasks alphabetically, multi-task mixtures last."""
    names = set(names)
    single = sorted(n for n in names if n != BASELINE and not n.startswith("multi:"))
    multi = sorted(n for n in names if n.startswith("multi:"))
    return ([BASELINE] if BASELINE in names else []) + single + multi


def task_order(names: Iterable[str]) -> list[str]:
    """Tasks in XTREME category order, then any others alphabetically."""
    known = [t for ts in XTREME_CATEGORIES.values() for t in ts]
    names = set(names)
    return [t for t in known if t in names] + sorted(names - set(known))


def delta_table(results: Iterable[TaskResult], encoder: str, lora: bool = False) -> pd.DataFrame:
    """Change of each (intermediate, task) over the no-intermediate baseline for one encoder, over seeds.

    The task score of a configuration is averaged over its seeds. ``noise`` is the seed-to-seed standard deviation of
    the task score: the root mean square of the two configurations' standard deviations where they have several
    seeds, else the same pooled over every configuration of that task for this encoder (so a single-seed run still
    gets an estimate), else NaN (unknown). A delta with ``|delta| <= noise`` is marked ``within_noise``.

    Returns:
        One row per (intermediate, task) with a non-baseline intermediate: ``intermediate, task, delta, score,
        baseline, sd, baseline_sd, noise, noise_source, within_noise, n_seeds, n_baseline_seeds, lang_deltas``
        (``lang_deltas``: {lang: delta of the seed-mean per-language scores}). ``delta`` is NaN without a baseline.
    """
    chosen = [r for r in dedupe(results) if r.run.encoder == encoder and bool(r.run.lora) == lora]
    groups: dict[tuple[str, str], list[TaskResult]] = defaultdict(list)
    for r in chosen:
        groups[(r.run.intermediate, r.task)].append(r)

    def summary(rs: list[TaskResult]) -> tuple[float, float, dict[str, float]]:
        per_lang: dict[str, list[float]] = defaultdict(list)
        for r in rs:
            for lang, m in r.languages.items():
                v = language_score(r.main_metric, m)
                if v is not None:
                    per_lang[lang].append(v)
        scores = [r.score for r in rs]
        return _mean(scores), _sd(scores), {lang: _mean(v) for lang, v in per_lang.items()}

    stats = {k: summary(v) for k, v in groups.items()}
    pooled = {task: _rms(sd for (i, t), (_, sd, _) in stats.items() if t == task)
              for task in {t for _, t in groups}}
    rows = []
    for (inter, task), rs in groups.items():
        if inter == BASELINE:
            continue
        score, sd, langs = stats[(inter, task)]
        base = stats.get((BASELINE, task))
        b_score, b_sd, b_langs = base if base else (math.nan, math.nan, {})
        own = _rms([sd, b_sd])
        noise, source = (own, "these seeds") if not math.isnan(own) else (pooled[task], "pooled over the task")
        if math.isnan(noise):
            source = "unknown (one seed everywhere)"
        delta = score - b_score
        rows.append({
            "intermediate": inter, "task": task, "delta": delta, "score": score, "baseline": b_score, "sd": sd,
            "baseline_sd": b_sd, "noise": noise, "noise_source": source,
            "within_noise": bool(abs(delta) <= noise) if not (math.isnan(delta) or math.isnan(noise)) else False,
            "n_seeds": len(rs), "n_baseline_seeds": len(groups.get((BASELINE, task), [])),
            "lang_deltas": {lang: langs[lang] - b_langs[lang] for lang in sorted(langs) if lang in b_langs},
        })
    cols = ["intermediate", "task", "delta", "score", "baseline", "sd", "baseline_sd", "noise", "noise_source",
            "within_noise", "n_seeds", "n_baseline_seeds", "lang_deltas"]
    df = pd.DataFrame(rows, columns=cols)
    if not df.empty:
        i_rank = {n: k for k, n in enumerate(intermediate_order(df["intermediate"]))}
        t_rank = {n: k for k, n in enumerate(task_order(df["task"]))}
        df = df.sort_values(["intermediate", "task"], key=lambda s: s.map(i_rank if s.name == "intermediate"
                                                                          else t_rank)).reset_index(drop=True)
    return df


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
        ``tpw_a, tpw_b`` (tokens per word); NaN where not recorded. Sorted by script (Latin first), then language.
    """
    results = dedupe(results)
    pick = [r for r in results if r.task == task and r.run.intermediate == intermediate and bool(r.run.lora) == lora]
    a = _lang_means(r for r in pick if r.run.encoder == encoder_a)
    b = _lang_means(r for r in pick if r.run.encoder == encoder_b)
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
        })
    df = pd.DataFrame(rows, columns=["lang", "script", "score_a", "score_b", "diff", "unk_a", "unk_b", "tpw_a",
                                     "tpw_b"])
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


def run_languages(result: TaskResult) -> pd.DataFrame:
    """One result per language: ``lang, script, score, n, is_english``, highest score first."""
    rows = []
    for lang, m in result.languages.items():
        v = language_score(result.main_metric, m)
        if v is not None:
            rows.append({"lang": lang, "script": script_of(lang), "score": v, "n": m.get("n"),
                         "is_english": lang == "en"})
    df = pd.DataFrame(rows, columns=["lang", "script", "score", "n", "is_english"])
    return df.sort_values(["score", "lang"], ascending=[False, True]).reset_index(drop=True)


def zero_shot_gap(result: TaskResult) -> float | None:
    """English minus the mean of the other languages (the cross-lingual transfer gap); None without both."""
    df = run_languages(result)
    en = df.loc[df["is_english"], "score"]
    rest = df.loc[~df["is_english"], "score"]
    if en.empty or rest.empty:
        return None
    return float(en.iloc[0] - rest.mean())


def benchmark_table(results: Iterable[TaskResult], categories: dict[str, list[str]] = XTREME_CATEGORIES
                    ) -> pd.DataFrame:
    """Benchmark score per run (encoder, intermediate, seed, LoRA) with its category and task scores.

    Scores come from ``xstilts.results.benchmark_scores``: a category or overall score is empty (NaN) when one of its
    tasks is missing or partial, and the ``missing``/``partial`` columns name them.
    """
    from xstilts.results import benchmark_scores  # the one place benchmark arithmetic lives

    runs: dict[tuple, list[TaskResult]] = defaultdict(list)
    kinds: dict[tuple, str] = {}
    seedless: dict[tuple, list[TaskResult]] = defaultdict(list)
    for r in dedupe(results):
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


# ------------------------------------------------------------------------------------------- provenance and cost


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mapping -> {"a.b.c": value} (lists kept whole), for showing recipes as a table."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


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
