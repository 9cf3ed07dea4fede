"""Lab 4's checkpoint: its checks accept the reference answers, say which way to go otherwise,
and accept breaker settings only when the game day's needs are met, judged from the runs' own tables."""

from __future__ import annotations

import math

import pytest

from messagelab.assignments import lab4
from messagelab.resilience.breaker import CLOSED, OPEN

BREAKER = {"breaker_failure_rate_threshold_pct": 25.0, "breaker_sliding_window_size": 50,
           "breaker_minimum_number_of_calls": 20, "breaker_wait_duration_in_open_state_s": 5.0,
           "breaker_permitted_calls_in_half_open_state": 10}
DEFAULTS = {name: getattr(lab4.SCENARIO.config, name) for name in lab4.BREAKER_FIELDS}
SWEEP = {
    "breaker_failure_rate_threshold_pct": [5.0, 10.0, 25.0, 50.0, 75.0, 100.0],
    "breaker_sliding_window_size": [1, 5, 10, 50, 200, 500],
    "breaker_minimum_number_of_calls": [1, 5, 10, 20, 100, 500],
    "breaker_wait_duration_in_open_state_s": [0.001, 0.1, 1.0, 5.0, 10.0, 15.0, 20.0, 30.0, 60.0],
    "breaker_permitted_calls_in_half_open_state": [1, 2, 5, 10, 20, 100],
}
HIDDEN_SEEDS, OTHER_DAY_SEEDS = (101, 102, 103), (7, 8)


def failure(check, *args, **kwargs) -> str:
    with pytest.raises(AssertionError) as e:
        check(*args, **kwargs)
    return str(e.value)


def test_the_calls_of_one_payment_multiply_every_layers_attempts(capsys):
    c = lab4.SCENARIO.config
    assert lab4.tries_per_payment() == c.api_max_attempts * c.fraud_max_attempts * c.gateway_max_attempts == 18
    lab4.check_amplification(18)
    assert capsys.readouterr().out.startswith("✓")
    assert "too many" in failure(lab4.check_amplification, 27)     # three attempts at every layer
    assert "too few" in failure(lab4.check_amplification, 9)       # the merchants' retries forgotten
    assert "must be a number" in failure(lab4.check_amplification, "18")


def test_the_reference_settings_pass_the_game_day_and_the_other_days(capsys):
    lab4.check_breaker(BREAKER)
    lab4.check_breaker(BREAKER, seeds=HIDDEN_SEEDS)
    lab4.check_other_faults(BREAKER, seeds=OTHER_DAY_SEEDS)
    assert [line[0] for line in capsys.readouterr().out.splitlines()] == ["✓", "✓", "✓"]


def test_resilience4js_defaults_keep_payments_out_long_after_the_fault():
    message = failure(lab4.check_breaker, DEFAULTS)
    assert "not within the day" in message and "wait less in the open state" in message
    assert "misses 1 of 4" in message


def test_a_breaker_that_opens_only_when_everything_fails_lets_the_storm_through():
    message = failure(lab4.check_breaker, {**BREAKER, "breaker_failure_rate_threshold_pct": 100.0})
    assert "calls the card network gets per payment while it fails" in message and "retries multiply" in message


def test_a_trial_judged_on_one_call_closes_too_early_and_says_so():
    message = failure(lab4.check_breaker, {**BREAKER, "breaker_minimum_number_of_calls": 1})
    assert "trips (closed → open)" in message and "judged too few calls once closed" in message


def test_a_small_window_trips_on_an_ordinary_day():
    message = failure(lab4.check_breaker, {**BREAKER, "breaker_sliding_window_size": 5})
    assert "on an ordinary day" in message and "worst run gave no" in message and "Judge more calls" in message


def test_a_wait_longer_than_a_longer_outage_allows_fails_on_another_day():
    slow = {**BREAKER, "breaker_wait_duration_in_open_state_s": 20.0}
    lab4.check_breaker(slow)
    assert failure(lab4.check_other_faults, slow, seeds=OTHER_DAY_SEEDS).startswith(
        "On another game day, with the gateway down")


def test_the_settings_are_plain_data_and_all_given():
    assert "leaves out" in failure(lab4.check_breaker, {k: v for k, v in BREAKER.items()
                                                        if k != "breaker_minimum_number_of_calls"})
    assert "not a design setting" in failure(lab4.check_breaker, {**BREAKER, "gateway_breaker": False})
    assert "not a valid configuration" in failure(lab4.check_breaker,
                                                  {**BREAKER, "breaker_wait_duration_in_open_state_s": 0})
    assert "must be a dict" in failure(lab4.check_breaker, list(BREAKER.items()))


def test_the_game_day_figures_are_read_from_the_run():
    r = lab4.game_day(lab4.breaker_config(BREAKER), seed=0)
    s = r.summary
    assert s["gateway_breaker_trips"] == lab4.trips(r) == 1 and s["breakers_stayed_closed"] is False
    storm = lab4.game_day(lab4.SCENARIO.config.replace(gateway_breaker=False, fraud_breaker=False), seed=0)
    assert storm.summary["gateway_calls_per_payment_in_fault"] > 10 > 1 > s["gateway_calls_per_payment_in_fault"]
    calm = lab4.game_day(lab4.breaker_config(BREAKER, faults=()), seed=0)
    assert math.isnan(calm.summary["gateway_calls_per_payment_in_fault"]) and calm.summary["breakers_stayed_closed"]


# --- targets without loopholes ------------------------------------------------------------------
def needs_broken(result) -> list[str]:
    """What the business needs of this run that it does not give, from its own tables and config."""
    c, ts, states = result.config, result.timeseries, result.breaker_states
    gateway = states[states["breaker"] == "gateway"]
    if not c.faults:
        return ["a breaker opened on an ordinary day"] if (states["to_state"] == OPEN).any() else []
    broken = []
    (_, _, start, duration, _), = c.faults
    end = start + duration
    during = ts[(ts["time_s"] >= start) & (ts["time_s"] < end)]
    if during["gateway_calls"].sum() > 0.5 * during["payments"].sum():
        broken.append("the card network got more than half its usual calls while failing")
    later = ts[(ts["time_s"] >= end + lab4.RECOVERY_BOUND_S) & (ts["time_s"] < c.duration_s)]
    if (later["success_rate"] < c.recovery_success_rate).any():
        broken.append("payments were not back to normal soon after the gateway")
    if ((gateway["from_state"] == CLOSED) & (gateway["to_state"] == OPEN)).sum() > 1:
        broken.append("the gateway breaker closed and tripped again: it flapped")
    return broken


def reviewer_objections(result) -> list[str]:
    """What a reviewer would still object to in a run the grade accepted."""
    c, states = result.config, result.breaker_states
    if not c.faults:
        return []
    (_, _, start, _, _), = c.faults
    gateway = states[states["breaker"] == "gateway"]
    objections = []
    tripped = gateway.loc[gateway["to_state"] == OPEN, "time_s"]
    if tripped.empty or tripped.iloc[0] - start > 5:
        objections.append("the breaker took more than a few seconds to stop the storm")
    if gateway.empty or gateway["to_state"].iloc[-1] != CLOSED:
        objections.append("the breaker was not closed again by the end of the day")
    return objections


@pytest.mark.parametrize("field", list(SWEEP))
def test_every_setting_the_grade_accepts_meets_the_game_days_needs(field):
    assert set(SWEEP) == set(lab4.BREAKER_FIELDS)
    accepted = 0
    for value in SWEEP[field]:
        breaker = {**BREAKER, field: value}
        days = [lab4.evaluate_breaker(breaker), lab4.evaluate_breaker(breaker, HIDDEN_SEEDS)]
        days += [lab4.evaluate_breaker(breaker, OTHER_DAY_SEEDS, variant) for variant in ("outage", "errors")]
        runs = [r for day in days for r in day.results]
        if not all(day.passed for day in days):
            assert any(needs_broken(r) for r in runs), (field, value, "refused, yet met every need")
            continue
        accepted += 1
        for r in runs:
            assert needs_broken(r) == [] and reviewer_objections(r) == [], (field, value, r.seed)
    assert accepted >= 2, field
