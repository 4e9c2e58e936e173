"""Property tests of the report, the claims and floors files (hypothesis, deterministic): whatever results a folder
holds, the summary is built and rendered without a traceback, never pools runs of different recipes or splits as
seeds, never compares cells over different languages, and the viewer's overview agrees; whatever a floors file holds,
it is a set of floors or one clear error (exit 2); intermediates outside the paper's families never change the family
claim. About 20 s on one core."""
from __future__ import annotations

import contextlib
import io
import json

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xstilts import analysis, claims, report
from xstilts.recipe import RecipeError
from xstilts.results import (
    RunInfo,
    TaskResult,
    average_metrics,
    recipe_fingerprint,
    recipe_variants,
    task_score,
    write_result,
)
from xstilts.view import loading

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

ENCODERS = [("e5", "multilingual"), ("minilm", "english")]
INTERMEDIATES = ["none", "tydiqa", "siqa", "ccg", "multi:xnli+siqa", "siqa>tydiqa", "xnli"]
TASKS = ["xnli", "pawsx", "panx", "tatoeba"]
LANGS = ["en", "de", "sw", "zh"]


@st.composite
def a_result(draw) -> TaskResult:
    encoder, kind = draw(st.sampled_from(ENCODERS))
    task = draw(st.sampled_from(TASKS))
    langs = draw(st.lists(st.sampled_from(LANGS), min_size=1, max_size=4, unique=True))
    score = draw(st.floats(0, 100, allow_nan=False))
    languages = {lang: {"accuracy": draw(st.floats(0, 100, allow_nan=False)), "n": 10} for lang in langs}
    average = average_metrics(languages)
    seed = draw(st.sampled_from([1, 2, 3, None]))
    lr = draw(st.sampled_from([1e-4, 3e-5]))
    chain = [{"phase": "phase3", "folder": f"runs/{encoder}-{task}-{seed}",
              "recipe": {"task": task, "output": f"runs/x{seed}", "train": {"lr": lr, "seed": seed},
                         "data": {"train_task": draw(st.sampled_from([None, task, "xnli"]))}}}]
    half = draw(st.one_of(st.none(), st.floats(0, 10, allow_nan=False)))
    return TaskResult(
        task=task, task_type="classification", split=draw(st.sampled_from(["test", "validation"])),
        data_source="xtreme", main_metric="accuracy", languages=languages, average=average,
        score=task_score("accuracy", average), missing_languages=[], partial=draw(st.booleans()), checkpoint="c",
        run=RunInfo(encoder, kind, draw(st.sampled_from(INTERMEDIATES)), task, seed, draw(st.booleans())),
        chain=chain, created=draw(st.sampled_from(["2026-01-01T10:00:00+0000", "2026-01-01T11:30:00+0200",
                                                   "2026-01-02", "junk"])),
        version="0", score_ci95=None if half is None else [score - half, score + half],
        reliability={lang: {"constant": draw(st.booleans())} for lang in langs})


@SETTINGS
@given(st.lists(a_result(), min_size=1, max_size=14))
def test_any_results_summarise_render_and_never_pool_or_compare_unlike_cells(tmp_path_factory, results):
    root = tmp_path_factory.mktemp("r")
    for k, r in enumerate(results):
        write_result(root / f"r{k}" / f"{r.task}.json", r)
    summary = report.summarize(root)
    text = report.render(summary)
    assert text.endswith("\n")
    json.dumps(summary)  # summary.json is writable
    # A cell pools only results of one split and one recipe (seed and paths aside).
    cells: dict[tuple, set[str]] = {}
    for r in recipe_variants(results):
        cells.setdefault((r.run.encoder, report.intermediate_label(r.run), r.task), set()).add(
            json.dumps(recipe_fingerprint(r), sort_keys=True))
    assert all(len(prints) == 1 for prints in cells.values())
    # An effect with a verdict compares cells scored on the same languages.
    for e in summary["effects"]:
        assert e["verdict"] in ("up", "down", "within noise", "unknown", analysis.SAME_TASK, analysis.NOT_COMPARABLE)
        assert (e["verdict"] == analysis.NOT_COMPARABLE) == ("different languages" in (e["why"] or ""))
    assert {c["verdict"] for c in summary["claims"]} <= {claims.SUPPORTED, claims.CONTRADICTED, claims.INCONCLUSIVE,
                                                          claims.NOT_TESTABLE}
    for benchmark in ("XTREME", None):
        table = loading.overview_table(results, benchmark=benchmark)
        assert set(table["status"]) <= {loading.STATUS_BASELINE, loading.STATUS_NO_BASELINE, loading.STATUS_CHANGE,
                                        loading.STATUS_NOISE, loading.STATUS_UNCERTAIN, loading.STATUS_AGGREGATE,
                                        loading.STATUS_SAME_TASK, loading.STATUS_OTHER_LANGUAGES}
        aggregates = table[table["status"] == loading.STATUS_AGGREGATE]
        for _encoder, part in aggregates.groupby("encoder"):  # one task set per encoder
            assert part["aggregate_tasks"].nunique() == 1


FLOOR_VALUES = st.one_of(
    st.integers(-5, 120), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8), st.none(),
    st.booleans(), st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["min", "metric", "no_constant", "encoder_kind", "intermediate", "minimum"]),
                    st.one_of(st.integers(0, 100), st.text(max_size=12), st.booleans(), st.none(),
                              st.sampled_from(["f1", "accuracy", "english", "multilingual", "none", "precision"])),
                    max_size=4))


@SETTINGS
@given(st.one_of(
    st.dictionaries(st.sampled_from(["xnli", "pawsx", "panx", "xquad", "nope", "tatoeba"]), FLOOR_VALUES, max_size=4),
    st.text(max_size=40), st.binary(max_size=30)))
def test_any_floors_file_is_floors_or_one_clear_error(tmp_path_factory, content):
    root = tmp_path_factory.mktemp("f")
    path = root / "floors.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content), encoding="utf-8")
    try:
        floors = report.read_floors(path)
    except RecipeError as exc:
        assert str(exc).strip()
        return
    for task, floor in floors.items():
        assert isinstance(floor, analysis.Floor) and floor.encoder_kind in analysis.ENCODER_KINDS
        assert floor.metric is None or floor.metric in analysis.task_metrics(task)
    # and the command: exit 0 or 2, never a traceback
    r = TaskResult(task="xnli", task_type="classification", split="test", data_source="x", main_metric="accuracy",
                   languages={"en": {"accuracy": 60.0, "n": 10}}, average={"accuracy": 60.0}, score=60.0,
                   missing_languages=[], partial=False, checkpoint="c", run=RunInfo("e5", "multilingual", "none",
                                                                                    "xnli", 1),
                   chain=[], created="2026-01-01", version="0")
    write_result(root / "res" / "xnli.json", r)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = report.main([str(root / "res"), "--floors", str(path)])
    assert code in (0, 2) and "Traceback" not in err.getvalue()
    if code == 2:
        assert err.getvalue().startswith("xstilts.report: error:")


EFFECT = st.fixed_dictionaries({
    "encoder": st.just("e5"), "task": st.sampled_from(["xnli", "panx", "pawsx", "tatoeba"]),
    "verdict": st.sampled_from(["up", "down", "within noise", "unknown"]),
    "delta": st.floats(-20, 20, allow_nan=False)})


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["tydiqa", "siqa", "xnli", "squad"]), EFFECT), max_size=8),
       st.lists(st.tuples(st.sampled_from(["ccg", "qqp", "multi:siqa+ccg", "siqa>qqp"]), EFFECT), min_size=1,
                max_size=8))
def test_intermediates_outside_the_families_never_change_the_family_claim(families, others):
    def effects(pairs):
        out = []
        for inter, e in pairs:
            low = None if e["verdict"] == "unknown" else e["delta"] - 1
            out.append({**e, "intermediate": inter, "low": low, "high": None if low is None else e["delta"] + 1})
        return out

    alone = claims.intermediate_tasks_help(effects(families), ["e5"])
    mixed = claims.intermediate_tasks_help(effects(families + others), ["e5"])
    assert alone["verdict"] == mixed["verdict"]
    for inter in {i for i, _ in others}:
        assert all("not counted" in line for line in mixed["evidence"] if line.startswith(f"{inter} ("))
