"""Extractive span QA (XQuAD, MLQA, TyDiQA-GoldP, SQuAD v1.1/v2.0): start and end logits per token.

Canonical rows: ``{"id": str, "context": str, "question": str, "answers": {"text": [...], "answer_start": [...]}}``.
Long contexts are cut into overlapping windows (``xstilts.qa``; recipe keys ``qa.doc_stride``, ``qa.n_best_size``,
``qa.max_answer_length``); SQuAD v2.0's no-answer decision is in ``xstilts.squad_v2``. Metrics: exact match and F1
(MLQA's normalisation per language where the task says so); the task score is their mean.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from xstilts import metrics, qa, squad_v2
from xstilts.config import QaConfig
from xstilts.errors import DataError
from xstilts.log import log
from xstilts.reliability import LanguageFigures, language_figures
from xstilts.tasks import Task
from xstilts.tasktypes.common import (
    MODEL_INPUTS,
    DevSet,
    Encoded,
    EvalInputs,
    Evaluated,
    HeadSpec,
    evaluate_each_language,
    fresh_head,
    hf_head_weights,
    load_dataset_rows,
    model_inputs,
    no_fixed_share,
    rows_training_data,
)

LABEL_NAMES = ["start_positions", "end_positions"]
EVALUATED_FROM = ("phase3",)
EVAL_MODEL = "heads"
POOLED = False
init_head = fresh_head
sampling_share = no_fixed_share
load_rows = load_dataset_rows
HF_AUTO_CLASS = "AutoModelForQuestionAnswering"
HF_PIPELINE_TAG = "question-answering"


class TokenHead(nn.Module):
    """Per-token linear layer: tagging (num_labels classes) and span QA (2 = start/end logits)."""

    def __init__(self, hidden: int, num_labels: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out_proj = nn.Linear(hidden, num_labels)

    def forward(self, sequence: torch.Tensor) -> torch.Tensor:
        return self.out_proj(self.dropout(sequence))


def head_spec(task: Task, encoder: nn.Module) -> HeadSpec:
    return HeadSpec(task.name, task.task_type, 2)


def hf_weights(head_state: dict[str, torch.Tensor], hf_keys: set[str], prefix: str
               ) -> dict[str, torch.Tensor] | None:
    """Our per-token linear layer is transformers' ``qa_outputs`` (start logits first, then end)."""
    return hf_head_weights(head_state, hf_keys, [{"out_proj": "qa_outputs"}])


def hf_logits(output: Any) -> torch.Tensor:
    """transformers' start and end logits as our head's (tokens, 2) logits."""
    return torch.stack([output.start_logits, output.end_logits], dim=-1)


def make_head(spec: HeadSpec, hidden: int, dropout: float) -> nn.Module:
    return TokenHead(hidden, spec.num_labels, dropout)




def forward(encoder: nn.Module, head: nn.Module, batch: dict[str, Any]) -> dict[str, Any]:
    logits = head(encoder(**model_inputs(batch)).last_hidden_state)
    start, end = logits[..., 0], logits[..., 1]
    # Padding must never win the argmax of an answer span.
    mask = batch["attention_mask"] == 0
    start = start.masked_fill(mask, torch.finfo(start.dtype).min)
    end = end.masked_fill(mask, torch.finfo(end.dtype).min)
    out: dict[str, Any] = {}
    if batch.get("start_positions") is not None and batch.get("end_positions") is not None:
        ce = nn.CrossEntropyLoss()
        out["loss"] = (ce(start, batch["start_positions"]) + ce(end, batch["end_positions"])) / 2
    out["logits"] = torch.stack([start, end], dim=-1)
    return out


def training_data(task: Task, task_id: int, recipe: Any, tokenizer: Any) -> tuple[list[dict[str, Any]], DevSet]:
    return rows_training_data(task, task_id, recipe, tokenizer, encode)


def encode(task: Task, rows: list[dict], tokenizer: Any, max_length: int, task_id: int = 0, train: bool = True,
           qa: QaConfig | None = None) -> Encoded:
    """Windows of each (question, context); training windows carry the answer's token span (or the CLS token)."""
    qa_cfg = qa or QaConfig()
    enc = _windows(tokenizer, rows, max_length, qa_cfg.stride(max_length), train)
    unusable = _check_answers(task, rows, enc, max_length) if train else set()
    feats = []
    for i in range(len(enc["input_ids"])):
        if enc["example_index"][i] in unusable:
            continue  # dropped, not trained as "no answer"
        f = {k: enc[k][i] for k in MODEL_INPUTS if k in enc}
        if train:
            f["start_positions"] = enc["start_positions"][i]
            f["end_positions"] = enc["end_positions"][i]
        f["task_id"] = task_id
        feats.append(f)
    return Encoded(feats, {"qa": enc, "unusable_answers": len(unusable)})


def _windows(tokenizer: Any, rows: list[dict], max_length: int, doc_stride: int, train: bool) -> dict[str, list]:
    return qa.prepare_qa_features(
        tokenizer, [r["question"] for r in rows], [r["context"] for r in rows], max_length=max_length,
        doc_stride=doc_stride, answers=[r["answers"] for r in rows] if train else None)


def _check_answers(task: Task, rows: list[dict], enc: dict[str, list], max_length: int) -> set[int]:
    """Training questions whose gold answer cannot be trained as a span (see ``qa.unusable_answers``): counted and
    dropped with a warning, or a ``DataError`` above ``qa.MAX_UNUSABLE_ANSWER_FRACTION`` of the questions."""
    problems = qa.unusable_answers([r["context"] for r in rows], [r["answers"] for r in rows], enc)
    if not problems:
        return set()
    first = [f"{rows[i].get('id', i)}: {why}" for i, why in list(problems.items())[:3]]
    share = len(problems) / len(rows)
    summary = (f"task {task.name}: {len(problems)} of {len(rows)} training questions ({100 * share:.1f}%) have a gold "
               f"answer that cannot be trained as a span at max_length={max_length} (first: {'; '.join(first)})")
    if share > qa.MAX_UNUSABLE_ANSWER_FRACTION:
        raise DataError(f"{summary}; more than {100 * qa.MAX_UNUSABLE_ANSWER_FRACTION:.0f}% means the file's "
                        "answer_start offsets or text are wrong, or max_length is too small: fix the data or raise "
                        "train.max_length")
    log(f"warning: {summary}; these questions are dropped from training (not trained as 'no answer')")
    return set(problems)


def predict(task: Task, rows: list[dict], encoded: Encoded, logits: list[Any], qa: QaConfig | None = None
            ) -> list[str]:
    """The answer string of each question ("" for no answer)."""
    qa_cfg = qa or QaConfig()
    starts = [lg[:, 0] for lg in logits]
    ends = [lg[:, 1] for lg in logits]
    if task.options.null_answers:  # SQuAD v2.0: no-answer threshold chosen on these (dev) questions, kept for the record
        answers_v2, encoded.extra["null_threshold"] = squad_v2.predict_with_threshold(
            rows, encoded.extra["qa"], starts, ends, n_best=qa_cfg.n_best_size,
            max_answer_length=qa_cfg.max_answer_length)
        return answers_v2
    answers = _postprocess([r["context"] for r in rows], encoded.extra["qa"], starts, ends, qa_cfg)
    return [answers.get(i, "") for i in range(len(rows))]


def _postprocess(contexts: list[str], enc: dict[str, list], starts: list[Any], ends: list[Any], qa_cfg: QaConfig
                 ) -> dict[int, str]:
    return qa.postprocess_qa_predictions(contexts, enc, starts, ends, n_best=qa_cfg.n_best_size,
                                         max_answer_length=qa_cfg.max_answer_length)


def score(task: Task, rows: list[dict], predictions: list[Any], lang: str) -> dict[str, float]:
    """Exact match and F1 (percent), as the official scorer of the task computes them, plus ``n``."""
    n = float(len(rows))
    if task.options.null_answers:
        return {**squad_v2.scores(predictions, rows), "n": n}
    preds = {str(i): p for i, p in enumerate(predictions)}
    golds = {str(i): list(r["answers"]["text"]) for i, r in enumerate(rows)}
    s = metrics.mlqa_scores(preds, golds, lang) if task.options.eval_metric == "mlqa" else metrics.squad_scores(preds, golds)
    return {"exact_match": s["exact_match"], "f1": s["f1"], "n": n}


def reliability(task: Task, rows: list[dict], predictions: list[Any], lang: str) -> LanguageFigures:
    """No class balance (answers are not classes); the top-prediction share of the answer strings catches a model
    that always answers "" or the same span; bootstrap over questions of (EM + F1) / 2."""
    if task.options.null_answers:
        per = [(sum(squad_v2.em_f1(p, squad_v2.gold_texts(r["answers"]))) / 2, 1.0)
               for p, r in zip(predictions, rows)]
    else:
        preds = {str(i): p for i, p in enumerate(predictions)}
        golds = {str(i): list(r["answers"]["text"]) for i, r in enumerate(rows)}
        per = metrics.qa_contributions(preds, golds, lang if task.options.eval_metric == "mlqa" else None)
    return language_figures(lang, np.array(per), None, [p.strip() for p in predictions])


def chance(task: Task, languages: dict[str, dict[str, float]], rows: dict[str, Any] | None = None) -> float | None:
    """None: answers are spans, not classes."""
    return None


def export_payload(task: Task, rows: list[dict], predictions: list[Any]) -> Any:
    """Question id -> answer (the official SQuAD-style json)."""
    return {r["id"]: p for r, p in zip(rows, predictions)}




def evaluate(task: Task, ctx: EvalInputs, rows: dict[str, list[dict]]) -> Evaluated:
    return evaluate_each_language(task, ctx, rows, encode, predict, score, reliability)
