"""Word tagging (UD-POS, PAN-X / WikiANN NER, CCG supertags): one label per word from its first sub-token.

Canonical rows: ``{"tokens": list[str], "tags": list[int]}``. Long sentences are split into word-aligned windows and
merged back (``xstilts.tagging``). Metrics: seqeval chunk F1 (NER; UD-POS also gets token accuracy), or token
accuracy alone where tags are not BIO chunks (CCG supertags, ``main_metric="accuracy"``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from xstilts import metrics, tagging
from xstilts.errors import DataError
from xstilts.reliability import LanguageFigures, language_figures
from xstilts.tasks import Task
from xstilts.tasktypes.base import Batch, RowTaskType
from xstilts.tasktypes.classification import Classification, class_head_spec
from xstilts.tasktypes.common import MODEL_INPUTS, Encoded, head_label_count, hf_head_weights
from xstilts.typespecs import HeadSpec
from xstilts.tasktypes.heads import TokenHead
from xstilts.typespecs import SPECS, TaggingOptions


@dataclass
class TaggingEncoded(Encoded):
    """Tagging features and the word-aligned windows they were cut from (``tagging.encode_tagging``), which merge
    window predictions back into one tag per word."""

    windows: dict[str, list]
    num_words: list[int]  # words of each sentence


class Tagging(RowTaskType):
    spec = SPECS["tagging"]

    def __init__(self, task: Task):
        super().__init__(task)
        self.options: TaggingOptions = self.spec.options_of(task)

    def head_spec(self, encoder: nn.Module) -> HeadSpec:
        """One class per tag; a tag set built from training data (CCG) is recorded."""
        return class_head_spec(self.task)

    @staticmethod
    def make_head(spec: HeadSpec, hidden: int, dropout: float) -> nn.Module:
        return TokenHead(hidden, spec.num_labels, dropout)

    @staticmethod
    def forward(encoder: nn.Module, head: nn.Module, batch: Batch) -> dict[str, Any]:
        """Classification's forward pass on every token: the loss ignores sub-tokens and padding (label -100)."""
        return Classification.forward(encoder, head, batch)

    @staticmethod
    def hf_weights(head_state: dict[str, torch.Tensor], hf_keys: set[str], prefix: str
                   ) -> dict[str, torch.Tensor] | None:
        """Our per-token linear layer is transformers' ``classifier``."""
        return hf_head_weights(head_state, hf_keys, [{"out_proj": "classifier"}])

    def encode(self, rows: list[dict], tokenizer: Any, max_length: int, task_id: int = 0,
               train: bool = True) -> TaggingEncoded:
        """Word-aligned windows of each sentence, the tag on each word's first sub-token."""
        _check_tags(self.task, rows)
        enc = tagging.encode_tagging(tokenizer, [r["tokens"] for r in rows], [r["tags"] for r in rows], max_length)
        feats = []
        for i in range(len(enc["input_ids"])):
            f = {k: enc[k][i] for k in MODEL_INPUTS if k in enc}
            f["labels"] = enc["labels"][i]
            f["task_id"] = task_id
            feats.append(f)
        return TaggingEncoded(feats, enc, [len(r["tokens"]) for r in rows])

    def predict(self, rows: list[dict], encoded: Encoded, logits: list[Any]) -> list[list[int]]:
        """A tag id per word of each sentence (windows merged back)."""
        if not isinstance(encoded, TaggingEncoded):
            raise TypeError(f"tagging predicts from its own encoding (TaggingEncoded), not {type(encoded).__name__}")
        per_feature = [[int(x) for x in lg.argmax(-1)] for lg in logits]
        return tagging.merge_window_predictions(encoded.windows, per_feature, encoded.num_words)

    def score(self, rows: list[dict], predictions: list[Any], lang: str) -> dict[str, float]:
        n = float(len(rows))
        pred_tags, gold_tags = _tag_names(self.task, rows, predictions)
        if self.task.main_metric == "accuracy":  # supertags (CCG) are not BIO chunks: token accuracy only
            return {"accuracy": metrics.token_accuracy(pred_tags, gold_tags), "n": n}
        s = metrics.tagging_scores(pred_tags, gold_tags)
        out = {"f1": s["f1"], "precision": s["precision"], "recall": s["recall"], "n": n}
        if self.options.token_accuracy:  # UD-POS: XTREME reports token accuracy beside F1
            out["accuracy"] = metrics.token_accuracy(pred_tags, gold_tags)
        return out

    def reliability(self, rows: list[dict], predictions: list[Any], lang: str) -> LanguageFigures:
        """Majority share of the gold tags over words, top-prediction share of the predicted tags, bootstrap over
        sentences."""
        pred_tags, gold_tags = _tag_names(self.task, rows, predictions)
        if self.task.main_metric == "accuracy":
            per = metrics.token_accuracy_contributions(pred_tags, gold_tags)
        else:
            per = metrics.tagging_contributions(pred_tags, gold_tags)
        return language_figures(lang, np.array(per), [t for s in rows for t in s["tags"]],
                                [t for p in predictions for t in p])

    def export_payload(self, rows: list[dict], predictions: list[Any]) -> Any:
        """The tag names of each sentence (the official scorer's conll-like file)."""
        return [[self.task.label_names[t] for t in p] for p in predictions]


def _check_tags(task: Task, rows: list[dict]) -> None:
    """Every tag a class id of the head (an id beyond it would be silently read as the last tag).

    Raises:
        DataError: naming the sentence and the valid ids.
    """
    n = head_label_count(task)
    for i, r in enumerate(rows):
        bad = [t for t in r["tags"] if not (isinstance(t, int) and (n is None or 0 <= t < n))]
        if bad:
            raise DataError(f"task {task.name}: sentence {i} has tag(s) {bad[:5]!r}, not class ids "
                            f"0..{(n or 0) - 1}; untagged words must be dropped by the loader")


def _tag_names(task: Task, rows: list[dict], predictions: list[Any]) -> tuple[list[list[str]], list[list[str]]]:
    names = task.label_names
    return [[names[t] for t in p] for p in predictions], [[names[t] for t in r["tags"]] for r in rows]
