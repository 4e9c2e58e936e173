"""Published numbers beside our cells, and the labels of the beyond-XTREME tasks, for the report and the viewer.

``xstilts/anchors.json`` holds the anchors: a published score of one encoder on one task, the xstilts metric it
compares with (``f1_gold_pairs`` for MTEB's BUCC, never the mining ``f1``), the protocol behind it, its source, and
where sources disagree. The report and the viewer call :func:`cell_note` / :func:`hover_lines` with a cell's encoder
and task; nothing else of theirs changes. :func:`task_label` names a beyond-XTREME task with its benchmark group and
chance level.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from xstilts import typespecs
from xstilts.errors import DataError
from xstilts.tasks import BENCHMARK_TASKS, TASKS, benchmark_languages

ANCHORS_FILE = Path(__file__).with_name("anchors.json")
GROUP_NAMES = {"xtreme": "XTREME", "xtreme_r": "XTREME-R", "beyond_xtreme": "beyond XTREME"}


@dataclass(frozen=True)
class Anchor:
    """One published number (percent)."""

    encoders: tuple[str, ...]  # every name the encoder goes by (Hub id, short names used in results)
    task: str
    metric: str  # the xstilts metric key it compares with
    value: float | None  # the task mean, or None where only per-language values are given
    languages: dict[str, float] = field(default_factory=dict)
    protocol: str = ""
    source: str = ""
    disagreement: str = ""
    over: tuple[str, ...] = ()  # the languages the mean is over, where fewer than the task's
    extra: dict[str, float] = field(default_factory=dict)  # other metrics of the same source (EM beside F1)

    def mean(self) -> float | None:
        """The task-level number: the given value, else the mean of the per-language values."""
        if self.value is not None:
            return self.value
        return sum(self.languages.values()) / len(self.languages) if self.languages else None


def _anchor(entry: Any, i: int, path: Path) -> Anchor:
    where = f"{path}: anchors[{i}]"
    if not isinstance(entry, dict):
        raise DataError(f"{where} is not an object")
    for key in ("encoder", "task", "metric", "source"):
        if key not in entry:
            raise DataError(f"{where} lacks {key!r}")
    if entry["task"] not in TASKS:
        raise DataError(f"{where}: unknown task {entry['task']!r}")
    value, langs = entry.get("value"), entry.get("languages", {})
    if value is None and not langs:
        raise DataError(f"{where}: give a value or per-language values")
    numbers = ([value] if value is not None else []) + list(langs.values()) + list(entry.get("extra", {}).values())
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 100 for v in numbers):
        raise DataError(f"{where}: scores must be percentages (0-100)")
    names = entry["encoder"] if isinstance(entry["encoder"], list) else [entry["encoder"]]
    return Anchor(tuple(names), entry["task"], entry["metric"], None if value is None else float(value),
                  {k: float(v) for k, v in langs.items()}, entry.get("protocol", ""), entry["source"],
                  entry.get("disagreement", ""), tuple(entry.get("over", ())),
                  {k: float(v) for k, v in entry.get("extra", {}).items()})


def load(path: str | Path | None = None) -> list[Anchor]:
    """The anchors of ``path`` (default: the shipped ``anchors.json``).

    Raises:
        DataError: the file is not JSON or an entry is malformed (named with its index).
    """
    path = Path(path) if path else ANCHORS_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: cannot read the anchors ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("anchors"), list):
        raise DataError(f"{path}: expected an object with an 'anchors' list")
    return [_anchor(e, i, path) for i, e in enumerate(doc["anchors"])]


@lru_cache(maxsize=1)
def shipped() -> tuple[Anchor, ...]:
    return tuple(load())


def _norm(name: str) -> str:
    return name.strip().lower().rsplit("/", 1)[-1]


def find(encoder: str, task: str, anchors: tuple[Anchor, ...] | list[Anchor] | None = None) -> list[Anchor]:
    """The anchors of ``encoder`` (any of its names, a Hub owner ignored, case-insensitive) on ``task``."""
    want = _norm(str(encoder))
    return [a for a in (shipped() if anchors is None else anchors)
            if a.task == task and want in {_norm(n) for n in a.encoders}]


def _short_source(a: Anchor) -> str:
    return a.source.split(",")[0].split(" (")[0]


BASELINES = ("none", "")  # the intermediate of a run without intermediate task: the encoder a paper reports on


def phase1_model(chain: list[Any]) -> str:
    """The model a result's encoder was made from, for matching anchors: the phase-1 recipe's ``model`` (a Hub id, or
    a local folder holding a Hub model); "" for a tiny encoder built offline, or a chain without one."""
    for entry in chain:
        if isinstance(entry, dict) and entry.get("phase") == "phase1" and isinstance(entry.get("recipe"), dict):
            recipe = entry["recipe"]
            model = recipe.get("model")
            return model if recipe.get("source") in ("hub", "local") and isinstance(model, str) else ""
    return ""


def anchor_languages(a: Anchor) -> int:
    """How many languages an anchor's number is over: those it names (``over``, per-language values), else the task's
    XTREME set (the papers' tables)."""
    return len(a.over) or len(a.languages) or len(benchmark_languages(TASKS[a.task], "xtreme"))


def cell_note(encoder: str, row_task: str, intermediate: str = "none",
              anchors: tuple[Anchor, ...] | list[Anchor] | None = None, languages: int | None = None,
              model: str | None = None) -> str:
    """A short text beside a report cell, ``published 79.2 (Hu et al. 2020)``, or "" where nothing published compares.

    Only a run without intermediate task is the encoder a paper reports on; and a number is shown only beside the
    metric it measures: MTEB's gold-pairs BUCC beside the ``bucc2018 (gold pairs only ...)`` row, never beside the
    mining F1; MTEB's Tatoeba beside the ``tatoeba (MTEB's protocol ...)`` row; the last-layer and script-subset rows
    get none.

    Args:
        row_task: the report row's task label (``bucc2018``, ``bucc2018 (gold pairs only, ...)``).
        languages: how many languages the row's number is over; when the published number is over another count,
            the note says both (a mean over other languages is not the same measurement).
        model: the phase-1 model the encoder was made from (its Hub id or local folder; "" for a tiny encoder built
            offline): matched instead of the run's ``name``, which a user chooses (a tiny encoder named "xlmr-large"
            is not XLM-R Large). None: not known (an older summary), the name is matched.
    """
    if model == "":
        return ""
    if intermediate not in BASELINES:
        return ""
    task, _, qualifier = row_task.partition(" (")
    if task not in TASKS:
        return ""
    main = TASKS[task].main_metric.split("+")[-1]
    # A QA cell is (EM + F1) / 2: a published F1 beside it would read as a gap of half the EM-F1 difference, so the
    # number shown is the same mean of the source's F1 and EM (an anchor without EM shows nothing there).
    qa_mean = TASKS[task].main_metric == "exact_match+f1"
    if not qualifier:
        wanted = main
    elif qualifier.startswith("gold pairs"):
        wanted = f"{main}_gold_pairs"
    elif qualifier.startswith("MTEB's protocol"):
        wanted = "f1_mteb"
    else:
        return ""
    out = []
    for a in find(encoder if model is None else model, task, anchors):
        mean = a.mean()
        if mean is None or a.metric != wanted:
            continue
        n = anchor_languages(a)
        over = f" over {n} languages (this row: {languages})" if languages is not None and languages != n else \
            f" over {len(a.over)} languages" if a.over else ""
        flag = "; sources disagree" if a.disagreement else ""
        if qa_mean and not qualifier:
            if "exact_match" not in a.extra:
                continue
            out.append(f"published {(mean + a.extra['exact_match']) / 2:.1f} = (EM {a.extra['exact_match']:.1f} + "
                       f"F1 {mean:.1f}) / 2{over} ({_short_source(a)}{flag})")
            continue
        out.append(f"published {mean:.1f}{over} ({_short_source(a)}{flag})")
    return "; ".join(out)


def hover_lines(encoder: str, task: str, intermediate: str = "none",
                anchors: tuple[Anchor, ...] | list[Anchor] | None = None, model: str | None = None) -> list[str]:
    """Lines for a viewer hover box of a run without intermediate task: each anchor's metric and number, protocol,
    source and disagreement (plain text; the metric named, so a gold-pairs BUCC number is never read as mining F1).
    ``model``: as in :func:`cell_note` (the phase-1 model matched instead of the run name; "" matches nothing)."""
    if intermediate not in BASELINES or model == "":
        return []
    lines = []
    for a in find(encoder if model is None else model, task, anchors):
        mean = a.mean()
        per_lang = ", ".join(f"{k} {v:.1f}" for k, v in a.languages.items())
        extra = ", ".join(f"{k} {v:.1f}" for k, v in a.extra.items())
        lines.append(f"published {a.metric} {mean:.1f}" + (f" ({per_lang})" if per_lang else "")
                     + (f", {extra}" if extra else "") + f": {a.protocol}")
        lines.append(f"source: {a.source}")
        if a.disagreement:
            lines.append(f"sources disagree: {a.disagreement}")
    return lines


def group_of(task: str) -> str | None:
    """The benchmark group a task is shown under when it belongs to no XTREME benchmark ("beyond XTREME")."""
    for key, names in BENCHMARK_TASKS.items():
        if task in names and key not in ("xtreme", "xtreme_r"):
            return GROUP_NAMES.get(key, key)
    return None


def chance(task: str) -> float | None:
    """The chance level of ``task`` in percent, as its type's spec gives it without rows: 100 / classes
    (classification), 100 / choices (multiple choice); None where undefined (tagging F1, QA, retrieval)."""
    t = TASKS.get(task)
    return None if t is None else typespecs.chance(t)


def task_label(task: str) -> str:
    """``task`` as the report names it: a beyond-XTREME task gets its group and chance level (``sib200 (beyond
    XTREME; chance 14.3)``); every other task stays as it is."""
    group = group_of(task)
    if group is None:
        return task
    level = chance(task)
    return f"{task} ({group}; chance {level:.1f})" if level is not None else f"{task} ({group}; chance -)"
