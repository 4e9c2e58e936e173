"""Numbers that look right and are not: which results a cell pools as seeds, which result a re-evaluation replaces,
and over what an effect or a benchmark mean compares (the report and the viewer apply the same rules)."""
from __future__ import annotations


import pytest

from xstilts import analysis, report
from xstilts.results import RunInfo, TaskResult, average_metrics, dedupe, recipe_variants, task_score, write_result
from xstilts.view import loading


def _chain(lr: float = 1e-4, precision: str = "bf16", seed: int = 1, out: str = "runs/p3") -> list[dict]:
    return [{"phase": "phase3", "folder": out, "recipe": {"output": out, "input": "runs/p1", "task": "xnli",
                                                          "train": {"lr": lr, "precision": precision, "seed": seed}}},
            {"phase": "phase1", "folder": "runs/p1", "recipe": {"name": "e5", "seed": 42, "output": "runs/p1"}}]


def _result(score: float, seed: int = 1, inter: str = "none", lr: float = 1e-4, precision: str = "bf16",
            split: str = "test", created: str = "2026-01-01T00:00:00+0000", langs: tuple[str, ...] = ("en", "de"),
            task: str = "xnli") -> TaskResult:
    languages = {lang: {"accuracy": score, "n": 100} for lang in langs}
    average = average_metrics(languages)
    return TaskResult(task=task, task_type="classification", split=split, data_source="xtreme",
                      main_metric="accuracy", languages=languages, average=average,
                      score=task_score("accuracy", average), missing_languages=[], partial=False, checkpoint="c",
                      run=RunInfo("e5", "multilingual", inter, task, seed),
                      chain=_chain(lr, precision, seed, f"runs/p3-{inter}-{seed}-{lr}"), created=created,
                      version="0", score_ci95=[score - 1, score + 1],
                      reliability={lang: {"constant": False} for lang in langs})


def _write(root, results: list[TaskResult]) -> None:
    for k, r in enumerate(results):
        write_result(root / f"r{k}" / f"{r.task}.json", r)


def test_runs_whose_recipes_differ_beyond_the_seed_are_not_pooled_as_seeds(tmp_path):
    """Issue 25: a user's run with another lr and precision was merged into a cell as a second seed. Only runs whose
    resolved recipes differ in the seed (and output paths) alone are pooled; the others become their own cell,
    named by the keys that differ, in the report and in the viewer."""
    seeds = [_result(50.0 + s, seed=s) for s in (1, 2, 3)]
    other = _result(20.0, seed=42, lr=3e-5, precision="fp32")
    _write(tmp_path, [*seeds, other])
    grid = report.summarize(tmp_path)["grid"]
    labels = [inter for _, inter in grid["columns"]]
    assert len(labels) == 2 and all(label.startswith("none [") for label in labels), labels
    assert all("train.lr=" in label and "train.precision=" in label for label in labels)
    cells = dict(zip(labels, grid["rows"][0]["cells"], strict=True))
    assert sorted(cells.values()) == [20.0, pytest.approx(52.0)]
    assert sorted(len(s) for s in grid["rows"][0]["seeds"]) == [1, 3]
    assert "never pooled as seeds" in report.render(report.summarize(tmp_path))

    table = loading.overview_table([*seeds, other], benchmark=None)
    assert sorted(table["n_seeds"]) == [1, 3] and sorted(table["score"]) == [20.0, pytest.approx(52.0)]


def test_seeds_that_differ_only_in_seed_and_output_paths_are_pooled(tmp_path):
    _write(tmp_path, [_result(50.0 + s, seed=s) for s in (1, 2, 3)])
    grid = report.summarize(tmp_path)["grid"]
    assert grid["columns"] == [["e5", "none"]] and grid["rows"][0]["seeds"] == [[1, 2, 3]]


def test_an_effect_is_never_computed_against_a_baseline_of_another_recipe(tmp_path):
    """The baseline cell split in two recipes: neither is "the" baseline, so the intermediate's effect is refused
    (no effect row) rather than computed against one picked at random."""
    _write(tmp_path, [_result(50.0, seed=1), _result(51.0, seed=2, lr=3e-5), _result(60.0, seed=1, inter="mnli")])
    summary = report.summarize(tmp_path)
    assert summary["effects"] == []


def test_a_re_evaluation_on_another_split_keeps_the_test_result(tmp_path):
    """Deduplication is by the evaluated configuration including the split: a validation-split re-evaluation of the
    same run is its own cell, never a replacement of the test-set number, and never pooled with it as a seed."""
    test = _result(50.0, split="test", created="2026-01-01T00:00:00+0000")
    dev = _result(70.0, split="validation", created="2026-02-01T00:00:00+0000")
    assert {r.split for r in dedupe([test, dev])} == {"test", "validation"}
    _write(tmp_path, [test, dev])
    grid = report.summarize(tmp_path)["grid"]
    cells = dict(zip((inter for _, inter in grid["columns"]), grid["rows"][0]["cells"], strict=True))
    assert cells == {'none [split="test"]': 50.0, 'none [split="validation"]': 70.0}


def test_a_newer_evaluation_on_other_data_keeps_the_older_result(tmp_path):
    """A quick check on the embedded quickstart sample, made after the Hub evaluation of the same model, replaced the
    Hub number in the report as "the newest" (the data source was not part of the key): now each is its own cell."""
    import dataclasses

    hub = dataclasses.replace(_result(70.0, created="2026-01-01T00:00:00+0000"), data_source="hub")
    quick = dataclasses.replace(_result(40.0, created="2026-02-01T00:00:00+0000"), data_source="embedded")
    assert sorted(r.score for r in dedupe([hub, quick])) == [40.0, 70.0]
    _write(tmp_path, [hub, quick])
    grid = report.summarize(tmp_path)["grid"]
    cells = dict(zip((inter for _, inter in grid["columns"]), grid["rows"][0]["cells"], strict=True))
    assert cells == {'none [data_source="embedded"]': 40.0, 'none [data_source="hub"]': 70.0}


def test_a_newer_re_evaluation_on_fewer_languages_never_replaces_the_fuller_result(tmp_path):
    """A re-evaluation of the same run with ``languages=[de]`` replaced its full result as "the newest": the cell was
    then scored on German alone. The fuller result stays; one on the same languages, or on more, still replaces it."""
    full = _result(50.0, created="2026-01-01T00:00:00+0000", langs=("en", "de", "fr"))
    subset = _result(70.0, created="2026-02-01T00:00:00+0000", langs=("de",))
    assert [r.score for r in dedupe([full, subset])] == [50.0]
    assert [r.score for r in dedupe([subset, full])] == [50.0]
    again = _result(60.0, created="2026-03-01T00:00:00+0000", langs=("en", "de", "fr"))
    assert [r.score for r in dedupe([full, subset, again])] == [60.0]
    more = _result(65.0, created="2025-12-01T00:00:00+0000", langs=("en", "de", "fr", "es"))
    assert [r.score for r in dedupe([full, more])] == [65.0]  # more languages win even when older
    _write(tmp_path, [full, subset])
    assert report.summarize(tmp_path)["grid"]["rows"][0]["cells"] == [50.0]


def test_newest_is_decided_by_instant_not_by_text():
    """'2026-01-01T11:30:00+0200' is 09:30 UTC: older than '2026-01-01T10:00:00+0000' although it sorts later as
    text. The newer instant wins; a naive stamp reads as UTC and an unreadable one is the oldest."""
    utc = _result(50.0, created="2026-01-01T10:00:00+0000")
    east = _result(60.0, created="2026-01-01T11:30:00+0200")
    assert [r.score for r in dedupe([utc, east])] == [50.0]
    assert [r.score for r in dedupe([east, utc])] == [50.0]
    naive = _result(70.0, created="2026-01-01T10:30:00")
    assert [r.score for r in dedupe([utc, naive])] == [70.0]
    junk = _result(80.0, created="yesterday")
    assert [r.score for r in dedupe([junk, utc])] == [50.0]


def test_recipe_variants_leave_inputs_unchanged():
    a, b = _result(50.0, seed=1), _result(20.0, seed=2, lr=3e-5)
    out = recipe_variants([a, b])
    assert a.run.intermediate == "none" and {r.run.intermediate for r in out} == {
        "none [train.lr=0.0001]", "none [train.lr=3e-05]"}


def test_an_effect_compares_only_cells_scored_on_the_same_languages(tmp_path):
    """Issue 25: an effect compared a cell with its baseline over different languages. The report refuses it
    ("other languages", no interval, the languages named) and the viewer marks the cell the same way."""
    base = [_result(50.0, seed=s, langs=("en", "de", "sw")) for s in (1, 2)]
    cell = [_result(60.0, seed=s, inter="mnli", langs=("en", "de")) for s in (1, 2)]
    _write(tmp_path, [*base, *cell])
    (effect,) = report.summarize(tmp_path)["effects"]
    assert effect["verdict"] == analysis.NOT_COMPARABLE and effect["low"] is None
    assert "only the baseline: sw" in effect["why"]
    table = loading.overview_table([*base, *cell], benchmark=None)
    row = table[table["intermediate"] == "mnli"].iloc[0]
    assert row["status"] == loading.STATUS_OTHER_LANGUAGES and "only the baseline: sw" in row["why"]
    same = [_result(60.0, seed=s, inter="mnli", langs=("en", "de", "sw")) for s in (1, 2)]
    assert loading.overview_table([*base, *same], benchmark=None).set_index("intermediate").loc[
        "mnli", "status"] == loading.STATUS_CHANGE


def test_the_benchmark_mean_of_an_encoder_s_rows_is_over_one_task_set():
    """Issue 25: '55.5 / -1.2 (5/9)' beside a baseline whose mean was over 6/9 tasks: a higher number shown as a
    loss. Every row of an encoder now averages the same tasks (named), and the change is over those."""
    tasks = ["xnli", "pawsx", "panx", "udpos", "mlqa", "tatoeba"]
    rs = [_result(50.0 + 10 * (t == "tatoeba"), task=t) for t in tasks]  # baseline: 6 tasks, tatoeba scores high
    rs += [_result(55.0, task=t, inter="mnli") for t in tasks[:5]]  # 5 tasks, +5 on each
    table = loading.overview_table(rs, benchmark="XTREME")
    agg = table[table["task"] == "XTREME"].set_index("intermediate")
    assert set(agg["aggregate_tasks"]) == {"5/9"}
    assert agg.loc["none", "score"] == pytest.approx(50.0) and agg.loc["mnli", "delta"] == pytest.approx(5.0)
    assert "left out here: tatoeba" in agg.loc["none", "why"]


def test_a_cell_is_constant_only_when_every_seed_is(tmp_path):
    """One seed constant in every language and one that learned: the cell is not drawn or printed as a constant
    predictor (its mean is not the class balance); its constant languages are still named."""
    import dataclasses as dc

    learned = _result(60.0, seed=1)
    stuck = dc.replace(_result(33.0, seed=2), reliability={"en": {"constant": True}, "de": {"constant": True}})
    _write(tmp_path, [learned, stuck])
    text = report.render(report.summarize(tmp_path))
    assert "const 2/2 (some seeds)" in text and "| 46.5 ±19.1 (2 seeds) [45.5, 47.5] const |" not in text
    row = loading.overview_table([learned, stuck], benchmark=None).iloc[0]
    assert not row["all_constant"] and row["constant_langs"] == ["de", "en"]
    both = loading.overview_table([stuck, dc.replace(stuck, run=dc.replace(stuck.run, seed=3))], benchmark=None)
    assert both.iloc[0]["all_constant"]


def test_a_recipe_variant_is_compared_with_the_baseline_of_the_same_variant(tmp_path):
    """Split on another split: the test-split intermediate is compared with the test-split baseline only."""
    rs = [_result(50.0, seed=s, split=sp) for s in (1, 2) for sp in ("test", "validation")]
    rs += [_result(60.0 + s, seed=s, inter="mnli", split=sp) for s in (1, 2) for sp in ("test", "validation")]
    _write(tmp_path, rs)
    found = {(e["intermediate"], e["baseline"]) for e in report.summarize(tmp_path)["effects"]}
    assert found == {('mnli [split="test"]', 50.0), ('mnli [split="validation"]', 50.0)}
    table = loading.overview_table(rs, benchmark=None).set_index("intermediate")
    assert table.loc['mnli [split="test"]', "status"] == loading.STATUS_CHANGE
    assert table.loc['none [split="test"]', "status"] == loading.STATUS_BASELINE


def test_a_floor_checks_each_recipe_variant_of_its_setting(tmp_path):
    """The baseline split in two recipes: the floor is checked on each (named), never reported as "no run"."""
    _write(tmp_path, [_result(60.0, seed=1), _result(61.0, seed=2), _result(20.0, seed=3, lr=3e-5)])
    (tmp_path / "floors.yaml").write_text("xnli: {min: 50}\n")
    checked = report.summarize(tmp_path, floors=report.read_floors(tmp_path / "floors.yaml"))["floors"]
    verdicts = {f["encoder"]: f["met"] for f in checked}
    assert verdicts == {"e5 [train.lr=0.0001]": True, "e5 [train.lr=3e-05]": False}
