"""Sweeps: a grid of X-STILTs runs as the dependency graph of phase runs, written as a bash or a SLURM script.

    python -m xstilts.sweep recipes/sweeps/paper_grid.yaml --dry-run            # runs per phase, GPU-hour estimate
    python -m xstilts.sweep recipes/sweeps/paper_grid.yaml --write run_grid.sh  # then: bash run_grid.sh
    python -m xstilts.sweep recipes/sweeps/paper_grid.yaml --slurm grid.slurm   # then: bash grid.slurm (submits)
    python -m xstilts.sweep recipes/sweeps/tiny_grid.yaml seeds=[1,2,3] --dry-run   # key=value overrides as usual

A sweep recipe names encoders (each a phase-1 recipe with overrides), intermediate settings (``none``: no phase 2,
the baseline; one task; or a multi-task list), target tasks (a phase-3 recipe each, or a retrieval task evaluated on
the phase-1/2 encoder), seeds, LoRA on/off and the data source. It expands into:

- one phase-1 run per encoder, ``<runs>/p1-<encoder>``;
- one phase-2 run per encoder x intermediate x LoRA setting, ``<runs>/p2-<encoder>-<intermediate>[-lora]``
  (with ``phase2_seeds``: one per phase-2 seed, ``...-s<seed>``, phase-3 seed i starting from phase-2 seed i);
- one phase-3 run per encoder x intermediate x target x LoRA x seed,
  ``<runs>/p3-<encoder>-<intermediate>-<target>[-lora]-s<seed>``;
- one evaluation per phase-3 run, into ``<results>/<encoder>-<intermediate>[-lora]-s<seed>/<task>.json``
  (retrieval targets: ``<results>/<encoder>-<intermediate>[-lora]/<task>.json``, with ``phase2_seeds``
  ``...-p2s<seed>/<task>.json`` per phase-2 encoder).

Every phase-1 and phase-2 folder is shared by all runs that start from it. Names are deterministic, so a second
expansion of the same recipe finds the same folders: the scripts skip a run whose ``DONE`` marker (evaluations: whose
``<task>.json``) exists, and a grid that grows later reuses what is finished. Every phase recipe, with every override
the sweep adds, is loaded strictly while planning: a typo fails before any GPU-hour is spent.

The GPU-hour estimate counts training only (evaluation is usually a few percent on top): examples processed per
run (``max_steps`` x batch x accumulation, else training-set size x epochs) divided by throughput. Throughput, per
encoder, the first of:

1. measured by this sweep: the median ``cost.train_examples_per_second`` in the ``metrics.json`` of this encoder's
   finished runs;
2. measured by ``bench/gpu_check.py`` (files named by ``throughput_files``, a GPU whose name contains ``gpu``): the
   toolkit's training rate for the encoder's declared ``size`` at the run's max_length (between measured lengths,
   time per example interpolated; beyond them, scaled by measured / run max_length);
3. a guess: ``DEFAULT_THROUGHPUT`` for the declared ``size``, scaled by 128 / max_length.

The dry run says which figures are measured and which are guesses.
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import re
import shlex
import statistics
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, NamedTuple

from xstilts import cli, preflight, provenance, recipe, runfiles
from xstilts.config import EvalRecipe, LoraConfig, Phase1Recipe, Phase2Recipe, Phase3Recipe, tilde_problem
from xstilts.recipe import RecipeError, field
from xstilts.results import flatten
from xstilts.errors import XstiltsError
from xstilts.tasks import TASKS

PHASES = ("phase1", "phase2", "phase3", "eval")
SCRIPTS = {"phase1": "phase1_pretrained.py", "phase2": "phase2_intermediate.py", "phase3": "phase3_target.py",
           "eval": "evaluate_xtreme.py"}
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_+-]*$")

# Training examples per second on one A100/H100-class GPU (bf16) at max_length 128, per declared encoder size. Rough
# figures for planning only: tiny = the offline test encoders; base = XLM-R Base / RoBERTa Base class (~280M with
# XLM-R's embeddings); large = XLM-R Large class (560M); xl = 3B-parameter class. Recorded runs replace them.
DEFAULT_THROUGHPUT = {"tiny": 2000.0, "base": 450.0, "large": 150.0, "xl": 25.0}


# ---- the sweep recipe ---------------------------------------------------------------------------------------------
@dataclass
class EncoderSpec:
    recipe: str = field(help="phase-1 recipe (YAML) that builds or imports this encoder")
    overrides: list[str] = field(default_factory=list, help="key=value overrides of that recipe")
    size: Literal["tiny", "base", "large", "xl"] = field(
        "large", help="size class for the GPU-hour estimate when no finished run of it has recorded its throughput")


@dataclass
class IntermediateSpec:
    recipe: str = field(help="phase-2 recipe (YAML)")
    tasks: list[str] | None = field(None, help="replace the recipe's tasks (several = multi-task, one head each)")
    overrides: list[str] = field(default_factory=list, help="key=value overrides of that recipe")


@dataclass
class TargetSpec:
    recipe: str | None = field(None, help="phase-3 recipe (YAML); null: phase-3 defaults + task + overrides")
    task: str | None = field(None, help="the target task (required without a recipe; a retrieval task such as "
                                        "tatoeba or bucc2018 is evaluated on the phase-1/2 encoder, no training)")
    overrides: list[str] = field(default_factory=list, help="key=value overrides of the phase-3 recipe (retrieval "
                                                            "targets: of the evaluation)")
    eval_overrides: list[str] = field(default_factory=list, help="key=value overrides of this target's evaluations "
                                                                 "(e.g. fewer examples per language for a slow task)")
    evaluate: list[str] | None = field(None, help="tasks evaluated with the phase-3 model (default: its task; e.g. "
                                                  "[xquad, mlqa] for one SQuAD-trained model)")
    seeds: list[int] | None = field(None, help="this target's phase-3 seeds, a subset of the sweep's (null: all of "
                                               "them), e.g. one seed for a target the budget cannot teach")

    def validate(self) -> list[str]:
        if self.recipe is None and self.task is None:
            return ["give a phase-3 recipe, or task: <task> (phase-3 defaults + overrides, or a retrieval task)"]
        return []


@dataclass
class EvalSpec:
    recipe: str | None = field(None, help="evaluation recipe (YAML; null: defaults of evaluate_xtreme.py)")
    overrides: list[str] = field(default_factory=list, help="key=value overrides of every evaluation")


@dataclass
class SweepData:
    source: Literal["hub", "xtreme", "embedded"] | None = field(
        None, help="data source of every phase-2/3 run and evaluation (null: each recipe's own)")
    path: str | None = field(None, help="XTREME download folder (source=xtreme)")
    max_train_samples: int | None = field(None, help="cap on training examples per task, every run")
    max_eval_samples: int | None = field(None, help="cap on evaluation examples per language, every evaluation")


@dataclass
class SlurmConfig:
    options: list[str] = field(default_factory=lambda: ["--gres=gpu:1", "--cpus-per-task=8", "--time=48:00:00"],
                               help="sbatch options of every job (e.g. --partition=..., --account=...)")
    max_parallel: int | None = field(None, help="at most this many array tasks of a level at once (%% limit)")


@dataclass
class SweepRecipe:
    name: str = field(help="the sweep's name (job names, script headers)")
    runs: str = field(help="folder that holds every run folder of the sweep")
    results: str = field(help="folder that holds the evaluation results (one sub-folder per model chain)")
    encoders: dict[str, EncoderSpec] = field(help="name -> phase-1 recipe, overrides, size")
    intermediates: dict[str, IntermediateSpec | None] = field(
        help="name -> phase-2 recipe (+ tasks, overrides); 'none: null' is the no-intermediate baseline")
    targets: dict[str, TargetSpec] = field(help="name -> phase-3 recipe (or a retrieval task)")
    seeds: list[int] = field(default_factory=lambda: [42], help="phase-3 seeds (train.seed); phase 2 keeps its own")
    phase2_seeds: list[int] | None = field(
        None, help="phase-2 seeds, one per phase-3 seed (same order): each intermediate is trained once per seed "
                   "(p2-...-s<seed>) and phase-3 seed i starts from phase-2 seed i, so a cell's seeds hold the noise "
                   "of both phases; retrieval targets are evaluated on each (results <chain>-p2s<seed>). null: one "
                   "phase-2 run with its recipe's seed, shared by every phase-3 seed")
    exclude: list[str] = field(default_factory=list,
                               help="intermediate/target pairs not run, e.g. [nli/xnli]: an intermediate task that is "
                                    "the target itself says nothing about transfer between tasks")
    lora: list[bool] = field(default_factory=lambda: [False],
                             help="LoRA settings to run: [false], [true] or both (applies to phases 2 and 3)")
    lora_settings: LoraConfig = field(default_factory=LoraConfig, help="the adapter used where lora is true")
    data: SweepData = field(default_factory=SweepData, help="data source for every run (null keys: the recipes')")
    phase1_overrides: list[str] = field(default_factory=list, help="key=value overrides of every phase-1 run")
    phase2_overrides: list[str] = field(default_factory=list, help="key=value overrides of every phase-2 run")
    phase3_overrides: list[str] = field(default_factory=list, help="key=value overrides of every phase-3 run")
    eval: EvalSpec = field(default_factory=EvalSpec, help="evaluation recipe and overrides")
    launcher: str | None = field(None, help="command that starts every phase script instead of python, e.g. "
                                            "'torchrun --standalone --nproc_per_node 4' or 'accelerate launch'")
    python: str | None = field(None, help="interpreter in the scripts (null: .venv/bin/python under the run root "
                                          "if there is one, else python on PATH; the PYTHON environment variable "
                                          "overrides it at run time)")
    slurm: SlurmConfig = field(default_factory=SlurmConfig, help="settings of --slurm")
    throughput_files: list[str] = field(
        default_factory=lambda: ["bench/results/gpu_check*.json"],
        help="bench/gpu_check.py result files (globs, relative to the working directory) whose measured training "
             "throughput replaces the guessed one per encoder size")
    gpu: str | None = field(None, help="GPU the estimate is for: only measurements on a GPU whose name contains "
                                       "this are used (e.g. H100); null: any measured GPU")
    blocks: dict[str, list[str]] = field(
        default_factory=dict,
        help="name -> units run together by --block NAME, each 'phase2' (every phase-2 run) or a target name (its "
             "phase-3 runs and evaluations, or its retrieval evaluations); a block skips units whose result files "
             "exist and rebuilds the phase-2 folders it needs, checked against the results' record of them")

    def validate(self) -> list[str]:
        problems = [f"{key}: {tilde}" for key in ("runs", "results") if (tilde := tilde_problem(getattr(self, key)))]
        for group in ("encoders", "intermediates", "targets"):
            items = getattr(self, group)
            if not items:
                problems.append(f"{group}: give at least one")
            for key in items:
                if not NAME_RE.match(key):
                    problems.append(f"{group}.{key}: names are folder-name parts: letters, digits, _ + - only")
        for key, spec in self.intermediates.items():
            if (spec is None) != (key == "none"):
                problems.append(f"intermediates.{key}: only 'none' may be null (no phase 2), and 'none' must be null")
        if not self.seeds:
            problems.append("seeds: give at least one seed")
        if self.phase2_seeds is not None and (len(self.phase2_seeds) != len(self.seeds)
                                              or len(set(self.phase2_seeds)) != len(self.phase2_seeds)):
            problems.append(f"phase2_seeds: give one distinct phase-2 seed per phase-3 seed ({len(self.seeds)}, in "
                            f"the order of seeds: {self.seeds}), or leave it out for one shared phase-2 run")
        if len(set(self.seeds)) != len(self.seeds):
            problems.append("seeds: a seed is listed twice")
        for key, spec in self.targets.items():
            extra = sorted(set(spec.seeds or []) - set(self.seeds))
            if extra or spec.seeds == []:
                problems.append(f"targets.{key}.seeds: give a non-empty subset of the sweep's seeds {self.seeds}")
        if not self.lora or len(set(self.lora)) != len(self.lora):
            problems.append("lora: give [false], [true] or [false, true]")
        seen: dict[str, str] = {}
        for block, units in self.blocks.items():
            if not NAME_RE.match(block) or not units:
                problems.append(f"blocks.{block}: give a name of letters, digits, _ + - and at least one unit")
            for unit in units:
                if unit != "phase2" and unit not in self.targets:
                    problems.append(f"blocks.{block}: {unit!r} is neither phase2 nor a target of this sweep "
                                    f"({', '.join(self.targets)})")
                elif seen.setdefault(unit, block) != block:
                    problems.append(f"blocks: {unit} is in both {seen[unit]} and {block}: a unit belongs to one block")
        for pair in self.exclude:
            inter, _, target = pair.partition("/")
            if inter not in self.intermediates or target not in self.targets:
                problems.append(f"exclude: {pair!r} is not <intermediate>/<target> of this sweep (intermediates: "
                                f"{', '.join(self.intermediates)}; targets: {', '.join(self.targets)})")
        return problems


# ---- the plan -----------------------------------------------------------------------------------------------------
@dataclass
class Run:
    """One command of the grid: its phase, output, completion marker, arguments and the runs it needs."""

    phase: str
    name: str
    output: str
    done: str
    args: list[str]
    needs: list[str]
    encoder: str
    train_examples: float | None = None  # examples processed in training (the estimate)
    max_length: int | None = None
    status: str = "todo"  # todo | done
    seed: int | None = None  # phase 3 and its evaluations
    target: str | None = None  # phase 3 and evaluations: the sweep's target name (the unit --block selects)


@dataclass
class Plan:
    sweep: SweepRecipe
    runs: list[Run]

    def level(self, phase: str) -> list[Run]:
        return [r for r in self.runs if r.phase == phase]


def load_sweep(argv: list[str]) -> SweepRecipe:
    """Loads a sweep recipe strictly from ``SWEEP.yaml [key=value ...]``."""
    return recipe.load(SweepRecipe, argv)


def _lora_args(cfg: SweepRecipe, on: bool) -> list[str]:
    if not on:
        return ["lora=null"]
    s = cfg.lora_settings
    return [f"lora.r={s.r}", f"lora.alpha={s.alpha}", f"lora.dropout={s.dropout}",
            f"lora.target_modules=[{','.join(s.target_modules)}]"]


def _data_args(cfg: SweepRecipe, training: bool) -> list[str]:
    d = cfg.data
    out = []
    if d.source is not None:
        out.append(f"data.source={d.source}")
    if d.path is not None:
        out.append(f"data.path={d.path}")
    if d.max_train_samples is not None and training:
        out.append(f"data.max_train_samples={d.max_train_samples}")
    if d.max_eval_samples is not None:
        out.append(f"data.max_eval_samples={d.max_eval_samples}")
    return out


def _recipe_args(path: str | None) -> list[str]:
    return [path] if path else []


@dataclass(frozen=True)
class HeadRef:
    """The head a planned phase-3 run will have (its task and task type), for ``preflight.head_for`` before it
    exists."""

    task: str
    task_type: str


def _check(cls: type, args: list[str], where: str, problems: list[str]) -> Any:
    """Loads a phase recipe exactly as its script will (file + overrides); problems are prefixed with the run."""
    try:
        cfg = recipe.load(cls, list(args))
    except RecipeError as exc:
        problems.extend(f"{where}: {p}" for p in exc.problems)
        return None
    if cls in (Phase2Recipe, Phase3Recipe):  # the script's refusal of a source without the training data
        try:
            preflight.check_training_sources(cfg)
        except RecipeError as exc:
            problems.extend(f"{where}: {p}" for p in exc.problems if f"{where}: {p}" not in problems)
    return cfg


def embedded_train_size(task_name: str) -> int | None:
    """Number of English training rows of a task in the embedded quickstart data (None if it has none)."""
    task = TASKS.get(task_name)
    if task is None:
        return None
    root = resources.files("xstilts") / "quickstart_data"
    total = 0
    for split in task.train:
        if not split.embedded:
            return None
        f = root / split.embedded.format(lang=task.train_language)
        if not f.is_file():
            return None
        total += sum(1 for line in f.read_text(encoding="utf-8").splitlines() if line.strip())
    return total or None


def _full_train_size(task_name: str) -> int | None:
    """Approximate English training rows of a task's full data (the registry's ``train_size``; None if unknown)."""
    task = TASKS.get(task_name)
    return task.train_size if task is not None else None


def _train_examples(cfg: Phase2Recipe | Phase3Recipe, tasks: list[str]) -> float | None:
    """Examples a training run processes: max_steps x batch x accumulation, else training-set size x epochs."""
    t = cfg.train
    if t.max_steps > 0:
        return float(t.max_steps * t.batch_size * t.grad_accum)
    total = 0
    for name in tasks:
        n = embedded_train_size(name) if cfg.data.source == "embedded" else _full_train_size(name)
        if n is None:
            return None
        if cfg.data.max_train_samples:
            n = min(n, cfg.data.max_train_samples)
        total += n
    return total * t.epochs


def expand(cfg: SweepRecipe) -> Plan:
    """The grid's runs in dependency order (phase 1, 2, 3, evaluation), each phase recipe checked strictly.

    Raises:
        RecipeError: every problem of every phase recipe of the grid, each prefixed with the run it belongs to.
    """
    problems: list[str] = []
    runs: dict[str, Run] = {}  # keyed by completion marker: identical runs are planned once
    root = Path(cfg.runs)
    results = Path(cfg.results)

    def add(run: Run) -> None:
        problem = collision(runs.get(run.done), run)
        if problem:
            problems.append(problem)
        runs.setdefault(run.done, run)

    p1_names = {}
    for enc, spec in cfg.encoders.items():
        out = root / f"p1-{enc}"
        args = [*_recipe_args(spec.recipe), *cfg.phase1_overrides, *spec.overrides, f"output={out}"]
        _check(Phase1Recipe, args, f"encoder {enc} (phase 1)", problems)
        add(Run("phase1", out.name, str(out), str(out / "DONE"), args, [], enc))
        p1_names[enc] = out

    for enc in cfg.encoders:
        p1 = p1_names[enc]
        for lora in cfg.lora:
            suffix = "-lora" if lora else ""
            for inter, ispec in cfg.intermediates.items():
                # phase-3 seed -> (folder, run name) it starts from; None: every seed starts from one folder
                starts: dict[int | None, tuple[Path, str]] = {}
                if ispec is None:
                    starts[None] = (p1, p1.name)
                for p2_seed, p3_seed in ([] if ispec is None
                                         else zip(cfg.phase2_seeds, cfg.seeds, strict=True) if cfg.phase2_seeds
                                         else [(None, None)]):
                    out = root / (f"p2-{enc}-{inter}{suffix}" + (f"-s{p2_seed}" if p2_seed is not None else ""))
                    args = [ispec.recipe]
                    if ispec.tasks is not None:
                        args.append(f"tasks=[{','.join(ispec.tasks)}]")
                    args += [*_data_args(cfg, True), *cfg.phase2_overrides, *ispec.overrides, *_lora_args(cfg, lora),
                             *([f"train.seed={p2_seed}"] if p2_seed is not None else []), f"input={p1}",
                             f"output={out}"]
                    p2 = _check(Phase2Recipe, args, f"intermediate {inter} of {enc} (phase 2)", problems)
                    add(Run("phase2", out.name, str(out), str(out / "DONE"), args, [p1.name], enc,
                            _train_examples(p2, p2.tasks) if p2 else None, p2.train.max_length if p2 else None))
                    starts[p3_seed] = (out, out.name)
                start, start_run = starts.get(None) or next(iter(starts.values()))
                chain = f"{enc}-{inter}{suffix}"
                for target, tspec in cfg.targets.items():
                    if f"{inter}/{target}" in cfg.exclude:
                        continue
                    untrained = tspec.task in TASKS and "phase1" in TASKS[tspec.task].spec.evaluated_from
                    if tspec.recipe is None and untrained:
                        # No training: the phase-1/2 encoder itself is evaluated (LoRA does not change a phase-1
                        # encoder, so the "none" chain is planned once), once per phase-2 seed: its result's
                        # run.seed is that phase-2 seed, the seed component of a retrieval effect.
                        for p3_seed, (folder, folder_run) in starts.items():
                            p2_seed = None if p3_seed is None else cfg.phase2_seeds[cfg.seeds.index(p3_seed)]
                            res = results / ((f"{enc}-{inter}" if ispec is None else chain)
                                             + (f"-p2s{p2_seed}" if p2_seed is not None else ""))
                            args = [*_recipe_args(cfg.eval.recipe), *_data_args(cfg, False), *cfg.eval.overrides,
                                    *tspec.overrides, f"task={tspec.task}", f"input={folder}", f"output={res}"]
                            _check(EvalRecipe, args, f"target {target} of {chain} (evaluation)", problems)
                            add(Run("eval", f"{res.name}/{tspec.task}", str(res), str(res / f"{tspec.task}.json"),
                                    args, [folder_run], enc, target=target))
                        continue
                    for seed in tspec.seeds or cfg.seeds:
                        start, start_run = starts.get(seed) or starts[None]  # phase-3 seed i from phase-2 seed i
                        out = root / f"p3-{enc}-{inter}-{target}{suffix}-s{seed}"
                        args = [*_recipe_args(tspec.recipe), *_data_args(cfg, True), *cfg.phase3_overrides]
                        if tspec.recipe is None:
                            args.append(f"task={tspec.task}")
                        args += [*tspec.overrides, f"train.seed={seed}", *_lora_args(cfg, lora), f"input={start}",
                                 f"output={out}"]
                        p3 = _check(Phase3Recipe, args, f"target {target} of {chain} (phase 3)", problems)
                        if p3 is None:
                            continue
                        if tspec.task is not None and tspec.task != p3.task:
                            problems.append(f"targets.{target}: task {tspec.task} but its recipe trains {p3.task}")
                        train_task = getattr(p3.data, "train_task", None) or p3.task
                        add(Run("phase3", out.name, str(out), str(out / "DONE"), args, [start_run], enc,
                                _train_examples(p3, [train_task]), p3.train.max_length, seed=seed, target=target))
                        res = results / f"{chain}-s{seed}"
                        for task in tspec.evaluate or [p3.task]:
                            if task not in TASKS:  # the evaluation's own refusal, said before any run
                                problems.append(f"targets.{target}: evaluate {task}: unknown task; known tasks: "
                                                f"{', '.join(sorted(TASKS))}")
                            elif task != p3.task and p3.task in TASKS:  # the head the evaluation uses
                                try:
                                    preflight.head_for([HeadRef(p3.task, TASKS[p3.task].task_type)], TASKS[task])
                                except KeyError as exc:
                                    problems.append(f"targets.{target}: evaluate {task}: {exc.args[0]}")
                            eargs = [*_recipe_args(cfg.eval.recipe), *_data_args(cfg, False), *cfg.eval.overrides,
                                     *tspec.eval_overrides, *([f"task={task}"] if task != p3.task else []),
                                     f"input={out}", f"output={res}"]
                            ev = _check(EvalRecipe, eargs, f"evaluation of {out.name}", problems)
                            task = ev.task if ev and ev.task else task
                            add(Run("eval", f"{res.name}/{task}", str(res), str(res / f"{task}.json"), eargs,
                                    [out.name], enc, seed=seed, target=target))
    owners: dict[str, str] = {}  # output folder -> the run that owns it ("" for a results folder: evaluations')
    for r in runs.values():
        owner = "" if r.phase == "eval" else r.name
        other = owners.setdefault(r.output, owner)
        if other != owner:
            shown = [f"the run folder of {o}" if o else "a results folder" for o in (other, owner)]
            problems.append(f"{r.output} would be both {shown[0]} and {shown[1]}: rename an encoder, intermediate or "
                            "target, or give runs= and results= different folders")
    if problems:
        raise RecipeError(sorted(set(problems), key=problems.index), "sweep")
    ordered = [r for phase in PHASES for r in runs.values() if r.phase == phase]
    for r in ordered:
        r.status = "done" if Path(r.done).is_file() else "todo"
    return Plan(cfg, ordered)


def collision(planned: Run | None, run: Run) -> str | None:
    """Why ``run`` cannot be planned beside the already planned run with the same output (None: none planned, or
    the very same command, which the grid plans once, e.g. the encoder evaluation shared by the LoRA settings).

    Two different commands writing the same output would leave one result where the grid promises two, the second
    skipped as "finished" or replacing the first, so the plan is refused with both named.
    """
    if planned is None or (planned.phase == run.phase and planned.args == run.args):
        return None
    theirs, mine = set(planned.args), set(run.args)
    differ = sorted(theirs ^ mine)
    holds = "a results folder holds one evaluation per task" if run.phase == "eval" else "a folder holds one run"
    return (f"two different runs would write {run.done}: {planned.phase} {' '.join(planned.args)} and {run.phase} "
            f"{' '.join(run.args)} (they differ in {', '.join(differ[:6]) or 'their order of arguments'}); {holds}: "
            "rename an encoder, intermediate or target so their names differ, or plan them in two sweeps with "
            "different runs= / results=")


# ---- blocks --------------------------------------------------------------------------------------------------------
# A grid too long for one sitting runs in blocks (the recipe's ``blocks``), at different times and on different
# machines that share the committed results but not the run folders. A block plans its units' runs minus those whose
# result files exist, and the phase-1/2 runs they start from. A phase-2 folder some committed result was scored from is
# rebuilt (same recipe, same seed) where absent and must match what that result's chain recorded of it
# (``run_fingerprint``); the run folders' own fingerprints (run ids, file times) differ on every rebuild by design.
def run_fingerprint(entry: dict[str, Any]) -> str:
    """16 hex digits identifying what a training run was and what it did, from its chain entry (as a result records
    it, or ``provenance.chain`` reads it): its recipe and its training record (steps, English dev scores and curve,
    training loss to 4 decimals), never times, hosts or run ids. A deterministic rebuild reproduces it; another
    recipe, seed, data or code path that trains differently does not."""
    metrics = entry.get("metrics") or {}
    loss = metrics.get("train_loss")
    record = {"recipe": entry.get("recipe"), "global_step": metrics.get("global_step"), "dev": metrics.get("dev"),
              "dev_curve": metrics.get("dev_curve"),
              "train_loss": round(loss, 4) if isinstance(loss, (int, float)) else loss}
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]


class Recorded(NamedTuple):
    """What the committed results recorded of one phase-2 run: its ``run_fingerprint``, the result file that recorded
    it, and the torch thread count it trained with on CPU (None where not recorded or trained on a GPU). On CPU the
    thread count changes the order of floating-point sums, so a rebuild reproduces the fingerprint only at the
    recorded count."""
    fingerprint: str
    source: str
    threads: int | None


def recorded_fingerprints(results: str | Path) -> dict[str, Recorded]:
    """Phase-2 folder (as results record it) -> ``Recorded`` (its fingerprint, the result file that recorded it, its
    thread count), from every result file under ``results``.

    Raises:
        RecipeError: two results record different runs for one folder (a folder rebuilt between them, or results of
            two grids mixed): no block can say which one to rebuild.
    """
    out: dict[str, Recorded] = {}
    for path in sorted(Path(results).glob("*/*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # not a result file (or unreadable): the report names those; it records no chain here
        chain = data.get("chain") if isinstance(data, dict) else None
        for entry in chain if isinstance(chain, list) else []:
            if not isinstance(entry, dict) or entry.get("phase") != "phase2" or not entry.get("folder"):
                continue
            folder, fp = os.path.normpath(str(entry["folder"])), run_fingerprint(entry)
            env = entry.get("environment")
            on_cpu = isinstance(env, dict) and not env.get("gpus")  # on a GPU the CPU thread count sums nothing
            before = out.setdefault(folder, Recorded(fp, str(path), _threads(entry) if on_cpu else None))
            if before.fingerprint != fp:
                raise RecipeError([f"{folder}: {before.source} records run {before.fingerprint} but {path} records "
                                   f"run {fp}; "
                                   "a block cannot rebuild both: keep the results of one run of it"], "sweep")
    return out


def _threads(entry: dict[str, Any]) -> int | None:
    env = entry.get("environment")
    threads = env.get("torch_threads") if isinstance(env, dict) else None
    return threads if isinstance(threads, int) and not isinstance(threads, bool) and threads > 0 else None


def block_plan(plan: Plan, name: str) -> tuple[Plan, dict[str, Recorded]]:
    """The runs of block ``name`` still to do and the phase-2 folders to check: (plan, folder -> what the results
    recorded of it). A unit's evaluation whose result file exists is dropped, a phase-3 run all of whose
    evaluations exist with it, and a phase-2 run of the ``phase2`` unit all of whose results exist; the phase-1/2
    runs the rest start from stay (skipped by the script where finished).

    Raises:
        RecipeError: an unknown block, or committed results that disagree about a phase-2 run.
    """
    cfg = plan.sweep
    if name not in cfg.blocks:
        known = ", ".join(cfg.blocks) or "none: add a blocks: section to the sweep recipe"
        raise RecipeError([f"--block {name}: no such block (blocks: {known})"], "sweep")
    units = set(cfg.blocks[name])
    evals = [r for r in plan.level("eval") if r.target in units and r.status != "done"]
    phase3 = [r for r in plan.level("phase3") if r.target in units and any(r.name in e.needs for e in evals)]
    needed = {n for r in evals + phase3 for n in r.needs}
    # The phase2 unit builds the intermediate runs that unfinished work of any block starts from (or that nothing
    # starts from): once every result scored from a phase-2 run is committed, re-running its block trains nothing.
    pending = [r for r in plan.level("eval") if r.status != "done"]
    pending += [r for r in plan.level("phase3") if any(r.name in e.needs for e in pending)]
    live = {n for r in pending for n in r.needs}
    used = {n for r in plan.level("eval") + plan.level("phase3") for n in r.needs}
    phase2 = [r for r in plan.level("phase2")
              if ("phase2" in units and (r.name in live or r.name not in used)) or r.name in needed]
    needed |= {n for r in phase2 for n in r.needs}
    phase1 = [r for r in plan.level("phase1") if r.name in needed]
    recorded = recorded_fingerprints(cfg.results)
    checks = {r.output: recorded[os.path.normpath(r.output)] for r in phase2 if os.path.normpath(r.output) in recorded}
    return Plan(cfg, [*phase1, *phase2, *phase3, *evals]), checks


def _rebuild_differences(rebuilt: dict[str, Any], folder: str, source: str) -> str:
    """What a rebuilt phase-2 run and the one ``source`` recorded for ``folder`` differ in, as far as both record it:
    recipe keys, the torch thread count, package versions; else the likely causes."""
    try:
        chain = json.loads(Path(source).read_text(encoding="utf-8")).get("chain") or []
        recorded = next(e for e in chain if isinstance(e, dict) and e.get("phase") == "phase2"
                        and os.path.normpath(str(e.get("folder"))) == os.path.normpath(folder))
    except (OSError, ValueError, AttributeError, StopIteration):
        return "another recipe, seed, data, code or thread count"
    diffs = []
    old, new = (flatten(e["recipe"]) if isinstance(e.get("recipe"), dict) else {} for e in (recorded, rebuilt))
    diffs += [f"recipe {k}: {old.get(k)!r} recorded, {new.get(k)!r} now" for k in sorted(set(old) | set(new))
              if old.get(k) != new.get(k)]
    if _threads(recorded) != _threads(rebuilt):
        diffs.append(f"torch threads: {_threads(recorded)} recorded, {_threads(rebuilt)} now (CPU sums depend on "
                     f"them: rebuild with OMP_NUM_THREADS={_threads(recorded)})")
    old_env, new_env = (e.get("environment") if isinstance(e.get("environment"), dict) else {}
                        for e in (recorded, rebuilt))
    old_pk, new_pk = (flatten(e["packages"]) if isinstance(e.get("packages"), dict) else {} for e in (old_env, new_env))
    diffs += [f"{k} {old_pk.get(k)} recorded, {new_pk.get(k)} now" for k in sorted(set(old_pk) | set(new_pk))
              if old_pk.get(k) != new_pk.get(k)]
    return "; ".join(diffs) if diffs else ("the same recipe, threads and packages: other code, data or hardware "
                                           "(on a GPU, nondeterministic kernels)")


def check_rebuilt(folder: str, expected: str, source: str) -> int:
    """``python -m xstilts.sweep check-rebuilt FOLDER FINGERPRINT RESULT``: 0 when the phase-2 run in FOLDER is the
    one RESULT recorded, else one line naming the folder and both fingerprints, and 1."""
    try:
        entry = provenance.chain(folder, relative_to=Path.cwd())[0]
    except (XstiltsError, OSError) as exc:
        print(f"sweep: {folder}: cannot read the run to check it against {source}: {exc}", file=sys.stderr)
        return 1
    found = run_fingerprint(entry)
    if found != expected:
        why = _rebuild_differences(entry, folder, source)
        print(f"sweep: {folder} is run {found} but {source} was scored from run {expected}: not the same training "
              f"({why}); its results cannot be extended with it", file=sys.stderr, flush=True)
        return 1
    print(f"sweep: {folder} is run {found}, the one {source} recorded", flush=True)
    return 0


# ---- the estimate -------------------------------------------------------------------------------------------------
def recorded_throughput(plan: Plan) -> dict[str, list[float]]:
    """Per encoder, ``cost.train_examples_per_second`` of the sweep's finished training runs that recorded it."""
    out: dict[str, list[float]] = {enc: [] for enc in plan.sweep.encoders}
    for r in plan.runs:
        if r.phase not in ("phase2", "phase3") or r.status != "done":
            continue
        try:
            metrics = json.loads((Path(r.output) / "metrics.json").read_text(encoding="utf-8"))
            value = (metrics.get("cost") or {}).get("train_examples_per_second")
        except (OSError, ValueError):
            continue
        if isinstance(value, (int, float)) and value > 0:
            out[r.encoder].append(float(value))
    return out


def measured_throughput(patterns: list[str], gpu: str | None = None) -> dict[str, dict[int, dict[str, Any]]]:
    """Training examples/s measured by ``bench/gpu_check.py``: size -> max_length -> median rate, GPUs and files.

    Only the toolkit's own training path without torch.compile (what the phases run by default), on a CUDA GPU at
    full size (never a ``--cpu`` or ``--tiny`` run), and on a GPU whose name contains ``gpu`` when given. Unreadable
    files are passed over: the estimate then falls back to the guess.
    """
    found: dict[tuple[str, int], list[tuple[float, str, str, bool]]] = {}
    for pattern in patterns:
        for path in map(Path, sorted(glob.glob(pattern))):
            try:
                report = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if not isinstance(report, dict) or report.get("device") != "cuda":
                continue
            for entry in (report.get("variants") or {}).values():
                if not (isinstance(entry, dict) and entry.get("status") == "ok" and entry.get("kind") == "train"
                        and entry.get("path") == "xstilts" and not entry.get("compile") and not entry.get("tiny")):
                    continue
                name = str(entry.get("gpu") or report.get("gpu") or "")
                rate, length = entry.get("examples_per_s"), entry.get("max_length")
                if gpu and gpu.lower() not in name.lower():
                    continue
                if isinstance(rate, (int, float)) and rate > 0 and isinstance(length, int):
                    # A rate timed over steps with padded shapes the warm-up never saw is a cold-start rate (on a
                    # GPU each new shape costs a one-time set-up; measured on an H200 at length 128: 75 ex/s cold
                    # vs 359 warm). Checks that say so (new_shapes_in_timed_steps == 0) win over older ones.
                    warm = entry.get("new_shapes_in_timed_steps") == 0
                    found.setdefault((str(entry.get("size")), length), []).append(
                        (float(rate), name, str(path), warm))
    out: dict[str, dict[int, dict[str, Any]]] = {}
    for (size, length), rows in found.items():
        rows = [r for r in rows if r[3]] or rows
        out.setdefault(size, {})[length] = {"examples_per_second": statistics.median(r[0] for r in rows),
                                            "gpus": sorted({r[1] for r in rows}), "files": sorted({r[2] for r in rows})}
    return out


def _measured_rate(by_length: dict[int, dict[str, Any]], max_length: int | None) -> float:
    """The rate measured at ``max_length``; between two measured lengths, seconds per example interpolated linearly;
    outside them, the nearest measured rate scaled by measured / max_length (cost about linear in length)."""
    rates = {n: v["examples_per_second"] for n, v in by_length.items()}
    if max_length is None or max_length in rates:
        return rates[max_length if max_length is not None else min(rates)]
    below = [n for n in rates if n < max_length]
    above = [n for n in rates if n > max_length]
    if below and above:
        lo, hi = max(below), min(above)
        w = (max_length - lo) / (hi - lo)
        return 1 / ((1 - w) / rates[lo] + w / rates[hi])
    nearest = max(below) if below else min(above)
    return rates[nearest] * nearest / max_length


def estimate(plan: Plan) -> dict[str, Any]:
    """GPU-hours of the training runs still to do, per phase, and where each encoder's throughput came from."""
    recorded = recorded_throughput(plan)
    measured = measured_throughput(plan.sweep.throughput_files, plan.sweep.gpu)
    sources = {}
    for enc, spec in plan.sweep.encoders.items():
        if recorded[enc]:
            sources[enc] = {"examples_per_second": statistics.median(recorded[enc]), "from": "recorded",
                            "runs": len(recorded[enc])}
        elif spec.size in measured:
            by_length = measured[spec.size]
            sources[enc] = {"examples_per_second": _measured_rate(by_length, 128), "from": "measured", "runs": 0,
                            "by_max_length": {n: v["examples_per_second"] for n, v in sorted(by_length.items())},
                            "gpus": sorted({g for v in by_length.values() for g in v["gpus"]}),
                            "files": sorted({f for v in by_length.values() for f in v["files"]})}
        else:
            sources[enc] = {"examples_per_second": DEFAULT_THROUGHPUT[spec.size], "from": f"default ({spec.size})",
                            "runs": 0}
    hours = {"phase2": 0.0, "phase3": 0.0}
    unknown = []
    for r in plan.runs:
        if r.phase not in hours or r.status == "done":
            continue
        if r.train_examples is None:
            unknown.append(r.name)
            continue
        src = sources[r.encoder]
        rate = src["examples_per_second"]
        if src["from"] == "measured":
            rate = _measured_rate(measured[plan.sweep.encoders[r.encoder].size], r.max_length)
        elif src["from"] != "recorded" and r.max_length:
            rate *= 128 / r.max_length  # the defaults are for max_length 128; cost grows about linearly with it
        hours[r.phase] += r.train_examples / rate / 3600
    return {"gpu_hours": hours, "total_gpu_hours": sum(hours.values()), "throughput": sources, "unknown": unknown}


def describe_plan(plan: Plan) -> str:
    """The dry-run report: runs per phase (todo/done) and the GPU-hour estimate."""
    cfg = plan.sweep
    n_inter = len(cfg.intermediates)
    lines = [f"sweep {cfg.name}: {len(cfg.encoders)} encoder(s) x {n_inter} intermediate setting(s) x "
             f"{len(cfg.targets)} target(s) x {len(cfg.seeds)} seed(s) x {len(cfg.lora)} LoRA setting(s)",
             f"{len(plan.runs)} runs, {sum(r.status == 'done' for r in plan.runs)} already finished"]
    est = estimate(plan)
    for phase in PHASES:
        level = plan.level(phase)
        todo = sum(r.status == "todo" for r in level)
        extra = f", ~{est['gpu_hours'][phase]:.2f} GPU-hours" if phase in est["gpu_hours"] else ""
        lines.append(f"\n{phase}: {len(level)} runs ({todo} to do{extra})")
        for r in level:
            after = f"  <- {', '.join(r.needs)}" if r.needs else ""
            lines.append(f"  [{r.status:4}] {r.name}{after}")
    lines.append(f"\nestimate: ~{est['total_gpu_hours']:.2f} GPU-hours of training still to do "
                 "(evaluation not included; usually a few percent more)")
    for enc, src in est["throughput"].items():
        if src["from"] == "recorded":
            how = f"MEASURED: median of {src['runs']} finished run(s) of this sweep"
        elif src["from"] == "measured":
            rates = ", ".join(f"{v:.0f} at {n}" for n, v in src["by_max_length"].items())
            how = (f"MEASURED by bench/gpu_check.py on {', '.join(src['gpus'])} ({rates} tokens max length; "
                   f"other lengths interpolated): {', '.join(src['files'])}")
        else:
            how = (f"{src['from']} at max_length 128, scaled by 128 / max_length: a GUESS, nothing measured; run "
                   "bench/gpu_check.py on the GPU and keep its JSON in bench/results/")
        lines.append(f"  {enc}: {src['examples_per_second']:.0f} training examples/s ({how})")
    if est["unknown"]:
        lines.append(f"  not estimated (training-set size unknown; set max_steps): {', '.join(est['unknown'])}")
    return "\n".join(lines)


# ---- the scripts --------------------------------------------------------------------------------------------------
def _command(plan: Plan, run: Run) -> str:
    script = SCRIPTS[run.phase]
    args = " ".join(shlex.quote(a) for a in run.args)
    if plan.sweep.launcher:  # every script is rank-aware: training via the Trainer, phase 1/evaluation themselves
        return f"{plan.sweep.launcher} {script} {args}"
    return f'"$PYTHON" {script} {args}'


def run_root(script: str | Path) -> str:
    """The working directory of the sweep (where its relative paths start) as seen from the folder ``script`` is
    written to: the script changes into it relative to its own location, so a copied or cloned tree runs anywhere."""
    return Path(os.path.relpath(Path.cwd().resolve(), Path(script).parent.resolve())).as_posix()


def _header(plan: Plan, how: str, source: str, script: str | Path) -> list[str]:
    cfg = plan.sweep
    # No path of the machine that wrote the script: the interpreter is the recipe's, else the project's .venv where
    # the run root has one, else python on PATH; PYTHON overrides it at run time.
    python = shlex.quote(cfg.python) if cfg.python else \
        "$(if [ -x .venv/bin/python ]; then echo .venv/bin/python; else command -v python || echo python3; fi)"
    return [
        "#!/usr/bin/env bash",
        f"# xstilts sweep {cfg.name}: {len(plan.runs)} runs, written by: python -m xstilts.sweep {source}",
        f"# {how}",
        "# A run whose DONE marker (evaluations: <task>.json) exists is skipped; the first failure stops everything",
        "# and names the failing command. Re-run this script after fixing it: finished runs are skipped.",
        "# Paths are relative to the run root: the folder the sweep was written from, found from this script's place.",
        "set -Eeuo pipefail",
        'SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/$(basename "${BASH_SOURCE[0]}")"',
        f'cd "$(dirname "$SELF")"/{shlex.quote(run_root(script))}',
        f'PYTHON="${{PYTHON:-{python}}}"',
        "export HF_HUB_DISABLE_TELEMETRY=1 TOKENIZERS_PARALLELISM=false",
        'CURRENT=""',
        "trap 'rc=$?; echo \"sweep: FAILED (exit $rc): $CURRENT\" >&2; exit $rc' ERR",
        "",
        "# run DONE_FILE COMMAND...: skips the command when DONE_FILE exists, else runs it (a failure stops all).",
        "run() {",
        '  local done_file=$1; shift',
        '  if [ -e "$done_file" ]; then echo "sweep: skip (finished: $done_file)"; return 0; fi',
        '  CURRENT=$(printf "%q " "$@")',
        '  echo "sweep: run: $CURRENT"',
        '  "$@"',
        '  CURRENT=""',
        "}",
        "",
    ]


def bash_sections(plan: Plan) -> list[tuple[str, list[Run]]]:
    """The order of a sequential run: phases 1 and 2, the evaluations of phase-1/2 encoders, then one section per
    seed in which each phase-3 run is followed by its evaluations. A grid stopped early has whole seeds with their
    scores, not every cell trained and none scored."""
    sections = [(phase, plan.level(phase)) for phase in ("phase1", "phase2")]
    sections.append(("evaluation of phase-1/2 encoders", [r for r in plan.level("eval") if r.seed is None]))
    for seed in plan.sweep.seeds:
        ordered = []
        for r in plan.level("phase3"):
            if r.seed == seed:
                ordered += [r, *(e for e in plan.level("eval") if r.name in e.needs)]
        sections.append((f"seed {seed}: phase 3, each run then its evaluations", ordered))
    return [(title, runs) for title, runs in sections if runs]


# Shards: n processes side by side, each running every n-th unit of work. On CPU cores two processes of one thread
# each train about 1.2x faster together than one process using both (small matrices parallelise poorly).
SHARD_LINES = [
    "# XSTILTS_SHARD=k/n runs the k-th of n shares of the work: every n-th unit from the k-th, a unit being one",
    "# evaluation of a phase-1/2 encoder or one phase-3 run with its evaluations. Phases 1 and 2 (unit 0) belong to",
    "# every shard: start the other shards once they have finished. On CPU: OMP_NUM_THREADS=1 per shard.",
    # At most 18 digits: bash arithmetic is 64-bit and wraps silently beyond 2^63-1 (a shard would run no unit).
    'SHARD="${XSTILTS_SHARD:-1/1}"',
    'if ! [[ "$SHARD" =~ ^([1-9][0-9]{0,17})/([1-9][0-9]{0,17})$ ]] || (( BASH_REMATCH[1] > BASH_REMATCH[2] )); then',
    '  echo "sweep: XSTILTS_SHARD=$SHARD: give k/n with 1 <= k <= n (whole numbers of at most 18 digits)" >&2; exit 2',
    "fi",
    'SHARD_K=${BASH_REMATCH[1]}; SHARD_N=${BASH_REMATCH[2]}',
    'in_shard() { [ "$1" -eq 0 ] || [ $(( ($1 - 1) % SHARD_N + 1 )) -eq "$SHARD_K" ]; }',
    "",
]


def bash_units(plan: Plan) -> list[tuple[str, list[tuple[int, list[Run]]]]]:
    """``bash_sections`` cut into numbered units of work for shards: 0 for phases 1 and 2 (every shard runs them),
    then 1, 2, ... for each evaluation of a phase-1/2 encoder and each phase-3 run with its evaluations."""
    out, unit = [], 0
    for title, runs in bash_sections(plan):
        if runs[0].phase in ("phase1", "phase2"):
            out.append((title, [(0, runs)]))
            continue
        units: list[tuple[int, list[Run]]] = []
        for r in runs:
            if r.phase == "eval" and units and units[-1][1][0].name in r.needs:
                units[-1][1].append(r)  # a phase-3 run's evaluation stays with it
            else:
                unit += 1
                units.append((unit, [r]))
        out.append((title, units))
    return out


def bash_script(plan: Plan, source: str, script: str | Path,
                checks: dict[str, Recorded] | None = None) -> str:
    """A bash script that runs the grid in dependency order (``bash_sections``), skipping finished runs; ``script``:
    where it is written (it changes into the run root relative to that place). ``checks`` (a block's, see
    ``block_plan``): each phase-2 run named there is rebuilt at the thread count its results recorded
    (``OMP_NUM_THREADS``, whatever the shard was started with), then its folder is checked against the recorded
    fingerprint and a mismatch stops the script with the checker's one line (``|| exit 3``: no second line from the
    ERR trap)."""
    lines = _header(plan, "Run with: bash THIS_SCRIPT (PYTHON=... to choose the interpreter)", source, script)
    lines += SHARD_LINES
    for title, units in bash_units(plan):
        lines.append(f"# ---- {title}: {sum(len(runs) for _, runs in units)} runs")
        for unit, runs in units:
            for r in runs:
                check = checks.get(r.output) if checks else None
                # bash exports an assignment before a function call to the commands the function runs
                threads = f"OMP_NUM_THREADS={check.threads} " if check and check.threads else ""
                lines.append(f"in_shard {unit} && {threads}run {shlex.quote(r.done)} {_command(plan, r)}")
                if check:
                    lines.append(f'in_shard {unit} && {{ "$PYTHON" -m xstilts.sweep check-rebuilt '
                                 f"{shlex.quote(r.output)} {check.fingerprint} {shlex.quote(check.source)} "
                                 "|| exit 3; }")
        lines.append("")
    lines.append('echo "sweep: all runs of shard $SHARD finished"')
    return "\n".join(lines) + "\n"


def slurm_script(plan: Plan, source: str, script: str | Path) -> str:
    """A script that submits one SLURM array job per phase level, each level after the previous one succeeded.

    ``bash SCRIPT`` submits; each array task re-enters the same script as ``SCRIPT task <level> <index>`` and runs one
    command (skipped when already finished). ``--dependency=afterok`` makes a level wait for every task of the one
    before; a failed task leaves the later levels pending (never started), as the bash script stops.
    """
    cfg = plan.sweep
    lines = _header(plan, "Submit with: bash THIS_SCRIPT (one array job per phase level, afterok dependencies)",
                    source, script)
    lines.append("task() {")
    lines.append('  case "$1:$2" in')
    for phase in PHASES:
        for i, r in enumerate(plan.level(phase)):
            lines.append(f"    {phase}:{i}) run {shlex.quote(r.done)} {_command(plan, r)} ;;")
    lines.append('    *) echo "sweep: no task $1:$2" >&2; exit 2 ;;')
    lines.append("  esac")
    lines.append("}")
    lines.append('if [ "${1:-}" = task ]; then task "$2" "${3:-${SLURM_ARRAY_TASK_ID:-0}}"; exit 0; fi')
    lines.append("")
    opts = " ".join(shlex.quote(o) for o in cfg.slurm.options)
    lines.append(f"OPTS=({opts})")
    lines.append(f"mkdir -p {shlex.quote(str(Path(cfg.runs) / 'slurm'))}")
    lines.append('DEP=()')
    limit = f"%{cfg.slurm.max_parallel}" if cfg.slurm.max_parallel else ""
    for phase in PHASES:
        n = len(plan.level(phase))
        if not n:
            continue
        job = shlex.quote(f"{cfg.name}-{phase}")
        lines.append(f'JOB=$(sbatch --parsable --job-name={job} --array=0-{n - 1}{limit} '
                     f'--output={shlex.quote(str(Path(cfg.runs) / "slurm" / f"{phase}-%a.log"))} '
                     f'"${{OPTS[@]}}" "${{DEP[@]}}" --wrap="bash \\"$SELF\\" task {phase} \\$SLURM_ARRAY_TASK_ID")')
        lines.append('JOB=${JOB%%;*}')
        lines.append(f'echo "sweep: submitted {phase} ({n} runs) as job $JOB"')
        lines.append('DEP=(--dependency=afterok:$JOB)')
    return "\n".join(lines) + "\n"


def _write_script(path: str, text: str, force: bool, flag: str) -> None:
    """Writes the script atomically, executable; an existing file (a result, the sweep recipe itself) is replaced
    only with ``--force``."""
    p = runfiles.check_new_file(path, force, flag, "pass --force")
    runfiles.atomic_write_text(p, text)
    try:
        p.chmod(0o755)
    except OSError as exc:
        raise runfiles.write_error(p, exc) from None


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m xstilts.sweep", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe", nargs="+", help="SWEEP.yaml [key=value ...]")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print the runs per phase and the GPU-hour estimate")
    mode.add_argument("--write", metavar="SCRIPT.sh", help="write a bash script that runs the grid")
    mode.add_argument("--slurm", metavar="SCRIPT", help="write a script that submits the grid to SLURM")
    parser.add_argument("--force", action="store_true", help="replace an existing --write / --slurm file")
    parser.add_argument("--block", metavar="NAME", help="only the units of this block of the recipe's blocks: (with "
                        "--dry-run or --write), less those whose result files exist")
    if argv and argv[0] == "check-rebuilt":  # the check a block's script runs after rebuilding a phase-2 folder
        if len(argv) != 4:
            raise RecipeError(["check-rebuilt: give FOLDER FINGERPRINT RESULT_FILE"], "sweep")
        return check_rebuilt(*argv[1:])
    ns = parser.parse_intermixed_args(argv)
    if ns.block and ns.slurm:
        raise RecipeError(["--block writes a bash script (--write) or prints its plan (--dry-run), not --slurm"],
                          "sweep")
    for flag, path in (("--write", ns.write), ("--slurm", ns.slurm)):
        if path:  # before the plan is expanded: a refused file costs nothing
            runfiles.check_new_file(path, ns.force, flag, "pass --force")
    cfg = load_sweep(ns.recipe)
    plan = expand(cfg)
    checks = None
    if ns.block:
        plan, checks = block_plan(plan, ns.block)
    source = " ".join(shlex.quote(a) for a in ns.recipe) + (f" --block {shlex.quote(ns.block)}" if ns.block else "")
    if ns.block:
        print(f"block {ns.block}: {', '.join(cfg.blocks[ns.block])} (less the evaluations whose result files exist "
              f"under {cfg.results}, and the phase-3 runs only they needed)", flush=True)
    print(describe_plan(plan), flush=True)
    if checks:
        print("\nphase-2 folders checked against the committed results after they are (re)built:")
        print("\n".join(f"  {folder}: run {c.fingerprint} ({c.source}"
                        + (f"; rebuilt at {c.threads} torch thread(s), as recorded)" if c.threads else ")")
                        for folder, c in checks.items()), flush=True)
    if ns.write:
        _write_script(ns.write, bash_script(plan, f"{source} --write {ns.write}", ns.write, checks), ns.force,
                      "--write")
        print(f"\nwrote {ns.write}; run it with: bash {ns.write}")
    elif ns.slurm:
        _write_script(ns.slurm, slurm_script(plan, f"{source} --slurm {ns.slurm}", ns.slurm), ns.force, "--slurm")
        print(f"\nwrote {ns.slurm}; submit with: bash {ns.slurm}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli.run(_main, argv, "xstilts.sweep", __doc__)


if __name__ == "__main__":
    sys.exit(main())
