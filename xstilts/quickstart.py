"""The offline quickstart chain, run inside one process: ``xstilts quickstart`` (and ``make quickstart``).

Each step calls a phase script's ``main(argv)``, exactly the command a user would type, so torch and transformers are
imported once instead of once per command (about 8 s each on 2 busy cores). A step whose output is finished (the run
folder's ``DONE``, the evaluation's ``<task>.json``) is skipped, so an interrupted quickstart goes on where it
stopped; the first failing step stops the chain with its exit code. At the end the score table of the results
(``xstilts.report``) is printed.
"""
from __future__ import annotations

import importlib.util
import os
import shlex
import sys
import time
from pathlib import Path
from types import ModuleType

from xstilts import report, runfiles
from xstilts.errors import XstiltsError
from xstilts.log import log

P1, P2, P3, EVAL = "phase1_pretrained.py", "phase2_intermediate.py", "phase3_target.py", "evaluate_xtreme.py"
QS = "recipes/quickstart"
EVAL_RECIPE = f"{QS}/eval.yaml"

# Two encoders (multilingual vs English-only), two intermediate tasks (NLI, SIQA) and none, five targets, three
# retrieval evaluations: every task type and both comparisons the viewer draws.
STEPS: list[tuple[str, str, str, tuple[str, ...]]] = [  # (script, recipe, output, key=value: paths under the folder)
    (P1, "recipes/phase1/tiny_multilingual.yaml", "p1-multi", ()),
    (P1, "recipes/phase1/tiny_english.yaml", "p1-english", ()),
    (P2, f"{QS}/phase2_mnli.yaml", "p2-multi-mnli", ("input=p1-multi",)),
    (P3, f"{QS}/phase3_xnli.yaml", "p3-multi-mnli-xnli", ("input=p2-multi-mnli",)),
    (P3, f"{QS}/phase3_xnli.yaml", "p3-multi-none-xnli", ("input=p1-multi",)),
    (P3, f"{QS}/phase3_pawsx.yaml", "p3-multi-mnli-pawsx", ("input=p2-multi-mnli",)),
    (P3, f"{QS}/phase3_xnli.yaml", "p3-english-none-xnli", ("input=p1-english",)),
    (P3, f"{QS}/phase3_xquad.yaml", "p3-multi-mnli-xquad", ("input=p2-multi-mnli",)),
    (P3, f"{QS}/phase3_panx.yaml", "p3-multi-mnli-panx", ("input=p2-multi-mnli",)),
    (P2, f"{QS}/phase2_siqa.yaml", "p2-multi-siqa", ("input=p1-multi",)),
    (P3, f"{QS}/phase3_xcopa.yaml", "p3-multi-siqa-xcopa", ("input=p2-multi-siqa",)),
    # Evaluations name their task (the phase-3 folder's own, as the default would pick): it names the result file
    # that marks the step finished.
    (EVAL, EVAL_RECIPE, "results/multi-mnli", ("input=p3-multi-mnli-xnli", "task=xnli",
                                               "export_predictions=submission")),
    (EVAL, EVAL_RECIPE, "results/multi-mnli", ("input=p3-multi-mnli-xquad", "task=xquad")),
    (EVAL, EVAL_RECIPE, "results/multi-mnli", ("input=p3-multi-mnli-panx", "task=panx")),
    (EVAL, EVAL_RECIPE, "results/multi-mnli", ("input=p2-multi-mnli", "task=tatoeba")),
    (EVAL, EVAL_RECIPE, "results/multi-none", ("input=p1-multi", "task=tatoeba")),
    (EVAL, EVAL_RECIPE, "results/english-none", ("input=p1-english", "task=tatoeba")),
    (EVAL, EVAL_RECIPE, "results/multi-siqa", ("input=p3-multi-siqa-xcopa", "task=xcopa")),
    (EVAL, EVAL_RECIPE, "results/multi-mnli", ("input=p3-multi-mnli-pawsx", "task=pawsx")),
    (EVAL, EVAL_RECIPE, "results/multi-none", ("input=p3-multi-none-xnli", "task=xnli")),
    (EVAL, EVAL_RECIPE, "results/english-none", ("input=p3-english-none-xnli", "task=xnli")),
]
PATH_KEYS = ("input", "export_predictions")


class QuickstartError(XstiltsError):
    """The quickstart cannot run here (no clone beside the package, or an output folder it must not touch)."""


Step = tuple[str, str, str, tuple[str, ...]]


def commands(out: Path, plan: list[Step] | None = None) -> list[tuple[str, list[str], Path]]:
    """Each step as (script, argv, the file whose existence means it is finished), paths under ``out``."""
    steps = []
    for script, recipe_file, output, extra in plan or STEPS:
        args = [f"{k}={out / v}" if k in PATH_KEYS else f"{k}={v}"
                for k, v in (item.split("=", 1) for item in extra)]
        argv = [recipe_file, *args, f"output={out / output}"]
        if script == EVAL:
            task = dict(item.split("=", 1) for item in extra).get("task")
            if not task:
                raise QuickstartError(f"quickstart step {output}: an evaluation step must name its task= (its "
                                      "result file marks the step finished)")
            done = out / output / f"{task}.json"
        else:
            done = out / output / runfiles.DONE
        steps.append((script, argv, done))
    return steps


def check_clone(root: Path, plan: list[Step]) -> None:
    """Raises QuickstartError, naming the fix, unless ``root`` holds the phase scripts and recipes ``plan`` runs.

    They live in a clone of the repository beside the package, never inside it (scripts at the top level, run as
    files): an xstilts installed from a wheel, or copied out of its clone, has the command but not the chain.
    """
    needed = dict.fromkeys(name for script, recipe_file, _, _ in plan for name in (script, recipe_file))
    missing = [name for name in needed if not (root / name).is_file()]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise QuickstartError(f"xstilts quickstart runs the phase scripts and recipes of a clone of the repository, "
                              f"and {root} has no {', '.join(missing[:3])}{more} (this xstilts is installed without "
                              "its clone): clone the repository and run `make quickstart` in it (or `pip install -e .` "
                              "in the clone, then `xstilts quickstart`)")


def _load(root: Path, script: str, cache: dict[str, ModuleType]) -> ModuleType:
    """A phase script as a module (its ``main(argv)``), loaded once from the clone (``check_clone`` found it)."""
    if script not in cache:
        path = root / script
        spec = importlib.util.spec_from_file_location(f"_xstilts_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        cache[script] = module
    return cache[script]


def run(out: Path, fresh: bool = False, root: Path | None = None, plan: list[Step] | None = None) -> int:
    """Runs the chain (``plan``, default ``STEPS``; from the checkout ``root``, whose recipes/ and scripts the steps
    name) and prints the score table.

    ``fresh`` first deletes what earlier quickstarts wrote in ``out``: what the manifests of ``out`` and of the folders
    in it claim (``runfiles.claim``), at any depth. Anything else in it (a result a user evaluated into
    ``results/<run>/``, notes) makes it refuse at once, naming those paths, with nothing deleted.
    """
    root = root or Path(__file__).resolve().parents[1]
    check_clone(root, plan or STEPS)  # before anything is locked, removed or claimed
    steps = commands(out, plan)
    # Never the current folder, the root or home, nor a path through a file; one quickstart per folder at a time
    # (the lock sits beside the folder, so --fresh can remove the folder under it).
    shown = out
    out = runfiles.check_output_location(out, key="--output")
    with runfiles.RunLock(out.parent, f".{out.name}.quickstart.lock", guards=f"--output {shown}"):
        if fresh and out.exists():
            _remove_own(out)
        return _run_steps(root, steps, out)


def _remove_own(out: Path) -> None:
    """Deletes what earlier quickstarts wrote in ``out``; refuses, deleting nothing, when it holds anything else."""
    if not out.is_dir() or out.is_symlink():
        raise QuickstartError(f"--output {out} is not a folder; choose a folder for the quickstart's runs")
    foreign = runfiles.foreign_paths(out)
    if foreign and not runfiles.claims(out):
        # A quickstart of a version that kept no manifest cannot prove what it wrote: the user decides.
        raise QuickstartError(f"--fresh would remove {out}, which has no record of what the quickstart wrote in it "
                              f"(a quickstart of an older xstilts, or another folder); remove it yourself (rm -r "
                              f"{shlex.quote(str(out))}) or choose another --output")
    if foreign:
        shown = ", ".join(str(p.relative_to(out)) for p in foreign[:5]) + (
            f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise QuickstartError(f"--fresh would remove {out}, which holds {shown} (no record that the quickstart wrote "
                              "them); move them elsewhere, choose another --output, or remove the folder yourself")
    kept = runfiles.remove_written(out)
    if kept:  # put there while the folder was being emptied: left as they are
        raise QuickstartError(f"--fresh kept {', '.join(str(p) for p in kept[:5])}, which appeared in {out} while its "
                              "runs were removed; move them elsewhere and run the quickstart again")


def _claim_output(out: Path, output: str) -> None:
    """Claims, in ``out``'s manifests, the folders a step writes into (the step claims what it writes in them)."""
    folder = out
    for part in Path(output).parts:
        runfiles.claim(folder, part, runfiles.FOLDER)
        folder = folder / part


def _run_steps(root: Path, steps: list[tuple[str, list[str], Path]], out: Path) -> int:
    cache: dict[str, ModuleType] = {}
    start = time.perf_counter()
    for i, (script, argv, done) in enumerate(steps, 1):
        shown = " ".join([f"python {script}", *argv])
        if done.exists():
            log(f"[{i}/{len(steps)}] finished earlier, skipped: {shown}")
            continue
        log(f"[{i}/{len(steps)}] {shown}")
        for key, value in (a.split("=", 1) for a in argv[1:] if "=" in a):
            if key in ("output", "export_predictions") and not os.path.relpath(value, out).startswith(".."):
                _claim_output(out, os.path.relpath(value, out))
        argv = [str(root / argv[0]) if not Path(argv[0]).is_absolute() else argv[0], *argv[1:]]
        code = _load(root, script, cache).main(argv)
        if code:
            log(f"quickstart stopped at step {i} (exit {code}): {shown}")
            return code
    minutes = (time.perf_counter() - start) / 60
    print(f"\nQuickstart finished in {minutes:.1f} min. Scores (percent; per-language results in "
          f"{out / 'results'}/<run>/<task>.json):\n", flush=True)
    print(report.render(report.summarize(out / "results")), end="")
    streamlit = Path(sys.executable).with_name("streamlit")
    shown_exe = os.path.relpath(streamlit) if streamlit.is_file() else "streamlit"
    print(f"\nBrowse them: {shown_exe} run viewer/app.py -- --results {out / 'results'} --runs {out}", flush=True)
    return 0
