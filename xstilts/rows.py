"""Source rows into canonical rows: fields read by the registry's mapping, labels read and checked, then each task
type's row shape (``xstilts.typespecs``). Light: no torch, no datasets; ``xstilts.data`` loads the rows, this module
shapes them, so the planner and the Hub check can shape rows without loading a model library.

Canonical rows per task type (what the featurizers consume):

- classification: ``{"text_a": str, "text_b": str | None, "label": int}``
- regression: ``{"text_a": str, "text_b": str | None, "label": float}``
- multiple_choice: ``{"context": str, "question": str, "choices": list[str], "label": int}``
- span_qa: ``{"id": str, "context": str, "question": str, "answers": {"text": [...], "answer_start": [...]}}``
- tagging: ``{"tokens": list[str], "tags": list[int]}``
- retrieval: ``{"source": str, "target": str}`` (row i of one side aligned with row i of the other)
- dual_encoder: ``{"query_id", "query", "candidate_id", "candidate", "context"}`` (``dual_encoder_rows``)
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable
from typing import Any, Protocol

from xstilts.dual_encoder_rows import canonical_pairs
from xstilts.errors import DataError


class RowReading(Protocol):
    """What shaping rows reads of a task type's spec (``typespecs.TypeSpec``, which imports this module for its row
    shapes and label readers: a protocol here keeps the import one way)."""

    read_label: Callable[..., Any]
    row_shape: Callable[..., list[dict]]


COPA_QUESTIONS = {"cause": "What was the cause?", "effect": "What happened as a result?"}
# How the official data marks a row without gold label: SNLI/MNLI "-", the Hub's ClassLabel -1, an empty cell.
UNLABELLED = ("", "-", "-1", "None")
# Key under which the local readers record where a raw row sits in its file (a line number or a JSON path); read by
# ``canonical_rows`` for error messages, never copied into a canonical row.
ROW_AT = "__at__"
TAG_LINES = "__tag_lines__"  # conll: the line of every tag of a sentence


def _get(row: dict, spec: str) -> Any:
    """A canonical field from a source row: "col", "col.sub" (nested), or "a|b|c" (several columns as a list)."""
    if "|" in spec:
        return [_get(row, s) for s in spec.split("|")]
    if "." in spec:
        head, sub = spec.split(".", 1)
        return row[head][sub]
    return row[spec]


def _valid_labels(labels: dict[str, int] | None, n_labels: int | None) -> str:
    if labels is not None:
        return ", ".join(sorted(k for k, v in labels.items() if v >= 0))
    return f"0..{n_labels - 1}" if n_labels else "an integer class id"


def class_label(value: Any, labels: dict[str, int] | None, where: str, n_labels: int | None = None) -> int | None:
    """The class id of a raw label; None when the row has no gold label (see ``UNLABELLED``).

    Raises:
        DataError: an unknown label, or an id outside ``0..n_labels-1`` (it would train a head that does not exist,
            or be scored as a wrong answer), naming ``where`` and the valid labels.
    """
    if value is None or (isinstance(value, str) and value.strip() in UNLABELLED) or (
            isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0):
        return None
    idx: int | None = None
    if labels is not None and not isinstance(value, bool):
        key = str(value).strip()
        if key in labels:
            idx = labels[key]
            if idx < 0:  # a placeholder the registry maps to "no label" (UD's "_" multiword-token lines)
                return None
        elif isinstance(value, int) and value in labels.values():
            idx = value
    else:
        try:
            idx = int(value) if isinstance(value, int) else int(str(value).strip())
        except ValueError:
            idx = None
    if idx is None or (n_labels is not None and not 0 <= idx < n_labels):
        raise DataError(f"{where}: unknown label {value!r}; expected one of {_valid_labels(labels, n_labels)}")
    return idx


def _row_where(where: str, row: dict, i: int) -> str:
    at = row.get(ROW_AT) if isinstance(row, dict) else None
    if isinstance(at, int):
        return f"{where}:{at}"
    if isinstance(at, str):
        return f"{where}: {at}"
    return f"{where} row {i}"


def no_label(where: str, value: Any, labels: dict[str, int] | None, n_labels: int | None) -> DataError:
    return DataError(f"{where}: no gold label ({value!r}), and the official data of this split has no rows without a "
                     f"gold label; expected one of {_valid_labels(labels, n_labels)}: fix or remove the row")


def canonical_rows(rows: list[dict], fields: dict[str, str], labels: dict[str, int] | None, spec: RowReading,
                   where: str, keep: str | None = None, n_labels: int | None = None) -> list[dict]:
    """Maps source rows onto the canonical fields of the task type ``spec`` (see module docstring), applying the row
    filter; rows dropped for having no gold label are not counted here (``canonical_rows_counted`` counts them)."""
    return canonical_rows_counted(rows, fields, labels, spec, where, keep, n_labels)[0]


def canonical_rows_counted(rows: list[dict], fields: dict[str, str], labels: dict[str, int] | None, spec: RowReading,
                           where: str, keep: str | None = None, n_labels: int | None = None
                           ) -> tuple[list[dict], int]:
    """Maps source rows onto the canonical fields of the task type ``spec``, applying the row filter: each field is
    read, the label through the type's ``read_label``, then the row through the type's ``row_shape``.

    Args:
        n_labels: the number of classes (choices for multiple choice); a label outside ``0..n_labels-1`` is an error.
        keep: ``"gold"`` drops rows without gold label (counted); ``"ud_tokens"`` lets tags be unlabelled
            placeholders (dropped with their tokens later); otherwise an unlabelled row or tag is an error.

    Returns:
        The canonical rows and the number of rows dropped for having no gold label.
    """
    out, dropped = [], 0
    for i, row in enumerate(rows):
        rw = _row_where(where, row, i)
        if not isinstance(row, dict):
            raise DataError(f"{rw}: a row must be a JSON object with fields {sorted(set(fields.values()))}, "
                            f"found {type(row).__name__}")
        try:
            c = {name: _get(row, spec) for name, spec in fields.items()}
        except (KeyError, TypeError) as exc:
            raise DataError(f"{rw} lacks field {exc} (fields expected: {fields})") from None
        if "label" in c:
            label = spec.read_label(c["label"], labels, rw, n_labels)
            if label is None:
                if keep != "gold":
                    raise no_label(rw, c["label"], labels, n_labels)
                dropped += 1
                continue
            c["label"] = label
        out.extend(spec.row_shape(c, row, RowContext(where, rw, labels, keep, n_labels)))
    return out, dropped


def float_label(value: Any, labels: dict[str, int] | None, where: str, n_labels: int | None = None
                ) -> float | None:
    """The score of a raw regression label (STS-B's 0-5 similarity); None when the row has no gold label (an empty
    cell, ``None``). Negative scores are real values here, not the "no label" marker they are for class ids.

    Raises:
        DataError: a label that is not a finite number, naming ``where``.
    """
    if value is None or (isinstance(value, str) and value.strip() in ("", "None")):
        return None
    try:
        score = float(value) if not isinstance(value, bool) else None
    except ValueError:
        score = None
    if score is None or score != score or score in (float("inf"), float("-inf")):
        raise DataError(f"{where}: label {value!r} is not a number; a regression label is a score such as 3.8")
    return score


@dataclass
class RowContext:
    """Where a source row sits and how its labels read, for the per-task-type row shapes below."""

    where: str  # the file or dataset
    row_where: str  # the row in it
    labels: dict[str, int] | None
    keep: str | None
    n_labels: int | None


def classification_row(c: dict, row: dict, ctx: RowContext) -> list[dict]:
    c.setdefault("text_b", None)
    return [c]


def choice_row(c: dict, row: dict, ctx: RowContext) -> list[dict]:
    # COPA-style "cause"/"effect" become the questions jiant asks, so the encoder sees natural text.
    c["question"] = COPA_QUESTIONS.get(c.get("question", ""), c.get("question", ""))
    return [c]


def tagging_row(c: dict, row: dict, ctx: RowContext) -> list[dict]:
    if ctx.labels is None:  # tag ids already (CCG's tag set is built from the training data)
        return [c]
    lines = row.get(TAG_LINES) or []
    tags = []
    for j, t in enumerate(c["tags"]):
        tw = f"{ctx.where}:{lines[j]}" if j < len(lines) else f"{ctx.row_where} word {j}"
        tag = class_label(t, ctx.labels, tw, ctx.n_labels)
        if tag is None and ctx.keep != "ud_tokens":
            raise no_label(tw, t, ctx.labels, ctx.n_labels)
        tags.append(-1 if tag is None else tag)  # -1: a UD placeholder, dropped by _drop_ud_placeholders
    c["tags"] = tags
    return [c]


def retrieval_row(c: dict, row: dict, ctx: RowContext) -> list[dict]:
    # Tatoeba on the Hub keeps each line's trailing newline; the reference strips before tokenising.
    return [{k: str(v).strip() for k, v in c.items()}]


def dual_encoder_rows(c: dict, row: dict, ctx: RowContext) -> list[dict]:
    return canonical_pairs(c, ctx.row_where)  # raises DataError naming the field


def as_is(c: dict, row: dict, ctx: RowContext) -> list[dict]:
    return [c]
