"""Lab 3's explore prompts: each asks for an observation the timeline, the two writers' table or the
snapshot explorer shows.

One test per numbered prompt of each "Try these" cell moves the explorer as the prompt says and
checks the observation a student should make. A prompt without a test, or a test without a
prompt, fails ``test_every_prompt_has_a_test``. The explorers are moved with their own ``set``
(``nbchecks.observe`` reads a simulation's config, which these explorers of a real store do not
have); what the student reads is the explorer's ``last_result`` and its summary.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta

import pytest
from nbchecks import ROOT, prompt_titles

from messagelab.assignments import lab3
from messagelab.eventstore.explorer import INTERVALS, SnapshotExplorer, TimelineExplorer

NOTEBOOK = ROOT / "source" / lab3.ID / f"{lab3.ID}.ipynb"
SEAT = lab3.DISPUTED_SEAT


@pytest.fixture(autouse=True)
def drawn(monkeypatch):
    """A student's run: the explorers draw (no grader)."""
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)


def look(explorer, **controls):
    """Move ``controls`` as a student would; what the explorer then shows."""
    explorer.set(**controls)
    assert "Not a valid setting" not in explorer.summary.value, explorer.summary.value
    return explorer.last_result


def shown(explorer) -> str:
    """The explorer's summary as the student reads it (its HTML's text, entities decoded)."""
    return html.unescape(explorer.summary.value)


# --- the timeline ----------------------------------------------------------------------------------
@pytest.fixture
def timeline() -> TimelineExplorer:
    return TimelineExplorer(*lab3.studio_on_sale(), version=1)   # as the notebook makes it


def a12_reservations(timeline):
    return [e for e in timeline.events if type(e).__name__ == "SeatReserved" and e.seat == SEAT]


def test_the_first_event(timeline):
    r = timeline.last_result
    assert r.version == 1 and timeline.controls["version"].min == 1   # where the slider starts
    assert "TimelineExplorer(studio, studio_id, version=1)" in NOTEBOOK.read_text()
    assert r.name == "ConcertScheduled" and r.attributes["sections"] == lab3.STUDIO_SECTIONS
    assert r.state["sections"] == lab3.STUDIO_SECTIONS and r.state["holders"] == {}
    assert "ConcertScheduled" in shown(timeline) and "Replaying it gives" in shown(timeline)


def test_seat_a12(timeline):
    final = look(timeline, version=timeline.latest).state["holders"][SEAT]
    last = a12_reservations(timeline)[-1]
    r = look(timeline, version=last.originator_version)
    assert r.name == "SeatReserved" and r.attributes == {"seat": SEAT, "fan": final} == {"seat": SEAT,
                                                                                         "fan": "omar@example.org"}
    assert r.timestamp == lab3.OPENED + timedelta(seconds=641)
    # Every version after it still gives the seat to the same fan: it was the reservation for good.
    for v in range(r.version, timeline.latest + 1):
        assert look(timeline, version=v).state["holders"][SEAT] == final


def test_one_minute_earlier(timeline):
    sold = a12_reservations(timeline)[-1]
    earlier: datetime = sold.timestamp - timedelta(minutes=1)
    before = max(e.originator_version for e in timeline.events if e.timestamp <= earlier)
    r = look(timeline, version=before)
    assert r.state["holders"][SEAT] == "lena@example.org"
    # True when it was stored: Lena's reservation was the seat's last event by then, within her hold.
    first = a12_reservations(timeline)[0]
    assert first.fan == "lena@example.org" and first.originator_version <= before
    assert earlier - first.timestamp < timedelta(minutes=lab3.SCENARIO.hold_min)


def test_the_release(timeline):
    released = [e for e in timeline.events if type(e).__name__ == "SeatReleased" and e.seat == SEAT]
    assert len(released) == 1
    r = look(timeline, version=released[0].originator_version)
    assert r.name == "SeatReleased" and r.attributes == {"seat": SEAT, "fan": "lena@example.org"}
    assert SEAT not in r.state["holders"]
    held_for = r.timestamp - a12_reservations(timeline)[0].timestamp
    assert held_for == timedelta(minutes=lab3.SCENARIO.hold_min)     # the hold ran out, unpaid
    assert f"{lab3.SCENARIO.hold_min:g} minutes" in lab3.scenario_frame().data.to_string()


# --- the two writers ---------------------------------------------------------------------------------
def said(rows):
    return [r["what the store or the concert said"] for r in rows]


def test_another_seat():
    rows = lab3.two_writers("A6")
    assert "A6" in rows[2]["did"] and "A5" in rows[1]["did"]        # different seats
    assert "IntegrityError" in said(rows)[2] and rows[2]["version stored"] == rows[1]["version stored"]
    assert rows[3]["did"].startswith("retrying: reload") and said(rows)[3] == "stored as version 4"
    assert rows[-1]["version stored"] - rows[0]["version stored"] == 2


def test_the_same_seat():
    rows = lab3.two_writers("A5")
    assert "IntegrityError" in said(rows)[2]       # its copy still had A5 free: only the version check stopped it
    assert "SeatUnavailable" in said(rows)[3] and "kofi@example.org" in said(rows)[3]
    assert rows[-1]["version stored"] == rows[1]["version stored"] == 3      # nothing of writer 2's stored
    table = lab3.two_writers_table().data
    assert list(table.index.get_level_values("case").unique()) == ["another seat (A6)", "the same seat (A5)"]


# --- the snapshots -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def snapshots() -> SnapshotExplorer:
    with pytest.MonkeyPatch.context() as m:
        m.delenv("NBGRADER_EXECUTION", raising=False)
        return SnapshotExplorer(events=lab3.EXPLORER_EVENTS, budget_ms=lab3.SCENARIO.load_budget_ms)


START = dict(events=lab3.EXPLORER_EVENTS, budget_ms=lab3.SCENARIO.load_budget_ms)


def test_full_replay(snapshots):
    short, start, long = (look(snapshots, **{**START, "events": n}).full_ms
                          for n in (1_000, lab3.EXPLORER_EVENTS, 1_000_000))
    assert short < start < long
    # Linear in the stream: the per-event part dominates, a thousand times the events ~ a thousand times the time.
    assert 0.5 * 1_000 < long / short <= 1_000 and 0.5 * 20 < start / short <= 20
    assert start > 10 * lab3.SCENARIO.load_budget_ms          # many times the budget
    assert "full replay" in shown(snapshots)


def test_what_a_snapshot_buys(snapshots):
    here = look(snapshots, **START, interval=1_000)
    far = look(snapshots, **{**START, "events": 1_000_000}, interval=1_000)
    assert here.snapshot_ms == pytest.approx(far.snapshot_ms) and far.snapshot_ms < far.full_ms / 100
    # Bounded by the interval: the snapshot's read and at most a thousand events replayed after it.
    assert far.snapshot_ms == pytest.approx(far.snapshot_read_ms + 1_000 * far.per_event_ms)


def test_what_it_costs(snapshots):
    often = look(snapshots, **START, interval=10)
    rare = look(snapshots, **START, interval=1_000)
    assert (often.snapshots, rare.snapshots) == (lab3.EXPLORER_EVENTS // 10, lab3.EXPLORER_EVENTS // 1_000)
    assert often.snapshot_kb == pytest.approx(100 * rare.snapshot_kb)
    stream_kb = lab3.EXPLORER_EVENTS * snapshots.costs.event_bytes / 1000
    assert rare.snapshot_kb < 0.1 * stream_kb < often.snapshot_kb       # small next to the events, then not
    assert often.snapshot_ms < rare.snapshot_ms                          # and buying little load time
    assert "the stream's own events' storage" in shown(snapshots)


def test_the_budget(snapshots):
    largest = look(snapshots, **START).largest_interval
    assert largest is not None and INTERVALS[0] <= largest < INTERVALS[-1]
    below = max(i for i in INTERVALS if i <= largest)
    above = min(i for i in INTERVALS if i > largest)
    assert look(snapshots, **START, interval=below).within_budget
    assert not look(snapshots, **START, interval=above).within_budget
    assert f"every {largest:,} events" in shown(snapshots)
    # Far below it: many times the snapshots for a load already within the budget.
    far = look(snapshots, **START, interval=INTERVALS[0])
    assert far.within_budget and far.snapshots > 10 * look(snapshots, **START, interval=below).snapshots


PROMPT_TESTS = {
    "Try these on the timeline": {
        "The first event": test_the_first_event,
        "Seat A12": test_seat_a12,
        "One minute earlier": test_one_minute_earlier,
        "The release": test_the_release,
    },
    "Try these on the two writers": {
        "Another seat": test_another_seat,
        "The same seat": test_the_same_seat,
    },
    "Try these on the snapshots": {
        "Full replay": test_full_replay,
        "What a snapshot buys": test_what_a_snapshot_buys,
        "What it costs": test_what_it_costs,
        "The budget": test_the_budget,
    },
}


@pytest.mark.parametrize("marker", list(PROMPT_TESTS))
def test_every_prompt_has_a_test(marker):
    assert prompt_titles(NOTEBOOK, marker) == list(PROMPT_TESTS[marker])
