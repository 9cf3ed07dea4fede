"""The circuit breaker keeps resilience4j's documented state machine, transition by transition.

Each test pins one edge of ``CircuitBreakerStateMachine`` (resilience4j 2.x): CLOSED → OPEN
once ``minimumNumberOfCalls`` are recorded and the failure or slow-call rate is at or above
its threshold; OPEN refuses every call (``CallNotPermittedException``) until
``waitDurationInOpenState`` has passed, then the next call moves it to HALF_OPEN; HALF_OPEN
permits ``permittedNumberOfCallsInHalfOpenState`` calls, refuses the rest, and goes to
CLOSED when their rates are below both thresholds, else back to OPEN. The breaker is a
pure class with the clock passed in, so no simulation runs here.
"""

from __future__ import annotations

import math

import pytest

from messagelab.resilience import ResilienceConfig
from messagelab.resilience.breaker import CLOSED, HALF_OPEN, OPEN, BreakerSettings, CircuitBreaker
from messagelab.sim import ConfigError

SMALL = BreakerSettings(sliding_window_size=10, minimum_number_of_calls=10, wait_duration_in_open_state_s=5.0,
                        permitted_calls_in_half_open_state=3)


def calls(breaker: CircuitBreaker, at_s: float, *, failed: int = 0, succeeded: int = 0, duration_s: float = 0.1):
    """Record ``failed`` then ``succeeded`` calls at ``at_s``, each first let through by the breaker."""
    for is_failure in [True] * failed + [False] * succeeded:
        assert breaker.try_acquire(at_s), f"a call at {at_s} s was refused in {breaker.state}"
        breaker.on_result(at_s, duration_s, is_failure)


def opened(settings: BreakerSettings = SMALL, at_s: float = 1.0) -> CircuitBreaker:
    breaker = CircuitBreaker(settings)
    calls(breaker, at_s, failed=settings.minimum_number_of_calls)
    assert breaker.state == OPEN
    return breaker


def half_opened(settings: BreakerSettings = SMALL) -> CircuitBreaker:
    breaker = opened(settings, at_s=1.0)
    assert breaker.try_acquire(1.0 + settings.wait_duration_in_open_state_s + 0.001)
    assert breaker.state == HALF_OPEN
    return breaker


# --- the defaults ---------------------------------------------------------------------------


def test_the_defaults_are_resilience4j_circuit_breaker_config_defaults():
    s = BreakerSettings()
    assert (s.failure_rate_threshold_pct, s.slow_call_rate_threshold_pct, s.slow_call_duration_threshold_s) == (
        50.0, 100.0, 60.0)
    assert (s.sliding_window_type, s.sliding_window_size, s.minimum_number_of_calls) == ("count_based", 100, 100)
    assert (s.wait_duration_in_open_state_s, s.permitted_calls_in_half_open_state) == (60.0, 10)
    assert ResilienceConfig().breaker_settings == s
    assert CircuitBreaker().state == CLOSED


@pytest.mark.parametrize(("field", "value"), [
    ("failure_rate_threshold_pct", 0), ("failure_rate_threshold_pct", 100.5), ("slow_call_rate_threshold_pct", 0),
    ("slow_call_duration_threshold_s", 0), ("sliding_window_type", "COUNT_BASED"), ("sliding_window_size", 0),
    ("minimum_number_of_calls", 0), ("wait_duration_in_open_state_s", 0.0), ("permitted_calls_in_half_open_state", 0),
])
def test_settings_resilience4j_refuses_are_refused_naming_the_field(field, value):
    with pytest.raises(ConfigError, match=field):
        BreakerSettings(**{field: value})


# --- CLOSED ---------------------------------------------------------------------------------


def test_closed_permits_every_call():
    breaker = CircuitBreaker(SMALL)
    assert all(breaker.try_acquire(t / 10) for t in range(1000))
    assert breaker.state == CLOSED and breaker.not_permitted == 0


def test_closed_stays_closed_below_the_minimum_number_of_calls_even_if_all_fail():
    breaker = CircuitBreaker(SMALL)
    calls(breaker, 1.0, failed=9)
    assert breaker.state == CLOSED and math.isnan(breaker.rates()[0])
    calls(breaker, 1.0, failed=1)
    assert breaker.state == OPEN


def test_closed_opens_when_the_failure_rate_reaches_the_threshold_exactly():
    at_threshold = CircuitBreaker(SMALL)
    calls(at_threshold, 1.0, succeeded=5, failed=5)  # 50% ≥ 50%
    assert at_threshold.state == OPEN
    assert at_threshold.transitions[-1].failure_rate_pct == 50.0
    below = CircuitBreaker(SMALL)
    calls(below, 1.0, succeeded=6, failed=4)  # 40%
    assert below.state == CLOSED and below.rates() == (40.0, 0.0)


def test_closed_opens_on_slow_calls_alone_and_a_call_at_the_threshold_is_not_slow():
    settings = BreakerSettings(sliding_window_size=10, minimum_number_of_calls=10, slow_call_rate_threshold_pct=50,
                               slow_call_duration_threshold_s=2.0)
    exactly = CircuitBreaker(settings)
    calls(exactly, 1.0, succeeded=10, duration_s=2.0)  # not slower than the threshold: not slow
    assert exactly.state == CLOSED and exactly.rates() == (0.0, 0.0)
    slow = CircuitBreaker(settings)
    calls(slow, 1.0, succeeded=5, duration_s=0.1)
    calls(slow, 1.0, succeeded=5, duration_s=2.001)  # successful but slow: 50% ≥ 50%
    assert slow.state == OPEN
    assert (slow.transitions[-1].failure_rate_pct, slow.transitions[-1].slow_call_rate_pct) == (0.0, 50.0)


def test_with_the_default_slow_call_threshold_of_100_percent_only_all_slow_calls_open_it():
    settings = BreakerSettings(sliding_window_size=10, minimum_number_of_calls=10, slow_call_duration_threshold_s=1)
    nine_slow = CircuitBreaker(settings)
    calls(nine_slow, 1.0, succeeded=1)
    calls(nine_slow, 1.0, succeeded=9, duration_s=5)
    assert nine_slow.state == CLOSED
    calls(nine_slow, 1.0, succeeded=1, duration_s=5)  # the fast call leaves the window: 10 of 10 slow
    assert nine_slow.state == OPEN


def test_a_count_based_window_holds_only_the_last_calls():
    breaker = CircuitBreaker(SMALL)
    calls(breaker, 1.0, failed=4, succeeded=6)
    calls(breaker, 1.0, succeeded=10)  # the four failures slide out
    assert breaker.rates() == (0.0, 0.0)
    calls(breaker, 1.0, failed=4)
    assert breaker.state == CLOSED and breaker.rates()[0] == 40.0
    calls(breaker, 1.0, failed=1)
    assert breaker.state == OPEN


def test_a_count_based_minimum_above_the_window_size_is_the_window_size():
    breaker = CircuitBreaker(BreakerSettings(sliding_window_size=10, minimum_number_of_calls=100))
    calls(breaker, 1.0, failed=10)
    assert breaker.state == OPEN


def test_a_time_based_window_holds_the_calls_of_the_last_seconds_and_keeps_its_minimum():
    settings = BreakerSettings(sliding_window_type="time_based", sliding_window_size=5, minimum_number_of_calls=20)
    breaker = CircuitBreaker(settings)
    calls(breaker, 0.5, failed=15)
    calls(breaker, 5.5, succeeded=4)  # the failures of second 0 have left the window (seconds 1 to 5)
    assert breaker.state == CLOSED and math.isnan(breaker.rates()[0])
    calls(breaker, 6.0, failed=10)
    calls(breaker, 6.0, succeeded=5)  # 19 calls: below the minimum, not capped for time-based windows
    assert breaker.state == CLOSED
    calls(breaker, 6.2, succeeded=1)  # 20 calls, 10 failed
    assert breaker.state == OPEN


# --- OPEN -----------------------------------------------------------------------------------


def test_open_refuses_calls_until_the_wait_is_over_then_the_next_call_half_opens_it():
    breaker = opened(at_s=1.0)
    assert not breaker.try_acquire(1.0)
    assert not breaker.try_acquire(3.0)
    assert not breaker.try_acquire(6.0)  # exactly at the end of the wait: resilience4j needs isAfter
    assert breaker.not_permitted == 3 and breaker.state == OPEN
    assert breaker.try_acquire(6.000001)
    assert breaker.state == HALF_OPEN
    assert [(t.from_state, t.to_state) for t in breaker.transitions] == [(CLOSED, OPEN), (OPEN, HALF_OPEN)]
    assert breaker.transitions[-1].time_s == 6.000001


def test_open_stays_open_without_calls_however_long_the_wait():
    breaker = opened(at_s=1.0)
    assert breaker.state == OPEN and breaker.state_at(1_000.0) == OPEN


def test_results_of_calls_let_through_before_it_opened_change_nothing_while_open():
    breaker = opened(at_s=1.0)
    for _ in range(50):
        breaker.on_result(2.0, 0.1, False)
    assert breaker.state == OPEN and not breaker.try_acquire(3.0)


# --- HALF_OPEN --------------------------------------------------------------------------------


def test_half_open_permits_its_calls_and_refuses_the_rest():
    breaker = half_opened()  # the call that half-opened it is the first of three
    assert breaker.try_acquire(7.0) and breaker.try_acquire(7.0)
    assert not breaker.try_acquire(7.0) and not breaker.try_acquire(8.0)
    assert breaker.state == HALF_OPEN and breaker.not_permitted == 2


def test_half_open_closes_when_the_permitted_calls_are_below_both_thresholds():
    breaker = half_opened()
    assert breaker.try_acquire(7.0) and breaker.try_acquire(7.0)
    for failed in (True, False, False):  # 33% < 50%
        breaker.on_result(7.5, 0.1, failed)
    assert breaker.state == CLOSED
    assert breaker.transitions[-1].failure_rate_pct == pytest.approx(100 / 3)


def test_after_closing_the_window_starts_empty():
    breaker = half_opened()
    breaker.try_acquire(7.0)
    breaker.try_acquire(7.0)
    for _ in range(3):
        breaker.on_result(7.5, 0.1, False)
    assert breaker.state == CLOSED
    calls(breaker, 8.0, failed=9)  # nine failures: below the minimum of a fresh window
    assert breaker.state == CLOSED
    calls(breaker, 8.0, failed=1)
    assert breaker.state == OPEN


def test_half_open_opens_again_when_the_failure_rate_reaches_the_threshold_and_waits_again():
    breaker = half_opened()
    breaker.try_acquire(7.0)
    breaker.try_acquire(7.0)
    for failed in (True, True, False):  # 67% ≥ 50%
        breaker.on_result(7.5, 0.1, failed)
    assert breaker.state == OPEN
    assert not breaker.try_acquire(12.5)  # the new wait runs from 7.5 s
    assert breaker.try_acquire(12.51)
    assert [t.to_state for t in breaker.transitions] == [OPEN, HALF_OPEN, OPEN, HALF_OPEN]


def test_half_open_opens_again_on_slow_calls():
    settings = BreakerSettings(sliding_window_size=10, minimum_number_of_calls=10, wait_duration_in_open_state_s=5,
                               permitted_calls_in_half_open_state=2, slow_call_duration_threshold_s=1.0)
    breaker = half_opened(settings)
    breaker.try_acquire(7.0)
    breaker.on_result(8.0, 1.5, False)
    breaker.on_result(8.0, 1.5, False)  # both succeeded, both slow: 100% ≥ 100%
    assert breaker.state == OPEN


def test_half_open_decides_after_the_smaller_of_the_minimum_and_the_permitted_calls():
    settings = BreakerSettings(sliding_window_size=10, minimum_number_of_calls=2, wait_duration_in_open_state_s=5,
                               permitted_calls_in_half_open_state=5)
    breaker = CircuitBreaker(settings)
    calls(breaker, 1.0, failed=2)
    assert breaker.try_acquire(6.5) and breaker.try_acquire(6.5)
    breaker.on_result(7.0, 0.1, False)
    assert breaker.state == HALF_OPEN
    breaker.on_result(7.0, 0.1, False)  # two recorded: min(2, 5)
    assert breaker.state == CLOSED


def test_half_open_waits_for_its_permitted_calls_to_end():
    breaker = half_opened()
    breaker.try_acquire(7.0)
    breaker.try_acquire(7.0)
    breaker.on_result(7.5, 0.1, False)
    breaker.on_result(7.5, 0.1, False)
    assert breaker.state == HALF_OPEN and not breaker.try_acquire(100.0)


# --- the clock --------------------------------------------------------------------------------


def test_the_clock_may_not_go_backwards():
    breaker = CircuitBreaker(SMALL)
    breaker.on_result(5.0, 0.1, False)
    with pytest.raises(ValueError, match="backwards"):
        breaker.on_result(4.0, 0.1, False)


def test_state_at_reads_the_timeline():
    breaker = half_opened()
    assert [breaker.state_at(t) for t in (0.5, 1.0, 3.0, 6.001, 7.0)] == [CLOSED, OPEN, OPEN, HALF_OPEN, HALF_OPEN]
