"""Sentence-pair regression (STS-B): one score per row from the first token, the worked example of adding a task
type (docs/ARCHITECTURE.md): this module, its line in ``typespecs.SPECS`` and in ``tasktypes.TASK_TYPES``, and its
``register(Task(...))`` calls.

Canonical rows: ``{"text_a": str, "text_b": str | None, "label": float}`` (``rows.float_label``: STS-B's 0-5
similarity). Head, features and transformers layout are classification's with one output (transformers'
``AutoModelForSequenceClassification`` with ``num_labels=1``: regression); the loss is the mean squared error, in
float32 as classification computes its cross-entropy. Metrics: Pearson and Spearman correlation x 100
(``metrics.pearson``/``metrics.spearman``, GLUE's scorer), Pearson the main one.
"""
from __future__ import annotations

import math
from typing import Any

from torch import nn

from xstilts import metrics
from xstilts.errors import DataError
from xstilts.reliability import LanguageFigures, language_figures
from xstilts.tasktypes.base import Batch
from xstilts.tasktypes.classification import Classification, pair_features
from xstilts.tasktypes.common import Encoded, model_inputs
from xstilts.typespecs import HeadSpec
from xstilts.typespecs import SPECS


class Regression(Classification):
    spec = SPECS["regression"]

    def head_spec(self, encoder: nn.Module) -> HeadSpec:
        return HeadSpec(self.task.name, self.task.task_type, 1)

    @staticmethod
    def forward(encoder: nn.Module, head: nn.Module, batch: Batch) -> dict[str, Any]:
        """``logits``: one score per row (batch x 1); with ``labels``, their mean squared error in float32."""
        logits = head(encoder(**model_inputs(batch)).last_hidden_state)
        out: dict[str, Any] = {}
        labels = batch.get("labels")
        if labels is not None:
            out["loss"] = nn.functional.mse_loss(logits.reshape(-1).float(), labels.reshape(-1).float())
        out["logits"] = logits
        return out

    def encode(self, rows: list[dict], tokenizer: Any, max_length: int, task_id: int = 0,
               train: bool = True) -> Encoded:
        """Tokenises ``text_a`` (and ``text_b``) of each row into one feature, its score as ``labels``."""
        for i, r in enumerate(rows):
            label = r.get("label")
            if not (isinstance(label, (int, float)) and not isinstance(label, bool) and math.isfinite(label)):
                raise DataError(f"task {self.task.name}: row {i} has label {label!r}, not a finite score; rows "
                                "without gold score must be dropped by the loader, never trained or scored")
        return Encoded(pair_features(rows, tokenizer, max_length, task_id))

    def predict(self, rows: list[dict], encoded: Encoded, logits: list[Any]) -> list[float]:
        """The predicted score of each row."""
        return [float(lg.reshape(-1)[0]) for lg in logits]

    def score(self, rows: list[dict], predictions: list[Any], lang: str) -> dict[str, float]:
        golds = [float(r["label"]) for r in rows]
        return {"pearson": metrics.pearson(predictions, golds), "spearman": metrics.spearman(predictions, golds),
                "n": float(len(rows))}

    def reliability(self, rows: list[dict], predictions: list[Any], lang: str) -> LanguageFigures:
        """No interval: a correlation is not a mean of per-row contributions, which is what
        ``reliability``'s bootstrap resamples. No class balance (scores are not classes); the top-prediction share
        flags a model that gives every row one score (its correlation is then 0 by definition, not learned)."""
        return language_figures(lang, None, None, predictions)

    def export_payload(self, rows: list[dict], predictions: list[Any]) -> Any:
        """The predicted score of each row (GLUE's STS-B submission: one score a line)."""
        return predictions
