"""One analysis (xstilts.analysis) for the report, the claims and the viewer: the same result files give SUMMARY.md's
verdicts and the viewer's, cell by cell (issue 27, part 2)."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from xstilts import analysis, report
from xstilts.results import RunInfo, TaskResult, average_metrics, find_results, task_score, write_result
from xstilts.view import loading

REPO = Path(__file__).resolve().parents[1]
MINI = REPO / "results" / "mini"
MINI_FLOORS = REPO / "recipes" / "mini" / "floors.yaml"
ARCHIVE = REPO / "results" / "archive" / "mini-before-issue29"
LANGS = ("en", "de", "sw")
JITTER = {1: 0.0, 2: 0.5, 3: -0.5}


def _put(root: Path, task: str, inter: str, seed: int, score: float, half: float = 0.5, lora: bool = False,
         constant: tuple[str, ...] = (), langs: tuple[str, ...] = LANGS, dev: float | None = None) -> None:
    """One result of encoder e5: ``score`` (plus the seed's jitter) in each language, an interval of +-``half``;
    ``constant``: the languages predicting one answer; ``dev``: its phase-2 run's English dev score (an intermediate's
    floor reads it), that run trained with the same seed as phase 3 (one phase-2 run per seed)."""
    value = score + JITTER[seed]
    languages = {lang: {"accuracy": value, "n": 100} for lang in langs}
    average = average_metrics(languages)
    chain = [{"phase": "phase3", "folder": f"/r/p3-{inter}-{task}-{seed}-{lora}", "recipe": {"task": task}}]
    if inter != "none":
        chain.append({"phase": "phase2", "folder": f"/r/p2-{inter}-{seed}-{lora}",
                      "recipe": {"task": inter, "train": {"seed": seed}},
                      **({"metrics": {"dev": {"score": dev}}} if dev is not None else {})})
    result = TaskResult(task=task, task_type="classification", split="test", data_source="xtreme",
                        main_metric="accuracy", languages=languages, average=average,
                        score=task_score("accuracy", average), missing_languages=[], partial=False,
                        checkpoint=f"{inter}{task}{seed}{lora}", run=RunInfo("e5", "multilingual", inter, task, seed,
                                                                               lora=lora),
                        chain=chain, created="2026-01-01T00:00:00+0000", version="0",
                        score_ci95=[value - half, value + half], chance=100 / 3,
                        reliability={lang: {"constant": lang in constant} for lang in langs})
    write_result(root / f"{inter}-{task}-{seed}-{'lora' if lora else 'full'}" / f"{task}.json", result)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A grid with one cell of every verdict, a constant cell, a cell of one seed and a LoRA column."""
    for seed in (1, 2, 3):
        _put(tmp_path, "xnli", "none", seed, 50.0)
        _put(tmp_path, "xnli", "tydiqa", seed, 58.0, dev=70.0)  # up
        _put(tmp_path, "xnli", "hellaswag", seed, 50.1, half=4.0, dev=70.0)  # within noise
        _put(tmp_path, "xnli", "siqa", seed, 58.0, dev=40.0)  # its intermediate below its floor (55)
        _put(tmp_path, "xnli", "cosmosqa", seed, 33.3, constant=LANGS, dev=70.0)  # one answer everywhere: down
        _put(tmp_path, "xnli", "commonsenseqa", seed, 52.0, constant=("sw",), dev=70.0)  # constant in one language
        _put(tmp_path, "xnli", "anli", seed, 55.0, langs=("en", "de"), dev=70.0)  # other languages than the base
        _put(tmp_path, "xnli", "xnli", seed, 60.0, dev=70.0)  # the target's own data: same task
        _put(tmp_path, "pawsx", "none", seed, 55.0)  # below its floor (68): not learned
        _put(tmp_path, "pawsx", "tydiqa", seed, 60.0, dev=70.0)
        _put(tmp_path, "pawsx", "siqa", seed, 60.0, dev=40.0)  # both floors unmet: the intermediate is named
        _put(tmp_path, "xnli", "none", seed, 50.0, lora=True)
        _put(tmp_path, "xnli", "tydiqa", seed, 40.0, lora=True, dev=70.0)  # down
        _put(tmp_path, "xnli", "siqa", seed, 58.0, lora=True, dev=40.0)  # a LoRA column: "siqa +LoRA"
    _put(tmp_path, "xnli", "mnli", 1, 70.0, dev=70.0)  # one seed beside three: too few seeds, no interval
    (tmp_path / "floors.yaml").write_text("pawsx: {min: 68}\nintermediates: {siqa: {min: 55}}\n")
    return tmp_path


def _compare(root: Path, floors: Path | None) -> dict[tuple[str, str, str], str]:
    """Feeds the same result files to the report and to the viewer's loading; asserts that every cell of the viewer's
    overview has the grid's figures and the report's verdict, and that every verdict of the report is in the viewer.

    Returns:
        (encoder, intermediate column, task) -> the report's verdict, for the cells compared.
    """
    found = find_results(root)
    results = [r for _, r in found[0]]
    summary = report.summarize(root, found, analysis.read_floors(floors) if floors else None,
                               analysis.read_intermediate_floors(floors) if floors else None)
    not_learned, problem = loading.floor_verdicts(results, floors)
    weak, weak_problem = loading.intermediate_floor_verdicts(results, floors)
    assert problem == weak_problem == ""
    assert not_learned == analysis.targets_not_learned(summary["floors"])
    assert set(not_learned) == {f["task"] for f in summary["floors"] if not f["met"]}
    assert weak == analysis.intermediate_not_learned(summary["intermediate_floors"])
    effects = {(e["encoder"], e["intermediate"], e["task"]): e for e in summary["effects"] if " (" not in e["task"]}
    grid = summary["grid"]
    cols = [tuple(c) for c in grid["columns"]]
    rows = {row["task"]: row for row in grid["rows"]}
    seen: dict[tuple[str, str, str], str] = {}
    for lora in (False, True):
        table = loading.overview_table(results, lora=lora, benchmark=None, not_learned=not_learned,
                                       weak_intermediates=weak)
        for cell in table.itertuples():
            label = cell.intermediate + (" +LoRA" if lora else "")
            key = (cell.encoder, label, cell.task)
            row, i = rows[cell.task], cols.index((cell.encoder, label))
            # the cell's figures: the grid's (seed mean, sd over seeds, interval, degenerate flags)
            assert cell.score == row["cells"][i], key
            assert (math.isnan(cell.sd) and row["sd"][i] is None) or cell.sd == row["sd"][i], key
            assert cell.seeds == row["seeds"][i] and cell.n_seeds == len(row["runs"][i]), key
            ci = row["ci95"][i]
            assert (math.isnan(cell.ci_low) and ci is None) or [cell.ci_low, cell.ci_high] == ci, key
            assert cell.constant_langs == row["constant"][i] and cell.all_constant == row["all_constant"][i], key
            assert cell.not_learned == not_learned.get(cell.task, ""), key
            if key not in effects:  # nothing to compare with: the baseline, or a cell without one
                assert cell.status in (loading.STATUS_BASELINE, loading.STATUS_NO_BASELINE, loading.STATUS_SAME_TASK)
                continue
            e = effects[key]
            assert cell.status == loading.STATUS_OF_VERDICT[e["verdict"]], (key, e["verdict"], cell.why)
            if cell.status not in (loading.STATUS_SAME_TASK, loading.STATUS_OTHER_LANGUAGES):
                assert cell.delta == e["delta"] and cell.baseline == e["baseline"], key
            if e["verdict"] in (analysis.UP, analysis.DOWN, analysis.WITHIN_NOISE):
                assert f"[{e['low']:+.1f}, {e['high']:+.1f}]" in cell.why, key
            if e["verdict"] in (analysis.NOT_LEARNED, analysis.INTERMEDIATE_NOT_LEARNED):
                assert cell.why.startswith(e["verdict"]), key
            seen[key] = e["verdict"]
    assert set(seen) == set(effects), "a verdict of SUMMARY.md that no viewer cell shows"
    return seen


def test_the_report_and_the_viewer_give_every_synthetic_cell_the_same_verdict(folder):
    verdicts = _compare(folder, folder / "floors.yaml")
    assert verdicts == {
        ("e5", "tydiqa", "xnli"): analysis.UP,
        ("e5", "hellaswag", "xnli"): analysis.WITHIN_NOISE,
        ("e5", "siqa", "xnli"): analysis.INTERMEDIATE_NOT_LEARNED,
        ("e5", "cosmosqa", "xnli"): analysis.DOWN,
        ("e5", "commonsenseqa", "xnli"): analysis.UP,
        ("e5", "anli", "xnli"): analysis.NOT_COMPARABLE,
        ("e5", "xnli", "xnli"): analysis.SAME_TASK,
        ("e5", "mnli", "xnli"): analysis.UNKNOWN,  # one seed: the seed noise is unknown
        ("e5", "tydiqa", "pawsx"): analysis.NOT_LEARNED,
        ("e5", "siqa", "pawsx"): analysis.INTERMEDIATE_NOT_LEARNED,  # the intermediate first, as SUMMARY.md
        ("e5", "tydiqa +LoRA", "xnli"): analysis.DOWN,
        # the floor is measured over every phase-2 run of siqa: it holds for its LoRA column too
        ("e5", "siqa +LoRA", "xnli"): analysis.INTERMEDIATE_NOT_LEARNED,
    }


def test_degenerate_cells_are_flagged_alike(folder):
    results = [r for _, r in find_results(folder)[0]]
    table = loading.overview_table(results, benchmark=None).set_index(["encoder", "intermediate", "task"])
    constant = table.loc[("e5", "cosmosqa", "xnli")]
    assert constant.all_constant and constant.constant_langs == ["de", "en", "sw"]
    part = table.loc[("e5", "commonsenseqa", "xnli")]
    assert not part.all_constant and part.constant_langs == ["sw"]
    one = table.loc[("e5", "mnli", "xnli")]
    assert one.status == loading.STATUS_UNCERTAIN and math.isnan(one.sd) and "seed noise is unknown" in one.why
    grid = report.summarize(folder)["grid"]
    i = [tuple(c) for c in grid["columns"]].index(("e5", "mnli"))
    assert next(r for r in grid["rows"] if r["task"] == "xnli")["sd"][i] is None
    # chance: as the result records it, else the task's type
    assert analysis.task_chance(results, "xnli") == pytest.approx(100 / 3)
    assert analysis.task_chance([], "xcopa") == 50.0 and analysis.task_chance([], "panx") is None


def test_a_language_with_figures_but_no_score_is_not_a_constant_language(folder):
    """The viewer counted every language of ``reliability``; the analysis (the report's rule) only scored ones."""
    result = next(r for _, r in find_results(folder)[0] if r.run.intermediate == "anli")
    result.reliability["sw"] = {"constant": True}  # figures for a language the result has no score for
    assert analysis.constant_languages(result) == []
    assert loading.run_languages(result)["constant"].tolist() == [False, False]


@pytest.mark.skipif(not (MINI / "SUMMARY.md").is_file(), reason="results/mini not in this checkout")
def test_the_report_and_the_viewer_give_every_mini_cell_the_same_verdict(monkeypatch):
    monkeypatch.chdir(REPO)
    verdicts = _compare(MINI, MINI_FLOORS)
    assert {"up", "down", "within noise"} & set(verdicts.values()) and len(verdicts) >= 5
    # The archived grid before issue 29, whose intermediates did not learn: the verdict the seeded grid never needs.
    archived = _compare(ARCHIVE, ARCHIVE / "floors.yaml")
    assert analysis.INTERMEDIATE_NOT_LEARNED in archived.values() and len(archived) > 10
