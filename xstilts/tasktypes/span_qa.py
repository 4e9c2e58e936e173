"""Extractive span QA (XQuAD, MLQA, TyDiQA-GoldP, SQuAD v1.1/v2.0): start and end logits per token.

Canonical rows: ``{"id": str, "context": str, "question": str, "answers": {"text": [...], "answer_start": [...]}}``.
Long contexts are cut into overlapping windows (``xstilts.qa``; recipe keys ``qa.doc_stride``, ``qa.n_best_size``,
``qa.max_answer_length``); SQuAD v2.0's no-answer decision is in ``xstilts.squad_v2``. Metrics: exact match and F1
(MLQA's normalisation per language where the task says so); the task score is their mean.
"""
from __future__ import annotations

from dataclasses import dataclass
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
from xstilts.tasktypes.base import Batch, RowTaskType
from xstilts.tasktypes.common import MODEL_INPUTS, Encoded, hf_head_weights, model_inputs
from xstilts.typespecs import HeadSpec
from xstilts.tasktypes.heads import TokenHead
from xstilts.typespecs import SPECS, SpanQaOptions


@dataclass
class QaEncoded(Encoded):
    """Span-QA features and the windows they were cut from (``qa.prepare_qa_features``: offsets, example index),
    which map window logits back to answer strings."""

    windows: dict[str, list]
    unusable_answers: int = 0  # training questions dropped: their gold answer cannot be trained as a span


class SpanQa(RowTaskType):
    """Span QA with its ``qa`` settings (windows and answer search) bound: those of the recipe that trains it, and
    at evaluation those of the phase-3 recipe that trained the model."""

    spec = SPECS["span_qa"]

    def __init__(self, task: Task, settings: QaConfig | None = None):
        super().__init__(task)
        self.qa = settings or QaConfig()
        self.options: SpanQaOptions = self.spec.options_of(task)

    def head_spec(self, encoder: nn.Module) -> HeadSpec:
        return HeadSpec(self.task.name, self.task.task_type, 2)

    @staticmethod
    def make_head(spec: HeadSpec, hidden: int, dropout: float) -> nn.Module:
        return TokenHead(hidden, spec.num_labels, dropout)

    @staticmethod
    def forward(encoder: nn.Module, head: nn.Module, batch: Batch) -> dict[str, Any]:
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

    @staticmethod
    def hf_weights(head_state: dict[str, torch.Tensor], hf_keys: set[str], prefix: str
                   ) -> dict[str, torch.Tensor] | None:
        """Our per-token linear layer is transformers' ``qa_outputs`` (start logits first, then end)."""
        return hf_head_weights(head_state, hf_keys, [{"out_proj": "qa_outputs"}])

    @staticmethod
    def hf_logits(output: Any) -> torch.Tensor:
        """transformers' start and end logits as our head's (tokens, 2) logits."""
        return torch.stack([output.start_logits, output.end_logits], dim=-1)

    def encode(self, rows: list[dict], tokenizer: Any, max_length: int, task_id: int = 0,
               train: bool = True) -> QaEncoded:
        """Windows of each (question, context); training windows carry the answer's token span (or the CLS
        token)."""
        enc = _windows(tokenizer, rows, max_length, self.qa.stride(max_length), train)
        unusable = _check_answers(self.task, rows, enc, max_length) if train else set()
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
        return QaEncoded(feats, enc, len(unusable))

    def predict(self, rows: list[dict], encoded: Encoded, logits: list[Any]) -> list[str]:
        """The answer string of each question ("" for no answer)."""
        if not isinstance(encoded, QaEncoded):
            raise TypeError(f"span QA predicts from its own encoding (QaEncoded), not {type(encoded).__name__}")
        starts = [lg[:, 0] for lg in logits]
        ends = [lg[:, 1] for lg in logits]
        if self.options.null_answers:  # SQuAD v2.0: no-answer threshold chosen on these (dev) questions
            answers_v2, _ = squad_v2.predict_with_threshold(
                rows, encoded.windows, starts, ends, n_best=self.qa.n_best_size,
                max_answer_length=self.qa.max_answer_length)
            return answers_v2
        answers = qa.postprocess_qa_predictions([r["context"] for r in rows], encoded.windows, starts, ends,
                                                n_best=self.qa.n_best_size, max_answer_length=self.qa.max_answer_length)
        return [answers.get(i, "") for i in range(len(rows))]

    def score(self, rows: list[dict], predictions: list[Any], lang: str) -> dict[str, float]:
        """Exact match and F1 (percent), as the official scorer of the task computes them, plus ``n``."""
        n = float(len(rows))
        if self.options.null_answers:
            return {**squad_v2.scores(predictions, rows), "n": n}
        preds = {str(i): p for i, p in enumerate(predictions)}
        golds = {str(i): list(r["answers"]["text"]) for i, r in enumerate(rows)}
        s = metrics.mlqa_scores(preds, golds, lang) if self.options.eval_metric == "mlqa" \
            else metrics.squad_scores(preds, golds)
        return {"exact_match": s["exact_match"], "f1": s["f1"], "n": n}

    def reliability(self, rows: list[dict], predictions: list[Any], lang: str) -> LanguageFigures:
        """No class balance (answers are not classes); the top-prediction share of the answer strings catches a model
        that always answers "" or the same span; bootstrap over questions of (EM + F1) / 2."""
        if self.options.null_answers:
            per = [(sum(squad_v2.em_f1(p, squad_v2.gold_texts(r["answers"]))) / 2, 1.0)
                   for p, r in zip(predictions, rows, strict=True)]
        else:
            preds = {str(i): p for i, p in enumerate(predictions)}
            golds = {str(i): list(r["answers"]["text"]) for i, r in enumerate(rows)}
            per = metrics.qa_contributions(preds, golds, lang if self.options.eval_metric == "mlqa" else None)
        return language_figures(lang, np.array(per), None, [p.strip() for p in predictions])

    def export_payload(self, rows: list[dict], predictions: list[Any]) -> Any:
        """Question id -> answer (the official SQuAD-style json)."""
        return {r["id"]: p for r, p in zip(rows, predictions, strict=True)}


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
