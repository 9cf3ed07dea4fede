"""Lab 4's explore prompts: each asks for an observation the game-day explorer shows.

One test per numbered prompt of the notebook's "Try these" cell drives the explorer as the
prompt says and checks the observation a student should make. A prompt without a test, or
a test without a prompt, fails ``test_every_prompt_has_a_test``.
"""

from __future__ import annotations

import math

import pytest
from nbchecks import ROOT, observe, prompt_titles

from messagelab.assignments import lab4
from messagelab.resilience.breaker import CLOSED, OPEN
from messagelab.resilience.explorer import ResilienceExplorer

NOTEBOOK = ROOT / "source" / lab4.ID / f"{lab4.ID}.ipynb"
C = lab4.SCENARIO.config
_, _, START, DURATION, _ = lab4.BROWNOUT
END = START + DURATION
BREAKERS_ON = dict(gateway_breaker=True, fraud_breaker=True, gateway_max_attempts=3, fault_kind="brownout",
                   breaker_sliding_window_size=C.breaker_sliding_window_size,
                   breaker_failure_rate_threshold_pct=C.breaker_failure_rate_threshold_pct,
                   breaker_minimum_number_of_calls=C.breaker_minimum_number_of_calls,
                   breaker_permitted_calls_in_half_open_state=C.breaker_permitted_calls_in_half_open_state)


@pytest.fixture(scope="module")
def explorer() -> ResilienceExplorer:
    return ResilienceExplorer(C, second_fault=True)


def gateway_states(explorer):
    b = explorer.last_result.breaker_states
    return b[b["breaker"] == "gateway"]


def calls_per_s(explorer, start: float, end: float):
    ts = explorer.last_result.timeseries
    return ts[(ts["time_s"] >= start) & (ts["time_s"] < end)]


def test_resilience4js_defaults(explorer):
    s = observe(explorer, **BREAKERS_ON, breaker_wait_duration_in_open_state_s=60.0)
    states = gateway_states(explorer)
    # It trips within seconds of the brownout, and its 60 s wait outlasts the day: it never closes again.
    assert list(states["to_state"]) == [OPEN] and states["time_s"].iloc[0] - START < 3
    assert math.isnan(s["time_to_recover_s"]) and "had not recovered" in explorer.summary.value
    assert explorer.last_result.timeseries["gateway_breaker"].iloc[-1] == OPEN
    assert s["success_rate"] < 1 - DURATION / C.duration_s      # more is lost than the fault's share of the day


def test_the_retry_storm(explorer):
    defaults = observe(explorer, **BREAKERS_ON, breaker_wait_duration_in_open_state_s=60.0)
    storm = observe(explorer, gateway_breaker=False, fraud_breaker=False)
    during, after = calls_per_s(explorer, START, END), calls_per_s(explorer, END + 5, C.duration_s)
    # The calls rise far above the payments while the gateway is slow, and fall back once it recovers.
    assert (during["gateway_calls"] > 10 * during["payments"]).any()
    assert (after["gateway_calls"] <= 1.2 * after["payments"]).all()
    assert storm["gateway_amplification"] > 3 and storm["success_rate"] > defaults["success_rate"]
    # What the successes cost: the checkouts' wait, SLA breaches, cards charged twice.
    assert storm["latency_p99_s"] > 2 * C.sla_latency_s > defaults["latency_p99_s"]
    assert storm["sla_breaches"] > 5 * defaults["sla_breaches"]
    assert storm["double_charges"] > 2 * defaults["double_charges"]
    assert "calls to the gateway on average" in explorer.summary.value


def test_retries_at_one_layer(explorer):
    three = observe(explorer, gateway_breaker=False, fraud_breaker=False, gateway_max_attempts=3)
    one = observe(explorer, gateway_breaker=False, fraud_breaker=False, gateway_max_attempts=1)
    assert one["gateway_amplification"] < three["gateway_amplification"] / 2
    assert one["gateway_amplification"] > 1.5        # not gone: the checkout and the API still retry
    assert explorer.last_result.requests["gateway_calls"].max() == C.api_max_attempts * C.fraud_max_attempts


def test_the_wait_in_the_open_state(explorer):
    seen = {}
    for wait in (30.0, 5.0, 1.0):
        seen[wait] = observe(explorer, **BREAKERS_ON, breaker_wait_duration_in_open_state_s=wait)
    recover = {w: s["time_to_recover_s"] for w, s in seen.items()}
    opened = {w: s["gateway_breaker_opened"] for w, s in seen.items()}
    assert recover[30.0] > lab4.RECOVERY_BOUND_S >= recover[5.0] >= recover[1.0]
    assert opened[30.0] == 1 < opened[5.0] < opened[1.0]
    # Every opening after the first is a trial that failed: half-open → open, never closed in between.
    states = gateway_states(explorer)
    assert (states["from_state"] == CLOSED).sum() == 1


def test_judged_on_too_few_calls(explorer):
    observe(explorer, **{**BREAKERS_ON, "breaker_minimum_number_of_calls": 1},
            breaker_wait_duration_in_open_state_s=5.0)
    states = gateway_states(explorer)
    closed_early = states[(states["to_state"] == CLOSED) & (states["time_s"] < END)]
    assert not closed_early.empty and lab4.trips(explorer.last_result) > 1
    assert closed_early["time_s"].iloc[0] < states.loc[states["from_state"] == CLOSED, "time_s"].iloc[-1]
    observe(explorer, **{**BREAKERS_ON, "breaker_minimum_number_of_calls": 20},
            breaker_wait_duration_in_open_state_s=5.0)
    assert lab4.trips(explorer.last_result) == 1


def test_an_ordinary_day(explorer):
    noisy = observe(explorer, **{**BREAKERS_ON, "fault_kind": "none", "breaker_minimum_number_of_calls": 20,
                                 "breaker_sliding_window_size": 5, "breaker_failure_rate_threshold_pct": 20.0},
                    breaker_wait_duration_in_open_state_s=5.0)
    assert explorer.last_result.config.faults == () and "With no fault" in explorer.summary.value
    assert noisy["gateway_breaker_opened"] >= 2 and noisy["revenue_lost_usd"] > 0
    calm = observe(explorer, fault_kind="none", breaker_sliding_window_size=50)
    assert calm["gateway_breaker_opened"] == 0 and calm["revenue_lost_usd"] == 0


def test_the_fault_comes_back(explorer):
    tuned = dict(BREAKERS_ON, breaker_sliding_window_size=50, breaker_failure_rate_threshold_pct=25.0,
                 breaker_minimum_number_of_calls=20, breaker_wait_duration_in_open_state_s=5.0)
    once = observe(explorer, **tuned, second_fault_kind="none")
    again = observe(explorer, second_fault_kind="outage", second_fault_start_s=45.0, second_fault_duration_s=5.0)
    assert explorer.last_result.config.faults == (lab4.BROWNOUT, ("outage", "gateway", 45.0, 5.0, 1.0))
    assert "then the gateway refusing every call from 45 s for 5 s" in explorer.summary.value
    # Both windows are shaded.
    assert [x for x in explorer.figure.data[0].x if x is not None][-2:] == [45.0, 45.0]
    # Closed after the brownout, the breaker trips again within a second of the outage: a second incident,
    # and payments are back within a couple of seconds of it.
    states = gateway_states(explorer)
    tripped = states[(states["from_state"] == CLOSED) & (states["to_state"] == OPEN)]["time_s"]
    assert lab4.trips(explorer.last_result) == 2 and 45.0 <= tripped.iloc[-1] < 46.0
    assert again["time_to_recover_s"] <= 2 and again["revenue_lost_usd"] > once["revenue_lost_usd"]
    # At resilience4j's 60 s wait the breaker never closed after the brownout: the outage changes nothing.
    default = observe(explorer, breaker_wait_duration_in_open_state_s=60.0)
    assert lab4.trips(explorer.last_result) == 1 and math.isnan(default["time_to_recover_s"])
    assert default["revenue_lost_usd"] > again["revenue_lost_usd"]
    observe(explorer, second_fault_kind="none")
    assert default == observe(explorer, breaker_wait_duration_in_open_state_s=60.0)


PROMPT_TESTS = {
    "resilience4j's defaults": test_resilience4js_defaults,
    "The retry storm": test_the_retry_storm,
    "Retries at one layer": test_retries_at_one_layer,
    "The wait in the open state": test_the_wait_in_the_open_state,
    "Judged on too few calls": test_judged_on_too_few_calls,
    "An ordinary day": test_an_ordinary_day,
    "The fault comes back": test_the_fault_comes_back,
}


def test_every_prompt_has_a_test():
    assert prompt_titles(NOTEBOOK) == list(PROMPT_TESTS)
