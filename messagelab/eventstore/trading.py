"""A trading domain, event-sourced: accounts, orders and positions whose invariants hold.

Every change is an event, named in the past tense (``AccountOpened``, ``CashDeposited``,
``OrderFilled``), appended to the aggregate's own sequence in the event store; an aggregate's
state is what replaying its events gives. The aggregates are ``eventsourcing`` aggregates (the
well-kept library of the field: its ``Aggregate`` and ``event`` decorator, its repository,
snapshots and notification log), and :class:`Trading` is an ``eventsourcing`` application
whose events live in SQLite by default (a file, nothing to start).

Invariants, checked before an event is triggered so that no event in the store breaks them:

- an account's cash never goes negative (a withdrawal or a buy fill beyond it is refused);
- an order is never filled beyond its quantity, nor after it was cancelled;
- a position never goes short (a sell fill beyond the shares held is refused).

A fill changes three aggregates (the order, the account's cash, the position) and saves their
events in one atomic write: all or none. Two writers that change one aggregate at the same
version conflict; the store keeps the first and refuses the second (optimistic concurrency),
which :func:`retrying` turns into a reload and a second try, so nothing is lost.

>>> app = Trading(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
>>> alice = app.open_account("Alice", 1_000)
>>> order = app.place_order(alice, "VWS", "buy", 10, 45)
>>> app.fill(order, 10, 44)
>>> app.account(alice).cash, app.position(alice, "VWS").shares
(560, 10)
>>> [type(e).__name__ for e in app.history(alice)]
['AccountOpened', 'CashReserved', 'CashSpent']
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import event
from eventsourcing.persistence import IntegrityError

from messagelab.eventstore.clock import TimedAggregate
from messagelab.eventstore.shredding import FORGOTTEN, KeyStore

T = TypeVar("T")

SIDES = ("buy", "sell")


class InvariantError(ValueError):
    """A command the domain refuses: it would break an invariant. No event is stored."""


#: What every account opened before accounts had a currency was in.
LEGACY_CURRENCY = "EUR"


class Account(TimedAggregate):
    """A trading account: its owner, its currency and its cash, part of which buy orders hold reserved."""

    class AccountOpened(TimedAggregate.Created):
        """Version 2 of the event carries the account's currency; version 1 did not.

        The store keeps every version-1 event as it was written (the log is immutable); reading
        one upcasts it — :meth:`upcast_v1_v2` adds the currency every such account was in — so
        the domain only ever sees version 2.
        """

        owner: str
        cash: int
        currency: str
        subject: str | None
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["currency"] = LEGACY_CURRENCY
            state["subject"] = None   # nothing was sealed before version 2

    @event(AccountOpened)
    def __init__(self, owner: str, cash: int, currency: str, subject: str | None = None) -> None:
        #: The owner's name, or (when ``subject`` is set) the name sealed with that subject's key.
        self.owner = owner
        self.subject = subject
        self.cash = cash
        self.currency = currency
        self.reserved = 0

    def deposit(self, amount: int) -> None:
        if amount <= 0:
            raise InvariantError(f"a deposit must be positive, not {amount}")
        self._deposited(amount)

    @event("CashDeposited")
    def _deposited(self, amount: int) -> None:
        self.cash += amount

    def withdraw(self, amount: int) -> None:
        if amount <= 0 or amount > self.cash - self.reserved:
            raise InvariantError(f"cannot withdraw {amount}: {self.cash - self.reserved} is free")
        self._withdrawn(amount)

    @event("CashWithdrawn")
    def _withdrawn(self, amount: int) -> None:
        self.cash -= amount

    def reserve(self, amount: int) -> None:
        if amount > self.cash - self.reserved:
            raise InvariantError(f"cannot reserve {amount}: {self.cash - self.reserved} is free")
        self._reserved(amount)

    @event("CashReserved")
    def _reserved(self, amount: int) -> None:
        self.reserved += amount

    @event("CashSpent")
    def spend(self, reserved: int, paid: int) -> None:
        """A buy fill: ``paid`` leaves the account and ``reserved`` of the reservation is released."""
        self.reserved -= reserved
        self.cash -= paid

    @event("CashReleased")
    def release(self, amount: int) -> None:
        self.reserved -= amount

    @event("CashReceived")
    def receive(self, amount: int) -> None:
        self.cash += amount


class Order(TimedAggregate):
    """A limit order of one account for one instrument."""

    @event("OrderPlaced")
    def __init__(self, account_id: uuid.UUID, symbol: str, side: str, quantity: int, limit: int) -> None:
        self.account_id, self.symbol, self.side = account_id, symbol, side
        self.quantity, self.limit = quantity, limit
        self.filled = 0
        self.cancelled = False

    @property
    def open_quantity(self) -> int:
        return 0 if self.cancelled else self.quantity - self.filled

    def fill(self, quantity: int, price: int) -> None:
        if self.cancelled:
            raise InvariantError("a cancelled order cannot be filled")
        if quantity <= 0 or quantity > self.quantity - self.filled:
            raise InvariantError(f"cannot fill {quantity}: {self.quantity - self.filled} remain")
        if (self.side == "buy" and price > self.limit) or (self.side == "sell" and price < self.limit):
            raise InvariantError(f"a fill at {price} breaks the order's limit of {self.limit}")
        self._filled(quantity, price)

    @event("OrderFilled")
    def _filled(self, quantity: int, price: int) -> None:
        self.filled += quantity

    def cancel(self) -> None:
        if self.cancelled or self.filled == self.quantity:
            raise InvariantError("only an open order can be cancelled")
        self._cancelled()

    @event("OrderCancelled")
    def _cancelled(self) -> None:
        self.cancelled = True


class Position(TimedAggregate):
    """The shares one account holds of one instrument (one aggregate per account and symbol)."""

    @staticmethod
    def create_id(account_id: uuid.UUID, symbol: str) -> uuid.UUID:
        return uuid.uuid5(account_id, symbol)

    @event("PositionOpened")
    def __init__(self, account_id: uuid.UUID, symbol: str) -> None:
        self.account_id, self.symbol = account_id, symbol
        self.shares = 0

    @event("SharesBought")
    def buy(self, quantity: int) -> None:
        self.shares += quantity

    def sell(self, quantity: int) -> None:
        if quantity > self.shares:
            raise InvariantError(f"cannot sell {quantity}: {self.shares} held")
        self._sold(quantity)

    @event("SharesSold")
    def _sold(self, quantity: int) -> None:
        self.shares -= quantity


class Trading(Application):
    """The trading application: commands in, events stored, aggregates read back by replay.

    ``env`` selects the store as ``eventsourcing`` does: ``PERSISTENCE_MODULE`` is
    ``eventsourcing.sqlite`` with ``SQLITE_DBNAME`` a file (the default here), or
    ``eventsourcing.popo`` (in memory, for examples). ``snapshotting_intervals`` takes a
    snapshot of an account every so many of its events.
    """

    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": ":memory:"}

    def __init__(self, env: Mapping[str, str] | None = None, keys: KeyStore | None = None) -> None:
        super().__init__(env)
        #: Where the owners' personal data keys live; None stores names as they are.
        self.keys = keys

    def open_account(self, owner: str, cash: int, currency: str = LEGACY_CURRENCY) -> uuid.UUID:
        if cash < 0:
            raise InvariantError(f"an account cannot open with {cash}")
        if self.keys is None:
            account = Account(owner, cash, currency)
        else:
            # The owner is a data subject of their own: the name is sealed with their key.
            subject = uuid.uuid4().hex
            account = Account(self.keys.seal(subject, owner), cash, currency, subject)
        self.save(account)
        return account.id

    def deposit(self, account_id: uuid.UUID, amount: int) -> None:
        account = self.account(account_id)
        account.deposit(amount)
        self.save(account)

    def withdraw(self, account_id: uuid.UUID, amount: int) -> None:
        account = self.account(account_id)
        account.withdraw(amount)
        self.save(account)

    def place_order(self, account_id: uuid.UUID, symbol: str, side: str, quantity: int, limit: int) -> uuid.UUID:
        if side not in SIDES or quantity <= 0 or limit <= 0:
            raise InvariantError(f"an order needs a side in {SIDES}, a positive quantity and limit")
        account = self.account(account_id)
        order = Order(account_id, symbol, side, quantity, limit)
        if side == "buy":
            account.reserve(quantity * limit)
            self.save(order, account)
        else:
            if self.position(account_id, symbol).shares < quantity:
                raise InvariantError(f"cannot offer {quantity} {symbol}: not held")
            self.save(order)
        return order.id

    def fill(self, order_id: uuid.UUID, quantity: int, price: int) -> None:
        order: Order = self.repository.get(order_id)
        account = self.account(order.account_id)
        position = self.position(order.account_id, order.symbol)
        order.fill(quantity, price)
        if order.side == "buy":
            account.spend(reserved=quantity * order.limit, paid=quantity * price)
            position.buy(quantity)
        else:
            position.sell(quantity)
            account.receive(quantity * price)
        self.save(order, account, position)   # one atomic write: all three or none

    def cancel(self, order_id: uuid.UUID) -> None:
        order: Order = self.repository.get(order_id)
        unfilled = order.quantity - order.filled
        order.cancel()
        if order.side == "buy":
            account = self.account(order.account_id)
            account.release(unfilled * order.limit)   # the cash the rest of the order held
            self.save(order, account)
        else:
            self.save(order)

    def erase_owner(self, account_id: uuid.UUID) -> None:
        """The right to erasure: forget the owner's key; every event stays, the name is unreadable."""
        subject = self.account(account_id).subject
        if self.keys is None or subject is None:
            raise InvariantError("this account's owner was not stored sealed: there is no key to forget")
        self.keys.forget(subject)

    def owner_of(self, account_id: uuid.UUID) -> str:
        """The owner's name as it can be read now (``(erased)`` once their key is forgotten)."""
        account = self.account(account_id)
        if account.subject is None:
            return account.owner
        name = self.keys.open(account.subject, account.owner) if self.keys is not None else None
        return FORGOTTEN if name is None else name

    # --- reading --------------------------------------------------------------------------
    def account(self, account_id: uuid.UUID, version: int | None = None) -> Account:
        """The account as its events give it, now or as of ``version`` (a temporal query)."""
        return self.repository.get(account_id, version=version)

    def position(self, account_id: uuid.UUID, symbol: str) -> Position:
        """The account's position in ``symbol``; opened (with no event stored yet) if it has none."""
        try:
            return self.repository.get(Position.create_id(account_id, symbol))
        except AggregateNotFoundError:
            return Position(account_id, symbol)

    def history(self, aggregate_id: uuid.UUID) -> list[Any]:
        """Every event of one aggregate, oldest first, as the store holds them."""
        return list(self.events.get(aggregate_id))

    def version_at(self, aggregate_id: uuid.UUID, when: datetime) -> int | None:
        """The aggregate's version at time ``when``: its last event at or before then (None: not yet)."""
        version = None
        for e in self.events.get(aggregate_id):
            if e.timestamp > when:
                break
            version = e.originator_version
        return version

    def account_at(self, account_id: uuid.UUID, when: datetime) -> Account | None:
        """The account as the system believed it at ``when`` (None if it was not open yet)."""
        version = self.version_at(account_id, when)
        return None if version is None else self.account(account_id, version=version)

    def audit_trail(self, aggregate_id: uuid.UUID, until: datetime | None = None) -> list[dict[str, Any]]:
        """Why the system believed what it did: every event up to ``until``, each with what it changed.

        One row per event — when, its version, what happened (the event's name) and its data —
        oldest first: the answer to "what did the system believe at 10:32, and why".
        """
        rows = []
        for e in self.events.get(aggregate_id):
            if until is not None and e.timestamp > until:
                break
            data = {k: v for k, v in vars(e).items()
                    if k not in ("timestamp", "originator_id", "originator_version", "originator_topic")}
            rows.append({"at": e.timestamp, "version": e.originator_version, "event": type(e).__name__, **data})
        return rows


def retrying(command: Callable[[], T], attempts: int = 5) -> tuple[T, int]:
    """Run ``command``; when another writer saved the same aggregate first, reload and run it again.

    ``command`` reads what it changes afresh each time (an application method does). Returns its
    result and the number of conflicts it met. After ``attempts`` conflicts the last one is raised.
    """
    conflicts = 0
    while True:
        try:
            return command(), conflicts
        except IntegrityError:
            conflicts += 1
            if conflicts >= attempts:
                raise
