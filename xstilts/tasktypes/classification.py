"""Sentence(-pair) classification (XNLI, PAWS-X, MNLI, ...): one label per row from the first token.

Canonical rows: ``{"text_a": str, "text_b": str | None, "label": int}``. Head (jiant's): dropout, dense, tanh,
dropout, linear on the first token. Metric: accuracy.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from xstilts import metrics
from xstilts.reliability import LanguageFigures, language_figures
from xstilts.tasks import Task
from xstilts.tasktypes.base import Batch, RowTaskType
from xstilts.tasktypes.common import (
    Encoded,
    check_class_labels,
    head_label_count,
    hf_head_weights,
    model_inputs,
    with_class_loss,
)
from xstilts.typespecs import HeadSpec
from xstilts.tasktypes.heads import ClassificationHead
from xstilts.typespecs import SPECS


def pair_features(rows: list[dict], tokenizer: Any, max_length: int, task_id: int) -> list[dict[str, Any]]:
    """One feature per row: ``text_a`` (and ``text_b``) tokenised, the row's ``label`` as ``labels``."""
    a = [r["text_a"] for r in rows]
    b = [r["text_b"] for r in rows] if rows and rows[0].get("text_b") is not None else None
    enc = tokenizer(a, b, truncation=True, max_length=max_length)
    feats = []
    for i, r in enumerate(rows):
        f = model_inputs(enc, i)
        f["labels"] = r["label"]
        f["task_id"] = task_id
        feats.append(f)
    return feats


def class_head_spec(task: Task) -> HeadSpec:
    """A head of one output per class (classification, tagging); a label set built from training data (CCG) is
    recorded, as the registry lacks it."""
    labels = list(task.label_names) if task.labels_from_train else None
    return HeadSpec(task.name, task.task_type, len(task.label_names), labels=labels)


class Classification(RowTaskType):
    spec = SPECS["classification"]

    def head_spec(self, encoder: nn.Module) -> HeadSpec:
        return class_head_spec(self.task)

    @staticmethod
    def make_head(spec: HeadSpec, hidden: int, dropout: float) -> nn.Module:
        return ClassificationHead(hidden, spec.num_labels, dropout)

    @staticmethod
    def forward(encoder: nn.Module, head: nn.Module, batch: Batch) -> dict[str, Any]:
        logits = head(encoder(**model_inputs(batch)).last_hidden_state)
        return with_class_loss(logits, batch.get("labels"))

    @staticmethod
    def hf_weights(head_state: dict[str, torch.Tensor], hf_keys: set[str], prefix: str
                   ) -> dict[str, torch.Tensor] | None:
        """Our head in transformers' names: RoBERTa-style ``classifier.dense``/``classifier.out_proj`` (the same
        dropout, dense, tanh, dropout, linear on the first token), or BERT-style ``<prefix>.pooler.dense`` (dense +
        tanh on the first token) + ``classifier``, or DeBERTa-v2's top-level ``pooler.dense`` (its ContextPooler with
        the tanh ``families.hf_config`` sets) + ``classifier``. Multiple choice and regression use it too (XLM-R's
        multiple-choice head is the pooler one)."""
        return hf_head_weights(head_state, hf_keys, [{"dense": "classifier.dense", "out_proj": "classifier.out_proj"},
                                                     {"dense": f"{prefix}.pooler.dense", "out_proj": "classifier"},
                                                     {"dense": "pooler.dense", "out_proj": "classifier"}])

    def encode(self, rows: list[dict], tokenizer: Any, max_length: int, task_id: int = 0,
               train: bool = True) -> Encoded:
        """Tokenises ``text_a`` (and ``text_b``) of each row into one feature."""
        n = head_label_count(self.task)
        check_class_labels(self.task, rows, lambda r: n)
        return Encoded(pair_features(rows, tokenizer, max_length, task_id))

    def predict(self, rows: list[dict], encoded: Encoded, logits: list[Any]) -> list[int]:
        """The predicted class id of each row."""
        return [int(lg.argmax()) for lg in logits]

    def score(self, rows: list[dict], predictions: list[Any], lang: str) -> dict[str, float]:
        return {"accuracy": metrics.accuracy(predictions, [r["label"] for r in rows]), "n": float(len(rows))}

    def reliability(self, rows: list[dict], predictions: list[Any], lang: str) -> LanguageFigures:
        """Majority share of the gold classes, top-prediction share, bootstrap over rows."""
        golds = [r["label"] for r in rows]
        return language_figures(lang, np.array(metrics.accuracy_contributions(predictions, golds)), golds, predictions)

    def export_payload(self, rows: list[dict], predictions: list[Any]) -> Any:
        """The label names, one per row (the official scorer's tsv)."""
        return [self.task.label_names[p] for p in predictions]
