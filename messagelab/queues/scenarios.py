"""Business scenarios for the queue exercises: a workload, its faults and the targets."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from messagelab.grading.core import Target
from messagelab.queues.config import QueueConfig

#: The settings a student designs; everything else in QueueConfig is the scenario's.
DESIGN_FIELDS = (
    "queue_type",
    "fifo_high_throughput",
    "message_groups",
    "consumers",
    "visibility_timeout_s",
    "max_receive_count",
    "receive_batch_size",
    "wait_time_s",
    "idempotent_consumer",
)


@dataclass(frozen=True)
class QueueScenario:
    """A workload and faults (``config``), the design to start from, and business targets."""

    name: str
    config: QueueConfig
    targets: tuple[Target, ...]
    latency_target_s: float
    incident: dict = field(default_factory=dict)
    poison_burst: dict = field(default_factory=dict)

    def targets_frame(self) -> pd.DataFrame:
        """The business targets as a table."""
        return pd.DataFrame(
            {"target": [t.describe() for t in self.targets], "metric": [t.metric for t in self.targets]}
        )

    def workload_frame(self) -> pd.DataFrame:
        """The facts of the workload a design must survive."""
        c = self.config
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


#: ShopFast's order pipeline on Black Friday, time compressed: one minute of normal
#: trading, one minute at ten times the order rate, one more minute of normal trading,
#: then a minute for the consumers to drain the queue.
BLACK_FRIDAY = QueueScenario(
    name="ShopFast Black Friday",
    config=QueueConfig(
        arrival_rate_per_s=4.0,
        duration_s=180.0,
        drain_s=60.0,
        spike_multiplier=10.0,
        spike_start_s=60.0,
        spike_duration_s=60.0,
        processing_time_mean_s=0.4,
        processing_time_distribution="lognormal",
        processing_time_cv=1.0,
        failure_rate=0.02,
        poison_rate=0.002,
        crash_rate=0.001,
        consumer_restart_s=20.0,
        producer_retry_rate=0.01,
        producer_retry_delay_s=1.0,
        duplicate_delivery_rate=0.001,
        request_latency_s=0.02,
        consumers=4,
        sample_interval_s=2.0,
    ),
    targets=(
        Target("latency_p99_s", 10.0, "p99 order confirmation time", "s",
               hint="More consumers shorten the queue at the peak; a shorter visibility "
                    "timeout retries failed orders sooner."),
        Target("expired", 0, "orders expired unprocessed", "orders",
               hint="Raise the retention period or give poison orders a dead-letter queue."),
        Target("still_queued", 0, "orders still waiting after the drain minute", "orders",
               hint="The consumers cannot keep up: add consumers or check the visibility timeout."),
        Target("duplicates_processed", 0, "customers charged twice", "orders",
               hint="At-least-once delivery means some orders arrive twice: make the consumer "
                    "idempotent."),
        Target("poison_time_to_dlq_max_s", 120.0, "time for a poison order to reach the DLQ", "s",
               hint="Attach a dead-letter queue; max_receive_count × visibility timeout bounds "
                    "the time a poison order keeps failing."),
        Target("cost_per_day_usd", 40.0, "daily cost at this traffic", "USD",
               hint="Long polling removes most empty receives; idle consumers cost money too."),
    ),
    latency_target_s=10.0,
    # The forecast was wrong: an influencer shares a discount code and the peak is 25 times
    # normal trading instead of 10.
    incident=dict(spike_multiplier=25.0),
    # A bad deploy upstream: one order in twenty is malformed.
    poison_burst=dict(poison_rate=0.05),
)
