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

from xstilts import families, provenance, recipe, runfiles
from xstilts.config import EvalRecipe, inherit_data_source
from xstilts.errors import XstiltsError
from xstilts.modelfolder import check_model_folder, read_head_specs
from xstilts.tasks import TASKS, Task, check_languages, get_task


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
    if cfg.split not in task.eval:  # the evaluation's own check, before any model or data is loaded
        if not task.eval:
            raise KeyError(f"task {task.name} has no evaluation data in other languages (an English training task); "
                           f"evaluate a target task with task=<name>, e.g. task=xnli")
        raise KeyError(f"task {task.name} has no {cfg.split!r} split; its splits: {', '.join(task.eval)}")
    check_source(task, cfg.split, cfg.data.source)
    out_file = runfiles.check_output_location(cfg.output, [run_folder], inside_ok=True) / f"{task.name}.json"
    if cfg.export_predictions:
        runfiles.check_output_location(cfg.export_predictions, [run_folder], "export_predictions", inside_ok=True)
    runfiles.check_result_file(out_file, cfg.overwrite)
    return Evaluation(cfg, run_folder, phase, run_chain, trained, inherited, task, langs, out_file)


def evaluated_from(task: Task) -> tuple[str, ...]:
    """The phases whose folders ``task`` is evaluated from (its type's spec): a task no phase trains embeds with any
    encoder; one phase 3 trains needs its trained head; one only phase 2 trains (a pseudo-task) has no zero-shot
    evaluation."""
    return task.spec.evaluated_from


def check_evaluated_from(task: Task, phase: str, run_folder: Path) -> None:
    """Refuses a task without zero-shot evaluation, or a run of a phase the task cannot be evaluated from."""
    allowed = evaluated_from(task)
    if not allowed:
        raise KeyError(f"task {task.name} has no zero-shot evaluation (its English dev score in metrics.json selected "
                       "the model); give a benchmark task with task=<name>")
    if phase not in allowed:
        needs = " or ".join(p.replace("phase", "phase-") for p in allowed)
        raise runfiles.RunFolderError(f"input {run_folder} is a {phase} folder; {task.name} needs a {needs} model "
                                      "(only retrieval tasks are evaluated on phase-1/2 encoders)")


def check_source(task: Task, split: str, source: str) -> None:
    """Refuses a ``data.source`` that has no layout for the task's evaluation split at all (SIB-200 from the embedded
    quickstart data, MasakhaNER from the XTREME folder): every language would be skipped as missing, after the model
    loaded, in an error listing them all.

    Raises:
        RecipeError: naming the source and the sources that have the split.
    """
    if not task.spec.split_rows:  # retrieval and dual encoders read their own files and name what is missing
        return
    where = task.eval[split]
    have = {"hub": where.hub, "xtreme": where.local, "embedded": where.embedded}
    if source in have and have[source] is None:
        others = " or ".join(f"data.source={name}" for name, layout in have.items() if layout is not None)
        why = ("the offline quickstart data covers a few tasks" if source == "embedded" else
               "the XTREME download holds only its own tasks" if source == "xtreme" else "it is not on the Hub")
        raise recipe.RecipeError([f"data.source={source}: task {task.name} has no {split} data there ({why}); use "
                                  f"{others}"])


def trained_tasks(cfg: Any) -> list[str]:
    """The tasks whose English data a phase-2 or phase-3 recipe trains on (``data.train_task`` in place of each)."""
    names = [str(t) for t in cfg.tasks] if hasattr(cfg, "tasks") else [cfg.task]
    return [getattr(cfg.data, "train_task", None) or name for name in names]


def check_training_sources(cfg: Any) -> None:
    """Refuses a ``data.source`` without the English data a phase-2 or phase-3 recipe trains on (SIB-200 from the
    embedded quickstart data): the script would make its output folder, load the model, then stop at the data.
    The splits read are those ``tasktypes.base.rows_training_data`` reads: the dev split alone standing in
    (``data.train_split=validation``), the training split alone (``data.selection=holdout``), else both.

    Raises:
        RecipeError: one problem per task, naming the sources that have its data.
    """
    data_cfg, problems = cfg.data, []
    source = data_cfg.source
    for name in trained_tasks(cfg):
        task = TASKS.get(name)
        if task is None or not task.spec.split_rows:  # unknown: the recipe check names it; mlm reads text lines
            continue
        dev = [("dev", task.dev)]
        train = [("train", s) for s in task.train]
        roles = dev if data_cfg.train_split == "validation" else train if data_cfg.selection == "holdout" \
            else train + dev
        for role, split in roles:
            if split is None or (split.local is not None and split.local.format == "ccg_auto"):
                continue  # CCGbank is read from its local files whatever data.source says
            have = {"hub": split.hub, "xtreme": split.local, "embedded": split.embedded}
            if source in have and have[source] is None:
                others = " or ".join(f"data.source={k}" for k, layout in have.items() if layout is not None)
                problems.append(f"data.source={source}: task {name} has no English {role} data there; use {others}")
                break
    if problems:
        raise recipe.RecipeError(problems)


def head_for(specs: list[Any], task: Task) -> int:
    """The index of the head (``HeadSpec``) that predicts ``task``: its own, or the only head of the same kind that
    was trained on the same English data as the registry's ``task`` (a SQuAD-trained XQuAD head answers MLQA, as in
    XTREME; a RACE head answers Belebele; a PAN-X head tags MasakhaNER). A head of another task of the same kind (an
    XNLI head for SIB-200 or PAWS-X) is refused: its classes are other classes, and its scores would look like results.

    Raises:
        KeyError: no such head, naming the heads the model has.
    """
    for i, spec in enumerate(specs):
        if spec.task == task.name:
            return i
    # ... and never one with more classes than the task names (a MasakhaNER head's DATE tags scoring PAN-X).
    classes = len(task.label_names) or None  # classification and tagging: their named classes
    same = [i for i, spec in enumerate(specs) if spec.task_type == task.task_type and spec.task in TASKS and task.train
            and TASKS[spec.task].train == task.train
            and (classes is None or getattr(spec, "num_labels", None) is None or spec.num_labels <= classes)]
    if len(same) == 1:
        return same[0]
    heads = ", ".join(f"{s.task} ({s.task_type})" for s in specs) or "none"
    raise KeyError(f"the model has no head for {task.name} ({task.task_type}); its heads: {heads}. A head trained on "
                   f"another task's data does not measure {task.name}: evaluate a model trained for it (phase 3 "
                   f"with task={task.name})")


def check_training_precision(model_folder: str | Path, precision: str, attention: str | None = None) -> None:
    """Refuses a ``train.precision`` the encoder's family cannot train in (``families.precision_problem``: mDeBERTa-v3
    under fp16), and a ``train.attn_implementation`` transformers lacks for it (``Family.attention``), read from the
    model folder's config.json, so the script refuses it before it tokenizes anything and
    ``xstilts validate`` says what the script will say. A folder whose config cannot be read is left to the model-folder
    check, which names the problem.

    Raises:
        RecipeError: naming the precision, why, and the precisions that train.
    """
    try:
        model_type = runfiles.read_json(Path(model_folder) / "config.json", "model config").get("model_type", "")
    except (XstiltsError, AttributeError):
        return
    unsafe = families.precision_problem(str(model_type), precision)
    if unsafe:
        raise recipe.RecipeError([unsafe])
    fam = families.family(str(model_type))
    # sdpa, the default, falls back to a family's own attention; any other kernel it lacks fails once the model loads
    if attention and attention != "sdpa" and fam is not None and attention not in fam.attention:
        usable = " or ".join(dict.fromkeys(("sdpa", *fam.attention)))
        raise recipe.RecipeError([f"train.attn_implementation={attention}: transformers has no such attention for "
                                  f"{fam.model_type} encoders; use train.attn_implementation={usable} (sdpa falls "
                                  "back to the family's own)"])


def check_model(plan: Evaluation) -> Path:
    """Checks the evaluated model folder before any data is read; returns it.

    The longest input the evaluation feeds the encoder must fit its position embeddings (``retrieval.max_length``
    for BUCC and Tatoeba, ``max_length`` otherwise): beyond them the forward pass fails with an index error at the
    first long sentence.

    A task evaluated through a trained head needs the head the evaluation will use (``head_for``).

    Raises:
        ModelFolderError, RecipeError: naming the file or the key, its value and the encoder's limit.
        KeyError: the model has no head for the task.
    """
    cfg = plan.cfg
    length, key = (cfg.retrieval.max_length, "retrieval.max_length") if plan.task.spec.eval_model == "encoder" \
        else (cfg.max_length, "max_length")
    folder = check_model_folder(provenance.model_dir(plan.run_folder), "model folder", max_length=length,
                                length_key=key)
    if evaluated_from(plan.task) == ("phase3",):  # evaluated through a trained head: the one the evaluation uses
        head_for(read_head_specs(folder), plan.task)
    return folder
