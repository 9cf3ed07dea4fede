"""Exercise 04, Event Sourcing System Design: Northgate Securities rebuilds any account as of any moment.

Everything the exercise adds in Python: its scenario (the firm, its regulator's questions, the
load-time budget and the store's measured costs), one client's trading day recorded as events
on a real store (SQLite), the desk-limit aggregate the student completes, and the checks its
test cells call. The notebook reads its numbers from here; solutions and checks compute from
it too.
"""

from __future__ import annotations

import math
import random
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

import pandas as pd
from eventsourcing.domain import event

from messagelab.eventstore.clock import CLOCK, TimedAggregate
from messagelab.eventstore.trading import InvariantError, Trading
from messagelab.grading import plain, plain_number, student_check
from messagelab.grading.code import drive
from messagelab.sim.display import fmt, text_table

ID = "ex04-event-sourcing"

#: Every graded cell of the notebook: grade_id -> (cell type, points).
GRADES: dict[str, tuple[str, float]] = {
    "arch-event-catalogue": ("code", 4),
    "arch-desk-limit": ("code", 5),
    "sys-temporal-query": ("code", 3),
    "sys-snapshot-interval": ("code", 3),
    "arch-diagram": ("markdown", 3),
    "arch-boundaries": ("markdown", 4),
    "arch-rationale": ("markdown", 4),
    "biz-impact": ("markdown", 4),
    "biz-roadmap": ("markdown", 3),
    "sys-risks": ("markdown", 4),
    "comm-summary": ("markdown", 3),
}

# --- the firm -----------------------------------------------------------------------------------
CLIENT_ACCOUNTS = 40_000
ORDERS_PER_DAY = 1_200_000
FILLS_PER_DAY = 2_600_000
#: The market-making desk's account: its events in a year, the longest stream of the store.
BUSIEST_EVENTS_PER_YEAR = 2_000_000
#: Loading an aggregate is on the path of every order: the budget for it, worst case.
LOAD_BUDGET_MS = 20.0
#: A snapshot is one more write: the most they may add to the store's writes.
SNAPSHOT_WRITE_SHARE = 0.01
RETENTION_YEARS = 7

#: Loading one account from the store, measured (``python benchmarks/bench_eventstore.py``,
#: SQLite, median of three): (events replayed, ms) — and reading a snapshot, ms.
MEASURED_LOADS: tuple[tuple[int, float], ...] = ((100, 2.7), (1_000, 21.8), (10_000, 211.0), (100_000, 2_111.0))
SNAPSHOT_READ_MS = 0.53

AGGREGATES = ("Account", "Order", "Position", "DeskLimit")

#: What the business does, and what its audit must be able to tell afterwards: each command's
#: facts, and the aggregates whose state it changes (each of which must record an event).
COMMANDS: dict[str, dict[str, Any]] = {
    "open_account": {"does": "a client opens an account with an opening balance",
                     "facts": ("owner", "cash", "currency"), "changes": ("Account",)},
    "deposit": {"does": "cash arrives from the client's bank", "facts": ("amount",), "changes": ("Account",)},
    "withdraw": {"does": "cash leaves for the client's bank", "facts": ("amount",), "changes": ("Account",)},
    "place_order": {"does": "a buy order is placed: its cash is held until it is filled or cancelled",
                    "facts": ("symbol", "side", "quantity", "limit"), "changes": ("Order", "Account")},
    "fill": {"does": "the exchange fills (part of) an order at a price",
             "facts": ("quantity", "price"), "changes": ("Order", "Account", "Position")},
    "cancel": {"does": "the client cancels what is left of an order", "facts": (), "changes": ("Order", "Account")},
    "reserve_notional": {"does": "an order takes its notional from its desk's daily limit",
                         "facts": ("order_id", "notional"), "changes": ("DeskLimit",)},
}

#: Past participles that do not end in -ed, for event names such as ``SharesSold``.
IRREGULAR_PAST = {"sold", "bought", "held", "sent", "paid", "made", "set", "taken", "given", "withdrawn", "spent",
                  "frozen", "done", "kept", "lost", "won", "put", "cut", "shut", "split", "dealt", "read"}


def scenario_frame() -> Any:
    """The firm's facts the design must serve, as a table."""
    full = fit()
    rows = [
        ("clients", f"{fmt(CLIENT_ACCOUNTS)} accounts; {fmt(ORDERS_PER_DAY)} orders and {fmt(FILLS_PER_DAY)} fills "
                    "a day"),
        ("the busiest account", f"the market-making desk's: {fmt(BUSIEST_EVENTS_PER_YEAR)} events a year"),
        ("loading an aggregate", f"on the path of every order: at most {fmt(LOAD_BUDGET_MS, 'ms')}, worst case"),
        ("snapshots", f"each one is a write: together at most {SNAPSHOT_WRITE_SHARE:.0%} more writes"),
        ("the store's measured loads", "; ".join(f"{fmt(n)} events in {fmt(ms, 'ms')}" for n, ms in MEASURED_LOADS)
         + f"; reading a snapshot {fmt(SNAPSHOT_READ_MS, 'ms')}"),
        ("a line through them", f"{fmt(full[0], 'ms')} + {full[1]:.4f} ms per event"),
        ("records", f"every order, fill and cancellation, kept {RETENTION_YEARS} years, as the system knew them"),
    ]
    return text_table(pd.DataFrame(rows, columns=["fact", "value"]).set_index("fact"))


def commands_frame() -> Any:
    """What the business does: each command, the facts its audit needs, the aggregates it changes."""
    rows = [(name, c["does"], ", ".join(c["facts"]) or "none", ", ".join(c["changes"]))
            for name, c in COMMANDS.items()]
    return text_table(pd.DataFrame(rows, columns=["command", "what happens", "facts the audit needs",
                                                  "state it changes"]).set_index("command"))


# --- the event catalogue ------------------------------------------------------------------------
def _words(name: str) -> list[str]:
    return re.findall(r"[A-Z][a-z0-9]*", name)


def past_tense(name: str) -> bool:
    """Whether an event name says what happened: PascalCase whose last word is a past participle.

    >>> past_tense("OrderFilled"), past_tense("SharesSold"), past_tense("FillOrder"), past_tense("orderFilled")
    (True, True, False, False)
    """
    if not re.fullmatch(r"(?:[A-Z][a-z0-9]*)+", name):
        return False
    last = _words(name)[-1].lower()
    return last.endswith("ed") or last in IRREGULAR_PAST


#: The catalogue's first rows, given: (event, aggregate, command, the data it carries).
STARTER_CATALOGUE = [
    ("AccountOpened", "Account", "open_account", ["owner", "cash", "currency"]),
    ("CashDeposited", "Account", "deposit", ["amount"]),
    ("CashWithdrawn", "Account", "withdraw", ["amount"]),
]
CATALOGUE_KEYS = ("event", "aggregate", "command", "data")


def _row(row: Any) -> dict[str, Any] | None:
    """A catalogue row as a dict of plain values, from a dict or an (event, aggregate, command, data) tuple.

    None when it is neither, or holds anything but text (and a list of text for the data).
    """
    if type(row) in (list, tuple) and len(row) == len(CATALOGUE_KEYS):
        row = dict(zip(CATALOGUE_KEYS, row, strict=True))
    if type(row) is not dict or set(row) - set(CATALOGUE_KEYS):
        return None
    data = row.get("data", [])
    if type(data) not in (list, tuple) or not all(type(d) is str for d in data):
        return None
    if not all(type(row.get(k)) is str for k in CATALOGUE_KEYS[:3]):
        return None
    return {**row, "data": list(data)}


def catalogue_frame(catalogue: Any) -> Any:
    """A catalogue as a table, one event a row."""
    rows = [_row(r) or {} for r in catalogue]
    frame = pd.DataFrame([{**r, "data": ", ".join(map(str, r.get("data") or []))} for r in rows],
                         columns=list(CATALOGUE_KEYS))
    return text_table(frame.set_index("event"))


def catalogue_problems(catalogue: Any) -> list[str]:
    """What makes an event catalogue inconsistent with the business, each problem in words."""
    rows = [_row(r) for r in catalogue] if type(catalogue) in (list, tuple) else []
    if not rows or any(r is None for r in rows):
        return ["catalogue must be a list of rows, each (event, aggregate, command, [data, ...]) in text, or a "
                "dict of those keys"]
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    events_of: dict[str, list[dict[str, Any]]] = {name: [] for name in COMMANDS}
    for i, row in enumerate(rows):
        name, aggregate, command = row.get("event"), row.get("aggregate"), row.get("command")
        where = f"row {i} ({name!r})"
        if not past_tense(name):
            problems.append(f"{where}: an event is a fact that happened, named in the past tense in PascalCase "
                            "(what happened, not what to do)")
        if aggregate not in AGGREGATES:
            problems.append(f"{where}: aggregate must be one of {', '.join(AGGREGATES)}")
        if command not in COMMANDS:
            problems.append(f"{where}: command must be one of the business's commands ({', '.join(COMMANDS)})")
            continue
        if (name, aggregate) in seen:
            problems.append(f"{where}: the same event twice in one aggregate")
        seen.add((name, aggregate))
        events_of[command].append(row)
    for command, spec in COMMANDS.items():
        recorded = events_of[command]
        if not recorded:
            problems.append(f"{command}: no event records it, so the log cannot tell that it happened")
            continue
        missing = sorted(set(spec["changes"]) - {r["aggregate"] for r in recorded})
        if missing:
            problems.append(f"{command}: it changes the state of {', '.join(missing)} too; an aggregate's state is "
                            "only what its own events say")
        said = {field for r in recorded for field in r["data"]}
        lost = [f for f in spec["facts"] if f not in said]
        if lost:
            problems.append(f"{command}: the audit could not tell {', '.join(lost)} afterwards: no event of it "
                            "carries that")
    return problems


@student_check("The event catalogue records every command, in the past tense, in the aggregates it changes.")
def check_catalogue(catalogue: Any) -> None:
    problems = catalogue_problems(catalogue)
    if problems:
        raise AssertionError("The event catalogue needs work:\n- " + "\n- ".join(problems[:8]))


# --- the desk limit -----------------------------------------------------------------------------
class LimitBreached(InvariantError):
    """A reservation the desk's limit cannot take: no event is recorded."""


class DeskLimitBase(TimedAggregate):
    """A trading desk's daily notional limit, set by the risk committee; orders reserve against it.

    What it holds: ``desk``, ``limit`` and ``reserved`` (order id → notional, both plain);
    ``used`` is the sum of what is reserved. Given: the creation event, and the command that
    releases an order's reservation — a worked example of a command and its event. The
    exercise completes it with ``reserve``.
    """

    @event("LimitSet")
    def __init__(self, desk: str, limit: int) -> None:
        self.desk, self.limit = desk, limit
        self.reserved: dict[str, int] = {}

    @property
    def used(self) -> int:
        return sum(self.reserved.values())

    def release(self, order_id: str) -> None:
        """Release an order's reservation (it was filled or cancelled); an unknown order is refused."""
        if order_id not in self.reserved:
            raise InvariantError(f"order {order_id} holds nothing on desk {self.desk}")
        self._notional_released(order_id=order_id)

    @event("NotionalReleased")
    def _notional_released(self, order_id: str) -> None:
        del self.reserved[order_id]


DESK_LIMIT = 1_000_000
DRIVER = "messagelab.grading.aggregates:run_script"


def _script(commands: list[list[Any]], limit: int = DESK_LIMIT) -> dict[str, Any]:
    return {"create": {"desk": "equities", "limit": limit}, "commands": commands, "state": ["reserved", "limit"]}


#: The visible scripts: reservations up to the limit, one beyond it, a retried one, a release and a reuse.
def _reserve(order_id: str, notional: int) -> list[Any]:
    return ["reserve", {"order_id": order_id, "notional": notional}]


VISIBLE_SCRIPTS = [
    _script([_reserve("o1", 400_000), _reserve("o2", 600_000)]),
    _script([_reserve("o1", 600_000), _reserve("o2", 500_000)]),
    _script([_reserve("o1", 300_000), _reserve("o1", 300_000)]),
    _script([_reserve("o1", 700_000), ["release", {"order_id": "o1"}], _reserve("o2", 900_000)]),
]


def random_scripts(seed: int, count: int = 8) -> list[dict[str, Any]]:
    """Scripts of random reservations and releases near the limit (hidden checks use other seeds)."""
    rng = random.Random(seed)
    scripts = []
    for _ in range(count):
        limit = rng.choice((250_000, 1_000_000, 5_000_000))
        commands: list[list[Any]] = []
        orders: list[str] = []
        for _ in range(rng.randint(3, 12)):
            if orders and rng.random() < 0.25:
                commands.append(["release", {"order_id": rng.choice(orders)}])
            elif commands and commands[-1][0] == "reserve" and rng.random() < 0.3:
                commands.append(commands[-1])   # the order service resends after a timeout
            else:
                orders.append(f"o{rng.randint(1, 10_000)}")
                notional = rng.choice((1, limit // 10, limit // 3, limit // 2, limit, limit + 1))
                commands.append(_reserve(orders[-1], notional))
        scripts.append(_script(commands, limit))
    return scripts


def expected_outcome(script: dict[str, Any]) -> dict[str, Any]:
    """What a desk limit must do on ``script``: every command's events or refusal, and the state."""
    limit = script["create"]["limit"]
    reserved: dict[str, int] = {}
    outcomes = []
    for method, kwargs in script["commands"]:
        order = kwargs["order_id"]
        if method == "release":
            if order in reserved:
                del reserved[order]
                outcomes.append({"ok": True, "events": [["NotionalReleased", {"order_id": order}]]})
            else:
                outcomes.append({"ok": False, "error": "InvariantError", "events": []})
            continue
        notional = kwargs["notional"]
        if order in reserved:
            outcomes.append({"ok": True, "events": []})
        elif sum(reserved.values()) + notional > limit:
            outcomes.append({"ok": False, "error": "LimitBreached", "events": []})
        else:
            reserved[order] = notional
            outcomes.append({"ok": True, "events": [["NotionalReserved", {"order_id": order, "notional": notional}]]})
    return {"outcomes": outcomes, "state": {"reserved": reserved, "limit": limit}}


def _said(command: list[Any]) -> str:
    method, kwargs = command
    return f"{method}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"


def desk_limit_problems(outcomes: Sequence[Any], scripts: Sequence[dict[str, Any]]) -> list[str]:
    """How the student's desk limit differs from what the business needs, script by script."""
    for script, got in zip(scripts, outcomes, strict=True):
        want = expected_outcome(script)
        if not isinstance(got, dict) or not got.get("created"):
            return ["DeskLimit(desk=..., limit=...) could not be created: keep the base class's __init__"]
        before: list[str] = []
        for command, mine, right in zip(script["commands"], got["outcomes"], want["outcomes"], strict=True):
            step = f"after {', '.join(before) or 'creation'}, {_said(command)}"
            before.append(_said(command))
            if right["ok"] and not mine["ok"]:
                return [f"{step} was refused ({mine['error']}), though the limit can take it"]
            if not right["ok"] and mine["ok"]:
                return [f"{step} was accepted, though it would take the desk beyond its limit: a command "
                        "checks the invariant before it records an event"]
            if not right["ok"] and right["error"] == "LimitBreached" and mine.get("error") != "LimitBreached":
                return [f"{step} was refused with {mine.get('error')}; refuse it with ex04.LimitBreached, so the "
                        "order service can tell a breached limit from a fault"]
            if mine["events"] != right["events"]:
                if not right["events"] and command[0] == "reserve":
                    return [f"{step} recorded {len(mine['events'])} event(s): the order already holds its "
                            "reservation, so a retried command must change nothing"]
                names = [e[0] for e in mine["events"]]
                return [f"{step} recorded {names or 'no event'}: a reservation records one NotionalReserved "
                        "event carrying its order_id and notional, and nothing else"]
        if got["state"] != want["state"]:
            return [f"after {', '.join(before)}, the desk holds {got['state']['reserved']}: the event's method "
                    "must apply the reservation to the state"]
        if got["replayed"] != got["state"]:
            return [f"after {', '.join(before)}, replaying the recorded events gives {got['replayed']}, not the "
                    "live state: change the state only in the @event method, never in the command"]
    return []


@student_check("The desk limit takes reservations within its limit, refuses the rest, and replays to its state.")
def check_desk_limit(desk_limit: Any, seeds: Sequence[int] = ()) -> None:
    scripts = VISIBLE_SCRIPTS + [s for seed in seeds for s in random_scripts(seed)]
    problems = desk_limit_problems(drive(desk_limit, DRIVER, scripts), scripts)
    if problems:
        raise AssertionError(problems[0])


# --- one client's trading day -------------------------------------------------------------------
DAY = datetime(2026, 3, 2, tzinfo=UTC)
CLIENT = "Maren Holt"


def at(hhmmss: str) -> datetime:
    """A time of the trading day (UTC)."""
    h, m, s = (int(x) for x in hhmmss.split(":"))
    return DAY.replace(hour=h, minute=m, second=s)


#: The client's day as the system recorded it: (time recorded, command, arguments). The
#: refused order at 10:32 records nothing; the deposit she made at 09:50 was booked at 10:47.
DAY_SCRIPT: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("09:30:00", "open_account", {"cash": 30_000}),
    ("09:42:15", "place_order", {"order": "A", "symbol": "VWS", "side": "buy", "quantity": 100, "limit": 160}),
    ("09:58:40", "fill", {"order": "A", "quantity": 60, "price": 158}),
    ("10:15:05", "place_order", {"order": "B", "symbol": "ORSTED", "side": "buy", "quantity": 50, "limit": 210}),
    ("10:32:00", "place_order", {"order": "C", "symbol": "NOVO", "side": "buy", "quantity": 40, "limit": 120}),
    ("10:47:30", "deposit", {"amount": 20_000}),
    ("11:05:12", "fill", {"order": "A", "quantity": 40, "price": 159}),
    ("11:20:00", "cancel", {"order": "B"}),
    ("14:10:45", "withdraw", {"amount": 5_000}),
)
DISPUTE = "10:32:00"


@cache
def trading_day() -> tuple[Trading, uuid.UUID, dict[str, str]]:
    """The client's day on a real store (SQLite): the application, her account, and what each command did."""
    app = Trading()
    orders: dict[str, uuid.UUID] = {}
    said: dict[str, str] = {}
    account = None
    for when, command, args in DAY_SCRIPT:
        with CLOCK.at(at(when)):
            try:
                if command == "open_account":
                    account = app.open_account(CLIENT, args["cash"])
                elif command == "place_order":
                    orders[args["order"]] = app.place_order(account, args["symbol"], args["side"], args["quantity"],
                                                            args["limit"])
                elif command == "fill":
                    app.fill(orders[args["order"]], args["quantity"], args["price"])
                elif command == "cancel":
                    app.cancel(orders[args["order"]])
                else:
                    getattr(app, command)(account, args["amount"])
                said[when] = "recorded"
            except InvariantError:
                said[when] = "refused: nothing recorded"
    assert account is not None
    return app, account, said


def day_frame() -> Any:
    """The client's day as the firm's systems saw it: what was asked, when, and what came of it."""
    _app, _account, said = trading_day()
    rows = [(when, command, ", ".join(f"{k} {fmt(v) if isinstance(v, int) else v}" for k, v in args.items()),
             said[when]) for when, command, args in DAY_SCRIPT]
    return text_table(pd.DataFrame(rows, columns=["recorded at (UTC)", "command", "arguments", "outcome"])
                      .set_index("recorded at (UTC)"))


def believed_at(hhmmss: str) -> dict[str, Any]:
    """What the system believed of the client's account at a time of the day: version, cash, reserved, free."""
    app, account_id, _said = trading_day()
    account = app.account_at(account_id, at(hhmmss))
    if account is None:
        return {"version": 0, "cash": 0, "reserved": 0, "free_cash": 0}
    return {"version": account.version, "cash": account.cash, "reserved": account.reserved,
            "free_cash": account.cash - account.reserved}


def audit_frame(until: str | None = None) -> Any:
    """The account's audit trail up to a time: every event, when it was recorded, and what it said."""
    app, account_id, _said = trading_day()
    rows = app.audit_trail(account_id, until=at(until) if until else None)
    shown = [{"version": r["version"], "recorded at": r["at"].strftime("%H:%M:%S"), "event": r["event"],
              "data": ", ".join(f"{k} {fmt(v) if isinstance(v, int) else v}" for k, v in r.items()
                                if k not in ("version", "at", "event", "owner", "subject"))} for r in rows]
    return text_table(pd.DataFrame(shown).set_index("version"))


def read_model_frame(steps: Sequence[int] = (0, 3, 6, 100)) -> Any:
    """The query side catching up: after applying so many notifications, its lag and what it shows."""
    from messagelab.eventstore.projections import PositionsView

    app, account_id, _said = trading_day()
    view = PositionsView(":memory:")
    rows, done = [], 0
    for step in steps:
        if step > done:
            done += view.catch_up(app, limit=step - done)
        rows.append({"notifications applied": view.position(), "lag": view.lag(app),
                     "cash shown": fmt(view.cash(account_id) or 0), "VWS shares shown": view.shares(account_id, "VWS")})
    truth = app.account(account_id)
    rows.append({"notifications applied": "the write side", "lag": "", "cash shown": fmt(truth.cash),
                 "VWS shares shown": app.position(account_id, "VWS").shares})
    return text_table(pd.DataFrame(rows).set_index("notifications applied"))


def erasure_frame() -> Any:
    """Crypto-shredding, shown: a client's name sealed with a key of their own, then the key forgotten.

    The account's events are the same before and after: nothing in the log is rewritten. What
    changes is that the name can no longer be read, by the store or by anyone with a copy of it.
    """
    from messagelab.eventstore.shredding import KeyStore

    app = Trading(keys=KeyStore(":memory:"))
    with CLOCK.at(at("09:30:00")):
        account_id = app.open_account(CLIENT, 30_000)
    stored = next(iter(app.history(account_id))).owner
    rows = [("before erasure", app.owner_of(account_id), len(app.history(account_id)), f"{stored[:24]}…",
             fmt(app.account(account_id).cash))]
    app.erase_owner(account_id)
    rows.append(("after erasure", app.owner_of(account_id), len(app.history(account_id)),
                 f"{next(iter(app.history(account_id))).owner[:24]}…", fmt(app.account(account_id).cash)))
    return text_table(pd.DataFrame(rows, columns=["", "owner as read", "events stored", "owner as stored",
                                                  "cash"]).set_index(""))


def deposit_recorded() -> str:
    """When the store learned of the morning's deposit (HH:MM), from the account's events."""
    app, account_id, _said = trading_day()
    e = next(e for e in app.history(account_id) if type(e).__name__ == "CashDeposited")
    return e.timestamp.strftime("%H:%M")


@student_check("The dispute is answered as the system believed it at the time, with the event that explains it.")
def check_dispute(dispute: Any) -> None:
    answer = dispute
    if type(answer) is not dict or set(answer) != {"version", "free_cash", "deposit_recorded"}:
        raise AssertionError("dispute must be a dict with the keys version, free_cash and deposit_recorded")
    then = believed_at(DISPUTE)
    if plain_number("dispute['version']", answer["version"]) != then["version"]:
        raise AssertionError(f"dispute['version'] is not the account's version at {DISPUTE}: the version as of a "
                             "time is its last event recorded at or before it")
    if plain_number("dispute['free_cash']", answer["free_cash"]) != then["free_cash"]:
        raise AssertionError("dispute['free_cash'] is not what the order could use then: free cash is the cash "
                             "less what open buy orders hold reserved, as of that version")
    if plain("dispute['deposit_recorded']", answer["deposit_recorded"]) != deposit_recorded():
        raise AssertionError("dispute['deposit_recorded'] is not when the store recorded the deposit (HH:MM): "
                             "look at the event's time, not at when the client says she paid")


# --- the snapshot interval ----------------------------------------------------------------------
def fit() -> tuple[float, float]:
    """(fixed ms, ms per event) of a full replay: the least-squares line through the measured loads."""
    from messagelab.eventstore.snapshots import fit as fit_costs

    return fit_costs(pd.DataFrame(MEASURED_LOADS, columns=["events", "full_ms"]))


def worst_load_ms(interval: float) -> float:
    """The longest load with a snapshot every ``interval`` events: a snapshot read and a whole interval replayed."""
    return SNAPSHOT_READ_MS + fit()[1] * interval


def full_replay_s(events: int = BUSIEST_EVENTS_PER_YEAR) -> float:
    fixed, per_event = fit()
    return (fixed + per_event * events) / 1000


@student_check("The snapshot interval keeps the busiest account within its load budget at little extra writing.")
def check_snapshot_interval(interval: Any) -> None:
    k = plain_number("snapshot_interval", interval)
    if k != int(k) or k < 1:
        raise AssertionError("snapshot_interval is a whole number of events, at least 1")
    if worst_load_ms(k) > LOAD_BUDGET_MS:
        raise AssertionError(f"with a snapshot every {fmt(k)} events the worst load replays {fmt(k)} events after "
                             f"the snapshot: {fmt(worst_load_ms(k), 'ms')}, over the budget. Snapshot more often.")
    if 1 / k > SNAPSHOT_WRITE_SHARE:
        raise AssertionError(f"a snapshot every {fmt(k)} events adds {1 / k:.0%} to the writes, more than the "
                             "store can spare: the budget allows snapshotting less often.")


def interval_range() -> tuple[int, int]:
    """The snapshot intervals that meet both the load budget and the writes' share (the check's range)."""
    return math.ceil(1 / SNAPSHOT_WRITE_SHARE), math.floor((LOAD_BUDGET_MS - SNAPSHOT_READ_MS) / fit()[1])
