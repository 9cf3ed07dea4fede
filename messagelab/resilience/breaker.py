"""A circuit breaker with resilience4j's semantics, as a small pure state machine.

The picture (resilience4j ``CircuitBreakerStateMachine``)::

               failure rate ≥ threshold or slow-call rate ≥ threshold,
               once minimumNumberOfCalls are in the sliding window
      CLOSED ─────────────────────────────────────────────────────────► OPEN
        ▲                                                              │   ▲
        │ the permitted calls' rates                  a call after     │   │ the permitted calls'
        │ are below both thresholds       waitDurationInOpenState ──►  │   │ rates reach a threshold
        └───────────────────────────── HALF_OPEN ◄─────────────────────┘   │
                                           └───────────────────────────────┘

* **CLOSED** permits every call and records each outcome in a sliding window: the last
  ``slidingWindowSize`` calls (COUNT_BASED), or the calls of the last ``slidingWindowSize``
  epoch seconds (TIME_BASED, one bucket per second). A call is *slow* when it took longer
  than ``slowCallDurationThreshold`` (strictly), whether it succeeded or failed. After each
  recorded call, once the window holds ``minimumNumberOfCalls`` (for COUNT_BASED at most the
  window size), the breaker opens if the failure rate or the slow-call rate (in percent) is
  at or above its threshold.
* **OPEN** rejects every call (``CallNotPermittedException``) until the wait
  ``waitDurationInOpenState`` has passed; the first call *after* it (resilience4j compares
  with ``Instant.isAfter``) moves the breaker to HALF_OPEN and is let through. There is no
  timer: without calls the breaker stays OPEN (``automaticTransitionFromOpenToHalfOpenEnabled``
  is false by default). Outcomes of calls that were let through before the breaker opened and
  end while it is OPEN go to a window that is discarded, so they change nothing.
* **HALF_OPEN** permits ``permittedNumberOfCallsInHalfOpenState`` calls and rejects the rest.
  Their outcomes go to a fresh count-based window of that size; once it holds
  ``min(minimumNumberOfCalls, permitted)`` calls the breaker opens again if a rate reaches
  its threshold and closes (with an empty window) if both are below.

Defaults are resilience4j's ``CircuitBreakerConfig`` defaults: failure-rate threshold 50%,
slow-call rate threshold 100%, slow-call duration 60 s, COUNT_BASED window of 100 calls,
minimum 100 calls, 60 s in OPEN, 10 calls in HALF_OPEN. Not modelled: exceptions that are
ignored rather than recorded (here every failure counts, as resilience4j's default
``recordExceptions`` does), ``maxWaitDurationInHalfOpenState`` (0 by default: wait for
ever), an automatic OPEN → HALF_OPEN timer, a growing wait (``waitIntervalFunctionInOpenState``),
and the DISABLED, FORCED_OPEN and METRICS_ONLY states.

Other breakers map onto these settings roughly: Hystrix (10 s rolling window,
``requestVolumeThreshold`` 20, 50% errors, 5 s sleep window) is a time-based window of 10 s
with a minimum of 20 calls and a 5 s wait, except that Hystrix lets a single trial call
through where resilience4j lets ``permittedNumberOfCallsInHalfOpenState``; pybreaker
(``fail_max`` consecutive failures, one trial call after ``reset_timeout``) counts
consecutive failures, which no sliding window does.

The clock is passed in: every method takes the current time in seconds, which must not go
backwards, so the breaker is tested without a simulation and driven by one.

>>> b = CircuitBreaker(BreakerSettings(sliding_window_size=4, minimum_number_of_calls=4,
...                                    wait_duration_in_open_state_s=10, permitted_calls_in_half_open_state=2))
>>> for t in range(4):
...     assert b.try_acquire(t)
...     b.on_result(t, 0.1, failed=t % 2 == 0)   # two failures in four calls: 50%
>>> b.state, b.try_acquire(5.0), b.try_acquire(14.0), b.try_acquire(14.5)
('OPEN', False, True, True)
>>> b.state, b.try_acquire(14.6)                 # only two calls are permitted in HALF_OPEN
('HALF_OPEN', False)
>>> b.on_result(15, 0.1, failed=False); b.on_result(15, 0.1, failed=False); b.state
'CLOSED'
>>> [(t.time_s, t.from_state, t.to_state) for t in b.transitions]
[(3, 'CLOSED', 'OPEN'), (14.0, 'OPEN', 'HALF_OPEN'), (15, 'HALF_OPEN', 'CLOSED')]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from messagelab.sim.validation import check_choice, check_number

CLOSED, OPEN, HALF_OPEN = "CLOSED", "OPEN", "HALF_OPEN"
STATES = (CLOSED, OPEN, HALF_OPEN)
WINDOW_TYPES = ("count_based", "time_based")

_FAILED, _SLOW = 1, 2


@dataclass(frozen=True)
class BreakerSettings:
    """One breaker's settings, named as resilience4j's ``CircuitBreakerConfig`` (units in the names)."""

    failure_rate_threshold_pct: float = 50.0
    slow_call_rate_threshold_pct: float = 100.0
    slow_call_duration_threshold_s: float = 60.0
    sliding_window_type: str = "count_based"
    #: Calls (count_based) or seconds (time_based).
    sliding_window_size: int = 100
    minimum_number_of_calls: int = 100
    wait_duration_in_open_state_s: float = 60.0
    permitted_calls_in_half_open_state: int = 10

    def __post_init__(self) -> None:
        # resilience4j's builder refuses the same values (CircuitBreakerConfig.Builder).
        check_number("failure_rate_threshold_pct", self.failure_rate_threshold_pct, 0, 100, low_open=True, unit="%")
        check_number("slow_call_rate_threshold_pct", self.slow_call_rate_threshold_pct, 0, 100, low_open=True,
                     unit="%")
        check_number("slow_call_duration_threshold_s", self.slow_call_duration_threshold_s, 0, 86_400,
                     low_open=True, unit="s")
        check_choice("sliding_window_type", self.sliding_window_type, WINDOW_TYPES)
        check_number("sliding_window_size", self.sliding_window_size, 1, 100_000, integer=True,
                     unit="calls (count_based) or seconds (time_based)")
        check_number("minimum_number_of_calls", self.minimum_number_of_calls, 1, 1_000_000, integer=True,
                     unit="calls")
        check_number("wait_duration_in_open_state_s", self.wait_duration_in_open_state_s, 0.001, 86_400,
                     unit="s (resilience4j: at least 1 ms)")
        check_number("permitted_calls_in_half_open_state", self.permitted_calls_in_half_open_state, 1, 100_000,
                     integer=True, unit="calls")


@dataclass(frozen=True)
class Transition:
    """The breaker changed state at ``time_s``, with these rates (%) in its window (NaN: not evaluated)."""

    time_s: float
    from_state: str
    to_state: str
    failure_rate_pct: float = math.nan
    slow_call_rate_pct: float = math.nan


class _CountWindow:
    """The last ``size`` outcomes, with running totals (resilience4j FixedSizeSlidingWindowMetrics)."""

    __slots__ = ("ring", "head", "total", "failed", "slow")

    def __init__(self, size: int) -> None:
        self.ring = [-1] * size
        self.head = 0
        self.total = self.failed = self.slow = 0

    def record(self, _now_s: float, outcome: int) -> None:
        ring, head = self.ring, self.head
        old = ring[head]
        if old >= 0:  # evict the oldest outcome
            self.total -= 1
            self.failed -= old & _FAILED
            self.slow -= (old & _SLOW) >> 1
        ring[head] = outcome
        self.head = head + 1 if head + 1 < len(ring) else 0
        self.total += 1
        self.failed += outcome & _FAILED
        self.slow += (outcome & _SLOW) >> 1


class _TimeWindow:
    """Outcomes of the last ``size`` epoch seconds, one bucket each (resilience4j SlidingTimeWindowMetrics)."""

    __slots__ = ("size", "buckets", "latest", "total", "failed", "slow")

    def __init__(self, size: int) -> None:
        self.size = size
        self.buckets = [[0, 0, 0] for _ in range(size)]  # total, failed, slow of one second
        self.latest = 0
        self.total = self.failed = self.slow = 0

    def _move_to(self, second: int) -> None:
        """Evict the buckets of seconds that have left the window ending at ``second``."""
        if second <= self.latest:
            return
        for s in range(max(self.latest + 1, second - self.size + 1), second + 1):
            bucket = self.buckets[s % self.size]
            self.total -= bucket[0]
            self.failed -= bucket[1]
            self.slow -= bucket[2]
            bucket[0] = bucket[1] = bucket[2] = 0
        self.latest = second

    def record(self, now_s: float, outcome: int) -> None:
        second = int(now_s)
        self._move_to(second)
        bucket = self.buckets[second % self.size]
        failed, slow = outcome & _FAILED, (outcome & _SLOW) >> 1
        bucket[0] += 1
        bucket[1] += failed
        bucket[2] += slow
        self.total += 1
        self.failed += failed
        self.slow += slow


class CircuitBreaker:
    """resilience4j's circuit breaker state machine; see the module docstring. Times in seconds."""

    __slots__ = ("settings", "name", "state", "transitions", "not_permitted", "_window", "_minimum", "_open_until",
                 "_half_open_left", "_last_s", "_slow_s", "_failure_pct", "_slow_pct")

    def __init__(self, settings: BreakerSettings | None = None, name: str = "") -> None:
        self.settings = settings or BreakerSettings()
        self.name = name
        self.state = CLOSED
        self.transitions: list[Transition] = []
        #: Calls refused while OPEN, or beyond the permitted ones while HALF_OPEN.
        self.not_permitted = 0
        self._last_s = -math.inf
        self._slow_s = self.settings.slow_call_duration_threshold_s
        self._failure_pct = self.settings.failure_rate_threshold_pct
        self._slow_pct = self.settings.slow_call_rate_threshold_pct
        self._open_until = math.inf
        self._half_open_left = 0
        self._close()

    # --- the two calls a protected call makes -----------------------------------------

    def try_acquire(self, now_s: float) -> bool:
        """May a call start at ``now_s``? False is resilience4j's ``CallNotPermittedException``."""
        if self.state == CLOSED:
            return True
        self._tick(now_s)
        if self.state == OPEN:
            if now_s > self._open_until:
                self._to(now_s, HALF_OPEN)
                self._window = _CountWindow(self.settings.permitted_calls_in_half_open_state)
                self._minimum = min(self.settings.minimum_number_of_calls,
                                    self.settings.permitted_calls_in_half_open_state)
                self._half_open_left = self.settings.permitted_calls_in_half_open_state
            else:
                self.not_permitted += 1
                return False
        if self._half_open_left > 0:
            self._half_open_left -= 1
            return True
        self.not_permitted += 1
        return False

    def on_result(self, now_s: float, duration_s: float, failed: bool) -> None:
        """Record a permitted call that ended at ``now_s`` after ``duration_s``, failed or not."""
        if now_s < self._last_s:
            self._tick(now_s)  # raises
        self._last_s = now_s
        if self.state == OPEN:
            return  # recorded in the window OPEN discards: it changes nothing
        window = self._window
        window.record(now_s, (_FAILED if failed else 0) | (_SLOW if duration_s > self._slow_s else 0))
        total = window.total
        if total < self._minimum:
            return
        # The rates in percent against the thresholds, without dividing on every call.
        exceeded = (100.0 * window.failed >= self._failure_pct * total
                    or 100.0 * window.slow >= self._slow_pct * total)
        if exceeded:
            self._open(now_s, 100.0 * window.failed / total, 100.0 * window.slow / total)
        elif self.state == HALF_OPEN:
            self._close(now_s, 100.0 * window.failed / total, 100.0 * window.slow / total)

    # --- what a reader asks ---------------------------------------------------------------

    def state_at(self, time_s: float) -> str:
        """The state the breaker was in at ``time_s`` (after any transition made at that instant)."""
        state = CLOSED
        for t in self.transitions:
            if t.time_s > time_s:
                break
            state = t.to_state
        return state

    def rates(self) -> tuple[float, float]:
        """Failure and slow-call rates (%) of the current window, or NaN below its minimum of calls."""
        window = self._window
        if window.total < self._minimum or self.state == OPEN:
            return math.nan, math.nan
        return 100.0 * window.failed / window.total, 100.0 * window.slow / window.total

    # --- transitions ----------------------------------------------------------------------

    def _tick(self, now_s: float) -> None:
        if now_s < self._last_s:
            raise ValueError(f"the clock went backwards: {now_s} after {self._last_s}")
        self._last_s = now_s

    def _to(self, now_s: float, state: str, failure_pct: float = math.nan, slow_pct: float = math.nan) -> None:
        self.transitions.append(Transition(now_s, self.state, state, failure_pct, slow_pct))
        self.state = state

    def _open(self, now_s: float, failure_pct: float, slow_pct: float) -> None:
        self._to(now_s, OPEN, failure_pct, slow_pct)
        self._open_until = now_s + self.settings.wait_duration_in_open_state_s

    def _close(self, now_s: float | None = None, failure_pct: float = math.nan, slow_pct: float = math.nan) -> None:
        s = self.settings
        if now_s is not None:
            self._to(now_s, CLOSED, failure_pct, slow_pct)
        if s.sliding_window_type == "count_based":
            self._window = _CountWindow(s.sliding_window_size)
            self._minimum = min(s.minimum_number_of_calls, s.sliding_window_size)
        else:
            self._window = _TimeWindow(s.sliding_window_size)
            self._minimum = s.minimum_number_of_calls
