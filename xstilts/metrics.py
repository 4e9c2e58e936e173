"""Evaluation metrics with the exact semantics of the XTREME / XTREME-R official scorer.

Every public function returns percentages (x100), like the official ``evaluate.py``. The arithmetic follows the
official order of operations (sum fractions, then ``100 * sum / total``) so that per-language numbers agree with the
official scorer to the last bit, not just approximately.

Metric families (the official scorer is ``evaluate.py`` of https://github.com/google-research/xtreme):

- accuracy: XNLI, PAWS-X, Tatoeba, XCOPA.
- SQuAD v1.1 EM/F1: XQuAD and TyDiQA-GoldP (every language; English-only normalisation, so for zh/th/ja answers
  without spaces F1 behaves like EM: that is the official number, not a bug of ours).
- MLQA EM/F1: language-aware normalisation, including the official Arabic quirk (every "ال" is deleted).
- Tagging F1 with seqeval **0.0.12** chunk semantics: UD-POS and PAN-X. ``token_accuracy`` is the per-token accuracy
  the X-STILTs paper table reports for UD-POS.
- BUCC precision / recall / F1 over (source id, target id) pairs.
- Retrieval ranking: MRR@k (Mewsli-X, reported officially as "map@20") and mAP@k (LAReQA).
- Correlation: Pearson and Spearman (STS-B-like regression), as GLUE's scorer computes them with
  ``scipy.stats.pearsonr`` / ``spearmanr``; a constant input scores 0 here, where scipy returns NaN (see ``pearson``).

The ``*_contributions`` functions give the same numbers per example, as ``(numerator, denominator)`` rows whose
``100 * sum(num) / sum(den)`` is the reported metric: what ``xstilts.reliability`` resamples for a bootstrap interval.
"""
from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from xstilts import languages

__all__ = [
    "accuracy",
    "accuracy_contributions",
    "ap_contributions",
    "average_ranks",
    "bucc_scores",
    "get_entities_0012",
    "map_at_k",
    "mlqa_em_f1",
    "mlqa_normalize",
    "mlqa_scores",
    "mrr_at_k",
    "pearson",
    "qa_contributions",
    "rr_contributions",
    "spearman",
    "squad_em_f1",
    "squad_normalize",
    "squad_scores",
    "tagging_contributions",
    "tagging_scores",
    "token_accuracy",
    "token_accuracy_contributions",
]


# --------------------------------------------------------------------------------------------------------------------
# Accuracy


def accuracy(predictions: Sequence[object], golds: Sequence[object]) -> float:
    """Percentage of positions where the prediction equals the gold label.

    Args:
        predictions: One predicted label per example.
        golds: One gold label per example, same length as ``predictions``.

    Returns:
        Accuracy in percent.

    Raises:
        ValueError: If the lengths differ or there are no examples.
    """
    if len(predictions) != len(golds):
        raise ValueError(
            f"accuracy needs one prediction per gold label: got {len(predictions)} predictions for {len(golds)} "
            "gold labels; export exactly one prediction per example, in the gold order"
        )
    if not golds:
        raise ValueError("accuracy of an empty example list is undefined; check that the label file is not empty")
    correct = sum(int(p == g) for p, g in zip(predictions, golds, strict=True))
    # The official scorer divides by len(predictions) and multiplies by 100 last; keep that order.
    return float(correct) / len(predictions) * 100


def accuracy_contributions(predictions: Sequence[object], golds: Sequence[object]) -> list[tuple[float, float]]:
    """``(correct, 1)`` per example: ``accuracy`` as a ratio of sums (see the module docstring)."""
    if len(predictions) != len(golds):
        raise ValueError(f"got {len(predictions)} predictions for {len(golds)} gold labels")
    return [(float(p == g), 1.0) for p, g in zip(predictions, golds, strict=True)]


# --------------------------------------------------------------------------------------------------------------------
# SQuAD v1.1 (XQuAD, TyDiQA-GoldP)

_ASCII_PUNCT = frozenset(string.punctuation)
_EN_ARTICLES = re.compile(r"\b(a|an|the)\b")


def squad_normalize(text: str) -> str:
    """SQuAD v1.1 answer normalisation.

    Lower-case, drop ASCII punctuation, replace the English articles a/an/the (whole words) by a space, collapse
    whitespace. The same English rules apply to every language (that is what XTREME does for XQuAD and TyDiQA).

    Args:
        text: An answer string.

    Returns:
        The normalised string.
    """
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _ASCII_PUNCT)
    text = _EN_ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _token_f1(pred_tokens: list[str], gold_tokens: list[str]) -> float:
    """Multiset-overlap F1 between two token lists, as a fraction (0 when nothing overlaps)."""
    overlap = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if overlap == 0:
        return 0.0
    precision = 1.0 * overlap / len(pred_tokens)
    recall = 1.0 * overlap / len(gold_tokens)
    return (2 * precision * recall) / (precision + recall)


def _check_golds(gold_answers: Sequence[str], qid: str | None = None) -> None:
    if isinstance(gold_answers, str):
        raise ValueError(
            "gold answers must be a list of strings, got a single string; wrap it in a list: [answer]"
        )
    if len(gold_answers) == 0:
        where = f" for question {qid!r}" if qid is not None else ""
        raise ValueError(f"no gold answers{where}: every question needs at least one gold answer text")


def _squad_fractions(prediction: str, gold_answers: Sequence[str]) -> tuple[float, float]:
    pred_norm = squad_normalize(prediction)
    pred_tokens = pred_norm.split()
    em = max(float(pred_norm == squad_normalize(g)) for g in gold_answers)
    f1 = max(_token_f1(pred_tokens, squad_normalize(g).split()) for g in gold_answers)
    return em, f1


def squad_em_f1(prediction: str, gold_answers: Sequence[str]) -> tuple[float, float]:
    """Exact match and F1 of one prediction against its gold answers (max over golds), SQuAD v1.1 rules.

    Args:
        prediction: The predicted answer text.
        gold_answers: All acceptable gold answer texts (at least one).

    Returns:
        ``(exact_match, f1)`` in percent.

    Raises:
        ValueError: If there are no gold answers.
    """
    _check_golds(gold_answers)
    em, f1 = _squad_fractions(prediction, gold_answers)
    return em * 100, f1 * 100


def _qa_average(
    predictions: Mapping[str, str],
    golds: Mapping[str, Sequence[str]],
    score_one,
) -> dict[str, float]:
    if not isinstance(predictions, Mapping):
        raise ValueError(
            f"QA predictions must map question id to answer text, got {type(predictions).__name__}"
        )
    if not golds:
        raise ValueError("QA scores need at least one gold question; the label set is empty")
    em_sum = f1_sum = 0.0
    for qid, answers in golds.items():
        _check_golds(answers, qid)
        # A question without a prediction scores 0 (the official scorer prints a warning and continues).
        if qid not in predictions:
            continue
        prediction = predictions[qid]
        if not isinstance(prediction, str):
            raise ValueError(
                f"prediction for question {qid!r} must be the answer text (a string), got {type(prediction).__name__}"
            )
        em, f1 = score_one(prediction, answers)
        em_sum += em
        f1_sum += f1
    total = len(golds)
    return {"exact_match": 100.0 * em_sum / total, "f1": 100.0 * f1_sum / total}


def squad_scores(predictions: Mapping[str, str], golds: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """Average SQuAD v1.1 EM and F1 over all gold questions.

    Args:
        predictions: Question id to predicted answer text. Ids not in ``golds`` are ignored.
        golds: Question id to its gold answer texts. Questions missing from ``predictions`` score 0.

    Returns:
        ``{"exact_match": ..., "f1": ...}`` in percent.

    Raises:
        ValueError: If ``golds`` is empty, a question has no gold answer, or a prediction is not a string.
    """
    return _qa_average(predictions, golds, _squad_fractions)


# --------------------------------------------------------------------------------------------------------------------
# MLQA (language-aware SQuAD)

_MLQA_ARTICLES = {
    "en": re.compile(r"\b(a|an|the)\b"),
    "es": re.compile(r"\b(un|una|unos|unas|el|la|los|las)\b"),
    "de": re.compile(r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b"),
    "vi": re.compile(r"\b(của|là|cái|chiếc|những)\b"),
    # The official pattern is r'\sال^|ال': its first branch can never match (a '^' after a consumed character), so
    # in effect every occurrence of "ال" anywhere in the text, even inside words, becomes a space. Reproduced on
    # purpose: the published MLQA ar numbers depend on it.
    "ar": re.compile("ال"),
}
_CJK = re.compile("[\u4e00-\u9fa5]")


def _is_mlqa_punct(ch: str) -> bool:
    # Every Unicode "P*" category character plus ASCII punctuation (which adds symbols such as $ + < = > ^ ` | ~).
    return ch in _ASCII_PUNCT or unicodedata.category(ch).startswith("P")


def _mixed_segmentation(text: str) -> list[str]:
    """zh tokenisation of MLQA: each CJK character (U+4E00..U+9FA5) and each punctuation mark is its own token;
    runs of other characters are split on whitespace."""
    tokens: list[str] = []
    pending = ""
    for ch in text:
        if _CJK.match(ch) or _is_mlqa_punct(ch):
            if pending:
                tokens.extend(pending.split())
                pending = ""
            tokens.append(ch)
        else:
            pending += ch
    if pending:
        tokens.extend(pending.split())
    return tokens


def _check_mlqa_lang(lang: str) -> None:
    if lang not in languages.MLQA:
        raise ValueError(
            f"MLQA normalisation is defined for {', '.join(languages.MLQA)}; got language {lang!r}"
        )


def mlqa_normalize(text: str, lang: str) -> str:
    """MLQA answer normalisation for one language.

    Lower-case; drop punctuation (Unicode category P* plus ASCII punctuation); replace the language's articles by a
    space (en a/an/the; es un una unos unas el la los las; de ein eine einen einem eines einer der die das den dem
    des; vi của là cái chiếc những; ar every "ال" anywhere, the official quirk; hi and zh none); then tokenise
    (whitespace, or for zh one token per CJK character) and join the tokens with single spaces.

    Args:
        text: An answer string.
        lang: One of ``languages.MLQA``.

    Returns:
        The normalised string; ``.split()`` gives the tokens used by F1.

    Raises:
        ValueError: For a language outside ``languages.MLQA``.
    """
    _check_mlqa_lang(lang)
    text = text.lower()
    text = "".join(ch for ch in text if not _is_mlqa_punct(ch))
    pattern = _MLQA_ARTICLES.get(lang)
    if pattern is not None:
        text = pattern.sub(" ", text)
    tokens = _mixed_segmentation(text) if lang == "zh" else text.split()
    return " ".join(t for t in tokens if t.strip() != "")


def _mlqa_fractions(prediction: str, gold_answers: Sequence[str], lang: str) -> tuple[float, float]:
    pred_norm = mlqa_normalize(prediction, lang)
    pred_tokens = pred_norm.split()
    em = max(float(pred_norm == mlqa_normalize(g, lang)) for g in gold_answers)
    f1 = max(_token_f1(pred_tokens, mlqa_normalize(g, lang).split()) for g in gold_answers)
    return em, f1


def mlqa_em_f1(prediction: str, gold_answers: Sequence[str], lang: str) -> tuple[float, float]:
    """Exact match and F1 of one prediction (max over gold answers) with MLQA's rules for ``lang``.

    Args:
        prediction: The predicted answer text.
        gold_answers: All acceptable gold answer texts (at least one).
        lang: One of ``languages.MLQA``.

    Returns:
        ``(exact_match, f1)`` in percent.
    """
    _check_mlqa_lang(lang)
    _check_golds(gold_answers)
    em, f1 = _mlqa_fractions(prediction, gold_answers, lang)
    return em * 100, f1 * 100


def mlqa_scores(
    predictions: Mapping[str, str], golds: Mapping[str, Sequence[str]], lang: str
) -> dict[str, float]:
    """Average MLQA EM and F1 over all gold questions of one language.

    Args:
        predictions: Question id to predicted answer text.
        golds: Question id to its gold answer texts. Questions missing from ``predictions`` score 0.
        lang: The answer/context language, one of ``languages.MLQA``.

    Returns:
        ``{"exact_match": ..., "f1": ...}`` in percent.
    """
    _check_mlqa_lang(lang)
    return _qa_average(predictions, golds, lambda p, g: _mlqa_fractions(p, g, lang))


def qa_contributions(predictions: Mapping[str, str], golds: Mapping[str, Sequence[str]], lang: str | None = None
                     ) -> list[tuple[float, float]]:
    """``((em + f1) / 2, 1)`` per gold question (fractions; a question without prediction scores 0): the QA task
    score ``(EM + F1) / 2`` of ``squad_scores`` (``lang=None``) or ``mlqa_scores`` (``lang``) as a ratio of sums."""
    out = []
    for qid, answers in golds.items():
        _check_golds(answers, qid)
        if qid not in predictions:
            out.append((0.0, 1.0))
            continue
        em, f1 = _squad_fractions(predictions[qid], answers) if lang is None else \
            _mlqa_fractions(predictions[qid], answers, lang)
        out.append(((em + f1) / 2, 1.0))
    return out


# --------------------------------------------------------------------------------------------------------------------
# Tagging (seqeval 0.0.12 semantics)


def _chunk_ends(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    # seqeval 0.0.12: a chunk ends after an E or S, before a B/S/O following a B or I, and whenever the type changes
    # after anything but O (or '.').
    if prev_tag in ("E", "S"):
        return True
    if prev_tag in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev_tag not in ("O", ".") and prev_type != type_


def _chunk_starts(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    # seqeval 0.0.12: a chunk starts at B or S, at an E/I that follows E, S or O, and whenever the type changes on a
    # tag that is not O (or '.').
    if tag in ("B", "S"):
        return True
    if prev_tag in ("E", "S", "O") and tag in ("E", "I"):
        return True
    return tag not in ("O", ".") and prev_type != type_


def get_entities_0012(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """Chunks of a flat tag sequence, exactly as seqeval 0.0.12's ``get_entities`` finds them (prefix mode).

    The *tag* is the first character of a label and the *type* is the part after the last "-" (the whole label when
    it has no dash). Hence a UPOS label is its own type, and a run of identical POS labels is one chunk; labels whose
    first letter is S (SCONJ, SYM) are single-token chunks, and I (INTJ) behaves like an inside tag. seqeval 1.x
    instead takes the type from after the first character (CCONJ and SCONJ both become "CONJ") and gives a different
    UD-POS F1; the XTREME numbers use 0.0.12.

    Args:
        tags: One label per token (for several sentences, join them with an "O" between, as ``tagging_scores`` does).

    Returns:
        ``(type, start, end)`` per chunk, ``end`` inclusive, in order of their end position.

    Raises:
        ValueError: For an empty label (it has no first character) or a non-string label.
    """
    chunks: list[tuple[str, int, int]] = []
    prev_tag, prev_type, begin = "O", "", 0
    # A trailing "O" closes a chunk that runs to the end, as seqeval does.
    for i, label in enumerate([*tags, "O"]):
        if not isinstance(label, str) or not label:
            raise ValueError(f"tag at position {i} is {label!r}; every token needs a non-empty string label")
        tag, type_ = label[0], label.split("-")[-1]
        if _chunk_ends(prev_tag, tag, prev_type, type_):
            chunks.append((prev_type, begin, i - 1))
        if _chunk_starts(prev_tag, tag, prev_type, type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return chunks


def _check_sentences(pred_sentences: Sequence[Sequence[str]], gold_sentences: Sequence[Sequence[str]]) -> None:
    if len(pred_sentences) != len(gold_sentences):
        raise ValueError(
            f"got {len(pred_sentences)} predicted sentences for {len(gold_sentences)} gold sentences; "
            "export one predicted tag sequence per gold sentence, in the gold order"
        )
    for i, (pred, gold) in enumerate(zip(pred_sentences, gold_sentences, strict=True)):
        if isinstance(pred, str) or isinstance(gold, str):
            raise ValueError(f"sentence {i} must be a list of tags, got a string")
        if len(pred) != len(gold):
            raise ValueError(
                f"sentence {i} has {len(pred)} predicted tags but {len(gold)} gold tags; predict one tag per word "
                "(long sentences must be split and merged back, never truncated)"
            )


def _flatten_with_o(sentences: Sequence[Sequence[str]]) -> list[str]:
    flat: list[str] = []
    for sentence in sentences:
        flat.extend(sentence)
        flat.append("O")  # seqeval 0.0.12 appends "O" after every sentence, the last one included
    return flat


def tagging_scores(
    pred_sentences: Sequence[Sequence[str]], gold_sentences: Sequence[Sequence[str]]
) -> dict[str, float]:
    """Chunk-level precision, recall and F1 with seqeval 0.0.12 semantics (UD-POS and PAN-X).

    Sentences are concatenated with an "O" between them, chunks are found with ``get_entities_0012`` and compared as
    sets of ``(type, start, end)``. Precision is 0 without predicted chunks, recall 0 without gold chunks, F1 0 when
    both are 0.

    Args:
        pred_sentences: Predicted tags, one list per sentence.
        gold_sentences: Gold tags, same shape as ``pred_sentences``.

    Returns:
        ``{"f1": ..., "precision": ..., "recall": ...}`` in percent.

    Raises:
        ValueError: If the number of sentences or of tags in a sentence differs.
    """
    _check_sentences(pred_sentences, gold_sentences)
    gold_chunks = set(get_entities_0012(_flatten_with_o(gold_sentences)))
    pred_chunks = set(get_entities_0012(_flatten_with_o(pred_sentences)))
    n_correct = len(gold_chunks & pred_chunks)
    precision = n_correct / len(pred_chunks) if pred_chunks else 0
    recall = n_correct / len(gold_chunks) if gold_chunks else 0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0
    return {"f1": f1 * 100, "precision": precision * 100, "recall": recall * 100}


def tagging_contributions(pred_sentences: Sequence[Sequence[str]], gold_sentences: Sequence[Sequence[str]]
                          ) -> list[tuple[float, float]]:
    """``(2 * correct chunks, predicted + gold chunks)`` per sentence: ``tagging_scores``' F1 as a ratio of sums.

    The chunks are those ``tagging_scores`` finds in the joined sequence, each assigned to the sentence it starts in,
    so the per-sentence counts add up to the corpus counts exactly (F1 = 2 tp / (n_pred + n_gold)).
    """
    _check_sentences(pred_sentences, gold_sentences)
    gold_chunks = set(get_entities_0012(_flatten_with_o(gold_sentences)))
    pred_chunks = set(get_entities_0012(_flatten_with_o(pred_sentences)))
    # Sentence i starts at starts[i] in the joined sequence (each sentence is followed by its "O").
    starts = np.cumsum([0] + [len(s) + 1 for s in gold_sentences])[:-1]
    n = len(gold_sentences)

    def per_sentence(chunks: Iterable[tuple[str, int, int]]) -> np.ndarray:
        begins = np.fromiter((c[1] for c in chunks), dtype=np.int64)
        return np.bincount(np.searchsorted(starts, begins, side="right") - 1, minlength=n).astype(float)

    tp = per_sentence(pred_chunks & gold_chunks)
    total = per_sentence(pred_chunks) + per_sentence(gold_chunks)
    return [(2.0 * t, float(c)) for t, c in zip(tp.tolist(), total.tolist(), strict=True)]


def token_accuracy_contributions(pred_sentences: Sequence[Sequence[str]], gold_sentences: Sequence[Sequence[str]]
                                 ) -> list[tuple[float, float]]:
    """``(correct tokens, tokens)`` per sentence: ``token_accuracy`` as a ratio of sums."""
    _check_sentences(pred_sentences, gold_sentences)
    return [(float(sum(p == g for p, g in zip(ps, gs, strict=True))), float(len(gs)))
            for ps, gs in zip(pred_sentences, gold_sentences, strict=True)]


def token_accuracy(pred_sentences: Sequence[Sequence[str]], gold_sentences: Sequence[Sequence[str]]) -> float:
    """Per-token accuracy over all sentences (what the X-STILTs paper reports for UD-POS), in percent.

    Args:
        pred_sentences: Predicted tags, one list per sentence.
        gold_sentences: Gold tags, same shape as ``pred_sentences``.

    Returns:
        Percentage of tokens whose predicted tag equals the gold tag.

    Raises:
        ValueError: If the shapes differ or there are no tokens.
    """
    _check_sentences(pred_sentences, gold_sentences)
    preds = [t for s in pred_sentences for t in s]
    golds = [t for s in gold_sentences for t in s]
    return accuracy(preds, golds)


# --------------------------------------------------------------------------------------------------------------------
# Retrieval


def bucc_scores(
    predicted_pairs: Iterable[tuple[str, str]], gold_pairs: Iterable[tuple[str, str]]
) -> dict[str, float]:
    """BUCC precision, recall and F1 over sets of ``(source id, target id)`` pairs, in percent.

    All three are 0 when no predicted pair is correct (also when either set is empty).

    Args:
        predicted_pairs: Mined pairs (duplicates count once).
        gold_pairs: Gold pairs (duplicates count once).

    Returns:
        ``{"f1": ..., "precision": ..., "recall": ...}``.
    """
    predicted = {tuple(p) for p in predicted_pairs}
    gold = {tuple(g) for g in gold_pairs}
    n_correct = len(predicted & gold)
    if n_correct > 0:
        precision = n_correct / len(predicted)
        recall = n_correct / len(gold)
        f1 = 2 * precision * recall / (precision + recall)
    else:
        precision = recall = f1 = 0
    return {"f1": f1 * 100, "precision": precision * 100, "recall": recall * 100}


def _as_gold_set(gold: object, index: int) -> set:
    # A single id (Mewsli-X has exactly one gold entity per mention) is accepted as a one-element set.
    gold_set = {gold} if isinstance(gold, str) else set(gold)  # type: ignore[arg-type]
    if not gold_set:
        raise ValueError(f"query {index} has no correct candidate; every query needs at least one gold id")
    return gold_set


def _check_rankings(rankings: Sequence[Sequence[str]], gold_sets: Sequence[object], k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be a positive integer, got {k}")
    if len(rankings) != len(gold_sets):
        raise ValueError(f"got {len(rankings)} rankings for {len(gold_sets)} gold sets; give one ranking per query")
    if not rankings:
        raise ValueError("ranking metrics need at least one query")


def _reciprocal_rank(ranking: Sequence[str], gold_set: set, k: int) -> float:
    for rank, candidate in enumerate(list(ranking)[:k], start=1):
        if candidate in gold_set:
            return 1.0 / rank
    return 0.0


def _average_precision(ranking: Sequence[str], gold_set: set, k: int) -> float:
    seen: set = set()
    hits = 0
    score = 0.0
    for rank, candidate in enumerate(list(ranking)[:k], start=1):
        if candidate in gold_set and candidate not in seen:
            hits += 1
            score += hits / rank
        seen.add(candidate)
    return score / min(len(gold_set), k)


def rr_contributions(rankings: Sequence[Sequence[str]], gold_sets: Sequence[object], k: int = 20
                     ) -> list[tuple[float, float]]:
    """``(reciprocal rank, 1)`` per query: ``mrr_at_k`` as a ratio of sums."""
    _check_rankings(rankings, gold_sets, k)
    return [(_reciprocal_rank(r, _as_gold_set(g, i), k), 1.0)
            for i, (r, g) in enumerate(zip(rankings, gold_sets, strict=True))]


def ap_contributions(rankings: Sequence[Sequence[str]], gold_sets: Sequence[object], k: int = 20
                     ) -> list[tuple[float, float]]:
    """``(AP@k, 1)`` per query: ``map_at_k`` as a ratio of sums."""
    _check_rankings(rankings, gold_sets, k)
    return [(_average_precision(r, _as_gold_set(g, i), k), 1.0)
            for i, (r, g) in enumerate(zip(rankings, gold_sets, strict=True))]


def mrr_at_k(rankings: Sequence[Sequence[str]], gold_sets: Sequence[object], k: int = 20) -> float:
    """Mean reciprocal rank of the first correct candidate within the top ``k``, in percent.

    This is Mewsli-X's metric (reported by the official scorer as "map@20": with one gold entity per mention,
    average precision equals the reciprocal rank).

    Rankings are already ordered best first, so ties must be broken by the caller before calling this (the official
    code ranks by a stable order of scores; pass the same order). A ranking shorter than ``k`` is evaluated as is;
    a query whose gold is not in its top ``k`` (or which has an empty ranking) scores 0. A candidate repeated in a
    ranking counts at its first position.

    Args:
        rankings: For each query, candidate ids ordered best first.
        gold_sets: For each query, its correct id(s): a single id string or an iterable of ids.
        k: Cut-off.

    Returns:
        MRR@k in percent.
    """
    _check_rankings(rankings, gold_sets, k)
    total = 0.0
    for i, (ranking, gold) in enumerate(zip(rankings, gold_sets, strict=True)):
        total += _reciprocal_rank(ranking, _as_gold_set(gold, i), k)
    return total / len(rankings) * 100


def map_at_k(rankings: Sequence[Sequence[str]], gold_sets: Sequence[object], k: int = 20) -> float:
    """Mean average precision at ``k`` (LAReQA's mAP@20), in percent.

    Per query: ``AP@k = sum(precision@i for each rank i <= k holding a correct candidate seen for the first time)
    / min(number of correct candidates, k)``. So a query with 3 correct candidates that retrieves only 1 of them at
    rank 1 gets AP 1/3, and a ranking shorter than ``k`` is not padded: missing correct candidates simply earn
    nothing. With exactly one correct candidate AP@k equals the reciprocal rank. Ties are the caller's business (see
    ``mrr_at_k``).

    Args:
        rankings: For each query, candidate ids ordered best first.
        gold_sets: For each query, its correct id(s): a single id string or an iterable of ids.
        k: Cut-off.

    Returns:
        mAP@k in percent.
    """
    _check_rankings(rankings, gold_sets, k)
    total = 0.0
    for i, (ranking, gold) in enumerate(zip(rankings, gold_sets, strict=True)):
        total += _average_precision(ranking, _as_gold_set(gold, i), k)
    return total / len(rankings) * 100


# --------------------------------------------------------------------------------------------------------------------
# Correlation (regression: STS-B-like similarity scores)


def _paired_scores(predictions: Sequence[float], golds: Sequence[float], metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Predictions and golds as float64 arrays, checked: same length, at least two, all finite, golds not constant."""
    if len(predictions) != len(golds):
        raise ValueError(f"{metric} needs one prediction per gold score: got {len(predictions)} predictions for "
                         f"{len(golds)} gold scores; export exactly one prediction per example, in the gold order")
    if len(golds) < 2:
        raise ValueError(f"{metric} of {len(golds)} example(s) is undefined: a correlation needs at least two")
    x, y = np.asarray(predictions, dtype=np.float64), np.asarray(golds, dtype=np.float64)
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError(f"{metric} needs one score per example (flat lists), got shapes {x.shape} and {y.shape}")
    for what, values, hint in (("gold score", y, ""), ("prediction", x, " (did training diverge?)")):
        if not np.isfinite(values).all():
            i = int(np.flatnonzero(~np.isfinite(values))[0])
            raise ValueError(f"{metric}: {what} {float(values[i])!r} at example {i} is not a finite number{hint}")
    if (y == y[0]).all():
        raise ValueError(f"{metric}: every gold score is {float(y[0])!r}, so no model can be ranked by its correlation "
                         "with them; evaluate on more (or other) examples")
    return x, y


def _pearson_r(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's r as ``scipy.stats.pearsonr`` computes it (float64): centre, normalise, dot product, clip to
    [-1, 1]; 0.0 when ``x`` is constant (see ``pearson``)."""
    if (x == x[0]).all():
        return 0.0
    xm, ym = x - x.mean(), y - y.mean()
    r = float(np.dot(xm / np.linalg.norm(xm), ym / np.linalg.norm(ym)))
    return max(-1.0, min(1.0, r))  # rounding can leave |r| a hair above 1 for (anti)proportional inputs


def average_ranks(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """1-based ranks, tied values sharing the mean of the ranks they span (``scipy.stats.rankdata(method="average")``):
    ``[10, 20, 20, 30] -> [1, 2.5, 2.5, 4]``."""
    x = np.asarray(values, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    ordered = x[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]  # where each run of equal values begins
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    sizes = np.diff(np.r_[first, len(x)])
    ranks = np.empty(len(x))
    ranks[order] = (first + (sizes + 1) / 2.0)[group]  # ranks first+1 .. first+size average to first + (size+1)/2
    return ranks


def pearson(predictions: Sequence[float], golds: Sequence[float]) -> float:
    """Pearson's correlation coefficient between predicted and gold scores, in percent (x 100).

    The official definition is GLUE's STS-B scorer, ``scipy.stats.pearsonr(predictions, golds)[0]``:
    ``r = sum((x - mean x)(y - mean y)) / sqrt(sum((x - mean x)^2) * sum((y - mean y)^2))``, computed here in float64
    the way scipy does (centred vectors normalised first, then their dot product), so it agrees with scipy to
    rounding.

    Constant predictions (every prediction equal): the coefficient is 0/0. scipy returns NaN with a warning; this
    returns **0.0**, the value of no association, because a result file must hold a finite number (results are
    written without NaN) and a dev score must order checkpoints (NaN compares false with everything, so model
    selection would silently keep whatever came first). A 0.0 here is not something learned: the caller records the
    cell as constant (``reliability``), as it does for a classifier that gives every example one label, and a
    correlation has no chance level above 0 to mistake it for (``typespecs``: chance undefined). Nearly constant
    predictions are computed as they are, as scipy does.

    Args:
        predictions: One predicted score per example.
        golds: One gold score per example, same length and order.

    Returns:
        Pearson's r x 100, in [-100, 100].

    Raises:
        ValueError: the lengths differ, fewer than two examples, a score that is not finite, or constant gold scores
            (no model can be ranked on such a set: an evaluation-data problem, not a model outcome).
    """
    x, y = _paired_scores(predictions, golds, "pearson")
    return _pearson_r(x, y) * 100


def spearman(predictions: Sequence[float], golds: Sequence[float]) -> float:
    """Spearman's rank correlation between predicted and gold scores, in percent (x 100).

    The official definition is GLUE's STS-B scorer, ``scipy.stats.spearmanr(predictions, golds)[0]``: Pearson's r of
    the two lists' ranks, tied values taking the mean of the ranks they span (``average_ranks``). STS-B's gold scores
    tie often (many pairs are exactly 5.0 or 0.0), so the tie rule changes the number; this is scipy's.

    Constant predictions score 0.0 and constant golds raise, as in ``pearson`` (the ranks are then constant too).

    Args:
        predictions: One predicted score per example.
        golds: One gold score per example, same length and order.

    Returns:
        Spearman's rho x 100, in [-100, 100].

    Raises:
        ValueError: as ``pearson``.
    """
    x, y = _paired_scores(predictions, golds, "spearman")
    return _pearson_r(average_ranks(x), average_ranks(y)) * 100
