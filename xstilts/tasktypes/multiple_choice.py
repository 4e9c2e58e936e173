"""Multiple choice (XCOPA, COPA, SIQA, CommonsenseQA, ...): each (context, question + choice) pair is scored with a
classification head of one output, softmax over the choices.

Canonical rows: ``{"context": str, "question": str, "choices": list[str], "label": int}``. Metric: accuracy.
"""
from __future__ import annotations

from typing import Any

from torch import nn

from xstilts.tasks import Task
from xstilts.tasktypes.classification import ClassificationHead, predict, reliability, score
from xstilts.tasktypes.classification import hf_weights as classification_hf_weights
from xstilts.tasktypes.common import (
    DevSet,
    Encoded,
    EvalInputs,
    Evaluated,
    HeadSpec,
    check_class_labels,
    evaluate_each_language,
    hf_plain_logits,
    load_dataset_rows,
    model_inputs,
    rows_training_data,
    with_class_loss,
)

LABEL_NAMES = ["labels"]
EVALUATED_FROM = ("phase3",)
EVAL_MODEL = "heads"
POOLED = False
load_rows = load_dataset_rows
# transformers' head: the pooler (dense + tanh) and a linear layer of one output.
HF_AUTO_CLASS = "AutoModelForMultipleChoice"
HF_PIPELINE_TAG = None  # transformers has no multiple-choice pipeline
hf_logits = hf_plain_logits
hf_weights = classification_hf_weights  # the same head as classification's, with one output


def head_spec(task: Task, encoder: nn.Module) -> HeadSpec:
    return HeadSpec(task.name, task.task_type, 1)


def make_head(spec: HeadSpec, hidden: int, dropout: float) -> nn.Module:
    return ClassificationHead(hidden, spec.num_labels, dropout)


def init_head(model: nn.Module, task: Task, folder: Any) -> str | None:
    return None


def forward(encoder: nn.Module, head: nn.Module, batch: dict[str, Any]) -> dict[str, Any]:
    """Choices are flattened into the batch for the encoder, their scores regrouped per row."""
    inputs = model_inputs(batch)
    num_choices = inputs["input_ids"].shape[1]
    inputs = {k: v.reshape(-1, v.shape[-1]) for k, v in inputs.items()}
    logits = head(encoder(**inputs).last_hidden_state).reshape(-1, num_choices)
    return with_class_loss(logits, batch.get("labels"))


def sampling_share(task: Task, recipe: Any) -> float | None:
    return None


def training_data(task: Task, task_id: int, recipe: Any, tokenizer: Any) -> tuple[list[dict[str, Any]], DevSet]:
    return rows_training_data(task, task_id, recipe, tokenizer, encode)


def encode(task: Task, rows: list[dict], tokenizer: Any, max_length: int, task_id: int = 0, train: bool = True,
           qa: Any = None) -> Encoded:
    """One feature per row holding every (context, question + choice) pair."""
    check_class_labels(task, rows, lambda r: len(r["choices"]))
    feats = []
    for r in rows:
        first = [r["context"]] * len(r["choices"])
        second = [f"{r['question']} {c}".strip() for c in r["choices"]]
        f = model_inputs(tokenizer(first, second, truncation=True, max_length=max_length))
        f["labels"] = r["label"]
        f["task_id"] = task_id
        feats.append(f)
    return Encoded(feats, {})




def chance(task: Task, languages: dict[str, dict[str, float]], rows: dict[str, Any] | None = None) -> float | None:
    """The mean over languages of the mean of 100 / choices (XCOPA: 50); without rows, 100 / the registry's
    number of choices."""
    if rows is None:
        return 100.0 / task.options.num_choices if task.options.num_choices else None
    per_lang = [rows[lang] for lang in languages if rows.get(lang)]
    return sum(sum(100.0 / len(r["choices"]) for r in lr) / len(lr) for lr in per_lang) / len(per_lang) \
        if per_lang else None


def export_payload(task: Task, rows: list[dict], predictions: list[Any]) -> Any:
    """The chosen choice's index per row (the official XCOPA jsonl)."""
    return predictions




def evaluate(task: Task, ctx: EvalInputs, rows: dict[str, list[dict]]) -> Evaluated:
    return evaluate_each_language(task, ctx, rows, encode, predict, score, reliability)
