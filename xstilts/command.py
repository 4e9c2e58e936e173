"""The ``xstilts`` console command: discover, copy and check recipes, summarise results, run the quickstart.

    xstilts ls [FOLDER]                          # shipped recipes with their one-line purpose
    xstilts cp phase3/xnli my_xnli.yaml          # copy a shipped recipe to edit
    xstilts validate phase3 my_xnli.yaml input=runs/p2 output=runs/p3   # check, run nothing
    xstilts report results/quickstart/results    # the score table of a results folder
    xstilts quickstart                           # the offline chain in one process (about a minute on 2 cores)
    xstilts check-hub [RECIPE ...]               # before a real run: every Hub dataset it reads loads as expected

The four phase scripts stay the interface of a run; this command only helps around them. It imports no heavy
library except for ``quickstart`` (whose steps import torch when they start) and ``validate evaluate`` (the task
types and the model-folder check it shares with the script import torch and transformers), so it answers at once.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from xstilts import __version__, cli, preflight, provenance, quickstart, recipe, report, runfiles
from xstilts.config import EvalRecipe, Phase1Recipe, Phase2Recipe, Phase3Recipe
from xstilts.errors import XstiltsError

# Each script: its recipe class and the phases its input may come from (validate checks the input folder).
SCRIPTS: dict[str, tuple[str, type, tuple[str, ...]]] = {
    "phase1": ("phase1_pretrained.py", Phase1Recipe, ()),
    "phase2": ("phase2_intermediate.py", Phase2Recipe, ("phase1", "phase2")),
    "phase3": ("phase3_target.py", Phase3Recipe, ("phase1", "phase2")),
    "evaluate": ("evaluate_xtreme.py", EvalRecipe, ("phase1", "phase2", "phase3")),
}


class CommandError(XstiltsError):
    """A wrong argument of the ``xstilts`` command."""


def repo_root() -> Path:
    """The checkout this package runs from (recipes/ and the phase scripts sit beside the package)."""
    return Path(__file__).resolve().parents[1]


def recipes_dir() -> Path:
    """The shipped recipes: the checkout's recipes/ folder."""
    folder = repo_root() / "recipes"
    if not folder.is_dir():
        raise CommandError(f"no recipes/ folder beside the installed package ({folder}); the shipped recipes come "
                           "with a clone of the repository: install it with `pip install -e .` from the clone")
    return folder


def script_for(name: str) -> tuple[str, type, tuple[str, ...]]:
    """The script entry for ``phase1``..``phase3``/``evaluate`` or a script's file name."""
    key = Path(name).name.removesuffix(".py")
    for short_name, entry in SCRIPTS.items():
        if key in (short_name, entry[0].removesuffix(".py")) or (short_name == "evaluate" and key == "eval"):
            return entry
    raise CommandError(f"unknown script {recipe.show(name)}; one of {', '.join(SCRIPTS)} "
                       f"(or {', '.join(e[0] for e in SCRIPTS.values())})")


def purpose(path: Path) -> str:
    """The one-line purpose of a recipe: the first sentence of its header comment (usage lines skipped)."""
    words: list[str] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.startswith("#"):
            break
        text = line.lstrip("#").strip()
        if text.startswith(("python ", "bash ")):
            if words:
                break
            continue
        words.append(text)
    sentence = " ".join(words).split(". ")[0].rstrip(".")
    return sentence if len(sentence) <= 110 else sentence[:107].rstrip() + "..."


def shipped(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.y*ml") if p.suffix in (".yaml", ".yml"))


def find_recipe(name: str) -> Path:
    """A shipped recipe by name (``phase3/xnli``, ``phase3/xnli.yaml``, ``recipes/phase3/xnli.yaml``) or path."""
    given = Path(name)
    if given.is_file():
        return given
    root = recipes_dir()
    rel = Path(*given.parts[1:]) if given.parts and given.parts[0] == "recipes" else given
    for candidate in (root / rel, *([root / rel.with_suffix(".yaml")] if rel.name else [])):  # "." has no name
        if candidate.is_file():
            return candidate
    near = [str(p.relative_to(root).with_suffix("")) for p in shipped(root) if p.stem == given.stem]
    if given.exists():
        what = "a folder" if given.is_dir() else "not a regular file (a FIFO, device or socket)"
        raise CommandError(f"{recipe.show(name)} is {what}, not a recipe file; give a YAML file or a shipped recipe "
                           "(`xstilts ls` lists them)")
    if given.is_symlink():
        raise CommandError(f"recipe file {recipe.show(name)} is a symlink to a missing file; check where it points")
    if given.suffix in (".yaml", ".yml") or given.is_absolute() or name.startswith(("./", "../", "~")):
        # Spelled as a file of the user's: that file is what is missing, not a shipped recipe.
        also = f" (shipped recipes of that name: {', '.join(near)})" if near else ""
        raise CommandError(f"recipe file {recipe.show(name)} does not exist{also}; check the path, or `xstilts ls` "
                           "for the shipped recipes")
    hint = f" (did you mean {', '.join(near)}?)" if near else "; `xstilts ls` lists them"
    raise CommandError(f"no recipe file {recipe.show(name)} and no shipped recipe of that name{hint}")


def cmd_ls(args: argparse.Namespace) -> int:
    root = recipes_dir()
    folder = root / args.folder if args.folder else root
    if not folder.is_dir():
        raise CommandError(f"no recipe folder {recipe.show(args.folder)} under {root}; one of "
                           + ", ".join(sorted(p.name for p in root.iterdir() if p.is_dir())))
    current = None
    for path in shipped(folder):
        rel = path.relative_to(root)
        if rel.parent != current:
            current = rel.parent
            print(f"\n{current}/")
        print(f"  {rel.stem:<22} {purpose(path)}")
    print("\ncopy one to edit: xstilts cp phase3/xnli my_xnli.yaml; its keys: python phase3_target.py --help")
    return 0


def cmd_cp(args: argparse.Namespace) -> int:
    src = find_recipe(args.recipe)
    dest = Path(args.dest)
    if dest.is_dir():
        dest = dest / src.name
    if dest.is_dir():
        raise CommandError(f"{dest} is a folder holding {src.name} already; choose another name")
    runfiles.check_new_file(dest, args.force, "name", "pass --force")
    if not dest.parent.is_dir():
        what = "is a file, not a folder" if dest.parent.exists() else "does not exist; create it first"
        raise CommandError(f"{dest.parent} {what}")
    try:
        text = src.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CommandError(f"{src} is not a UTF-8 text file ({exc.reason} at byte {exc.start}); recipes are YAML "
                           "text: copy a recipe, or re-save this file as UTF-8") from None
    except OSError as exc:
        raise CommandError(f"{src} cannot be read ({exc.strerror or exc})") from None
    runfiles.atomic_write_text(dest, text)
    print(f"copied {src} -> {dest}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Checks a recipe as the script would (keys, types, ranges, the input folder), without running anything."""
    script, cls, input_phases = script_for(args.script)
    argv = [str(find_recipe(args.recipe)) if not Path(args.recipe).is_file() and "=" not in args.recipe
            else args.recipe, *args.overrides]
    raw, source = recipe.arguments(argv)
    checked, folder = [], None
    if cls is EvalRecipe:  # the very checks the script makes before it loads anything (preflight)
        plan = preflight.check_evaluation(raw, source)
        cfg = plan.cfg
        checked.append(f"input {plan.run_folder} ({plan.phase})")
        if plan.inherited:
            checked.append(plan.inherited)
        preflight.check_model(plan)
        checked.append(f"model folder {provenance.model_dir(plan.run_folder)}; writes {plan.out_file}")
    else:
        cfg = recipe.build(cls, raw, source)
        if input_phases:
            folder, phase = provenance.check_input(cfg.input, input_phases, script)
            checked.append(f"input {folder} ({phase})")
            if hasattr(cfg, "train"):  # the script's own refusal of a precision the encoder's family cannot train in
                preflight.check_training_precision(provenance.model_dir(folder), cfg.train.precision,
                                                   cfg.train.attn_implementation)
                preflight.check_training_sources(cfg)
        # The output guard the script runs first (read-only here): a finished run is refused without overwrite=true,
        # an unfinished one resumes only under the same recipe.
        phase_name = script.split("_")[0]
        inputs = [p for p, _, _ in provenance.lineage(folder)] if folder is not None else []
        state = runfiles.prepare_output(cfg.output, cfg.overwrite, phase_name, inputs)
        if state == "resume":
            changes = provenance.recipe_changes(Path(cfg.output), cfg, folder)
            if changes and not cfg.overwrite:
                raise runfiles.RunFolderError(f"output {cfg.output} holds an unfinished {phase_name} run of another "
                                              f"recipe ({'; '.join(changes)}); the script would refuse it")
        checked.append(f"output {cfg.output} ({'replaced: overwrite=true' if state == 'replace' else state})")
    print(f"ok: {script} {source} is a valid recipe" + (f"; {'; '.join(checked)}" if checked else ""))
    print(f"differs from the defaults: {', '.join(recipe.differing_keys(cfg)) or 'nothing'}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    return report.main([args.results, *(["--write", args.write] if args.write else []),
                        *(["--floors", args.floors] if args.floors else []), *(["--force"] if args.force else [])])


def cmd_check_hub(options: list[str]) -> int:
    """Runs ``python -m xstilts.hubcheck OPTIONS`` in its own interpreter: it imports ``datasets``, which this command
    never does (so that every other subcommand answers at once); its options, help and exit status are its own."""
    return subprocess.run([sys.executable, "-m", "xstilts.hubcheck", *options], check=False).returncode


def cmd_quickstart(args: argparse.Namespace) -> int:
    return quickstart.run(Path(args.output), fresh=args.fresh)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="xstilts", description=__doc__.split("\n\n")[0],
                                  epilog="Runs: python phase1_pretrained.py | phase2_intermediate.py | "
                                         "phase3_target.py | evaluate_xtreme.py RECIPE [key=value ...] (--help lists "
                                         "every recipe key)")
    top.add_argument("--version", action="version", version=f"xstilts {__version__}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("ls", help="list the shipped recipes with their purpose")
    p.add_argument("folder", nargs="?", help="only this folder of recipes/ (phase1, phase2, phase3, eval, ...)")
    p.set_defaults(func=cmd_ls)
    p = sub.add_parser("cp", help="copy a shipped recipe to edit")
    p.add_argument("recipe", help="shipped recipe (e.g. phase3/xnli) or a path")
    p.add_argument("dest", help="file or existing folder to copy to")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p.set_defaults(func=cmd_cp)
    p = sub.add_parser("validate", help="check a recipe (and its input folder) without running anything")
    p.add_argument("script", help="phase1, phase2, phase3 or evaluate (or the script's file name)")
    p.add_argument("recipe", help="recipe file or shipped recipe name")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="overrides, as the script takes them")
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("report", help="the score table of a results folder (Markdown)")
    p.add_argument("results", help="a results folder (searched recursively)")
    p.add_argument("--write", metavar="FILE.md", help="also write it (and summary.json beside it)")
    p.add_argument("--floors", metavar="FILE.yaml", help="what each target must reach before a claim is drawn")
    p.add_argument("--force", action="store_true", help="replace existing --write files")
    p.set_defaults(func=cmd_report)
    # Listed here for --help; main() hands its arguments to xstilts.hubcheck untouched (see cmd_check_hub).
    p = sub.add_parser("check-hub", help="load the first rows of every Hub dataset the registry (or a recipe) reads "
                                         "and check them against it; run once before a real grid (needs network)")
    p.add_argument("options", nargs="*", help="[RECIPE ...] [--tasks T,..] [--languages L,..] [--rows N] [--jobs N]: "
                                              "xstilts check-hub --help")
    p = sub.add_parser("quickstart", help="the offline chain in one process, then its score table")
    p.add_argument("--output", default="results/quickstart", help="folder of the runs and results")
    p.add_argument("--fresh", action="store_true", help="remove the output folder first (else finished steps "
                                                        "are kept and an interrupted quickstart goes on)")
    p.set_defaults(func=cmd_quickstart)
    return top


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["check-hub"]:
        return cmd_check_hub(argv[1:])
    args = parser().parse_args(argv)
    try:
        return cli.run(lambda _: args.func(args), [], f"xstilts {args.command}")
    except BrokenPipeError:  # `xstilts ls | head`: the reader has what it wanted
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
