"""The payment call chain of ``messagelab.resilience`` keeps the model contract (``tests/contract.py``)."""

from __future__ import annotations

from contract import ModelContract

from messagelab.resilience import ResilienceConfig, simulate


class TestResilienceContract(ModelContract):
    simulate = staticmethod(simulate)
    bad_values = [
        ("arrival_rate_per_s", 0),
        ("duration_s", float("nan")),
        ("gateway_latency_mean_s", 0),
        ("fraud_concurrency", 0),
        ("api_queue_limit", -1),
        ("gateway_error_rate", 1.5),
        ("gateway_timeout_s", 0),
        ("fraud_max_attempts", 0),
        ("fraud_max_attempts", 2.5),
        ("api_backoff", "linear"),
        ("backoff_cap_s", 0.01),  # below the base of 0.1 s
        ("gateway_fallback", "retry"),
        ("gateway_bulkhead_max_concurrent_calls", 0),
        ("fraud_breaker", "yes"),
        ("breaker_failure_rate_threshold_pct", 0),
        ("breaker_failure_rate_threshold_pct", 101),
        ("breaker_sliding_window_type", "COUNT_BASED"),
        ("breaker_wait_duration_in_open_state_s", 0),
        ("breaker_permitted_calls_in_half_open_state", 0),
        ("api_shed_in_flight_limit", 0),
        ("idempotency_keys", 1),
        ("faults", "outage"),
        ("sla_latency_s", 0),
    ]
    design_change = ("gateway_timeout_s", 0.3)
    arrivals = ("requests", "arrival_s")

    def config(self) -> ResilienceConfig:
        """Twenty seconds with an error burst at the gateway and a slow fraud check; quick breakers."""
        return ResilienceConfig(
            duration_s=20,
            faults=(("errors", "gateway", 5.0, 5.0, 0.5), ("slow", "fraud", 12.0, 3.0, 1.5)),
            breaker_minimum_number_of_calls=20,
            breaker_wait_duration_in_open_state_s=2.0,
        )

    def absurd_config(self) -> ResilienceConfig:
        """1.8 million payments: far beyond the suite's event budget."""
        return ResilienceConfig(arrival_rate_per_s=2_000, duration_s=900)
