"""The operations every task type offers the stages, as one typed interface (``TaskType``), and the standard steps of
the types whose tasks are rows of a dataset scored language by language (``RowTaskType``).

A task type's operations are a class built for one task with the recipe section its spec names bound at
construction (``xstilts.tasktypes.build``): span QA gets its ``QaConfig``, retrieval its ``RetrievalConfig``, the mlm
pseudo-task its ``MlmConfig``, and no type receives another's settings. What a model folder needs without a task (a
head rebuilt from ``heads.json``, its forward pass, its transformers export) are static methods, called on the class
(``xstilts.tasktypes.named``). The light facts (phases, evaluation model, pooling, chance, transformers class) are
the class's ``spec`` (``xstilts.typespecs``), never repeated here.

A type the spec rules out of a phase says so when asked (``unsupported``): retrieval trains nothing and has no head;
the mlm pseudo-task is never evaluated. The stages read the spec first and never ask.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn, Protocol, runtime_checkable

import torch
from torch import nn

from xstilts import data
from xstilts.config import EvalRecipe
from xstilts.log import language_line, log
from xstilts.reliability import LanguageFigures
from xstilts.tasks import Task, get_task
from xstilts.tasktypes.common import (
    EVAL_GPU_PAD_MULTIPLE,
    Collator,
    Encoded,
    EvalInputs,
    Evaluated,
    eval_batch_size,
    load_dataset_rows,
    pad_multiple,
    predict_logits,
)
from xstilts.typespecs import HeadSpec
from xstilts.typespecs import TypeSpec

Feature = dict[str, Any]  # one model input: token ids, masks, labels, task_id (``encode``)
Batch = dict[str, Any]  # collated features: tensors, and task_id as a Python int (``common.Collator``)


@dataclass
class DevSet:
    """A task's English dev rows and their features, with the task type (its settings bound, as in training) that
    predicts and scores them: what model selection scores during training."""

    task_type: TaskType
    rows: list[dict]
    encoded: Encoded

    @property
    def task(self) -> Task:
        return self.task_type.task


@runtime_checkable
class TaskType(Protocol):
    """What the stages call on a task type, built for one task (``xstilts.tasktypes.build``)."""

    spec: ClassVar[TypeSpec[Any]]  # the light facts of the type (``typespecs.SPECS[name]``)
    task: Task

    # ---- the model ----
    def head_spec(self, encoder: nn.Module) -> HeadSpec:
        """The head this task trains on ``encoder`` (recorded in ``heads.json``)."""
        ...

    @staticmethod
    def make_head(spec: HeadSpec, hidden: int, dropout: float) -> nn.Module:
        """A fresh head of ``spec`` on ``hidden``-wide representations."""
        ...

    def init_head(self, model: nn.Module, folder: Any) -> str | None:
        """Loads this task's head weights from ``folder`` where the type keeps them (the mlm head of a checkpoint);
        a log line saying where they came from, or None where the head starts fresh."""
        ...

    @staticmethod
    def forward(encoder: nn.Module, head: nn.Module, batch: Batch) -> dict[str, Any]:
        """``logits`` of a batch, and ``loss`` where it carries labels."""
        ...

    # ---- training (phases 2 and 3) ----
    def training_data(self, task_id: int, recipe: Any, tokenizer: Any) -> tuple[list[Feature], DevSet]:
        """Training features and the English dev set that selects the model (``recipe``: the phase's)."""
        ...

    def sampling_share(self) -> float | None:
        """The fixed share of the optimizer steps the task is drawn for; None: as the sampler says."""
        ...

    # ---- dev steps (model selection) and evaluation's per-language steps ----
    def encode(self, rows: list[dict], tokenizer: Any, max_length: int, task_id: int = 0,
               train: bool = True) -> Encoded:
        """Model features of canonical rows (with what ``predict`` needs to map predictions back to rows)."""
        ...

    def predict(self, rows: list[dict], encoded: Encoded, logits: list[Any]) -> list[Any]:
        """A prediction per row from the logits of each feature."""
        ...

    def score(self, rows: list[dict], predictions: list[Any], lang: str) -> dict[str, float]:
        """The metrics of one language's predictions (``n``: the rows scored)."""
        ...

    def reliability(self, rows: list[dict], predictions: list[Any], lang: str) -> LanguageFigures:
        """One language's reliability figures (bootstrap, class balance, top-prediction share)."""
        ...

    # ---- evaluation (evaluate_xtreme.py) ----
    def load_rows(self, cfg: EvalRecipe, lang: str, limit: int | None, notes: list[str]) -> Any:
        """One language's evaluation input (rows dropped for having no gold label named in ``notes``)."""
        ...

    def evaluate(self, inputs: EvalInputs, rows: dict[str, Any]) -> Evaluated:
        """Metrics, predictions and figures of every language of ``rows``."""
        ...

    def export_payload(self, rows: Any, predictions: Any) -> Any:
        """One language's predictions in the official submission layout; None where the task has no file."""
        ...

    # ---- transformers export (a phase-3 ``final/``, ``spec.hf_auto_class``) ----
    @staticmethod
    def hf_weights(head_state: dict[str, torch.Tensor], hf_keys: set[str], prefix: str
                   ) -> dict[str, torch.Tensor] | None:
        """Our head's weights under transformers' names; None where no layout of its head fits."""
        ...

    @staticmethod
    def hf_logits(output: Any) -> torch.Tensor:
        """A transformers head's output as our head's logits."""
        ...


def unsupported(spec: TypeSpec[Any], what: str) -> NoReturn:
    """The error of an operation ``spec``'s type does not have (the stages read the spec and never call it)."""
    trained = ", ".join(spec.trained_in) or "no phase"
    evaluated = ", ".join(spec.evaluated_from) or "never"
    raise TypeError(f"task type {spec.name} has no {what} (trained in: {trained}; evaluated from: {evaluated})")


# ---- The standard steps of the row-based types (RowTaskType) ----------------------------------------------------
def rows_training_data(task_type: TaskType, task_id: int, recipe: Any, tokenizer: Any
                       ) -> tuple[list[dict[str, Any]], DevSet]:
    """Training features and the English dev set (capped for periodic selection) of one task with canonical rows.

    ``data.train_task`` takes the English data of another task of the same kind (XQuAD trained on TyDiQA-GoldP
    English); ``data.train_split=validation`` makes the English dev split stand in for a training set that is not at
    hand, holding out its last ``holdout_fraction`` for selection.

    Args:
        task_type: the task's type, built with the phase's settings: it encodes the rows.
        recipe: the phase recipe (its ``data`` and ``train`` sections).
    """
    task = task_type.task
    data_cfg, train_cfg = recipe.data, recipe.train
    source = get_task(data_cfg.train_task) if data_cfg.train_task else task
    dev_cap = data.selection_cap(source.dev_examples, train_cfg.dev_examples, data_cfg.max_eval_samples)
    if data_cfg.train_split == "validation" or data_cfg.selection == "holdout":
        # No separate English dev set at hand: the last holdout_fraction of the rows selects the model, the rest
        # trains it (held out before max_train_samples cuts, so the held-out rows never leak into training).
        stand_in = data_cfg.train_split == "validation"
        rows = (data.load_dev(source, data_cfg.source, data_cfg.path) if stand_in
                else data.load_train(source, data_cfg.source, data_cfg.path))
        n_dev = max(1, int(len(rows) * data_cfg.holdout_fraction))
        train_rows, dev_rows = rows[:-n_dev], rows[-n_dev:][:dev_cap]
        if data_cfg.max_train_samples:
            train_rows = train_rows[: data_cfg.max_train_samples]
        what = "the English dev split stands in as training data" if stand_in else "English training data"
        log(f"{source.name}: {what} ({len(train_rows)} rows); {len(dev_rows)} held-out rows of it select the model")
    else:
        train_rows = data.load_train(source, data_cfg.source, data_cfg.path, data_cfg.max_train_samples)
        dev_rows = data.load_dev(source, data_cfg.source, data_cfg.path, dev_cap)
    if data_cfg.translated_languages:  # alternative (ii): translated training data beside the English rows
        train_rows = [{**r, "lang": source.train_language} for r in train_rows]
        translated = data.load_translated(source, data_cfg.translated_path or data_cfg.path,
                                          data_cfg.translated_languages, data_cfg.max_train_samples)
        counts = {lang: sum(r["lang"] == lang for r in translated) for lang in data_cfg.translated_languages}
        log(f"{source.name}: translated training rows added: " + ", ".join(f"{lang} {n}" for lang, n in counts.items()))
        train_rows = train_rows + translated
    train_enc = task_type.encode(train_rows, tokenizer, train_cfg.max_length, task_id=task_id, train=True)
    dev_enc = task_type.encode(dev_rows, tokenizer, train_cfg.max_length, task_id=task_id, train=False)
    log(f"{task.name}: {len(train_rows)} training examples ({len(train_enc.features)} features), "
        f"{len(dev_rows)} English dev examples for selection")
    return train_enc.features, DevSet(task_type, dev_rows, dev_enc)


def evaluate_each_language(task_type: TaskType, inputs: EvalInputs, rows: dict[str, list[dict]]) -> Evaluated:
    """The classifier-like evaluator: each language's rows through the task head, scored on their own."""
    out = Evaluated()
    task = task_type.task
    collator = Collator(inputs.tokenizer.pad_token_id,
                        pad_multiple(inputs.cfg.pad_to_multiple_of, inputs.device, EVAL_GPU_PAD_MULTIPLE),
                        inputs.max_length)
    for i, (lang, lang_rows) in enumerate(rows.items(), start=1):
        start = time.time()
        enc = task_type.encode(lang_rows, inputs.tokenizer, inputs.max_length, task_id=inputs.head, train=False)
        ids = enc.features[0]["input_ids"] if enc.features else []
        per_row = len(ids) if ids and isinstance(ids[0], list) else 1  # multiple choice: one sequence per choice
        batch = eval_batch_size(inputs.cfg.batch_size, inputs.device, inputs.max_length, per_row)
        logits = predict_logits(inputs.model, enc.features, collator, batch, inputs.device)
        preds = task_type.predict(lang_rows, enc, logits)
        out.languages[lang] = task_type.score(lang_rows, preds, lang)
        out.predictions[lang] = preds
        out.figures[lang] = task_type.reliability(lang_rows, preds, lang)
        log(language_line(task.name, lang, i, len(rows), out.languages[lang], len(lang_rows), time.time() - start),
            every_rank=True)
    return out


class RowTaskType:
    """The standard steps of a type whose tasks are canonical rows of a dataset, trained with a fresh head and scored
    language by language through it (classification, regression, multiple choice, span QA, tagging). A subclass
    gives ``spec``, the head (``head_spec``, ``make_head``, ``forward``, ``hf_weights``) and the per-language steps
    (``encode``, ``predict``, ``score``, ``reliability``, ``export_payload``)."""

    spec: ClassVar[TypeSpec[Any]]

    def __init__(self, task: Task):
        self.task = task

    def init_head(self, model: nn.Module, folder: Any) -> str | None:
        """None: the head always starts fresh."""
        return None

    def sampling_share(self) -> float | None:
        """None: drawn as the sampler says."""
        return None

    def training_data(self, task_id: int, recipe: Any, tokenizer: Any) -> tuple[list[Feature], DevSet]:
        return rows_training_data(self, task_id, recipe, tokenizer)

    def load_rows(self, cfg: EvalRecipe, lang: str, limit: int | None, notes: list[str]) -> Any:
        return load_dataset_rows(self.task, cfg, lang, limit, notes)

    def evaluate(self, inputs: EvalInputs, rows: dict[str, Any]) -> Evaluated:
        return evaluate_each_language(self, inputs, rows)

    @staticmethod
    def hf_logits(output: Any) -> torch.Tensor:
        """transformers' ``logits`` are our head's (classification, multiple choice, tagging)."""
        return output.logits
