"""Alarms on a run's sampled metrics, and the moment a latency target is lost.

An alarm watches one metric sampled every period and goes to ALARM when the metric is
above its threshold for ``periods`` consecutive samples (CloudWatch's "datapoints to
alarm"). A domain names its metrics by subclassing :class:`Alarm` with ``METRICS``
(metric name -> column of its result's ``timeseries``) and ``UNITS``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from messagelab.sim.validation import ConfigError, check_choice, check_number


@dataclass(frozen=True)
class Alarm:
    """Alarm when ``metric`` > ``threshold`` for ``periods`` consecutive samples."""

    METRICS: ClassVar[Mapping[str, str]] = {}
    UNITS: ClassVar[Mapping[str, str]] = {}

    metric: str
    threshold: float
    periods: int = 1

    def __post_init__(self) -> None:
        check_choice("metric", self.metric, self.METRICS)
        check_number("threshold", self.threshold, 0, 1e9, unit=self.UNITS.get(self.metric, ""))
        check_number("periods", self.periods, 1, 100, integer=True)

    @classmethod
    def from_dict(cls, d: Any) -> Alarm:
        """An alarm from a plain dict ``{metric, threshold[, periods]}``."""
        if type(d) is not dict or set(d) - {"metric", "threshold", "periods"} or not {"metric", "threshold"} <= set(d):
            raise ConfigError("alarm", d, "a dict with keys metric, threshold and optionally periods")
        return cls(d["metric"], d["threshold"], d.get("periods", 1))

    def first_alarm_s(self, timeseries: pd.DataFrame) -> float:
        """Time of the first sample at which the alarm is in ALARM, or NaN if never."""
        above = (timeseries[self.METRICS[self.metric]].to_numpy() > self.threshold).astype(int)
        if self.periods > 1:
            run = np.convolve(above, np.ones(self.periods, dtype=int), mode="full")[: above.size]
            above = run >= self.periods
        hits = np.flatnonzero(above)
        return float(timeseries["time_s"].iloc[hits[0]]) if hits.size else math.nan


def breach_time_s(
    messages: pd.DataFrame,
    latency_target_s: float,
    horizon_s: float,
    percentile: float = 99.0,
    slice_s: float = 60.0,
) -> float:
    """The moment a latency target is lost: NaN if it never is.

    Orders are grouped by when they were sent, in slices of ``slice_s``. A slice misses a
    p99 target once more than 1% of its orders are late (not done ``latency_target_s`` after
    they were sent); the breach is the earliest moment some slice is known to miss it.
    """
    sent = messages["sent_s"].to_numpy()
    done = messages["first_done_s"].to_numpy()
    late_at = np.where(np.isnan(done) | (done - sent > latency_target_s), sent + latency_target_s, np.inf)
    allowed = 1.0 - percentile / 100.0
    breach = math.inf
    slices = np.floor(sent / slice_s).astype(int)
    for k in np.unique(slices):
        in_slice = np.sort(late_at[slices == k])
        tolerated = int(math.floor(allowed * in_slice.size))
        if tolerated < in_slice.size and np.isfinite(in_slice[tolerated]):
            breach = min(breach, float(in_slice[tolerated]))
    return breach if breach <= horizon_s else math.nan
