"""What is needed to judge a number: class balance, constant predictions, bootstrap intervals (xstilts.reliability),
the per-example contributions they resample (xstilts.metrics ``*_contributions``), and evaluation writing them."""
from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np
import pytest

from xstilts import metrics as M
from xstilts import reliability as R
from xstilts.reliability import CONSTANT_SHARE


def _coin(n: int, p: float, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.array([(float(c), 1.0) for c in rng.random(n) < p])


# ---- pure statistics ----------------------------------------------------------------------------------------------
def test_interval_contains_the_point_estimate_and_narrows_with_n():
    widths = []
    for n in (50, 500, 5000):
        per = _coin(n, 0.6)
        low, high = R.bootstrap_ci(per)
        assert low <= R.point(per) <= high
        widths.append(high - low)
    assert widths[0] > widths[1] > widths[2] > 0
    # About the binomial standard error: 2 * 1.96 * sqrt(p (1 - p) / n) * 100 = 2.7 points at n = 5000.
    assert widths[2] == pytest.approx(2 * 1.96 * np.sqrt(0.24 / 5000) * 100, rel=0.15)


def test_bootstrap_is_deterministic_with_the_seed_and_changes_with_it():
    per = _coin(300, 0.4)
    assert R.bootstrap_ci(per, seed=7) == R.bootstrap_ci(per, seed=7)
    assert R.bootstrap_ci(per, seed=7) != R.bootstrap_ci(per, seed=8)
    # A language's seed depends on its code only: the same interval whichever rank or companions it has.
    assert R.language_seed("de") == R.language_seed("de") != R.language_seed("fr")
    a = R.language_figures("de", per).to_json()["ci95"]
    assert a == R.language_figures("de", per).to_json()["ci95"] != R.language_figures("fr", per).to_json()["ci95"]


def test_chunking_does_not_change_the_replicates(monkeypatch):
    per = _coin(400, 0.5)
    whole = R.bootstrap(per, seed=3)
    monkeypatch.setattr(R, "_CHUNK_ELEMENTS", 400 * 7)  # 7 replicates per chunk, the last one short
    np.testing.assert_array_equal(R.bootstrap(per, seed=3), whole)


def test_ratio_statistic_is_f1_of_summed_counts_and_zero_without_chunks():
    per = np.array([(2.0, 4.0), (0.0, 2.0), (0.0, 0.0)])  # (2 tp, n_pred + n_gold) per sentence
    assert R.point(per) == pytest.approx(100 * 2 / 6)
    assert R.point(np.array([(0.0, 0.0)])) == 0.0
    assert R.bootstrap_ci(np.array([(0.0, 0.0)] * 5)) == [0.0, 0.0]


def test_a_constant_predictor_is_flagged_and_a_balanced_one_is_not():
    gold = [0, 1, 2] * 100
    constant = R.language_figures("en", None, gold, [1] * 300)
    assert constant.majority_share == pytest.approx(100 / 3) and constant.top_prediction_share == 100.0
    assert constant.constant and constant.to_json()["constant"] is True
    varied = R.language_figures("en", None, gold, gold)
    assert varied.top_prediction_share == pytest.approx(100 / 3) and not varied.constant
    # The threshold is the schema's: 99 of 100 predictions alike is constant, 98 is not.
    assert R.language_figures("en", None, None, [0] * 99 + [1]).constant
    assert not R.language_figures("en", None, None, [0] * 98 + [1, 2]).constant
    assert CONSTANT_SHARE == 99.0
    # Nothing known: nulls, not zeros.
    assert R.LanguageFigures().to_json() == {"majority_share": None, "top_prediction_share": None,
                                             "constant": False, "ci95": None}


def test_the_interval_of_the_mean_over_languages_is_narrower_than_each_language():
    reps = {lang: R.bootstrap(_coin(400, p, seed=i), seed=R.language_seed(lang))
            for i, (lang, p) in enumerate([("de", 0.5), ("fr", 0.6), ("zh", 0.4), ("ar", 0.55)])}
    low, high = R.mean_interval(reps)
    assert all(high - low < np.subtract(*R.percentile_interval(r)[::-1]) for r in reps.values())
    mean = np.mean([R.point(_coin(400, p, seed=i)) for i, p in enumerate([0.5, 0.6, 0.4, 0.55])])
    assert low <= mean <= high
    assert R.mean_interval({"de": reps["de"], "fr": None}) is None  # a language without interval: none for the mean
    # Weights (LAReQA's micro mean): all weight on one language gives that language's interval.
    assert R.mean_interval(reps, {"de": 1.0, "fr": 0.0, "zh": 0.0, "ar": 0.0}) == R.percentile_interval(reps["de"])


def test_bootstrap_takes_milliseconds():
    per = _coin(10_000, 0.7)  # the size of PAN-X en or an XNLI language doubled
    start = time.perf_counter()
    R.bootstrap_ci(per)
    assert time.perf_counter() - start < 1.0  # typically ~0.1 s on one slow core


# ---- per-example contributions reproduce the reported metrics exactly ---------------------------------------------
def test_accuracy_contributions_reproduce_accuracy():
    rng = random.Random(0)
    gold = [rng.randrange(3) for _ in range(101)]
    pred = [g if rng.random() < 0.6 else rng.randrange(3) for g in gold]
    assert R.point(np.array(M.accuracy_contributions(pred, gold))) == pytest.approx(M.accuracy(pred, gold), abs=1e-12)


@pytest.mark.parametrize("lang", [None, "de", "zh"])
def test_qa_contributions_reproduce_em_plus_f1_over_two(lang):
    golds = {"1": ["the Big Cat"], "2": ["Hund", "ein Hund"], "3": ["猫看见了"], "4": ["x y z"], "5": ["only"]}
    preds = {"1": "big cat!", "2": "der Hund", "3": "猫看", "4": "y z w"}  # "5" unanswered: scores 0
    s = M.squad_scores(preds, golds) if lang is None else M.mlqa_scores(preds, golds, lang)
    per = np.array(M.qa_contributions(preds, golds, lang))
    assert len(per) == 5
    assert R.point(per) == pytest.approx((s["exact_match"] + s["f1"]) / 2, abs=1e-12)


TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
UPOS = ["NOUN", "VERB", "SCONJ", "INTJ", "DET", "PUNCT", "PROPN"]


@pytest.mark.parametrize("labels", [TAGS, UPOS])
def test_tagging_contributions_reproduce_chunk_f1_and_token_accuracy(labels):
    rng = random.Random(len(labels[0]))
    gold = [[rng.choice(labels) for _ in range(rng.randrange(0, 12))] for _ in range(60)]  # empty ones too
    pred = [[t if rng.random() < 0.7 else rng.choice(labels) for t in s] for s in gold]
    per = np.array(M.tagging_contributions(pred, gold))
    assert len(per) == 60
    assert R.point(per) == pytest.approx(M.tagging_scores(pred, gold)["f1"], abs=1e-12)
    per_tok = np.array(M.token_accuracy_contributions(pred, gold))
    assert R.point(per_tok) == pytest.approx(M.token_accuracy(pred, gold), abs=1e-12)


def test_ranking_contributions_reproduce_mrr_and_map():
    rankings = [["a", "b", "c"], ["c", "a", "b"], ["b", "b", "d"], []]
    golds = ["b", "a", "x", "a"]
    assert R.point(np.array(M.rr_contributions(rankings, golds, 20))) == pytest.approx(M.mrr_at_k(rankings, golds))
    gold_sets = [{"a", "c"}, {"a"}, {"b", "d", "e"}, {"z"}]
    assert R.point(np.array(M.ap_contributions(rankings, gold_sets, 2))) == pytest.approx(
        M.map_at_k(rankings, gold_sets, 2))


# ---- per task kind: the figures evaluation computes from rows and predictions -----------------------------------
def _kind_cases():
    import dataclasses

    from xstilts.tasks import get_task

    rng = random.Random(5)
    cls = [{"label": rng.randrange(3)} for _ in range(50)]
    mc = [{"label": rng.randrange(2), "choices": ["a", "b"]} for _ in range(30)]
    answers = ["the big cat", "ein Hund", "", "x y"]
    qa = [{"answers": {"text": [answers[i % 4]] if answers[i % 4] else []}} for i in range(24)]
    qa_preds = [rng.choice(["big cat", "Hund", "", "y", "z"]) for _ in qa]
    n_panx = len(get_task("panx").label_names)
    tag = [{"tags": [rng.randrange(n_panx) for _ in range(rng.randrange(1, 9))]} for _ in range(40)]
    tag_preds = [[t if rng.random() < 0.6 else rng.randrange(n_panx) for t in r["tags"]] for r in tag]
    ccg = dataclasses.replace(get_task("ccg"), label_names=("N", "NP", "S/NP", "(S\\NP)/NP"))
    ccg_rows = [{"tags": [rng.randrange(4) for _ in range(5)]} for _ in range(20)]
    return [
        ("xnli", "de", cls, [rng.randrange(3) for _ in cls], "accuracy"),
        ("xcopa", "et", mc, [rng.randrange(2) for _ in mc], "accuracy"),
        ("xquad", "de", [r for r in qa if r["answers"]["text"]], [p for p, r in zip(qa_preds, qa, strict=True)
                                                                  if r["answers"]["text"]], "exact_match+f1"),
        ("mlqa", "de", [r for r in qa if r["answers"]["text"]], [p for p, r in zip(qa_preds, qa, strict=True)
                                                                 if r["answers"]["text"]], "exact_match+f1"),
        ("squad_v2", "en", qa, qa_preds, "exact_match+f1"),
        ("panx", "de", tag, tag_preds, "f1"),
        ("udpos", "de", [{"tags": [t % 17 for t in r["tags"]]} for r in tag],
         [[t % 17 for t in p] for p in tag_preds], "f1"),
        (ccg, "en", ccg_rows, [[rng.randrange(4) for _ in r["tags"]] for r in ccg_rows], "accuracy"),
    ]


@pytest.mark.parametrize("case", _kind_cases(), ids=lambda c: c[0] if isinstance(c[0], str) else c[0].name)
def test_each_task_kind_resamples_exactly_its_reported_score(case):
    from xstilts import tasktypes
    from xstilts.tasks import get_task

    task, lang, rows, preds, main = case
    task = get_task(task) if isinstance(task, str) else task
    metrics = tasktypes.build(task).score(rows, preds, lang)
    fig = tasktypes.build(task).reliability(rows, preds, lang)
    score = (metrics["exact_match"] + metrics["f1"]) / 2 if main == "exact_match+f1" else metrics[main]
    assert fig.estimate == pytest.approx(score, abs=1e-9)
    low, high = fig.to_json()["ci95"]
    assert low <= score <= high
    assert fig.top_prediction_share is not None
    assert (fig.majority_share is None) is (task.task_type == "span_qa")
    if task.task_type == "tagging":  # shares over words, not sentences
        words = [t for r in rows for t in r["tags"]]
        assert fig.majority_share == R.share_of_most_frequent(words)


def test_a_model_that_always_answers_nothing_is_constant():
    from xstilts import tasktypes
    from xstilts.tasks import get_task

    rows = [{"answers": {"text": ["a b"]}} for _ in range(10)]
    fig = tasktypes.build(get_task("xquad")).reliability(rows, [""] * 10, "de")
    assert fig.constant and fig.to_json()["ci95"] == [0.0, 0.0]


# ---- evaluation writes them ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def evaluated(tiny_phase1, tmp_path_factory):
    """Quickstart evaluations on the tiny encoder: a classifier, a tagger, a QA model, and Tatoeba on phase 1."""
    import evaluate_xtreme
    import phase3_target
    from xstilts.results import read_result

    t = tmp_path_factory.mktemp("reliability")
    out = {}
    for task in ("xnli", "panx", "xquad"):
        assert phase3_target.main([f"recipes/quickstart/phase3_{task}.yaml", f"input={tiny_phase1}",
                                   f"output={t}/p3-{task}", "train.max_steps=2", "train.eval_steps=2",
                                   "data.max_train_samples=16", "data.max_eval_samples=8"]) == 0
        assert evaluate_xtreme.main([f"input={t}/p3-{task}", f"output={t}/results", "data.source=embedded"]) == 0
        out[task] = read_result(t / "results" / f"{task}.json")
    assert evaluate_xtreme.main([f"input={tiny_phase1}", f"output={t}/results", "task=tatoeba",
                                 "data.source=embedded"]) == 0
    out["tatoeba"] = read_result(t / "results" / "tatoeba.json")
    out["folders"] = (t / "results", t)  # the results folder and the run folders' root (for the viewer)
    return out


@pytest.mark.parametrize("view", ["overview", "encoders", "languages", "benchmark", "provenance"])
def test_every_viewer_view_renders_what_the_pipeline_wrote(evaluated, view, monkeypatch):
    """The viewer on result files the quickstart pipeline itself wrote (reliability included), beside the hand-made
    fixtures and the committed mini grid that tests/test_viewer.py renders."""
    from streamlit.testing.v1 import AppTest

    results, runs = evaluated["folders"]
    monkeypatch.setenv("XSTILTS_RESULTS", str(results))
    monkeypatch.setenv("XSTILTS_RUNS", str(runs))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "viewer" / "app.py"), default_timeout=60).run()
    at.sidebar.radio(key="view").set_value(view).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = [str(v) for df in at.dataframe for v in df.value.to_numpy().ravel()]
    assert "None" not in shown and "nan" not in shown
    if view == "overview":
        assert len(at.get("plotly_chart")) == 1
        assert not any("No interval recorded" in w.value for w in at.warning)  # these results carry intervals


@pytest.mark.parametrize("task", ["xnli", "panx", "xquad", "tatoeba"])
def test_evaluation_writes_reliability_for_every_language(evaluated, task):
    result = evaluated[task]
    assert set(result.reliability) == set(result.languages)
    metric = "f1" if result.main_metric == "exact_match+f1" else result.main_metric
    for lang, fig in result.reliability.items():
        low, high = fig["ci95"]
        value = result.languages[lang][metric]
        if result.main_metric == "exact_match+f1":
            value = (result.languages[lang]["exact_match"] + value) / 2
        assert low - 1e-9 <= value <= high + 1e-9, (lang, value, fig)
        assert fig["top_prediction_share"] is not None
        assert fig["constant"] is (fig["top_prediction_share"] >= CONSTANT_SHARE)
        assert (fig["majority_share"] is None) is (task in ("xquad", "tatoeba"))
    low, high = result.score_ci95
    assert low - 1e-9 <= result.score <= high + 1e-9
    # Per-item scores of every language (what a paired difference redraws) give back each language's score.
    items = R.items_from_json(result.items)
    assert set(items) == set(result.languages)
    for lang, per in items.items():
        value = result.languages[lang][metric]
        if result.main_metric == "exact_match+f1":
            value = (result.languages[lang]["exact_match"] + value) / 2
        assert R.point(per) == pytest.approx(value, abs=1e-5), lang
    chance = {"xnli": 100 / 3, "panx": None, "xquad": None,
              "tatoeba": np.mean([100 / m["n"] for m in result.languages.values()])}[task]
    assert result.chance == (pytest.approx(chance) if chance is not None else None)


def test_a_difference_pairs_seeds_and_reads_them_with_t():
    from xstilts.reliability import difference, runs_of, t_quantile

    # Three paired seeds, no item intervals: d = 10, 10, 13 -> sd of d sqrt(3), se 1, t with 2 df.
    d = difference(runs_of([50.0, 52.0, 57.0], seeds=[1, 2, 3]), runs_of([40.0, 42.0, 44.0], seeds=[1, 2, 3]))
    assert d.delta == pytest.approx(11.0) and d.pairs == 3 and d.df == pytest.approx(2.0)
    assert d.high - d.low == pytest.approx(2 * t_quantile(2) * 1.0) and d.low > 0
    # ... but the items' noise is not recorded: the interval is shown, no effect is called (issue 29).
    assert d.verdict == "unknown" and d.why.startswith("3 paired seeds (t)") and "seeds only: no verdict" in d.why
    # The same means paired the other way round: the seed noise is the spread of the differences, not of the scores.
    assert difference(runs_of([57.0, 52.0, 50.0], seeds=[1, 2, 3]),
                      runs_of([40.0, 42.0, 44.0], seeds=[1, 2, 3])).high - d.high > 5
    # Wide item intervals on every run: within noise, and the quantile's df grow towards the normal's.
    wide = [[30.0, 70.0]] * 3
    w = difference(runs_of([50.0, 52.0, 57.0], wide), runs_of([40.0, 42.0, 44.0], wide))
    assert w.verdict == "within noise" and "recorded intervals" in w.why and w.df > 2
    # One trained seed a side: the seed noise is unknown, whatever the item interval says.
    one = difference(runs_of([60.0], [[59.0, 61.0]]), runs_of([50.0], [[49.0, 51.0]]))
    assert (one.low, one.high, one.verdict) == (None, None, "unknown") and "seed noise is unknown" in one.why


def test_an_untrained_baseline_pairs_with_every_seed_and_two_untrained_sides_have_item_noise_only():
    from xstilts.reliability import SeedRun, difference

    base = [SeedRun(76.4, [75.3, 77.5], None)]  # retrieval on the phase-1 encoder: nothing trained
    d = difference([SeedRun(77.6, [76.5, 78.7], 1), SeedRun(78.0, [76.9, 79.1], 2)], base)
    assert d.pairs == 2 and d.delta == pytest.approx(1.4)
    assert difference([SeedRun(77.6, [76.5, 78.7], 42)], base).verdict == "unknown"  # one phase-2 seed
    both = difference([SeedRun(80.0, [79.0, 81.0], None)], base)
    assert both.verdict == "up" and both.why.startswith("no training")


def test_unpaired_seeds_use_welch_and_a_single_seed_borrows_nothing():
    from xstilts.reliability import difference, runs_of, t_quantile

    d = difference(runs_of([71.0, 73.0], seeds=[7, 8]), runs_of([70.0, 72.0], seeds=[1, 2]))
    assert d.why.startswith("unpaired seeds (Welch t)") and d.df == pytest.approx(2.0)
    assert d.high - d.low == pytest.approx(2 * t_quantile(2) * (2 / 2 + 2 / 2) ** 0.5)
    # A single seed beside two: its seed noise is unknown, and the baseline's (no phase 2) cannot stand in for it.
    one = difference(runs_of([60.0], seeds=[7]), runs_of([70.0, 72.0], seeds=[1, 2]))
    assert one.verdict == "unknown" and "one seed on the cell's side" in one.why


def _items(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    return np.stack([(rng.random(len(p)) < p).astype(float), np.ones(len(p))], axis=1)


def test_a_joint_item_draw_is_wider_when_translated_items_share_their_difficulty():
    from xstilts.reliability import SeedRun, item_variance

    rng = np.random.default_rng(0)
    hard = rng.random(200)  # one difficulty per item, shared by every language (a translated test set)
    runs = [SeedRun(0.0, None, k, {lang: _items(rng, np.where(hard < 0.5, 0.9, 0.3)) for lang in "abcde"})
            for k in (1, 2)]
    base = [SeedRun(0.0, None, k, {lang: _items(rng, np.full(200, 0.6)) for lang in "abcde"}) for k in (1, 2)]
    joint, was_joint = item_variance(runs, base, joint=True, n_resamples=400)
    apart, _ = item_variance(runs, base, joint=False, n_resamples=400)
    # One difficulty shared by five languages (its variance 0.09 beside a per-item Bernoulli variance of 0.09-0.21):
    # about twice the variance of independent draws.
    assert was_joint and joint > 1.6 * apart
    # Unequal item counts cannot be drawn jointly: per language, and said so.
    runs[0].items["a"] = runs[0].items["a"][:150]
    assert item_variance([runs[0]], [SeedRun(0, None, 1, {k: v[:150] if k == "a" else v
                                                           for k, v in base[0].items.items()})],
                         joint=True, n_resamples=50)[1] is False


def test_the_translated_test_sets_are_registry_tasks():
    from xstilts.tasks import TASKS

    assert R.SHARED_ITEMS == {"xnli", "pawsx", "xcopa", "xquad"} and R.SHARED_ITEMS <= set(TASKS)
    assert R.shares_items("xnli") and not R.shares_items("panx") and not R.shares_items("tatoeba")


def test_one_trained_seed_beside_an_untrained_baseline_names_the_cell():
    from xstilts.reliability import SeedRun, difference

    d = difference([SeedRun(77.6, [76.5, 78.7], 42)], [SeedRun(76.4, [75.3, 77.5], None)])
    assert d.verdict == "unknown" and "one seed on the cell's side" in d.why
