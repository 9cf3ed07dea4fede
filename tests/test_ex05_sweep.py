"""Exercise 05's targets have no holes: a sweep over each design control, judged from the raw runs.

From the reference design, each control is moved across its range, one at a time, as a
student would move it in the explorer. Every design the grade accepts — through the brownout
under the visible seeds and, as the hidden checks do, through the outage, the error burst and
the hung network — must also be one GlobalPay's reviewers would accept, judged here from each
run's own per-payment table and time series rather than from the summary the targets read:
enough payments approved by the network while the fault lasts and over the peak, 99% of
answers within the SLA, no card charged twice (a retry, or a queued payment authorised later),
stand-in approvals within the risk team's limit, payments flowing again soon after the network
recovers, the fraud check's workers left free for the other networks, and no more requests per
payment than the network's fair use allows. A design the grade refuses must break one of them.
"""

from __future__ import annotations

import numpy as np
import pytest

from messagelab.assignments import ex05

DESIGN = {**ex05.todays_design(), "gateway_timeout_s": 2.0, "gateway_max_attempts": 1,
          "gateway_backoff": "full_jitter", "fraud_timeout_s": 2.5, "fraud_max_attempts": 1, "retry_budget": True,
          "breaker_failure_rate_threshold_pct": 90.0, "breaker_minimum_number_of_calls": 50,
          "breaker_wait_duration_in_open_state_s": 5.0, "gateway_bulkhead_max_concurrent_calls": 60,
          "idempotency_keys": True}
BACKOFFS = ["none", "exponential", "full_jitter", "equal_jitter", "decorrelated_jitter"]
FALLBACKS = ["none", "degraded", "queue"]
SWEEP = {
    "gateway_timeout_s": [0.5, 1.0, 1.11, 1.5, 2.0, 2.5, 4.0, 10.0],
    "gateway_max_attempts": [1, 2, 3, 4],
    "gateway_backoff": BACKOFFS,
    "fraud_timeout_s": [0.5, 1.0, 2.0, 2.2, 2.5, 3.0, 6.0],
    "fraud_max_attempts": [1, 2, 3],
    "fraud_backoff": BACKOFFS,
    "retry_budget": [True, False],
    "gateway_breaker": [True, False],
    "fraud_breaker": [True, False],
    "breaker_failure_rate_threshold_pct": [10.0, 50.0, 70.0, 80.0, 90.0, 100.0],
    "breaker_sliding_window_size": [5, 20, 100, 500],
    "breaker_minimum_number_of_calls": [1, 10, 50, 100, 500],
    "breaker_wait_duration_in_open_state_s": [0.5, 1.0, 5.0, 10.0, 20.0, 60.0],
    "breaker_permitted_calls_in_half_open_state": [1, 10, 50],
    "gateway_bulkhead_max_concurrent_calls": [None, 20, 40, 50, 60, 70, 80, 150],
    "fraud_bulkhead_max_concurrent_calls": [None, 20, 60, 100, 200],
    "gateway_fallback": FALLBACKS,
    "fraud_fallback": FALLBACKS,
    "idempotency_keys": [True, False],
    "api_shed_in_flight_limit": [None, 20, 50, 60, 100, 200],
}
#: Two controls moved together, where one alone says little: retries with their backoff, and a
#: design without idempotency keys whose timeouts never give up on a charge.
PAIRS = [
    {"gateway_max_attempts": 2, "gateway_backoff": "none"},
    {"gateway_max_attempts": 2, "gateway_backoff": "decorrelated_jitter"},
    {"fraud_max_attempts": 2, "fraud_backoff": "exponential"},
    {"idempotency_keys": False, "gateway_timeout_s": 8.0, "fraud_timeout_s": 9.0},
    {"gateway_bulkhead_max_concurrent_calls": None, "api_shed_in_flight_limit": 60},
    {"gateway_bulkhead_max_concurrent_calls": None, "fraud_bulkhead_max_concurrent_calls": 60},
]
DAYS = (None, *ex05.SCENARIO.variants)


def need(variant, metric: str) -> float:
    """What the business needs of ``metric`` on that day, as it states it (None: no need that day)."""
    return next((t.limit for t in ex05.TARGETS[variant] if t.metric == metric), None)


def needs_broken(result, variant) -> list[str]:
    """What the business needs that this run does not give, from its per-payment table and time series."""
    c, req, ts = result.config, result.requests, result.timeseries
    approved = req["outcome"] == "success"
    broken = []
    end = max(s + d for _, _, s, d, _ in c.faults)
    inside = np.zeros(len(req), dtype=bool)
    for _, _, start, duration, _ in c.faults:
        inside |= (req["arrival_s"] >= start).to_numpy() & (req["arrival_s"] < start + duration).to_numpy()
    floor = need(variant, "fault_success_pct")
    if floor is not None and 100 * approved[inside].mean() < floor:
        broken.append("too few payments approved while the network was failing")
    if 100 * approved.mean() < need(variant, "success_pct"):
        broken.append("too few payments approved over the peak")
    if np.percentile(req["latency_s"], 99) > ex05.SLA_S:
        broken.append("more than 1% of merchants waited beyond the SLA")
    queued_after_charge = req["reason"].str.endswith("fallback: queue") & (req["charges"] > 0)
    if (req["charges"] > 1).any() or (queued_after_charge.any() and not c.idempotency_keys):
        broken.append("a customer was charged twice")
    lost = req["outcome"].isin(["failed", "rejected"]).sum() * c.payment_value_mean_usd
    if lost > need(variant, "revenue_lost_usd"):
        broken.append("merchants lost more sales than the business accepts")
    stand_in = req["reason"].str.contains("fallback").sum() * c.payment_value_mean_usd
    if stand_in * ex05.STAND_IN_LOSS_RATE > ex05.STAND_IN_LOSS_LIMIT_USD:
        broken.append("stand-in approvals beyond the risk team's limit")
    later = req[(req["arrival_s"] >= end + ex05.RECOVERY_LIMIT_S) & (req["arrival_s"] < c.duration_s)]
    by_second = (later["outcome"] == "success").groupby(np.floor(later["arrival_s"])).mean()
    if (by_second < c.recovery_success_rate).any():
        broken.append("payments still failing well after the network recovered")
    if max(ts["fraud_busy"].max(), result.summary["max_fraud_busy"]) > (
            ex05.FRAUD_WORKERS_LIMIT_PCT / 100 * c.fraud_concurrency):
        broken.append("the fraud check's workers were taken by one network")
    if req["gateway_calls"].sum() / len(req) > ex05.FAIR_USE_REQUESTS_PER_PAYMENT:
        broken.append("more requests to the network than its fair use allows")
    return broken


def grade(design: dict) -> tuple[bool, list]:
    """Whether the grade accepts ``design`` on every day, with the runs it made: (run, day) pairs."""
    passed, runs = True, []
    for variant in DAYS:
        seeds = ex05.VISIBLE_SEEDS if variant is None else ex05.VISIBLE_DAY_SEEDS
        evaluation = ex05.evaluate_design(design, seeds, variant)
        passed &= evaluation.passed
        runs += [(r, variant) for r in evaluation.results]
    return passed, runs


def judge(design: dict) -> bool:
    passed, runs = grade(design)
    broken = [need for r, variant in runs for need in needs_broken(r, variant)]
    if passed:
        assert broken == [], (design, broken)
    else:
        assert broken, (design, "refused, yet met every need")
    return passed


@pytest.mark.parametrize("field", list(SWEEP))
def test_every_design_the_grade_accepts_meets_the_business_needs(field):
    assert set(SWEEP) == set(ex05.DESIGN_FIELDS)
    accepted = [value for value in SWEEP[field] if judge({**DESIGN, field: value})]
    assert accepted, field
    assert DESIGN[field] in accepted or DESIGN[field] not in SWEEP[field]


@pytest.mark.parametrize("changes", PAIRS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_controls_moved_together_are_judged_the_same_way(changes):
    judge({**DESIGN, **changes})


def test_what_a_reviewer_would_refuse_is_refused():
    # Each of today's weaknesses alone, on the reference design: none of them passes.
    for weakness in ({"idempotency_keys": False}, {"gateway_fallback": "degraded"}, {"fraud_fallback": "queue"},
                     {"breaker_wait_duration_in_open_state_s": 60.0}, {"gateway_bulkhead_max_concurrent_calls": None},
                     {"gateway_breaker": False, "fraud_breaker": False}):
        assert not grade({**DESIGN, **weakness})[0], weakness
