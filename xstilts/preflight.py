"""The checks an evaluation makes before any model or data is loaded, shared by ``evaluate_xtreme.py`` and
``xstilts validate evaluate``: one definition, so validate answers ok exactly when the script would start.

Checked: the input run (finished, of a phase the task can be evaluated from, its chain intact and every recipe of it
readable by this version), the data source inherited from the run, the task and its languages, the output folder and
the result file (refused when it exists, unless ``overwrite=true``), and the ``export_predictions`` folder; then
(``check_model``, which imports transformers) the model folder, and that the longest input the evaluation feeds the
encoder fits its position embeddings.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xstilts import provenance, recipe, runfiles
from xstilts.config import EvalRecipe, inherit_data_source
from xstilts.tasks import Task, check_languages, get_task


@dataclass
class Evaluation:
    """What an evaluation will do, once its recipe and input passed the checks."""

    cfg: EvalRecipe
    run_folder: Path
    phase: str
    chain: list[dict[str, Any]]  # the evaluated run's chain of recipes (provenance.chain)
    trained: Any  # the typed recipe that made the evaluated model
    inherited: str | None  # the log line saying which data keys came from the run (None: none)
    task: Task
    languages: list[str]
    out_file: Path


def check_evaluation(raw: dict, source: str) -> Evaluation:
    """Checks an evaluation recipe (its raw mapping and where it came from) as the script does before loading anything.

    Raises:
        RecipeError, RunFolderError, KeyError: the first problem, as the script reports it.
    """
    cfg = recipe.build(EvalRecipe, raw, source)
    run_folder, phase = provenance.check_input(cfg.input, ("phase1", "phase2", "phase3"), "evaluation")
    run_chain = provenance.chain(run_folder)
    # Every recipe of the chain read back typed now, so one this version cannot read fails before any work.
    trained = [provenance.typed_recipe(entry) for entry in run_chain][0]  # the recipe that made the evaluated model
    raw, inherited = inherit_data_source(raw, trained)
    cfg = recipe.build(EvalRecipe, raw, source)
    task = get_task(cfg.task or getattr(trained, "task", ""))
    langs = check_languages(task, cfg.languages, cfg.benchmark) if task.languages else []
    check_evaluated_from(task, phase, run_folder)
    out_file = runfiles.check_output_location(cfg.output, [run_folder], inside_ok=True) / f"{task.name}.json"
    if cfg.export_predictions:
        runfiles.check_output_location(cfg.export_predictions, [run_folder], "export_predictions", inside_ok=True)
    runfiles.check_result_file(out_file, cfg.overwrite)
    return Evaluation(cfg, run_folder, phase, run_chain, trained, inherited, task, langs, out_file)


def check_evaluated_from(task: Task, phase: str, run_folder: Path) -> None:
    """Refuses a task without zero-shot evaluation, or a run of a phase the task cannot be evaluated from.

    Imports the task types (and with them torch) only here: the recipe checks above answer before it.
    """
    from xstilts import tasktypes

    allowed = tasktypes.of(task).EVALUATED_FROM
    if not allowed:
        raise KeyError(f"task {task.name} has no zero-shot evaluation (its English dev score in metrics.json selected "
                       "the model); give a benchmark task with task=<name>")
    if phase not in allowed:
        needs = " or ".join(p.replace("phase", "phase-") for p in allowed)
        raise runfiles.RunFolderError(f"input {run_folder} is a {phase} folder; {task.name} needs a {needs} model "
                                      "(only retrieval tasks are evaluated on phase-1/2 encoders)")


def check_model(plan: Evaluation) -> Path:
    """Checks the evaluated model folder before any data is read; returns it.

    The longest input the evaluation feeds the encoder must fit its position embeddings (``retrieval.max_length``
    for BUCC and Tatoeba, ``max_length`` otherwise): beyond them the forward pass fails with an index error at the
    first long sentence.

    Raises:
        ModelFolderError, RecipeError: naming the file or the key, its value and the encoder's limit.
    """
    from xstilts.modeling import check_model_folder

    cfg = plan.cfg
    length, key = (cfg.retrieval.max_length, "retrieval.max_length") if plan.task.kind == "retrieval" \
        else (cfg.max_length, "max_length")
    return check_model_folder(provenance.model_dir(plan.run_folder), "model folder", max_length=length,
                              length_key=key)
