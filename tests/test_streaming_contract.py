"""The streaming model of ``messagelab.streaming`` keeps the model contract (``tests/contract.py``)."""

from __future__ import annotations

from contract import ModelContract

from messagelab import streaming
from messagelab.streaming import StreamConfig


class TestStreamContract(ModelContract):
    simulate = staticmethod(streaming.simulate)
    bad_values = [
        ("acks", 1),
        ("acks", "-1"),
        ("partitions", 0),
        ("replication_factor", 4),
        ("min_insync_replicas", 4),
        ("linger_ms", -1),
        ("compression", "brotli"),
        ("duration_s", float("nan")),
        ("key_skew", 5),
        ("broker_failure_at_s", 1e9),
    ]
    design_change = ("linger_ms", 20.0)

    def config(self) -> StreamConfig:
        """Ten seconds with a broker failing after three: the partitions it led stall, then move."""
        return StreamConfig(duration_s=10, broker_failure_at_s=3.0, broker_session_timeout_s=2.0)

    def absurd_config(self) -> StreamConfig:
        """A day of two million records a second on a thousand partitions: far beyond an explorer's budget."""
        return StreamConfig(records_per_s=2_000_000, partitions=1000, duration_s=300, brokers=12, consumers=100)

    def workload(self, result):
        return result.timeline["produced"]
