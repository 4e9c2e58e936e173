"""The toolkit around the runs: --help with every recipe key, fast failure before the heavy imports, the ``xstilts``
console command, packaging, the one-process quickstart and the "next:" commands the phases print."""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from helpers import CORPUS, FAST, P1_FAST

from xstilts import command, quickstart, recipe
from xstilts.config import EvalRecipe, Phase1Recipe, Phase2Recipe, Phase3Recipe

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = {"phase1_pretrained.py": Phase1Recipe, "phase2_intermediate.py": Phase2Recipe,
           "phase3_target.py": Phase3Recipe, "evaluate_xtreme.py": EvalRecipe}
HEAVY = ("torch", "transformers", "datasets", "peft", "accelerate")


def _python(code: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_lists_every_recipe_key_with_type_default_and_help(script):
    out = subprocess.run([sys.executable, script, "--help"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    keys = [line.split(":")[0] for line in recipe.describe(SCRIPTS[script])]
    listed = {line.strip().split(":")[0] for line in out.stdout.splitlines() if line.startswith("  ")}
    assert set(keys) <= listed
    assert "train.lr: float = 2e-05  # peak learning rate" in out.stdout or script in ("phase1_pretrained.py",
                                                                                          "evaluate_xtreme.py")
    assert "output: str = (required)" in out.stdout


@pytest.mark.parametrize("sub", ["score", "benchmark"])
def test_evaluation_subcommands_have_help(sub):
    out = subprocess.run([sys.executable, "evaluate_xtreme.py", sub, "--help"], cwd=REPO, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and f"python evaluate_xtreme.py {sub} " in out.stdout, out.stderr


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_recipe_typo_exits_2_before_torch_is_imported(script, tmp_path):
    """The script runs in a fresh interpreter; afterwards none of the heavy libraries is in sys.modules."""
    code = (f"import runpy, sys, json\nsys.argv = [{script!r}, 'recipes/quickstart/phase3_xnli.yaml', 'trian.lr=1', "
            f"'input={tmp_path}', 'output={tmp_path / 'out'}']\n"
            "try:\n    runpy.run_path(sys.argv[0], run_name='__main__')\nexcept SystemExit as e:\n    code = e.code\n"
            f"print(json.dumps({{'code': code, 'heavy': [m for m in {HEAVY!r} if m in sys.modules]}}))")
    out = _python(code)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report == {"code": 2, "heavy": []}, out.stderr
    assert "error:" in out.stderr and "trian" in out.stderr
    assert not (tmp_path / "out").exists()


def test_an_unknown_evaluation_language_exits_2_before_torch_is_imported(tiny_phase1, tmp_path):
    code = ("import runpy, sys, json\nsys.argv = ['evaluate_xtreme.py', 'task=tatoeba', 'languages=[de,xx]', "
            f"'input={tiny_phase1}', 'output={tmp_path / 'r'}']\n"
            "try:\n    runpy.run_path(sys.argv[0], run_name='__main__')\nexcept SystemExit as e:\n    code = e.code\n"
            f"print(json.dumps({{'code': code, 'heavy': [m for m in {HEAVY!r} if m in sys.modules]}}))")
    out = _python(code)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"code": 2, "heavy": []}, out.stderr
    assert "['xx'] not in task tatoeba" in out.stderr


def test_evaluation_inherits_the_data_source_unless_the_recipe_sets_it():
    from xstilts.config import DataConfig, inherit_data_source

    trained = Phase3Recipe(input="a", output="b", task="xnli", data=DataConfig(source="embedded"))
    raw, note = inherit_data_source({"input": "b", "output": "r"}, trained)
    assert raw["data"] == {"source": "embedded"} and "source=embedded" in note
    assert recipe.build(EvalRecipe, raw).data.source == "embedded"
    xtreme = Phase3Recipe(input="a", output="b", task="xnli", data=DataConfig(source="xtreme", path="/d"))
    assert inherit_data_source({"data": {"max_eval_samples": 5}}, xtreme)[0]["data"] == {
        "max_eval_samples": 5, "source": "xtreme", "path": "/d"}
    # Set by the user: kept as given, even when only one of the two keys is.
    assert inherit_data_source({"data": {"source": "hub"}}, xtreme) == ({"data": {"source": "hub"}}, None)
    assert inherit_data_source({"data": {"path": "/e"}}, xtreme) == ({"data": {"path": "/e"}}, None)
    # Nothing to inherit: a phase-1 recipe has no data section; the default source stays implicit.
    assert inherit_data_source({}, Phase1Recipe(output="x")) == ({}, None)
    assert inherit_data_source({}, Phase3Recipe(input="a", output="b", task="xnli")) == ({}, None)


# ---- the xstilts command

def test_ls_lists_every_shipped_recipe_with_its_purpose(capsys):
    assert command.main(["ls"]) == 0
    out = capsys.readouterr().out
    for path in (REPO / "recipes").rglob("*.yaml"):
        assert re.search(rf"^  {re.escape(path.stem)} +\S", out, re.M), path
    assert "Offline quickstart" in out
    assert command.main(["ls", "phase1"]) == 0
    assert "\nphase3/" not in capsys.readouterr().out
    assert command.main(["ls", "nope"]) == 2
    assert "no recipe folder" in capsys.readouterr().err


def test_cp_copies_a_shipped_recipe_and_never_overwrites_silently(tmp_path, capsys):
    dest = tmp_path / "mine.yaml"
    assert command.main(["cp", "phase3/xnli", str(dest)]) == 0
    assert dest.read_text() == (REPO / "recipes/phase3/xnli.yaml").read_text()
    dest.write_text("# my edits\n")
    assert command.main(["cp", "phase3/xnli.yaml", str(dest)]) == 2
    assert "exists" in capsys.readouterr().err and dest.read_text() == "# my edits\n"
    assert command.main(["cp", "recipes/phase3/xnli.yaml", str(dest), "--force"]) == 0
    assert command.main(["cp", "phase3/xnli", str(tmp_path)]) == 0 and (tmp_path / "xnli.yaml").is_file()
    assert command.main(["cp", "xnli", str(tmp_path / "x.yaml")]) == 2
    assert "did you mean phase3/xnli" in capsys.readouterr().err


def test_validate_checks_a_recipe_and_its_input_without_running(tiny_phase1, tmp_path, capsys):
    out = tmp_path / "p3"
    assert command.main(["validate", "phase3", "quickstart/phase3_xnli", f"input={tiny_phase1}",
                         f"output={out}"]) == 0
    printed = capsys.readouterr().out
    assert "ok: phase3_target.py" in printed and "differs from the defaults: " in printed and "task=xnli" in printed
    assert not out.exists()
    assert command.main(["validate", "phase3_target.py", "quickstart/phase3_xnli", "train.lr=-1",
                         f"input={tiny_phase1}", f"output={out}"]) == 2
    assert "train.lr" in capsys.readouterr().err
    assert command.main(["validate", "phase3", "quickstart/phase3_xnli", f"input={tmp_path / 'none'}",
                         f"output={out}"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert command.main(["validate", "phase9", "quickstart/phase3_xnli"]) == 2
    assert "unknown script" in capsys.readouterr().err
    # The output guard: a finished run there is refused (as the script would), never touched.
    assert command.main(["validate", "phase3", "quickstart/phase3_xnli", f"input={tiny_phase1}",
                         f"output={tiny_phase1}"]) == 2
    assert "input folder" in capsys.readouterr().err
    assert command.main(["validate", "phase1", "phase1/tiny_multilingual", f"output={tiny_phase1}"]) == 2
    assert "finished" in capsys.readouterr().err
    assert command.main(["validate", "evaluate", "quickstart/eval", f"input={tiny_phase1}", "task=tatoeba",
                         "languages=[xx]", f"output={tmp_path / 'r'}"]) == 2
    assert "xx" in capsys.readouterr().err
    assert command.main(["validate", "evaluate", "quickstart/eval", f"input={tiny_phase1}", "task=tatoeba",
                         f"output={tmp_path / 'r'}"]) == 0
    assert "writes " in capsys.readouterr().out and not (tmp_path / "r").exists()


def test_the_console_command_answers_without_importing_torch():
    out = _python("import sys, json\nfrom xstilts import command\ncode = command.main(['ls'])\n"
                  f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    assert out.returncode == 0 and json.loads(out.stdout.strip().splitlines()[-1]) == []


# ---- packaging

def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_every_package_folder_is_declared_so_a_wheel_install_has_it():
    declared = set(_pyproject()["tool"]["setuptools"]["packages"])
    folders = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "xstilts").rglob("*.py")}
    assert folders == declared


def test_declared_dependencies_cover_the_pinned_set():
    """Every runtime package pinned in requirements.txt is declared (viewer and test tools as extras), and the
    pinned version satisfies the declared lower bound."""
    from packaging.requirements import Requirement

    project = _pyproject()["project"]
    declared = {Requirement(r).name.lower(): Requirement(r) for r in project["dependencies"]}
    extras = {Requirement(r).name.lower() for group in project["optional-dependencies"].values() for r in group}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        pin = Requirement(line)
        name = pin.name.lower().replace("_", "-")
        assert name in declared or name in extras, f"{name} pinned but not declared in pyproject.toml"
        if name in declared:
            version = next(iter(pin.specifier)).version
            assert declared[name].specifier.contains(version), (name, version)
    assert project["scripts"]["xstilts"] == "xstilts.command:main"


@pytest.mark.slow
def test_pip_install_editable_in_a_fresh_venv_gives_the_console_command(tmp_path):
    """A clean checkout installed with ``pip install -e .`` into a new venv. The venv reuses this environment's
    installed libraries (a .pth file; no download) and its pip and setuptools for the build."""
    import setuptools
    from packaging.version import Version

    needed = _pyproject()["build-system"]["requires"][0].split(">=")[1]
    if Version(setuptools.__version__) < Version(needed):  # the build reuses this environment's setuptools
        pytest.skip(f"setuptools {setuptools.__version__} here; the build needs {needed} or newer")
    checkout = tmp_path / "checkout"
    tracked = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                             capture_output=True, check=True).stdout
    if not tracked:
        pytest.skip("not a git checkout")
    for name in tracked.decode().split("\0"):
        if name and (REPO / name).is_file():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            (checkout / name).write_bytes((REPO / name).read_bytes())
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next((venv / "lib").glob("python3*/site-packages"))
    import sysconfig

    (site / "reuse-test-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    py = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", "."],
                   cwd=checkout, check=True, env=env, timeout=300, capture_output=True)
    exe = venv / "bin" / "xstilts"
    assert exe.is_file()
    ls = subprocess.run([str(exe), "ls", "phase3"], cwd=tmp_path, env=env, capture_output=True, text=True,
                        timeout=120)
    assert ls.returncode == 0 and "xnli" in ls.stdout, ls.stderr
    where = subprocess.run([str(py), "-c", "import xstilts.tasktypes.span_qa as m; print(m.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert where.stdout.strip().startswith(str(checkout)), where.stderr


# ---- the quickstart in one process, and the commands the phases print

def _patch_corpus(monkeypatch):
    from xstilts import encoders

    monkeypatch.setattr(encoders, "corpus_lines", lambda lang, sample=False: CORPUS)


def test_quickstart_runs_its_chain_in_one_process_and_prints_the_score_table(tmp_path, monkeypatch, capsys):
    _patch_corpus(monkeypatch)
    qs = "recipes/quickstart"
    plan = [(quickstart.P1, "recipes/phase1/tiny_multilingual.yaml", "p1-multi", tuple(P1_FAST)),
            (quickstart.P3, f"{qs}/phase3_xnli.yaml", "p3-multi-none-xnli", ("input=p1-multi", *FAST)),
            (quickstart.EVAL, f"{qs}/eval.yaml", "results/multi-none", ("input=p3-multi-none-xnli", "task=xnli",
                                                                       "data.max_eval_samples=20"))]
    out = tmp_path / "qs"
    assert quickstart.run(out, plan=plan) == 0
    printed = capsys.readouterr().out
    assert "[3/3] python evaluate_xtreme.py" in printed
    assert re.search(r"^\| xnli \| accuracy \|", printed, re.M), printed[-2000:]
    assert re.search(r"Browse them: \S*streamlit run viewer/app.py", printed)
    assert (out / "results/multi-none/xnli.json").is_file()
    # Run again: every step is finished, so nothing is trained again and the table is printed again.
    assert quickstart.run(out, plan=plan) == 0
    again = capsys.readouterr().out
    assert again.count("finished earlier, skipped") == 3 and "| xnli |" in again


def test_quickstart_fresh_never_removes_what_it_did_not_write(tmp_path, monkeypatch):
    """--fresh removes the output folder only when it holds nothing but the quickstart's own outputs; the current
    folder, the home folder and a file are refused outright; two quickstarts of one folder cannot run at once."""
    from xstilts import runfiles
    from xstilts.errors import XstiltsError

    plan = [(quickstart.P1, "recipes/phase1/tiny_multilingual.yaml", "p1-multi", tuple(P1_FAST))]
    mine = tmp_path / "mine"
    (mine / "notes").mkdir(parents=True)
    (mine / "notes" / "paper.tex").write_text("precious")
    with pytest.raises(XstiltsError, match="which has no record of what the quickstart wrote in it"):
        quickstart.run(mine, fresh=True, plan=plan)
    assert (mine / "notes" / "paper.tex").read_text() == "precious"
    monkeypatch.chdir(mine)
    for where in (Path("."), Path.home(), mine / "notes" / "paper.tex"):
        with pytest.raises(XstiltsError):
            quickstart.run(where, fresh=True, plan=plan)
    assert (mine / "notes" / "paper.tex").read_text() == "precious"
    assert command.main(["quickstart", "--fresh", "--output", "."]) == 2
    assert (mine / "notes" / "paper.tex").is_file()
    # Another quickstart holds the folder: refused at once, nothing removed.
    ours = tmp_path / "qs"
    (ours / "p1-multi").mkdir(parents=True)
    with runfiles.RunLock(tmp_path, ".qs.quickstart.lock"):
        other = _python(f"import sys\nfrom xstilts import command\nsys.exit(command.main(['quickstart', '--fresh', "
                        f"'--output', {str(ours)!r}]))")
    assert other.returncode == 2 and "in use by pid" in other.stderr, other.stderr
    assert (ours / "p1-multi").is_dir()


def test_the_full_quickstart_plan_is_consistent():
    """Every step's recipe exists, every input is an earlier step's output, every output is written once per task."""
    made, results = set(), set()
    for script, recipe_file, output, extra in quickstart.STEPS:
        assert (REPO / recipe_file).is_file() and (REPO / script).is_file()
        given = dict(item.split("=", 1) for item in extra)
        if "input" in given:
            assert given["input"] in made, (script, output)
        if script == quickstart.EVAL:
            task = given["task"]
            assert (output, task) not in results
            results.add((output, task))
        else:
            made.add(output)


def test_the_printed_next_commands_run_as_printed(tmp_path, monkeypatch, capsys):
    """Phase 1 -> phase 2 -> phase 3 -> evaluation, each started from the "next:" line the previous one printed
    (the offline quickstart recipes; evaluation inherits the embedded data source from the run it evaluates)."""
    import evaluate_xtreme
    import phase1_pretrained
    import phase2_intermediate
    import phase3_target

    _patch_corpus(monkeypatch)
    monkeypatch.chdir(tmp_path)
    mains = {"phase2_intermediate.py": phase2_intermediate.main, "phase3_target.py": phase3_target.main,
             "evaluate_xtreme.py": evaluate_xtreme.main}
    assert phase1_pretrained.main([str(REPO / "recipes/phase1/tiny_multilingual.yaml"), "output=runs/p1",
                                   *P1_FAST]) == 0
    for step, extra in (("phase2_intermediate.py", [*FAST, "data.max_train_samples=16"]),
                        ("phase3_target.py", [*FAST, "data.max_train_samples=16"]),
                        ("evaluate_xtreme.py", ["data.max_eval_samples=10", "languages=[en,de]"])):
        line = [x for x in capsys.readouterr().out.splitlines() if "next: " in x][-1]
        words = shlex.split(line.split("next: ", 1)[1])
        assert words[:2] == ["python", step], line
        assert mains[step](words[2:] + extra) == 0, line
    # Each hint names the next phase's folder after its phase (never a phase-2 output "p1-..."), and the evaluation
    # goes where the viewer command printed after it reads (<runs>/results, as the quickstart lays it out).
    assert (tmp_path / "runs/p2-mnli/DONE").is_file() and (tmp_path / "runs/p3-mnli-xnli/DONE").is_file()
    view = [x for x in capsys.readouterr().out.splitlines() if "view: " in x][-1]
    assert view.endswith("view: streamlit run viewer/app.py -- --results runs/results --runs runs"), view
    result = json.loads((tmp_path / "runs/results/mnli-xnli/xnli.json").read_text())
    assert result["data_source"] == "embedded"
    assert set(result["languages"]) == {"en", "de"}


def test_the_best_dev_metrics_read_as_one_line():
    from xstilts.log import dev_line

    assert dev_line({"xnli_accuracy": 71.4, "xnli_score": 71.4, "score": 71.4}) == \
        "score 71.40 (xnli_accuracy 71.40, xnli_score 71.40)"
    assert dev_line({"score": 50.0}) == "score 50.00"
    assert dev_line({}) == "no score"
