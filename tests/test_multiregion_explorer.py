"""The global explorer: its controls design one dataset, and the map, charts and timeline show the run."""

from __future__ import annotations

import math

import numpy as np
import pytest

from messagelab.multiregion import Dataset, MultiRegionConfig
from messagelab.multiregion.explorer import NO_FAILURE, GlobalExplorer, paths
from messagelab.multiregion.regions import REGIONS

R = ("us-east-1", "eu-west-1", "eu-central-1", "ap-northeast-1", "sa-east-1")
BASE = MultiRegionConfig(
    regions=R, user_shares=(0.3, 0.2, 0.15, 0.2, 0.15), writes_per_s=30, duration_s=120, failed_region="us-east-1",
    failure_at_s=40, failure_duration_s=40, promotion_s=10, dns_ttl_s=20,
    datasets=(Dataset(name="messages", data_class="personal", topology="active_passive", primary="us-east-1",
                      replicas=("us-east-1", "eu-west-1"), write_share=0.4),
              Dataset(name="likes", kind="counter", replicas=R, write_share=0.6)))


@pytest.fixture
def explorer(monkeypatch) -> GlobalExplorer:
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    return GlobalExplorer(BASE, "messages", latency_target_ms=200)


def test_it_starts_on_the_base_design_with_a_slider_first(explorer):
    # The chosen dataset alone, with its share of the writes: every figure is its users'.
    c = explorer.last_result.config
    assert c.datasets == (Dataset(**{**BASE.dataset("messages").__dict__, "write_share": 1.0}),)
    assert c.writes_per_s == BASE.writes_per_s * 0.4 and c.replace(datasets=BASE.datasets, writes_per_s=30) == BASE
    assert type(next(iter(explorer.controls.values()))).__name__ == "FloatSlider"
    with pytest.raises(KeyError):
        GlobalExplorer(BASE, "feeds")


def test_paths_out_of_the_eea_are_red_and_the_rest_green(explorer):
    d = BASE.dataset("messages")
    found = paths(BASE, d)
    # EEA users' writes are routed to Virginia and copied to Ireland from there: both leave or cross the EEA.
    assert ("route", "eu-central-1", "us-east-1", False) in found
    assert ("copy", "us-east-1", "eu-west-1", True) in found
    red = [x for x in explorer.figure.data[1].lon if x is not None]
    assert REGIONS["us-east-1"].lon in red and REGIONS["eu-central-1"].lon in red
    assert "move EEA personal data out of the EEA" in explorer.summary.value
    # Geo-partitioned with two copies, EU messages stay in Ireland and Frankfurt: no red path left.
    explorer.set(topology="geo_partitioned", copies=2)
    assert all(x is None for x in explorer.figure.data[1].lon) or len(explorer.figure.data[1].lon) == 0
    assert explorer.last_result.summary["residency_violations"] == 0
    explorer.set(topology="active_passive", dpf_certified=True)
    assert explorer.last_result.summary["residency_violations"] == 0


def test_the_cost_chart_bills_each_sending_region(explorer):
    bars = np.asarray(explorer.figure.data[10].y, dtype=float)
    assert list(explorer.figure.data[10].x) == list(R)
    assert bars.sum() == pytest.approx(explorer.last_result.summary["monthly_transfer_usd"])
    # Everything is written in Virginia and sent from there, but for the failover, when Ireland writes.
    assert bars[0] > bars[1] > 0 and bars[2:].sum() == 0


def test_the_first_slider_changes_the_charts(explorer):
    before = np.asarray(explorer.figure.data[6].y, dtype=float)
    explorer.set(replication_delay_ms=2000.0)
    after = np.asarray(explorer.figure.data[6].y, dtype=float)
    assert (after[np.isfinite(after)] > before[np.isfinite(before)]).any()
    assert explorer.last_result.config.replication_delay_ms == 2000.0


def test_the_failover_timeline_marks_each_step(explorer):
    tl = explorer.last_result.timeline
    marks = [x for x in explorer.figure.data[8].x if x is not None]
    assert marks[::2] == [tl.failed_s, tl.detected_s, tl.promoted_s, tl.failed_back_s]
    assert list(explorer.figure.data[9].text) == ["failed", "detected", "promoted", "failed back"]
    assert list(explorer.figure.data[9].x) == marks[::2]
    # The map needs no base layer from plotly's CDN: an offline hub still draws it.
    geo = explorer.figure.layout.geo
    assert not any(getattr(geo, f"show{layer}") for layer in ("coastlines", "land", "countries", "ocean", "lakes",
                                                                "rivers", "subunits"))
    accepted = np.asarray(explorer.figure.data[7].y)
    assert accepted.min() < 1 and "(RPO)" in explorer.summary.value
    explorer.set(failed_region=NO_FAILURE)
    assert len(explorer.figure.data[8].x) == len(explorer.figure.data[9].x) == 0
    assert math.isnan(explorer.last_result.summary["rto_s"])
    assert "(RPO)" not in explorer.summary.value


def test_the_controls_design_the_chosen_dataset_and_a_bad_setting_says_why(explorer):
    explorer.set(mode="quorum", quorum=1)
    c = explorer.last_result.config
    assert c.dataset("messages").mode == "quorum" and [d.name for d in c.datasets] == ["messages"]
    explorer.set(primary="ap-northeast-1")  # not among the replicas
    assert "Not a valid setting" in explorer.summary.value and "primary" in explorer.summary.value
