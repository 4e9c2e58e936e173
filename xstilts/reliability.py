"""What is needed to judge a score: class balance, constant predictions and bootstrap intervals (pure numpy).

Every task score here is a ratio of sums over examples: accuracy is sum(correct) / sum(1), QA's (EM + F1) / 2 is
sum((em + f1) / 2) / n, chunk F1 is sum(2 tp) / sum(n_pred + n_gold) over sentences, token accuracy is
sum(correct) / sum(tokens), MRR and mAP are sums of per-query reciprocal rank / AP over queries. So one language is
described by a per-example array of [numerator, denominator] contributions (built in ``xstilts.metrics``), and a
bootstrap replicate resamples its rows with replacement and takes ``100 * sum(num) / sum(den)``. The full sample
gives back the reported number (the tests check it), so an interval is always about the number in the result.

Resampling is by example (question, sentence, query): the unit whose noise the score carries. Seeds are derived
from the language code, so a language's interval is the same whichever process (rank) computes it and whatever
other languages are evaluated with it.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import zlib
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

# A language whose most frequent prediction covers this share (percent) of its examples is a constant predictor:
# its score is the class balance, not something the model learned.
CONSTANT_SHARE = 99.0
N_RESAMPLES = 1000
SEED = 0
LEVEL = 95.0  # percent: the interval's coverage
# Gathered indices per chunk of replicates (rows x examples): bounds the memory of a large language (PAN-X en has
# 10,000 sentences: 10 million indices for 1,000 replicates) at a few tens of MB without slowing small ones.
_CHUNK_ELEMENTS = 2_000_000


def ratio_of_sums(sums: np.ndarray) -> np.ndarray:
    """``100 * numerator / denominator`` per row of column sums ``[R, 2]`` (0 where the denominator is 0, as the
    metrics define an F1 without predicted or gold chunks)."""
    num, den = sums[:, 0], sums[:, 1]
    out = np.zeros(len(sums))
    np.divide(100.0 * num, den, out=out, where=den != 0)
    return out


def point(per_example: np.ndarray, statistic: Callable[[np.ndarray], np.ndarray] = ratio_of_sums) -> float:
    """The statistic of the full sample (the number the result reports)."""
    per_example = np.asarray(per_example, dtype=float)
    return float(statistic(per_example.sum(axis=0, keepdims=True))[0])


def language_seed(lang: str, seed: int = SEED) -> list[int]:
    """A seed for ``lang``'s resampling that depends only on the language and ``seed`` (not on the rank or on the
    other languages evaluated), so languages draw independently and reproducibly."""
    return [seed, zlib.crc32(lang.encode("utf-8"))]


def bootstrap(per_example: np.ndarray, statistic: Callable[[np.ndarray], np.ndarray] = ratio_of_sums,
              n_resamples: int = N_RESAMPLES, seed: int | list[int] = SEED) -> np.ndarray:
    """Bootstrap replicates of a statistic of column sums.

    Args:
        per_example: ``[n, k]`` contributions of each example (one row per example).
        statistic: maps column sums ``[R, k]`` of R samples to R values.
        n_resamples: R, the number of resamples (of n examples each, with replacement).
        seed: the random generator's seed (same seed and inputs: same replicates).

    Returns:
        ``[n_resamples]`` values of the statistic.

    Raises:
        ValueError: no examples.
    """
    x = np.asarray(per_example, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    n = len(x)
    if n == 0:
        raise ValueError("a bootstrap needs at least one example")
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_ELEMENTS // n)
    out = np.empty(n_resamples)
    for start in range(0, n_resamples, chunk):
        rows = min(chunk, n_resamples - start)
        idx = rng.integers(0, n, size=(rows, n), dtype=np.int64 if n > 2**31 - 1 else np.int32)
        # Column by column: gathering [rows, n, k] at once is ten times slower (strided, k times the memory).
        out[start:start + rows] = statistic(np.stack([x[:, j][idx].sum(axis=1) for j in range(x.shape[1])], axis=1))
    return out


def percentile_interval(replicates: np.ndarray, level: float = LEVEL) -> list[float]:
    """The ``level`` percent percentile interval ``[low, high]`` of bootstrap replicates."""
    tail = (100.0 - level) / 2
    low, high = np.percentile(np.asarray(replicates, dtype=float), [tail, 100.0 - tail])
    return [float(low), float(high)]


def bootstrap_ci(per_example: np.ndarray, statistic: Callable[[np.ndarray], np.ndarray] = ratio_of_sums,
                 n_resamples: int = N_RESAMPLES, seed: int | list[int] = SEED, level: float = LEVEL) -> list[float]:
    """The bootstrap percentile interval of ``statistic`` over resampled examples (see :func:`bootstrap`)."""
    return percentile_interval(bootstrap(per_example, statistic, n_resamples, seed), level)


def share_of_most_frequent(values: Iterable[Hashable]) -> float | None:
    """Percent of ``values`` equal to the most frequent one (None for no values)."""
    counts = Counter(values)
    total = sum(counts.values())
    return 100.0 * max(counts.values()) / total if total else None


@dataclasses.dataclass
class LanguageFigures:
    """One language's reliability figures, plus the bootstrap replicates the task-level interval is built from
    (kept in memory and passed between ranks, never written)."""

    majority_share: float | None = None
    top_prediction_share: float | None = None
    replicates: np.ndarray | None = None
    estimate: float | None = None  # the statistic of the full sample: the language's reported task score
    per_example: np.ndarray | None = None  # [n, 2] contributions, written as the result's ``items[lang]``

    @property
    def constant(self) -> bool:
        return self.top_prediction_share is not None and self.top_prediction_share >= CONSTANT_SHARE

    def to_json(self) -> dict[str, Any]:
        """The ``reliability[lang]`` entry of the results schema."""
        return {"majority_share": self.majority_share, "top_prediction_share": self.top_prediction_share,
                "constant": self.constant,
                "ci95": None if self.replicates is None else percentile_interval(self.replicates)}


def language_figures(lang: str, per_example: np.ndarray | None, gold: Iterable[Hashable] | None = None,
                     predictions: Iterable[Hashable] | None = None, seed: int = SEED) -> LanguageFigures:
    """The figures of one language from its per-example contributions (None: no interval), gold labels (None: the
    task has no classes) and predictions (None: a prediction is not one comparable value)."""
    has_examples = per_example is not None and len(per_example) > 0
    return LanguageFigures(
        majority_share=None if gold is None else share_of_most_frequent(gold),
        top_prediction_share=None if predictions is None else share_of_most_frequent(predictions),
        replicates=bootstrap(per_example, seed=language_seed(lang, seed)) if has_examples else None,
        estimate=point(per_example) if has_examples else None,
        per_example=np.asarray(per_example, dtype=float).reshape(len(per_example), -1) if has_examples else None)


def items_to_json(per_example: np.ndarray) -> dict[str, list[float]]:
    """A language's per-item contributions as the result's ``items[lang]``: ``{"num": [...], "den": [...]}`` in the
    order the evaluation read the items, ``den`` left out where every item counts 1 (accuracy), 8 significant
    digits (a result stays kilobytes to a few MB)."""
    x = np.asarray(per_example, dtype=float).reshape(len(per_example), -1)
    out = {"num": [float(f"{v:.8g}") for v in x[:, 0]]}
    if x.shape[1] > 1 and not np.all(x[:, 1] == 1.0):
        out["den"] = [float(f"{v:.8g}") for v in x[:, 1]]
    return out


def items_from_json(items: Mapping[str, Mapping[str, list[float]]] | None) -> dict[str, np.ndarray] | None:
    """``items_to_json``'s inverse for every language (None: the result keeps no per-item scores)."""
    if not items:
        return None
    out = {}
    for lang, v in items.items():
        num = np.asarray(v["num"], dtype=float)
        den = np.asarray(v["den"], dtype=float) if "den" in v else np.ones(len(num))
        out[lang] = np.stack([num, den], axis=1)
    return out


def mean_interval(replicates: Mapping[str, np.ndarray | None], weights: Mapping[str, float] | None = None,
                  level: float = LEVEL) -> list[float] | None:
    """The interval of the (weighted) mean over languages of their scores.

    Replicate r of the mean is the mean of every language's replicate r: each language resampled independently,
    so the noise of the languages partly averages out and the interval is narrower than theirs. None when a
    language has no replicates (its score cannot be resampled) or there are no languages.

    Args:
        replicates: lang -> its bootstrap replicates (all of the same length), or None.
        weights: lang -> weight (e.g. its number of questions for a micro average); None: unweighted (the
            benchmark's task score).
        level: the coverage in percent.
    """
    if not replicates or any(r is None for r in replicates.values()):
        return None
    langs = list(replicates)
    stacked = np.stack([np.asarray(replicates[lang], dtype=float) for lang in langs])
    w = np.ones(len(langs)) if weights is None else np.array([float(weights[lang]) for lang in langs])
    return percentile_interval(w @ stacked / w.sum(), level)


Z95 = 1.959964  # the two-sided 95% quantile of the normal distribution

# Test sets whose languages score the same items in translation (item i of one language is the translation of item i
# of every other, in the order the evaluation reads them): an item that is hard in English tends to be hard in every
# language (the audit of the grid now in results/archive/mini-before-issue29 measured a correlation of 0.17 even
# at chance), so resampling the languages
# independently understates the noise of their mean. Their item bootstrap draws one set of items for all languages.
SHARED_ITEMS = frozenset({"xnli", "pawsx", "xcopa", "xquad"})


def shares_items(task: str) -> bool:
    """Whether ``task``'s languages score the same (translated) items (``SHARED_ITEMS``)."""
    return task in SHARED_ITEMS


@functools.lru_cache(maxsize=4096)
def t_quantile(df: float, level: float = LEVEL) -> float:
    """The two-sided ``level`` quantile of Student's t with ``df`` (>= 1, possibly fractional; inf: the normal's).

    Numerically: the density integrated on a fine grid (trapezoids; error below 1e-6 for df >= 1), no scipy."""
    if not df >= 1:
        raise ValueError(f"t_quantile needs df >= 1, got {df}")
    p = 0.5 + level / 200.0
    if math.isinf(df) or df > 1e7:
        return Z95 if level == LEVEL else float(np.interp(p, *_normal_cdf_table()))
    x = np.linspace(0.0, 60.0, 60_001)  # the 97.5% quantile at df = 1 is 12.7
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    dens = np.exp(log_c - (df + 1) / 2 * np.log1p(x * x / df))
    cdf = 0.5 + np.concatenate([[0.0], np.cumsum((dens[1:] + dens[:-1]) / 2 * (x[1] - x[0]))])
    return float(np.interp(p, cdf, x))


def _normal_cdf_table() -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(0.0, 10.0, 100_001)
    cdf = 0.5 + np.concatenate([[0.0], np.cumsum(np.exp(-(x[1:] ** 2 + x[:-1] ** 2) / 4) / 2 * (x[1] - x[0]))]) \
        / math.sqrt(2 * math.pi)
    return cdf, x


@dataclasses.dataclass(frozen=True)
class SeedRun:
    """One seed's evaluation of one cell, as ``difference`` needs it.

    ``seed`` pairs runs across cells: phase-3 seed i of a cell with phase-3 seed i of its baseline (which, with
    phase-2 seeds, started from phase-2 seed i); a retrieval result on a phase-2 encoder carries its phase-2 seed.
    None: nothing of the run was trained with a seed (retrieval on a phase-1 encoder), so it has no seed noise and
    pairs with every seed of the other side. ``items``: lang -> per-item ``[n, 2]`` contributions (None: the result
    keeps none; the interval ``ci95`` stands in for them)."""

    score: float
    ci95: list[float] | None = None
    seed: int | None = None
    items: Mapping[str, np.ndarray] | None = None
    phase2_seed: int | None = None  # the phase-2 run's seed the model started from (None: no phase 2)


@dataclasses.dataclass(frozen=True)
class Difference:
    """The change of one cell's seed-mean score over another's, with a 95% interval (None: the noise is unknown)."""

    delta: float
    low: float | None
    high: float | None
    why: str  # which noise the interval holds and how ("3 paired seeds (t, 2 df) and items, joint across ...")
    pairs: int = 0  # seed pairs the delta and the seed noise come from (0: unpaired or none)
    df: float | None = None  # degrees of freedom of the quantile used (None: the normal's, or no interval)
    items_known: bool = True  # False: the interval holds the seeds' noise only (no item interval recorded)

    @property
    def verdict(self) -> str:
        """``up`` / ``down`` where the interval excludes zero, ``within noise`` where it holds it, ``unknown``
        without an interval or with one that holds the seeds' noise only (the items' is not recorded, so an
        interval that excludes zero could still hold it): an effect is only claimed beyond all of the noise."""
        if self.low is None or self.high is None or not self.items_known:
            return "unknown"
        return "up" if self.low > 0 else "down" if self.high < 0 else "within noise"


def _var(values: Sequence[float]) -> float | None:
    if len(values) < 2:
        return None
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / (len(values) - 1)


def _interval_var(runs: Sequence[SeedRun]) -> float | None:
    """The item variance of a side's seed mean read from its runs' 95% intervals (mean half-width / 1.96, squared):
    the fallback where the results keep no per-item scores. None when a run has no interval."""
    if not runs or any(r.ci95 is None for r in runs):
        return None
    return (sum((r.ci95[1] - r.ci95[0]) / 2 for r in runs) / len(runs) / Z95) ** 2


def _items_ready(runs: Sequence[SeedRun]) -> bool:
    """Every run keeps per-item scores for the same languages with the same item counts (the same items)."""
    if not runs or any(not r.items for r in runs):
        return False
    first = {lang: len(v) for lang, v in runs[0].items.items()}
    return all({lang: len(v) for lang, v in r.items.items()} == first for r in runs) and all(first.values())


# Replicates of a difference's item bootstrap: only its variance is read (no percentiles), which 400 replicates give
# to about +-7% (+-3.5% on the half-width); a grid with 40 languages of 10,000 sentences takes seconds per effect.
DIFF_RESAMPLES = 400


def item_variance(cell: Sequence[SeedRun], base: Sequence[SeedRun], joint: bool,
                  n_resamples: int = DIFF_RESAMPLES, seed: int = SEED) -> tuple[float, bool]:
    """The bootstrap variance over items of (mean score of ``cell``'s runs) - (mean score of ``base``'s runs).

    Every run of both sides is scored on the same items, so one draw of items is applied to all of them (the items'
    shared difficulty cancels in the difference, as it does in the point estimate). ``joint``: one draw of item
    indices for every language (translated test sets with equal counts); otherwise each language draws its own.
    A score is the unweighted mean over languages of each language's ratio of sums, as the task score.

    Returns:
        (variance, whether the draw was joint: False when ``joint`` was asked but the languages' counts differ).
    """
    runs = [*cell, *base]
    langs = sorted(runs[0].items)
    sizes = {lang: len(runs[0].items[lang]) for lang in langs}
    joint = joint and len(set(sizes.values())) == 1
    rng = np.random.default_rng(seed)
    sign = np.array([1.0 / len(cell)] * len(cell) + [-1.0 / len(base)] * len(base))
    total = np.zeros(n_resamples)
    counts = None
    for lang in langs:
        n = sizes[lang]
        if counts is None or not joint:
            # How often each item is drawn in each replicate: a replicate's sums are counts @ contributions (one
            # matrix product for every run of both sides). float32 counts: exact integers, half the memory.
            counts = np.empty((n_resamples, n), dtype=np.float32)
            for row in range(n_resamples):
                counts[row] = np.bincount(rng.integers(0, n, size=n), minlength=n)
        stacked = np.concatenate([np.asarray(r.items[lang], dtype=float).reshape(n, -1)[:, :2] for r in runs], axis=1)
        sums = counts @ stacked  # [R, 2 * runs]
        scores = np.stack([ratio_of_sums(sums[:, 2 * k:2 * k + 2]) for k in range(len(runs))], axis=1)
        total += scores @ sign
    return float(np.var(total / len(langs), ddof=1)), joint


def _pairs(cell: Sequence[SeedRun], base: Sequence[SeedRun]) -> list[tuple[SeedRun, SeedRun]]:
    """Runs of the two sides with the same seed; a side that is one untrained run (seed None) pairs with every run
    of the other."""
    if len(base) == 1 and base[0].seed is None:
        return [(a, base[0]) for a in cell]
    if len(cell) == 1 and cell[0].seed is None:
        return [(cell[0], b) for b in base]
    theirs = {b.seed: b for b in base if b.seed is not None}
    return [(a, theirs[a.seed]) for a in cell if a.seed in theirs]


def difference(cell: Sequence[SeedRun], base: Sequence[SeedRun], shared_items: bool = False,
               n_resamples: int = DIFF_RESAMPLES) -> Difference:
    """``cell`` minus ``base``: the change of the seed-mean score with a 95% interval holding seed and item noise.

    What is assumed, exactly:

    - **Seeds are paired.** Run i of the cell and run i of the baseline share the seed index (``SeedRun.seed``; with
      phase-2 seeds, phase-3 seed i starts from phase-2 seed i, so a pair shares both), and the per-seed differences
      d_i are independent draws of one distribution: the training noise (phase 2 and phase 3) of the difference.
      The delta is the mean of d_i over the pairs, its seed variance var(d) / n, read with Student's t (n - 1 df):
      with three seeds the normal's 1.96 would be 2.2 times too narrow a quantile (t: 4.30). An untrained side
      (retrieval on a phase-1 encoder: seed None) has no seed noise and pairs with every seed of the other.
    - **Items are shared.** Both sides (every seed) score the same test items, so the item noise of the delta is
      the bootstrap variance of the paired difference when items are redrawn (``item_variance``): drawn jointly for
      all languages where they score the same items in translation (``shared_items``, ``SHARED_ITEMS``), per
      language otherwise. Seed and item noise are added as independent (the seeds' spread is measured on fixed
      items, so it holds none of the item draw), and the quantile takes the Welch-Satterthwaite degrees of freedom
      of that sum (the item part counts as known: infinite df).
    - **Without per-item scores** (results written before ``items`` existed) the item variance is read from each
      side's recorded interval (half-width / 1.96, squared) and the two sides are added as independent: languages
      were resampled independently (too narrow for translated sets) and the shared items do not cancel (too wide);
      ``why`` says so.
    - **Neither per-item scores nor recorded intervals** (a derived row such as the last layer's): the interval of
      the seeds alone is returned, but no verdict (``unknown``): it leaves the items' noise out, so an interval that
      excludes zero could still hold it.
    - **Unpaired seeds** (fewer than two common seeds, at least two on each side): Welch's interval from each side's
      seed variance; ``why`` says so.
    - **One phase-2 run under several seeds** (every run of a side records the same ``phase2_seed``): the seeds'
      spread holds phase-3 noise only, the phase-2 run's own is not measured (it moved Tatoeba by 3.5 points in the
      audit), so there is no interval; the sweep's ``phase2_seeds`` gives each seed its own phase-2 run.
    - **One trained seed on a side** (and no two pairs): the seed noise of that side is unknown, and the other
      side's cannot stand in (a baseline without phase 2 lacks the phase-2 noise of an intermediate cell; the audit
      of the grid now in results/archive/mini-before-issue29 measured a second phase-2 seed moving Tatoeba by 3.5
      points against an item interval of +-1.1), so there is no interval: ``unknown``.
    """
    cell, base = list(cell), list(base)
    if not cell or not base:
        raise ValueError("a difference needs at least one run a side")
    pairs = _pairs(cell, base)
    untrained = all(r.seed is None for r in cell) and all(r.seed is None for r in base)
    if len(pairs) >= 2 or (pairs and untrained):
        used_a = list(dict.fromkeys(id(a) for a, _ in pairs))
        a_runs = [a for a in cell if id(a) in used_a]
        b_runs = [b for b in base if any(b is y for _, y in pairs)]
        diffs = [a.score - b.score for a, b in pairs]
        delta = sum(diffs) / len(diffs)
        seed_var = 0.0 if untrained or len(diffs) < 2 else (_var(diffs) or 0.0) / len(diffs)
        seed_df = float(len(diffs) - 1) if len(diffs) >= 2 else math.inf
        left = len(cell) + len(base) - len(a_runs) - len(b_runs)
        how = (f"{len(pairs)} paired seeds (t)" if not untrained else "no training (no seed noise)") + \
            (f"; {left} unpaired run(s) left out" if left else "")
    else:
        a_runs, b_runs = cell, base
        delta = sum(r.score for r in cell) / len(cell) - sum(r.score for r in base) / len(base)
        # an untrained side (seed None: nothing trained) has no seed noise: known to be 0
        va, vb = (0.0 if all(r.seed is None for r in side) else _var([r.score for r in side]) for side in (cell, base))
        if va is None or vb is None:
            return Difference(delta, None, None, ("one seed a side" if va is None and vb is None else
                                                  f"one seed on the {'cell' if va is None else 'baseline'}'s side")
                              + ": the seed noise is unknown, no interval")
        parts = [(va / len(cell), len(cell) - 1), (vb / len(base), len(base) - 1)]
        seed_var = parts[0][0] + parts[1][0]
        den = sum(v * v / d for v, d in parts if d >= 1)
        seed_df = seed_var ** 2 / den if den > 0 else math.inf
        how = "unpaired seeds (Welch t)"
    for side, runs in (("cell", a_runs), ("baseline", b_runs)):
        p2 = [r.phase2_seed for r in runs]
        if len(runs) >= 2 and None not in p2 and len(set(p2)) == 1:
            return Difference(delta, None, None, f"{how}; one phase-2 run under every seed of the {side}: its "
                                                 "noise is not measured (sweep phase2_seeds), no interval", len(pairs))
    if _items_ready(a_runs) and _items_ready(b_runs) and \
            {k: len(v) for k, v in a_runs[0].items.items()} == {k: len(v) for k, v in b_runs[0].items.items()}:
        item_var, joint = item_variance(a_runs, b_runs, shared_items, n_resamples)
        items = "items, drawn jointly across the translated languages" if joint else \
            "items, drawn per language" + (" (translated, but the languages' item counts differ)"
                                           if shared_items else "")
    else:
        va, vb = _interval_var(a_runs), _interval_var(b_runs)
        item_var = None if va is None and vb is None else (va if va is not None else vb) + \
            (vb if vb is not None else va)
        items = None if item_var is None else ("items from the recorded intervals (no per-item scores kept: "
                                               "languages apart, sides as independent)")
    if item_var is None and seed_var == 0.0:
        return Difference(delta, None, None, how + "; no item interval recorded: the noise is unknown",
                          len(pairs))
    total = seed_var + (item_var or 0.0)
    df = total ** 2 / (seed_var ** 2 / seed_df) if seed_var > 0 and not math.isinf(seed_df) else math.inf
    half = t_quantile(df) * total ** 0.5
    why = how + (f" and {items}" if items else "; no item interval recorded (seeds only: no verdict)")
    return Difference(delta, delta - half, delta + half, why, len(pairs), None if math.isinf(df) else df,
                      items_known=items is not None)


def runs_of(scores: Sequence[float], cis: Sequence[list[float] | None] | None = None,
            seeds: Sequence[int | None] | None = None) -> list[SeedRun]:
    """SeedRuns from parallel lists (a summary's ``runs``, ``runs_ci95`` and ``runs_seed``); no seeds: numbered
    1, 2, ... in order, i.e. paired by position."""
    cis = list(cis) if cis is not None else [None] * len(scores)
    seeds = list(seeds) if seeds is not None else list(range(1, len(scores) + 1))
    return [SeedRun(float(s), c, k) for s, c, k in zip(scores, cis, seeds, strict=True)]
