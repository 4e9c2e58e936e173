"""Code per task type: one module per type, and the one table every stage calls through (no stage branches on a
task's type).

Each module is plain functions and constants with the same names:

- ``LABEL_NAMES``, ``EVALUATED_FROM`` (the phases whose folders it evaluates), ``EVAL_MODEL`` ("heads": the model
  with its task heads; "encoder": the bare encoder), ``POOLED`` (one search space over all languages: not split
  over ranks);
- the model: ``head_spec(task, encoder)``, ``make_head(spec, hidden, dropout)``, ``init_head(model, task, folder)``,
  ``forward(encoder, head, batch)``;
- training: ``training_data(task, task_id, recipe, tokenizer)``, ``sampling_share(task, recipe)``, and the dev
  steps ``encode``, ``predict``, ``score``;
- evaluation: ``load_rows(task, cfg, lang, limit, notes)``, ``evaluate(task, inputs, rows)``, ``reliability``,
  ``chance``, ``export_payload``;
- export (the types whose head transformers has too): ``HF_AUTO_CLASS``, ``HF_PIPELINE_TAG``,
  ``hf_weights(head_state, hf_keys, prefix)`` (our head's weights in transformers' names), ``hf_logits(output)``.

``retrieval`` has no training (no head); ``mlm`` (phase 2's continued masked-LM pseudo-task) is never evaluated.
See docs/ARCHITECTURE.md for adding a task type.
"""
from __future__ import annotations

from types import ModuleType

from xstilts.tasks import Task
from xstilts.tasktypes import classification, dual_encoder, mlm, multiple_choice, retrieval, span_qa, tagging

TASK_TYPES: dict[str, ModuleType] = {
    "classification": classification,
    "multiple_choice": multiple_choice,
    "span_qa": span_qa,
    "tagging": tagging,
    "retrieval": retrieval,
    "dual_encoder": dual_encoder,
    "mlm": mlm,
}


def of(task: Task) -> ModuleType:
    """The module of ``task``'s type."""
    return TASK_TYPES[task.task_type]


def named(kind: str) -> ModuleType:
    """The module of the task type called ``kind`` (a head's recorded type)."""
    return TASK_TYPES[kind]
