"""Exercise 05's explore prompts: each asks for an observation the game-day explorer shows.

One test per numbered prompt of the notebook's "Try these" cell drives the explorer as the
prompt says and checks the observation a student should make. A prompt without a test, or
a test without a prompt, fails ``test_every_prompt_has_a_test``.
"""

from __future__ import annotations

import pytest
from nbchecks import ROOT, observe, prompt_titles

from messagelab.assignments import ex05

NOTEBOOK = ROOT / "source" / ex05.ID / f"{ex05.ID}.ipynb"
START, DURATION = ex05.BROWNOUT[2], ex05.BROWNOUT[3]
CONNECTIONS = ex05.SCENARIO.config.gateway_concurrency
#: Prompt 4's starting point, kept by the prompts after it.
NO_BREAKERS = dict(gateway_breaker=False, fraud_breaker=False, gateway_max_attempts=1, fraud_max_attempts=1,
                   idempotency_keys=True)
TUNED = dict(gateway_timeout_s=2.0, fraud_timeout_s=2.5)


@pytest.fixture
def explorer(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    return ex05.explorer()


def during(explorer) -> float:
    """The share of the brownout's payments the network approved (the green line inside the shading)."""
    return ex05.business_figures(explorer.last_result)["fault_success_pct"] / 100


def test_globalpay_today(explorer):
    s = explorer.last_result.summary
    states = explorer.last_result.breaker_states.query("breaker == 'gateway'")
    opened = states["time_s"].iloc[0]
    assert list(states["to_state"]) == ["OPEN"] and START < opened < START + 5      # opens early, never closes
    assert opened + explorer.last_result.config.breaker_wait_duration_in_open_state_s > ex05.PEAK_S
    ts = explorer.last_result.timeseries
    after = ts[(ts["time_s"] >= START + DURATION) & (ts["time_s"] < ex05.PEAK_S)]
    assert (after["success_rate"] == 0).all() and (after["gateway_breaker"] == "OPEN").all()
    assert s["success_rate"] < 0.35 and "had not recovered" in explorer.summary.value


def test_a_retry_storm(explorer):
    storm = observe(explorer, gateway_breaker=False, fraud_breaker=False)
    ts = explorer.last_result.timeseries
    inside = ts[(ts["time_s"] >= START) & (ts["time_s"] < START + DURATION)]
    assert (inside["gateway_calls"] > 3 * inside["payments"]).mean() > 0.8     # calls far above the payments
    assert storm["gateway_amplification"] > 10
    first = during(explorer)
    ours = observe(explorer, gateway_max_attempts=1)
    second = during(explorer)
    merchants = observe(explorer, fraud_max_attempts=1)
    # Each of our layers' retries multiplied; what remains are the merchants' three attempts.
    assert storm["gateway_amplification"] > 2 * ours["gateway_amplification"]
    assert ours["gateway_amplification"] > 2 * merchants["gateway_amplification"]
    assert 1.5 < merchants["gateway_amplification"] < ex05.SCENARIO.config.api_max_attempts
    assert max(first, second, during(explorer)) < 0.3                          # and success hardly changes


def test_double_charges(explorer):
    normal = observe(explorer, gateway_breaker=False, fraud_breaker=False, gateway_max_attempts=1,
                     fraud_max_attempts=1, fault_kind="none")
    assert normal["success_rate"] > 0.99 and normal["double_charges"] > 0          # on a normal day
    # The 1 s timeout gives up on the slowest calls, which still charge; the merchant's retry charges again.
    charged = explorer.last_result.requests.query("charges > 1")
    assert (charged["attempts"] > 1).all()
    keyed = observe(explorer, idempotency_keys=True)
    assert keyed["double_charges"] == 0 and keyed["success_rate"] == normal["success_rate"]


def test_timeouts_in_a_brownout(explorer):
    success, p99 = [], []
    for timeout in (1.0, 1.5, 2.0, 2.5):
        s = observe(explorer, **NO_BREAKERS, gateway_timeout_s=timeout)
        success.append(during(explorer))
        p99.append(s["latency_p99_s"])
    assert success[0] < 0.2 < success[1] < 0.6 < success[2] and success[2] == success[3]   # 2.5 s changes nothing
    assert explorer.last_result.config.fraud_timeout_s < 2.5                  # the fraud check gave up first
    longer = observe(explorer, fraud_timeout_s=3.0)
    assert longer["success_rate"] > 0.99 and longer["latency_p99_s"] > ex05.SLA_S
    assert explorer.last_result.summary["queue_full_rejections"] == 0 and explorer.last_result.timeseries[
        "gateway_queued"].max() > 0                                             # a queue in front of the network


def test_a_bulkhead(explorer):
    observe(explorer, **NO_BREAKERS, **TUNED)
    unbounded, without = explorer.last_result.summary, during(explorer)
    queue = explorer.last_result.timeseries["gateway_queued"].max()
    bulkhead = observe(explorer, gateway_bulkhead_max_concurrent_calls=CONNECTIONS)
    with_bulkhead = during(explorer)
    assert bulkhead["latency_p99_s"] < ex05.SLA_S < unbounded["latency_p99_s"]
    assert with_bulkhead > without + 0.05 and bulkhead["bulkhead_rejections"] > 0
    # Hardly a queue in front of the network: only the calls it still works on after their timeout.
    assert explorer.last_result.timeseries["gateway_queued"].max() < queue / 3
    half = observe(explorer, gateway_bulkhead_max_concurrent_calls=CONNECTIONS // 2)
    assert during(explorer) < 0.6 and half["success_rate"] < bulkhead["success_rate"]
    explorer.set(gateway_bulkhead_max_concurrent_calls=0, api_shed_in_flight_limit=60)
    shed = explorer.last_result.summary
    assert explorer.last_result.config.gateway_bulkhead_max_concurrent_calls is None
    assert shed["load_shed"] > 0 and shed["latency_p99_s"] < ex05.SLA_S and during(explorer) > 0.9


def test_breakers_that_tell_a_brownout_from_an_outage(explorer):
    observe(explorer, **NO_BREAKERS, **TUNED, gateway_bulkhead_max_concurrent_calls=CONNECTIONS)
    defaults = observe(explorer, gateway_breaker=True, fraud_breaker=True)
    assert defaults["gateway_breaker_opened"] >= 1 and defaults["success_rate"] < 0.35
    # What opened it: refused bulkhead calls and timeouts, counted as failures.
    assert defaults["bulkhead_rejections"] > 0
    tuned = observe(explorer, breaker_failure_rate_threshold_pct=90.0, breaker_wait_duration_in_open_state_s=5.0)
    assert tuned["gateway_breaker_opened"] == 0 and during(explorer) > 0.9
    outage = observe(explorer, fault_kind="outage")
    assert outage["gateway_breaker_opened"] >= 1 and outage["time_to_recover_s"] <= 2
    ts = explorer.last_result.timeseries
    inside = ts[(ts["time_s"] >= START + 2) & (ts["time_s"] < START + DURATION)]
    assert inside["gateway_calls"].mean() < 0.1 * inside["payments"].mean()       # calls to the network stop


def test_stand_in_approvals(explorer):
    observe(explorer, **{**NO_BREAKERS, **TUNED, "gateway_bulkhead_max_concurrent_calls": CONNECTIONS,
                         "gateway_breaker": True, "fraud_breaker": True, "breaker_failure_rate_threshold_pct": 90.0,
                         "breaker_wait_duration_in_open_state_s": 5.0, "fault_kind": "outage"})
    refused = explorer.last_result.summary
    stand_in = observe(explorer, gateway_fallback="degraded")
    assert stand_in["availability"] > 0.99 and stand_in["revenue_lost_usd"] < 0.01 * refused["revenue_lost_usd"]
    approved_without = (stand_in["availability"] - stand_in["success_rate"]) * stand_in["payments"]
    assert approved_without == pytest.approx(stand_in["payments_degraded"])
    cost = approved_without * ex05.PAYMENT_USD * ex05.STAND_IN_LOSS_RATE
    assert cost > 10 * ex05.STAND_IN_LOSS_LIMIT_USD


PROMPT_TESTS = {
    "GlobalPay today": test_globalpay_today,
    "A retry storm": test_a_retry_storm,
    "Double charges": test_double_charges,
    "Timeouts in a brownout": test_timeouts_in_a_brownout,
    "A bulkhead": test_a_bulkhead,
    "Breakers that tell a brownout from an outage": test_breakers_that_tell_a_brownout_from_an_outage,
    "Stand-in approvals": test_stand_in_approvals,
}


def test_every_prompt_has_a_test():
    assert prompt_titles(NOTEBOOK) == list(PROMPT_TESTS)
