"""Result files name no folder of the machine that wrote them: the checkpoint and the chain's folders are relative
to the run root (the working directory of the evaluation) where they lie under it, and every reader finds them."""
from __future__ import annotations

import json
from pathlib import Path

from helpers import P1_FAST

from xstilts import evaluation, provenance
from xstilts.report import phase_times
from xstilts.results import TaskResult, read_result
from xstilts.tasks import get_task
from xstilts.view import loading

REPO = Path(__file__).resolve().parents[1]


def _result(run_folder: Path) -> TaskResult:
    return evaluation.build_result(get_task("tatoeba"), {"de": {"accuracy": 50.0, "n": 4}}, [], "test", "embedded",
                                   provenance.model_dir(run_folder), run_folder, [])


def test_shown_path_is_relative_under_the_root_and_absolute_outside(tmp_path):
    (tmp_path / "root" / "runs" / "p1").mkdir(parents=True)
    assert provenance.shown_path(tmp_path / "root" / "runs" / "p1", tmp_path / "root") == "runs/p1"
    assert provenance.shown_path(tmp_path / "elsewhere", tmp_path / "root") == str(tmp_path / "elsewhere")
    (tmp_path / "link").symlink_to(tmp_path / "root")  # the same folder, spelled through a link
    assert provenance.shown_path(tmp_path / "link" / "runs" / "p1", tmp_path / "root") == "runs/p1"


def test_a_result_records_folders_relative_to_the_run_root(tmp_path, monkeypatch):
    """A phase-1 run evaluated from its run root: checkpoint and chain folder relative; run.json keeps its
    absolute parent (the identity check compares it with the resolved input) and lineage still verifies."""
    from helpers import CORPUS

    import phase1_pretrained
    from xstilts import encoders

    monkeypatch.setattr(encoders, "corpus_lines", lambda lang, sample=False: CORPUS)
    root = tmp_path / "root"
    root.mkdir()
    monkeypatch.chdir(root)
    assert phase1_pretrained.main([str(REPO / "recipes/phase1/tiny_multilingual.yaml"), "output=runs/p1",
                                   *P1_FAST]) == 0
    result = _result(Path("runs/p1"))
    text = json.dumps(result.to_dict())
    assert str(tmp_path) not in text
    assert result.checkpoint == "runs/p1" and [e["folder"] for e in result.chain] == ["runs/p1"]
    assert [check for _, _, check in provenance.lineage("runs/p1")] == [None]

    monkeypatch.chdir(tmp_path / "root" / "runs")  # evaluated from inside: still relative to where it ran
    assert _result(Path("p1")).checkpoint == "p1"
    monkeypatch.chdir(REPO)  # a run folder outside the working directory stays absolute
    assert _result(root / "runs" / "p1").checkpoint == str(root / "runs" / "p1")


def test_viewer_finds_a_relative_chain_folder_from_the_run_root_or_by_its_runs_folder(tmp_path, monkeypatch):
    run = tmp_path / "root" / "runs" / "mini" / "p3-x"
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps({"log_history": [{"step": 1, "loss": 2.0}]}))
    results = tmp_path / "root" / "results"
    results.mkdir()
    monkeypatch.chdir(tmp_path / "root")  # started from the run root, --runs runs/mini
    assert loading.run_folder("runs/mini/p3-x", [results, Path("runs/mini")]) == (run.resolve(), "")
    monkeypatch.chdir(tmp_path)  # started elsewhere with an absolute --runs: found by its trailing parts
    assert loading.run_folder("runs/mini/p3-x", [results, run.parent]) == (run.resolve(), "")
    history, why = loading.training_history("runs/mini/p3-x", [results, run.parent])
    assert why == "" and history["loss"].tolist() == [2.0]
    found, why = loading.run_folder("runs/mini/p3-x", [results])  # never outside the roots, even if it exists
    assert found is None and "--runs" in why
    monkeypatch.chdir(tmp_path / "root")
    assert loading.run_folder("runs/mini/p3-x", [results])[0] is None


def test_report_counts_a_folder_recorded_relative_and_absolute_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    committed = REPO / "results/archive/mini-before-issue29/e5-small-multi-none/tatoeba.json"
    data = json.loads(committed.read_text(encoding="utf-8"))
    assert data["chain"][0]["folder"] == "runs/mini/p1-e5-small-multi"  # the committed results are relative
    data["chain"] = [{**e, "folder": str(tmp_path / e["folder"])} for e in data["chain"]]
    (tmp_path / "absolute.json").write_text(json.dumps(data), encoding="utf-8")
    times = phase_times([read_result(committed), read_result(tmp_path / "absolute.json")])
    assert times["totals"]["phase1"]["runs"] == 1 and list(times["folders"]) == ["p1-e5-small-multi"]
