"""Property tests of the surfaces issue 25 attacked: sweep plans and the ``xstilts`` command.

Sweep plans: whatever names, seeds, LoRA settings and targets a sweep declares, expanding it either refuses with one
``RecipeError`` or plans every run the grid promises, each with an output no other command writes (two different
runs mapping to one output used to be reduced to one, silently).

The ``xstilts`` command: whatever arguments it is given (subcommands, options, paths that exist, do not, are folders
or files that are not UTF-8, key=value overrides), it answers with exit 0 or one ``error:`` line with exit 2, never a
traceback, and never changes a file that existed before unless ``--force`` was given.

Deterministic (``derandomize=True``); a few seconds each on one CPU core.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import os
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xstilts import command, sweep
from xstilts.recipe import RecipeError

REPO = Path(__file__).resolve().parents[1]
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# ---- sweep plans ----------------------------------------------------------------------------------------------------
# Names from few parts, hyphens included, so that different encoder/intermediate/target combinations can join to
# the same folder name ("a-b" + "c" and "a" + "b-c").
NAME = st.lists(st.sampled_from(["a", "b", "x"]), min_size=1, max_size=3).map("-".join)
P1_RECIPES = ["recipes/phase1/tiny_multilingual.yaml", "recipes/phase1/tiny_english.yaml"]
TARGETS = {"xnli": "recipes/quickstart/phase3_xnli.yaml", "pawsx": "recipes/quickstart/phase3_pawsx.yaml"}


@st.composite
def sweeps(draw) -> dict:
    encoders = draw(st.dictionaries(NAME, st.sampled_from(P1_RECIPES), min_size=1, max_size=3))
    inters = draw(st.dictionaries(NAME, st.sampled_from([0.0, 1e-4]), max_size=2))
    targets = {}
    for name in draw(st.lists(NAME, min_size=1, max_size=3, unique=True)):
        task = draw(st.sampled_from(sorted(TARGETS)))  # two targets may well train (and evaluate) the same task
        spec = {"recipe": TARGETS[task], "overrides": [f"train.lr={draw(st.sampled_from([1e-5, 2e-5]))}"]}
        targets[name] = spec
    return {
        "name": "fuzz", "runs": "RUNS", "results": "RESULTS",
        "encoders": {k: {"recipe": v, "size": "tiny"} for k, v in encoders.items()},
        "intermediates": {"none": None, **{k: {"recipe": "recipes/quickstart/phase2_mnli.yaml",
                                               "overrides": [f"train.weight_decay={wd}"]}
                                           for k, wd in inters.items() if k != "none"}},
        "targets": targets,
        "seeds": draw(st.lists(st.sampled_from([1, 2, 3]), min_size=1, max_size=2, unique=True)),
        "lora": draw(st.sampled_from([[False], [True], [False, True]])),
        "data": {"source": "embedded"},
        "eval": {"recipe": "recipes/quickstart/eval.yaml"},
    }


def _expected_phase3(spec: dict) -> int:
    """The phase-3 runs the grid promises: encoder x LoRA x intermediate x target x seed."""
    return (len(spec["encoders"]) * len(spec["lora"]) * len(spec["intermediates"]) * len(spec["targets"])
            * len(spec["seeds"]))


def test_a_sweep_plans_every_promised_run_or_refuses(tmp_path_factory, monkeypatch):
    monkeypatch.chdir(REPO)  # the recipes a sweep names are relative to the repository

    @SETTINGS
    @given(spec=sweeps())
    def run(spec):
        folder = tmp_path_factory.mktemp("sweep")
        text = yaml.safe_dump(spec).replace("RUNS", str(folder / "runs")).replace("RESULTS", str(folder / "res"))
        (folder / "s.yaml").write_text(text)
        try:
            plan = sweep.expand(sweep.load_sweep([str(folder / "s.yaml")]))
        except RecipeError as exc:
            assert "would write" in str(exc) or "would be both" in str(exc), str(exc)
            return
        outputs = [r.done for r in plan.runs]
        assert len(outputs) == len(set(outputs))
        commands = {(r.phase, tuple(r.args)) for r in plan.runs}
        assert len(commands) == len(plan.runs), "one command planned twice"
        assert len(plan.level("phase3")) == _expected_phase3(spec), "a promised phase-3 run was dropped"
        owners: dict[str, str] = {}
        for r in plan.runs:  # a run folder is one run's; a results folder holds evaluations only
            owner = "results" if r.phase == "eval" else r.name
            assert owners.setdefault(r.output, owner) == owner

    run()


def test_the_refusal_names_both_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    spec = {"name": "twins", "runs": str(tmp_path / "runs"), "results": str(tmp_path / "res"),
            "encoders": {"a-b": {"recipe": P1_RECIPES[0], "size": "tiny"}, "a": {"recipe": P1_RECIPES[1],
                                                                                  "size": "tiny"}},
            "intermediates": {"none": None}, "targets": {"xnli": {"recipe": TARGETS["xnli"]}},
            "seeds": [1], "lora": [False], "data": {"source": "embedded"},
            "eval": {"recipe": "recipes/quickstart/eval.yaml"}}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(spec))
    plan = sweep.expand(sweep.load_sweep([str(tmp_path / "s.yaml")]))  # "a-b"+"none" and "a"+"b-none" cannot meet
    assert len(plan.level("phase1")) == 2
    spec["intermediates"] = {"none": None, "b-x": {"recipe": "recipes/quickstart/phase2_mnli.yaml"}}
    spec["encoders"]["a-b-x"] = {"recipe": P1_RECIPES[1], "size": "tiny"}
    spec["intermediates"]["x"] = {"recipe": "recipes/quickstart/phase2_mnli.yaml", "overrides": ["train.lr=1e-4"]}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(spec))
    twins = r"two different runs would write \S+/p2-a-b-x/DONE: phase2 .* and phase2 .*a folder holds one run"
    with pytest.raises(RecipeError, match=twins):
        sweep.expand(sweep.load_sweep([str(tmp_path / "s.yaml")]))


# ---- the xstilts command --------------------------------------------------------------------------------------------
FILES = {"recipe.yaml": b"output: runs/x\nname: mine\n", "latin1.yaml": "name: caf\xe9\n".encode("latin-1"),
         "notes.md": b"precious notes\n", "qs/mine.json": b'{"mine": true}\n'}
PATHS = ["recipe.yaml", "latin1.yaml", "notes.md", "qs", "qs/mine.json", "absent.yaml", "absent", "notes.md/x.yaml",
         "~/x.yaml", ".", "/", "a\x00b", "phase3/xnli", "quickstart/eval", "phase1/tiny_multilingual", "eval",
         "results/mini"]
WORDS = st.sampled_from(PATHS) | st.sampled_from(["output=out", "output=qs", "input=qs", "task=xnli", "train.lr=-1",
                                                  "name=\"a\\nb\"", "nonsense=1", "overwrite=true", "-h"]) \
    | st.text(max_size=8)


@st.composite
def command_lines(draw) -> list[str]:
    """Mostly well-formed command lines of each subcommand (so they reach its code), some junk."""
    path = st.sampled_from(PATHS) | st.text(max_size=6)
    sub = draw(st.sampled_from(["ls", "cp", "validate", "report", "quickstart", "junk"]))
    force = draw(st.sampled_from([[], [], ["--force"]]))
    if sub == "ls":
        return ["ls", *draw(st.lists(st.sampled_from(["phase3", "eval", "qs", "..", "absent", "notes.md"]),
                                     max_size=1))]
    if sub == "cp":
        return ["cp", draw(path), draw(st.sampled_from(["notes.md", "new.yaml", "qs", "qs/mine.json", "absent/x.yaml",
                                                        "notes.md/x.yaml", "recipe.yaml"])), *force]
    if sub == "validate":
        return ["validate", draw(st.sampled_from(["phase1", "phase2", "phase3", "evaluate", "eval", "phase9"])),
                draw(path), *draw(st.lists(WORDS, max_size=3))]
    if sub == "report":
        write = draw(st.sampled_from([[], ["--write", "notes.md"], ["--write", "new.md"], ["--write", "qs"],
                                      ["--write", "notes.md/x.md"], ["--write", "qs/mine.json"]]))
        floors = draw(st.sampled_from([[], ["--floors", "recipe.yaml"], ["--floors", "latin1.yaml"],
                                       ["--floors", "absent.yaml"]]))
        return ["report", draw(st.sampled_from(["qs", ".", "absent", "notes.md", str(REPO / "results" / "mini")])),
                *write, *floors, *force]
    if sub == "quickstart":  # only the refusals: --fresh on a folder holding a user's file (never the chain itself)
        return ["quickstart", "--fresh", "--output", draw(st.sampled_from(["qs", ".", "/", "notes.md"]))]
    return [w for w in draw(st.lists(WORDS, max_size=4)) if w]


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


def test_the_command_answers_one_line_and_replaces_nothing_unasked(tmp_path_factory, monkeypatch):
    @settings(SETTINGS, max_examples=150)
    @given(argv=command_lines())
    def run(argv):
        home = tmp_path_factory.mktemp("cmd")
        for name, data in FILES.items():
            (home / name).parent.mkdir(parents=True, exist_ok=True)
            (home / name).write_bytes(data)
        monkeypatch.chdir(home)
        before = _snapshot(home)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = command.main(argv)
            except SystemExit as exc:  # argparse: usage errors (2), --help and --version (0)
                code = exc.code
        text = err.getvalue()
        assert code in (0, 2), (argv, code, text[-2000:])
        assert "Traceback" not in text, (argv, text[-2000:])
        if code == 2 and "usage:" not in text:
            assert [line for line in text.splitlines() if ": error: " in line], (argv, text[-2000:])
        after = _snapshot(home)
        changed = [name for name in before if after.get(name) != before[name]]
        if "--force" not in argv:
            assert not changed, (argv, changed)
        assert os.path.isdir(home / "qs")

    run()


# ---- result files whose chain fields have the wrong types -----------------------------------------------------------
BAD = st.sampled_from([None, 3, -1.5, "x", [], {}, [1, "a"], {"a": 1}, True])
CHAIN_KEYS = ["done", "recipe", "phase", "folder", "environment", "metrics", "stats", "run", "parent_check",
              "recipe.train", "recipe.task", "recipe.tasks", "recipe.lora", "recipe.data", "metrics.cost",
              "metrics.dev", "stats.kind", "stats.name", "stats.languages", "done.task", "done.wall_time_s"]
MINI = REPO / "results/archive/mini-before-issue29"  # its SIQA cells: an intermediate of every kind
SAMPLE = ["e5-small-multi-none-s1/xnli.json", "e5-small-multi-siqa-s1/xnli.json", "e5-small-multi-none/tatoeba.json",
          "minilm-english-none-s1/xnli.json", "minilm-english-siqa-s1/xnli.json"]


def _mutate(data: dict, where: str, value, entry: int) -> None:
    if where == "<chain>":
        data["chain"] = value
        return
    chain = data.get("chain")
    if not isinstance(chain, list) or not chain:
        return
    target = chain[entry % len(chain)]
    if where == "<entry>":
        chain[entry % len(chain)] = value
        return
    head, _, rest = where.partition(".")
    if rest and isinstance(target.get(head), dict):
        target[head][rest] = value
    elif not rest:
        target[head] = value


def test_wrong_typed_chain_fields_never_end_in_a_traceback(tmp_path_factory):
    """The report with floors and the viewer's tables on results whose chain fields have the wrong types: a table, or
    the file listed as broken, never an exception."""
    import json

    from xstilts import report
    from xstilts.view import loading

    @settings(SETTINGS, max_examples=25)
    @given(where=st.sampled_from(["<chain>", "<entry>", *CHAIN_KEYS]), value=BAD, entry=st.integers(0, 3),
           which=st.sets(st.sampled_from(SAMPLE), min_size=1))
    def run(where, value, entry, which):
        root = tmp_path_factory.mktemp("res")
        for rel in SAMPLE:
            data = json.loads((MINI / rel).read_text())
            if rel in which:
                _mutate(data, where, value, entry)
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(json.dumps(data))
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = report.main([str(root), "--floors", str(MINI / "floors.yaml")])
        assert code in (0, 2) and "Traceback" not in err.getvalue(), err.getvalue()[-2000:]
        results = [r for _, r in loading.load_results(root).results]
        for r in results:
            loading.chain_table(r)
        loading.cost_table(results)
        loading.overview_table(results)
        loading.floor_verdicts(results, MINI / "floors.yaml")

    run()


# ---- the manifest: deletes exactly what it proves, at any depth ------------------------------------------------------
ENTRY = st.tuples(st.lists(st.sampled_from(["a", "b", "final", "results"]), min_size=0, max_size=2),
                  st.sampled_from(["x.json", "DONE", "notes.md"]), st.lists(st.booleans(), min_size=3, max_size=3))


def test_remove_written_deletes_exactly_what_the_manifests_claim(tmp_path_factory):
    """Random trees, each level claimed or not (a folder, or a tree: ours whole): what ``foreign_paths`` names is
    exactly what ``remove_written`` keeps, byte for byte; everything else is gone; nothing outside is touched."""
    from xstilts import runfiles

    @settings(SETTINGS, max_examples=60)
    @given(entries=st.lists(ENTRY, max_size=8), trees=st.sets(st.sampled_from(["final", "a"])))
    def run(entries, trees):
        base = tmp_path_factory.mktemp("tree")
        top = base / "top"
        top.mkdir()
        (base / "outside.txt").write_text("outside")
        for parts, name, flags in entries:
            folder = top
            # flags has one entry per possible folder level and one more: the file's (flags[len(parts)])
            for part, claimed in zip(parts, flags, strict=False):
                if claimed:
                    runfiles.claim(folder, part, runfiles.TREE if part in trees else runfiles.FOLDER)
                folder = folder / part
            if flags[len(parts)]:
                runfiles.claim(folder, name)
            folder.mkdir(parents=True, exist_ok=True)
            if not (folder / name).is_dir():
                (folder / name).write_text(str(folder / name))
        before = {p: p.read_text() for p in top.rglob("*") if p.is_file() and p.name != runfiles.MANIFEST}
        foreign = runfiles.foreign_paths(top)
        kept = runfiles.remove_written(top)
        assert sorted(kept) == sorted(foreign)
        for path, text in before.items():
            if any(path == f or f in path.parents for f in foreign):
                assert path.read_text() == text, path  # not provably ours: untouched
            else:
                assert not path.exists(), path  # claimed at every level (or inside a claimed tree): deleted
        assert (base / "outside.txt").read_text() == "outside"

    run()
