"""The configuration of a simulated payment call chain: its services, the calls between them, faults.

Three services in a chain, each called by the one before it (the merchant's checkout calls
the API)::

    merchant ──► api ──► fraud ──► gateway (the card network)

A **tier** (``api``, ``fraud``, ``gateway``) is a service: its latency (lognormal with a mean
and a coefficient of variation; 0 is a fixed latency), its workers (``concurrency``: a
worker is held for the whole request, downstream calls included, as a thread-per-request
server holds its thread) and its accept queue (``queue_limit``: beyond it a request is
refused with a 503), and its own error rate. Defaults for the API and the fraud check are
Apache Tomcat's connector defaults (``maxThreads`` 200, ``acceptCount`` 100).

A **call** into a tier is named after the tier it calls: ``gateway_timeout_s`` is the fraud
service's timeout on its calls to the gateway, ``api_timeout_s`` the merchant's on its calls
to the API. Each call has a timeout (a time limiter: the callee is not told and keeps
working), retries (``max_attempts`` counts the first call, as resilience4j's Retry does; its
default is 3) with a backoff strategy (:mod:`messagelab.resilience.backoff`), and, for the
calls our platform makes (into ``fraud`` and ``gateway``), a circuit breaker
(:mod:`messagelab.resilience.breaker`, resilience4j's defaults, one set of settings for
both breakers), a bulkhead (resilience4j's semaphore Bulkhead: at most
``bulkhead_max_concurrent_calls`` calls at once, a call waits at most ``bulkhead_max_wait_s``
for a permit; resilience4j's defaults are 25 and 0 s, here off unless set), a fallback
(``degraded``: a stand-in approval from local rules; ``queue``: accept the payment and
authorise it later) and a retry budget (:mod:`messagelab.resilience.retry_budget`). The
decorators wrap each other in resilience4j's order: Retry(CircuitBreaker(TimeLimiter(
Bulkhead(call)))), so a full bulkhead counts as a failure for the breaker and the time
limiter's clock runs while a call waits for a permit.

The API may **shed load**: refuse a payment at once when ``api_shed_in_flight_limit``
payments are already in it (running or queued).

**Faults** are a timeline of (kind, tier, start_s, duration_s, magnitude) tuples
(:mod:`messagelab.resilience.faults`).

The default day, 100 payments/s for 60 s, is sized for an explorer: a run costs about
8 µs per payment (four simpy events each, plus the patterns' bookkeeping), so the default
answers in about 50 ms and a slider in well under 100 ms; 200 payments/s takes twice that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from messagelab.resilience.backoff import BACKOFFS, longest_backoffs_s
from messagelab.resilience.breaker import WINDOW_TYPES, BreakerSettings
from messagelab.resilience.faults import check as check_faults
from messagelab.resilience.faults import normalise as normalise_faults
from messagelab.sim.config import FrozenConfig
from messagelab.sim.validation import MAX_RUN_ITEMS, ConfigError, check_choice, check_number, check_run_size

#: The services, in call order: each calls the next.
TIERS = ("api", "fraud", "gateway")
#: What a caller answers when its calls to a dependency have failed.
FALLBACKS = ("none", "degraded", "queue")
#: The tiers whose callers are our own services (the API and the fraud check): breakers,
#: bulkheads, fallbacks and retry budgets are theirs. The merchant's calls into the API only time out and retry.
PROTECTED = ("fraud", "gateway")


@dataclass(frozen=True)
class ResilienceConfig(FrozenConfig):
    """A payment call chain's design and the day it faces. Units are in the field names."""

    # --- workload -----------------------------------------------------------------------
    arrival_rate_per_s: float = 100.0
    duration_s: float = 60.0
    # --- the services ------------------------------------------------------------------
    api_latency_mean_s: float = 0.005
    api_latency_cv: float = 0.5
    api_concurrency: int = 200
    api_queue_limit: int = 100
    api_error_rate: float = 0.0
    fraud_latency_mean_s: float = 0.020
    fraud_latency_cv: float = 0.5
    fraud_concurrency: int = 200
    fraud_queue_limit: int = 100
    fraud_error_rate: float = 0.0
    gateway_latency_mean_s: float = 0.100
    gateway_latency_cv: float = 1.0
    gateway_concurrency: int = 50
    gateway_queue_limit: int = 100
    gateway_error_rate: float = 0.001
    # --- the merchant's calls into the API ------------------------------------------------
    api_timeout_s: float = 10.0
    api_max_attempts: int = 3
    api_backoff: str = "full_jitter"
    # --- the API's calls into the fraud check ----------------------------------------------
    fraud_timeout_s: float = 2.0
    fraud_max_attempts: int = 3
    fraud_backoff: str = "full_jitter"
    fraud_breaker: bool = True
    fraud_bulkhead_max_concurrent_calls: int | None = None
    fraud_bulkhead_max_wait_s: float = 0.0
    fraud_fallback: str = "none"
    # --- the fraud check's calls into the gateway -----------------------------------------
    gateway_timeout_s: float = 1.0
    gateway_max_attempts: int = 3
    gateway_backoff: str = "full_jitter"
    gateway_breaker: bool = True
    gateway_bulkhead_max_concurrent_calls: int | None = None
    gateway_bulkhead_max_wait_s: float = 0.0
    gateway_fallback: str = "none"
    # --- backoff, shared by every caller (AWS SDKs: 100 ms base, 20 s cap) -------------------
    backoff_base_s: float = 0.1
    backoff_cap_s: float = 20.0
    # --- retry budget of our services' callers (AWS SDK standard mode: 500 tokens) -----------
    retry_budget: bool = False
    retry_budget_tokens: int = 500
    # --- circuit breakers (resilience4j CircuitBreakerConfig defaults, kept in BreakerSettings) --
    breaker_failure_rate_threshold_pct: float = BreakerSettings.failure_rate_threshold_pct
    breaker_slow_call_rate_threshold_pct: float = BreakerSettings.slow_call_rate_threshold_pct
    breaker_slow_call_duration_threshold_s: float = BreakerSettings.slow_call_duration_threshold_s
    breaker_sliding_window_type: str = BreakerSettings.sliding_window_type
    breaker_sliding_window_size: int = BreakerSettings.sliding_window_size
    breaker_minimum_number_of_calls: int = BreakerSettings.minimum_number_of_calls
    breaker_wait_duration_in_open_state_s: float = BreakerSettings.wait_duration_in_open_state_s
    breaker_permitted_calls_in_half_open_state: int = BreakerSettings.permitted_calls_in_half_open_state
    # --- load shedding at the API, idempotency at the gateway ---------------------------------
    api_shed_in_flight_limit: int | None = None
    idempotency_keys: bool = False
    # --- faults ----------------------------------------------------------------------------
    faults: tuple[tuple[str, str, float, float, float], ...] = ()
    # --- business figures and reporting ------------------------------------------------------
    payment_value_mean_usd: float = 50.0
    sla_latency_s: float = 2.0
    #: A run has recovered from its faults once every later interval's success rate is at least this.
    recovery_success_rate: float = 0.99
    sample_interval_s: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "faults", normalise_faults(self.faults))
        super().__post_init__()

    # --- derived values ----------------------------------------------------------------------

    def tier(self, name: str, setting: str) -> Any:
        """``config.tier("gateway", "timeout_s")`` is ``config.gateway_timeout_s``."""
        return getattr(self, f"{name}_{setting}")

    @property
    def breaker_settings(self) -> BreakerSettings:
        """The settings every enabled breaker uses, named as resilience4j names them."""
        return BreakerSettings(
            failure_rate_threshold_pct=self.breaker_failure_rate_threshold_pct,
            slow_call_rate_threshold_pct=self.breaker_slow_call_rate_threshold_pct,
            slow_call_duration_threshold_s=self.breaker_slow_call_duration_threshold_s,
            sliding_window_type=self.breaker_sliding_window_type,
            sliding_window_size=self.breaker_sliding_window_size,
            minimum_number_of_calls=self.breaker_minimum_number_of_calls,
            wait_duration_in_open_state_s=self.breaker_wait_duration_in_open_state_s,
            permitted_calls_in_half_open_state=self.breaker_permitted_calls_in_half_open_state,
        )

    @property
    def longest_payment_s(self) -> float:
        """The longest a merchant can wait for one payment: every attempt timing out, every backoff its longest."""
        return self.api_max_attempts * self.api_timeout_s + longest_backoffs_s(
            self.api_backoff, self.api_max_attempts, base_s=self.backoff_base_s, cap_s=self.backoff_cap_s)

    @property
    def horizon_s(self) -> float:
        """Simulated time: the last payment arrives by ``duration_s`` and is answered by then plus the longest wait."""
        return self.duration_s + self.longest_payment_s

    @property
    def tries_per_payment(self) -> int:
        """The most calls one payment can make to the gateway: every layer's attempts multiplied."""
        return self.api_max_attempts * self.fraud_max_attempts * self.gateway_max_attempts

    # --- validation ----------------------------------------------------------------------------

    def validate(self) -> None:
        """Refuse what the modelled libraries refuse (resilience4j, the AWS SDKs), and runs too large to simulate."""
        check_number("arrival_rate_per_s", self.arrival_rate_per_s, 0, 5_000, low_open=True, unit="payments/s")
        check_number("duration_s", self.duration_s, 1, 86_400, unit="s")
        for t in TIERS:
            check_number(f"{t}_latency_mean_s", self.tier(t, "latency_mean_s"), 0, 60, low_open=True, unit="s")
            check_number(f"{t}_latency_cv", self.tier(t, "latency_cv"), 0, 10, why="0 is a fixed latency")
            check_number(f"{t}_concurrency", self.tier(t, "concurrency"), 1, 10_000, integer=True, unit="workers")
            check_number(f"{t}_queue_limit", self.tier(t, "queue_limit"), 0, 100_000, integer=True,
                         unit="waiting requests")
            check_number(f"{t}_error_rate", self.tier(t, "error_rate"), 0, 1, unit="(a probability per request)")
            check_number(f"{t}_timeout_s", self.tier(t, "timeout_s"), 0.001, 600, unit="s")
            check_number(f"{t}_max_attempts", self.tier(t, "max_attempts"), 1, 10, integer=True,
                         unit="attempts (1: no retries)")
            check_choice(f"{t}_backoff", self.tier(t, "backoff"), BACKOFFS)
        for t in PROTECTED:
            check_choice(f"{t}_breaker", self.tier(t, "breaker"), (False, True))
            limit = self.tier(t, "bulkhead_max_concurrent_calls")
            if limit is not None:
                check_number(f"{t}_bulkhead_max_concurrent_calls", limit, 1, 10_000, integer=True,
                             unit="calls, or None for no bulkhead")
            check_number(f"{t}_bulkhead_max_wait_s", self.tier(t, "bulkhead_max_wait_s"), 0, 600, unit="s")
            check_choice(f"{t}_fallback", self.tier(t, "fallback"), FALLBACKS)
        check_number("backoff_base_s", self.backoff_base_s, 0, 60, low_open=True, unit="s")
        check_number("backoff_cap_s", self.backoff_cap_s, self.backoff_base_s, 3_600,
                     unit="s (at least backoff_base_s)")
        check_choice("retry_budget", self.retry_budget, (False, True))
        check_number("retry_budget_tokens", self.retry_budget_tokens, 10, 1_000_000, integer=True,
                     unit="tokens (a retry costs 5, after a timeout 10)")
        # The breaker's own checks, under this config's field names.
        for name in ("failure_rate_threshold_pct", "slow_call_rate_threshold_pct"):
            check_number(f"breaker_{name}", getattr(self, f"breaker_{name}"), 0, 100, low_open=True, unit="%")
        check_number("breaker_slow_call_duration_threshold_s", self.breaker_slow_call_duration_threshold_s, 0,
                     86_400, low_open=True, unit="s")
        check_choice("breaker_sliding_window_type", self.breaker_sliding_window_type, WINDOW_TYPES)
        check_number("breaker_sliding_window_size", self.breaker_sliding_window_size, 1, 100_000, integer=True,
                     unit="calls (count_based) or seconds (time_based)")
        check_number("breaker_minimum_number_of_calls", self.breaker_minimum_number_of_calls, 1, 1_000_000,
                     integer=True, unit="calls")
        check_number("breaker_wait_duration_in_open_state_s", self.breaker_wait_duration_in_open_state_s, 0.001,
                     86_400, unit="s (resilience4j: at least 1 ms)")
        check_number("breaker_permitted_calls_in_half_open_state", self.breaker_permitted_calls_in_half_open_state,
                     1, 100_000, integer=True, unit="calls")
        if self.api_shed_in_flight_limit is not None:
            check_number("api_shed_in_flight_limit", self.api_shed_in_flight_limit, 1, 1_000_000, integer=True,
                         unit="payments in the API, or None for no load shedding")
        check_choice("idempotency_keys", self.idempotency_keys, (False, True))
        check_faults(self.faults, tiers=TIERS, horizon_s=self.duration_s)
        check_number("payment_value_mean_usd", self.payment_value_mean_usd, 0, 1_000_000, unit="USD")
        check_number("sla_latency_s", self.sla_latency_s, 0, 3_600, low_open=True, unit="s")
        check_number("recovery_success_rate", self.recovery_success_rate, 0, 1, low_open=True,
                     unit="(a fraction of payments)")
        check_number("sample_interval_s", self.sample_interval_s, 0.1, 3_600, unit="s")
        check_run_size("duration_s", self.duration_s, self.arrival_rate_per_s * self.duration_s, "payments",
                       allowed=f"≤ {MAX_RUN_ITEMS / self.arrival_rate_per_s:,.0f} s at "
                               f"{self.arrival_rate_per_s:g} payments/s")
        if self.horizon_s / self.sample_interval_s > 100_000:
            raise ConfigError("sample_interval_s", self.sample_interval_s,
                              f"≥ {self.horizon_s / 100_000:g} s for a run of {self.horizon_s:g} s",
                              "a time series of more than 100,000 intervals")
