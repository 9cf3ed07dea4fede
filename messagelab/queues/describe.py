"""A queue's workload and faults as a table a student reads."""

from __future__ import annotations

import pandas as pd

from messagelab.queues.config import QueueConfig


def workload_frame(config: QueueConfig) -> pd.DataFrame:
    """The facts of the workload a design must survive."""
    c = config
    rows = [
        ("normal order rate", f"{c.arrival_rate_per_s:g} orders/s"),
        ("Black Friday peak", f"{c.peak_arrival_rate_per_s:g} orders/s for {c.spike_duration_s:g} s "
                              f"(from t = {c.spike_start_s:g} s)"),
        ("processing time per order", f"{c.processing_time_distribution}, mean {c.processing_time_mean_s:g} s, "
                                      f"coefficient of variation {c.processing_time_cv:g}"),
        ("API round trip", f"{c.request_latency_s * 1000:g} ms"),
        ("transient failures (payment gateway)", f"{c.failure_rate:.0%} of attempts"),
        ("malformed (poison) orders", f"{c.poison_rate:.1%} of orders"),
        ("consumer crashes", f"{c.crash_rate:.1%} of orders, back after {c.consumer_restart_s:g} s"),
        ("producer resends (missed acknowledgement)", f"{c.producer_retry_rate:.0%} of orders"),
        ("simulated window", f"{c.duration_s:g} s of orders + {c.drain_s:g} s to drain"),
    ]
    return pd.DataFrame(rows, columns=["fact", "value"])
