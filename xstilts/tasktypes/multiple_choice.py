"""Multiple choice (XCOPA, COPA, SIQA, CommonsenseQA, ...): each (context, question + choice) pair is scored with a
classification head of one output, softmax over the choices.

Canonical rows: ``{"context": str, "question": str, "choices": list[str], "label": int}``. Metric: accuracy. The head,
its transformers layout (the pooler, dense + tanh, and a linear layer of one output), the predictions, scores and
figures are classification's.
"""
from __future__ import annotations

from typing import Any

from torch import nn

from xstilts.tasktypes.base import Batch
from xstilts.tasktypes.classification import Classification
from xstilts.tasktypes.common import Encoded, check_class_labels, model_inputs, with_class_loss
from xstilts.typespecs import HeadSpec
from xstilts.typespecs import SPECS


class MultipleChoice(Classification):
    spec = SPECS["multiple_choice"]

    def head_spec(self, encoder: nn.Module) -> HeadSpec:
        return HeadSpec(self.task.name, self.task.task_type, 1)

    @staticmethod
    def forward(encoder: nn.Module, head: nn.Module, batch: Batch) -> dict[str, Any]:
        """Choices are flattened into the batch for the encoder, their scores regrouped per row."""
        inputs = model_inputs(batch)
        num_choices = inputs["input_ids"].shape[1]
        inputs = {k: v.reshape(-1, v.shape[-1]) for k, v in inputs.items()}
        logits = head(encoder(**inputs).last_hidden_state).reshape(-1, num_choices)
        return with_class_loss(logits, batch.get("labels"))

    def encode(self, rows: list[dict], tokenizer: Any, max_length: int, task_id: int = 0,
               train: bool = True) -> Encoded:
        """One feature per row holding every (context, question + choice) pair."""
        check_class_labels(self.task, rows, lambda r: len(r["choices"]))
        feats = []
        for r in rows:
            first = [r["context"]] * len(r["choices"])
            second = [f"{r['question']} {c}".strip() for c in r["choices"]]
            f = model_inputs(tokenizer(first, second, truncation=True, max_length=max_length))
            f["labels"] = r["label"]
            f["task_id"] = task_id
            feats.append(f)
        return Encoded(feats)

    def export_payload(self, rows: list[dict], predictions: list[Any]) -> Any:
        """The chosen choice's index per row (the official XCOPA jsonl)."""
        return predictions
