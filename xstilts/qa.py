"""Pre- and post-processing for extractive (span) question answering: SQuAD, XQuAD, MLQA, TyDiQA-GoldP.

Framework-free on purpose: inputs are Python lists / numpy arrays and a Hugging Face *fast* tokenizer (offsets are
needed), outputs are plain Python structures, so the training and evaluation code can use them with any loop.

Conventions (they follow the paper's toolkits, jiant and XTREME's ``run_squad.py``, which both descend from the
original BERT SQuAD code):

* ``doc_stride`` is the **step** between the first context tokens of consecutive windows, as in BERT, XTREME and
  jiant. (The newer ``run_qa.py`` example of transformers passes it to the tokenizer as the *overlap* instead; with
  max_length 384 the two differ by a few dozen tokens of overlap.) Consecutive windows therefore overlap by
  ``context_room - doc_stride`` tokens, where ``context_room = max_length - question_tokens - special_tokens``.
* Training labels follow SQuAD v1.1: the answer's first and last token inside the window, or the CLS index (0) for
  both when the answer is not entirely inside the window (or the example has no answer, SQuAD v2).
* Answers are cut from the **original context string** with the tokens' character offsets. The "get final text"
  re-alignment of the BERT code (which maps through a whitespace tokenisation) is deliberately absent: it breaks
  languages written without spaces (MLQA zh EM drops to about 4).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CLS_INDEX = 0  # position of the first special token (CLS / <s>), the "no answer in this window" label


@dataclass
class QASpan:
    """One candidate answer span of an example.

    Attributes:
        text: the answer, cut from the original context (surrounding whitespace stripped).
        score: start logit + end logit.
        start_char: character index of the span start in the context.
        end_char: character index one past the span end in the context.
        feature_index: the window (feature) the span was found in.
    """

    text: str
    score: float
    start_char: int
    end_char: int
    feature_index: int


@dataclass
class QAPrediction:
    """Everything post-processing knows about one example.

    Attributes:
        best: the highest-scoring valid span, or None when no window offered a valid span.
        null_score: the smallest CLS start+end score over the example's windows (the SQuAD v2 "no answer" score);
            +inf when the example has no window.
        n_best: the top spans, best first (at most ``n_best`` of them).
    """

    best: QASpan | None
    null_score: float
    n_best: list[QASpan] = field(default_factory=list)

    @property
    def score_diff(self) -> float:
        """null_score - best span score (the quantity SQuAD v2 thresholds); +inf when there is no valid span."""
        if self.best is None:
            return float("inf")
        return self.null_score - self.best.score


def _require_fast(tokenizer: Any) -> None:
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(
            f"{type(tokenizer).__name__} is not a fast tokenizer: QA windows need character offsets; "
            "load it with AutoTokenizer.from_pretrained(..., use_fast=True)"
        )


def _first_answer(answer: Any, example_index: int) -> tuple[int, str] | None:
    """Returns (answer_start, text) of an example's first answer, or None when it has none (SQuAD v2)."""
    if answer is None:
        return None
    if not isinstance(answer, Mapping) or "text" not in answer or "answer_start" not in answer:
        raise ValueError(
            f"answers[{example_index}] must be a mapping with 'text' and 'answer_start' (SQuAD format), "
            f"got {answer!r}"
        )
    texts, starts = answer["text"], answer["answer_start"]
    if isinstance(texts, str):
        texts, starts = [texts], [starts]
    texts, starts = list(texts), list(starts)
    if len(texts) != len(starts):
        raise ValueError(f"answers[{example_index}] has {len(texts)} texts but {len(starts)} answer_start values")
    if not texts:
        return None
    # Training uses the first gold answer only (SQuAD train has exactly one; this is what BERT/XTREME/jiant do).
    return int(starts[0]), str(texts[0])


def _truncate_questions(tokenizer: Any, questions: list[str], max_query_length: int) -> tuple[list[str], list[int]]:
    """Cuts each question after its first ``max_query_length`` tokens; returns the texts and their token counts."""
    enc = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
    texts, lengths = list(questions), [len(ids) for ids in enc["input_ids"]]
    too_long = [i for i, n in enumerate(lengths) if n > max_query_length]
    for i in too_long:
        texts[i] = questions[i][: enc["offset_mapping"][i][max_query_length - 1][1]]
    if too_long:
        # Re-tokenising the cut string gives the exact count the pair encoding will see (a pre-tokenizer can split
        # a cut word differently), so the context room computed from it is exact.
        re_enc = tokenizer([texts[i] for i in too_long], add_special_tokens=False)
        for i, ids in zip(too_long, re_enc["input_ids"], strict=True):
            lengths[i] = len(ids)
    return texts, lengths


def _max_context_flags(window_starts: list[int], window_lengths: list[int]) -> list[list[bool]]:
    """For every window, whether each of its context tokens has its maximum context in that window.

    BERT's rule (kept by XTREME and jiant): a token's context in a window is min(tokens left of it, tokens right of
    it) + 0.01 * window length; a token seen by several windows is scored only in the window where this is largest.
    """
    flags = []
    for start, length in zip(window_starts, window_lengths, strict=True):
        window_flags = []
        for pos in range(start, start + length):
            best_w, best_score = None, None
            for w, (s, n) in enumerate(zip(window_starts, window_lengths, strict=True)):
                if not s <= pos < s + n:
                    continue
                score = min(pos - s, s + n - 1 - pos) + 0.01 * n
                if best_score is None or score > best_score:
                    best_w, best_score = w, score
            window_flags.append(window_starts[best_w] == start)
        flags.append(window_flags)
    return flags


def prepare_qa_features(
    tokenizer: Any,
    questions: Sequence[str],
    contexts: Sequence[str],
    max_length: int = 384,
    doc_stride: int = 128,
    max_query_length: int = 64,
    answers: Sequence[Any] | None = None,
) -> dict[str, list]:
    """Tokenises QA examples into overlapping windows ("features") over their contexts.

    Each feature is ``[CLS] question [SEP] context-window [SEP]`` (the tokenizer's own pair template). Questions are
    first stripped of leading whitespace: some SQuAD questions start with runs of spaces, and tokenizers that keep
    whitespace as tokens (SentencePiece "▁", byte-level "Ġ") would spend the query budget and context room on them.
    Questions longer than ``max_query_length`` tokens are then cut to their first ``max_query_length`` tokens.

    Args:
        tokenizer: a Hugging Face fast tokenizer (character offsets are required).
        questions: one question per example.
        contexts: one context per example (non-empty).
        max_length: total tokens per feature, special tokens included.
        doc_stride: step in tokens between the starts of consecutive context windows (BERT/XTREME/jiant meaning).
        max_query_length: questions are truncated to this many tokens.
        answers: optional, one per example (training): a SQuAD-style mapping ``{"text": [...], "answer_start":
            [...]}`` (scalars accepted too); only the first answer is used; None or empty lists mean "no answer".

    Returns:
        A dict of equal-length lists, one entry per feature, features of an example contiguous and in context order:
        ``input_ids``, ``attention_mask`` (and ``token_type_ids`` if the tokenizer makes them), ``example_index``
        (index into the inputs), ``offset_mapping`` (per token: ``(start_char, end_char)`` into the context for
        context tokens, None for question/special tokens), ``token_is_max_context`` (per token: bool for context
        tokens, None elsewhere; see :func:`collect_qa_predictions`), and with ``answers`` also ``start_positions`` and
        ``end_positions`` (token indices, CLS_INDEX when the answer is not fully inside the window).

    Raises:
        ValueError: mismatched input lengths, an empty context, a slow tokenizer, or lengths that leave no room for
            the context.
    """
    _require_fast(tokenizer)
    questions, contexts = list(questions), list(contexts)
    if len(questions) != len(contexts):
        raise ValueError(f"got {len(questions)} questions but {len(contexts)} contexts; pass one of each per example")
    if answers is not None and len(answers) != len(questions):
        raise ValueError(f"got {len(answers)} answers for {len(questions)} questions; pass one per example")
    if doc_stride < 1 or max_query_length < 1:
        raise ValueError(f"doc_stride ({doc_stride}) and max_query_length ({max_query_length}) must be >= 1")
    n_special = tokenizer.num_special_tokens_to_add(pair=True)
    if max_length - max_query_length - n_special < 1:
        raise ValueError(
            f"max_length={max_length} leaves no room for the context after max_query_length={max_query_length} "
            f"and {n_special} special tokens; raise max_length or lower max_query_length"
        )
    for i, c in enumerate(contexts):
        if not isinstance(c, str) or not c.strip():
            raise ValueError(f"context {i} is empty or not a string: an extractive QA example needs a context")
    gold = [_first_answer(a, i) for i, a in enumerate(answers)] if answers is not None else None

    questions = [q.lstrip() for q in questions]
    questions, q_lengths = _truncate_questions(tokenizer, questions, max_query_length)

    # The tokenizer's `stride` is the overlap; the overlap that gives a step of doc_stride depends on the question
    # length, so examples are encoded in groups that share it.
    groups: dict[int, list[int]] = {}
    for i, q_len in enumerate(q_lengths):
        room = max_length - q_len - n_special
        if room < 1:
            raise ValueError(
                f"question {i} takes {q_len} tokens after truncation; with max_length={max_length} there is no "
                "room for the context; raise max_length"
            )
        groups.setdefault(max(0, room - doc_stride), []).append(i)

    per_example: list[list[dict]] = [[] for _ in questions]
    for overlap, idx in groups.items():
        enc = tokenizer(
            [questions[i] for i in idx],
            [contexts[i] for i in idx],
            truncation="only_second",
            max_length=max_length,
            stride=overlap,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        model_keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
        for f, local in enumerate(enc["overflow_to_sample_mapping"]):
            seq_ids = enc.sequence_ids(f)
            offsets = [tuple(o) if s == 1 else None for o, s in zip(enc["offset_mapping"][f], seq_ids, strict=True)]
            feat = {k: list(enc[k][f]) for k in model_keys}
            feat["offset_mapping"] = offsets
            per_example[idx[local]].append(feat)

    out: dict[str, list] = {}
    for ex, feats in enumerate(per_example):
        # Windows of an example come out of the tokenizer in context order; positions of context tokens in the
        # whole context follow from the step (room - overlap), which is what the max-context rule needs.
        step = min(max_length - q_lengths[ex] - n_special, doc_stride)
        starts = [k * step for k in range(len(feats))]
        lengths = [sum(o is not None for o in feat["offset_mapping"]) for feat in feats]
        flags = _max_context_flags(starts, lengths)
        for k, feat in enumerate(feats):
            it = iter(flags[k])
            feat["token_is_max_context"] = [next(it) if o is not None else None for o in feat["offset_mapping"]]
            feat["example_index"] = ex
            if gold is not None:
                feat["start_positions"], feat["end_positions"] = _label_window(feat["offset_mapping"], gold[ex])
            for key, value in feat.items():
                out.setdefault(key, []).append(value)
    return out


def _label_window(offsets: list[tuple[int, int] | None], answer: tuple[int, str] | None) -> tuple[int, int]:
    """Token start/end of the answer inside one window, or (CLS_INDEX, CLS_INDEX) when it is not fully inside."""
    if answer is None:
        return CLS_INDEX, CLS_INDEX
    start_char, text = answer
    end_char = start_char + len(text)
    # Zero-width tokens (a byte-level prefix space, e.g.) carry no characters and cannot delimit an answer.
    tokens = [(t, o) for t, o in enumerate(offsets) if o is not None and o[1] > o[0]]
    if not tokens or tokens[0][1][0] > start_char or tokens[-1][1][1] < end_char:
        return CLS_INDEX, CLS_INDEX
    start_tok = next(t for t, o in tokens if o[1] > start_char)
    end_tok = next(t for t, o in reversed(tokens) if o[0] < end_char)
    if end_tok < start_tok:  # an answer of only whitespace; nothing sensible to point at
        return CLS_INDEX, CLS_INDEX
    return start_tok, end_tok


# A training question whose gold answer cannot be trained as a span (its answer_start does not point at its text, or
# no window holds the whole answer) is dropped, never trained as "no answer" (CLS). Real files have a handful of such
# rows (offset quirks, answers longer than a window's overlap); more than this fraction means the file or the settings
# are wrong (offsets counted in bytes, max_length too small for the answers), and training stops.
MAX_UNUSABLE_ANSWER_FRACTION = 0.05


def unusable_answers(contexts: Sequence[str], answers: Sequence[Any], features: Mapping[str, Sequence]
                     ) -> dict[int, str]:
    """Training examples with a gold answer that cannot be trained as a span, and why.

    Examples without an answer (SQuAD v2 unanswerable questions) are not listed: CLS is their correct label.

    Args:
        contexts: the original contexts.
        answers: one SQuAD-style answer per example (as given to :func:`prepare_qa_features`).
        features: the output of :func:`prepare_qa_features` with ``answers`` (``start_positions`` are read).

    Returns:
        Example index -> the problem: the context does not read the answer text at ``answer_start``, or no window
        holds the whole answer (every window would label it CLS).
    """
    in_a_window: set[int] = set()
    for ex, start in zip(features["example_index"], features["start_positions"], strict=True):
        if start != CLS_INDEX:
            in_a_window.add(ex)
    problems: dict[int, str] = {}
    for i, (context, answer) in enumerate(zip(contexts, answers, strict=True)):
        gold = _first_answer(answer, i)
        if gold is None:
            continue
        start, text = gold
        found = context[start:start + len(text)] if start >= 0 else ""
        if not text.strip():
            problems[i] = f"empty answer text at answer_start {start}"
        elif found != text:
            problems[i] = (f"answer_start {start}: the context reads {_quoted(found)} there, not the answer "
                           f"{_quoted(text)}")
        elif i not in in_a_window:
            problems[i] = (f"the answer {_quoted(text)} (at {start}) lies in no single window: raise max_length or "
                           "lower doc_stride")
    return problems


def _quoted(text: str, limit: int = 80) -> str:
    """A text as a log line shows it: quoted, and cut to ``limit`` characters (answers can be whole paragraphs)."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}... ({len(text)} characters)"


def _as_rows(logits: Any, n_features: int, name: str) -> list[np.ndarray]:
    rows = [np.asarray(r, dtype=np.float64).reshape(-1) for r in logits]
    if len(rows) != n_features:
        raise ValueError(f"{name} has {len(rows)} rows but there are {n_features} features; pass one row per feature")
    return rows


def collect_qa_predictions(
    examples_contexts: Sequence[str],
    features: Mapping[str, Sequence],
    start_logits: Any,
    end_logits: Any,
    n_best: int = 20,
    max_answer_length: int = 30,
    max_context_only: bool = True,
) -> dict[int, QAPrediction]:
    """Scores answer spans of every example over all its windows; the detailed form of post-processing.

    For each window, the ``n_best`` highest start logits and the ``n_best`` highest end logits among its context
    tokens are paired; a pair is valid when end >= start and it spans at most ``max_answer_length`` tokens (and,
    with ``max_context_only``, when the start token has its maximum context in this window, as in BERT/XTREME/jiant,
    so a token seen near the edge of one window is judged where it sees most context). Only context tokens are
    ranked: question and special tokens can never be answer positions, so ranking them would waste n-best slots.

    Args:
        examples_contexts: the original context strings, indexed by ``features["example_index"]``.
        features: the output of :func:`prepare_qa_features` (needs ``example_index`` and ``offset_mapping``;
            ``token_is_max_context`` is used when present). Extra padding positions in the logits are ignored.
        start_logits: per feature, one start logit per token (a 2-D array or a list of 1-D arrays).
        end_logits: like ``start_logits``.
        n_best: how many starts and ends to pair per window, and how many spans to keep per example.
        max_answer_length: longest answer in tokens.
        max_context_only: apply the max-context rule described above.

    Returns:
        For every example index 0..len(examples_contexts)-1, a :class:`QAPrediction`.

    Raises:
        ValueError: when the features and logits do not line up.
    """
    example_index = list(features["example_index"])
    offsets_all = list(features["offset_mapping"])
    max_ctx_all = list(features["token_is_max_context"]) if "token_is_max_context" in features else None
    starts = _as_rows(start_logits, len(example_index), "start_logits")
    ends = _as_rows(end_logits, len(example_index), "end_logits")
    if n_best < 1 or max_answer_length < 1:
        raise ValueError(f"n_best ({n_best}) and max_answer_length ({max_answer_length}) must be >= 1")

    candidates: dict[int, list[QASpan]] = {i: [] for i in range(len(examples_contexts))}
    null_scores: dict[int, float] = {i: float("inf") for i in range(len(examples_contexts))}
    for f, ex in enumerate(example_index):
        if not 0 <= ex < len(examples_contexts):
            raise ValueError(f"feature {f} points to example {ex} but only {len(examples_contexts)} contexts given")
        context, offsets, s_log, e_log = examples_contexts[ex], offsets_all[f], starts[f], ends[f]
        if len(s_log) < len(offsets) or len(e_log) < len(offsets):
            raise ValueError(f"feature {f} has {len(offsets)} tokens but fewer logits; logits must cover every token")
        null_scores[ex] = min(null_scores[ex], float(s_log[CLS_INDEX] + e_log[CLS_INDEX]))
        ctx = np.array([t for t, o in enumerate(offsets) if o is not None and o[1] > o[0]], dtype=np.int64)
        if ctx.size == 0:
            continue
        top_s = ctx[np.argsort(-s_log[ctx], kind="stable")[:n_best]]
        top_e = ctx[np.argsort(-e_log[ctx], kind="stable")[:n_best]]
        for s in top_s:
            if max_context_only and max_ctx_all is not None and not max_ctx_all[f][s]:
                continue
            for e in top_e:
                if e < s or e - s + 1 > max_answer_length:
                    continue
                start_char, end_char = offsets[s][0], offsets[e][1]
                candidates[ex].append(
                    QASpan(
                        text=context[start_char:end_char].strip(),
                        score=float(s_log[s] + e_log[e]),
                        start_char=int(start_char),
                        end_char=int(end_char),
                        feature_index=f,
                    )
                )

    result = {}
    for ex, spans in candidates.items():
        spans.sort(key=lambda span: -span.score)
        kept = spans[:n_best]
        result[ex] = QAPrediction(best=kept[0] if kept else None, null_score=null_scores[ex], n_best=kept)
    return result


def postprocess_qa_predictions(
    examples_contexts: Sequence[str],
    features: Mapping[str, Sequence],
    start_logits: Any,
    end_logits: Any,
    n_best: int = 20,
    max_answer_length: int = 30,
    null_score: bool = False,
    null_threshold: float = 0.0,
    max_context_only: bool = True,
) -> dict[int, str]:
    """The answer text of every example: the best valid span over all its windows (see collect_qa_predictions).

    Args:
        examples_contexts: the original context strings.
        features: the output of :func:`prepare_qa_features`.
        start_logits: per feature, one start logit per token.
        end_logits: per feature, one end logit per token.
        n_best: starts x ends paired per window.
        max_answer_length: longest answer in tokens.
        null_score: SQuAD v2 mode: answer "" when ``null - best span score > null_threshold`` (or no valid span).
        null_threshold: the v2 threshold; pick it on dev with :func:`best_null_threshold`.
        max_context_only: apply BERT's max-context rule to span starts.

    Returns:
        ``{example_index: answer_text}`` for every example; "" when no valid span exists (or v2 says no answer).
    """
    preds = collect_qa_predictions(
        examples_contexts, features, start_logits, end_logits, n_best, max_answer_length, max_context_only
    )
    answers = {}
    for ex, pred in preds.items():
        if pred.best is None or (null_score and pred.score_diff > null_threshold):
            answers[ex] = ""
        else:
            answers[ex] = pred.best.text
    return answers


def best_null_threshold(
    score_diffs: Sequence[float], has_answer: Sequence[bool], span_scores: Sequence[float]
) -> tuple[float, float]:
    """Picks the SQuAD v2 no-answer threshold that maximises a metric on dev (the official ``find_best_thresh``).

    A question is answered "" when its score diff (null score - best span score) exceeds the threshold. Answering
    "" scores 1 on a question without a gold answer and 0 on one with; answering the span scores ``span_scores`` on
    an answerable question and 0 on an unanswerable one.

    Args:
        score_diffs: per question, :attr:`QAPrediction.score_diff`.
        has_answer: per question, whether it has a gold answer.
        span_scores: per question, EM or F1 (0..1) of its best span against the gold answers (ignored where
            ``has_answer`` is False).

    Returns:
        ``(threshold, metric)``: the threshold and the mean metric (0..1) it reaches. The lowest best threshold is
        returned; when answering nothing is best it is just below the smallest diff.

    Raises:
        ValueError: empty or mismatched inputs.
    """
    n = len(score_diffs)
    if n == 0 or len(has_answer) != n or len(span_scores) != n:
        raise ValueError(
            f"need equally long, non-empty inputs; got {n} diffs, {len(has_answer)} has_answer, "
            f"{len(span_scores)} span_scores"
        )
    diffs = np.asarray(score_diffs, dtype=np.float64)
    order = np.argsort(diffs, kind="stable")
    current = float(sum(1 for h in has_answer if not h))  # everything answered ""
    best_score, best_thresh = current, float(diffs[order[0]]) - 1.0 if np.isfinite(diffs[order[0]]) else 0.0
    i = 0
    while i < n:
        # Questions with equal diffs switch together: a threshold cannot separate them.
        j = i
        while j < n and diffs[order[j]] == diffs[order[i]]:
            q = order[j]
            current += float(span_scores[q]) if has_answer[q] else -1.0
            j += 1
        if np.isfinite(diffs[order[i]]) and current > best_score:
            best_score, best_thresh = current, float(diffs[order[i]])
        i = j
    return best_thresh, best_score / n
