"""Lab 3, Event Sourcing Implementation Lab: a concert's on-sale rush, and no seat sold twice.

Everything the lab adds in Python: its scenario (the arena, the rush, the load-time budget
and the platform's measured costs), the concert aggregate a student completes
(:class:`ConcertBase`), the box office that sells seats with it on a real SQLite event store
(the Studio matinée whose on-sale history the timeline shows, and two writers racing for one
concert), and the checks of the lab's four steps. The notebook reads its numbers from
``SCENARIO``.

The student writes code in three of the steps, and the checks judge it by what it does:

- ``Concert`` (the aggregate) on *scripts* of commands, run by
  :func:`messagelab.grading.aggregates.run_script` through :func:`messagelab.grading.code.drive`,
  so that when the course grades, the class runs in a sandbox and only plain outcomes come
  back (the events each command recorded, or its error; the state; the state replayed);
- ``project(view, event)`` (the read model) on deliveries of a notification log with
  redeliveries, called with plain dicts;
- ``held_at(events, version)`` (the temporal query) on concerts' histories, called with plain
  lists.

Hidden checks run the same judges on cases generated from seeds (:func:`concert_scripts`,
:func:`deliveries`, :func:`histories`), deterministic for a seed on every machine.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import math
import random
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from eventsourcing.application import Application
from eventsourcing.domain import event
from eventsourcing.persistence import IntegrityError

from messagelab.eventstore.clock import CLOCK, TimedAggregate
from messagelab.eventstore.explorer import STREAM_LENGTHS
from messagelab.eventstore.trading import retrying
from messagelab.grading import plain_number, student_check
from messagelab.grading.code import drive
from messagelab.sim.display import fmt, text_table

ID = "lab3-event-sourcing"

GRADES: dict[str, tuple[str, float]] = {
    "arch-concert": ("code", 4),
    "sys-projection": ("code", 3),
    "sys-held-at": ("code", 2),
    "arch-snapshot-interval": ("code", 3),
    "arch-diagram": ("markdown", 2),
    "arch-rationale": ("markdown", 2),
    "biz-impact": ("markdown", 2),
    "biz-roadmap": ("markdown", 1),
    "sys-risks": ("markdown", 2),
    "comm-summary": ("markdown", 1),
}


# --- the scenario ---------------------------------------------------------------------------
@dataclass(frozen=True)
class OnSale:
    """One concert's on-sale: the venue, the rush, what loading the concert may take, what loads cost."""

    concert: str
    venue: str
    #: Seats per section; a seat is named by its section and number (``"A12"``).
    sections: Mapping[str, int]
    section_names: Mapping[str, str]
    fans_in_queue: int
    #: Reservation attempts a second at the height of the rush, and how long the rush lasts.
    attempts_per_s: float
    rush_min: float
    #: Minutes a reserved seat is the fan's to pay for; unpaid, it is released and goes back on sale.
    hold_min: float
    holds_released: int
    #: Every reservation command loads the concert: its worst-case load time.
    load_budget_ms: float
    #: The platform's measured costs of a load on its SQLite store (eventsourcing 9.4.5): the
    #: fixed part and the cost per event replayed from ``benchmarks/bench_eventstore.py`` and
    #: :func:`messagelab.eventstore.explorer.measured_costs` (an account's stream), and reading a
    #: sold-out concert's snapshot (every seat and its holder) timed the same way, its fixed part
    #: included.
    fixed_ms: float
    per_event_ms: float
    snapshot_read_ms: float
    snapshot_kb: float
    #: Snapshots the platform keeps per concert: each one is written at the height of the rush.
    max_snapshots: int
    #: The personal data each reservation records.
    fan_data: str = "the fan's e-mail address, printed on the ticket"

    @property
    def seats(self) -> int:
        return sum(self.sections.values())

    @property
    def reservations(self) -> int:
        """SeatReserved events of an on-sale that sells out: every seat for good, and every hold released."""
        return self.seats + self.holds_released

    @property
    def events(self) -> int:
        """The concert's stream at the end of its on-sale: its ConcertScheduled, reservations and releases."""
        return 1 + self.reservations + self.holds_released

    @property
    def full_replay_ms(self) -> float:
        """Loading the sold-out concert by replaying every event of its stream."""
        return self.fixed_ms + self.per_event_ms * self.events


SCENARIO = OnSale(
    concert="Harbour Lights, night one",
    venue="the Riverside Arena",
    sections={"A": 2_000, "B": 4_000, "C": 4_000},
    section_names={"A": "floor", "B": "lower tier", "C": "upper tier"},
    fans_in_queue=120_000,
    attempts_per_s=2_000,
    rush_min=10,
    hold_min=10,
    holds_released=5_000,
    load_budget_ms=20,
    fixed_ms=0.85,
    per_event_ms=0.020,
    snapshot_read_ms=3.5,
    snapshot_kb=434,
    max_snapshots=40,
)

#: The stream length of the snapshot explorer's choices nearest the concert's at the end of its on-sale.
EXPLORER_EVENTS = min(STREAM_LENGTHS, key=lambda n: abs(n - SCENARIO.events))


def scenario_frame() -> Any:
    """The facts of the on-sale a design must carry, as a table."""
    s = SCENARIO
    sections = " · ".join(f"{name} {s.section_names[name]} {fmt(n)}" for name, n in s.sections.items())
    rows = [
        ("the concert", f"{s.concert} at {s.venue}: {fmt(s.seats, 'seats')} in {len(s.sections)} sections "
                        f"({sections}), seats named by section and number (A1, A2, …)"),
        ("the rush", f"{fmt(s.fans_in_queue, 'fans')} in the queue when the on-sale opens; up to "
                     f"{fmt(s.attempts_per_s)} reservation attempts a second for the first {fmt(s.rush_min)} minutes"),
        ("a hold", f"a reserved seat is the fan's for {fmt(s.hold_min)} minutes; unpaid, it is released and goes "
                   f"back on sale ({fmt(s.holds_released)} holds released in a sold-out on-sale)"),
        ("what a reservation records", s.fan_data),
        ("the concert's stream, sold out", f"{fmt(s.events, 'events')}: 1 ConcertScheduled, "
                                           f"{fmt(s.reservations)} SeatReserved, {fmt(s.holds_released)} SeatReleased"),
        ("loading the concert", f"every reservation loads it: within {fmt(s.load_budget_ms, 'ms')}, worst case"),
        ("the platform's measured costs (its SQLite store)",
         f"{fmt(s.fixed_ms, 'ms')} for any load, {s.per_event_ms:g} ms per event replayed; reading a sold-out "
         f"concert's snapshot {fmt(s.snapshot_read_ms, 'ms')}, fixed part included"),
        ("a full replay of the sold-out concert", f"about {fmt(s.full_replay_ms, 'ms')}"),
        ("snapshots", f"each holds every seat and its holder (up to {fmt(s.snapshot_kb, 'kB')}) and is written "
                      f"during the rush: the platform keeps at most {fmt(s.max_snapshots)} per concert"),
    ]
    return text_table(pd.DataFrame(rows, columns=["fact", "value"]).set_index("fact"))


# --- the concert aggregate --------------------------------------------------------------------
class SeatUnavailable(ValueError):
    """A seat that cannot be reserved (taken, or not in the concert), or released (not reserved)."""


_SEAT = re.compile(r"([A-Z]+)([1-9][0-9]*)")


class ConcertBase(TimedAggregate):
    """A concert whose seats go on sale: scheduled with its sections, its seats reserved and released.

    The state: ``name``; ``sections``, seats per section; ``holders``, the fan each reserved
    seat is held for (a seat not in it is free). ``release`` is a command and its event: the
    command checks, the event's method changes the state.
    """

    @event("ConcertScheduled")
    def __init__(self, name: str, sections: dict[str, int]) -> None:
        self.name = name
        self.sections = dict(sections)
        self.holders: dict[str, str] = {}

    def section_of(self, seat: str) -> str | None:
        """The section of ``seat`` (``"A"`` for ``"A12"``), or None if the concert has no such seat."""
        m = _SEAT.fullmatch(seat) if isinstance(seat, str) else None
        if m is None or int(m.group(2)) > self.sections.get(m.group(1), 0):
            return None
        return m.group(1)

    @property
    def seats(self) -> list[str]:
        """Every seat of the concert, section by section."""
        return [f"{section}{n}" for section, count in self.sections.items() for n in range(1, count + 1)]

    def release(self, seat: str) -> None:
        """Put a reserved seat back on sale (its hold ran out unpaid, or the sale was refunded)."""
        if seat not in self.holders:
            raise SeatUnavailable(f"{seat} is not reserved")
        self._released(seat=seat, fan=self.holders[seat])

    @event("SeatReleased")
    def _released(self, seat: str, fan: str) -> None:
        del self.holders[seat]


def source(cls: type = ConcertBase) -> Any:
    """The source of ``cls`` as the notebook shows it: Python, highlighted."""
    from IPython.display import Markdown

    return Markdown(f"```python\n{inspect.getsource(cls)}```")


class _BoxOfficeConcert(ConcertBase):
    """The box office's own concert, which sells the Studio's seats for the timeline (the lab has you write yours)."""

    def reserve(self, seat: str, fan: str) -> None:
        if self.holders.get(seat) == fan:
            return
        if self.section_of(seat) is None or seat in self.holders:
            raise SeatUnavailable(f"{seat} cannot be reserved")
        self._reserved(seat=seat, fan=fan)

    @event("SeatReserved")
    def _reserved(self, seat: str, fan: str) -> None:
        self.holders[seat] = fan


class BoxOffice(Application):
    """The box office: concerts as aggregates in an event store (SQLite, in memory by default)."""

    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": ":memory:"}

    def schedule(self, name: str, sections: dict[str, int]) -> uuid.UUID:
        concert = _BoxOfficeConcert(name=name, sections=sections)
        self.save(concert)
        return concert.id

    def concert(self, concert_id: uuid.UUID, version: int | None = None) -> _BoxOfficeConcert:
        return self.repository.get(concert_id, version=version)

    def reserve(self, concert_id: uuid.UUID, seat: str, fan: str) -> int:
        """Load the concert, reserve, save: the concert's version after it."""
        concert = self.concert(concert_id)
        concert.reserve(seat, fan)
        self.save(concert)
        return concert.version

    def release(self, concert_id: uuid.UUID, seat: str) -> int:
        concert = self.concert(concert_id)
        concert.release(seat)
        self.save(concert)
        return concert.version


# --- the Studio matinée: an on-sale history to read ----------------------------------------------
STUDIO = "Harbour Lights, acoustic matinée in the Studio"
STUDIO_SECTIONS = {"A": 12, "B": 12}
#: When the on-sale opened (the arena's and the Studio's, the same minute).
OPENED = datetime(2025, 6, 6, 10, 0, tzinfo=UTC)
#: The seat a fan disputes: she says she had it, and it was sold to someone else.
DISPUTED_SEAT = "A12"


def _fan(name: str) -> str:
    return f"{name}@example.org"


#: The Studio's rush, command by command: (seconds after opening, seat, fan's name). Refused
#: and repeated commands are in it too (Omar after a seat already held, Kofi's double click):
#: they leave no event.
_STUDIO_RUSH: tuple[tuple[int, str, str], ...] = (
    (1, "B5", "ana"), (2, "B6", "ana"), (3, "A12", "lena"), (4, "A1", "tom"), (5, "A11", "kofi"),
    (5, "A11", "kofi"), (6, "A12", "omar"), (7, "B1", "mei"), (8, "B2", "mei"), (9, "A6", "sara"),
    (11, "A7", "sara"), (12, "B12", "jon"), (14, "A3", "ines"), (15, "A4", "ines"), (17, "B8", "raj"),
    (19, "A9", "eva"), (22, "B9", "eva"), (25, "A5", "noor"), (28, "B3", "luca"), (31, "B4", "luca"),
    (35, "A8", "zoe"), (40, "B10", "yusuf"),
)
#: The seats whose fans did not pay: released when their hold runs out.
_STUDIO_UNPAID = ("A12", "B8", "B3", "B4", "A8")
#: Then the seats sold again, and a few never reserved: (seconds after the first holds ran out, seat, fan).
_STUDIO_RESOLD: tuple[tuple[int, str, str], ...] = (
    (41, "A12", "omar"), (50, "B8", "priya"), (62, "B3", "dan"), (63, "B4", "dan"), (100, "A10", "hugo"),
    (105, "B7", "amir"), (120, "A8", "chloe"), (160, "B11", "femi"),
)


def _studio_commands() -> list[tuple[int, str, str, str]]:
    """The Studio's on-sale in time order: (seconds after opening, "reserve" or "release", seat, fan)."""
    hold_s = round(SCENARIO.hold_min * 60)
    commands = [(t, "reserve", seat, fan) for t, seat, fan in _STUDIO_RUSH]
    reserved_at = {seat: t for t, seat, _ in reversed(_STUDIO_RUSH)}   # each seat's first reservation
    commands += [(reserved_at[seat] + hold_s, "release", seat, "") for seat in _STUDIO_UNPAID]
    commands += [(hold_s + t, "reserve", seat, fan) for t, seat, fan in _STUDIO_RESOLD]
    return sorted(commands, key=lambda c: c[0])


def studio_on_sale() -> tuple[BoxOffice, uuid.UUID]:
    """The Studio matinée's on-sale, sold through a box office on SQLite: the application and the concert's id."""
    app = BoxOffice()
    with CLOCK.at(OPENED):
        concert_id = app.schedule(STUDIO, STUDIO_SECTIONS)
    for seconds, command, seat, fan in _studio_commands():
        with CLOCK.at(OPENED + timedelta(seconds=seconds)):
            try:
                if command == "reserve":
                    app.reserve(concert_id, seat, _fan(fan))
                else:
                    app.release(concert_id, seat)
            except SeatUnavailable:
                pass  # refused: nothing is stored
    return app, concert_id


def plain_events(app: Application, aggregate_id: uuid.UUID) -> list[dict[str, Any]]:
    """One aggregate's events, oldest first, as plain dicts: version, type, time (ISO, UTC) and their data."""
    rows = []
    for e in app.events.get(aggregate_id):
        data = {k: copy.deepcopy(v) for k, v in vars(e).items()
                if k not in ("originator_id", "originator_version", "originator_topic", "timestamp")}
        rows.append({"version": e.originator_version, "type": type(e).__name__,
                     "at": e.timestamp.astimezone(UTC).isoformat(timespec="seconds"), **data})
    return rows


@functools.cache
def _studio_history() -> tuple[list[dict[str, Any]], dict[int, dict[str, str]]]:
    """The Studio's events as plain dicts, and the seats held as of each version, read from the store."""
    app, concert_id = studio_on_sale()
    events = plain_events(app, concert_id)
    held = {e["version"]: dict(app.concert(concert_id, version=e["version"]).holders) for e in events}
    return events, held


def studio_events() -> list[dict[str, Any]]:
    """The Studio matinée's on-sale history: every event of its concert, as plain dicts."""
    return copy.deepcopy(_studio_history()[0])


def history_table(first: int = 4) -> Any:
    """The first events of the Studio's history, as ``held_at`` receives them."""
    rows = studio_events()[:first]
    return text_table(pd.DataFrame([{k: str(v) for k, v in e.items()} for e in rows]).fillna(""))


# --- two writers, one concert ---------------------------------------------------------------------
def two_writers(seat_second: str) -> list[dict[str, Any]]:
    """Two writers load the Studio at one version; the first saves a reservation, the second races it.

    The second writer reserves ``seat_second`` on the copy it loaded, and saves through
    :func:`retrying`: its first save is refused (the version it would write is taken), and the
    retry reloads the concert and tries the command again — stored, or refused by the concert
    if the seat is gone. One row per step, from what the store and the concert did.
    """
    app = BoxOffice()
    concert_id = app.schedule(STUDIO, STUDIO_SECTIONS)
    app.reserve(concert_id, "B5", _fan("ana"))
    first, second = app.concert(concert_id), app.concert(concert_id)
    rows = [("both", f"load the concert at version {first.version}", "", first.version)]
    first.reserve("A5", _fan("kofi"))
    app.save(first)
    rows.append(("writer 1", f"reserve A5 for {_fan('kofi')} and save", f"stored as version {first.version}",
                 app.concert(concert_id).version))
    stale, what = [second], f"reserve {seat_second} for {_fan('omar')} and save"

    def command() -> int:
        retry = not stale
        concert = stale.pop() if stale else app.concert(concert_id)
        did = (f"retrying: reload the concert (version {concert.version}), {what} again" if retry
               else f"{what} (on the concert it loaded, version {concert.version})")
        try:
            concert.reserve(seat_second, _fan("omar"))
            app.save(concert)
        except IntegrityError:
            rows.append(("writer 2", did, f"refused: version {concert.version} is taken (IntegrityError)",
                         app.concert(concert_id).version))
            raise
        except SeatUnavailable:
            holder = app.concert(concert_id).holders[seat_second]
            rows.append(("writer 2", did, f"refused by the concert: {seat_second} is held by {holder} "
                                          "(SeatUnavailable)", app.concert(concert_id).version))
            raise
        rows.append(("writer 2", did, f"stored as version {concert.version}", app.concert(concert_id).version))
        return concert.version

    with contextlib.suppress(SeatUnavailable):
        retrying(command)
    return [{"step": step, "writer": writer, "did": did, "what the store or the concert said": said,
             "version stored": stored} for step, (writer, did, said, stored) in enumerate(rows, start=1)]


def two_writers_table() -> Any:
    """Both races: the second writer after another seat, then after the same one."""
    cases = {"another seat (A6)": two_writers("A6"), "the same seat (A5)": two_writers("A5")}
    frame = pd.concat({case: pd.DataFrame(rows) for case, rows in cases.items()}, names=["case", None])
    return text_table(frame.droplevel(1).set_index("step", append=True))


# --- step 1: the aggregate --------------------------------------------------------------------------
RUN_SCRIPT = "messagelab.grading.aggregates:run_script"

#: The visible scripts: each one situation of the rules, simplest first.
VISIBLE_SCRIPTS: tuple[tuple[str, dict[str, Any]], ...] = tuple(
    (title, {"create": {"name": STUDIO, "sections": {"A": 3, "B": 2}}, "commands": commands, "state": ["holders"]})
    for title, commands in (
        ("one fan, one free seat", [["reserve", {"seat": "A1", "fan": _fan("ana")}]]),
        ("a fan who asks twice", [["reserve", {"seat": "A2", "fan": _fan("ana")}],
                                  ["reserve", {"seat": "A2", "fan": _fan("ana")}]]),
        ("a seat already taken", [["reserve", {"seat": "A1", "fan": _fan("ana")}],
                                  ["reserve", {"seat": "A1", "fan": _fan("ben")}]]),
        ("seats the concert does not have", [["reserve", {"seat": "C1", "fan": _fan("ana")}],
                                             ["reserve", {"seat": "A4", "fan": _fan("ben")}],
                                             ["reserve", {"seat": "B2", "fan": _fan("ben")}]]),
        ("a seat released and reserved again", [["reserve", {"seat": "B1", "fan": _fan("ana")}],
                                                ["release", {"seat": "B1"}],
                                                ["reserve", {"seat": "B1", "fan": _fan("ben")}],
                                                ["reserve", {"seat": "B2", "fan": _fan("ana")}]]),
    )
)


def concert_scripts(seed: int, scripts: int = 3, commands: int = 25) -> list[tuple[str, dict[str, Any]]]:
    """Scripts of a rush generated from ``seed``: small concerts, a few fans, reservations and releases.

    Most commands reserve a seat of the concert, some a seat it does not have, some the same
    seat again; the rest release a seat (mostly a reserved one). The same seed gives the same
    scripts on every machine.
    """
    rng = random.Random(seed)
    out = []
    for k in range(scripts):
        sections = {"A": rng.randint(2, 5), "B": rng.randint(1, 4)}
        seats = [f"{s}{n}" for s, count in sections.items() for n in range(1, count + 1)]
        fans = [_fan(name) for name in rng.sample(["ana", "ben", "chen", "dara", "eli", "fay"], 3)]
        held: dict[str, str] = {}
        script = []
        for _ in range(commands):
            roll = rng.random()
            if roll < 0.7:
                seat = rng.choice(seats) if rng.random() < 0.85 else rng.choice(
                    ["C1", f"A{sections['A'] + 1}", f"B{sections['B'] + rng.randint(1, 3)}", "A0"])
                fan = held[seat] if seat in held and rng.random() < 0.3 else rng.choice(fans)
                script.append(["reserve", {"seat": seat, "fan": fan}])
                if seat in seats and seat not in held:
                    held[seat] = fan
            else:
                seat = rng.choice(sorted(held)) if held and rng.random() < 0.8 else rng.choice(seats)
                script.append(["release", {"seat": seat}])
                held.pop(seat, None)
        out.append((f"a rush generated from seed {seed} (script {k + 1})",
                    {"create": {"name": f"concert {seed}-{k + 1}", "sections": sections}, "commands": script,
                     "state": ["holders"]}))
    return out


def _seat_labels(sections: Mapping[str, int]) -> set[str]:
    return {f"{s}{n}" for s, count in sections.items() for n in range(1, count + 1)}


def _events_named(outcome: Mapping[str, Any]) -> list[str]:
    return [str(e[0]) for e in outcome.get("events", [])]


def judge_script(title: str, script: Mapping[str, Any], out: Any) -> str | None:
    """What is wrong with what ``Concert`` did on ``script`` (``run_script``'s outcome), or None.

    The rules: reserving a free seat of the concert records one SeatReserved with the seat and
    the fan, who then holds it; reserving a seat that is taken by another fan, or that the
    concert does not have, is refused with SeatUnavailable and records nothing; a fan asking
    again for the seat they hold is accepted and records nothing. And the state that replaying
    the recorded events gives is the state the commands left.
    """
    where = f"In “{title}”"
    if not isinstance(out, dict) or "created" not in out:
        return f"{where}, the concert could not be run."
    if not out["created"]:
        return (f"{where}, Concert(name=…, sections=…) could not be created ({out.get('error')}): keep the "
                "ConcertScheduled event of ConcertBase (define no __init__ of your own).")
    seats, holders = _seat_labels(script["create"]["sections"]), {}
    outcomes = out.get("outcomes", [])
    for (method, kwargs), got in zip(script["commands"], outcomes, strict=True):
        seat = kwargs["seat"]
        names, error = _events_named(got), got.get("error")
        if method == "release":
            if seat in holders and got.get("ok") and names == ["SeatReleased"]:
                holders.pop(seat)
            elif seat in holders:
                return (f"{where}, releasing {seat} (held by {holders[seat]}) failed ({error or names}): "
                        "ConcertBase's release needs the holders your reservations keep.")
            elif got.get("ok"):
                return (f"{where}, releasing {seat}, which nobody held, was accepted: leave ConcertBase's release "
                        "as it is.")
            continue
        fan = kwargs["fan"]
        if holders.get(seat) == fan:
            if not got.get("ok"):
                return (f"{where}, {fan} asked again for {seat}, which they already hold, and was refused ({error}). "
                        "A fan who asks twice (a double click, a retry) already has the seat: accept it.")
            if names:
                return (f"{where}, {fan} asked again for {seat}, which they already hold, and the concert recorded "
                        f"{', '.join(names)}: asking again changes nothing, so it must record nothing.")
            continue
        if seat not in seats or seat in holders:
            why = (f"{seat} is not a seat of this concert" if seat not in seats
                   else f"{seat} was already reserved for {holders[seat]}")
            if got.get("ok"):
                sold = "the same seat sold twice" if seat in seats else "a ticket for a seat that does not exist"
                return (f"{where}, {why}, and reserving it for {fan} was accepted: {sold}. "
                        "Refuse it before any event is recorded.")
            if error != "SeatUnavailable":
                return (f"{where}, {why}, and the reservation for {fan} was refused with {error}: refuse it with "
                        "lab3.SeatUnavailable, so that the box office can tell a seat it cannot sell from a fault.")
            if names:
                return (f"{where}, {why}: the reservation was refused but still recorded {', '.join(names)}. "
                        "Refuse before recording.")
            continue
        if not got.get("ok"):
            return (f"{where}, {seat} was free, and reserving it for {fan} was refused ({error}): a free seat of "
                    "the concert must be reserved.")
        if not names:
            return (f"{where}, reserving the free seat {seat} recorded no event: in an event-sourced aggregate "
                    "every change is an event — trigger one from a method decorated with @event(\"SeatReserved\").")
        if names != ["SeatReserved"]:
            return (f"{where}, reserving {seat} recorded {', '.join(names)}: a reservation records exactly one "
                    "event, named SeatReserved.")
        data = got["events"][0][1]
        if data.get("seat") != seat or data.get("fan") != fan:
            return (f"{where}, the SeatReserved of {seat} for {fan} carries {data}: the event must carry the seat "
                    "and the fan (its method's arguments), so that replaying it says who holds what.")
        holders[seat] = fan
    state = out.get("state", {}).get("holders")
    if state != holders:
        return (f"{where}, after the commands the concert's holders are {state}, where the reservations give "
                f"{holders}: the SeatReserved event's method must give the seat to its fan.")
    replayed = out.get("replayed", {})
    if replayed.get("holders") != state:
        return (f"{where}, replaying the events the commands recorded gives holders "
                f"{replayed.get('holders', replayed)}, not {state}: some change was made outside an event's method, "
                "and it would be lost the next time the concert is loaded from the store. Change the state only in "
                "the method decorated with @event.")
    return None


@student_check("Concert sells every free seat once, refuses a taken or unknown one, and replays to the same state.")
def check_concert(concert: Any, seeds: tuple[int, ...] = ()) -> None:
    cases = list(VISIBLE_SCRIPTS) if not seeds else [c for seed in seeds for c in concert_scripts(seed)]
    outcomes = drive(concert, RUN_SCRIPT, [script for _, script in cases])
    for (title, script), out in zip(cases, outcomes, strict=True):
        problem = judge_script(title, script, out)
        if problem:
            raise AssertionError(problem)


# --- step 2: the projection ----------------------------------------------------------------------
#: What the read model holds: the last position applied, seats available per section, who holds each seat.
VIEW_KEYS = ("position", "available", "holders")


def empty_view(sections: Mapping[str, int] = STUDIO_SECTIONS) -> dict[str, Any]:
    """The read model before any seat event: every seat available, nobody holding one, position 0."""
    return {"position": 0, "available": dict(sections), "holders": {}}


def _log(rng: random.Random, sections: Mapping[str, int], length: int) -> list[dict[str, Any]]:
    """A notification log's seat events for one concert: positions rising with gaps (other concerts' events)."""
    seats, held, position, log = sorted(_seat_labels(sections)), {}, rng.randint(1, 4), []
    fans = [_fan(name) for name in ("ana", "ben", "chen", "dara")]
    while len(log) < length:
        seat = rng.choice(seats)
        if seat in held:
            log.append({"position": position, "type": "SeatReleased", "seat": seat, "section": seat[0],
                        "fan": held.pop(seat)})
        else:
            held[seat] = rng.choice(fans)
            log.append({"position": position, "type": "SeatReserved", "seat": seat, "section": seat[0],
                        "fan": held[seat]})
        position += rng.randint(1, 3)
    return log


def deliveries(seed: int, length: int = 24) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """A concert's sections and its seat events as a follower receives them, redeliveries included.

    The log is read at least once: now and then the follower restarts from an earlier position
    and receives a few events again, and now and then one event arrives twice in a row.
    """
    rng = random.Random(seed)
    sections = {"A": rng.randint(3, 6), "B": rng.randint(2, 4)}
    log = _log(rng, sections, length)
    sent, i = [], 0
    while i < len(log):
        sent.append(log[i])
        roll = rng.random()
        if roll < 0.12 and i >= 2:
            i = rng.randint(max(0, i - 4), i)   # a restart from an earlier position
            continue
        if roll < 0.2:
            sent.append(log[i])                  # the same event twice in a row
        i += 1
    return sections, copy.deepcopy(sent)


def _visible_deliveries() -> list[tuple[str, dict[str, int], list[dict[str, Any]]]]:
    """A short log delivered twice in part (a restart), with one event twice in a row, then the seeded ones."""
    sections = {"A": 3, "B": 2}
    log = [{"position": p, "type": t, "seat": s, "section": s[0], "fan": _fan(f)} for p, t, s, f in (
        (3, "SeatReserved", "A1", "ana"), (4, "SeatReserved", "B2", "ben"), (7, "SeatReserved", "A2", "ana"),
        (8, "SeatReleased", "B2", "ben"), (9, "SeatReserved", "B2", "chen"), (12, "SeatReleased", "A1", "ana"))]
    restart = log[:4] + log[1:4] + log[4:] + log[-1:]
    return [("a log read again after a restart", sections, restart)] + [
        (f"a log generated from seed {seed}", *deliveries(seed)) for seed in (0, 1)]


def _apply(view: dict[str, Any], e: Mapping[str, Any]) -> dict[str, Any]:
    """What the read model must become on ``e`` (the judge's account, for the expected views)."""
    if e["position"] <= view["position"]:
        return view
    view = copy.deepcopy(view)
    if e["type"] == "SeatReserved":
        view["available"][e["section"]] -= 1
        view["holders"][e["seat"]] = e["fan"]
    elif e["type"] == "SeatReleased":
        view["available"][e["section"]] += 1
        view["holders"].pop(e["seat"], None)
    view["position"] = e["position"]
    return view


def _describe(e: Mapping[str, Any]) -> str:
    return f"{e['type']} of {e['seat']} (position {e['position']})"


def judge_projection(title: str, sections: Mapping[str, int], sent: list[dict[str, Any]],
                     project: Callable[[Any, Any], Any]) -> str | None:
    """What is wrong with ``project`` on the deliveries ``sent``, or None; the first delivery that goes wrong."""
    where = f"In “{title}”"
    view = expected = empty_view(sections)
    for e in sent:
        redelivered = e["position"] <= expected["position"]
        again = " delivered again" if redelivered else ""
        try:
            got = project(copy.deepcopy(view), dict(e))
        except Exception as error:  # noqa: BLE001 - the student's function failed on this event: the reason
            return f"{where}, project raised {type(error).__name__}: {error} on the {_describe(e)}{again}."
        expected = _apply(expected, e)
        if got is None:
            return f"{where}, project returned None on the {_describe(e)}: return the view (updated in place is fine)."
        if not isinstance(got, dict) or not set(VIEW_KEYS) <= set(got):
            return (f"{where}, project returned {type(got).__name__} {got!r:.80} on the {_describe(e)}: return the "
                    "view, a dict with its position, available and holders.")
        before, view = {k: view[k] for k in VIEW_KEYS}, got
        got = {k: got[k] for k in VIEW_KEYS}   # a view may keep more of its own; these three are judged
        if got == expected:
            continue
        if redelivered:
            return (f"{where}, the {_describe(e)} came a second time — the log is read at least once, and a "
                    "follower that restarts receives events again — and it changed the view. An event at or before "
                    "the position the view has reached must change nothing.")
        if got == before:
            return (f"{where}, the {_describe(e)} arrived for the first time and changed nothing: only an event at or "
                    "before the view's position is one it has seen.")
        if got["position"] != expected["position"]:
            return (f"{where}, after the {_describe(e)} the view's position is {got['position']!r}: the view must "
                    "record the position of the last event it applied (positions have gaps: the log holds other "
                    "concerts' events too), so that a redelivery can be told apart.")
        section = e["section"]
        have = got["available"].get(section) if isinstance(got["available"], dict) else None
        want = expected["available"][section]
        if have != want:
            side = "missing" if not isinstance(have, int | float) else "too many" if have > want else "too few"
            return (f"{where}, after the {_describe(e)} section {section} shows {have!r} seats available, {side}: "
                    "a reservation takes one seat from its section, a release gives it back.")
        return (f"{where}, after the {_describe(e)} the view's holders are wrong: a reservation gives its seat to its "
                "fan, a release frees it, and nothing else changes.")
    return None


@student_check("project keeps the read model exactly once: every event applied once, redeliveries ignored.")
def check_projection(project: Any, seeds: tuple[int, ...] = ()) -> None:
    cases = _visible_deliveries() if not seeds else [
        (f"a log generated from seed {seed}", *deliveries(seed)) for seed in seeds]
    for title, sections, sent in cases:
        problem = judge_projection(title, sections, sent, project)
        if problem:
            raise AssertionError(problem)


def delivery_table(first: int = 6) -> Any:
    """The first deliveries of the visible log with a restart, as ``project`` receives them."""
    _, _, sent = _visible_deliveries()[0]
    return text_table(pd.DataFrame(sent[:first]))


# --- step 3: the temporal query ------------------------------------------------------------------
def histories(seed: int, length: int = 30) -> tuple[list[dict[str, Any]], dict[int, dict[str, str]]]:
    """A concert's history generated from ``seed`` (plain events, oldest first) and who held what at each version."""
    rng = random.Random(seed)
    sections = {"A": rng.randint(3, 6), "B": rng.randint(2, 5)}
    seats = sorted(_seat_labels(sections))
    fans = [_fan(name) for name in ("ana", "ben", "chen", "dara", "eli")]
    at = OPENED + timedelta(days=seed % 300)
    events = [{"version": 1, "type": "ConcertScheduled", "at": at.isoformat(timespec="seconds"),
               "name": f"concert {seed}", "sections": sections}]
    held: dict[str, str] = {}
    states = {1: {}}
    for version in range(2, length + 1):
        at += timedelta(seconds=rng.randint(1, 90))
        seat = rng.choice(sorted(held)) if held and rng.random() < 0.35 else rng.choice(seats)
        if seat in held:
            e = {"type": "SeatReleased", "seat": seat, "fan": held.pop(seat)}
        else:
            held[seat] = rng.choice(fans)
            e = {"type": "SeatReserved", "seat": seat, "fan": held[seat]}
        events.append({"version": version, "type": e["type"], "at": at.isoformat(timespec="seconds"),
                       "seat": e["seat"], "fan": e["fan"]})
        states[version] = dict(held)
    return events, states


def _held_expected(states: Mapping[int, dict[str, str]], version: int) -> dict[str, str]:
    known = [v for v in states if v <= version]
    return dict(states[max(known)]) if known else {}


def _versions_asked(events: list[dict[str, Any]]) -> list[int]:
    latest = events[-1]["version"]
    return [0, *range(1, latest + 1), latest + 5]


def judge_held_at(title: str, events: list[dict[str, Any]], states: Mapping[int, dict[str, str]],
                  held_at: Callable[[Any, Any], Any], versions: list[int]) -> str | None:
    """What is wrong with ``held_at`` on one history, or None: the first version it answers wrong."""
    where = f"In “{title}”"
    for version in versions:
        want = _held_expected(states, version)
        try:
            got = held_at(copy.deepcopy(events), version)
        except Exception as error:  # noqa: BLE001 - the student's function failed: the reason
            return f"{where}, held_at(events, {version}) raised {type(error).__name__}: {error}."
        if not isinstance(got, dict):
            return (f"{where}, held_at(events, {version}) returned {type(got).__name__}: return a dict, each seat "
                    "held then and the fan who held it.")
        if got == want:
            continue
        later = {e["seat"]: e["version"] for e in events if e["version"] > version and e["type"] == "SeatReserved"}
        extra = sorted(set(got) - set(want))
        missing = sorted(set(want) - set(got))
        if extra:
            seat = extra[0]
            if seat in later and not any(e.get("seat") == seat and e["version"] <= version for e in events):
                return (f"{where}, held_at(events, {version}) holds {seat}, first reserved at version {later[seat]}: "
                        "only the events up to and including the version asked about count.")
            return (f"{where}, held_at(events, {version}) holds {seat}, which was free at version {version}: a "
                    "SeatReleased ends a hold, and later events do not count.")
        if missing:
            seat = missing[0]
            made = max(e["version"] for e in events if e.get("seat") == seat and e["version"] <= version)
            if made == version:
                return (f"{where}, held_at(events, {version}) leaves out {seat}, reserved at version {version} itself: "
                        "the state as of a version includes that version's event.")
            return f"{where}, held_at(events, {version}) leaves out {seat}, which was held at version {version}."
        wrong = next(seat for seat in want if got[seat] != want[seat])
        return (f"{where}, held_at(events, {version}) gives {wrong} to {got[wrong]!r}: a seat released and reserved "
                "again belongs to the fan of its latest reservation.")
    return None


@student_check("held_at gives the seats held as of every version, as replaying the store does.")
def check_held_at(held_at: Any, seeds: tuple[int, ...] = ()) -> None:
    if not seeds:
        events, held = _studio_history()
        cases = [("the Studio's on-sale", events, held)]
    else:
        cases = [(f"a history generated from seed {seed}", *histories(seed)) for seed in seeds]
    for title, events, states in cases:
        problem = judge_held_at(title, events, states, held_at, _versions_asked(events))
        if problem:
            raise AssertionError(problem)


# --- step 4: the snapshot interval -------------------------------------------------------------------
def worst_load_ms(interval: float) -> float:
    """The concert's worst-case load with a snapshot every ``interval`` events, at the platform's costs.

    A load reads the latest snapshot and replays at most a whole interval after it; an interval
    as long as the stream leaves no snapshot at all, so a load replays every event.
    """
    s = SCENARIO
    if interval >= s.events:
        return s.full_replay_ms
    return s.snapshot_read_ms + s.per_event_ms * interval


def snapshots_kept(interval: float) -> int:
    """Snapshots an on-sale leaves with one every ``interval`` events (as ``snapshots.model`` counts them)."""
    return int(SCENARIO.events // interval)


def interval_bounds() -> tuple[int, int]:
    """The least and the greatest interval a design may choose (for the tests and the rubric)."""
    s = SCENARIO
    low = next(n for n in range(1, s.events) if snapshots_kept(n) <= s.max_snapshots)
    high = max(n for n in range(1, s.events) if worst_load_ms(n) <= s.load_budget_ms)
    return low, high


@student_check("snapshot_interval keeps every load of the concert within its budget without needless snapshots.")
def check_snapshot_interval(interval: Any) -> None:
    x = plain_number("snapshot_interval", interval)
    if x != math.floor(x) or x < 1:
        raise AssertionError(f"snapshot_interval = {x:g}: a snapshot is taken every so many events, a whole "
                             "number of at least 1.")
    s = SCENARIO
    if x >= s.events:
        raise AssertionError(f"snapshot_interval = {x:g} is too large: it leaves the concert without a snapshot for "
                             "its whole on-sale, so every load replays the whole stream, far over the budget.")
    if worst_load_ms(x) > s.load_budget_ms:
        raise AssertionError(f"snapshot_interval = {x:g} is too large: at worst a load reads the latest snapshot and "
                             "replays a whole interval of events after it, which at the platform's measured costs "
                             "takes longer than the budget. Snapshot more often.")
    if snapshots_kept(x) > s.max_snapshots:
        raise AssertionError(f"snapshot_interval = {x:g} is too small: it writes {fmt(snapshots_kept(x))} snapshots of "
                             "the concert in one on-sale — more than the platform keeps, each a write of every seat at "
                             "the height of the rush — where fewer would load within the budget too.")
