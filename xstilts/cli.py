"""Command-line plumbing shared by the scripts: ``--help`` with every recipe key, and an error the user can fix
becomes one clear line and exit code 2.

This module stays light (no torch, transformers or datasets): the scripts parse and check their recipe through it
before importing the heavy libraries, so a typo is reported in well under a second.
"""
from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xstilts import recipe
from xstilts.errors import XstiltsError
from xstilts.log import restart_clock

# KeyError: an unknown task or language name (the registry's lookups); FileNotFoundError: a path the user gave.
KNOWN_ERRORS: tuple[type[BaseException], ...] = (XstiltsError, KeyError, FileNotFoundError)


def help_text(doc: str, recipe_cls: type | None) -> str:
    """A script's docstring followed by its recipe keys (dotted key: type = default  # help), one per line."""
    text = doc.strip("\n")
    if recipe_cls is not None:
        keys = "\n".join(f"  {line}" for line in recipe.describe(recipe_cls))
        text += ("\n\nRecipe keys (set them in the YAML recipe or as key=value after it; nested keys with dots, "
                 f"e.g. train.lr=1e-4):\n{keys}")
    return text + "\n"


def subcommand_help(doc: str, name: str) -> str:
    """A subcommand's usage: the lines of the script's docstring that show it (``python SCRIPT NAME ...``)."""
    lines = [line.strip() for line in doc.splitlines() if f".py {name} " in line]
    return "\n".join(lines or [f"{name}: see the script's --help"]) + "\n"


def run(body: Callable[[list[str]], int], argv: list[str] | None, script: str, doc: str = "",
        recipe_cls: type | None = None) -> int:
    """Runs a script body; a known error prints ``<script>: error: <message>`` and returns 2 (no traceback).

    ``-h``/``--help`` prints ``doc`` and, with ``recipe_cls``, every key of the script's recipe.
    """
    restart_clock()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print(help_text(doc, recipe_cls), end="", flush=True)
        return 0
    try:
        return body(argv)
    except KNOWN_ERRORS as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"{script}: error: {message}", file=sys.stderr, flush=True)
        return 2


def _quote(arg: str) -> str:
    return shlex.quote(arg)


def _shipped(recipe_file: str) -> str:
    """A shipped recipe's path as the user can type it from the current folder. Only the phase scripts print it, and
    they run from a clone, whose recipes/ sits beside the package; elsewhere it is the name as recipes/ spells it."""
    path = Path(__file__).resolve().parents[1] / recipe_file
    return os.path.relpath(path) if path.is_file() else recipe_file


def next_command(phase: str, out: Path, cfg: Any) -> str:
    """The command a user most likely runs after ``phase`` finished writing ``out``, runnable as printed.

    The recipe follows where the run's data came from: runs on the embedded data (the offline quickstart) go on with
    the quickstart recipes, others with the full recipes, and an XTREME download's ``data.source``/``data.path`` are
    repeated. Evaluation needs no data keys: it inherits them from the run it evaluates.
    """
    data = getattr(cfg, "data", None)
    offline = getattr(cfg, "source", None) == "tiny" or getattr(data, "source", None) == "embedded"
    xtreme = getattr(data, "source", None) == "xtreme"
    keep = [f"data.source={data.source}", f"data.path={data.path}"] if xtreme else []
    if phase == "phase1":
        recipe_file = _shipped("recipes/quickstart/phase2_mnli.yaml" if offline else "recipes/phase2/mnli.yaml")
        words = ["python", "phase2_intermediate.py", recipe_file, f"input={out}",
                 f"output={out.parent / next_name(out.name, 'p1', 'p2', 'mnli')}"]
    elif phase == "phase2":
        recipe_file = _shipped("recipes/quickstart/phase3_xnli.yaml" if offline else "recipes/phase3/xnli.yaml")
        words = ["python", "phase3_target.py", recipe_file, f"input={out}",
                 f"output={out.parent / next_name(out.name, 'p2', 'p3', 'xnli')}", *keep]
    else:
        # Beside the runs, in the results/ folder the quickstart's viewer command reads (--results <runs>/results).
        words = ["python", "evaluate_xtreme.py", f"input={out}",
                 f"output={out.parent / 'results' / (out.name.removeprefix('p3-') or out.name)}"]
    return " ".join(_quote(str(w)) for w in words)


def next_name(name: str, this: str, then: str, suffix: str) -> str:
    """The folder name a next phase's hint proposes: ``p1-xlmr`` -> ``p2-xlmr-mnli`` (the phase prefix follows the
    phase, so no phase-2 output is named ``p1-...``); a name without the prefix gets the suffix only."""
    if name == this:
        return f"{then}-{suffix}"
    if name.startswith(f"{this}-"):
        return f"{then}{name[len(this):]}-{suffix}"
    return f"{name}-{suffix}"
