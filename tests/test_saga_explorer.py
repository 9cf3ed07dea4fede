"""The saga explorer: its controls reach the model, its figure and sentence show the run."""

from __future__ import annotations

import numpy as np
import pytest

from messagelab.assignments import ex02
from messagelab.microservices.explorer import HARMS, SCHEMAS, SagaExplorer, step_label, summary_frame
from messagelab.microservices.saga import OUTCOMES, STEP_NAMES, coupling_matrix


@pytest.fixture
def explorer() -> SagaExplorer:
    return SagaExplorer(ex02.SCENARIO.config, consistency_target_s=ex02.CONSISTENCY_TARGET_S)


def test_the_first_control_is_a_slider_that_moves_the_chart(explorer):
    """The browser test moves the first slider: it must change the run at the defaults."""
    name, first = next(iter(explorer.controls.items()))
    assert hasattr(first, "continuous_update") and first.continuous_update is False
    before = [tuple(trace.y) for trace in explorer.figure.data[:4]]
    explorer.controls[name].value = first.value + first.step
    assert [tuple(trace.y) for trace in explorer.figure.data[:4]] != before


def test_the_figure_shows_what_the_result_says(explorer):
    explorer.set(compensated=STEP_NAMES, publishing="outbox", consumer="idempotent", coordination="orchestration")
    r, f = explorer.last_result, explorer.figure.data
    assert list(f[0].y) == [r.summary[k] for k in ("completed", "compensated", "half_done", "in_progress")]
    assert list(f[3].y) == [r.summary[k] for k in HARMS]
    assert np.array_equal(np.asarray(f[4].z), coupling_matrix(r.config).to_numpy().astype(int))
    agreed = f[1].y
    assert agreed[-1] == pytest.approx(r.orders["consistent_s"].notna().mean())  # a share of all orders
    assert list(explorer.figure.layout.xaxis.ticktext) == list(OUTCOMES)


def test_controls_map_onto_the_config(explorer):
    explorer.set(steps=["reserve-stock", "schedule-shipment", "charge-payment"], compensated=["reserve-stock"],
                 schema="v2 breaking, Inventory lags")
    c = explorer.last_result.config
    assert c.steps == ("reserve-stock", "schedule-shipment", "charge-payment") and c.compensated == ("reserve-stock",)
    assert (c.schema_version, c.schema_change, c.lagging_consumer) == SCHEMAS["v2 breaking, Inventory lags"]
    assert explorer.controls["steps"].label == "reserve → ship → charge" == step_label(c.steps)


def test_the_sentence_names_half_done_reasons_and_the_table_has_units(explorer):
    assert "left half-done (" in explorer.summary.value and "stalled" in explorer.summary.value
    table = summary_frame(explorer.last_result)
    assert table.loc["every service agrees, p50 / p95 / p99", "value"].endswith(" s")


def test_an_invalid_setting_shows_the_config_error(explorer):
    result = explorer.last_result
    explorer.controls["crash_probability"].max = 0.9
    explorer.set(crash_probability=0.9)
    assert "Not a valid setting" in explorer.summary.value and "crash_probability" in explorer.summary.value
    assert explorer.last_result is result
