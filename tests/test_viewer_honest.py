"""Honest display: the viewer marks what SUMMARY.md marks (targets below their floor), every view marks constant
predictions and shows chance, and no view uses red against green."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from xstilts import report
from xstilts.results import RunInfo, TaskResult, average_metrics, read_result, task_score, write_result
from xstilts.view import figures, loading

REPO = Path(__file__).resolve().parents[1]
MINI = REPO / "results" / "mini"
MINI_FLOORS = REPO / "recipes" / "mini" / "floors.yaml"
APP = REPO / "viewer" / "app.py"


def _result(task: str, inter: str, seed: int, score: float, constant: tuple[str, ...] = (),
            encoder: str = "e5", kind: str = "multilingual") -> TaskResult:
    languages = {lang: {"accuracy": score, "n": 100} for lang in ("en", "de", "sw")}
    average = average_metrics(languages)
    return TaskResult(task=task, task_type="classification", split="test", data_source="xtreme",
                      main_metric="accuracy", languages=languages, average=average,
                      score=task_score("accuracy", average), missing_languages=[], partial=False, checkpoint="c",
                      run=RunInfo(encoder, kind, inter, task, seed), chain=[], created="2026-01-01T00:00:00+0000",
                      version="0", score_ci95=[score - 1, score + 1], chance=33.3,
                      reliability={lang: {"constant": lang in constant} for lang in languages})


@pytest.fixture
def folder(tmp_path):
    for seed in (1, 2):
        write_result(tmp_path / f"n{seed}" / "xnli.json", _result("xnli", "none", seed, 60.0 + seed))
        write_result(tmp_path / f"q{seed}" / "xnli.json", _result("xnli", "tydiqa", seed, 70.0 + seed))
        write_result(tmp_path / f"pn{seed}" / "pawsx.json", _result("pawsx", "none", seed, 55.0))  # floor 68
        write_result(tmp_path / f"pq{seed}" / "pawsx.json", _result("pawsx", "tydiqa", seed, 65.0))
        write_result(tmp_path / f"en{seed}" / "xnli.json", _result("xnli", "none", seed, 34.0, ("en", "de", "sw"),
                                                                   "minilm", "english"))
    (tmp_path / "floors.yaml").write_text("xnli: {min: 50}\npawsx: {min: 68}\n")
    return tmp_path


def test_the_viewer_marks_the_targets_summary_md_calls_not_learned(folder):
    """Issue 25: targets "not learned at this budget" in SUMMARY.md looked like ordinary cells in the viewer."""
    results = [read_result(p) for p in folder.rglob("*.json")]
    not_learned, problem = loading.floor_verdicts(results, folder / "floors.yaml")
    summary = report.summarize(folder, floors=report.read_floors(folder / "floors.yaml"))
    assert problem == "" and set(not_learned) == {f["task"] for f in summary["floors"] if not f["met"]} == {"pawsx"}
    table = loading.overview_table(results, benchmark=None, not_learned=not_learned).set_index(
        ["encoder", "intermediate", "task"])
    assert table.loc[("e5", "tydiqa", "pawsx"), "status"] == loading.STATUS_NOT_LEARNED
    assert table.loc[("e5", "tydiqa", "xnli"), "status"] == loading.STATUS_CHANGE
    fig = figures.overview_figure(table.reset_index(), {"xnli": 33.3, "pawsx": 50.0})
    assert figures.TRACE_NOT_LEARNED in {tr.name for tr in fig.data}
    assert any("pawsx" in t and "not learned" in t for t in fig.layout.xaxis.ticktext)
    # a floors file with a typo is one line, and nothing is marked
    (folder / "bad.yaml").write_text("pawsx: {min: 68, metric: acuracy}\n")
    marked, problem = loading.floor_verdicts(results, folder / "bad.yaml")
    assert marked == {} and "acuracy" in problem and "\n" not in problem


def test_every_view_marks_constant_predictions_and_shows_chance(folder):
    results = [read_result(p) for p in folder.rglob("*.json")]
    per_task, per_script = loading.encoder_tasks(results, "e5", "minilm", not_learned={"xnli": "x"})
    fig = figures.encoder_tasks_figure(per_task, per_script, "e5", "minilm")
    minilm = next(tr for tr in fig.data if tr.name == "minilm")
    assert list(minilm.marker.pattern.shape) == [figures.CONSTANT_PATTERN] and "const" in minilm.text[0]
    assert any(tr.name == "chance" for tr in fig.data) and "not learned" in fig.data[0].x[0]

    comparison = loading.encoder_comparison(results, "e5", "minilm", "xnli")
    fig = figures.encoder_comparison_figure(comparison, "e5", "minilm", chance=33.3)
    assert all(s == figures.CONSTANT_PATTERN for s in fig.data[2].marker.pattern.shape)  # minilm's score bars
    assert any(sh.line.dash == "dot" for sh in fig.layout.shapes)  # the chance line

    constant_run = next(r for r in results if r.run.encoder == "minilm")
    table = loading.run_languages(constant_run)
    fig = figures.language_bars(table, loading.zero_shot_gap(constant_run), "t", chance=33.3, not_learned="below")
    assert list(fig.data[0].text) == ["const"] * 3 and any(sh.line.dash == "dot" for sh in fig.layout.shapes)
    assert "not learned at this budget" in fig.layout.title.text


def test_no_view_draws_red_against_green(folder):
    """Per-language difference bars were red/green; every figure now uses the overview's blue/orange palette."""
    results = [read_result(p) for p in folder.rglob("*.json")]
    per_task, per_script = loading.encoder_tasks(results, "e5", "minilm")
    r = results[0]
    figs = [figures.encoder_tasks_figure(per_task, per_script, "e5", "minilm"),
            figures.encoder_comparison_figure(loading.encoder_comparison(results, "e5", "minilm", "xnli"), "e5",
                                              "minilm"),
            figures.language_bars(loading.run_languages(r), None, "t"),
            figures.overview_figure(loading.overview_table(results), {})]
    for fig in figs:
        drawn = fig.to_plotly_json()
        drawn["layout"].pop("template", None)  # plotly's default colourway, used only by traces without colours
        spec = json.dumps(drawn, default=str).lower()
        assert all(tr.marker.color is not None or tr.type == "heatmap" for tr in fig.data if tr.type == "bar")
        for colour in ("#d62728", "#2ca02c", '"red"', '"green"', "#ef553b", "#00cc96"):
            assert colour not in spec, colour


def test_app_marks_floors_and_opens_the_one_run_view_on_a_learned_run(monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("XSTILTS_RESULTS", str(MINI))
    monkeypatch.setenv("XSTILTS_FLOORS", str(MINI_FLOORS))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert any("Not learned at this budget" in i.value and "pawsx" in i.value for i in at.info)
    at.sidebar.radio(key="view").set_value("languages").run()
    assert not at.exception
    task = at.selectbox(key="lang_task").value
    assert task != "pawsx"  # pawsx is below its floor in results/mini
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert any(s.get("line", {}).get("dash") == "dot" for s in chart["layout"].get("shapes", [])) or \
        task in ("panx", "xquad")  # chance is undefined for F1 and QA


def test_a_constant_run_reports_no_zero_shot_gap(folder):
    """A run predicting one answer everywhere had a "zero-shot gap +15.2": a difference of class balances."""
    results = [read_result(p) for p in folder.rglob("*.json")]
    constant_run = next(r for r in results if r.run.encoder == "minilm")
    learned = next(r for r in results if r.run.encoder == "e5" and r.task == "xnli")
    assert loading.zero_shot_gap(constant_run) is None and loading.zero_shot_gap(learned) is not None
