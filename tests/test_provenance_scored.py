"""Provenance that records what was actually used: the chain an evaluation scored (read once, checked unchanged
when the result is written) and a resumed run's data paths compared as the folders they name."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import CORPUS

import phase2_intermediate
from xstilts import encoders, evaluation, pipeline, provenance, runfiles
from xstilts.errors import RunFolderError
from xstilts.tasks import get_task

REPO = Path(__file__).resolve().parents[1]


def test_a_run_replaced_while_it_is_evaluated_is_not_recorded_as_the_one_scored(tiny_phase1, tmp_path):
    """Issue 25: the evaluation read the chain at its start and again when writing, so a run replaced meanwhile was
    recorded as the one scored. The chain is read once; writing checks every run of it is unchanged."""
    run = tmp_path / "p1"
    shutil.copytree(tiny_phase1, run)
    scored = provenance.scored_chain(run)
    assert [e["phase"] for e in scored[0]] == ["phase1"]
    provenance.check_scored(run, scored[1])  # unchanged: fine
    result = evaluation.build_result(get_task("tatoeba"), {"de": {"accuracy": 50.0, "n": 4}}, [], "test",
                                     "embedded", run, run, [], scored=scored)
    assert result.chain == scored[0]
    record = json.loads((run / runfiles.RUN_JSON).read_text())
    (run / runfiles.RUN_JSON).write_text(json.dumps({**record, "run_id": "another-run"}))  # re-run meanwhile
    with pytest.raises(RunFolderError, match="replaced while it was evaluated"):
        evaluation.build_result(get_task("tatoeba"), {"de": {"accuracy": 50.0, "n": 4}}, [], "test", "embedded",
                                run, run, [], scored=scored)


def test_data_paths_are_compared_as_the_folders_they_name(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    (a / "data").mkdir(parents=True)
    (b / "data").mkdir(parents=True)
    (a / "link").symlink_to(a / "data")
    recipe = {"data": {"path": "data", "translated_path": None}, "output": "x"}
    assert provenance.resolved_paths(recipe, a) != provenance.resolved_paths(recipe, b)
    assert provenance.resolved_paths(recipe, a) == provenance.resolved_paths({**recipe, "data": {
        "path": "link", "translated_path": None}}, a)
    assert provenance.resolved_paths(recipe, a)["output"] == "x"  # not a data path: compared as it is


P2 = [str(REPO / "recipes/quickstart/phase2_mnli.yaml"), "train.max_steps=2", "train.eval_steps=2",
      "train.batch_size=8", "train.max_length=32", "data.max_train_samples=16", "data.max_eval_samples=8",
      "data.path=mydata"]


class Reached(Exception):
    pass


def test_a_resume_from_another_folder_with_the_same_relative_data_path_is_refused(tiny_phase1, tmp_path,
                                                                                   monkeypatch, capsys):
    """Issue 25: a resumed run compared data.path as spelled, so the same relative path typed in another folder
    (other data) passed as the same data."""
    monkeypatch.setattr(encoders, "corpus_lines", lambda lang, sample=False: CORPUS)

    def stop(*a, **k):
        raise Reached()

    monkeypatch.setattr(pipeline, "train_and_save", stop)
    out = tmp_path / "p2"
    for where in ("one", "two"):
        (tmp_path / where / "mydata").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "one")
    with pytest.raises(Reached):
        phase2_intermediate.main([*P2, f"input={tiny_phase1}", f"output={out}"])
    with pytest.raises(Reached):  # the same folder: resumes
        phase2_intermediate.main([*P2, f"input={tiny_phase1}", f"output={out}"])
    capsys.readouterr()
    monkeypatch.chdir(tmp_path / "two")
    assert phase2_intermediate.main([*P2, f"input={tiny_phase1}", f"output={out}"]) == 2
    err = capsys.readouterr().err
    assert "data.path:" in err and str(tmp_path / "one" / "mydata") in err and "Traceback" not in err
