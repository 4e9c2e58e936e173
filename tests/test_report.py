"""The publishable summary of a results folder (python -m xstilts.report): score grid, time per phase, machine."""
from __future__ import annotations

import json

import pytest

from xstilts import report
from xstilts.results import RunInfo, TaskResult, average_metrics, task_score, write_result

ENV = {"cpu": "Test CPU", "cpu_count": 2, "torch_threads": 2, "memory_gb": 24.0, "gpus": [], "world_size": 1,
       "python": "3.11.0", "platform": "Linux", "packages": {"torch": "2.0"}, "xstilts": "0.1.0"}


def _chain(encoder: str, inter: str, task: str) -> list[dict]:
    p1 = {"phase": "phase1", "folder": f"/runs/p1-{encoder}", "recipe": {}, "environment": ENV,
          "done": {"wall_time_s": 2.0}}
    if task == "tatoeba":
        return [p1]
    p3 = {"phase": "phase3", "folder": f"/runs/p3-{encoder}-{inter}-{task}", "recipe": {}, "environment": ENV,
          "done": {"wall_time_s": 30.0}}
    if inter == "none":
        return [p3, p1]
    p2 = {"phase": "phase2", "folder": f"/runs/p2-{encoder}-{inter}", "recipe": {}, "environment": ENV,
          "done": {"wall_time_s": 60.0}}
    return [p3, p2, p1]


def _result(task: str, encoder: str, kind: str, inter: str, langs: dict[str, float]) -> TaskResult:
    main = "accuracy"
    languages = {k: {main: v, "n": 100} for k, v in langs.items()}
    average = average_metrics(languages)
    return TaskResult(task=task, task_type="x", split="validation", data_source="xtreme", main_metric=main,
                      languages=languages, average=average, score=task_score(main, average), missing_languages=[],
                      partial=False, checkpoint="c", run=RunInfo(encoder, kind, inter, task, 42),
                      chain=_chain(encoder, inter, task), created="2026-01-01", version="0", environment=ENV,
                      wall_time_s=5.0)


def _folder(tmp_path):
    for encoder, kind, base in (("minilm", "english", 10.0), ("e5", "multilingual", 60.0)):
        for inter, bump in (("none", 0.0), ("mnli", 2.0)):
            write_result(tmp_path / f"{encoder}-{inter}" / "xnli.json",
                         _result("xnli", encoder, kind, inter, {"en": base + bump, "de": base}))
        write_result(tmp_path / f"{encoder}-none" / "tatoeba.json",
                     _result("tatoeba", encoder, kind, "none", {"de": base, "ru": base / 10, "zh": base / 5}))
    return tmp_path


def test_grid_puts_the_multilingual_encoder_and_the_baseline_first(tmp_path):
    summary = report.summarize(_folder(tmp_path))
    grid = summary["grid"]
    assert grid["columns"] == [["e5", "none"], ["e5", "mnli"], ["minilm", "none"], ["minilm", "mnli"]]
    rows = {r["task"]: r for r in grid["rows"]}
    assert [r["task"] for r in grid["rows"]] == ["xnli", "tatoeba", "tatoeba (non-Latin scripts)"]
    assert rows["xnli"]["cells"] == [60.0, 61.0, 10.0, 11.0]
    assert rows["tatoeba"]["cells"] == [26.0, None, pytest.approx(13 / 3), None]  # retrieval: no intermediate run
    # Non-Latin scripts: ru (Cyrillic) and zh (Han), not de.
    assert rows["tatoeba (non-Latin scripts)"]["cells"][0] == (6.0 + 12.0) / 2
    assert rows["tatoeba (non-Latin scripts)"]["languages"] == 2


def test_phase_times_count_each_shared_folder_once(tmp_path):
    times = report.summarize(_folder(tmp_path))["times"]["totals"]
    # 2 phase-1 folders (shared by 3 results each), 2 phase-2 folders (each shared), 4 phase-3 folders, 6 evaluations.
    assert times["phase1"] == {"runs": 2, "total_s": 4.0, "unknown": 0}
    assert times["phase2"] == {"runs": 2, "total_s": 120.0, "unknown": 0}
    assert times["phase3"] == {"runs": 4, "total_s": 120.0, "unknown": 0}
    assert times["evaluation"] == {"runs": 6, "total_s": 30.0, "unknown": 0}
    assert times["all"] == 274.0


def test_cli_writes_markdown_and_json(tmp_path, capsys):
    root = _folder(tmp_path / "results")
    assert report.main([str(root), "--write", str(root / "SUMMARY.md")]) == 0
    text = (root / "SUMMARY.md").read_text()
    assert "| xnli | accuracy | 2 | 60.0 | 61.0 | 10.0 | 11.0 |" in text
    assert "| **all** | | **4.6 min** |" in text
    assert "Test CPU (2 cores" in text and "torch 2.0" in text
    summary = json.loads((root / "summary.json").read_text())
    assert summary["results"] == 6 and summary["broken"] == []
    # The summary is not mistaken for a result by the next run of the report or the viewer.
    assert report.summarize(root)["results"] == 6


def test_cli_on_an_empty_folder_fails_clearly(tmp_path, capsys):
    assert report.main([str(tmp_path)]) == 2
    assert f"no result files under {tmp_path}" in capsys.readouterr().err
