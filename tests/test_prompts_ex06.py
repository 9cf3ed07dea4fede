"""Exercise 06's explore prompts: each asks for an observation the global explorer shows.

One test per numbered prompt of the notebook's "Try these" cells (the messages explorer's, then
the likes explorer's) drives the explorer as the prompt says and checks the observation a
student should make. A prompt without a test, or a test without a prompt, fails
``test_every_prompt_has_a_test``.
"""

from __future__ import annotations

import pytest
from nbchecks import ROOT, observe, prompt_titles

from messagelab.assignments import ex06
from messagelab.multiregion.explorer import paths
from messagelab.multiregion.regions import REGIONS

NOTEBOOK = ROOT / "source" / ex06.ID / f"{ex06.ID}.ipynb"
ALL = ex06.REGION_CODES
TODAY = ("us-east-1", "eu-west-1", "ap-northeast-1")


@pytest.fixture(scope="module")
def messages():
    return ex06.explorer("messages")


@pytest.fixture(scope="module")
def likes():
    return ex06.explorer("likes")


def p99(explorer, region: str) -> float:
    t = explorer.last_result.regions.set_index("region")
    return float(t.loc[region, "write_p99_ms"])


def red(explorer) -> set[tuple[str, str, str]]:
    c = explorer.last_result.config
    return {(kind, a, b) for kind, a, b, ok in paths(c, c.datasets[0]) if not ok}


def test_todays_design(messages):
    s = observe(messages)
    # EU users' messages are routed to Virginia and copied from there: four transfers out of the EEA.
    assert red(messages) == {("route", "eu-west-1", "us-east-1"), ("route", "eu-central-1", "us-east-1"),
                             ("copy", "us-east-1", "eu-west-1"), ("copy", "us-east-1", "ap-northeast-1")}
    # Sydney's users wait longest: their round trip to Virginia, above the target.
    t = messages.last_result.regions
    assert t.loc[t["write_p99_ms"].idxmax(), "region"] == "ap-southeast-2"
    assert p99(messages, "ap-southeast-2") > ex06.LATENCY_TARGET_MS
    # Refused for the detection and the promotion, and some messages told as sent are lost.
    tl = messages.last_result.timeline
    assert s["rto_s"] == pytest.approx(tl.promoted_s - tl.failed_s, abs=0.5) and s["rpo_writes"] > 0


def test_a_certificate(messages):
    assert observe(messages, dpf_certified=True)["residency_violations"] == 0
    # Sydney has no adequacy decision: a copy there is a transfer, certificate or not.
    observe(messages, replicas=("us-east-1", "eu-west-1", "ap-southeast-2"))
    assert red(messages) == {("copy", "us-east-1", "ap-southeast-2")}
    assert REGIONS["ap-northeast-1"].adequacy == "yes"
    observe(messages, replicas=TODAY, dpf_certified=False)
    assert len(red(messages)) == 4


def test_each_users_messages_at_home(messages):
    s = observe(messages, topology="geo_partitioned", copies=2)
    assert red(messages) == set() and s["residency_violations"] == 0
    eu = messages.last_result.copies.merge(messages.last_result.writes[["write_id", "user_region"]], on="write_id")
    assert set(eu.loc[eu["user_region"].isin(["eu-west-1", "eu-central-1"]), "replica"]) == {"eu-west-1",
                                                                                             "eu-central-1"}
    # Written where the users are: a local commit everywhere Virginia's failure does not reroute.
    assert s["write_latency_p50_ms"] < 5
    assert all(p99(messages, r) < 10 for r in ALL if r != "us-east-1")


def test_acknowledged_once_copied(messages):
    congested = observe(messages, replication_delay_ms=2000.0)
    assert congested["rpo_writes"] > 0 and congested["rpo_s"] > 1
    quorum = observe(messages, mode="quorum", quorum=1)
    assert quorum["rpo_writes"] == 0
    # Europe pays the 20 ms to its other copy, São Paulo the trip to Virginia's.
    assert 20 < p99(messages, "eu-west-1") < 40 and p99(messages, "sa-east-1") > 100
    # With two copies, one of them down, no write can be acknowledged until Virginia is back.
    tl = messages.last_result.timeline
    assert quorum["rto_s"] == pytest.approx(tl.back_s - tl.failed_s, abs=1)


def test_a_third_copy(messages):
    two = messages.last_result.summary
    three = observe(messages, copies=3)
    tl = messages.last_result.timeline
    assert three["rpo_writes"] == 0 and three["rto_s"] == pytest.approx(tl.promoted_s - tl.failed_s, abs=1)
    assert three["rto_s"] < two["rto_s"] / 2
    assert three["monthly_transfer_usd"] > two["monthly_transfer_usd"]
    assert p99(messages, "sa-east-1") > 200  # while Virginia is down, São Paulo's nearest other copy is Ireland


def test_one_counter_in_virginia(likes):
    s = observe(likes)
    assert s["conflicts"] == 0 and p99(likes, "ap-southeast-2") > ex06.LATENCY_TARGET_MS
    assert set(likes.last_result.writes["coordinator"]) <= {"us-east-1", "eu-west-1"}  # Ireland once promoted


def test_counting_everywhere(likes):
    s = observe(likes, topology="active_active", replicas=ALL)
    assert s["conflicts"] > 100 and s["lost_updates"] > 100
    assert all(p99(likes, r) < 10 for r in ALL if r != "us-east-1")


def test_a_counter_that_merges(likes):
    lww = likes.last_result.summary
    crdt = observe(likes, conflict="crdt")
    assert crdt["conflicts"] == lww["conflicts"] and crdt["lost_updates"] == 0


def test_copies_where_they_are_read(likes):
    six = likes.last_result.summary
    three = observe(likes, replicas=TODAY)
    assert three["monthly_transfer_usd"] < six["monthly_transfer_usd"] / 2
    assert p99(likes, "ap-southeast-2") > 100 and p99(likes, "sa-east-1") > 100


PROMPT_TESTS = {
    "Today's design": test_todays_design,
    "A certificate": test_a_certificate,
    "Each user's messages at home": test_each_users_messages_at_home,
    "Acknowledged once copied": test_acknowledged_once_copied,
    "A third copy": test_a_third_copy,
    "One counter in Virginia": test_one_counter_in_virginia,
    "Counting everywhere": test_counting_everywhere,
    "A counter that merges": test_a_counter_that_merges,
    "Copies where they are read": test_copies_where_they_are_read,
}


def test_every_prompt_has_a_test():
    assert prompt_titles(NOTEBOOK) == list(PROMPT_TESTS)
