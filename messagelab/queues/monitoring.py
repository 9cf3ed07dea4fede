"""CloudWatch-style alarms on the queue's metrics, and when a latency target is breached.

An alarm watches one metric sampled every period and goes to ALARM when the metric is
above its threshold for ``periods`` consecutive samples ("datapoints to alarm").
The metrics are SQS's own CloudWatch metrics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from messagelab.sim.validation import ConfigError, check_choice, check_number

# CloudWatch metric name -> column of QueueResult.timeseries
METRICS = {
    "ApproximateAgeOfOldestMessage": "oldest_age_s",
    "ApproximateNumberOfMessagesVisible": "visible",
    "ApproximateNumberOfMessagesNotVisible": "in_flight",
    "DLQ.ApproximateNumberOfMessagesVisible": "dlq_depth",
}
UNITS = {
    "ApproximateAgeOfOldestMessage": "s",
    "ApproximateNumberOfMessagesVisible": "messages",
    "ApproximateNumberOfMessagesNotVisible": "messages",
    "DLQ.ApproximateNumberOfMessagesVisible": "messages",
}


@dataclass(frozen=True)
class Alarm:
    """Alarm when ``metric`` > ``threshold`` for ``periods`` consecutive samples."""

    metric: str
    threshold: float
    periods: int = 1

    def __post_init__(self) -> None:
        check_choice("metric", self.metric, METRICS)
        check_number("threshold", self.threshold, 0, 1e9, unit=UNITS[self.metric])
        check_number("periods", self.periods, 1, 100, integer=True)

    @classmethod
    def from_dict(cls, d: Any) -> Alarm:
        if type(d) is not dict or set(d) - {"metric", "threshold", "periods"} or not {"metric", "threshold"} <= set(d):
            raise ConfigError("alarm", d, "a dict with keys metric, threshold and optionally periods")
        return cls(d["metric"], d["threshold"], d.get("periods", 1))

    def first_alarm_s(self, timeseries: pd.DataFrame) -> float:
        """Time of the first sample at which the alarm is in ALARM, or NaN if never."""
        above = (timeseries[METRICS[self.metric]].to_numpy() > self.threshold).astype(int)
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
