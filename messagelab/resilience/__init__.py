"""Resilience patterns on a payment call chain: timeouts, retries and backoff, circuit breakers, bulkheads, faults.

``model``: the simulation (``simulate``, ``ResilienceResult``) of merchant → API → fraud
check → card-network gateway under load and a timeline of faults; ``config``: its
``ResilienceConfig`` (units in the names, limits from resilience4j and the AWS SDKs).
``breaker``: resilience4j's circuit breaker as a pure state machine (clock passed in).
``backoff``: the five backoff strategies of Brooker's "Exponential Backoff And Jitter".
``retry_budget``: the AWS SDKs' retry quota, a token bucket.
``faults``: the fault timeline.
``brooker``: Brooker's backoff experiment (clients contending on one row), to check the strategies against it.
"""

from messagelab.resilience import backoff, breaker, brooker, faults, model, retry_budget
from messagelab.resilience.backoff import BACKOFFS
from messagelab.resilience.breaker import BreakerSettings, CircuitBreaker
from messagelab.resilience.config import FALLBACKS, TIERS, ResilienceConfig
from messagelab.resilience.model import OUTCOMES, REASONS, ResilienceResult, simulate

__all__ = ["BACKOFFS", "FALLBACKS", "OUTCOMES", "REASONS", "TIERS", "BreakerSettings", "CircuitBreaker",
           "ResilienceConfig", "ResilienceResult", "backoff", "breaker", "brooker", "faults", "model",
           "retry_budget", "simulate"]
