"""Workload generators every domain draws from: arrivals and service times.

Arrivals are a Poisson process whose rate is constant on each segment of a timeline (a
normal day with a spike is three segments). Service times come from one of three
distributions with a given mean: exponential (M/M/c), deterministic (M/D/c) or lognormal
with a coefficient of variation (a long right tail, as measured processing times have).

>>> import numpy as np
>>> spike = spike_segments(4.0, 180.0, multiplier=10.0, start_s=60.0, length_s=60.0)
>>> spike
((0.0, 60.0, 4.0), (60.0, 120.0, 40.0), (120.0, 180.0, 4.0))
>>> times = poisson_arrivals(spike, np.random.default_rng(1))
>>> bool(np.all(np.diff(times) >= 0)), 2500 < times.size < 3300
(True, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

DISTRIBUTIONS = ("exponential", "deterministic", "lognormal")

Segment = tuple[float, float, float]  # (start_s, end_s, rate_per_s)


def spike_segments(rate_per_s: float, duration_s: float, *, multiplier: float = 1.0,
                   start_s: float = 0.0, length_s: float = 0.0) -> tuple[Segment, ...]:
    """A constant rate over ``duration_s`` with one spike of ``multiplier`` × the rate."""
    if length_s <= 0 or multiplier <= 1:
        return ((0.0, float(duration_s), float(rate_per_s)),)
    a, b = float(start_s), float(start_s + length_s)
    rate = float(rate_per_s)
    return ((0.0, a, rate), (a, b, rate * multiplier), (b, float(duration_s), rate))


def poisson_arrivals(segments: Sequence[Segment], rng: np.random.Generator) -> np.ndarray:
    """Sorted arrival times (s) of a Poisson process with a piecewise-constant rate."""
    out = []
    for start, end, rate in segments:
        if end <= start:
            continue
        # Conditional on the count, Poisson arrival times are uniform on the interval.
        k = rng.poisson(rate * (end - start))
        out.append(np.sort(rng.uniform(start, end, k)))
    return np.concatenate(out) if out else np.empty(0)


def lognormal_params(mean: float, cv: float) -> tuple[float, float]:
    """(μ, σ) of the lognormal whose mean is ``mean`` and coefficient of variation ``cv``.

    σ² = ln(1 + cv²) and μ = ln(mean) − σ²/2, so that exp(μ + σ²/2) = mean.

    >>> mu, sigma = lognormal_params(0.12, 1.0)
    >>> round(math.exp(mu + sigma ** 2 / 2), 12), round(sigma ** 2, 6)
    (0.12, 0.693147)
    """
    sigma2 = math.log1p(cv**2)
    return math.log(mean) - sigma2 / 2, math.sqrt(sigma2)


def service_times(distribution: str, mean_s: float, cv: float, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` service times (s) with mean ``mean_s``; ``cv`` applies to the lognormal."""
    if distribution == "deterministic" or (distribution == "lognormal" and cv == 0):
        return np.full(n, float(mean_s))
    if distribution == "exponential":
        return rng.exponential(mean_s, n)
    if distribution != "lognormal":
        raise ValueError(f"distribution {distribution!r}; allowed: {', '.join(DISTRIBUTIONS)}")
    return rng.lognormal(*lognormal_params(mean_s, cv), n)
