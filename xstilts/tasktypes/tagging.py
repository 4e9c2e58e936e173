"""Word tagging (UD-POS, PAN-X / WikiANN NER, CCG supertags): one label per word from its first sub-token.

Canonical rows: ``{"tokens": list[str], "tags": list[int]}``. Long sentences are split into word-aligned windows and
merged back (``xstilts.tagging``). Metrics: seqeval chunk F1 (NER; UD-POS also gets token accuracy), or token
accuracy alone where tags are not BIO chunks (CCG supertags, ``main_metric="accuracy"``).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from xstilts import metrics, tagging
from xstilts.errors import DataError
from xstilts.reliability import LanguageFigures, language_figures
from xstilts.tasks import Task
from xstilts.tasktypes.classification import forward as classification_forward
from xstilts.tasktypes.classification import head_spec as classification_head_spec
from xstilts.tasktypes.common import (
    MODEL_INPUTS,
    DevSet,
    Encoded,
    EvalInputs,
    Evaluated,
    HeadSpec,
    evaluate_each_language,
    fresh_head,
    head_label_count,
    hf_head_weights,
    hf_plain_logits,
    load_dataset_rows,
    no_fixed_share,
    rows_training_data,
)
from xstilts.tasktypes.span_qa import TokenHead

LABEL_NAMES = ["labels"]
EVALUATED_FROM = ("phase3",)
EVAL_MODEL = "heads"
POOLED = False
head_spec = classification_head_spec  # one class per tag; a tag set built from training data (CCG) is recorded
init_head = fresh_head
sampling_share = no_fixed_share
forward = classification_forward  # the loss ignores sub-tokens and padding (label -100)
load_rows = load_dataset_rows
HF_AUTO_CLASS = "AutoModelForTokenClassification"
HF_PIPELINE_TAG = "token-classification"
hf_logits = hf_plain_logits


def make_head(spec: HeadSpec, hidden: int, dropout: float) -> nn.Module:
    return TokenHead(hidden, spec.num_labels, dropout)


def hf_weights(head_state: dict[str, torch.Tensor], hf_keys: set[str], prefix: str
               ) -> dict[str, torch.Tensor] | None:
    """Our per-token linear layer is transformers' ``classifier``."""
    return hf_head_weights(head_state, hf_keys, [{"out_proj": "classifier"}])


def training_data(task: Task, task_id: int, recipe: Any, tokenizer: Any) -> tuple[list[dict[str, Any]], DevSet]:
    return rows_training_data(task, task_id, recipe, tokenizer, encode)


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


def encode(task: Task, rows: list[dict], tokenizer: Any, max_length: int, task_id: int = 0, train: bool = True,
           qa: Any = None) -> Encoded:
    """Word-aligned windows of each sentence, the tag on each word's first sub-token."""
    _check_tags(task, rows)
    enc = tagging.encode_tagging(tokenizer, [r["tokens"] for r in rows], [r["tags"] for r in rows], max_length)
    feats = []
    for i in range(len(enc["input_ids"])):
        f = {k: enc[k][i] for k in MODEL_INPUTS if k in enc}
        f["labels"] = enc["labels"][i]
        f["task_id"] = task_id
        feats.append(f)
    return Encoded(feats, {"tagging": enc, "num_words": [len(r["tokens"]) for r in rows]})


def predict(task: Task, rows: list[dict], encoded: Encoded, logits: list[Any], qa: Any = None) -> list[list[int]]:
    """A tag id per word of each sentence (windows merged back)."""
    per_feature = [[int(x) for x in lg.argmax(-1)] for lg in logits]
    return tagging.merge_window_predictions(encoded.extra["tagging"], per_feature, encoded.extra["num_words"])


def _tag_names(task: Task, rows: list[dict], predictions: list[Any]) -> tuple[list[list[str]], list[list[str]]]:
    names = task.label_names
    return [[names[t] for t in p] for p in predictions], [[names[t] for t in r["tags"]] for r in rows]


def score(task: Task, rows: list[dict], predictions: list[Any], lang: str) -> dict[str, float]:
    n = float(len(rows))
    pred_tags, gold_tags = _tag_names(task, rows, predictions)
    if task.main_metric == "accuracy":  # supertags (CCG) are not BIO chunks: token accuracy only
        return {"accuracy": metrics.token_accuracy(pred_tags, gold_tags), "n": n}
    s = metrics.tagging_scores(pred_tags, gold_tags)
    out = {"f1": s["f1"], "precision": s["precision"], "recall": s["recall"], "n": n}
    if task.options.token_accuracy:  # UD-POS: XTREME reports token accuracy beside F1
        out["accuracy"] = metrics.token_accuracy(pred_tags, gold_tags)
    return out


def reliability(task: Task, rows: list[dict], predictions: list[Any], lang: str) -> LanguageFigures:
    """Majority share of the gold tags over words, top-prediction share of the predicted tags, bootstrap over
    sentences."""
    pred_tags, gold_tags = _tag_names(task, rows, predictions)
    if task.main_metric == "accuracy":
        per = metrics.token_accuracy_contributions(pred_tags, gold_tags)
    else:
        per = metrics.tagging_contributions(pred_tags, gold_tags)
    return language_figures(lang, np.array(per), [t for s in rows for t in s["tags"]],
                            [t for p in predictions for t in p])


def chance(task: Task, languages: dict[str, dict[str, float]], rows: dict[str, Any] | None = None) -> float | None:
    """None: the chunk F1 of random tags depends on the structure of the tag sequences."""
    return None


def export_payload(task: Task, rows: list[dict], predictions: list[Any]) -> Any:
    """The tag names of each sentence (the official scorer's conll-like file)."""
    return [[task.label_names[t] for t in p] for p in predictions]




def evaluate(task: Task, ctx: EvalInputs, rows: dict[str, list[dict]]) -> Evaluated:
    return evaluate_each_language(task, ctx, rows, encode, predict, score, reliability)
