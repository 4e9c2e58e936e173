"""Canonical rows of the dual-encoder task type (XTREME-R's Mewsli-X and LAReQA) and the readers of their sources.

Canonical rows are uniform, whatever the source: ``{"query_id", "query", "candidate_id", "candidate", "context"}``
(``None`` where a source has no such part):

- Mewsli-X ``wikipedia_pairs`` row -> one pair: the mention in its sentence, the entity description;
- Mewsli-X ``wikinews_mentions`` row (a context with several mentions) -> one query row per mention, its gold entity
  id as ``candidate_id`` and no candidate text (candidates come from the ``candidate_entities`` set);
- Mewsli-X ``candidate_entities`` row -> a candidate without query;
- SQuAD-shaped row (SQuAD v1.1 for LAReQA training, XQuAD-R for its evaluation) -> the question and its answer
  *sentence*, found with :func:`split_sentences`, with the paragraph as ``context``; ``candidate_id`` is
  ``<paragraph key>#<start>-<end>`` (the sentence's character span). A question whose answer lies in no single
  sentence is skipped, as XTREME's LAReQA reader skips it.

Mewsli-X's Hub schema (community copy ``izhx/mewsli-x``) is [inferred]: every field used below is checked and a
missing or differently typed one is a ``DataError`` naming the field.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from xstilts.errors import DataError

MARKER_L, MARKER_R = "{", "}"  # Mewsli-X's mention markers
_MARKED = re.compile(r"\{(.*?)\}")

CANONICAL_FIELDS = ("query_id", "query", "candidate_id", "candidate", "context")


class DualEncoderDataError(DataError):
    """A dual-encoder row does not have the shape its source should have (the message names field and fix)."""


def _need(obj: Any, key: str, where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj or obj[key] is None:
        raise DualEncoderDataError(f"{where}: field {key!r} is missing; the Mewsli-X schema is inferred "
                                   "(izhx/mewsli-x on the Hub); check the dataset's columns against "
                                   "xstilts.dual_encoder_rows")
    return obj[key]


def _spans(raw: Any, text: str, where: str) -> list[tuple[int, int]]:
    if not isinstance(raw, list):
        raise DualEncoderDataError(f"{where}: sentence_spans must be a list of {{start, end}}")
    spans = []
    for s in raw:
        start, end = int(_need(s, "start", where)), int(_need(s, "end", where))
        if not 0 <= start < end <= len(text):
            raise DualEncoderDataError(f"{where}: sentence span {start}-{end} is outside the text ({len(text)} chars)")
        spans.append((start, end))
    return spans


def _clean(text: str) -> str:
    # Newlines and double spaces normalised away, as Mewsli-X's baseline preprocessing does.
    return " ".join(text.splitlines()).replace("  ", " ").strip()


def mention_query(context: dict, mention: dict, where: str = "Mewsli-X mention") -> str:
    """The query string of a mention: its sentence with the mention marked, the mention text prepended.

    ``"Smith: The verdict came back for { Smith }, who stepped down."`` (Mewsli-X's baseline format: one sentence of
    context, ``{``/``}`` markers, pre-existing ``{...}`` in the sentence escaped to ``(...)``, the mention prepended so
    truncation never cuts it off).
    """
    text = _need(context, "text", where)
    span = _need(mention, "mention_span", where)
    start, end = int(_need(span, "start", where)), int(_need(span, "end", where))
    surface = _need(span, "text", where)
    if text[start:end] != surface:
        raise DualEncoderDataError(f"{where}: mention_span {start}-{end} reads {text[start:end]!r}, not {surface!r}")
    sentence = next(((s, e) for s, e in _spans(_need(context, "sentence_spans", where), text, where)
                     if s <= start and end <= e), None)
    if sentence is None:
        raise DualEncoderDataError(f"{where}: mention {surface!r} lies in no single sentence of its context")
    s, e = sentence
    left = _MARKED.sub(r"(\1)", text[s:start])
    right = _MARKED.sub(r"(\1)", text[end:e])
    return _clean(f"{surface}: {left} {MARKER_L} {surface} {MARKER_R} {right}")


def entity_text(entity: dict, where: str = "Mewsli-X entity") -> str:
    """An entity's candidate text: its description's sentences joined by spaces, whitespace normalised."""
    description = _need(entity, "description", where)
    spans = _spans(_need(entity, "sentence_spans", where), description, where)
    return _clean(" ".join(description[s:e] for s, e in spans))


# ---- Sentence breaks (LAReQA without the original XQuAD-R files) ---------------------------------------------------
# A sentence ends after ., !, ? or … (plus closing quotes/brackets) followed by whitespace, or after a mark that needs
# no space after it: the CJK full stops 。！？, the Arabic question mark ؟, the Devanagari danda । and the Greek
# question mark ; (not the ASCII semicolon). Thai, written without sentence punctuation, stays one
# sentence per paragraph. Not what XQuAD-R's `sentence_breaks` were made with, so scores computed with it are not
# comparable to published LAReQA numbers.
_SENTENCE_END = re.compile(r"(?:[.!?…]+[\"'”’)\]]*(?=\s))|(?:[。！？؟।;]+[\"'”’」』)\]]*)")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the sentences of ``text`` (see ``_SENTENCE_END``), whitespace trimmed.

    Every non-space character lies in exactly one span; a text without a sentence end is one sentence.
    """
    spans, start = [], 0
    cuts = [m.end() for m in _SENTENCE_END.finditer(text)] + [len(text)]
    for cut in cuts:
        s, e = start, cut
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s < e:
            spans.append((s, e))
        start = cut
    return spans


def paragraph_key(context: str) -> str:
    """A short stable key of a paragraph (candidate ids are ``<key>#<start>-<end>``)."""
    return hashlib.sha1(context.encode("utf-8")).hexdigest()[:12]


def answer_sentence(spans: list[tuple[int, int]], answer_start: int) -> tuple[int, int] | None:
    """The sentence span holding ``answer_start`` (None: between sentences, the question is skipped)."""
    return next(((s, e) for s, e in spans if s <= answer_start < e), None)


# ---- Canonical rows ----------------------------------------------------------------------------------------------
def _row(query_id: Any = None, query: Any = None, candidate_id: Any = None, candidate: Any = None,
         context: Any = None) -> dict:
    return {"query_id": query_id, "query": query, "candidate_id": candidate_id, "candidate": candidate,
            "context": context}


def canonical_pairs(row: dict, where: str) -> list[dict]:
    """The canonical dual-encoder rows of one source row (see the module docstring for each source shape).

    Args:
        row: one source row, mapped onto the registry's field names.
        where: the dataset/split/row named in error messages.

    Returns:
        Zero (a SQuAD question whose answer lies in no sentence), one, or several (one per Mewsli-X mention) rows
        with the keys of ``CANONICAL_FIELDS``.

    Raises:
        DualEncoderDataError: a field the schema requires is missing or inconsistent (e.g. a mention span whose text
            differs from its context), naming the field.
    """
    try:
        if "contextual_mention" in row:  # Mewsli-X wikipedia_pairs
            cm, entity = row["contextual_mention"], _need(row, "entity", where)
            mention = _need(cm, "mention", where)
            return [_row(str(_need(mention, "example_id", where)), mention_query(_need(cm, "context", where), mention,
                                                                                 where),
                         str(_need(entity, "entity_id", where)), entity_text(entity, where))]
        if "mentions" in row:  # Mewsli-X wikinews_mentions: one query per mention
            context = _need(row, "context", where)
            return [_row(str(_need(m, "example_id", where)), mention_query(context, m, where),
                         str(_need(m, "entity_id", where)).strip()) for m in row["mentions"]]
        if "entity_id" in row:  # Mewsli-X candidate_entities
            return [_row(candidate_id=str(row["entity_id"]), candidate=entity_text(row, where))]
        if "question" in row and "answers" in row:  # SQuAD / XQuAD-R
            context = row["context"]
            starts = list(row["answers"]["answer_start"])
            if not starts:
                return []
            span = answer_sentence(split_sentences(context), int(starts[0]))
            if span is None:
                return []
            return [_row(str(row["id"]), row["question"], f"{paragraph_key(context)}#{span[0]}-{span[1]}",
                         context[span[0]:span[1]], context)]
    except (KeyError, TypeError, AttributeError) as exc:
        raise DualEncoderDataError(f"{where}: malformed row ({type(exc).__name__}: {exc})") from None
    raise DualEncoderDataError(f"{where}: a dual-encoder row needs Mewsli-X fields (contextual_mention/entity, "
                               f"context/mentions, entity_id) or SQuAD fields (question/answers); got {sorted(row)}")


# ---- LAReQA paragraphs---------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Paragraph:
    """One XQuAD-R paragraph: its sentence spans and its questions (id, text, answer start)."""

    context: str
    sentences: list[tuple[int, int]]
    questions: list[tuple[str, str, int]]


def paragraphs_from_rows(rows: list[dict]) -> list[Paragraph]:
    """Paragraphs of one language from canonical SQuAD-shaped rows, sentence breaks from :func:`split_sentences`."""
    by_context: dict[str, Paragraph] = {}
    for r in rows:
        p = by_context.get(r["context"])
        if p is None:
            p = by_context[r["context"]] = Paragraph(r["context"], split_sentences(r["context"]), [])
        start = int(str(r["candidate_id"]).rsplit("#", 1)[1].split("-")[0])
        p.questions.append((str(r["query_id"]), r["query"], start))
    return list(by_context.values())


def read_xquad_r_file(path: str | Path) -> list[Paragraph]:
    """Paragraphs of one original XQuAD-R JSON file (``xquad-r/<lang>.json`` of google-research-datasets/lareqa),
    with its ``sentence_breaks``."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p} not found; retrieval.lareqa_data must be a folder with the original XQuAD-R "
                                "files <lang>.json (github.com/google-research-datasets/lareqa, xquad-r/)")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        out = []
        for article in data["data"]:
            for para in article["paragraphs"]:
                context = para["context"]
                breaks = [(int(s), int(e)) for s, e in para["sentence_breaks"]]
                qs = [(str(qa["id"]), qa["question"], int(qa["answers"][0]["answer_start"])) for qa in para["qas"]]
                out.append(Paragraph(context, breaks, qs))
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise DualEncoderDataError(f"{p}: not an XQuAD-R file with sentence_breaks ({type(exc).__name__}: {exc})"
                                   ) from None
    return out
