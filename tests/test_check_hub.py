"""``xstilts check-hub`` offline: its checks run through the real ``datasets`` on folders laid out like the Hub's repos
and parquet branches (tests/fakehub.LocalHub), with the four kinds of error the registry once had: a config name on
the parquet branch, a split a language lacks, another label order, and ANLI's dev rounds."""
from __future__ import annotations

import dataclasses
import io
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
from fakehub import LocalHub, make_dataset

from xstilts import command, data, hubcheck
from xstilts.tasks import TASKS

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def hub(tmp_path, monkeypatch):
    local = LocalHub(tmp_path / "hub")
    monkeypatch.setattr(data, "hub_path", local.path)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "cache"))
    return local


def _check(task: str, role: str, lang: str) -> hubcheck.Check:
    return next(c for c in hubcheck.plan([task], [lang]) if f"{task} {role} {lang}" in c.users)


def _run(checks) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = hubcheck.run(checks, rows=3, jobs=1, out=out)
    return code, out.getvalue().splitlines()


def test_the_plan_covers_every_hub_source_of_the_registry_once():
    checks = hubcheck.plan()
    keys = [c.key for c in checks]
    assert len(keys) == len(set(keys))
    planned = {(c.source.repo, c.source.split, c.source.revision) for c in checks}
    for task in TASKS.values():
        splits = [*task.train, *([task.dev] if task.dev else []), *task.eval.values(),
                  *[s for by_lang in task.lang_sources.values() for group in by_lang.values() for s in group],
                  *([task.candidates] if task.candidates else [])]
        for split in splits:
            if split.hub is not None:
                assert (split.hub.repo, split.hub.split, split.hub.revision) in planned, (task.name, split.hub)
    # A parquet-branch load never carries a config name; every language of a task is planned.
    assert all(c.key[1] is None for c in checks if c.source.parquet_branch)
    udpos = {c.lang for c in checks if "udpos test" in " ".join(c.users)}
    assert {"de", "kk", "lt", "wo"} <= udpos
    # One load read by several tasks is one line naming each (COPA: copa and xcopa).
    copa = [c for c in checks if c.source.repo == "aps/super_glue" and c.source.split == "train"]
    assert len(copa) == 1 and {"copa train en", "xcopa train en"} <= set(copa[0].users)


def test_a_clean_selection_is_ok_and_parquet_sources_name_the_script_they_replace(hub):
    checks = hubcheck.plan(["copa", "udpos"], ["de"])
    for c in checks:
        hub.add(c.source, c.lang, n=4)
    code, lines = _run(checks)
    assert code == 0, lines
    assert lines[-1] == f"check-hub: {len(checks)} Hub loads: {len(checks)} ok, 0 absent as the registry says, " \
                        "0 differ, 0 unreachable"
    copa = next(line for line in lines if line.startswith("ok          aps/super_glue copa@refs/convert/parquet train"))
    assert copa.endswith(": read from the Hub's parquet conversion (main holds the super_glue.py loading script)")
    assert any(line.startswith("ok          google/xtreme udpos.German test (udpos test de)") for line in lines)


def test_a_config_name_the_repo_does_not_have_is_reported(hub):
    """The parquet branch knows only folders: a config name there (the registry's old COPA entry) fails as it does
    in a real run, and so does a config name that main's README does not list."""
    good = _check("copa", "train", "en")
    hub.add(good.source, "en")
    legacy = dataclasses.replace(good.source)
    object.__setattr__(legacy, "config", "copa")  # what HubSource now refuses to build
    code, lines = _run([dataclasses.replace(good, source=legacy)])
    assert code == 1
    assert lines[0] == ("differs     aps/super_glue copa@refs/convert/parquet train (copa train en): cannot load: "
                        "ValueError: BuilderConfig 'copa' not found. Available: ['default']")
    udpos = _check("udpos", "test", "de")
    hub.add(udpos.source, "de")
    wrong = dataclasses.replace(udpos, source=dataclasses.replace(udpos.source, config="udpos.Deutsch"))
    code, lines = _run([wrong])
    assert code == 1 and "BuilderConfig 'udpos.Deutsch' not found. Available: ['udpos.German']" in lines[0]


def test_splits_per_language_absent_as_the_registry_says_or_differing(hub):
    kk = _check("udpos", "validation", "kk")
    hub.add(_check("udpos", "train", "en").source, "kk", split="train")
    hub.add(_check("udpos", "test", "kk").source, "kk")
    code, lines = _run([kk])
    assert code == 0 and lines[0] == ("absent      google/xtreme udpos.Kazakh validation (udpos validation kk): no "
                                      "validation split for kk, as the registry says")
    unknown = dataclasses.replace(kk, source=dataclasses.replace(kk.source, absent_for=()))
    code, lines = _run([unknown])
    assert code == 1 and lines[0].endswith(": no split validation (the Hub has train, test)"), lines
    # The registry says a language lacks a split that the Hub has: that differs too.
    de = _check("udpos", "validation", "de")
    hub.add(de.source, "de")
    code, lines = _run([dataclasses.replace(de, source=dataclasses.replace(de.source, absent_for=("de",)))])
    assert code == 1 and "the registry says de has no validation split, but the Hub has one" in lines[0]


def test_another_label_order_is_one_line_naming_both_orders(hub):
    check = _check("xnli", "test", "de")
    swapped = dataclasses.replace(check.source, features={**check.source.features,
                                                          "label": "label:contradiction,entailment,neutral"})
    hub.add(check.source, "de", ds=make_dataset(swapped, 4))
    code, lines = _run([check])
    assert code == 1
    assert lines[0] == ("differs     facebook/xnli de test (xnli test de): column 'label' has the labels "
                        "[contradiction, entailment, neutral] in this order, the registry expects "
                        "[entailment, neutral, contradiction]")


def test_anli_dev_needs_all_three_rounds(hub):
    dev = _check("anli_plus", "dev", "en")
    hub.add(dev.source, split="dev_r1+dev_r2")
    code, lines = _run([dev])
    assert code == 1 and lines[0].endswith(": no split dev_r3 (the Hub has dev_r1, dev_r2)"), lines
    hub.add(dev.source, split="dev_r3")
    assert _run([dev])[0] == 0


def test_rows_that_do_not_map_are_reported(hub):
    check = _check("siqa", "train", "en")
    bad = make_dataset(check.source, 3, label_override={"label": "7"})  # SIQA labels are "1".."3"
    hub.add(check.source, ds=bad)
    code, lines = _run([check])
    assert code == 1 and "first rows:" in lines[0] and "unknown label '7'" in lines[0]


def test_unreachable_hub_is_one_line_and_a_later_failure_one_line_per_load(hub, monkeypatch):
    def no_network(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'facebook/xnli' on the Hub (ConnectError)")

    monkeypatch.setattr(datasets, "load_dataset_builder", no_network)
    code, lines = _run(hubcheck.plan(["xnli"]))
    assert code == 2 and len(lines) == 1 and lines[0].startswith("check-hub: cannot reach the Hugging Face Hub")
    monkeypatch.undo()
    monkeypatch.setattr(data, "hub_path", hub.path)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(hub.root.parent / "cache"))
    first, later = _check("xnli", "test", "de"), _check("xnli", "test", "fr")
    hub.add(first.source, "de")
    real = datasets.load_dataset_builder

    def flaky(path, name=None, **kwargs):
        if name == "fr":
            raise TimeoutError("read timed out")
        return real(path, name, **kwargs)

    monkeypatch.setattr(datasets, "load_dataset_builder", flaky)
    code, lines = _run([first, later])
    assert code == 1 and lines[1] == ("unreachable facebook/xnli fr test (xnli test fr): cannot load: TimeoutError: "
                                      "read timed out")


def test_recipes_name_the_tasks_to_check(tmp_path):
    tasks, langs = hubcheck.recipe_scope([str(REPO / "results/archive/mini-before-issue29/replication_hub.yaml")])
    assert {"squad", "siqa", "mnli", "xnli", "pawsx", "panx", "xquad", "xcopa"} <= set(tasks) and langs == []
    own = tmp_path / "eval.yaml"
    own.write_text("task: udpos\nlanguages: [de, kk]\n")
    assert hubcheck.recipe_scope([str(own)]) == (["udpos"], ["de", "kk"])
    (tmp_path / "none.yaml").write_text("output: x\n")
    with pytest.raises(hubcheck.CheckHubError, match="names no task"):
        hubcheck.recipe_scope([str(tmp_path / "none.yaml")])
    with pytest.raises(hubcheck.CheckHubError, match="language\\(s\\) xx not in the tasks checked"):
        hubcheck.plan(["udpos"], ["xx"])


def test_main_offline_is_one_line_and_a_run_against_local_folders_prints_a_summary(hub, monkeypatch, capsys):
    assert hubcheck.main(["--tasks", "copa"]) == 2  # the test configuration sets HF_HUB_OFFLINE=1
    out = capsys.readouterr().out.splitlines()
    assert out == [("check-hub: HF_HUB_OFFLINE=1 is set, so the Hub cannot be asked: unset it (or run check-hub where "
                    "the Hub is reachable); nothing was checked (2 loads planned)")]
    for c in hubcheck.plan(["copa"]):
        hub.add(c.source, c.lang)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    assert hubcheck.main(["--tasks", "copa", "--jobs", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and out[-1].startswith("check-hub: 2 Hub loads: 2 ok")
    assert hubcheck.main(["--tasks", "nope"]) == 2
    assert "unknown task 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("argv,problem", [
    (["--tasks", "nope"], "unknown task 'nope'"), (["--tasks", "xnli", "--languages", "xx"], "language(s) xx"),
    (["--rows", "0"], "--rows must be at least 1"), (["--jobs", "0"], "--jobs must be at least 1"),
    (["no/such/recipe.yaml"], "does not exist"), (["recipes/phase1/tiny_multilingual.yaml"], "names no task"),
    (["--tasks", "ccg"], "nothing to check")])
def test_a_bad_argument_is_named_offline_too(argv, problem, capsys):
    """Offline (the test configuration sets HF_HUB_OFFLINE=1), a typo was answered with "the Hub cannot be asked":
    the user learned of it only after going online. The arguments are checked first."""
    assert hubcheck.main(argv) == 2
    captured = capsys.readouterr()
    assert problem in captured.err and "cannot be asked" not in captured.out
    assert len(captured.err.strip().splitlines()) == 1


def test_the_xstilts_command_runs_it_in_its_own_interpreter():
    """``xstilts check-hub`` never imports datasets itself: it starts ``python -m xstilts.hubcheck``."""
    code = ("import sys, json\nfrom xstilts import command\ncode = command.main(['check-hub', '--tasks', 'xnli'])\n"
            "print(json.dumps([code, 'datasets' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.stdout.splitlines()[-1] == "[2, false]", out.stderr
    assert "HF_HUB_OFFLINE=1 is set" in out.stdout
    assert command.main(["check-hub", "--help"]) == 0
