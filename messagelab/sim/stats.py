"""Statistics for simulation output: confidence intervals over replications, percentiles."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Estimate:
    """A mean with its two-sided confidence interval (Student t over replications)."""

    mean: float
    half_width: float
    n: int
    confidence: float = 0.95

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    @property
    def relative_half_width(self) -> float:
        """Half-width as a fraction of the mean (0.05 means ±5 %)."""
        return self.half_width / abs(self.mean) if self.mean else float("inf")

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return f"{self.mean:.4g} ± {self.half_width:.2g} ({self.confidence:.0%} CI, n={self.n})"


def mean_ci(samples: Iterable[float], confidence: float = 0.95) -> Estimate:
    """Mean and t-based confidence half-width of independent samples (e.g. one per seed)."""
    x = np.asarray(list(samples), dtype=float)
    if x.size < 2:
        raise ValueError(f"need at least 2 samples for a confidence interval, got {x.size}")
    from scipy import stats  # imported here: scipy.stats takes a second to import, and kernels import this module

    t = stats.t.ppf(0.5 + confidence / 2, df=x.size - 1)
    return Estimate(float(x.mean()), float(t * x.std(ddof=1) / np.sqrt(x.size)), int(x.size), confidence)


def batch_means_ci(series: Sequence[float], batches: int = 20, confidence: float = 0.95) -> Estimate:
    """Confidence interval for the mean of one long, autocorrelated run (method of batch means).

    The run is cut into ``batches`` consecutive batches whose means are nearly independent.
    """
    x = np.asarray(series, dtype=float)
    if x.size < 2 * batches:
        raise ValueError(f"need at least {2 * batches} observations for {batches} batches, got {x.size}")
    usable = x[: x.size - x.size % batches]
    return mean_ci(usable.reshape(batches, -1).mean(axis=1), confidence)


def replicate(
    run: Callable[[int], float], seeds: Iterable[int], confidence: float = 0.95
) -> Estimate:
    """Run ``run(seed)`` once per seed and estimate the mean of what it returns."""
    return mean_ci((run(seed) for seed in seeds), confidence)


def percentiles(values: Iterable[float], qs: Sequence[float] = (50, 95, 99)) -> dict[str, float]:
    """``{"p50": …, "p95": …, "p99": …}``; NaN for every percentile when there are no values."""
    x = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)
    if x.size == 0:
        return {f"p{q:g}": float("nan") for q in qs}
    return {f"p{q:g}": float(v) for q, v in zip(qs, np.percentile(x, qs), strict=True)}
