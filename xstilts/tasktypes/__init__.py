"""The heavy half of each task type: its operations (head, forward, encode, predict, evaluate) as one class per type
behind one typed interface (``xstilts.tasktypes.base.TaskType``), and the one table every stage calls through (no
stage branches on a task's type). The light half, what a type *is* (phases, evaluation model, pooling, chance,
settings section, batch keys), is its ``spec`` (``xstilts.typespecs``).

- ``build(task, recipe)``: the operations for one task, with the recipe section its spec names bound (span QA's
  ``qa``, retrieval's ``retrieval``, mlm's ``mlm``); nothing else receives it.
- ``named(task_type)``: the class of a type, for what a model folder needs without a task (a head rebuilt from
  ``heads.json``, its forward pass, its transformers export: static methods).

See docs/ARCHITECTURE.md for adding a task type.
"""
from __future__ import annotations

from typing import Any

from xstilts.tasks import Task
from xstilts.tasktypes.base import TaskType
from xstilts.tasktypes.classification import Classification
from xstilts.tasktypes.dual_encoder import DualEncoder
from xstilts.tasktypes.mlm import Mlm
from xstilts.tasktypes.multiple_choice import MultipleChoice
from xstilts.tasktypes.regression import Regression
from xstilts.tasktypes.retrieval import Retrieval
from xstilts.tasktypes.span_qa import SpanQa
from xstilts.tasktypes.tagging import Tagging

# One line per task type: its name (``typespecs.SPECS``) -> its operations.
TASK_TYPES: dict[str, type[TaskType]] = {
    "classification": Classification,
    "regression": Regression,
    "multiple_choice": MultipleChoice,
    "span_qa": SpanQa,
    "tagging": Tagging,
    "retrieval": Retrieval,
    "dual_encoder": DualEncoder,
    "mlm": Mlm,
}


def build(task: Task, recipe: Any = None) -> TaskType:
    """``task``'s operations with the section of ``recipe`` its type's spec names (``spec.settings``) bound.

    Args:
        recipe: the recipe whose settings the type runs with (a phase recipe while training; at evaluation the one
            ``evaluation.evaluated_type`` picks); None: the section's defaults (heads, reading rows, tests).
    """
    cls = named(task.task_type)
    section = cls.spec.settings
    if section is None:
        return cls(task)
    return cls(task, getattr(recipe, section) if recipe is not None else None)  # type: ignore[call-arg]


def named(task_type: str) -> type[TaskType]:
    """The operations class of the task type called ``task_type`` (a head's recorded type)."""
    return TASK_TYPES[task_type]
