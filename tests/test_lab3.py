"""Lab 3's four steps: the notebook's reference answers pass every check, visible and hidden; the
usual wrong answers fail with a reason that says which way to go; the hidden cases are the same on
every machine; and the code checks reach a student's class and functions in a process of their own,
as they do when the course grades."""

from __future__ import annotations

import json

import nbformat
import pytest
from eventsourcing.domain import event
from nbchecks import ROOT, nbgrader_meta

from messagelab.assignments import lab3
from messagelab.eventstore import snapshots
from messagelab.eventstore.explorer import largest_interval_within
from messagelab.grading.code import drive

NOTEBOOK = ROOT / "source" / lab3.ID / f"{lab3.ID}.ipynb"
ANSWERS = ("arch-concert-answer", "sys-projection-answer", "sys-held-at-answer", "arch-snapshot-interval-answer")
TESTS = ("arch-concert", "sys-projection", "sys-held-at", "arch-snapshot-interval")


def cells_by_id() -> dict[str, str]:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    return {nbgrader_meta(c)["grade_id"]: c.source for c in nb.cells if nbgrader_meta(c).get("grade_id")}


@pytest.fixture(scope="module")
def reference() -> dict:
    """The notebook's own solution cells, run as a student's kernel runs them."""
    namespace: dict = {"event": event, "lab3": lab3}
    sources = cells_by_id()
    for grade_id in ANSWERS:
        exec(sources[grade_id], namespace)
    return namespace


def failure(check, *args, **kwargs) -> str:
    with pytest.raises(AssertionError) as e:
        check(*args, **kwargs)
    return str(e.value)


# --- the reference answers -------------------------------------------------------------------
def test_the_notebooks_reference_answers_pass_every_check_visible_and_hidden(reference, capsys):
    sources = cells_by_id()
    for grade_id in TESTS:
        assert "lab3.check_" in sources[grade_id]
        exec(sources[grade_id], dict(reference))   # the visible checks and the hidden ones
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(line.startswith("✓") for line in lines)
    assert len(lines) == 7   # three code steps checked twice (visible, hidden), the interval once


def test_a_check_that_passes_prints_one_line_that_says_what_holds(reference, capsys):
    lab3.check_concert(reference["Concert"])
    assert capsys.readouterr().out == ("✓ Concert sells every free seat once, refuses a taken or unknown one, and "
                                       "replays to the same state.\n")


# --- step 1: the aggregate ----------------------------------------------------------------------
class _Reserving(lab3.ConcertBase):
    """The reference's event method, for the wrong commands below to share."""

    @event("SeatReserved")
    def _reserved(self, seat, fan):
        self.holders[seat] = fan


class NoEvent(lab3.ConcertBase):
    def reserve(self, seat, fan):
        if self.section_of(seat) is None or self.holders.get(seat, fan) != fan:
            raise lab3.SeatUnavailable(seat)
        self.holders[seat] = fan


class StateOutsideTheEvent(lab3.ConcertBase):
    def reserve(self, seat, fan):
        if self.holders.get(seat) == fan:
            return
        if self.section_of(seat) is None or seat in self.holders:
            raise lab3.SeatUnavailable(seat)
        self.holders[seat] = fan
        self._reserved(seat=seat, fan=fan)

    @event("SeatReserved")
    def _reserved(self, seat, fan):
        pass


class DoubleSale(_Reserving):
    def reserve(self, seat, fan):
        if self.section_of(seat) is None:
            raise lab3.SeatUnavailable(seat)
        if self.holders.get(seat) != fan:
            self._reserved(seat=seat, fan=fan)


class AnyError(_Reserving):
    def reserve(self, seat, fan):
        if self.holders.get(seat) == fan:
            return
        if self.section_of(seat) is None or seat in self.holders:
            raise ValueError(f"{seat} is taken")
        self._reserved(seat=seat, fan=fan)


class RefusesTheSameFan(_Reserving):
    def reserve(self, seat, fan):
        if self.section_of(seat) is None or seat in self.holders:
            raise lab3.SeatUnavailable(seat)
        self._reserved(seat=seat, fan=fan)


class RecordsTheSameFanAgain(_Reserving):
    def reserve(self, seat, fan):
        if self.section_of(seat) is None or self.holders.get(seat, fan) != fan:
            raise lab3.SeatUnavailable(seat)
        self._reserved(seat=seat, fan=fan)


class SellsUnknownSeats(_Reserving):
    def reserve(self, seat, fan):
        if self.holders.get(seat) == fan:
            return
        if seat in self.holders:
            raise lab3.SeatUnavailable(seat)
        self._reserved(seat=seat, fan=fan)


class ForgetsTheFan(lab3.ConcertBase):
    def reserve(self, seat, fan):
        if self.holders.get(seat) == fan:
            return
        if self.section_of(seat) is None or seat in self.holders:
            raise lab3.SeatUnavailable(seat)
        self._reserved(seat=seat)

    @event("SeatReserved")
    def _reserved(self, seat):
        self.holders[seat] = "someone"


class OwnConstructor(_Reserving):
    def __init__(self, sections):   # the scheduling event takes a name too
        super().__init__(name="mine", sections=sections)


WRONG_CONCERTS = {
    NoEvent: ["one fan, one free seat", "recorded no event", '@event("SeatReserved")'],
    StateOutsideTheEvent: ["replaying the events", "outside an event's method", "lost the next time"],
    DoubleSale: ["a seat already taken", "the same seat sold twice", "Refuse it"],
    AnyError: ["refused with ValueError", "lab3.SeatUnavailable"],
    RefusesTheSameFan: ["asks twice", "already hold", "accept it"],
    RecordsTheSameFanAgain: ["asks twice", "must record nothing"],
    SellsUnknownSeats: ["not a seat of this concert", "does not exist"],
    ForgetsTheFan: ["must carry the seat and the fan"],
    OwnConstructor: ["could not be created", "define no __init__"],
}


@pytest.mark.parametrize("concert", list(WRONG_CONCERTS), ids=lambda c: c.__name__)
def test_a_wrong_concert_fails_with_the_reason_and_the_way_to_go(concert):
    message = failure(lab3.check_concert, concert)
    for words in WRONG_CONCERTS[concert]:
        assert words in message, message


def test_a_concert_that_sells_twice_only_later_in_a_rush_fails_the_hidden_scripts():
    class SellsTwiceOnceThreeAreHeld(_Reserving):
        """Right on every visible script (none holds three seats at once), wrong in a longer rush."""

        def reserve(self, seat, fan):
            if self.holders.get(seat) == fan:
                return
            if self.section_of(seat) is None or (seat in self.holders and len(self.holders) < 3):
                raise lab3.SeatUnavailable(seat)
            self._reserved(seat=seat, fan=fan)

    lab3.check_concert(SellsTwiceOnceThreeAreHeld)
    assert "the same seat sold twice" in failure(lab3.check_concert, SellsTwiceOnceThreeAreHeld, seeds=(11, 12, 13))


def test_the_hidden_scripts_are_the_same_for_a_seed_and_exercise_every_rule():
    assert lab3.concert_scripts(11) == lab3.concert_scripts(11)
    assert lab3.concert_scripts(11) != lab3.concert_scripts(12)
    situations = set()
    for seed in (11, 12, 13):
        for _, script in lab3.concert_scripts(seed):
            seats, held = lab3._seat_labels(script["create"]["sections"]), {}
            for method, kw in script["commands"]:
                seat = kw["seat"]
                if method == "release":
                    situations.add("release held" if seat in held else "release free")
                    held.pop(seat, None)
                elif seat not in seats:
                    situations.add("unknown seat")
                elif held.get(seat) == kw["fan"]:
                    situations.add("asks again")
                elif seat in held:
                    situations.add("taken")
                else:
                    situations.add("free")
                    held[seat] = kw["fan"]
    assert {"release held", "release free", "unknown seat", "asks again", "taken", "free"} <= situations


def test_run_script_through_drive_gives_plain_outcomes_and_the_replayed_state(reference):
    title, script = lab3.VISIBLE_SCRIPTS[-1]
    (out,) = drive(reference["Concert"], lab3.RUN_SCRIPT, [script])
    assert json.loads(json.dumps(out)) == out            # plain data only
    assert [o["ok"] for o in out["outcomes"]] == [True, True, True, True]
    assert [o["events"][0][0] for o in out["outcomes"]] == ["SeatReserved", "SeatReleased", "SeatReserved",
                                                             "SeatReserved"]
    assert out["state"] == out["replayed"] == {"holders": {"B1": "ben@example.org", "B2": "ana@example.org"}}
    assert lab3.judge_script(title, script, out) is None


def test_the_checks_reach_the_students_code_in_a_process_of_its_own():
    """As when the course grades: the notebook's solution cells sliced out and run elsewhere; the checks
    judge what comes back, visible and hidden, and a wrong answer fails there as in the kernel."""
    from messagelab.instructor.reverify.code import CodeRunner, Remote, student_slice

    nb = nbformat.read(NOTEBOOK, as_version=4)
    runner = CodeRunner(student_slice(nb.cells, ["Concert", "project", "held_at"]), timeout_s=20)
    try:
        concert, project, held_at = (Remote(name, runner.call) for name in ("Concert", "project", "held_at"))
        lab3.check_concert(concert, seeds=(11,))
        lab3.check_projection(project)
        lab3.check_held_at(held_at, seeds=(31,))
    finally:
        runner.close()
    wrong = [dict(cell) for cell in nb.cells]
    for cell in wrong:
        if nbgrader_meta(cell).get("grade_id") == "sys-projection-answer":
            cell["source"] = cell["source"].replace('if event["position"] <= view["position"]:', "if False:")
    runner = CodeRunner(student_slice(wrong, ["project"]), timeout_s=20)
    try:
        assert "came a second time" in failure(lab3.check_projection, Remote("project", runner.call))
    finally:
        runner.close()


# --- step 2: the projection ---------------------------------------------------------------------
def _apply(view, event):
    seat, section = event["seat"], event["section"]
    if event["type"] == "SeatReserved":
        view["available"][section] -= 1
        view["holders"][seat] = event["fan"]
    else:
        view["available"][section] += 1
        view["holders"].pop(seat, None)
    view["position"] = event["position"]
    return view


def counts_twice(view, event):
    return _apply(view, event)


def skips_only_the_same_event_twice(view, event):
    return view if event["position"] == view["position"] else _apply(view, event)


def forgets_to_return(view, event):
    if event["position"] > view["position"]:
        _apply(view, event)


def never_tracks(view, event):
    if event["position"] <= view["position"]:
        return view
    position = view["position"]
    _apply(view, event)["position"] = position
    return view


def expects_no_gaps(view, event):
    return _apply(view, event) if event["position"] == view["position"] + 1 else view


SEEN: set[int] = set()


def remembers_outside_the_view(view, event):
    if event["position"] in SEEN:
        return view
    SEEN.add(event["position"])
    return _apply(view, event)


def releases_into_the_wrong_section(view, event):
    if event["position"] <= view["position"]:
        return view
    _apply(view, event)
    if event["type"] == "SeatReleased":
        view["available"][event["section"]] -= 2
    return view


WRONG_PROJECTIONS = {
    counts_twice: ["came a second time", "must change nothing"],
    skips_only_the_same_event_twice: ["after a restart", "came a second time"],
    forgets_to_return: ["returned None", "return the view"],
    never_tracks: ["position is 0", "record the position"],
    expects_no_gaps: ["arrived for the first time and changed nothing"],
    remembers_outside_the_view: ["arrived for the first time and changed nothing"],
    releases_into_the_wrong_section: ["too few", "a release gives it back"],
}


@pytest.mark.parametrize("project", list(WRONG_PROJECTIONS), ids=lambda f: f.__name__)
def test_a_wrong_projection_fails_with_the_reason(project):
    SEEN.clear()
    message = failure(lab3.check_projection, project)
    for words in WRONG_PROJECTIONS[project]:
        assert words in message, message


def test_a_view_may_keep_more_than_the_three_things_judged(reference):
    def with_a_log(view, event):
        view = reference["project"](view, event)
        view.setdefault("applied", []).append(event["position"])
        return view

    lab3.check_projection(with_a_log)


def test_the_deliveries_redeliver_and_are_the_same_for_a_seed():
    assert lab3.deliveries(21) == lab3.deliveries(21) != lab3.deliveries(22)
    for seed in (21, 22, 23):
        _, sent = lab3.deliveries(seed)
        positions = [e["position"] for e in sent]
        assert any(b == a for a, b in zip(positions, positions[1:], strict=False)), "an event twice in a row"
        assert any(b < a for a, b in zip(positions, positions[1:], strict=False)), "a restart from earlier"
        unique = sorted(set(positions))
        assert any(b - a > 1 for a, b in zip(unique, unique[1:], strict=False)), "gaps in the positions"
        assert {"SeatReserved", "SeatReleased"} <= {e["type"] for e in sent}


# --- step 3: the temporal query ------------------------------------------------------------------
def held_before(events, version):
    return held_upto(events, version - 1)


def held_upto(events, version):
    held = {}
    for e in events:
        if e["version"] <= version and e["type"] == "SeatReserved":
            held[e["seat"]] = e["fan"]
        elif e["version"] <= version and e["type"] == "SeatReleased":
            del held[e["seat"]]
    return held


def held_ever(events, version):
    return held_upto(events, 10**9)


def never_released(events, version):
    return {e["seat"]: e["fan"] for e in events if e["version"] <= version and e["type"] == "SeatReserved"}


def seats_only(events, version):
    return sorted(held_upto(events, version))


WRONG_QUERIES = {
    held_before: ["reserved at version 2 itself", "includes that version's event"],
    held_ever: ["first reserved at version", "up to and including"],
    never_released: ["A12", "was free at version 22", "SeatReleased ends a hold"],
    seats_only: ["returned list", "return a dict"],
}


@pytest.mark.parametrize("held_at", list(WRONG_QUERIES), ids=lambda f: f.__name__)
def test_a_wrong_temporal_query_fails_with_the_reason(held_at):
    message = failure(lab3.check_held_at, held_at)
    for words in WRONG_QUERIES[held_at]:
        assert words in message, message


def test_the_visible_temporal_query_is_the_stores_own_answer():
    """The Studio's expected holders at each version come from the event store's repository."""
    app, concert_id = lab3.studio_on_sale()
    events, held = lab3._studio_history()
    assert [e["version"] for e in events] == list(range(1, app.concert(concert_id).version + 1))
    for version in (1, 4, 21, 22, 27, events[-1]["version"]):
        assert held[version] == app.concert(concert_id, version=version).holders
    assert held_upto(events, 10**9) == app.concert(concert_id).holders


def test_the_hidden_histories_are_the_same_for_a_seed_and_release_seats():
    assert lab3.histories(31) == lab3.histories(31) != lab3.histories(32)
    for seed in (31, 32, 33):
        events, states = lab3.histories(seed)
        assert {"SeatReserved", "SeatReleased"} <= {e["type"] for e in events}
        assert all(held_upto(events, v) == states[v] for v in states)


# --- step 4: the snapshot interval -----------------------------------------------------------------
def test_the_reference_interval_and_the_range_a_design_may_choose():
    s = lab3.SCENARIO
    low, high = lab3.interval_bounds()
    assert (low, high) == (488, 825)
    # The explorer's own rule, with the platform's costs, gives the same largest interval.
    assert largest_interval_within(s.load_budget_ms, s.fixed_ms, s.per_event_ms, s.snapshot_read_ms) == high
    assert high / low > 1.5, "a range to choose from, not one number"


def test_every_interval_the_grade_accepts_loads_in_time_and_keeps_few_enough_snapshots():
    """Swept over every whole interval up to past the stream: accepted exactly when a reviewer would accept
    it — the explorer's own largest interval within the budget, and no more snapshots (counted as its
    snapshot model counts them) than the platform keeps."""
    s = lab3.SCENARIO
    largest = largest_interval_within(s.load_budget_ms, s.fixed_ms, s.per_event_ms, s.snapshot_read_ms)
    m = snapshots.model([s.events], largest, s.fixed_ms, s.per_event_ms, s.snapshot_read_ms).iloc[0]
    assert float(m["snapshot_ms"]) <= s.load_budget_ms < s.full_replay_ms
    accepted = []
    for interval in range(1, s.events + 2_000):
        good = interval <= largest and s.events // interval <= s.max_snapshots
        try:
            lab3.check_snapshot_interval.__wrapped__(interval)
            passed = True
        except AssertionError:
            passed = False
        assert passed == good, interval
        if passed:
            accepted.append(interval)
    assert accepted == list(range(488, 826))


@pytest.mark.parametrize(("interval", "words"), [
    (1_000, ["too large", "longer than the budget", "Snapshot more often"]),
    (lab3.SCENARIO.events, ["too large", "without a snapshot", "replays the whole stream"]),
    (100, ["too small", "200 snapshots", "more than the platform keeps"]),
    (10, ["too small", "2,000 snapshots"]),
    (500.5, ["a whole number"]),
    (0, ["a whole number of at least 1"]),
    ("500", ["must be a number"]),
])
def test_an_interval_out_of_range_says_which_way_and_not_where_the_bound_is(interval, words):
    message = failure(lab3.check_snapshot_interval, interval)
    for w in words:
        assert w in message, message
    low, high = lab3.interval_bounds()
    assert str(low) not in message and str(high) not in message


# --- what the explore section shows ----------------------------------------------------------------
def test_the_scenario_numbers_are_the_ones_the_table_shows():
    s = lab3.SCENARIO
    assert (s.seats, s.reservations, s.events) == (10_000, 15_000, 20_001)
    assert s.full_replay_ms == pytest.approx(400.87)
    text = lab3.scenario_frame().data.to_string()
    for shown in ("10,000 seats", "20,001 events", "20 ms", "3.5 ms", "at most 40 per concert", "about 401 ms"):
        assert shown in text, shown
    assert lab3.EXPLORER_EVENTS == 20_000


def test_the_studio_history_holds_the_dispute():
    events = lab3.studio_events()
    a12 = [(e["version"], e["type"], e["fan"], e["at"]) for e in events if e.get("seat") == lab3.DISPUTED_SEAT]
    assert a12 == [(4, "SeatReserved", "lena@example.org", "2025-06-06T10:00:03+00:00"),
                   (22, "SeatReleased", "lena@example.org", "2025-06-06T10:10:03+00:00"),
                   (27, "SeatReserved", "omar@example.org", "2025-06-06T10:10:41+00:00")]
    # Omar's first try, while Lena held the seat, and Kofi's double click left no event.
    assert sum(1 for e in events if e.get("fan") == "kofi@example.org") == 1
    assert sum(1 for e in events if e.get("fan") == "omar@example.org") == 1


def test_two_writers_conflict_once_and_the_retry_decides_on_the_fresh_state():
    other, same = lab3.two_writers("A6"), lab3.two_writers("A5")
    said = [r["what the store or the concert said"] for r in other]
    assert said[2].startswith("refused: version 3 is taken") and said[3] == "stored as version 4"
    said = [r["what the store or the concert said"] for r in same]
    assert said[2].startswith("refused: version 3 is taken") and "SeatUnavailable" in said[3]
    assert [r["version stored"] for r in same] == [2, 3, 3, 3]
