"""Exercise 04's explore prompts: each asks for an observation the timeline or the snapshot explorer shows.

One test per numbered prompt of the notebook's "Try these" cells drives the explorer as the
prompt says and checks the observation a student should make. A prompt without a test, or a
test without a prompt, fails ``test_every_prompt_has_a_test``.
"""

from __future__ import annotations

import pytest
from nbchecks import ROOT, prompt_titles

from messagelab.assignments import ex04
from messagelab.eventstore.explorer import SnapshotExplorer, TimelineExplorer, largest_interval_within

NOTEBOOK = ROOT / "source" / ex04.ID / f"{ex04.ID}.ipynb"


@pytest.fixture(scope="module")
def timeline() -> TimelineExplorer:
    app, account_id, _said = ex04.trading_day()
    return TimelineExplorer(app, account_id, version=1)


@pytest.fixture(scope="module")
def snapshots() -> SnapshotExplorer:
    return SnapshotExplorer(events=2_000_000, budget_ms=ex04.LOAD_BUDGET_MS)


def at_version(explorer: TimelineExplorer, version: int):
    explorer.set(version=version)
    assert explorer.last_result.version == version
    return explorer.last_result


# --- the timeline -------------------------------------------------------------------------------
def test_opening(timeline):
    r = at_version(timeline, 1)
    assert r.name == "AccountOpened" and r.state["cash"] == r.attributes["cash"] == 30_000
    # The reservation starts at zero in the event's method; the event does not carry it.
    assert r.state["reserved"] == 0 and "reserved" not in r.attributes
    assert "AccountOpened" in timeline.summary.value


def test_a_buy_order(timeline):
    before, r = at_version(timeline, 1).state, at_version(timeline, 2)
    assert r.name == "CashReserved" and r.attributes == {"amount": 100 * 160}
    assert r.state["reserved"] == 16_000 and r.state["cash"] == before["cash"]


def test_a_partial_fill(timeline):
    before, r = at_version(timeline, 2).state, at_version(timeline, 3)
    assert r.name == "CashSpent"
    released, paid = before["reserved"] - r.state["reserved"], before["cash"] - r.state["cash"]
    assert (released, paid) == (60 * 160, 60 * 158) and released > paid   # reserved at the limit, paid the price
    assert r.state["reserved"] == 40 * 160                                 # the rest stays held for the open 40


def test_the_refused_order(timeline):
    app, account_id, said = ex04.trading_day()
    when = ex04.at(ex04.DISPUTE)
    current = app.version_at(account_id, when)
    r = at_version(timeline, current)
    assert r.timestamp < when < at_version(timeline, current + 1).timestamp
    assert said[ex04.DISPUTE].startswith("refused")
    # Nothing in the account's events tells of the refusal.
    assert not any(e.timestamp == when for e in timeline.events)


def test_the_cancellation(timeline):
    zero = next(v for v in range(2, timeline.latest + 1) if at_version(timeline, v).state["reserved"] == 0)
    r = at_version(timeline, zero)
    assert r.name == "CashReleased" and r.timestamp.strftime("%H:%M:%S") == "11:20:00"
    assert dict((w, c) for w, c, _ in ex04.DAY_SCRIPT)["11:20:00"] == "cancel"


# --- snapshots ----------------------------------------------------------------------------------
def test_full_replay(snapshots):
    snapshots.set(interval=snapshots.controls["interval"].options[-1][1], events=2_000_000)
    year = snapshots.last_result
    assert year.full_ms > 100 * ex04.LOAD_BUDGET_MS
    snapshots.set(events=5_000_000)
    # Linear: the replay grows with the stream (2.5 × the events, about 2.5 × the time).
    assert snapshots.last_result.full_ms / year.full_ms == pytest.approx(2.5, rel=0.02)


def test_a_snapshot_every_1000_events(snapshots):
    snapshots.set(interval=1_000, events=2_000_000)
    worst = snapshots.last_result.snapshot_ms
    assert worst < snapshots.last_result.full_ms / 100
    snapshots.set(events=5_000_000)
    assert snapshots.last_result.snapshot_ms == pytest.approx(worst)


def test_the_price(snapshots):
    snapshots.set(interval=1_000, events=2_000_000)
    every_thousand = snapshots.last_result
    snapshots.set(interval=10)
    assert snapshots.last_result.snapshots == 100 * every_thousand.snapshots
    assert snapshots.last_result.snapshot_kb == pytest.approx(100 * every_thousand.snapshot_kb, rel=0.01)


def test_the_budget(snapshots):
    snapshots.set(budget_ms=5, interval=1_000, events=2_000_000)
    r = snapshots.last_result
    assert r.largest_interval is not None and r.largest_interval < 1_000
    assert r.snapshot_read_ms + r.per_event_ms * r.largest_interval <= 5
    assert largest_interval_within(r.snapshot_read_ms * 0.9, r.fixed_ms, r.per_event_ms, r.snapshot_read_ms) is None


PROMPT_TESTS = {
    "Opening": test_opening,
    "A buy order": test_a_buy_order,
    "A partial fill": test_a_partial_fill,
    "The refused order": test_the_refused_order,
    "The cancellation": test_the_cancellation,
    "Full replay": test_full_replay,
    "A snapshot every 1,000 events": test_a_snapshot_every_1000_events,
    "The price": test_the_price,
    "The budget": test_the_budget,
}


def test_every_prompt_has_a_test():
    assert prompt_titles(NOTEBOOK) == list(PROMPT_TESTS)
