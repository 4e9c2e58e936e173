"""Pearson and Spearman (``xstilts.metrics``) against hand-computed values, ties, degenerate inputs, and scipy (GLUE's
STS-B scorer calls ``scipy.stats.pearsonr`` / ``spearmanr``) where scipy is installed."""
from __future__ import annotations

import math

import numpy as np
import pytest

from xstilts.metrics import average_ranks, pearson, spearman

# x = 1..5 (mean 3), y = [2, 4, 5, 4, 5] (mean 4): sum(xm*ym) = 6, sum(xm^2) = 10, sum(ym^2) = 6, r = 6/sqrt(60).
X, Y = [1, 2, 3, 4, 5], [2, 4, 5, 4, 5]


def test_pearson_by_hand():
    assert pearson(X, Y) == pytest.approx(100 * 6 / math.sqrt(60), abs=1e-12)
    assert pearson(Y, X) == pytest.approx(pearson(X, Y), abs=1e-12)  # symmetric
    for sign, golds in ((1, [1.0, 3.0, 5.0]), (-1, [5.0, 3.0, 1.0]), (1, [0.1, 0.2, 0.3])):  # exactly linear
        r = pearson([0.0, 1.0, 2.0], golds)
        assert r == pytest.approx(sign * 100.0, abs=1e-12) and abs(r) <= 100.0  # clipped: never beyond +-100
    # Invariant under a positive affine map of either side (scores on 0-5 against predictions on any scale).
    assert pearson([10 * v - 3 for v in X], Y) == pytest.approx(pearson(X, Y), abs=1e-10)


def test_spearman_is_pearson_of_average_ranks_by_hand():
    # y's ranks with ties averaged: 2 -> 1; the two 4s share ranks 2, 3 -> 2.5; the two 5s share 4, 5 -> 4.5.
    assert average_ranks(Y).tolist() == [1.0, 2.5, 4.5, 2.5, 4.5]
    # x ranks 1..5 (mean 3), y ranks (mean 3): sum(xm*ym) = 7, sum(xm^2) = 10, sum(ym^2) = 9.
    assert spearman(X, Y) == pytest.approx(100 * 7 / math.sqrt(90), abs=1e-12)
    # Monotone but not linear: Spearman 100, Pearson below.
    assert spearman([1, 2, 3, 4], [1, 10, 100, 1000]) == pytest.approx(100.0, abs=1e-12)
    assert pearson([1, 2, 3, 4], [1, 10, 100, 1000]) < 90


def test_average_ranks_ties():
    assert average_ranks([10, 20, 20, 30]).tolist() == [1.0, 2.5, 2.5, 4.0]
    assert average_ranks([3.0, 3.0, 3.0]).tolist() == [2.0, 2.0, 2.0]
    assert average_ranks([5.0, 0.0, 5.0, 0.0, 2.5]).tolist() == [4.5, 1.5, 4.5, 1.5, 3.0]
    assert average_ranks([2, 1]).tolist() == [2.0, 1.0]


def test_ties_change_spearman_as_scipy_does():
    # STS-B's golds tie often (0.0 and 5.0); predictions tie too. Reference values: scipy 1.17.1.
    predictions, golds = [0.5, 2.0, 2.0, 3.5, 4.0, 1.0], [0.0, 2.4, 1.8, 5.0, 5.0, 0.0]
    assert spearman(predictions, golds) == pytest.approx(95.53302944424513, abs=1e-9)
    assert pearson(predictions, golds) == pytest.approx(98.30064173098083, abs=1e-9)


def test_constant_predictions_score_zero_not_nan():
    """A model that gives every example one score has learned nothing: 0.0 (scipy: NaN), a finite number a result
    file can hold and model selection can order; the caller flags the cell as constant."""
    for metric in (pearson, spearman):
        assert metric([2.5] * 5, Y) == 0.0
        assert metric([0.0, 0.0], [1.0, 2.0]) == 0.0


@pytest.mark.parametrize("metric", [pearson, spearman])
def test_undefined_inputs_are_clear_errors(metric):
    with pytest.raises(ValueError, match="every gold score is 3.0"):
        metric([1.0, 2.0, 3.0], [3.0, 3.0, 3.0])
    with pytest.raises(ValueError, match="one prediction per gold score: got 2 predictions for 3"):
        metric([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="needs at least two"):
        metric([1.0], [1.0])
    with pytest.raises(ValueError, match="prediction nan at example 1 is not a finite number"):
        metric([1.0, float("nan"), 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="gold score inf at example 0"):
        metric([1.0, 2.0], [float("inf"), 2.0])


def test_agrees_with_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    for n in (2, 3, 10, 200):
        golds = np.round(rng.uniform(0, 5, n), 1)  # one decimal: ties, as in STS-B
        predictions = golds + rng.normal(0, 1.5, n)
        predictions[: n // 4] = np.round(predictions[: n // 4])  # some tied predictions too
        assert pearson(predictions, golds) == pytest.approx(100 * stats.pearsonr(predictions, golds)[0], abs=1e-9)
        assert spearman(predictions, golds) == pytest.approx(100 * stats.spearmanr(predictions, golds)[0], abs=1e-9)
        assert average_ranks(golds).tolist() == stats.rankdata(golds).tolist()
