"""What each task type *is*, as data: the light half of a task type (no torch, no datasets).

A task type has two halves. This module holds the first, a ``TypeSpec`` per type: the phases that train it, how it is
evaluated, how a source row becomes a canonical row and how its label reads, its chance level, which recipe section
configures it, its batch keys and their padding values, and the per-task options it takes (``Task.options``). The
registry (``xstilts.tasks``), the row readers (``xstilts.rows``), the recipe checks, the sweep planner, the report and
the viewer read specs only, so none of them imports torch. The second half, the type's operations (head, forward,
encode, predict, evaluate), is a class in ``xstilts/tasktypes/<type>.py`` built for one task with its settings
(``xstilts.tasktypes.build``).

Adding a task type: one spec in ``SPECS`` below, one operations module, its ``register(Task(...))`` calls
(docs/ARCHITECTURE.md walks through the regression type).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from xstilts import rows


class TaskFacts(Protocol):
    """What a spec reads of a registered task (``xstilts.tasks.Task``, which imports this module: a protocol here
    keeps the import one way)."""

    name: str
    task_type: str
    label_names: tuple[str, ...]
    options: Any


Phase = Literal["phase1", "phase2", "phase3"]
TRAINING_PHASES: tuple[Phase, ...] = ("phase2", "phase3")


# ---- Per-task options of a type (``Task.options``) -----------------------------------------------------------------
@dataclass(frozen=True)
class NoOptions:
    """A type whose tasks differ only in data, labels and metric."""


@dataclass(frozen=True)
class ChoiceOptions:
    """Multiple choice: how many choices a row has (COPA 2, SIQA 3, HellaSwag 4)."""

    num_choices: int


@dataclass(frozen=True)
class SpanQaOptions:
    """Span QA: the answer normalisation of the official scorer (SQuAD v1.1, or MLQA's per-language one), and whether
    questions may have no answer (SQuAD v2.0: trained to point at CLS, decoded with a null-score threshold chosen on
    dev, scored with "" as the gold of unanswerable questions)."""

    eval_metric: Literal["squad", "mlqa"] = "squad"
    null_answers: bool = False


@dataclass(frozen=True)
class TaggingOptions:
    """Tagging: token accuracy reported beside F1 (UD-POS: the X-STILTs paper's number)."""

    token_accuracy: bool = False


@dataclass(frozen=True)
class RetrievalOptions:
    """Retrieval: parallel sentences mined from two whole corpora per language (BUCC), not looked up row by row."""

    mined: bool = False


Options = TypeVar("Options", NoOptions, ChoiceOptions, SpanQaOptions, TaggingOptions, RetrievalOptions)

# Batch keys: the feature keys a type's ``encode`` writes and how the collator pads them. ``PAD_ID`` is the
# tokenizer's padding id; a number pads with itself (a label key only where its rows hold one value per token); None:
# one value per row, never padded (a dual encoder's pair key). Keys not listed (the task id, a row's scalar label) are
# not padded either.
PAD_ID = "pad_id"
TEXT_KEYS: dict[str, int | str | None] = {"input_ids": PAD_ID, "attention_mask": 0, "token_type_ids": 0}
IGNORED = -100  # a label position the loss skips (sub-tokens, padding)


# ---- Chance levels (pure: the report, claims and viewer read them) -------------------------------------------------
def uniform_over_labels(task: TaskFacts, languages: dict[str, dict[str, float]], items: dict[str, Any] | None
                        ) -> float | None:
    """100 / classes: a uniform random guess."""
    return 100.0 / len(task.label_names) if task.label_names else None


def uniform_over_choices(task: TaskFacts, languages: dict[str, dict[str, float]], items: dict[str, Any] | None
                         ) -> float | None:
    """The mean over languages of the mean of 100 / choices of each row (XCOPA: 50); without rows, 100 / the task's
    number of choices."""
    if items is None:
        n = task.options.num_choices if isinstance(task.options, ChoiceOptions) else 0
        return 100.0 / n if n else None
    per_lang = [items[lang] for lang in languages if items.get(lang)]
    return sum(sum(100.0 / len(r["choices"]) for r in lr) / len(lr) for lr in per_lang) / len(per_lang) \
        if per_lang else None


def one_of_candidates(task: TaskFacts, languages: dict[str, dict[str, float]], items: dict[str, Any] | None
                      ) -> float | None:
    """Tatoeba: the mean over languages of 100 / candidates (each English query picks one of the language's ``n``
    sentences). BUCC: None (a tuned mining threshold has no closed-form chance)."""
    if isinstance(task.options, RetrievalOptions) and task.options.mined:
        return None
    sizes = [m["n"] for m in languages.values() if m.get("n")]
    return sum(100.0 / n for n in sizes) / len(sizes) if sizes else None


def undefined(task: TaskFacts, languages: dict[str, dict[str, float]], items: dict[str, Any] | None) -> float | None:
    """None: no closed-form chance (span F1, chunk F1, ranking metrics, a correlation is 0 by construction)."""
    return None


Chance = Callable[[TaskFacts, dict[str, dict[str, float]], "dict[str, Any] | None"], "float | None"]
RowShape = Callable[[dict, dict, rows.RowContext], list[dict]]
LabelReader = Callable[[Any, "dict[str, int] | None", str, "int | None"], Any]


@dataclass(frozen=True)
class TypeSpec(Generic[Options]):
    """The light facts of one task type (see the module docstring)."""

    name: str
    # The phases whose recipes may train a task of this type (retrieval: none; phase 2's mlm pseudo-task: phase 2).
    trained_in: tuple[Phase, ...]
    # The phases whose output folders an evaluation of this type reads (a trained head needs phase 3; retrieval reads
    # any encoder; the mlm pseudo-task is never evaluated).
    evaluated_from: tuple[Phase, ...]
    # What an evaluation loads: the model with its task heads, the bare encoder (retrieval), or nothing (mlm).
    eval_model: Literal["heads", "encoder"] | None
    row_shape: RowShape  # a source row (fields mapped, label read) -> canonical rows (``xstilts.rows``)
    read_label: LabelReader  # a raw label -> class id / score; None where the row has no gold label
    chance: Chance  # the chance level of a task, from its per-language metrics (and rows, where it depends on them)
    options: type[Options]  # the per-task options a ``Task`` of this type carries
    label_fields: tuple[str, ...] = ("labels",)  # the Trainer's label fields
    # batch key -> padding value (see ``PAD_ID``); the collator pads exactly these
    batch_keys: dict[str, int | str | None] = field(default_factory=lambda: dict(TEXT_KEYS))
    settings: str | None = None  # the recipe section bound to the type's operations when they are built (span QA: qa)
    min_length: int = 0  # the shortest train.max_length its inputs fit in; 0 where any length works
    # Whether its rows come through the registry's splits (``data.load_split``); retrieval, dual encoders and the mlm
    # pseudo-task read their own files (BUCC's folder, candidate sets, text lines) and say what is missing.
    split_rows: bool = True
    pooled: bool = False  # one search space over all languages: evaluated whole, not split over ranks
    # The transformers class a phase-3 final/ with this type's head loads with, and its pipeline tag (model card).
    hf_auto_class: str | None = None
    hf_pipeline_tag: str | None = None

    def options_of(self, task: TaskFacts) -> Options:
        """``task``'s options, typed as this type's (the registry checks every task's on ``register``)."""
        if not isinstance(task.options, self.options):
            raise TypeError(f"task {task.name}: options {task.options!r} are not {self.options.__name__}")
        return task.options


QA_MIN_LENGTH = 80  # span QA: 64 question tokens (qa.prepare_qa_features) + special tokens + a few context tokens

# One line per task type: the only table of types the light layers read.
SPECS: dict[str, TypeSpec[Any]] = {spec.name: spec for spec in (
    TypeSpec("classification", TRAINING_PHASES, ("phase3",), "heads", rows.classification_row, rows.class_label,
             uniform_over_labels, NoOptions, hf_auto_class="AutoModelForSequenceClassification",
             hf_pipeline_tag="text-classification"),
    TypeSpec("regression", TRAINING_PHASES, ("phase3",), "heads", rows.classification_row, rows.float_label,
             undefined, NoOptions, hf_auto_class="AutoModelForSequenceClassification",
             hf_pipeline_tag="text-classification"),
    TypeSpec("multiple_choice", TRAINING_PHASES, ("phase3",), "heads", rows.choice_row, rows.class_label,
             uniform_over_choices, ChoiceOptions, hf_auto_class="AutoModelForMultipleChoice"),
    TypeSpec("span_qa", TRAINING_PHASES, ("phase3",), "heads", rows.as_is, rows.class_label, undefined,
             SpanQaOptions, label_fields=("start_positions", "end_positions"), settings="qa",
             min_length=QA_MIN_LENGTH, hf_auto_class="AutoModelForQuestionAnswering",
             hf_pipeline_tag="question-answering"),
    TypeSpec("tagging", TRAINING_PHASES, ("phase3",), "heads", rows.tagging_row, rows.class_label,
             undefined, TaggingOptions, batch_keys={**TEXT_KEYS, "labels": IGNORED},
             hf_auto_class="AutoModelForTokenClassification", hf_pipeline_tag="token-classification"),
    TypeSpec("retrieval", (), ("phase1", "phase2", "phase3"), "encoder", rows.retrieval_row, rows.class_label,
             one_of_candidates, RetrievalOptions, settings="retrieval", split_rows=False),
    TypeSpec("dual_encoder", TRAINING_PHASES, ("phase3",), "heads", rows.dual_encoder_rows, rows.class_label,
             undefined, NoOptions, pooled=True, split_rows=False,
             batch_keys={**TEXT_KEYS, "candidate_input_ids": PAD_ID, "candidate_attention_mask": 0,
                         "candidate_token_type_ids": 0, "pair_key": None}),
    TypeSpec("mlm", ("phase2",), (), None, rows.as_is, rows.class_label, undefined, NoOptions, settings="mlm",
             split_rows=False, batch_keys={**TEXT_KEYS, "labels": IGNORED, "mlm_labels": IGNORED}),
)}
TypeName = Literal["classification", "regression", "multiple_choice", "span_qa", "tagging", "retrieval",
                   "dual_encoder", "mlm"]


def spec_of(task: TaskFacts) -> TypeSpec[Any]:
    """The spec of ``task``'s type."""
    return SPECS[task.task_type]


def chance(task: TaskFacts, languages: dict[str, dict[str, float]] | None = None,
           items: dict[str, Any] | None = None) -> float | None:
    """``task``'s chance level in percent, from its per-language metrics (and rows where it depends on them): what a
    cell must beat to count as learned."""
    return spec_of(task).chance(task, languages or {}, items)


HEADS_JSON = "heads.json"  # the task heads of a model folder: HeadSpec per head
HEADS_WEIGHTS = "heads.safetensors"  # their weights, "<task>.<parameter>"


@dataclass
class HeadSpec:
    """One task head of a model folder (``heads.json``, where the task type is stored under ``kind``: the file's
    format since the first release, kept so every folder written before still loads)."""

    task: str
    task_type: str  # classification, regression, multiple_choice, span_qa, tagging, dual_encoder, mlm
    num_labels: int  # classes (classification, tagging), 1 (multiple choice, regression), 2 (span QA), 0 (dual enc.)
    labels: list[str] | None = None  # label names where they are built at run time (CCG supertags), for decoding

    def to_json(self) -> dict[str, Any]:
        """The head as ``heads.json`` records it."""
        out: dict[str, Any] = {"task": self.task, "kind": self.task_type, "num_labels": self.num_labels}
        if self.labels is not None:
            out["labels"] = self.labels
        return out

    @classmethod
    def from_json(cls, record: Any) -> HeadSpec:
        """A head from its ``heads.json`` record.

        Raises:
            TypeError: not a mapping, or unknown or missing fields.
        """
        if not isinstance(record, dict):
            raise TypeError(f"a head is a JSON object, found {type(record).__name__}")
        fields = dict(record)
        if "kind" in fields:
            fields["task_type"] = fields.pop("kind")
        return cls(**fields)
