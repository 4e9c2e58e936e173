"""SQuAD v2.0 decoding and scoring: questions without an answer.

Training needs nothing special: :func:`xstilts.qa.prepare_qa_features` already labels a question with empty
``answers`` at the CLS token in every window. Decoding compares, per question, the null score (CLS start + end logit,
the smallest over its windows) with the best span score; the question is answered "" when ``null - best`` exceeds a
threshold. As in the official evaluation script (``find_best_thresh``), the threshold is the one that maximises F1 on
the dev questions themselves; the same threshold then gives both EM and F1 (the official script picks one per metric).

Scoring follows the official v2.0 script: an unanswerable question's gold is ``[""]``, and when either side is empty
F1 is 1 if both are empty, else 0 (v1.1 token F1 would give 0 for "" against "").
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from xstilts import metrics as M
from xstilts import qa


def gold_texts(answers: Mapping[str, Any]) -> list[str]:
    """The gold answer texts of one question; ``[""]`` when it has none (unanswerable)."""
    texts = [str(t) for t in answers.get("text", [])]
    return texts or [""]


def em_f1(prediction: str, golds: Sequence[str]) -> tuple[float, float]:
    """EM and F1 (fractions 0..1) of one prediction, max over golds, official v2.0 rules for empty answers."""
    best_em = best_f1 = 0.0
    pred_tokens = M.squad_normalize(prediction).split()
    for gold in golds:
        gold_tokens = M.squad_normalize(gold).split()
        em = float(pred_tokens == gold_tokens)
        if not pred_tokens or not gold_tokens:
            f1 = float(pred_tokens == gold_tokens)
        else:
            f1 = M.squad_em_f1(prediction, [gold])[1] / 100
        best_em, best_f1 = max(best_em, em), max(best_f1, f1)
    return best_em, best_f1


def predict_with_threshold(rows: Sequence[Mapping[str, Any]], qa_features: Mapping[str, Sequence],
                           start_logits: Any, end_logits: Any, n_best: int = 20, max_answer_length: int = 30
                           ) -> tuple[list[str], float]:
    """Answers of every question with the no-answer threshold that maximises F1 on these (dev) questions.

    Args:
        rows: canonical span-QA rows (``context``, ``answers``), the questions the features were made from.
        qa_features: the output of :func:`xstilts.qa.prepare_qa_features` for ``rows``.
        start_logits: per feature, one start logit per token.
        end_logits: per feature, one end logit per token.
        n_best: start and end candidates per window (``qa.n_best_size``).
        max_answer_length: longest answer span in tokens (``qa.max_answer_length``).

    Returns:
        ``(answers, threshold)``: one answer per row ("" = no answer) and the threshold used.
    """
    preds = qa.collect_qa_predictions([r["context"] for r in rows], qa_features, start_logits, end_logits, n_best,
                                     max_answer_length)
    diffs, has_answer, span_f1 = [], [], []
    for i, row in enumerate(rows):
        golds = gold_texts(row["answers"])
        p = preds[i]
        diffs.append(p.score_diff)
        has_answer.append(golds != [""])
        span_f1.append(em_f1(p.best.text, golds)[1] if p.best is not None else 0.0)
    threshold, _ = qa.best_null_threshold(diffs, has_answer, span_f1)
    answers = ["" if preds[i].best is None or preds[i].score_diff > threshold else preds[i].best.text
               for i in range(len(rows))]
    return answers, threshold


def scores(predictions: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Percent EM and F1 over all questions, plus the same over answerable (``has_ans_*``) and unanswerable
    (``no_ans_*``) questions where there are any, as the official script reports them."""
    if len(predictions) != len(rows) or not rows:
        raise ValueError(f"need one prediction per question; got {len(predictions)} for {len(rows)} questions")
    groups: dict[str, list[tuple[float, float]]] = {"": [], "has_ans_": [], "no_ans_": []}
    for pred, row in zip(predictions, rows, strict=True):
        golds = gold_texts(row["answers"])
        s = em_f1(pred, golds)
        groups[""].append(s)
        groups["no_ans_" if golds == [""] else "has_ans_"].append(s)
    out: dict[str, float] = {}
    for prefix, values in groups.items():
        if values:
            out[f"{prefix}exact_match"] = 100.0 * sum(v[0] for v in values) / len(values)
            out[f"{prefix}f1"] = 100.0 * sum(v[1] for v in values) / len(values)
    return out
