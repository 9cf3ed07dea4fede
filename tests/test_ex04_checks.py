"""Exercise 04's checks: the reference answers pass, and each typical mistake fails with a direction.

The desk limit is checked as the course grades it too: through ``drive``, on plain scripts,
with the replayed state compared to the live one. The snapshot interval is swept over its
range: every interval the check accepts meets the load budget and the writes' share.
"""

from __future__ import annotations

import pytest
from eventsourcing.domain import event

from messagelab.assignments import ex04
from messagelab.eventstore.trading import InvariantError

REFERENCE_CATALOGUE = ex04.STARTER_CATALOGUE + [
    ("OrderPlaced", "Order", "place_order", ["account_id", "symbol", "side", "quantity", "limit"]),
    ("CashReserved", "Account", "place_order", ["amount"]),
    ("OrderFilled", "Order", "fill", ["quantity", "price"]),
    ("CashSpent", "Account", "fill", ["reserved", "paid"]),
    ("SharesBought", "Position", "fill", ["quantity"]),
    ("OrderCancelled", "Order", "cancel", []),
    ("CashReleased", "Account", "cancel", ["amount"]),
    ("NotionalReserved", "DeskLimit", "reserve_notional", ["order_id", "notional"]),
]


def failure(check, *args, **kwargs) -> str:
    with pytest.raises(AssertionError) as e:
        check(*args, **kwargs)
    return str(e.value)


# --- the catalogue ---------------------------------------------------------------------------
def test_the_reference_catalogue_passes(capsys):
    ex04.check_catalogue(REFERENCE_CATALOGUE)
    assert capsys.readouterr().out.startswith("✓")
    # Rows may be dicts as well as tuples.
    as_dicts = [dict(zip(ex04.CATALOGUE_KEYS, row, strict=True)) for row in REFERENCE_CATALOGUE]
    assert ex04.catalogue_problems(as_dicts) == []


@pytest.mark.parametrize(("change", "said"), [
    (lambda c: [r for r in c if r[2] != "cancel"], "cancel: no event records it"),
    (lambda c: [r for r in c if r[0] != "SharesBought"], "fill: it changes the state of Position too"),
    (lambda c: [r if r[0] != "OrderFilled" else ("OrderFilled", "Order", "fill", ["quantity"]) for r in c],
     "the audit could not tell price"),
    (lambda c: [r if r[0] != "OrderPlaced" else ("PlaceOrder", *r[1:]) for r in c], "in the past tense"),
    (lambda c: [*c, ("TradeBooked", "Trade", "fill", [])], "aggregate must be one of"),
    (lambda c: [*c, ("OrderAmended", "Order", "amend", [])], "one of the business's commands"),
    (lambda c: [*c, c[-1]], "the same event twice"),
    (lambda c: [(r[0], r[1], r[2], r[3][0] if r[3] else 1) for r in c], "catalogue must be a list of rows"),
])
def test_a_catalogue_with_a_gap_says_where(change, said):
    assert said in failure(ex04.check_catalogue, change(REFERENCE_CATALOGUE))


def test_past_tense_names():
    assert all(ex04.past_tense(name) for name in ("OrderFilled", "SharesSold", "CashWithdrawn", "LimitSet"))
    assert not any(ex04.past_tense(name) for name in ("FillOrder", "orderFilled", "Order_Filled", "Deposit", ""))


# --- the desk limit ----------------------------------------------------------------------------
class Reference(ex04.DeskLimitBase):
    def reserve(self, order_id, notional):
        if order_id in self.reserved:
            return
        if self.used + notional > self.limit:
            raise ex04.LimitBreached(f"{notional} more would take desk {self.desk} past {self.limit}")
        self._notional_reserved(order_id=order_id, notional=notional)

    @event("NotionalReserved")
    def _notional_reserved(self, order_id, notional):
        self.reserved[order_id] = notional


class StateWithoutEvent(Reference):
    def reserve(self, order_id, notional):
        if order_id not in self.reserved and self.used + notional <= self.limit:
            self.reserved[order_id] = notional  # the state changes, no event is recorded


class NoLimit(Reference):
    def reserve(self, order_id, notional):
        if order_id not in self.reserved:
            self._notional_reserved(order_id=order_id, notional=notional)


class NotIdempotent(Reference):
    def reserve(self, order_id, notional):
        if self.used + notional > self.limit:
            raise ex04.LimitBreached("over")
        self._notional_reserved(order_id=order_id, notional=notional)


class WrongError(Reference):
    def reserve(self, order_id, notional):
        if order_id not in self.reserved and self.used + notional > self.limit:
            raise ValueError("over")
        super().reserve(order_id, notional)


class OffByOne(Reference):
    def reserve(self, order_id, notional):
        if order_id not in self.reserved and self.used + notional >= self.limit:
            raise ex04.LimitBreached("at the limit")
        super().reserve(order_id, notional)


class MutatesInCommand(ex04.DeskLimitBase):
    def reserve(self, order_id, notional):
        if order_id in self.reserved:
            return
        if self.used + notional > self.limit:
            raise ex04.LimitBreached("over")
        self.reserved[order_id] = notional
        self._notional_reserved(order_id=order_id, notional=notional)

    @event("NotionalReserved")
    def _notional_reserved(self, order_id, notional):
        pass


def test_the_reference_desk_limit_passes_visible_and_hidden_scripts(capsys):
    ex04.check_desk_limit(Reference)
    ex04.check_desk_limit(Reference, seeds=(41, 42, 43, 44))
    assert [line[0] for line in capsys.readouterr().out.splitlines()] == ["✓", "✓"]


@pytest.mark.parametrize(("cls", "said"), [
    (StateWithoutEvent, "recorded no event"),
    (NoLimit, "accepted, though it would take the desk beyond its limit"),
    (NotIdempotent, "a retried command must change nothing"),
    (WrongError, "refuse it with ex04.LimitBreached"),
    (OffByOne, "was refused (LimitBreached), though the limit can take it"),
    (MutatesInCommand, "change the state only in the @event method"),
    (ex04.DeskLimitBase, "was refused (AttributeError)"),
])
def test_a_wrong_desk_limit_fails_with_a_direction(cls, said):
    assert said in failure(ex04.check_desk_limit, cls)


def test_hidden_scripts_are_deterministic_and_reach_the_limit():
    assert ex04.random_scripts(41) == ex04.random_scripts(41) != ex04.random_scripts(42)
    outcomes = [o for s in ex04.random_scripts(41) for o in ex04.expected_outcome(s)["outcomes"]]
    assert any(o.get("error") == "LimitBreached" for o in outcomes)
    assert any(o["ok"] and not o["events"] for o in outcomes)   # a retry
    assert any(o["ok"] and o["events"] and o["events"][0][0] == "NotionalReleased" for o in outcomes)


def test_the_base_release_refuses_an_unknown_order():
    desk = ex04.DeskLimitBase(desk="fx", limit=10)
    with pytest.raises(InvariantError):
        desk.release("nothing")


# --- the dispute -------------------------------------------------------------------------------
def test_the_dispute_is_answered_as_of_the_time():
    app, account_id, said = ex04.trading_day()
    assert said[ex04.DISPUTE].startswith("refused")
    then = ex04.believed_at(ex04.DISPUTE)
    # The order needed 40 × 120 of free cash; the deposit that would have covered it came later.
    assert then["free_cash"] < 40 * 120 <= then["free_cash"] + 20_000
    assert ex04.deposit_recorded() > ex04.DISPUTE[:5]
    answer = {"version": then["version"], "free_cash": then["free_cash"], "deposit_recorded": ex04.deposit_recorded()}
    ex04.check_dispute(answer)
    assert "version at" in failure(ex04.check_dispute, {**answer, "version": app.account(account_id).version})
    now = app.account(account_id)
    assert "free cash is the cash less" in failure(ex04.check_dispute, {**answer, "free_cash": now.cash})
    assert "not at when the client says" in failure(ex04.check_dispute, {**answer, "deposit_recorded": "09:50"})
    assert "keys" in failure(ex04.check_dispute, [then["version"]])


# --- the snapshot interval ---------------------------------------------------------------------
def test_every_interval_the_check_accepts_meets_the_budget_and_the_writes_share():
    accepted = []
    for k in [1, 10, 50, 99, 100, 101, 200, 500, 900, 1_000, 1_100, 1_158, 1_159, 1_160, 2_000, 10_000, 10**6]:
        try:
            ex04.check_snapshot_interval(k)
            accepted.append(k)
        except AssertionError:
            pass
    low, high = ex04.interval_range()
    assert accepted == [k for k in accepted if low <= k <= high] and accepted
    for k in accepted:
        assert ex04.worst_load_ms(k) <= ex04.LOAD_BUDGET_MS and 1 / k <= ex04.SNAPSHOT_WRITE_SHARE
    assert "Snapshot more often" in failure(ex04.check_snapshot_interval, high + 1)
    assert "snapshotting less often" in failure(ex04.check_snapshot_interval, low - 1)
    assert "whole number" in failure(ex04.check_snapshot_interval, 250.5)


def test_the_fit_follows_the_measured_loads():
    fixed, per_event = ex04.fit()
    for events, ms in ex04.MEASURED_LOADS:
        assert fixed + per_event * events == pytest.approx(ms, rel=0.25)
    # A year of the busiest account, replayed in full, is far beyond the budget.
    assert ex04.full_replay_s() * 1000 > 100 * ex04.LOAD_BUDGET_MS


def test_erasure_keeps_every_event_and_makes_the_name_unreadable():
    table = ex04.erasure_frame().data
    before, after = table.loc["before erasure"], table.loc["after erasure"]
    assert before["owner as read"] == ex04.CLIENT and after["owner as read"] == "(erased)"
    assert before["events stored"] == after["events stored"] and before["owner as stored"] == after["owner as stored"]
    assert ex04.CLIENT not in before["owner as stored"] and before["cash"] == after["cash"]
