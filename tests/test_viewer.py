"""The results viewer: loading and tabulation on hand-made results, figure builders on the fixture results, and
every view of the app through ``streamlit.testing.v1.AppTest`` (no browser; see test_viewer_browser.py for that)."""
from __future__ import annotations

import filecmp
import html
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

from xstilts import analysis, languages, markdown, report
from xstilts.results import (
    XTREME_CATEGORIES,
    XTREME_R_CATEGORIES,
    ResultsError,
    RunInfo,
    TaskResult,
    average_metrics,
    benchmark_scores,
    read_result,
    task_score,
    write_result,
)
from xstilts.tasks import BENCHMARK_TASKS, get_task
from xstilts.view import figures, loading

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "viewer" / "app.py"
FIXTURE = REPO / "tests" / "fixtures" / "results_demo"

# Every language of XTREME and XTREME-R (from the task registry), to check the script table covers them all.
ALL_LANGS = {lang for names in BENCHMARK_TASKS.values() for task in names
             for lang in get_task(task).languages + get_task(task).languages_r}


def make(task: str = "xnli", encoder: str = "enc-m", inter: str = "none", seed: int | None = 1,
         langs: dict[str, float] | None = None, main: str = "accuracy", kind: str = "multilingual",
         lora: bool = False, chain: list | None = None, created: str = "2025-01-01T00:00:00",
         missing: list[str] | None = None, ci: list[float] | None = None, constant: tuple[str, ...] = (),
         chance: float | None = None) -> TaskResult:
    """A hand-made result: ``langs`` maps language -> main-metric value (QA: exact_match; f1 = EM + 10); ``ci`` its
    score's 95% interval and ``constant`` the languages predicting one answer (reliability recorded when either is
    given)."""
    langs = langs if langs is not None else {"en": 80.0, "de": 70.0}
    if main == "exact_match+f1":
        languages = {k: {"exact_match": v, "f1": v + 10, "n": 10} for k, v in langs.items()}
    else:
        languages = {k: {main: v, "n": 10} for k, v in langs.items()}
    average = average_metrics(languages)
    return TaskResult(task=task, task_type="classification", split="test", data_source="hand", main_metric=main,
                      languages=languages, average=average, score=task_score(main, average),
                      missing_languages=missing or [], partial=bool(missing), checkpoint="ckpt",
                      run=RunInfo(encoder=encoder, encoder_kind=kind, intermediate=inter, target=task, seed=seed,
                                  lora=lora),
                      chain=chain if chain is not None else [], created=created, version="0",
                      score_ci95=ci, chance=chance,
                      reliability={lang: {"majority_share": 40.0, "top_prediction_share": 100.0 if lang in constant
                                          else 45.0, "constant": lang in constant, "ci95": None}
                                   for lang in languages} if (ci is not None or constant) else {})


@pytest.fixture(scope="module")
def demo() -> loading.Loaded:
    return loading.load_results(FIXTURE)


# ---------------------------------------------------------------------------------------------------- loading


def test_fixture_loads_completely(demo):
    assert len(demo.results) == 60 and demo.broken == []
    assert all(not Path(p).is_absolute() for p, _ in demo.results)
    assert loading.encoders(demo.task_results) == {"demo-roberta-base": "english", "demo-xlmr-base": "multilingual"}


def test_fixture_generator_is_reproducible(tmp_path):
    out = tmp_path / "demo"
    subprocess.run([sys.executable, str(REPO / "tools" / "make_viewer_fixtures.py"), str(out)], check=True,
                   capture_output=True)
    cmp = filecmp.dircmp(out, FIXTURE)

    def same(c: filecmp.dircmp) -> bool:
        return not (c.left_only or c.right_only or c.diff_files) and all(same(s) for s in c.subdirs.values())

    assert same(cmp), "tests/fixtures/results_demo is stale: run tools/make_viewer_fixtures.py"


def test_missing_or_file_folder_is_a_clear_error(tmp_path):
    with pytest.raises(loading.ViewerError, match="does not exist"):
        loading.load_results(tmp_path / "nope")
    (tmp_path / "f.json").write_text("{}")
    with pytest.raises(loading.ViewerError, match="is a file"):
        loading.load_results(tmp_path / "f.json")


def test_broken_files_are_named_not_fatal(tmp_path):
    write_result(tmp_path / "a" / "eval" / "xnli.json", make())
    (tmp_path / "b" / "eval").mkdir(parents=True)
    (tmp_path / "b" / "eval" / "pawsx.json").write_text('{"schema": "xstilts.results/v1", "task": ')  # truncated
    (tmp_path / "recipe.json").write_text('{"not": "a result"}')  # other JSON is ignored, not reported
    loaded = loading.load_results(tmp_path)
    assert [p for p, _ in loaded.results] == ["a/eval/xnli.json"]
    assert len(loaded.broken) == 1 and loaded.broken[0][0] == "b/eval/pawsx.json"
    assert "not valid JSON" in loaded.broken[0][1] and str(tmp_path) not in loaded.broken[0][1]


def test_symlinks_out_of_the_folder_are_refused(tmp_path):
    outside = tmp_path / "outside"
    write_result(outside / "eval" / "xnli.json", make(encoder="secret"))
    root = tmp_path / "results"
    write_result(root / "run" / "eval" / "xnli.json", make())
    (root / "linked_dir").symlink_to(outside, target_is_directory=True)
    (root / "run" / "eval" / "pawsx.json").symlink_to(outside / "eval" / "xnli.json")
    loaded = loading.load_results(root)
    assert {r.run.encoder for r in loaded.task_results} == {"enc-m"}
    refused = dict(loaded.broken)
    assert set(refused) == {"linked_dir", "run/eval/pawsx.json"}
    assert all("outside the results folder" in v for v in refused.values())


def _good_dict() -> dict:
    return make(langs={"en": 80.0, "de": 70.0}, chain=[{"phase": "phase1", "folder": "/r/p1",
                                                      "done": {"wall_time_s": 1.0}}]).to_dict()


def _set(data: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        data = data[int(key)] if isinstance(data, list) else data[key]
    if value is _DELETE:
        del data[last]
    else:
        data[last] = value


_DELETE = object()
# (dotted key, wrong value, what the problem must name): the wrong-typed fields a hand-edited or foreign file has.
WRONG_FIELDS = [
    ("languages", ["en", "de"], "languages is list"),
    ("languages.de.accuracy", "70", "languages.de.accuracy is str '70', expected a finite number"),
    ("languages.de.n", "10.0", "languages.de.n is str '10.0', expected a whole number"),
    ("languages.de.n", 10.5, "languages.de.n is float 10.5"),
    ("languages.de.accuracy", _DELETE, "languages.de has no accuracy"),
    ("task", _DELETE, "missing keys ['task']"),
    ("task", 3, "task is int 3"),
    ("task", "xnli\nextra", "task is str"),
    ("score", True, "score is bool True"),
    ("score", "80", "score is str '80'"),
    ("partial", "false", "partial is str 'false', expected true or false"),
    ("missing_languages", "sw", "missing_languages is str 'sw', expected a list of strings"),
    ("average.accuracy", None, "average.accuracy is NoneType None"),
    ("run.encoder", _DELETE, "run.encoder is missing"),
    ("run.encoder", ["enc"], "run.encoder is list"),
    ("run.seed", "1", "run.seed is str '1', expected an integer or null"),
    ("run.lora", "yes", "run.lora is str 'yes'"),
    ("run.colour", "red", "run has unknown keys ['colour']"),
    ("chain", {"phase": "phase1"}, "chain is dict"),
    ("chain.0.done.wall_time_s", "5", "chain[0].done.wall_time_s is str '5'"),
    ("chain.0.folder", 7, "chain[0].folder is int 7"),
    ("wall_time_s", "5", "wall_time_s is str '5'"),
    ("environment", [], "environment is list"),
]


@pytest.mark.parametrize("key,value,problem", WRONG_FIELDS, ids=[f"{k}={v!r}" for k, v, _ in WRONG_FIELDS])
def test_wrong_typed_fields_are_listed_as_broken_never_loaded(tmp_path, key, value, problem):
    write_result(tmp_path / "good" / "xnli.json", make())
    data = _good_dict()
    _set(data, key, value)
    bad = tmp_path / "bad" / "xnli.json"
    bad.parent.mkdir()
    bad.write_text(json.dumps(data))
    loaded = loading.load_results(tmp_path)
    assert [p for p, _ in loaded.results] == ["good/xnli.json"]
    assert len(loaded.broken) == 1 and loaded.broken[0][0] == "bad/xnli.json"
    assert problem in loaded.broken[0][1], loaded.broken[0][1]
    with pytest.raises(ResultsError, match="bad/xnli.json: "):
        read_result(bad)


def test_every_wrong_field_is_named_at_once(tmp_path):
    data = _good_dict()
    data["languages"]["de"]["n"] = "10"
    data["run"]["seed"] = 1.5
    data["partial"] = 0
    (tmp_path / "xnli.json").write_text(json.dumps(data))
    problem = loading.load_results(tmp_path).broken[0][1]
    assert all(f in problem for f in ("languages.de.n", "run.seed", "partial")), problem


def test_integral_float_counts_and_absent_optional_fields_are_fine(tmp_path):
    data = _good_dict()
    data["languages"]["de"]["n"] = 10.0  # how retrieval evaluation writes counts
    for key in ("notes", "environment", "wall_time_s"):
        del data[key]
    del data["run"]["seed"], data["run"]["lora"]
    (tmp_path / "xnli.json").write_text(json.dumps(data))
    loaded = loading.load_results(tmp_path)
    assert loaded.broken == [] and loaded.task_results[0].run.seed is None


def test_oversized_and_deeply_nested_files_are_listed(tmp_path):
    write_result(tmp_path / "good" / "xnli.json", make())
    with open(tmp_path / "huge.json", "wb") as f:  # sparse: 21 MiB on paper, nothing on disk
        f.truncate(21 * 2**20)
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "tokenizer.json").write_text("{}")  # known non-result names stay silent
    loaded = loading.load_results(tmp_path)
    assert [p for p, _ in loaded.results] == ["good/xnli.json"]
    broken = dict(loaded.broken)
    assert set(broken) == {"huge.json", "deep.json"}
    assert broken["huge.json"] == "not read: 21.0 MiB is over the 20 MiB limit for a result file"
    assert "not valid JSON" in broken["deep.json"]


def test_results_dir_from_args_and_env():
    assert loading.results_dir_from_args(["--results", "/r"], {}) == "/r"
    assert loading.results_dir_from_args(["-q", "tests/x.py"], {"XSTILTS_RESULTS": "/e"}) == "/e"
    assert loading.results_dir_from_args(["--results=/r"], {"XSTILTS_RESULTS": "/e"}) == "/r"
    assert loading.results_dir_from_args([], {}) is None


def test_every_benchmark_language_has_a_script():
    assert {lang for lang in ALL_LANGS if languages.script_of(lang) == "Other"} == set()
    assert languages.script_of("xx") == "Other"
    assert set(languages.SCRIPTS.values()) <= set(loading.SCRIPT_ORDER)


# -------------------------------------------------------------------------------------------------- tabulation


def test_language_score_qa_is_mean_of_em_and_f1():
    assert loading.language_score("exact_match+f1", {"exact_match": 60.0, "f1": 70.0}) == 65.0
    assert loading.language_score("accuracy", {"accuracy": 50.0}) == 50.0
    assert loading.language_score("f1", {"accuracy": 50.0}) is None


def _cells(t):
    return t.set_index(["encoder", "intermediate", "task"])


def test_overview_judges_cells_by_interval_then_seeds():
    rs = [
        make(langs={"en": 70, "de": 60}, ci=[63.0, 67.0]),  # baseline 65, interval [63, 67]
        make(inter="gain", langs={"en": 75, "de": 65}, ci=[68.0, 72.0]),  # 70: outside both intervals
        make(inter="noisy", langs={"en": 71, "de": 61}, ci=[64.0, 68.0]),  # 66: its interval covers 65
        make(inter="const", langs={"en": 55, "de": 55}, constant=("en", "de")),  # every language one answer
        make(inter="part", langs={"en": 60, "de": 80}, constant=("de",), ci=[68.0, 72.0]),
        make(task="pawsx", langs={"en": 70}, seed=1), make(task="pawsx", langs={"en": 72}, seed=2),  # 71 +- 1.41
        make(task="pawsx", inter="gain", langs={"en": 71.5}, seed=1),  # +0.5 within the seed sd
        make(task="pawsx", inter="noisy", langs={"en": 60}, seed=1),  # -11 beyond it
        make(task="xquad", main="exact_match+f1", langs={"en": 50}),
        make(task="xquad", main="exact_match+f1", inter="gain", langs={"en": 52}),  # one seed, no interval
        make(task="panx", main="f1", inter="gain", langs={"en": 50}),  # no baseline for this task
        make(inter="gain", encoder="other", kind="english", langs={"en": 10}),  # another encoder, no baseline at all
    ]
    c = _cells(loading.overview_table(rs, benchmark=None))
    assert c.loc[("enc-m", "none", "xnli")].status == loading.STATUS_BASELINE
    g = c.loc[("enc-m", "gain", "xnli")]
    # One trained seed a side: the seed noise is unknown however narrow the item interval (issue 29: another
    # phase-2 seed moved a score by 3.5 points against an interval of +-1.1), so nothing is called.
    assert g.status == loading.STATUS_UNCERTAIN and "seed noise is unknown" in g.why
    assert g.delta == pytest.approx(5.0) and g.ci_low == 68.0
    assert g.lang_deltas == {"de": pytest.approx(5.0), "en": pytest.approx(5.0)}
    assert c.loc[("enc-m", "noisy", "xnli")].status == loading.STATUS_UNCERTAIN
    k = c.loc[("enc-m", "const", "xnli")]
    assert k.all_constant and k.constant_langs == ["de", "en"]
    # the baseline's interval [63, 67] does not cover 55, but the cell is constant: drawn as such
    p = c.loc[("enc-m", "part", "xnli")]
    assert p.constant_langs == ["de"] and not p.all_constant
    # one seed beside the baseline's two: the cell's seed noise is unknown, the baseline's cannot stand in for it
    assert c.loc[("enc-m", "gain", "pawsx")].status == loading.STATUS_UNCERTAIN
    assert c.loc[("enc-m", "noisy", "pawsx")].status == loading.STATUS_UNCERTAIN
    assert c.loc[("enc-m", "none", "pawsx")].sd == pytest.approx(math.sqrt(2))
    u = c.loc[("enc-m", "gain", "xquad")]
    assert u.status == loading.STATUS_UNCERTAIN and "seed noise is unknown" in u.why and not u.reliability_recorded
    assert c.loc[("enc-m", "gain", "panx")].status == loading.STATUS_NO_BASELINE
    assert math.isnan(c.loc[("other", "gain", "xnli")].delta)


def test_overview_draws_constant_noise_and_gain_differently():
    # Two seeds a cell, paired by seed: the baseline (65 and 65.4) has no interval, so each cell's own stands in.
    rs = [make(langs={"en": 70, "de": 60}), make(langs={"en": 70.4, "de": 60.4}, seed=2),
          make(inter="gain", langs={"en": 75, "de": 65}, ci=[68.0, 72.0]),
          make(inter="gain", langs={"en": 75.4, "de": 65.4}, ci=[68.4, 72.4], seed=2),
          make(inter="noisy", langs={"en": 71, "de": 61}, ci=[64.0, 68.0]),
          make(inter="noisy", langs={"en": 71.4, "de": 61.4}, ci=[64.4, 68.4], seed=2),
          make(inter="const", langs={"en": 55, "de": 55}, constant=("en", "de")),
          make(inter="unknown", langs={"en": 72, "de": 62})]
    table = loading.overview_table(rs, benchmark=None)
    fig = figures.overview_figure(table, {"xnli": 33.3})

    def where(inter: str) -> tuple[str, str]:
        for tr in fig.data:
            i = list(tr.y).index(inter) if inter in tr.y else None
            if i is not None and tr.z[i][0] is not None:
                return tr.name, tr.text[i][0]
        raise AssertionError(inter)

    name, txt = where("gain")
    assert name == figures.TRACE_CHANGE and "+5.0" in txt and "≈" not in txt and "?" not in txt
    name, txt = where("noisy")
    assert name == figures.TRACE_NOISE and "≈" in txt
    name, txt = where("const")
    assert name == figures.TRACE_CONSTANT and "constant" in txt
    name, txt = where("unknown")
    assert name == figures.TRACE_UNCERTAIN and "?" in txt
    assert where("none (baseline)")[0] == figures.TRACE_ABSOLUTE
    traces = {tr.name: tr for tr in fig.data}
    assert traces[figures.TRACE_CHANGE].coloraxis == "coloraxis" and traces[figures.TRACE_CHANGE].opacity == 1
    assert traces[figures.TRACE_UNCERTAIN].opacity < 1
    assert traces[figures.TRACE_NOISE].colorscale[0][1] == figures.NOISE_FILL
    assert traces[figures.TRACE_CONSTANT].colorscale[0][1] == figures.CONSTANT_FILL
    hatch = [s for s in fig.layout.shapes if s.name == "constant hatch"]
    assert len(hatch) == 3 and all(s.x1 <= 0.5 for s in hatch)  # one cell hatched, inside its column
    assert "chance 33.3" in fig.layout.xaxis.ticktext[0]
    assert "no interval recorded: re-evaluate" in where_hover(fig, "unknown")


def where_hover(fig, inter: str) -> str:
    for tr in fig.data:
        if inter in tr.y and tr.z[list(tr.y).index(inter)][0] is not None:
            return tr.hovertext[list(tr.y).index(inter)][0]
    raise AssertionError(inter)


def test_overview_one_colour_scale_for_every_encoder_and_partial_benchmark_mean():
    tasks = {"xnli": 2.5, "pawsx": 7.5, "tatoeba": 1.0}
    rs = []
    for enc, kind in (("enc-m", "multilingual"), ("enc-e", "english")):
        for task, gain in tasks.items():
            rs += [make(task=task, encoder=enc, kind=kind, langs={"en": 50.0}),
                   make(task=task, encoder=enc, kind=kind, inter="mnli", langs={"en": 50.0 + gain})]
    table = loading.overview_table(rs, benchmark="XTREME")
    fig = figures.overview_figure(table, {}, colour_range=5)
    coloured = [tr for tr in fig.data if tr.name in (figures.TRACE_CHANGE, figures.TRACE_UNCERTAIN,
                                                     figures.TRACE_AGGREGATE)]
    assert {tr.xaxis for tr in coloured} == {"x", "x2"}  # both encoders' panels ...
    assert all(tr.coloraxis == "coloraxis" for tr in coloured)  # ... on the one colour axis
    assert fig.layout.coloraxis.cmin == -5 and fig.layout.coloraxis.cmax == 5
    assert [tr.yaxis for tr in fig.data if tr.name == figures.TRACE_ABSOLUTE][0] == "y"  # multilingual on top
    agg = _cells(table).loc[("enc-m", "mnli", "XTREME")]
    assert agg.aggregate_tasks == "3/9" and agg.partial and agg.delta == pytest.approx(11 / 3)
    assert "mean (partial)" in fig.layout.xaxis.ticktext[-1]
    # fewer than MIN_AGGREGATE_TASKS tasks: no benchmark column
    assert "XTREME" not in set(loading.overview_table([r for r in rs if r.task != "pawsx"])["task"])


def test_overview_without_baseline_shows_absolute_scores():
    rs = [make(inter="mnli", seed=1), make(inter="mnli", seed=2, langs={"en": 82.0, "de": 72.0}),
          make(encoder="enc-e", kind="english", inter="siqa")]
    table = loading.overview_table(rs)
    assert set(table["status"]) == {loading.STATUS_NO_BASELINE}
    fig = figures.overview_figure(table, {"xnli": None})
    assert {tr.name for tr in fig.data} == {figures.TRACE_ABSOLUTE}
    assert fig.data[0].text[0][0] == "<b>76.0 ±1.4</b><br>no baseline" and "chance -" in fig.layout.xaxis.ticktext[0]


def test_overview_keeps_the_newest_of_duplicate_runs():
    rs = [make(langs={"en": 50}), make(inter="mnli", langs={"en": 40}, created="2025-01-01"),
          make(inter="mnli", langs={"en": 55}, created="2025-02-01")]
    assert _cells(loading.overview_table(rs)).loc[("enc-m", "mnli", "xnli")].delta == pytest.approx(5.0)


def test_chance_from_the_result_else_the_registry():
    assert analysis.task_chance([make(task="xnli", chance=40.0)], "xnli") == 40.0
    assert analysis.task_chance([], "xnli") == pytest.approx(100 / 3)
    assert analysis.task_chance([], "xcopa") == 50.0 and analysis.task_chance([], "siqa") == pytest.approx(100 / 3)
    assert analysis.task_chance([], "panx") is None and analysis.task_chance([], "no-such-task") is None


def test_encoder_tasks_side_by_side_on_every_task(demo):
    per_task, per_script = loading.encoder_tasks(demo.task_results, "demo-xlmr-base", "demo-roberta-base")
    assert per_task["task"].tolist() == ["xnli", "pawsx", "panx", "xquad", "tatoeba"]
    x = per_task.set_index("task").loc["xnli"]
    assert x.n_a == 2 and x.n_b == 1 and x.sd_a > 0 and math.isnan(x.sd_b) and x.chance == pytest.approx(100 / 3)
    assert x["diff"] == pytest.approx(x.score_a - x.score_b)
    xs = per_script[per_script.task == "xnli"].set_index("script")
    assert xs.index[0] == "Latin" and "ru" in xs.loc["Cyrillic", "languages"]
    assert xs.loc["Cyrillic", "diff"] > xs.loc["Latin", "diff"]  # the English vocabulary misses Cyrillic
    fig = figures.encoder_tasks_figure(per_task, per_script, "m", "e")
    bars = [tr for tr in fig.data if tr.type == "bar"]
    assert [tr.name for tr in bars] == ["m", "e"] and list(bars[0].x) == per_task["task"].tolist()
    chance = next(tr for tr in fig.data if tr.name == "chance")
    assert list(chance.x) == ["xnli", "pawsx"]
    heat = next(tr for tr in fig.data if tr.type == "heatmap")
    assert heat.coloraxis == "coloraxis" and fig.layout.coloraxis.cmax == -fig.layout.coloraxis.cmin >= 10


def test_training_history_from_run_folders_inside_the_given_roots(demo, tmp_path):
    history, why = loading.training_history("demo-xlmr-base/p3-mnli-xnli-s1", [demo.root])
    assert why == "" and history["loss"].notna().sum() > 5 and history["dev_score"].notna().sum() > 2
    assert list(history["step"]) == sorted(history["step"])
    fig = figures.training_curves_figure(history, "t")
    assert [tr.name for tr in fig.data] == ["loss", "dev score"]
    _, why = loading.training_history("demo-roberta-base/p3-mnli-xnli-s1", [demo.root])
    assert "no metrics.json" in why
    outside = tmp_path / "runs" / "p3"
    outside.mkdir(parents=True)
    (outside / "metrics.json").write_text(json.dumps({"log_history": [{"step": 5, "loss": 1.0}]}))
    _, why = loading.training_history(str(outside), [demo.root])
    assert "outside the results folder" in why and "--runs" in why
    history, why = loading.training_history(str(outside), [demo.root, tmp_path / "runs"])
    assert why == "" and history["loss"].tolist() == [1.0]
    _, why = loading.training_history(str(tmp_path / "runs" / "gone"), [tmp_path / "runs"])
    assert "not there" in why
    (outside / "metrics.json").write_text("{")
    assert "cannot be read" in loading.training_history(str(outside), [tmp_path / "runs"])[1]


def test_display_frame_has_one_decimal_units_and_no_none():
    import pandas as pd

    df = pd.DataFrame({"score": [51.866, math.nan], "wall time (min)": [3.25, None], "name": ["a", None],
                       "lora": [True, False]})
    out = loading.display_frame(df, {"wall time (min)": " min"})
    assert out.to_dict("list") == {"score": ["51.9", "-"], "wall time (min)": ["3.2 min", "-"], "name": ["a", "-"],
                                   "lora": ["yes", "no"]}
    assert loading.fmt_number(None) == "-" and loading.fmt_number(2.5, signed=True) == "+2.5"


def test_streamlit_telemetry_is_off_where_streamlit_reads_config():
    import tomllib

    # $CWD/.streamlit (started from the repo root) and next to the script (streamlit reads both)
    for path in (REPO / ".streamlit" / "config.toml", APP.parent / ".streamlit" / "config.toml"):
        assert tomllib.loads(path.read_text())["browser"]["gatherUsageStats"] is False


def test_encoder_comparison_groups_by_script_with_unk_rates():
    stats = {"phase": "phase1", "folder": "p1", "recipe": {}, "metrics": None,
             "stats": {"name": "enc-e", "languages": {"ru": {"unk_rate": 40.0, "tokens_per_word": 1.1},
                                                      "de": {"unk_rate": 1.0, "tokens_per_word": 2.0}}}}
    rs = [make(langs={"ru": 70, "en": 80, "de": 75}, seed=1), make(langs={"ru": 72, "en": 80, "de": 75}, seed=2),
          make(encoder="enc-e", kind="english", langs={"ru": 35, "en": 82, "de": 60}, chain=[stats])]
    df = loading.encoder_comparison(rs, "enc-m", "enc-e", "xnli")
    assert df["lang"].tolist() == ["de", "en", "ru"] and df["script"].tolist() == ["Latin", "Latin", "Cyrillic"]
    ru = df.set_index("lang").loc["ru"]
    assert ru.score_a == pytest.approx(71.0) and ru["diff"] == pytest.approx(36.0) and ru.unk_b == 40.0
    assert math.isnan(ru.unk_a)
    summary = loading.script_summary(df).set_index("script")
    assert summary.loc["Latin", "languages"] == "de en" and summary.loc["Cyrillic", "unk_b"] == 40.0


def test_run_languages_and_zero_shot_gap():
    r = make(langs={"de": 70, "en": 90, "ar": 60, "zh": 80})
    df = loading.run_languages(r)
    assert df["lang"].tolist() == ["en", "zh", "de", "ar"] and df["is_english"].tolist() == [True, False, False, False]
    assert loading.zero_shot_gap(r) == pytest.approx(20.0)
    assert loading.zero_shot_gap(make(task="tatoeba", langs={"de": 50, "fr": 60})) is None
    assert loading.zero_shot_gap(make(langs={"en": 50})) is None


@pytest.mark.parametrize("task", ["sib200", "belebele"])
def test_the_english_row_of_a_flores_task_is_its_training_language(task):
    """SIB-200 and Belebele spell English eng_Latn (SIB-200 trains on it; Belebele on RACE, "en"): that row is the
    English one, so the zero-shot gap exists, and a language merely starting with "en" is not English."""
    r = make(task=task, langs={"eng_Latn": 90, "fra_Latn": 70, "arb_Arab": 50, "en": 10})
    english = loading.run_languages(r).set_index("lang")["is_english"].to_dict()
    assert english == {"eng_Latn": True, "fra_Latn": False, "arb_Arab": False, "en": True}
    assert loading.is_training_language("xnli", "eng_Latn") and not loading.is_training_language("sib200", "enm_Latn")
    assert loading.is_training_language("no-such-task", "en")
    gap = loading.zero_shot_gap(make(task=task, langs={"eng_Latn": 90, "fra_Latn": 70, "arb_Arab": 50}))
    assert gap == pytest.approx(30.0)


def test_benchmark_table_matches_benchmark_scores(demo):
    rs = demo.task_results
    table = report.benchmark_table(rs)
    row = table[(table.encoder == "demo-xlmr-base") & (table.intermediate == "none") & (table.seed == 1)].iloc[0]
    # the seedless Tatoeba of phase 1 joins every seed of the baseline
    mine = [r for r in rs if r.run.encoder == "demo-xlmr-base" and r.run.intermediate == "none"
            and r.run.seed in (1, None)]
    expected = benchmark_scores(mine, XTREME_CATEGORIES)
    assert row.score == pytest.approx(expected["score"]) and not math.isnan(row.score)
    assert row["[retrieval]"] == pytest.approx(expected["categories"]["retrieval"])
    partial = table[(table.encoder == "demo-roberta-base") & (table.intermediate == "mnli")].iloc[0]
    assert partial.partial == "panx" and math.isnan(partial.panx) and math.isnan(partial.score)
    xr = report.benchmark_table(rs, XTREME_R_CATEGORIES)
    assert "xcopa" in xr.columns and xr["score"].isna().all() and "xcopa" in xr.loc[0, "missing"]


def test_chain_and_cost_tables_handle_missing_keys(demo):
    chain = [{"phase": "phase3", "folder": "p3", "recipe": {"lora": {"r": 8}},
              "metrics": {"dev": {"en": {"accuracy": 80.5}}, "cost": {"trainable_parameters": 10,
                                                                       "total_parameters": 1000}}},
             {"phase": "phase2", "folder": "p2", "recipe": {}, "metrics": None},  # metrics never recorded
             "garbage",
             {"phase": "phase1", "folder": "p1", "recipe": {}, "metrics": None, "stats": None}]
    r = make(chain=chain)
    ct = loading.chain_table(r)
    assert ct["phase"].tolist() == ["phase3", "phase2", "phase1"]
    assert ct.loc[0, "training"] == "LoRA" and ct.loc[0, "dev"] == "en.accuracy=80.50"
    assert math.isnan(ct.loc[1, "wall_time_s"]) and ct.loc[1, "training"] == "unknown"
    costs = loading.cost_table([r]).set_index("folder")
    assert costs.loc["p3", "trainable_share"] == pytest.approx(1.0) and math.isnan(costs.loc["p3", "wall_time_s"])
    demo_costs = loading.cost_table(demo.task_results)
    assert set(demo_costs["training"]) == {"full", "LoRA"} and demo_costs["folder"].is_unique
    lora = demo_costs[demo_costs.training == "LoRA"].iloc[0]
    assert lora.trainable_share < 1 and lora.peak_memory_mb < demo_costs["peak_memory_mb"].max()
    assert demo_costs["peak_memory_mb"].isna().any()  # the English encoder's runs predate memory recording
    summary = loading.cost_summary(demo_costs).set_index(["encoder", "phase", "training"])
    lora_row = summary.loc[("demo-xlmr-base", "phase3", "LoRA")]
    assert lora_row["folders"] == 1 and lora_row["trainable (M)"] == pytest.approx(lora.trainable_parameters / 1e6)
    assert math.isnan(summary.loc[("demo-roberta-base", "phase3", "full"), "peak memory (GB)"])


def test_chain_table_describes_the_phase1_encoder(demo):
    path, r = next((p, r) for p, r in demo.results if "p3-mnli-xnli-s1-lora" in p)
    ct = loading.chain_table(r)
    assert ct["phase"].tolist() == ["phase3", "phase2", "phase1"] and ct.loc[0, "training"] == "LoRA"
    encoder = ct.loc[2, "encoder"]
    assert encoder.startswith("demo-xlmr-base, multilingual") and "vocabulary 250,002" in encoder


def test_flatten():
    assert loading.flatten({"a": {"b": 1, "c": {}}, "d": [1]}) == {"a.b": 1, "a.c": {}, "d": [1]}


# ----------------------------------------------------------------------------------------------------- figures


def test_encoder_comparison_figure(demo):
    df = loading.encoder_comparison(demo.task_results, "demo-xlmr-base", "demo-roberta-base", "xnli")
    fig = figures.encoder_comparison_figure(df, "m", "e")
    names = [t.name for t in fig.data]
    assert names == ["m", "m unk %", "e", "e unk %", "difference"]
    scripts, langs = fig.data[0].x
    assert list(langs) == df["lang"].tolist() and list(scripts)[0] == "Latin"
    assert max(fig.data[3].y) > 20 > max(fig.data[1].y)  # the English vocabulary misses non-Latin scripts


def test_language_bars_mark_english(demo):
    r = next(r for r in demo.task_results if r.task == "xnli")
    df = loading.run_languages(r)
    fig = figures.language_bars(df, loading.zero_shot_gap(r), title="x")
    bar = fig.data[0]
    colours = dict(zip(bar.x, bar.marker.color, strict=True))
    assert colours["en"] == figures.ENGLISH_COLOUR and colours["de"] == figures.OTHER_COLOUR
    assert list(bar.y) == sorted(bar.y, reverse=True)
    assert "zero-shot gap" in fig.layout.title.text
    tato = next(r for r in demo.task_results if r.task == "tatoeba")
    assert "no zero-shot gap" in figures.language_bars(loading.run_languages(tato), None).layout.title.text


def test_cost_figure(demo):
    costs = loading.cost_table(demo.task_results)
    fig = figures.cost_figure(costs)
    assert {t.name for t in fig.data} == {"full, phase 2", "full, phase 3", "LoRA, phase 3"}
    shown = sum(len(t.x) for t in fig.data)
    assert shown == costs.dropna(subset=["wall_time_s", "peak_memory_mb"]).shape[0] < len(costs)
    assert "not shown" in fig.layout.title.text


# ------------------------------------------------------------------------------------------------------ AppTest


def _app(monkeypatch, folder) -> AppTest:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("XSTILTS_RESULTS", str(folder))
    return AppTest.from_file(str(APP), default_timeout=60)


def _charts(at) -> int:
    return len(at.get("plotly_chart"))


VIEW_KEYS = ["overview", "encoders", "languages", "benchmark", "provenance"]
MINI = REPO / "results" / "mini"
ARCHIVE = REPO / "results" / "archive" / "mini-single-seed"  # results written before intervals were recorded
HEADERS = {"overview": "compare across XTREME", "encoders": "Multilingual vs English-only", "languages": "transfer to",
           "benchmark": "XTREME", "provenance": "how did it train"}


@pytest.mark.parametrize("folder", [FIXTURE, MINI], ids=["fixture", "mini"])
@pytest.mark.parametrize("view", VIEW_KEYS)
def test_app_views_render(monkeypatch, view, folder):
    at = _app(monkeypatch, folder).run()
    assert at.header[0].value.startswith("How do intermediate tasks")  # the overview is the landing view
    at.sidebar.radio(key="view").set_value(view).run()
    assert not at.exception, [e.value for e in at.exception]
    assert HEADERS[view] in at.header[0].value
    shown = [str(v) for df in at.dataframe for v in df.value.to_numpy().ravel()]
    assert "None" not in shown and "nan" not in shown  # missing values are "-" (with a legend)
    if view == "benchmark":
        assert len(at.dataframe) == 1 and len(at.get("download_button")) == 1
        at.radio(key="bench_which").set_value("XTREME-R").run()
        assert not at.exception and "xcopa" in at.dataframe[0].value.columns
    elif view == "encoders":
        assert _charts(at) == 2  # every task at once, then the per-language drill-down
    elif view == "provenance" and folder == FIXTURE:
        assert _charts(at) == 3  # phase-3 and phase-2 training curves, then the cost figure
    else:
        assert _charts(at) >= 1


def test_app_overview_on_old_results_says_what_it_cannot_judge(monkeypatch):
    at = _app(monkeypatch, ARCHIVE).run()
    assert not at.exception and _charts(at) == 1
    assert any("No interval recorded for 36 of 36 cells" in w.value and "re-evaluate" in w.value for w in at.warning)
    at.radio(key="ov_bench").set_value("XTREME-R").run()
    at.select_slider(key="ov_range").set_value(5.0).run()
    assert not at.exception and _charts(at) == 1
    at.sidebar.radio(key="view").set_value("provenance").run()
    assert any("training curves not available" in i.value and "--runs" in i.value for i in at.info)


def test_app_overview_lora_variant_without_baseline(monkeypatch):
    at = _app(monkeypatch, FIXTURE).run()
    at.radio(key="ov_lora").set_value(True).run()
    assert not at.exception and _charts(at) == 1
    assert any("have no 'none' run for demo-xlmr-base" in i.value for i in at.info)


def test_app_widgets_switch_runs(monkeypatch):
    at = _app(monkeypatch, FIXTURE).run()
    at.sidebar.radio(key="view").set_value("languages").run()
    at.selectbox(key="lang_task").set_value("tatoeba").run()
    assert not at.exception and _charts(at) == 1
    assert at.metric[2].value == "-"  # Tatoeba has no English: no gap
    at.sidebar.radio(key="view").set_value("encoders").run()
    at.selectbox(key="cmp_inter_demo-xlmr-base_demo-roberta-base").set_value("mnli").run()
    at.selectbox(key="cmp_task_mnli").set_value("panx").run()
    assert not at.exception and _charts(at) == 2
    at.sidebar.radio(key="view").set_value("provenance").run()
    options = at.selectbox(key="prov_result").options
    at.selectbox(key="prov_result").set_value(next(o for o in options if o.endswith("-lora/eval/xnli.json"))).run()
    assert not at.exception and "LoRA" in at.dataframe[0].value["training"].tolist()


def test_app_without_folder_says_how_to_start(monkeypatch):
    monkeypatch.delenv("XSTILTS_RESULTS", raising=False)
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception and "--results DIR" in at.info[0].value


def test_app_missing_folder_warns(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path / "nope").run()
    assert not at.exception and "does not exist" in at.warning[0].value and _charts(at) == 0


def test_app_empty_folder_informs(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path).run()
    assert not at.exception and "No readable result files" in at.info[0].value


def test_app_partly_broken_folder_shows_the_rest(monkeypatch, tmp_path):
    shutil.copytree(FIXTURE / "demo-xlmr-base" / "p3-none-xnli-s1", tmp_path / "good")
    shutil.copytree(FIXTURE / "demo-xlmr-base" / "p3-mnli-xnli-s1", tmp_path / "good2")
    (tmp_path / "bad" / "eval").mkdir(parents=True)
    (tmp_path / "bad" / "eval" / "xnli.json").write_text('{"schema": "xstilts.results/v1", "languages": {')
    at = _app(monkeypatch, tmp_path).run()
    assert not at.exception and _charts(at) == 1
    assert "1 file(s) could not be read" in at.expander[0].label
    assert any(t.value.startswith("bad/eval/xnli.json: not valid JSON") for t in at.text)


def test_app_runs_from_another_cwd(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if Path(p or ".").resolve() != REPO])
    at = _app(monkeypatch, os.path.relpath(FIXTURE, tmp_path)).run()
    assert not at.exception and _charts(at) == 1


# ------------------------------------------------------------------------------------- strings shown as text only

EVIL_IMG = "![x](http://evil.example/x.png)"
EVIL_HTML = "<img src=http://evil.example/y.png>"
EVIL_LINK = "[mnli](http://evil.example/z)"
EVIL_LANG = "<b>xx</b>"
EVIL_FOLDER = "<a href=http://evil.example/f>f</a>"
EVIL = (EVIL_IMG, EVIL_HTML, EVIL_LINK, EVIL_LANG, EVIL_FOLDER)


def _render(md: str) -> tuple[str, str]:
    """Markdown as GitHub / Streamlit render it (CommonMark, tables, raw HTML passed through): (html, its text)."""
    from markdown_it import MarkdownIt

    out = MarkdownIt("commonmark").enable("table").render(md)
    return out, html.unescape(re.sub(r"<[^>]+>", "", out))


def _assert_inert(md: str) -> str:
    """No image, link or markup comes out of ``md``, and no URL outside a code span (where no autolink can form)."""
    out, text = _render(md)
    assert not re.search(r"<(img|a|b)[\s>]", out), (md, out)
    assert "evil.example" not in re.sub(r"<code>.*?</code>", "", out, flags=re.S), (md, out)
    return text


@pytest.mark.parametrize("name", [*EVIL, "xlm-roberta-large", "multi:mnli+siqa", "a|b", "- x", "1. x", "`a`",
                                  "a:smile:", "$x$", "www.evil.example", "x@evil.example", "a_b_", "&lt;", "l1\nl2"])
def test_md_literal_renders_as_the_text(name):
    for table in (False, True):
        md = markdown.md_literal(name, table=table)
        cell = f"| h |\n|---|\n| {md} |" if table else md
        text = _assert_inert(cell)
        assert (name if "\n" not in name else "l1\\nl2") in text, (name, md, text)
    assert markdown.md_literal("xlm-roberta-large") == "xlm-roberta-large"  # plain names stay readable


def _strings(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, (list, tuple)):
        return [s for v in node for s in _strings(v)]
    return []


def _assert_figure_inert(fig_json: str) -> str:
    """Plotly renders <a>, <b>, <span style> and entities in text: none may come from a result file."""
    strings = _strings(json.loads(fig_json))
    joined = "\n".join(strings)
    raw = [name for name in EVIL if name != html.escape(name, quote=False) and name in joined]
    assert not re.search(r"<(img|a)[\s>]", joined) and not raw, joined
    assert not any("%{" in s and "evil" in s for s in strings)  # never inside a hover template
    return joined


def test_figures_escape_strings_from_results():
    results = [make(encoder=EVIL_IMG, inter=inter, langs={"en": 80.0 + d, EVIL_LANG: 70.0 + d})
               for inter, d in (("none", 0), (EVIL_LINK, 2))]
    results += [make(encoder=EVIL_HTML, kind="english", langs={"en": 70.0, EVIL_LANG: 30.0})]
    table = loading.overview_table(results)
    shown = _assert_figure_inert(figures.overview_figure(table, {"xnli": None}, title=EVIL_HTML).to_json())
    assert html.escape(EVIL_LINK, quote=False) in shown and html.escape(EVIL_LANG, quote=False) in shown
    comp = loading.encoder_comparison(results, EVIL_IMG, EVIL_HTML, "xnli")
    fig = figures.encoder_comparison_figure(comp, EVIL_IMG, EVIL_HTML, title=EVIL_HTML)
    assert "&lt;img src=http://evil.example/y.png&gt;" in _assert_figure_inert(fig.to_json())
    per_task, per_script = loading.encoder_tasks(results, EVIL_IMG, EVIL_HTML)
    fig = figures.encoder_tasks_figure(per_task, per_script, EVIL_IMG, EVIL_HTML, title=EVIL_HTML)
    assert "&lt;img src=http://evil.example/y.png&gt;" in _assert_figure_inert(fig.to_json())
    fig = figures.language_bars(loading.run_languages(results[0]), 1.0, title=EVIL_HTML, metric=EVIL_LANG)
    _assert_figure_inert(fig.to_json())
    costs = loading.cost_table([make(chain=[{"phase": "phase3", "folder": EVIL_FOLDER, "recipe": {"lora": False},
                                             "metrics": {"cost": {"wall_time_s": 60, "peak_memory_mb": 9}}}])])
    assert "&lt;a href" in _assert_figure_inert(figures.cost_figure(costs).to_json())


def _evil_folder(tmp_path: Path) -> Path:
    """Results whose names inject Markdown and HTML, one truncated file and one whose problem quotes an image."""
    chain = [{"phase": "phase3", "folder": EVIL_FOLDER, "recipe": {"lora": False, "note": EVIL_IMG},
              "metrics": {"cost": {"wall_time_s": 60.0, "peak_memory_mb": 900.0}}},
             {"phase": "phase1", "folder": "/p1", "recipe": {}}]
    for enc, kind in ((EVIL_IMG, "multilingual"), (EVIL_HTML, "english")):
        for inter, bump in (("none", 0.0), (EVIL_LINK, 3.0)):
            write_result(tmp_path / f"{kind}-{bump}" / "xnli.json",
                         make(encoder=enc, kind=kind, inter=inter, chain=chain, missing=[EVIL_LANG],
                              langs={"en": 80.0 + bump, "de": 70.0 + bump, EVIL_LANG: 60.0}))
    (tmp_path / "cut" / "xnli.json").parent.mkdir()
    (tmp_path / "cut" / "xnli.json").write_text('{"schema": "xstilts.results/v1", "languages": {')
    data = make().to_dict()
    data["score"] = EVIL_IMG
    (tmp_path / "typed" / "xnli.json").parent.mkdir()
    (tmp_path / "typed" / "xnli.json").write_text(json.dumps(data))
    return tmp_path


def _markdown_strings(at) -> list[str]:
    """Every string of the page that Streamlit renders as Markdown."""
    out = [e.value for kind in ("markdown", "caption", "info", "warning", "error", "success", "title", "header",
                                "subheader") for e in getattr(at, kind)]
    out += [e.label for e in at.expander] + [e.label for e in at.metric]
    out += [w.label for w in at.selectbox] + [w.label for w in at.radio]
    out += [str(o) for w in at.radio for o in w.options]  # radio options are Markdown too
    return out


def test_app_shows_result_strings_literally_and_lists_broken_files(monkeypatch, tmp_path):
    at = _app(monkeypatch, _evil_folder(tmp_path)).run()
    texts = [t.value for t in at.text]
    assert any(t.startswith("cut/xnli.json: not valid JSON") for t in texts), texts
    typed = next(t for t in texts if t.startswith("typed/xnli.json: "))
    assert f"score is str {EVIL_IMG!r}, expected a finite number" in typed
    assert "2 file(s) could not be read" in at.expander[0].label
    seen: list[str] = []
    for view in VIEW_KEYS:
        at.sidebar.radio(key="view").set_value(view).run()
        assert not at.exception, [e.value for e in at.exception]
        seen += [_assert_inert(md) for md in _markdown_strings(at)]
        seen += [_assert_figure_inert(c.proto.spec) for c in at.get("plotly_chart")]
        if view == "provenance":
            # The provenance line and the chain's expander labels carry the names; the expander shows the folder.
            assert any(EVIL_IMG in t and EVIL_LINK in t for t in seen), seen[-5:]
            assert any(EVIL_FOLDER in e.label or EVIL_FOLDER in _render(e.label)[1] for e in at.expander)
    # Every injected name was shown, literally, somewhere (as text, or escaped in a figure).
    joined = "\n".join(seen)
    for name in EVIL:
        assert name in joined or html.escape(name, quote=False) in joined, name
