"""``xstilts check-hub``: loads the first rows of every Hub source the registry reads (or of those a recipe needs) and
checks each against the registry, before a real run spends its GPU hours finding out.

    python -m xstilts.hubcheck                                    # every source of every task, XTREME-R languages too
    python -m xstilts.hubcheck recipes/sweeps/paper_grid.yaml     # what a recipe (or a sweep's recipes) needs
    python -m xstilts.hubcheck --tasks udpos,xcopa --languages de,kk

One line per source (a repo, its config or parquet-branch folder, a split) and the tasks and languages that read it:

- ``ok``: the split exists, its columns, types and ClassLabel names (and their order) are the registry's, and its first
  rows map onto the task's canonical rows;
- ``absent``: a split the registry knows a language lacks (UD-POS Kazakh validation): evaluations mark it missing;
- ``differs``: what differs (a missing split with the splits there are, a column, a label order, a config name);
- ``unreachable``: why it could not be asked.

Sources read from the Hub's parquet conversion say which loading script on the repo's main branch they replace.
Then a summary. Exit status 0: all ok; 1: something differs or was unreachable; 2: offline or a bad argument.
``xstilts check-hub`` runs this module in its own interpreter (it imports ``datasets``; the ``xstilts`` command never
does, so it answers at once).
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import datasets

from xstilts import cli, data, recipe, rows
from xstilts.errors import XstiltsError
from xstilts.tasks import TASKS, DataSplit, HubSource, Task, benchmark_languages, get_task

Status = Literal["ok", "absent", "differs", "unreachable"]
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
REPO_ROOT = Path(__file__).resolve().parents[1]


class CheckHubError(XstiltsError):
    """A wrong argument of ``check-hub`` (an unknown task, a recipe that names none)."""


@dataclass(frozen=True)
class Check:
    """One Hub load the registry makes: a source (templates filled for ``lang``) and who reads it."""

    source: HubSource
    lang: str
    task: str  # the first task that reads it (its kind maps the rows)
    users: tuple[str, ...]  # "task role lang" of every reader

    @property
    def key(self) -> tuple[str, str | None, str | None, str | None, str]:
        config, data_dir, _ = data.hub_where(self.source, self.lang)
        return self.source.repo, config, data_dir, self.source.revision, self.source.split

    @property
    def name(self) -> str:
        """How the line names the load: repo, config (or branch folder), split."""
        repo, config, data_dir, revision, split = self.key
        if revision:
            where = f"{data_dir}@{revision}"
        elif config and data_dir:
            where = f"{config} {data_dir}/"
        else:
            where = config or data_dir or "(no config)"
        return f"{repo} {where} {split}"


@dataclass(frozen=True)
class Outcome:
    check: Check
    status: Status
    detail: str = ""

    def line(self) -> str:
        readers = ", ".join(self.check.users[:4]) + (f" +{len(self.check.users) - 4}" if len(self.check.users) > 4
                                                      else "")
        text = f"{self.status:<11} {self.check.name} ({readers})"
        return f"{text}: {self.detail}" if self.detail else text


# ---- what to check ---------------------------------------------------------------------------------------------------
def _task_splits(task: Task, langs: list[str]) -> Iterator[tuple[str, DataSplit, str]]:
    """(role, split, language) of every Hub load ``task`` makes for ``langs`` (training and dev in its training
    language; each evaluation split in each language, from ``lang_sources`` where XTREME-R reads another dataset)."""
    for split in task.train:
        yield "train", split, task.train_language
    if task.dev is not None:
        yield "dev", task.dev, task.train_language
    for role, split in task.eval.items():
        for lang in langs:
            for part in task.lang_sources.get(role, {}).get(lang, (split,)):
                yield role, part, lang
    if task.candidates is not None:
        yield "candidates", task.candidates, task.languages[0] if task.languages else "en"


def plan(task_names: Iterable[str] | None = None, languages: Iterable[str] | None = None) -> list[Check]:
    """The Hub loads of ``task_names`` (default: every task) in ``languages`` (default: each task's XTREME and XTREME-R
    languages), each load once with every reader; local-only tasks (CCG, BUCC, the mlm pseudo-task) have none."""
    names = list(task_names) if task_names else list(TASKS)
    wanted = set(languages or ())
    known = {lang for name in names for b in ("xtreme", "xtreme_r") for lang in benchmark_languages(get_task(name), b)}
    unknown = sorted(wanted - known - {get_task(name).train_language for name in names})
    if unknown:
        raise CheckHubError(f"language(s) {', '.join(unknown)} not in the tasks checked ({', '.join(names)}); their "
                            f"languages: {' '.join(sorted(known))}")
    found: dict[tuple, Check] = {}
    for name in names:
        task = get_task(name)
        langs = list(dict.fromkeys(benchmark_languages(task, "xtreme") + benchmark_languages(task, "xtreme_r")))
        langs = [lang for lang in langs if not wanted or lang in wanted]
        for role, split, lang in _task_splits(task, langs):
            if split.hub is None:
                continue
            check = Check(split.hub, lang, task.name, (f"{task.name} {role} {lang}",))
            seen = found.get(check.key)
            if seen is None:
                found[check.key] = check
            elif check.users[0] not in seen.users:
                found[check.key] = Check(seen.source, seen.lang, seen.task, seen.users + check.users)
    return list(found.values())


def recipe_scope(paths: list[str]) -> tuple[list[str], list[str]]:
    """The tasks and languages that recipes name (``task``, ``tasks``, a sweep's ``evaluate``, ``languages``),
    following the recipes a sweep names (``recipe: recipes/phase3/xnli.yaml``), relative to the current folder or the
    checkout.

    Raises:
        CheckHubError: a recipe that names no task.
    """
    tasks: list[str] = []
    langs: list[str] = []
    seen: set[Path] = set()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "task" and isinstance(value, str):
                    tasks.append(value)
                elif key in ("tasks", "evaluate") and isinstance(value, list):
                    tasks.extend(v for v in value if isinstance(v, str))
                elif key == "languages" and isinstance(value, list):
                    langs.extend(str(v) for v in value)
                elif key == "recipe" and isinstance(value, str):
                    read(value)
                else:
                    visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    def read(path_text: str) -> None:
        path = Path(path_text)
        if not path.is_file() and (REPO_ROOT / path).is_file():
            path = REPO_ROOT / path
        if path.resolve() in seen:
            return
        seen.add(path.resolve())
        visit(recipe.read_yaml(path))

    for path_text in paths:
        before = len(tasks)
        read(path_text)
        if len(tasks) == before:
            raise CheckHubError(f"recipe {path_text} names no task (no task:, tasks: or recipe: key); pass a phase-2, "
                                "phase-3, evaluation or sweep recipe, or --tasks")
    return list(dict.fromkeys(tasks)), list(dict.fromkeys(langs))


# ---- checking --------------------------------------------------------------------------------------------------------
def _unreachable(exc: BaseException) -> bool:
    """A network failure rather than an answer (datasets wraps those in ConnectionError; httpx's own pass through)."""
    return isinstance(exc, (ConnectionError, TimeoutError)) or type(exc).__module__.startswith(("httpx", "requests"))


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"


def _splits(builder: Any) -> list[str]:
    """The splits a builder offers, from its data files (README configs, folder names) or its split infos."""
    files = getattr(builder.config, "data_files", None)
    if files:
        return [str(s) for s in files]
    return [str(s) for s in (builder.info.splits or {})]


def _rows_problem(check: Check, first: list[dict]) -> str | None:
    """Why the first rows do not map onto the task's canonical rows (labels, nested fields), or None."""
    task = get_task(check.task)
    src = check.source
    try:
        rows.canonical_rows_counted(first, src.fields, src.labels, task.spec, check.name, keep=src.keep,
                                    n_labels=data.label_count(task))
    except XstiltsError as exc:
        return str(exc)
    return None


def check_group(checks: list[Check], rows: int = 5) -> list[Outcome]:
    """Checks the loads of one builder (same repo, config or folder, revision): the builder is made once, through the
    same ``datasets`` arguments as ``data.default_hub_loader``, then each split's first ``rows`` rows are streamed."""
    repo, config, data_dir, revision, _ = checks[0].key
    path, name, kwargs = data.hub_load_args(repo, config, None, revision, data_dir)
    try:
        builder = datasets.load_dataset_builder(path, name, **kwargs)
    except Exception as exc:  # noqa: BLE001 - every failure is a line of the report, never a traceback
        status: Status = "unreachable" if _unreachable(exc) else "differs"
        return [Outcome(c, status, f"cannot load: {_one_line(exc)}") for c in checks]
    have = _splits(builder)
    return [_check_split(c, builder, have, rows) for c in checks]


def _check_split(check: Check, builder: Any, have: list[str], rows: int) -> Outcome:
    src = check.source
    parts = src.split.split("+")
    lacking = [p for p in parts if p not in have]
    note = f"read from the Hub's parquet conversion (main holds the {src.converted_from})" if src.parquet_branch else ""
    if check.lang in src.absent_for:
        if lacking:
            return Outcome(check, "absent", f"no {src.split} split for {check.lang}, as the registry says")
        return Outcome(check, "differs", f"the registry says {check.lang} has no {src.split} split, but the Hub has "
                                         f"one: drop {check.lang} from its absent_for")
    if lacking:
        return Outcome(check, "differs", f"no split {', '.join(lacking)} (the Hub has {', '.join(have) or 'none'})")
    try:
        stream = builder.as_streaming_dataset(split=parts[0])
        first = list(islice(iter(stream), rows))
    except Exception as exc:  # noqa: BLE001
        return Outcome(check, "unreachable" if _unreachable(exc) else "differs", f"cannot read: {_one_line(exc)}")
    if not first:
        return Outcome(check, "differs", "the split is empty")
    # JSON sources declare no features: the first rows' inferred types stand in (they hold no ClassLabel to compare).
    features = stream.features or datasets.Dataset.from_list(first).features
    problems = data.schema_problems(features, src)
    if problems:
        return Outcome(check, "differs", "; ".join(problems))
    problem = _rows_problem(check, first)
    if problem:
        return Outcome(check, "differs", f"first rows: {problem}")
    return Outcome(check, "ok", note)


def _groups(checks: list[Check]) -> list[list[Check]]:
    groups: dict[tuple, list[Check]] = {}
    for check in checks:
        groups.setdefault(check.key[:4], []).append(check)
    return list(groups.values())


def run(checks: list[Check], rows: int = 5, jobs: int = 4, out: Any = None) -> int:
    """Checks ``checks`` (builders in parallel threads, lines in plan order), prints one line each and the summary.

    Returns:
        0 when every load is ok or absent as the registry says, 1 otherwise, 2 when the first builder could not reach
        the Hub (offline: one line instead of hundreds).
    """
    out = out or sys.stdout
    groups = _groups(checks)
    if not groups:
        raise CheckHubError("nothing to check: the tasks named read no Hub dataset (CCG, BUCC and mlm are local)")
    first = check_group(groups[0], rows)
    if all(o.status == "unreachable" for o in first) and first[0].detail.startswith("cannot load"):
        print(f"check-hub: cannot reach the Hugging Face Hub ({first[0].detail.removeprefix('cannot load: ')}); it "
              "loads the first rows of each dataset and needs network: run it where the Hub is reachable", file=out,
              flush=True)
        return 2
    counts = dict.fromkeys(("ok", "absent", "differs", "unreachable"), 0)

    def report(outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            counts[outcome.status] += 1
            print(outcome.line(), file=out, flush=True)

    report(first)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for outcomes in pool.map(lambda g: check_group(g, rows), groups[1:]):
            report(outcomes)
    total = sum(counts.values())
    print(f"check-hub: {total} Hub loads: {counts['ok']} ok, {counts['absent']} absent as the registry says, "
          f"{counts['differs']} differ, {counts['unreachable']} unreachable", file=out, flush=True)
    if counts["differs"]:
        print("check-hub: a load that differs would stop (or silently mislead) a real run: fix its entry in "
              "xstilts/tasks.py, or report it", file=out, flush=True)
    return 0 if counts["differs"] == counts["unreachable"] == 0 else 1


def offline_reason(env: dict[str, str] | None = None) -> str | None:
    """The variable that puts the Hub libraries offline, when one is set (``HF_HUB_OFFLINE=1``), else None."""
    env = os.environ if env is None else env
    for name in OFFLINE_VARIABLES:
        if env.get(name, "").strip().lower() in ("1", "true", "yes", "on"):
            return f"{name}={env[name]}"
    return None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="xstilts check-hub", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("recipes", nargs="*", metavar="RECIPE",
                   help="only the tasks and languages these recipes name (phase 2/3, evaluation or sweep recipes)")
    p.add_argument("--tasks", help="comma-separated task names (default: every task the registry knows)")
    p.add_argument("--languages", help="comma-separated languages (default: each task's XTREME and XTREME-R set)")
    p.add_argument("--rows", type=int, default=5, help="rows read from each split (default 5)")
    p.add_argument("--jobs", type=int, default=8, help="datasets asked at once (default 8; the wait is the network)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)

    def body(_: list[str]) -> int:
        # The arguments first: a typo in a task, a language or a recipe is named offline too, not after the user
        # went online to find it.
        if args.rows < 1:
            raise CheckHubError(f"--rows must be at least 1, got {args.rows}")
        if args.jobs < 1:
            raise CheckHubError(f"--jobs must be at least 1, got {args.jobs}")
        tasks = [t for t in args.tasks.split(",") if t.strip()] if args.tasks else []
        langs = [lang for lang in args.languages.split(",") if lang.strip()] if args.languages else []
        if args.recipes:
            named, named_langs = recipe_scope(args.recipes)
            tasks, langs = tasks or named, langs or named_langs
        checks = plan([t.strip() for t in tasks], [lang.strip() for lang in langs])
        if not _groups(checks):
            raise CheckHubError("nothing to check: the tasks named read no Hub dataset (CCG, BUCC and mlm are local)")
        offline = offline_reason()
        if offline:
            print(f"check-hub: {offline} is set, so the Hub cannot be asked: unset it (or run check-hub where the Hub "
                  f"is reachable); nothing was checked ({len(checks)} loads planned)", flush=True)
            return 2
        datasets.disable_progress_bars()
        datasets.logging.set_verbosity_error()
        return run(checks, args.rows, args.jobs)

    return cli.run(body, [], "xstilts check-hub")


if __name__ == "__main__":
    sys.exit(main())
