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

from typing import Any, ClassVar, NoReturn, Protocol, runtime_checkable

import torch
from torch import nn

from xstilts.config import EvalRecipe
from xstilts.reliability import LanguageFigures
from xstilts.tasks import Task
from xstilts.tasktypes.common import (
    DevSet,
    Encoded,
    EvalInputs,
    Evaluated,
    HeadSpec,
    evaluate_each_language,
    load_dataset_rows,
    rows_training_data,
)
from xstilts.typespecs import TypeSpec

Feature = dict[str, Any]  # one model input: token ids, masks, labels, task_id (``encode``)
Batch = dict[str, Any]  # collated features: tensors, and task_id as a Python int (``common.Collator``)


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
