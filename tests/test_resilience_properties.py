"""Nothing vanishes, whatever the chain, its resilience settings and its fault schedule (hypothesis).

Under any design — tiers' latencies, workers and queues, timeouts, retries and backoffs,
breakers, bulkheads, fallbacks, retry budgets, load shedding, idempotency — and any random
timeline of error bursts, brownouts, hangs, outages and capacity losses: every payment
ends exactly once as success, fallback, rejected or failed; the counts add up; every
outcome has a reason of its kind; the merchant is answered within its own timeouts and
backoffs; and no breaker lets a call through while OPEN before its wait is over. The pure
parts are checked the same way: the breaker under any sequence of calls and results, every
backoff strategy within its formula's bounds, the retry budget within its bucket. The
examples are derandomised, so CI tests the same configurations every run; set
MESSAGELAB_SOAK_EXAMPLES (e.g. 1000) for a soak run with more of them.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messagelab.resilience import BACKOFFS, FALLBACKS, OUTCOMES, TIERS, ResilienceConfig, simulate
from messagelab.resilience.backoff import backoff_s
from messagelab.resilience.breaker import CLOSED, HALF_OPEN, OPEN, BreakerSettings, CircuitBreaker
from messagelab.resilience.faults import FAULT_KINDS
from messagelab.resilience.retry_budget import TokenBucket

EXAMPLES = int(os.environ.get("MESSAGELAB_SOAK_EXAMPLES") or 100)
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

#: The reasons each outcome may carry.
REASON_KINDS = {
    "success": ("approved",),
    "fallback": ("fallback: degraded", "fallback: queue"),
    "rejected": ("load shed", "queue full", "breaker open", "bulkhead full"),
    "failed": ("timeout", "error", "outage"),
}
ALLOWED_TRANSITIONS = {(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, CLOSED), (HALF_OPEN, OPEN)}


@st.composite
def fault_schedules(draw, duration_s: float) -> tuple:
    magnitude = {
        "errors": st.sampled_from([0.1, 0.5, 1.0]),
        "brownout": st.floats(1, 20),
        "slow": st.floats(0.1, 10),
        "outage": st.just(1.0),
        "capacity_loss": st.sampled_from([0.3, 0.8, 1.0]),
    }
    faults = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(sorted(FAULT_KINDS)))
        faults.append((kind, draw(st.sampled_from(TIERS)), draw(st.floats(0, duration_s)),
                       draw(st.floats(0.1, 10)), draw(magnitude[kind])))
    return tuple(faults)


@st.composite
def chains(draw) -> ResilienceConfig:
    duration = draw(st.floats(1, 8))
    fields: dict = dict(
        arrival_rate_per_s=draw(st.floats(1, 80)),
        duration_s=duration,
        faults=draw(fault_schedules(duration)),
        backoff_base_s=draw(st.sampled_from([0.01, 0.1])),
        backoff_cap_s=draw(st.sampled_from([0.1, 1.0])),
        retry_budget=draw(st.booleans()),
        retry_budget_tokens=draw(st.sampled_from([10, 100, 500])),
        breaker_failure_rate_threshold_pct=draw(st.sampled_from([10.0, 50.0, 100.0])),
        breaker_slow_call_rate_threshold_pct=draw(st.sampled_from([50.0, 100.0])),
        breaker_slow_call_duration_threshold_s=draw(st.sampled_from([0.05, 1.0, 60.0])),
        breaker_sliding_window_type=draw(st.sampled_from(["count_based", "time_based"])),
        breaker_sliding_window_size=draw(st.integers(1, 20)),
        breaker_minimum_number_of_calls=draw(st.integers(1, 30)),
        breaker_wait_duration_in_open_state_s=draw(st.sampled_from([0.1, 1.0, 5.0, 60.0])),
        breaker_permitted_calls_in_half_open_state=draw(st.integers(1, 5)),
        api_shed_in_flight_limit=draw(st.one_of(st.none(), st.integers(1, 50))),
        idempotency_keys=draw(st.booleans()),
    )
    for t in TIERS:
        fields |= {
            f"{t}_latency_mean_s": draw(st.sampled_from([0.001, 0.02, 0.2])),
            f"{t}_latency_cv": draw(st.sampled_from([0.0, 0.5, 2.0])),
            f"{t}_concurrency": draw(st.integers(1, 40)),
            f"{t}_queue_limit": draw(st.integers(0, 40)),
            f"{t}_error_rate": draw(st.sampled_from([0.0, 0.01, 0.3, 1.0])),
            f"{t}_timeout_s": draw(st.sampled_from([0.01, 0.1, 0.5, 3.0])),
            f"{t}_max_attempts": draw(st.integers(1, 4)),
            f"{t}_backoff": draw(st.sampled_from(BACKOFFS)),
        }
    for t in ("fraud", "gateway"):
        fields |= {
            f"{t}_breaker": draw(st.booleans()),
            f"{t}_bulkhead_max_concurrent_calls": draw(st.one_of(st.none(), st.integers(1, 20))),
            f"{t}_bulkhead_max_wait_s": draw(st.sampled_from([0.0, 0.05, 1.0])),
            f"{t}_fallback": draw(st.sampled_from(FALLBACKS)),
        }
    return ResilienceConfig(**fields)


@SETTINGS
@given(config=chains(), seed=st.integers(0, 2**16))
def test_every_payment_ends_exactly_once_and_the_counts_add_up(config: ResilienceConfig, seed: int) -> None:
    result = simulate(config, seed=seed)
    result.check_invariants()
    assert not result.truncated
    s, r = result.summary, result.requests
    assert s["payments"] == len(r) == s["succeeded"] + s["fallbacks"] + s["rejected"] + s["failed"]
    assert s["in_flight"] == 0 and set(r["outcome"]) <= set(OUTCOMES[:4])
    assert s["payments_completed"] + s["payments_degraded"] + s["payments_queued"] + s["rejected"] + s["failed"] \
        == s["payments"]
    for outcome, kinds in REASON_KINDS.items():
        reasons = set(r.loc[r["outcome"] == outcome, "reason"].astype(str))
        assert all(reason.endswith(kinds) for reason in reasons), (outcome, reasons)
    # The merchant is answered within its own timeouts and backoffs, whatever happens below.
    assert (r["latency_s"] >= 0).all() and (r["latency_s"] <= config.longest_payment_s + 1e-9).all()
    assert (r.loc[r["outcome"] == "success", "charges"] >= 1).all()
    # Calls counted per payment add up to the calls counted per tier and per interval.
    for t in TIERS:
        assert r[f"{t}_calls"].sum() == s[f"{t}_calls"] >= result.timeseries[f"{t}_calls"].sum()
    states = result.breaker_states
    assert set(zip(states["from_state"], states["to_state"], strict=True)) <= ALLOWED_TRANSITIONS


# --- the breaker alone -------------------------------------------------------------------------


@st.composite
def breaker_runs(draw):
    settings_ = BreakerSettings(
        failure_rate_threshold_pct=draw(st.sampled_from([1.0, 25.0, 50.0, 100.0])),
        slow_call_rate_threshold_pct=draw(st.sampled_from([50.0, 100.0])),
        slow_call_duration_threshold_s=1.0,
        sliding_window_type=draw(st.sampled_from(["count_based", "time_based"])),
        sliding_window_size=draw(st.integers(1, 10)),
        minimum_number_of_calls=draw(st.integers(1, 10)),
        wait_duration_in_open_state_s=draw(st.sampled_from([0.5, 2.0, 10.0])),
        permitted_calls_in_half_open_state=draw(st.integers(1, 4)),
    )
    # Each step: time passes, then a call is asked for, or a result (failed?, slow?) comes back.
    steps = draw(st.lists(st.tuples(st.floats(0, 3), st.sampled_from(["acquire", "ok", "fail", "slow"])),
                          max_size=200))
    return settings_, steps


@SETTINGS
@given(run=breaker_runs())
def test_the_breaker_never_permits_a_call_while_open_before_its_wait_nor_more_than_half_open_allows(run):
    settings_, steps = run
    wait = settings_.wait_duration_in_open_state_s
    breaker = CircuitBreaker(settings_)
    now, opened_at, granted_half_open = 0.0, None, 0
    for dt, step in steps:
        now += dt
        before = breaker.state
        if step == "acquire":
            permitted = breaker.try_acquire(now)
            if before == CLOSED:
                assert permitted
            if before == OPEN and now <= opened_at + wait:
                assert not permitted and breaker.state == OPEN
            if breaker.state == HALF_OPEN:
                granted_half_open = (granted_half_open if before == HALF_OPEN else 0) + permitted
                assert granted_half_open <= settings_.permitted_calls_in_half_open_state
        else:
            breaker.on_result(now, 2.0 if step == "slow" else 0.1, step == "fail")
        if breaker.state == OPEN and before != OPEN:
            opened_at = now
    transitions = breaker.transitions
    assert {(t.from_state, t.to_state) for t in transitions} <= ALLOWED_TRANSITIONS
    assert [t.time_s for t in transitions] == sorted(t.time_s for t in transitions)
    for opened, left in zip(transitions, transitions[1:], strict=False):
        if opened.to_state == OPEN:
            assert left.time_s > opened.time_s + wait


# --- backoff and the retry budget -------------------------------------------------------------


@SETTINGS
@given(strategy=st.sampled_from(BACKOFFS), attempt=st.integers(1, 80), base=st.floats(0.001, 1),
       cap_factor=st.floats(1, 1000), previous_factor=st.floats(1, 1000), u=st.floats(0, 1, exclude_max=True))
def test_every_backoff_stays_within_its_formula(strategy, attempt, base, cap_factor, previous_factor, u):
    cap, previous = base * cap_factor, min(base * previous_factor, base * cap_factor)
    sleep = backoff_s(strategy, attempt, base_s=base, cap_s=cap, previous_s=previous, u=u)
    v = min(cap, base * 2.0 ** attempt)
    bounds = {
        "none": (0.0, 0.0),
        "exponential": (v, v),
        "full_jitter": (0.0, v),
        "equal_jitter": (v / 2, v),
        "decorrelated_jitter": (min(base, cap), min(cap, 3 * previous)),
    }[strategy]
    assert bounds[0] - 1e-12 <= sleep <= bounds[1] + 1e-12


@SETTINGS
@given(capacity=st.integers(10, 1000), steps=st.lists(st.sampled_from(["retry", "timeout", "success"]), max_size=300))
def test_the_retry_budget_never_goes_negative_nor_above_its_capacity(capacity, steps):
    bucket, held = TokenBucket(capacity), 0
    for step in steps:
        if step == "success":
            bucket.deposit(held)
            held = 0
        else:
            held = bucket.withdraw(timeout=step == "timeout") or held
        assert 0 <= bucket.tokens <= capacity
