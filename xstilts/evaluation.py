"""Zero-shot evaluation of a trained model in every language of a task, into the one results schema."""
from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoTokenizer

from xstilts import __version__, data, distributed, preflight, provenance, submission, tasktypes
from xstilts.config import EvalRecipe, Phase2Recipe
from xstilts.errors import DataError, DataMissing, SplitAbsent
from xstilts.log import elapsed, grouped_by_reason, log
from xstilts.modelfolder import check_max_length
from xstilts.modeling import load_merged_encoder, load_model
from xstilts.reliability import LanguageFigures, items_to_json, mean_interval
from xstilts.results import RunInfo, TaskResult, average_metrics, task_score
from xstilts.tasks import Task, benchmark_languages
from xstilts.tasktypes.base import TaskType
from xstilts.tasktypes.common import EvalInputs


def mean_chance(per_language: dict[str, float | None]) -> float | None:
    """The task's chance score: the mean over languages of each language's (None where a language has none)."""
    values = list(per_language.values())
    if not values or any(v is None for v in values):
        return None
    return sum(values) / len(values)


def effective_precision(setting: str) -> str:
    """What evaluation's ``precision`` setting means on this machine: ``auto`` is bf16 on a CUDA GPU that supports it
    (about twice as fast as fp32, predictions nearly always the same) and fp32 elsewhere, so CPU numbers never
    change."""
    if setting == "auto":
        return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp32"
    return setting


def autocast_encoder(encoder: torch.nn.Module, precision: str) -> torch.nn.Module:
    """Makes the encoder's forward pass run under bf16 autocast (``precision="bf16"``; fp32: unchanged).

    Only the encoder: task heads, similarity search and mining stay in fp32 (each layer of the encoder ends in a
    LayerNorm, which autocast computes in fp32, so what leaves it is fp32). Autocast runs on the GPU when there is
    one, else on the CPU. Returns the same module.
    """
    if precision == "bf16":
        context = torch.autocast("cuda" if torch.cuda.is_available() else "cpu", dtype=torch.bfloat16)
        encoder.forward = context(encoder.forward)
    return encoder


def head_index(specs: list[Any], task: Task) -> int:
    """The head that predicts ``task`` (``preflight.head_for``, the rule ``xstilts validate`` applies too): its own,
    or the only head of the same kind trained on the same English data (an XQuAD-trained QA head also answers MLQA,
    as in XTREME)."""
    return preflight.head_for(specs, task)


def evaluated_type(task: Task, cfg: EvalRecipe, trained: Any) -> TaskType:
    """``task``'s operations with the settings it is evaluated under: a model with task heads under those of the
    training that made it (``trained``, the phase-3 recipe: span QA's windows and answer search as trained and
    selected; None: their defaults, enough to read rows), the bare encoder under the evaluation recipe's
    (retrieval's layer, pooling, search and BUCC files)."""
    return tasktypes.build(task, cfg if task.spec.eval_model == "encoder" else trained)


def load_evaluated(task: Task, checkpoint: Path, cfg: EvalRecipe, trained: Any, device: Any) -> EvalInputs:
    """The model as ``task``'s type evaluates it (with its task heads, or the bare encoder with a kept adapter merged),
    its tokenizer and settings; the encoder's forward pass under ``cfg.precision`` (heads and search stay fp32).

    ``trained`` is the typed recipe of the phase that made the model: a model with heads is evaluated at its
    ``train.max_length`` (unless the evaluation recipe's ``max_length`` says otherwise).

    Raises:
        ModelFolderError: the folder is not a loadable model; RecipeError: ``max_length`` exceeds its positions;
        KeyError: the model has no head for ``task``.
    """
    # The folder is checked (files, JSON, tokenizer, heads) by the loaders before anything else reads it.
    if task.spec.eval_model == "encoder":  # retrieval: sentences are cut at retrieval.max_length
        model = load_merged_encoder(checkpoint).to(device)
        autocast_encoder(model, effective_precision(cfg.precision))
        return EvalInputs(model, AutoTokenizer.from_pretrained(checkpoint), cfg, cfg.retrieval.max_length, device)
    model = load_model(checkpoint).to(device)
    max_length = cfg.max_length or trained.train.max_length
    check_max_length(checkpoint, max_length, "max_length" if cfg.max_length else "the phase-3 train.max_length")
    autocast_encoder(model.encoder, effective_precision(cfg.precision))
    return EvalInputs(model, AutoTokenizer.from_pretrained(checkpoint), cfg, max_length, device,
                      head_index(model.specs, task))


def load_eval_rows(task: Task, cfg: EvalRecipe, langs: list[str], explicit: bool, limit: int | None
                   ) -> tuple[dict[str, Any], list[str], dict[str, list[str]]]:
    """Each language's evaluation input (as the task type reads it), the languages whose data is absent, and each
    language's notes for the result.

    Only *absent* data (``DataMissing``: no file, not shipped) skips a language, and only where the languages were not
    asked for explicitly and the source is local; a malformed file or label is an error, never a skipped language.
    Rows dropped for having no gold label are named in the notes.
    """
    if cfg.split not in task.eval:
        raise DataError(f"task {task.name} has no {cfg.split!r} split; available: {', '.join(task.eval)}")
    rows, missing, notes, skipped = {}, [], {}, []
    task_type = evaluated_type(task, cfg, None)  # reading rows needs no training's settings
    for lang in langs:
        notes[lang] = []
        try:
            rows[lang] = task_type.load_rows(cfg, lang, limit, notes[lang])
        except DataMissing as exc:
            # A split the dataset does not have for this language (UD-POS kk validation) is missing whatever the
            # source; other absent data stops a Hub run or an explicit language list.
            if (explicit or cfg.data.source == "hub") and not isinstance(exc, SplitAbsent):
                raise
            missing.append(lang)
            notes[lang].append(f"{lang}: no data ({exc})")
            skipped.append((lang, str(exc)))
    # One line per cause, not per language: fifteen copies of "file not found" hide the line that differs.
    for group, reason in grouped_by_reason(skipped):
        log(f"warning: skipped {' '.join(group)} (no data; the result is marked partial): {reason}", every_rank=True)
    return rows, missing, notes


def export_predictions(task_type: TaskType, lang: str, rows: Any, predictions: Any, out_dir: str) -> None:
    """Writes one language's predictions in the official submission layout (``<dir>/<task>/test-<lang>.<ext>``); a
    task type without a submission file (LAReQA) writes nothing."""
    payload = task_type.export_payload(rows, predictions)
    if payload is not None:
        submission.write_predictions(task_type.task.name, lang, payload, out_dir)


@dataclass
class Share:
    """One rank's part of an evaluation, as rank 0 gathers it (predictions stay on the rank that exported them)."""

    languages: dict[str, dict[str, float]]  # lang -> metrics
    figures: dict[str, LanguageFigures]
    chance: dict[str, float | None]  # lang -> the score of a uniform random guess
    missing: list[str]  # languages without data
    notes: list[str]  # notes of the whole evaluation, and the evaluator's "<lang>: ..." notes
    language_notes: dict[str, list[str]]  # lang -> notes from loading its data
    score: float | None = None  # a task score that is not the mean over languages (LAReQA's micro mean)
    weights: dict[str, float] | None = None  # its weights per language


def combine(shares: list[Share], langs: list[str]) -> Share:
    """The ranks' shares as one, in the task's language order: the same result whatever the number of ranks.

    Notes: the general ones (each once, first seen first), then each language's (from loading its data, then the
    evaluator's notes that start with ``"<lang>: "``).
    """
    general = list(dict.fromkeys(n for s in shares for n in s.notes
                                 if not any(n.startswith(f"{lang}: ") for lang in langs)))
    per_lang = [n for lang in langs for s in shares for n in s.language_notes.get(lang, [])]
    evaluator = [n for lang in langs for s in shares for n in s.notes if n.startswith(f"{lang}: ")]
    return Share(
        languages=distributed.merge_in_order([s.languages for s in shares], langs),
        figures=distributed.merge_in_order([s.figures for s in shares], langs),
        chance=distributed.merge_in_order([s.chance for s in shares], langs),
        missing=[lang for lang in langs if any(lang in s.missing for s in shares)],
        notes=general + per_lang + evaluator, language_notes={},
        score=next((s.score for s in shares if s.score is not None), None),
        weights=next((s.weights for s in shares if s.weights is not None), None))


def stand_in_windows(chain_entries: list[dict[str, Any]], task: Task) -> list[tuple[float, int | None]]:
    """(holdout_fraction, selection rows) of each training phase in the chain that trained on ``task``'s own English
    validation split (``data.train_split=validation``, the stand-in where no training set is at hand)."""
    windows = []
    for entry in chain_entries:
        if entry["phase"] not in ("phase2", "phase3"):
            continue
        recipe = provenance.typed_recipe(entry)
        if recipe.data.train_split != "validation":
            continue
        names = recipe.tasks if isinstance(recipe, Phase2Recipe) else [recipe.task]
        if task.name in [recipe.data.train_task or name for name in names]:
            cap = data.selection_cap(task.dev_examples, recipe.train.dev_examples, recipe.data.max_eval_samples)
            windows.append((float(recipe.data.holdout_fraction), cap))
    return windows


def first_unseen_row(n: int, windows: list[tuple[float, int | None]]) -> int:
    """The first row of an ``n``-row validation split that no stand-in phase trained or selected on.

    A stand-in phase trains on rows ``[0, n - held_out)`` (at most) and selects on the first ``cap`` rows of the
    held-out rest (``held_out = max(1, int(n * holdout_fraction))``, as the training phases split it), so rows from
    ``n - held_out + cap`` on were never seen, in English or, for translated benchmarks (XNLI, PAWS-X), in any
    other language. The same index for every run with the same settings, so compared runs share the rows.
    """
    start = 0
    for fraction, cap in windows:
        held_out = max(1, int(n * fraction))
        start = max(start, n - held_out + (held_out if cap is None else min(cap, held_out)))
    return start


def drop_seen_rows(rows: dict[str, list[dict]], windows: list[tuple[float, int | None]], limit: int | None
                   ) -> tuple[dict[str, list[dict]], str]:
    """Each language's rows without those whose English versions trained or selected the model, then the first
    ``limit``; and the note that says so in the result.

    Raises:
        DataError: no row is left (every held-out row selected the model).
    """
    out, spans = {}, set()
    for lang, lang_rows in rows.items():
        start = first_unseen_row(len(lang_rows), windows)
        out[lang] = lang_rows[start:][:limit] if limit else lang_rows[start:]
        if not out[lang]:
            raise DataError(f"{lang}: all {len(lang_rows)} validation rows trained or selected the model "
                            "(data.train_split=validation in its chain): retrain with a smaller "
                            "train.dev_examples or a larger data.holdout_fraction, or evaluate on split=test")
        spans.add((start, start + len(out[lang])))
    where = ", ".join(f"{a}-{b - 1}" for a, b in sorted(spans))
    return out, (f"stand-in training: the English validation split trained and selected the model, so only rows "
                 f"never used (index {where} of each language's file) are evaluated, here and for translated "
                 f"benchmarks in every language")


def missing_languages(task: Task, scored: Iterable[str], benchmark: str = "xtreme") -> list[str]:
    """The languages of ``task`` in ``benchmark``'s language set that have no score, in the registry's order."""
    have = set(scored)
    return [lang for lang in benchmark_languages(task, benchmark) if lang not in have]


def build_result(task: Task, languages: dict[str, dict[str, float]], missing: list[str], split: str, source: str,
                 checkpoint: Path, run_folder: Path, notes: list[str], benchmark: str = "xtreme",
                 reliability: dict[str, LanguageFigures] | None = None, chance: float | None = None,
                 score_weights: dict[str, float] | None = None,
                 scored: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None = None) -> TaskResult:
    """The result of one task. It is partial whenever a language of the task's ``benchmark`` set has no score,
    whatever left it out (``languages=``, absent data in ``missing``, a rank that returned nothing): the missing
    languages are named, and a partial result never counts towards a benchmark score (``results.benchmark_scores``).

    ``reliability`` (lang -> figures) fills ``reliability`` and ``score_ci95``: the interval of the mean over
    languages of their bootstrap replicates (``score_weights``: lang -> weight where the score is a weighted mean,
    LAReQA's micro average), null when a language has no interval. ``chance`` is written as given.

    ``scored``: ``provenance.scored_chain(run_folder)`` as read when the evaluation started: the chain recorded is
    that one, checked unchanged now (``RunFolderError`` otherwise); None reads the chain now.
    """
    if scored is not None:
        chain = scored[0]
        provenance.check_scored(run_folder, scored[1])
    else:
        chain = provenance.chain(run_folder, relative_to=Path.cwd())  # no folder of this machine in the result
    average = average_metrics(languages)
    absent = missing_languages(task, languages, benchmark)
    unscored = [lang for lang in missing if lang not in absent and lang not in languages]  # outside the set
    left_out = [lang for lang in absent if lang not in missing]
    if left_out:
        notes = [*notes, f"not evaluated: {' '.join(left_out)} (languages= chose a subset of the {benchmark} set, "
                         "or no score came back): the result is partial and its average is not the task score"]
    reliability = {lang: reliability[lang] for lang in languages if lang in reliability} if reliability else {}
    score_ci95 = mean_interval({lang: fig.replicates for lang, fig in reliability.items()}, score_weights) \
        if reliability and len(reliability) == len(languages) else None
    return TaskResult(
        task=task.name, task_type=task.task_type, split=split, data_source=source, main_metric=task.main_metric,
        languages=languages, average=average, score=task_score(task.main_metric, average),
        missing_languages=absent + unscored, partial=bool(absent or unscored),
        checkpoint=provenance.shown_path(checkpoint),
        run=RunInfo(**provenance.run_info(chain, task.name)), chain=chain,
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"), version=__version__, notes=notes,
        environment=provenance.environment(), wall_time_s=elapsed(),
        reliability={lang: fig.to_json() for lang, fig in reliability.items()}, score_ci95=score_ci95, chance=chance,
        # every language or none: a difference redraws all of a cell's languages from them
        items={lang: items_to_json(fig.per_example) for lang, fig in reliability.items()}
        if score_ci95 is not None and all(fig.per_example is not None for fig in reliability.values()) else {},
    )
