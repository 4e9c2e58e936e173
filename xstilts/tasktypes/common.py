"""What every task type shares: head specs, model features, batching (the keys and padding values of the types'
specs), the prediction loop, dev sets and the standard training-data and evaluation steps that the row-based types
(``base.RowTaskType``) run through their own ``encode``/``predict``/``score``/``reliability``.

Batches are padded to the longest row, rounded up to a multiple (``train.pad_to_multiple_of``, 16 by default: few
distinct shapes for a GPU); training groups rows of similar length, evaluation sorts features by length so batches
carry little padding, and runs under ``torch.inference_mode``. Predictions are mapped back to the input order.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from xstilts import data
from xstilts.config import EvalRecipe
from xstilts.errors import DataError
from xstilts.reliability import LanguageFigures
from xstilts.tasks import Task
from xstilts.typespecs import PAD_ID, SPECS


@dataclass
class Encoded:
    """Model features of one split. A type whose predictions need more to be mapped back to its rows (span QA's and
    tagging's windows) encodes into a subclass with typed fields for it."""

    features: list[dict[str, Any]]


MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def model_inputs(enc: Any, i: int | None = None) -> dict[str, Any]:
    """The encoder inputs of a tokenizer output (of its ``i``-th row)."""
    return {k: (enc[k] if i is None else enc[k][i]) for k in MODEL_INPUTS if k in enc}


def with_class_loss(logits: torch.Tensor, labels: torch.Tensor | None) -> dict[str, Any]:
    """``logits`` plus, with ``labels``, their cross-entropy (label -100 ignored: sub-tokens, padding)."""
    out: dict[str, Any] = {}
    if labels is not None:
        ce = torch.nn.CrossEntropyLoss(ignore_index=-100)
        out["loss"] = ce(logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1))
    out["logits"] = logits
    return out


def check_class_labels(task: Task, rows: list[dict], classes: Callable[[dict], int | None]) -> None:
    """Every label a class id of the head: -1, None or an id beyond the head would crash training, or be scored as
    a wrong answer. The loaders map or drop such rows; this is the guard.

    Args:
        classes: the number of classes of a row (None: unknown, any non-negative id passes).

    Raises:
        DataError: naming the row and the valid ids.
    """
    for i, r in enumerate(rows):
        label, k = r.get("label"), classes(r)
        if not (isinstance(label, int) and not isinstance(label, bool) and (k is None or 0 <= label < k)):
            raise DataError(f"task {task.name}: row {i} has label {label!r}, not a class id 0..{(k or 0) - 1}; "
                            "rows without gold label must be dropped by the loader, never trained or scored")


def head_label_count(task: Task) -> int | None:
    """The classes of ``task``'s head: the registry's count, else the label set built from training data (CCG)."""
    return data.label_count(task) or len(task.label_names) or None


GPU_PAD_MULTIPLE = 16  # what train.pad_to_multiple_of=auto means on a CUDA GPU
# Evaluation's auto on a GPU: its batches are larger (eval_batch_size), so one spans more lengths; on the real XNLI
# lengths 256 rows padded to multiples of 8 give 6 shapes and 1.18x the real tokens, to 16: 4 shapes but 1.27x.
EVAL_GPU_PAD_MULTIPLE = 8


def pad_multiple(setting: int | str, device: torch.device | str, gpu: int = GPU_PAD_MULTIPLE) -> int:
    """The padding multiple a ``pad_to_multiple_of`` setting means on ``device``: ``auto`` is ``gpu`` on a CUDA GPU
    (few distinct shapes) and 1 elsewhere (on CPU time follows the tokens, and the numbers stay as they were)."""
    if setting == "auto":
        return gpu if torch.device(device).type == "cuda" else 1
    return int(setting)


EVAL_TOKENS_PER_BATCH = 32768  # what batch_size=auto fills on a CUDA GPU
EVAL_BATCH_RANGE = (64, 256)


def eval_batch_size(setting: int | str, device: torch.device | str, max_length: int, sequences_per_row: int = 1) -> int:
    """The evaluation batch an ``eval.batch_size`` setting means: ``auto`` is 64 on CPU (as before) and, on a CUDA
    GPU, as many rows as fit ``EVAL_TOKENS_PER_BATCH`` tokens at ``max_length`` (``sequences_per_row``: the choices
    of a multiple-choice row), within ``EVAL_BATCH_RANGE``."""
    if setting != "auto":
        return int(setting)
    low, high = EVAL_BATCH_RANGE
    if torch.device(device).type != "cuda":
        return low
    return max(low, min(high, EVAL_TOKENS_PER_BATCH // max(1, max_length * sequences_per_row)))


def padded_width(longest: int, multiple: int, cap: int | None = None) -> int:
    """The width a batch whose longest row has ``longest`` tokens is padded to: the next multiple of ``multiple``
    (1: ``longest`` itself), never beyond ``cap`` (the recipe's max_length, so position embeddings always suffice)
    unless the row itself is longer.

    Few distinct widths matter on a GPU: each new (batch, width) shape costs a one-time set-up (attention plans,
    GEMM heuristics, a compiled graph), and CUDA graphs need fixed shapes at all.
    """
    width = -(-longest // multiple) * multiple if multiple > 1 else longest
    return max(longest, min(width, cap)) if cap else width


def _pad(seqs: list[Any], value: int, multiple: int = 1, cap: int | None = None) -> torch.Tensor:
    if isinstance(seqs[0][0], list):  # multiple choice: [choices][tokens]
        width = padded_width(max(len(s) for choices in seqs for s in choices), multiple, cap)
        return torch.tensor([[s + [value] * (width - len(s)) for s in choices] for choices in seqs])
    width = padded_width(max(len(s) for s in seqs), multiple, cap)
    return torch.tensor([s + [value] * (width - len(s)) for s in seqs])


# The Trainer's label fields of every task type: what prediction leaves out of a batch (no loss is computed).
LABEL_FIELDS = frozenset(name for spec in SPECS.values() for name in spec.label_fields)
# Every batch key of every task type and its padding value (``TypeSpec.batch_keys``: one value per key across types).
PADDED_KEYS: dict[str, int | str | None] = {key: value for spec in SPECS.values()
                                            for key, value in spec.batch_keys.items()}


class Collator:
    """Padding of a list of features (any task type) into a batch of tensors: to the longest row of the batch, rounded
    up to ``pad_to_multiple_of`` (at most ``max_length``). The keys padded and their padding values are the task
    types' ``batch_keys`` (``PADDED_KEYS``); a label key holds one value per row for some types (a class id, a
    score) and is then a plain tensor, like every key not padded.

    ``task_id`` stays a Python int (all rows of a batch share one task): the multi-head model picks its head without
    reading a device tensor back, which would wait for the GPU every step and break a compiled graph.
    """

    def __init__(self, pad_token_id: int, pad_to_multiple_of: int = 1, max_length: int | None = None):
        self.pad_token_id = pad_token_id
        self.multiple = max(1, pad_to_multiple_of)
        self.max_length = max_length

    def __call__(self, batch: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        m, cap = self.multiple, self.max_length
        for key in batch[0]:
            values = [f[key] for f in batch]
            pad = PADDED_KEYS.get(key)
            if pad is not None and isinstance(values[0], list):
                out[key] = _pad(values, self.pad_token_id if pad == PAD_ID else int(pad), m, cap)
            elif key == "task_id":
                if any(v != values[0] for v in values):
                    raise ValueError(f"a batch mixes task ids {sorted(set(values))}; every batch must hold one task")
                out[key] = int(values[0])
            else:
                out[key] = torch.tensor(values)
        return out


def feature_length(f: dict[str, Any]) -> int:
    """Tokens of a feature (of its longest choice for multiple choice): the length batches are grouped by."""
    ids = f["input_ids"]
    return max(len(s) for s in ids) if ids and isinstance(ids[0], list) else len(ids)


def to_device(batch: dict[str, Any], device: torch.device | str) -> dict[str, Any]:
    """A collated batch on ``device``: tensors copied from pinned memory without waiting (on CUDA), so the host
    collates the next batch while the GPU works; other values (the task id) as they are."""
    if torch.device(device).type != "cuda":
        return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
    return {k: v.pin_memory().to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v
            for k, v in batch.items()}


@torch.inference_mode()
def predict_logits(model: torch.nn.Module, features: list[dict[str, Any]], collator: Collator, batch_size: int,
                   device: torch.device | str = "cpu") -> list[Any]:
    """Logits per feature, in input order, from length-sorted batches (less padding, same results).

    Nothing is read back per batch: the logits stay on the device and come back in one copy at the end, so the GPU
    never waits for the host between batches. Per-token logits are cut to each feature's real length.
    """
    model.eval()
    order = sorted(range(len(features)), key=lambda i: feature_length(features[i]))
    parts: list[torch.Tensor] = []
    rows: list[tuple[list[int], list[int], tuple[int, ...]]] = []  # (feature ids, real lengths, batch logits shape)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        batch = collator([{k: v for k, v in features[i].items() if k not in LABEL_FIELDS} for i in idx])
        lengths = batch["attention_mask"].sum(-1).tolist()  # read on the CPU: no wait for the GPU per example
        logits = model(**to_device(batch, device))["logits"].float()
        rows.append((idx, lengths, tuple(logits.shape)))
        parts.append(logits.reshape(-1))
    out: list[Any] = [None] * len(features)
    if not parts:
        return out
    flat = torch.cat(parts).cpu().numpy()  # the one device-to-host copy (and wait) of the whole prediction
    offset = 0
    for idx, lengths, shape in rows:
        size = 1
        for n in shape:
            size *= n
        logits = flat[offset:offset + size].reshape(shape)
        offset += size
        for j, i in enumerate(idx):
            out[i] = logits[j, :lengths[j]] if len(shape) == 3 else logits[j]
    return out


def hf_head_weights(head_state: dict[str, torch.Tensor], hf_keys: set[str],
                    layouts: list[dict[str, str]]) -> dict[str, torch.Tensor] | None:
    """A head's weights under the names of transformers' head of the same kind (the ``AutoModelFor...`` layout).

    Args:
        head_state: the head's ``state_dict`` (``<layer>.<parameter>``).
        hf_keys: the parameter names of the transformers model.
        layouts: our layer name -> transformers' layer name, one mapping per known layout of the head; the first
            whose names all exist in ``hf_keys`` is used.

    Returns:
        The renamed weights, or None where no layout fits (names alone do not prove the computation is the same:
        the caller compares outputs before saving).
    """
    for layout in layouts:
        renamed = {}
        for key, value in head_state.items():
            layer, _, param = key.partition(".")
            if layer in layout:
                renamed[f"{layout[layer]}.{param}"] = value
        if len(renamed) == len(head_state) and set(renamed) <= hf_keys:
            return renamed
    return None


def selection_score(task: Task, metrics: dict[str, float]) -> float:
    """The single dev number used for model selection (the task's main metric; QA: (EM + F1) / 2)."""
    if task.main_metric == "exact_match+f1":
        return (metrics["exact_match"] + metrics["f1"]) / 2
    return metrics[task.main_metric]


# ---- Training data (phases 2 and 3) --------------------------------------------------------------------------------
# ---- Evaluation (evaluate_xtreme.py) -------------------------------------------------------------------------------
@dataclass
class EvalInputs:
    """What a task type's evaluator works with besides the rows: the loaded model (a ``MultiHeadModel``, or the bare
    encoder for retrieval), its tokenizer and the evaluation recipe (the type's own settings are bound to it when it is
    built: ``evaluation.evaluated_type``)."""

    model: Any
    tokenizer: Any
    cfg: EvalRecipe
    max_length: int  # cfg.max_length, else the phase-3 train.max_length
    device: Any = "cpu"
    head: int = 0  # the head that predicts the task (a MultiHeadModel's task_id)


@dataclass
class Evaluated:
    """A task type's evaluation of some languages: metrics, predictions (in the submission layout's terms) and
    reliability figures per language, notes for the result, and how the task score is made where it is not the
    plain mean over languages (LAReQA: the micro mean over all questions, ``score``; its weights, ``weights``)."""

    languages: dict[str, dict[str, float]] = field(default_factory=dict)
    predictions: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, LanguageFigures] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    score: float | None = None
    weights: dict[str, float] | None = None


def load_dataset_rows(task: Task, cfg: EvalRecipe, lang: str, limit: int | None, notes: list[str]) -> list[dict]:
    """The canonical evaluation rows of one language (rows dropped for having no gold label named in ``notes``).

    Raises:
        DataMissing: the language's data is absent (the evaluation may skip it and mark the result partial).
    """
    return data.load_split(task, task.eval[cfg.split], cfg.data.source, lang, cfg.split, cfg.data.path, limit,
                           notes=notes)
