"""Exercise 05's checks: each accepts the reference answer and says which way to go otherwise."""

from __future__ import annotations

import math
import time

import pytest

from messagelab.assignments import ex05

DESIGN = {**ex05.todays_design(), "gateway_timeout_s": 2.0, "gateway_max_attempts": 1,
          "gateway_backoff": "full_jitter", "fraud_timeout_s": 2.5, "fraud_max_attempts": 1, "retry_budget": True,
          "breaker_failure_rate_threshold_pct": 90.0, "breaker_minimum_number_of_calls": 50,
          "breaker_wait_duration_in_open_state_s": 5.0, "gateway_bulkhead_max_concurrent_calls": 60,
          "idempotency_keys": True}


def failure(check, *args, **kwargs) -> str:
    with pytest.raises(AssertionError) as e:
        check(*args, **kwargs)
    return str(e.value)


# --- the timeout --------------------------------------------------------------------------------
def test_the_timeout_is_the_p999_of_the_lognormal_the_model_draws(capsys):
    c = ex05.SCENARIO.config
    samples = ex05.run(c.replace(faults=(), gateway_timeout_s=600.0, gateway_max_attempts=1), seed=3)
    # The model's own gateway latencies: about one call in a thousand above the timeout.
    expected = ex05.false_timeout_s()
    assert expected == pytest.approx(1.1118, abs=1e-3)
    sigma = math.sqrt(math.log(1 + c.gateway_latency_cv ** 2))
    assert math.log(expected) == pytest.approx(math.log(c.gateway_latency_mean_s) - sigma ** 2 / 2 + 3.0902 * sigma,
                                               abs=1e-3)
    assert samples.summary["success_pct"] > 99
    ex05.check_timeout(expected)
    ex05.check_timeout(round(expected, 2))
    assert capsys.readouterr().out.startswith("✓")


@pytest.mark.parametrize(("answer", "expected"), [
    (0.12 + 3.09 * 0.12, "too low"),       # a normal distribution's p99.9: the tail is longer
    (1.0, "too low"),                       # today's timeout
    (2.0, "too high"),
    ("1.1", "must be a"),
    (float("nan"), "not a finite number"),
])
def test_other_timeouts_are_refused_with_the_direction_not_the_answer(answer, expected):
    message = failure(ex05.check_timeout, answer)
    assert expected in message and "1.11" not in message


# --- retry amplification -----------------------------------------------------------------------------
def test_the_calls_per_payment_multiply_every_layers_attempts(capsys):
    c = ex05.SCENARIO.config
    assert ex05.tries_per_payment() == c.api_max_attempts * c.fraud_max_attempts * c.gateway_max_attempts == 36
    ex05.check_amplification(36)
    assert capsys.readouterr().out.startswith("✓")
    assert "too few" in failure(ex05.check_amplification, 27)     # 3³: the merchants' layer, but not today's 4
    assert "too few" in failure(ex05.check_amplification, 12)     # our two layers only
    assert "too many" in failure(ex05.check_amplification, 64)
    # The model agrees: a payment against a network that is down sends at most that many calls.
    down = ex05.run(c.replace(faults=(("outage", "gateway", 0.0, 60.0, 1.0),), gateway_breaker=False,
                              fraud_breaker=False, arrival_rate_per_s=10.0, duration_s=5.0), seed=0)
    assert down.requests["gateway_calls"].max() == 36


# --- the design -----------------------------------------------------------------------------------------
def test_the_reference_design_passes_the_brownout_and_every_other_day(capsys):
    ex05.check_design(DESIGN)
    ex05.check_design(DESIGN, seeds=(101, 102, 103))
    ex05.check_other_faults(DESIGN)
    ex05.check_other_faults(DESIGN, seeds=(7, 8))
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 4 and all(line.startswith("✓") for line in out)
    report = ex05.days_report(DESIGN).data
    assert (report["targets met"].str.split(" of ").map(lambda p: p[0] == p[1])).all()


def test_todays_design_fails_everywhere_and_is_told_what_and_which_way():
    message = failure(ex05.check_design, ex05.todays_design())
    for words in ("while the fault lasts", "charged twice", "back to normal", "a breaker"):
        assert words in message
    assert "misses" in message
    assert failure(ex05.check_other_faults, ex05.todays_design()).startswith("Through a full outage")


@pytest.mark.parametrize(("change", "expected"), [
    ({"gateway_timeout_s": 1.0}, "while the fault lasts"),                       # false timeouts in the brownout
    ({"gateway_bulkhead_max_concurrent_calls": None}, "99th percentile"),       # a queue in front of the network
    ({"breaker_failure_rate_threshold_pct": 50.0}, "an open breaker"),           # opens in the brownout
    ({"idempotency_keys": False}, "charged twice"),
    ({"gateway_fallback": "degraded"}, "stand-in approvals"),
    ({"gateway_max_attempts": 3}, "99th percentile"),
])
def test_a_design_that_misses_a_brownout_target_is_told_which_and_which_way(change, expected):
    message = failure(ex05.check_design, {**DESIGN, **change})
    assert expected in message and "misses" in message


@pytest.mark.parametrize(("change", "day", "expected"), [
    ({"breaker_wait_duration_in_open_state_s": 60.0}, "a full outage", "back to normal"),
    ({"gateway_breaker": False, "fraud_breaker": False}, "a full outage", "fair-use"),
    ({"fraud_timeout_s": 2.0}, "a card network that hangs", "back to normal"),
])
def test_a_design_that_only_the_other_days_catch_is_told_which_day(change, day, expected):
    assert ex05.evaluate_design({**DESIGN, **change}).passed       # the brownout alone would let it through
    message = failure(ex05.check_other_faults, {**DESIGN, **change})
    assert message.startswith(f"Through {day}") and expected in message


@pytest.mark.parametrize(("design", "expected"), [
    ({k: v for k, v in DESIGN.items() if k != "idempotency_keys"}, "leaves out idempotency_keys"),
    ({**DESIGN, "arrival_rate_per_s": 10.0}, "not a design setting"),
    ({**DESIGN, "gateway_timeout_s": -1}, "gateway_timeout_s"),
    ({**DESIGN, "gateway_fallback": "approve"}, "gateway_fallback"),
    ({**DESIGN, "gateway_bulkhead_max_concurrent_calls": 0}, "gateway_bulkhead_max_concurrent_calls"),
    ({**DESIGN, "idempotency_keys": "yes"}, "idempotency_keys"),
    (list(DESIGN.items()), "must be a dict"),
])
def test_a_malformed_design_is_refused_naming_the_setting(design, expected):
    assert expected in failure(ex05.check_design, design)


def test_one_design_is_evaluated_within_budget():
    start = time.perf_counter()
    ex05.evaluate_design(ex05.todays_design())                       # the slowest: a retry storm, breakers open
    for variant in ex05.SCENARIO.variants:
        ex05.evaluate_design(ex05.todays_design(), variant=variant)
    assert time.perf_counter() - start < 3.0


def test_the_business_figures_add_up():
    r = ex05.run(ex05.design_config({**DESIGN, "gateway_fallback": "queue", "idempotency_keys": False}), seed=0)
    s, req = r.summary, r.requests
    start, duration = ex05.BROWNOUT[2], ex05.BROWNOUT[3]
    during = req[(req["arrival_s"] >= start) & (req["arrival_s"] < start + duration)]
    assert s["fault_success_pct"] == pytest.approx(100 * (during["outcome"] == "success").mean())
    assert s["charged_twice"] == s["double_charges"] + s["queued_already_charged"] > s["double_charges"]
    stand_in = req["reason"].str.contains("fallback").sum()
    assert stand_in > 0 and s["stand_in_losses_usd"] == pytest.approx(
        stand_in * ex05.PAYMENT_USD * ex05.STAND_IN_LOSS_RATE)
    assert ex05.fault_windows(r.config.replace(faults=(("errors", "gateway", 5, 10, 0.1),
                                                       ("slow", "fraud", 10, 10, 1.0)))) == [(5, 20)]


def test_every_number_the_notebook_shows_comes_from_the_scenario():
    facts = ex05.scenario_frame().data["value"]
    c = ex05.SCENARIO.config
    assert facts["card payments at the evening peak"].startswith(f"{c.arrival_rate_per_s:g} a second")
    assert f"{c.gateway_concurrency} connections" in facts["the card network"]
    assert "6 times as slowly" in facts["the brownout"] and "from second 15 for 30 s" in facts["the brownout"]
    targets = ex05.days_targets_frame().data
    assert list(targets.columns) == ["the brownout", *ex05.SCENARIO.variants]
    assert targets.loc["customers charged twice"].eq("none").all()
    assert targets.loc["payments authorised by the card network while the fault lasts", "outage"] == "—"
    design = ex05.design_frame().data
    assert list(design.index) == list(ex05.DESIGN_FIELDS)
    assert design.loc["gateway_max_attempts", "GlobalPay today"] == "4"
