"""The publishable summary of a results folder (python -m xstilts.report): score grid, time per phase, machine."""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from xstilts import analysis, report
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
    assert times["span_s"] is None  # the hand-made chains record no start times


def test_the_span_from_first_start_to_last_result_is_reported_beside_the_sum(tmp_path):
    import dataclasses

    r = _result("xnli", "e5", "multilingual", "none", {"en": 50.0})
    chain = [{**r.chain[0], "started": "2026-01-01T10:00:00+0000"}, {**r.chain[1], "started": "bad"}]
    write_result(tmp_path / "a" / "xnli.json", dataclasses.replace(r, chain=chain, created="2026-01-01T10:30:00+0000"))
    summary = report.summarize(tmp_path)
    assert summary["times"]["totals"]["span_s"] == 1800.0
    assert "| first start to last result | | 30.0 min |" in report.render(summary)


def test_cli_writes_markdown_and_json(tmp_path, capsys):
    root = _folder(tmp_path / "results")
    assert report.main([str(root), "--write", str(root / "SUMMARY.md")]) == 0
    text = (root / "SUMMARY.md").read_text()
    assert "| xnli | accuracy | 2 | 60.0 | 61.0 | 10.0 | 11.0 |" in text
    assert "| **all** | | **4.6 min** |" in text
    assert "Test CPU (2 cores" in text and "torch 2.0" in text
    summary = json.loads((root / "summary.json").read_text())
    assert summary["results"] == 6 and summary["skipped"] == []
    # The summary is not mistaken for a result by the next run of the report or the viewer.
    assert report.summarize(root)["results"] == 6


def test_intervals_and_constant_languages_are_shown_beside_the_score(tmp_path):
    root = _folder(tmp_path / "results")
    old = report.render(report.summarize(root))
    assert "const" not in old and "bootstrap" not in old  # results without the figures read as before
    r = _result("xnli", "e5", "multilingual", "mnli", {"en": 61.0, "de": 59.0})
    r.score_ci95 = [58.94, 61.06]
    fig = {"majority_share": 34.0, "top_prediction_share": 99.5, "constant": True, "ci95": [57.0, 61.0]}
    r.reliability = {"en": {**fig, "constant": False, "top_prediction_share": 40.0}, "de": fig}
    write_result(root / "e5-mnli" / "xnli.json", r)
    r = _result("xnli", "minilm", "english", "none", {"en": 10.0, "de": 10.0})
    r.reliability = {"en": fig, "de": fig}  # every language constant; no interval of the score
    write_result(root / "minilm-none" / "xnli.json", r)
    summary = report.summarize(root)
    text = report.render(summary)
    assert "| xnli | accuracy | 2 | 60.0 | 60.0 [58.9, 61.1] const 1/2 | 10.0 const | 11.0 |" in text
    assert "bootstrap 95% interval" in text and "const: the model gives one prediction" in text
    xnli = summary["grid"]["rows"][0]
    assert xnli["ci95"] == [None, [58.94, 61.06], None, None]
    assert xnli["constant"] == [[], ["de"], ["de", "en"], []]  # files keep sorted keys
    # Old rows otherwise unchanged: the tatoeba rows have neither.
    assert "| tatoeba | accuracy | 3 | 26.0 | n/a | 4.3 | n/a |" in text


def test_cli_on_an_empty_folder_fails_clearly(tmp_path, capsys):
    assert report.main([str(tmp_path)]) == 2
    assert f"no readable result files under {tmp_path}" in capsys.readouterr().err


# ------------------------------------------------------------------------------- unreadable files, hostile strings

EVIL_IMG = "![x](http://evil.example/x.png)"
EVIL_HTML = "<img src=http://evil.example/y.png>"


def _broken_files(root: Path) -> dict[str, str]:
    """A truncated result, one with a wrong-typed field and an oversized .json: file name -> expected problem."""
    (root / "cut").mkdir(parents=True)
    (root / "cut" / "xnli.json").write_text('{"schema": "xstilts.results/v1", "languages": {')
    data = _result("xnli", "e5", "multilingual", "none", {"en": 1.0}).to_dict()
    data["languages"] = ["en"]
    (root / "typed").mkdir()
    (root / "typed" / "xnli.json").write_text(json.dumps(data))
    with open(root / "big.json", "wb") as f:
        f.truncate(25 * 2**20)
    return {"cut/xnli.json": "not valid JSON", "typed/xnli.json": "languages is list ['en'], expected a non-empty",
            "big.json": "25.0 MiB is over the 20 MiB limit"}


def _skipped_lines(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        m = re.search(r"warning: skipped (\S+): (.*)$", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


def _check_listed(listed: dict[str, str], root: Path, expected: dict[str, str]) -> None:
    assert set(listed) == {str(root / name) for name in expected}, listed
    for name, problem in expected.items():
        assert problem in listed[str(root / name)], (name, listed[str(root / name)])


def test_report_lists_unreadable_files_and_summarises_the_rest(tmp_path, capsys):
    root = _folder(tmp_path / "results")
    expected = _broken_files(root)
    assert report.main([str(root), "--write", str(tmp_path / "SUMMARY.md")]) == 0
    out = capsys.readouterr()
    _check_listed(_skipped_lines(out.err), root, expected)
    assert "| xnli | accuracy | 2 | 60.0 | 61.0 | 10.0 | 11.0 |" in out.out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["results"] == 6
    _check_listed({s["file"]: s["problem"] for s in summary["skipped"]}, root, expected)


def test_benchmark_lists_unreadable_files_the_same_way(tmp_path, capsys):
    import evaluate_xtreme

    root = _folder(tmp_path / "results")
    expected = _broken_files(root)
    assert evaluate_xtreme.main(["benchmark", f"results={root}", f"output={tmp_path}/b.json"]) == 0
    out = capsys.readouterr()
    _check_listed(_skipped_lines(out.out + out.err), root, expected)
    bench = json.loads((tmp_path / "b.json").read_text())
    assert {r["encoder"] for r in bench["xtreme"]} == {"e5", "minilm"}
    _check_listed({s["file"]: s["problem"] for s in bench["skipped"]}, root, expected)


def test_nothing_readable_exits_2_after_listing_why(tmp_path, capsys):
    import evaluate_xtreme

    expected = _broken_files(tmp_path)
    assert report.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    _check_listed(_skipped_lines(err), tmp_path, expected)
    assert f"xstilts.report: error: no readable result files under {tmp_path} (3 skipped)" in err
    assert evaluate_xtreme.main(["benchmark", f"results={tmp_path}"]) == 2
    out = capsys.readouterr()
    _check_listed(_skipped_lines(out.out), tmp_path, expected)
    assert f"no readable result files under {tmp_path} (3 skipped)" in out.err


def test_markdown_shows_names_from_results_literally(tmp_path):
    from markdown_it import MarkdownIt

    root = tmp_path / "results"
    env = {**ENV, "cpu": "<a href=http://evil.example>cpu</a>", "gpus": [EVIL_IMG], "packages": {"torch": "*2*"}}
    for enc, inter in ((EVIL_IMG, "none"), (EVIL_HTML, "[m](http://evil.example/m)")):
        r = _result("xnli", enc, "multilingual", inter, {"en": 50.0, "<b>de</b>": 40.0})
        r.environment = env
        write_result(root / f"{len(enc)}" / "xnli.json", r)
    text = report.render(report.summarize(root))
    rendered = MarkdownIt("commonmark").enable("table").render(text)
    assert not re.search(r"<(img|a|em)[\s>]", rendered), rendered
    assert "evil.example" not in re.sub(r"<code>.*?</code>", "", rendered, flags=re.S)
    shown = html.unescape(re.sub(r"<[^>]+>", "", rendered))
    for name in (EVIL_IMG, EVIL_HTML, "[m](http://evil.example/m)", "<a href=http://evil.example>cpu</a>", "*2*"):
        assert name in shown, name
    grid = rendered.split("</table>")[0]  # a header and the xnli row of 5 cells each: no "|" split a cell
    assert grid.count("<tr>") == 2 and grid.count("<th>") == 5 and grid.count("<td>") == 5


def test_the_seeds_of_a_cell_are_averaged_and_lora_runs_get_their_own_column(tmp_path):
    """Three seeds of one cell: the grid shows their mean and standard deviation (never one seed picked); a LoRA
    run of the same encoder and intermediate task is a column of its own, never pooled with full fine-tuning."""
    import dataclasses

    for seed, score in ((1, 50.0), (2, 54.0), (3, 58.0)):
        r = _result("xnli", "e5", "multilingual", "mnli", {"en": score, "de": score})
        write_result(tmp_path / f"s{seed}" / "xnli.json", dataclasses.replace(
            r, run=RunInfo("e5", "multilingual", "mnli", "xnli", seed), checkpoint=f"c{seed}"))
    lora = _result("xnli", "e5", "multilingual", "mnli", {"en": 90.0, "de": 90.0})
    write_result(tmp_path / "lora" / "xnli.json",
                 dataclasses.replace(lora, run=RunInfo("e5", "multilingual", "mnli", "xnli", 1, lora=True)))
    summary = report.summarize(tmp_path)
    assert summary["grid"]["columns"] == [["e5", "mnli"], ["e5", "mnli +LoRA"]]
    row = summary["grid"]["rows"][0]
    assert row["cells"] == [54.0, 90.0] and row["seeds"] == [[1, 2, 3], [1]]
    assert row["sd"][0] == pytest.approx(4.0) and row["sd"][1] is None
    text = report.render(summary)
    assert "54.0 ±4.0 (3 seeds)" in text and "| 90.0 |" in text


def test_effects_name_the_change_its_interval_and_a_verdict_only_beyond_noise(tmp_path):
    import dataclasses

    def put(inter, seed, score, ci):
        r = _result("xnli", "e5", "multilingual", inter, {"en": score, "de": score})
        write_result(tmp_path / f"{inter}-{seed}" / "xnli.json", dataclasses.replace(
            r, run=RunInfo("e5", "multilingual", inter, "xnli", seed), score_ci95=ci, checkpoint=f"{inter}{seed}"))

    for seed, (none, qa, siqa) in enumerate([(50.0, 60.0, 50.5), (51.0, 61.0, 52.0), (52.0, 62.0, 51.0)]):
        put("none", seed, none, [none - 1, none + 1])
        put("qa", seed, qa, [qa - 1, qa + 1])
        put("siqa", seed, siqa, [siqa - 1, siqa + 1])
    summary = report.summarize(tmp_path)
    found = {e["intermediate"]: e for e in summary["effects"]}
    assert set(found) == {"qa", "siqa"}
    assert found["qa"]["delta"] == pytest.approx(10.0) and found["qa"]["verdict"] == "up"
    assert found["siqa"]["verdict"] == "within noise" and found["siqa"]["low"] < 0 < found["siqa"]["high"]
    text = report.render(summary)
    assert re.search(r"\| e5 \| qa \| xnli \| \+10\.0 \| \[\+\d+\.\d, \+\d+\.\d\] \| up \| 3 vs 3 \|", text), text
    json.dumps(summary)  # summary.json stays writable


def test_a_target_below_its_floor_is_not_learned_and_no_effect_is_claimed(tmp_path, capsys):
    """Floors are checked on the multilingual encoder's no-intermediate cells (seed mean of the chosen metric); a
    target below its floor, or with a constant-predicting language where that is ruled out, is "not learned at this
    budget": its effects get that verdict, never a claim, and the English dev curve is shown."""
    import dataclasses

    def put(task, inter, seed, score, constant=()):
        r = _result(task, "e5", "multilingual", inter, {"en": score, "de": score})
        chain = [{**r.chain[0], "metrics": {"dev_curve": [[50, 40.0], [100, 55.5]]}}, *r.chain[1:]]
        reliability = {lang: {"constant": lang in constant} for lang in r.languages}
        write_result(tmp_path / f"{inter}-{seed}" / f"{task}.json", dataclasses.replace(
            r, run=RunInfo("e5", "multilingual", inter, task, seed), chain=chain, reliability=reliability,
            score_ci95=[score - 1, score + 1], checkpoint=f"{task}{inter}{seed}"))

    for seed in (1, 2):
        put("xnli", "none", seed, 55.0)
        put("xnli", "qa", seed, 65.0)
        put("pawsx", "none", seed, 60.0)  # below 68
        put("pawsx", "qa", seed, 70.0)
        put("xcopa", "none", seed, 60.0, constant=("de",))  # above 55 but one language constant
    floors_file = tmp_path / "floors.yaml"
    floors_file.write_text("xnli: {min: 50}\npawsx: {min: 68}\nxcopa: {min: 55, no_constant: true}\n")
    assert report.main([str(tmp_path), "--floors", str(floors_file)]) == 0
    text = capsys.readouterr().out
    summary = report.summarize(tmp_path, floors=analysis.read_floors(floors_file))
    met = {f["task"]: f["met"] for f in summary["floors"]}
    assert met == {"xnli": True, "pawsx": False, "xcopa": False}
    verdicts = {(e["task"], e["intermediate"]): e["verdict"] for e in summary["effects"]}
    assert verdicts[("xnli", "qa")] == "up" and verdicts[("pawsx", "qa")] == analysis.NOT_LEARNED
    assert re.search(r"\| pawsx \| e5 \| accuracy \| 68 \| 60\.0 \| not learned at this budget \(60\.0 \\?< 68\) \| "
                     r"50: 40\.0 100: 55\.5 \|", text), text
    assert "constant predictions in de" in text
    # A typo in the floors file is one clear error, exit 2.
    floors_file.write_text("xnlii: {min: 50}\npawsx: {minimum: 68}\n")
    assert report.main([str(tmp_path), "--floors", str(floors_file)]) == 2
    err = capsys.readouterr().err
    assert "xnlii: not a task" in err and "minimum" in err


def test_a_result_keeps_the_english_dev_learning_curve_of_its_training_phase():
    from xstilts.provenance import dev_curve

    history = [{"loss": 0.7, "step": 25}, {"eval_score": 58.04, "eval_runtime": 1.0, "step": 50},
               {"eval_score": "bad", "step": 75}, "junk", {"eval_score": 68.75, "step": 100}]
    assert dev_curve(history) == [[50, 58.04], [100, 68.75]]
    assert dev_curve(None) == [] and dev_curve({"a": 1}) == []


def test_a_chain_entry_without_recipe_still_reports(tmp_path):
    """A phase-3 entry whose recipe is null (allowed by the schema) falls back to the result's task."""
    import dataclasses

    from xstilts.results import trained_on

    r = _result("xnli", "e5", "multilingual", "none", {"en": 50.0})
    for recipe in (None, {"data": None}, {"data": {"train_task": 7}}):
        chain = [{**r.chain[0], "recipe": recipe}, *r.chain[1:]]
        assert trained_on(dataclasses.replace(r, chain=chain)) == "xnli"
    write_result(tmp_path / "a" / "xnli.json", dataclasses.replace(r, chain=[{**r.chain[0], "recipe": None},
                                                                             *r.chain[1:]]))
    assert report.summarize(tmp_path)["grid"]["rows"][0]["trained_on"] == [["xnli"]]


def test_the_committed_mini_summary_is_what_the_readme_command_writes(tmp_path):
    """results/mini/SUMMARY.md and summary.json are regenerable: the README's command on the committed results gives
    them back byte for byte (a change of the report, claims or floors must regenerate and commit them)."""
    out = tmp_path / "SUMMARY.md"
    assert report.main(["results/mini", "--floors", "recipes/mini/floors.yaml", "--write", str(out)]) == 0
    assert out.read_text() == Path("results/mini/SUMMARY.md").read_text()
    mine, theirs = json.loads((tmp_path / "summary.json").read_text()), json.loads(
        Path("results/mini/summary.json").read_text())
    assert mine == theirs
