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
import zlib
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping
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
        estimate=point(per_example) if has_examples else None)


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


@dataclasses.dataclass(frozen=True)
class Difference:
    """The change of one cell's seed-mean score over another's, with a 95% interval (None: the noise is unknown)."""

    delta: float
    low: float | None
    high: float | None
    why: str  # which noise the interval holds ("seeds and examples", "examples only (one seed)", ...)

    @property
    def verdict(self) -> str:
        """``up`` / ``down`` where the interval excludes zero, ``within noise`` where it holds it, ``unknown``
        without an interval: an effect is only claimed beyond the noise."""
        if self.low is None or self.high is None:
            return "unknown"
        return "up" if self.low > 0 else "down" if self.high < 0 else "within noise"


def _noise(scores: list[float], intervals: list[list[float] | None]) -> tuple[float | None, float | None]:
    """(seed variance of one score, example variance) of a cell; None where unknown (one seed; no interval). The
    example variance reads the seeds' mean bootstrap interval as a normal one (half-width / 1.96, squared)."""
    seed_var = None
    if len(scores) >= 2:
        mean = sum(scores) / len(scores)
        seed_var = sum((s - mean) ** 2 for s in scores) / (len(scores) - 1)
    example_var = None
    if intervals and all(c is not None for c in intervals):
        example_var = (sum((c[1] - c[0]) / 2 for c in intervals) / len(intervals) / Z95) ** 2
    return seed_var, example_var


def difference(cell: tuple[list[float], list[list[float] | None]],
               base: tuple[list[float], list[list[float] | None]]) -> Difference:
    """``cell`` minus ``base`` (each: the seeds' scores and their 95% intervals over examples) with a 95% interval.

    Each side's seed mean has variance seed variance / seeds + example variance (the seeds are scored on the same
    examples, so their example noise does not shrink with more seeds). A side that lacks one of the two borrows it
    from the other side (the same task, encoder and examples, trained the same way: one seed is one draw of that
    noise); ``why`` says so. The variances add as if the sides were independent: they are scored on the same
    examples, whose shared difficulty cancels in the difference, so the interval errs on the wide side. Neither
    seeds nor intervals on either side: no interval (``unknown``).
    """
    (a, a_ci), (b, b_ci) = cell, base
    delta = sum(a) / len(a) - sum(b) / len(b)
    (sa, ea), (sb, eb) = _noise(a, a_ci), _noise(b, b_ci)
    borrowed = [name for name, mine, theirs in (("seed", sa, sb), ("seed", sb, sa), ("example", ea, eb),
                                                 ("example", eb, ea)) if mine is None and theirs is not None]
    sa, sb = (sa if sa is not None else sb), (sb if sb is not None else sa)
    ea, eb = (ea if ea is not None else eb), (eb if eb is not None else ea)
    if sa is None and ea is None:
        return Difference(delta, None, None, "no interval recorded (re-evaluate) and one seed: the noise is unknown")
    var = sum(v for v in ((sa or 0.0) / len(a), (sb or 0.0) / len(b), ea or 0.0, eb or 0.0))
    half = Z95 * var ** 0.5
    why = " and ".join(n for n, v in (("seeds", sa), ("examples", ea)) if v is not None)
    if borrowed:
        why += f" ({' and '.join(sorted(set(borrowed)))} noise of one side taken from the other)"
    return Difference(delta, delta - half, delta + half, why)
