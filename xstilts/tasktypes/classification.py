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
from xstilts.tasktypes.common import (
    DevSet,
    Encoded,
    EvalInputs,
    Evaluated,
    HeadSpec,
    check_class_labels,
    evaluate_each_language,
    fresh_head,
    head_label_count,
    hf_head_weights,
    hf_plain_logits,
    load_dataset_rows,
    model_inputs,
    no_fixed_share,
    rows_training_data,
    with_class_loss,
)

LABEL_NAMES = ["labels"]  # the Trainer's label fields
EVALUATED_FROM = ("phase3",)  # a trained head is needed
EVAL_MODEL = "heads"  # evaluation loads the model with its task heads
POOLED = False  # languages are evaluated independently (split over ranks)
init_head = fresh_head
sampling_share = no_fixed_share
# The transformers class a phase-3 final/ with this head loads with, and its pipeline (the model card's tag).
HF_AUTO_CLASS = "AutoModelForSequenceClassification"
HF_PIPELINE_TAG = "text-classification"
hf_logits = hf_plain_logits


class ClassificationHead(nn.Module):
    def __init__(self, hidden: int, num_labels: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(hidden, hidden)
        self.out_proj = nn.Linear(hidden, num_labels)

    def forward(self, sequence: torch.Tensor) -> torch.Tensor:
        x = self.dropout(sequence[:, 0])
        x = torch.tanh(self.dense(x))
        return self.out_proj(self.dropout(x))


def hf_weights(head_state: dict[str, torch.Tensor], hf_keys: set[str], prefix: str
               ) -> dict[str, torch.Tensor] | None:
    """Our head in transformers' names: RoBERTa-style ``classifier.dense``/``classifier.out_proj`` (the same dropout,
    dense, tanh, dropout, linear on the first token), or BERT-style ``<prefix>.pooler.dense`` (dense + tanh on the
    first token) + ``classifier``, or DeBERTa-v2's top-level ``pooler.dense`` (its ContextPooler with the tanh
    ``families.hf_config`` sets) + ``classifier``. Multiple choice uses it too (XLM-R's multiple-choice head is the
    pooler one)."""
    return hf_head_weights(head_state, hf_keys, [{"dense": "classifier.dense", "out_proj": "classifier.out_proj"},
                                                 {"dense": f"{prefix}.pooler.dense", "out_proj": "classifier"},
                                                 {"dense": "pooler.dense", "out_proj": "classifier"}])


def head_spec(task: Task, encoder: nn.Module) -> HeadSpec:
    labels = list(task.label_names) if task.labels_from_train else None  # recorded: the registry lacks them
    return HeadSpec(task.name, task.task_type, len(task.label_names), labels=labels)


def make_head(spec: HeadSpec, hidden: int, dropout: float) -> nn.Module:
    return ClassificationHead(hidden, spec.num_labels, dropout)


def forward(encoder: nn.Module, head: nn.Module, batch: dict[str, Any]) -> dict[str, Any]:
    logits = head(encoder(**model_inputs(batch)).last_hidden_state)
    return with_class_loss(logits, batch.get("labels"))


def training_data(task: Task, task_id: int, recipe: Any, tokenizer: Any) -> tuple[list[dict[str, Any]], DevSet]:
    return rows_training_data(task, task_id, recipe, tokenizer, encode)


def encode(task: Task, rows: list[dict], tokenizer: Any, max_length: int, task_id: int = 0, train: bool = True,
           qa: Any = None) -> Encoded:
    """Tokenises ``text_a`` (and ``text_b``) of each row into one feature."""
    n = head_label_count(task)
    check_class_labels(task, rows, lambda r: n)
    a = [r["text_a"] for r in rows]
    b = [r["text_b"] for r in rows] if rows and rows[0].get("text_b") is not None else None
    enc = tokenizer(a, b, truncation=True, max_length=max_length)
    feats = []
    for i, r in enumerate(rows):
        f = model_inputs(enc, i)
        f["labels"] = r["label"]
        f["task_id"] = task_id
        feats.append(f)
    return Encoded(feats, {})


def predict(task: Task, rows: list[dict], encoded: Encoded, logits: list[Any], qa: Any = None) -> list[int]:
    """The predicted class id of each row."""
    return [int(lg.argmax()) for lg in logits]


def score(task: Task, rows: list[dict], predictions: list[Any], lang: str) -> dict[str, float]:
    return {"accuracy": metrics.accuracy(predictions, [r["label"] for r in rows]), "n": float(len(rows))}


def reliability(task: Task, rows: list[dict], predictions: list[Any], lang: str) -> LanguageFigures:
    """Majority share of the gold classes, top-prediction share, bootstrap over rows."""
    golds = [r["label"] for r in rows]
    return language_figures(lang, np.array(metrics.accuracy_contributions(predictions, golds)), golds, predictions)


def chance(task: Task, languages: dict[str, dict[str, float]], rows: dict[str, Any] | None = None) -> float | None:
    """100 / classes: a uniform random guess."""
    n = head_label_count(task)
    return 100.0 / n if n else None


def export_payload(task: Task, rows: list[dict], predictions: list[Any]) -> Any:
    """The label names, one per row (the official scorer's tsv)."""
    return [task.label_names[p] for p in predictions]


def load_rows(task: Task, cfg: Any, lang: str, limit: int | None, notes: list[str]) -> list[dict]:
    return load_dataset_rows(task, cfg, lang, limit, notes)


def evaluate(task: Task, ctx: EvalInputs, rows: dict[str, list[dict]]) -> Evaluated:
    return evaluate_each_language(task, ctx, rows, encode, predict, score, reliability)
