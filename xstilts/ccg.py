"""CCG supertagging from CCGbank's AUTO files (LDC2005T13; licensed, not on the Hugging Face Hub).

CCGbank's ``data/AUTO`` folder holds one folder per WSJ section (``00`` .. ``24``), each with files
``wsj_SSNN.auto``. A sentence is two lines: ``ID=wsj_0001.1 PARSER=GOLD NUMPARSE=1`` and its derivation, whose leaves
read ``(<L supertag modPOS origPOS word predArgCat>)``, e.g. ``(<L N/N NNP NNP Pierre N_73/N_73>)``; the leaves in
order are the sentence's words and their supertags.

Standard splits: sections 02-21 train, 00 dev, 23 test. The tag vocabulary is built from the training sections;
tags seen fewer than ``MIN_TAG_COUNT`` (10) times there are mapped to one catch-all label, as supertaggers since Clark
& Curran (2004) do (their 425-tag set). Dev tags outside the vocabulary map to the same label, so dev accuracy counts
a word with a rare gold tag as correct when the catch-all label is predicted.
"""
from __future__ import annotations

import dataclasses
import functools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from xstilts.errors import DataError
from xstilts.tasks import Task

MIN_TAG_COUNT = 10
RARE_TAG = "<rare>"  # the catch-all label of tags below MIN_TAG_COUNT in train
_LEAF = re.compile(r"\(<L (\S+) (\S+) (\S+) (\S+) (\S+)>\)")


class CCGBankMissing(DataError):
    """The CCGbank AUTO files are not where ``data.path`` points; the message names what to provide."""


def _missing(folder: str | Path | None, detail: str) -> CCGBankMissing:
    return CCGBankMissing(
        f"CCG supertagging needs the CCGbank AUTO files, which are licensed (LDC2005T13, from the Linguistic Data "
        f"Consortium) and not on the Hugging Face Hub: {detail}. Set data.path to CCGbank's data/AUTO folder, the "
        f"one holding the section folders 00-24 (00/wsj_0001.auto, ...); got data.path={folder}")


def parse_derivation(line: str, where: str = "AUTO line") -> tuple[list[str], list[str]]:
    """The words and supertags of one AUTO derivation line, in sentence order.

    Raises:
        DataError: the line has no ``(<L ...>)`` leaf.
    """
    words, tags = [], []
    for m in _LEAF.finditer(line):
        tags.append(m.group(1))
        words.append(m.group(4))
    if not words:
        raise DataError(f"{where}: no (<L supertag modPOS origPOS word predArgCat>) leaf in {line[:80]!r}; not a "
                        "CCGbank AUTO derivation")
    return words, tags


def read_auto(text: str, where: str = "AUTO text") -> list[dict[str, list[str]]]:
    """Rows ``{"tokens": [...], "tags": [...]}`` (tags as strings) of every derivation in an AUTO file's text.

    ``ID=`` header lines and blank lines are skipped; every other line must be a derivation.
    """
    rows = []
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("ID="):
            continue
        tokens, tags = parse_derivation(line, f"{where}:{n}")
        rows.append({"tokens": tokens, "tags": tags})
    return rows


def parse_sections(spec: str) -> tuple[int, ...]:
    """Section numbers from ``"02-21"``, ``"00"`` or ``"00,23"``."""
    out: list[int] = []
    for part in spec.split(","):
        lo, _, hi = part.strip().partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return tuple(out)


def section_files(folder: str | Path | None, sections: Iterable[int]) -> list[Path]:
    """The ``.auto`` files of ``sections`` under CCGbank's ``data/AUTO`` folder, sorted.

    Raises:
        CCGBankMissing: no folder, or a section folder missing or without ``.auto`` files (named in the message).
    """
    if not folder:
        raise _missing(folder, "data.path is not set")
    root = Path(folder)
    if not root.is_dir():
        raise _missing(folder, f"{root} does not exist")
    files: list[Path] = []
    for sec in sections:
        found = sorted((root / f"{sec:02d}").glob("*.auto"))
        if not found:
            raise _missing(folder, f"section {sec:02d} ({root / f'{sec:02d}'}) has no .auto files")
        files.extend(found)
    return files


@functools.lru_cache(maxsize=8)
def _read_sections_cached(folder: str, sections: tuple[int, ...]
                          ) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    rows = []
    for path in section_files(folder, sections):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}: not UTF-8 text ({exc})") from None
        rows.extend((tuple(r["tokens"]), tuple(r["tags"])) for r in read_auto(text, str(path)))
    return tuple(rows)


def read_sections(folder: str | Path | None, sections: Sequence[int]) -> list[dict[str, list[str]]]:
    """Rows (string tags) of every sentence of ``sections``, in file order (read once per process and cached)."""
    if not folder:
        raise _missing(folder, "data.path is not set")
    return [{"tokens": list(t), "tags": list(g)} for t, g in _read_sections_cached(str(folder), tuple(sections))]


def build_vocabulary(tag_lists: Iterable[Sequence[str]], min_count: int = MIN_TAG_COUNT) -> tuple[str, ...]:
    """The tag vocabulary: tags seen at least ``min_count`` times, most frequent first (ties by name), then
    ``RARE_TAG`` for everything else."""
    counts = Counter(tag for tags in tag_lists for tag in tags)
    kept = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
    return (*kept, RARE_TAG)


def tag_ids(tags: Sequence[str], vocabulary: Sequence[str]) -> list[int]:
    """Tag indices in ``vocabulary``; tags outside it get the index of ``RARE_TAG``."""
    index = {t: i for i, t in enumerate(vocabulary)}
    rare = index[RARE_TAG]
    return [index.get(t, rare) for t in tags]


def with_vocabulary(task: Task, data_path: str | None) -> Task:
    """``task`` with its label names built from its training data when its labels come from there (CCG), else
    ``task`` unchanged."""
    if not task.labels_from_train or task.label_names:
        return task
    spec = task.train[0].local.path if task.train and task.train[0].local else "02-21"
    rows = read_sections(data_path, parse_sections(spec))
    return dataclasses.replace(task, label_names=build_vocabulary(r["tags"] for r in rows))


def load_rows(task: Task, sections_spec: str, data_path: str | None, limit: int | None = None) -> list[dict]:
    """Canonical tagging rows (tag indices in ``task.label_names``) of the given sections."""
    if not task.label_names:
        raise DataError(f"task {task.name}: its tag vocabulary is built from the training sections first "
                        "(xstilts.ccg.with_vocabulary)")
    rows = read_sections(data_path, parse_sections(sections_spec))
    rows = rows[:limit] if limit is not None else rows
    return [{"tokens": r["tokens"], "tags": tag_ids(r["tags"], task.label_names)} for r in rows]
