"""The SQS queue model keeps the model contract (``tests/contract.py``)."""

from __future__ import annotations

from contract import ModelContract

from messagelab import queues
from messagelab.queues import QueueConfig
from messagelab.queues.config import DAY_S


class TestQueueContract(ModelContract):
    simulate = staticmethod(queues.simulate)
    bad_values = [
        ("arrival_rate_per_s", 0),
        ("consumers", 0),
        ("consumers", 2.5),
        ("visibility_timeout_s", -1),
        ("visibility_timeout_s", 50_000),
        ("receive_batch_size", 11),
        ("wait_time_s", 21),
        ("failure_rate", float("nan")),
        ("queue_type", "priority"),
        ("max_receive_count", 0),
    ]
    design_change = ("consumers", 8)
    arrivals = ("messages", "sent_s")

    def config(self) -> QueueConfig:
        """Twenty seconds of traffic with every fault on, so the invariants have work to do."""
        return QueueConfig(
            duration_s=20, failure_rate=0.1, poison_rate=0.02, crash_rate=0.01, consumer_restart_s=2,
            duplicate_delivery_rate=0.05, producer_retry_rate=0.05, max_receive_count=3, visibility_timeout_s=5,
        )

    def absurd_config(self) -> QueueConfig:
        """A week of arrivals at three times what one slow consumer can take."""
        return QueueConfig(arrival_rate_per_s=3, duration_s=7 * DAY_S, consumers=1, processing_time_mean_s=1.0)
