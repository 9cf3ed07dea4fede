"""The game-day explorer: its fault controls build the config's fault, and the chart shows what the run did."""

from __future__ import annotations

import numpy as np
import pytest

from messagelab.resilience import ResilienceConfig
from messagelab.resilience.explorer import MAGNITUDES, NO_FAULT, STATE_LEVELS, ResilienceExplorer, fault_of

OUTAGE = ResilienceConfig(arrival_rate_per_s=50.0, duration_s=60.0, faults=(("outage", "gateway", 20.0, 15.0, 1.0),))


@pytest.fixture
def explorer(monkeypatch) -> ResilienceExplorer:
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    return ResilienceExplorer(OUTAGE)


def test_it_starts_on_the_base_configs_fault_and_a_slider_first(explorer):
    assert fault_of(OUTAGE) == ("outage", "gateway", 20.0, 15.0, 1.0)
    assert explorer.last_result.config.faults == OUTAGE.faults
    assert type(next(iter(explorer.controls.values()))).__name__ == "FloatSlider"
    assert all(not getattr(c, "continuous_update", False) for c in explorer.controls.values())
    # Without a fault of its own, the base starts at a gateway brownout.
    assert fault_of(ResilienceConfig())[:2] == ("brownout", "gateway")


def test_the_fault_window_is_shaded_where_the_fault_is(explorer):
    shade = explorer.figure.data[0]
    assert min(shade.x) == 20.0 and max(shade.x) == 35.0
    explorer.set(fault_start_s=30.0, fault_duration_s=5.0)
    assert explorer.last_result.config.faults == (("outage", "gateway", 30.0, 5.0, 1.0),)
    assert min(explorer.figure.data[0].x) == 30.0 and max(explorer.figure.data[0].x) == 35.0
    explorer.set(fault_kind=NO_FAULT)
    assert explorer.last_result.config.faults == () and len(explorer.figure.data[0].x) == 0
    assert "With no fault" in explorer.summary.value


def test_a_new_kind_of_fault_brings_its_own_scale_in_one_run(explorer):
    runs = []
    original = explorer.compute
    explorer.compute = lambda values: runs.append(values) or original(values)
    explorer.controls["fault_kind"].value = "errors"   # as a student picks it in the list
    value, low, high, _ = MAGNITUDES["errors"]
    magnitude = explorer.controls["fault_magnitude"]
    assert (magnitude.value, magnitude.min, magnitude.max) == (value, low, high)
    assert len(runs) == 1 and explorer.last_result.config.faults[0][4] == value


def test_an_open_breaker_shows_as_its_state_and_as_no_gateway_calls(explorer):
    ts = explorer.last_result.timeseries
    gateway = np.asarray(explorer.figure.data[3].y)
    assert set(gateway) <= set(STATE_LEVELS.values())
    opened = ts["gateway_breaker"] == "OPEN"
    assert opened.any() and (gateway[opened.to_numpy()] == STATE_LEVELS["OPEN"]).all()
    # While the breaker is open no call reaches the gateway: the chart's gateway line is at zero there.
    calls = np.asarray(explorer.figure.data[7].y)
    assert (calls[opened.to_numpy()] == 0).all()


def test_a_shorter_wait_in_the_open_state_recovers_sooner(explorer):
    explorer.set(breaker_wait_duration_in_open_state_s=60.0)
    slow = explorer.last_result.summary
    explorer.set(breaker_wait_duration_in_open_state_s=5.0)
    fast = explorer.last_result.summary
    assert fast["success_rate"] > slow["success_rate"] and fast["revenue_lost_usd"] < slow["revenue_lost_usd"]
    assert "recovered" in explorer.summary.value


def test_without_a_breaker_the_retries_multiply_at_the_gateway(explorer):
    explorer.set(gateway_breaker=False, fraud_breaker=False)
    storm = explorer.last_result.summary
    assert storm["gateway_amplification"] > 1.5 and storm["calls_not_permitted"] == 0
    # Up to 3 tries at each of the three layers while the gateway is out: 27 calls for one payment.
    assert explorer.last_result.requests["gateway_calls"].max() == 3 ** 3
    assert "calls to the gateway on average" in explorer.summary.value


def test_the_summary_says_what_the_business_saw(explorer):
    text = explorer.summary.value
    for words in ("payments succeeded", "revenue lost", "double charges", "SLA breaches",
                  "times the gateway breaker opened"):
        assert words in text


def test_nothing_is_built_while_nbgrader_grades(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert ResilienceExplorer(OUTAGE).controls == {}


def test_choosing_the_base_fault_again_brings_back_its_magnitude(explorer):
    base = ResilienceExplorer(OUTAGE.replace(faults=(("brownout", "gateway", 20.0, 15.0, 20.0),)))
    base.set(fault_kind="errors")
    assert base.controls["fault_magnitude"].value == MAGNITUDES["errors"][0]
    base.set(fault_kind="brownout")
    assert base.last_result.config.faults == (("brownout", "gateway", 20.0, 15.0, 20.0),)


def test_a_second_fault_on_the_timeline(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert not any(name.startswith("second_") for name in ResilienceExplorer(OUTAGE).controls)
    explorer = ResilienceExplorer(OUTAGE, second_fault=True)
    # It starts with none: the same run as without the second fault's controls.
    assert explorer.controls["second_fault_kind"].value == NO_FAULT
    assert explorer.last_result.config.faults == OUTAGE.faults
    explorer.set(second_fault_kind="errors", second_fault_start_s=45.0, second_fault_duration_s=5.0)
    assert explorer.controls["second_fault_magnitude"].value == MAGNITUDES["errors"][0]
    assert explorer.last_result.config.faults == (OUTAGE.faults[0], ("errors", "gateway", 45.0, 5.0, 0.5))
    shade = list(explorer.figure.data[0].x)
    assert shade.count(None) == 1 and min(x for x in shade if x is not None) == 20.0 and max(
        x for x in shade if x is not None) == 50.0
    assert "then the gateway 50% of its answers failing from 45 s for 5 s" in explorer.summary.value
    assert "after the last fault ended" in explorer.summary.value or "had not recovered" in explorer.summary.value
    # A base with two faults starts on both.
    both = ResilienceExplorer(explorer.last_result.config, second_fault=True)
    assert both.last_result.config.faults == explorer.last_result.config.faults
