"""The outbox model of ``messagelab.microservices`` keeps the model contract (``tests/contract.py``)."""

from __future__ import annotations

from contract import ModelContract

from messagelab.microservices import PublishConfig, outbox


class TestPublishingContract(ModelContract):
    simulate = staticmethod(outbox.simulate)
    bad_values = [
        ("publishing", "two-phase-commit"),
        ("orders_per_s", 0),
        ("duration_s", float("nan")),
        ("crash_probability", 0.9),
        ("crash_probability", -0.1),
        ("relay_interval_s", 0),
        ("db_commit_s", 0),
    ]
    design_change = ("publishing", "outbox")
    arrivals = ("orders", "placed_s")

    def config(self) -> PublishConfig:
        """Twenty seconds of dual writes with crashes often enough to lose some events."""
        return PublishConfig(duration_s=20, crash_probability=0.05)

    def absurd_config(self) -> PublishConfig:
        """Two million orders through the outbox: far beyond the suite's event budget."""
        return PublishConfig(publishing="outbox", orders_per_s=100, duration_s=20_000)
