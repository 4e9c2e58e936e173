"""``python -m xstilts.mteb`` against what a careless user or an attacker gives it: names from result files that are
not one folder, an output that is a file, inside the results or blocked part-way, several splits or two results for
one file; every refusal is one line and comes before any file is written."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from xstilts import mteb
from xstilts.errors import XstiltsError
from xstilts.results import RunInfo, TaskResult, average_metrics, task_score, write_result

ENV = {"python": "3", "platform": "p", "packages": {}, "xstilts": "0"}
BUCC_DE = {"f1": 60.0, "precision": 60.0, "recall": 60.0, "f1_gold_pairs": 80.0, "accuracy_gold_pairs": 80.0,
           "precision_gold_pairs": 80.0, "recall_gold_pairs": 80.0, "n": 10}


def _bucc(encoder: str = "e5", inter: str = "none", split: str = "test", f1_gold: float = 80.0,
          seed: int | None = 42) -> TaskResult:
    langs = {"de": {**BUCC_DE, "f1_gold_pairs": f1_gold}}
    average = average_metrics(langs)
    return TaskResult(task="bucc2018", task_type="retrieval", split=split, data_source="hub", main_metric="f1",
                      languages=langs, average=average, score=task_score("f1", average), missing_languages=[],
                      partial=False, checkpoint=f"ck-{split}", run=RunInfo(encoder, "multilingual", inter, "bucc2018",
                                                                           seed),
                      chain=[{"phase": "phase1", "folder": "/p1", "recipe": {}, "environment": ENV}],
                      created="2026-01-01", version="0", environment=ENV, wall_time_s=3.0)


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("encoder,inter", [("..", "none"), (".", "none"), ("e5", "..")])
def test_a_name_that_is_not_one_folder_never_writes_outside_the_output(tmp_path, encoder, inter):
    """An encoder or intermediate named '..' once wrote <output>/../seed42/BUCC.json."""
    write_result(tmp_path / "results" / "a" / "bucc2018.json", _bucc(encoder, inter))
    out = tmp_path / "out" / "sub"
    with pytest.raises(mteb.MtebExportError, match="cannot be a folder name"):
        mteb.export_folder(tmp_path / "results", out)
    assert _files(tmp_path / "out") == [] and not (tmp_path / "out" / "seed42").exists()


def test_slashes_in_names_become_one_folder(tmp_path):
    write_result(tmp_path / "results" / "a" / "bucc2018.json", _bucc("org/enc\\x", "a/b"))
    written, _ = mteb.export_folder(tmp_path / "results", tmp_path / "out")
    assert [str(p.relative_to(tmp_path / "out")) for p in written] == ["org__enc__x+a__b/seed42/BUCC.json"]


def test_every_split_of_a_model_goes_into_its_one_file(tmp_path):
    """A test and a validation result of one model: MTEB keeps splits in one file; the second was dropped."""
    write_result(tmp_path / "results" / "t" / "bucc2018.json", _bucc(split="test", f1_gold=80.0))
    write_result(tmp_path / "results" / "v" / "bucc2018.json", _bucc(split="validation", f1_gold=70.0))
    written, notes = mteb.export_folder(tmp_path / "results", tmp_path / "out")
    doc = json.loads(written[0].read_text())
    assert len(written) == 1 and notes == []
    assert {s: e[0]["main_score"] for s, e in doc["scores"].items()} == {"test": 0.8, "validation": 0.7}
    assert doc["xstilts"]["checkpoints"] == {"test": "ck-test", "validation": "ck-validation"}
    assert doc["evaluation_time"] == 6.0


def test_two_results_for_one_split_of_one_file_are_refused_naming_both(tmp_path):
    """Two test results of the same encoder and seed (another recipe, a re-evaluation): which one MTEB's file would
    show was the order the folder was listed in."""
    write_result(tmp_path / "results" / "lr1" / "bucc2018.json", _bucc(f1_gold=80.0))
    write_result(tmp_path / "results" / "lr2" / "bucc2018.json", _bucc(f1_gold=10.0))
    with pytest.raises(mteb.MtebExportError, match=r"lr1.*lr2"):
        mteb.export_folder(tmp_path / "results", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_refusal_part_way_leaves_nothing_half_written(tmp_path):
    """The second file exists (refused without overwrite=true): the first is not written either."""
    write_result(tmp_path / "results" / "a" / "bucc2018.json", _bucc("a-enc"))
    write_result(tmp_path / "results" / "b" / "bucc2018.json", _bucc("b-enc"))
    (tmp_path / "out" / "b-enc" / "seed42").mkdir(parents=True)
    (tmp_path / "out" / "b-enc" / "seed42" / "BUCC.json").write_text("mine")
    with pytest.raises(mteb.MtebExportError, match="overwrite=true"):
        mteb.export_folder(tmp_path / "results", tmp_path / "out")
    assert _files(tmp_path / "out") == ["b-enc/seed42/BUCC.json"]


@pytest.mark.parametrize("where", ["file", "inside", "same", "blocked", "folder_in_place"])
def test_bad_output_locations_are_one_line_before_any_write(tmp_path, capsys, where):
    results = tmp_path / "results"
    write_result(results / "a" / "bucc2018.json", _bucc())
    out = {"file": tmp_path / "f", "inside": results / "mteb", "same": results, "blocked": tmp_path / "o",
           "folder_in_place": tmp_path / "o"}[where]
    if where == "file":
        out.write_text("x")
    if where == "blocked":  # a file where the model's folder would go
        (out / "e5").mkdir(parents=True)
        (out / "e5" / "seed42").write_text("x")
    if where == "folder_in_place":
        (out / "e5" / "seed42" / "BUCC.json").mkdir(parents=True)
    before = _files(tmp_path)
    with pytest.raises(XstiltsError):
        mteb.export_folder(results, out, overwrite=True)
    assert mteb.main([f"results={results}", f"output={out}", "overwrite=true"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert _files(tmp_path) == before


def test_results_that_is_a_file_is_named_as_a_file(tmp_path, capsys):
    (tmp_path / "r.json").write_text("{}")
    assert mteb.main([f"results={tmp_path / 'r.json'}", f"output={tmp_path / 'o'}"]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_tatoeba_with_f1_mteb_but_not_its_accuracy_is_left_out():
    """A hand-edited result with MTEB's F1 but not its accuracy raised a KeyError (result files are validated for
    their main metric, not for the others)."""
    langs = {"de": {"accuracy": 90.0, "f1_mteb": 80.0, "n": 10}, "fr": {"accuracy": 90.0, "n": 10}}
    average = average_metrics(langs)
    r = TaskResult(task="tatoeba", task_type="retrieval", split="test", data_source="hub", main_metric="accuracy",
                   languages=langs, average=average, score=task_score("accuracy", average), missing_languages=[],
                   partial=False, checkpoint="c", run=RunInfo("e5", "multilingual", "none", "tatoeba", 1),
                   chain=[{"phase": "phase1", "folder": "/p1", "recipe": {}, "environment": ENV}],
                   created="2026-01-01", version="0", environment=ENV, wall_time_s=1.0)
    doc, left_out = mteb.export_result(r)
    assert [e["hf_subset"] for e in doc["scores"]["test"]] == ["fra-eng"]
    assert left_out == ["tatoeba de: no accuracy_mteb in this result; re-run the evaluation"]
