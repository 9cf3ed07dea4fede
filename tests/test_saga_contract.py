"""The saga model of ``messagelab.microservices`` keeps the model contract (``tests/contract.py``)."""

from __future__ import annotations

from contract import ModelContract

from messagelab.microservices import saga
from messagelab.microservices.saga import SagaConfig


class TestSagaContract(ModelContract):
    simulate = staticmethod(saga.simulate)
    bad_values = [
        ("coordination", "two-phase-commit"),
        ("orders_per_s", 0),
        ("duration_s", float("nan")),
        ("service_workers", 0),
        ("crash_probability", 0.9),
        ("schema_version", 3),
        ("read_model", "latest"),
    ]
    design_change = ("coordination", "orchestration")
    arrivals = ("orders", "placed_s")

    def config(self) -> SagaConfig:
        """Ten seconds of orders with crashes under dual write: some sagas stall."""
        return SagaConfig(duration_s=10, publishing="dual-write-db-first", crash_probability=0.05)

    def absurd_config(self) -> SagaConfig:
        """A slow Payment service at 500 orders/s for a day: a backlog without end."""
        return SagaConfig(orders_per_s=400, duration_s=400, slow_service="Payment", slow_factor=1000)
