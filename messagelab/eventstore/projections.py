"""A read model of the trading domain: positions and cash per account, kept from the event log.

The write side (:class:`~messagelab.eventstore.trading.Trading`) stores events; this read model
(CQRS's query side) follows the application's notification log — every event of every
aggregate, in the order they were stored — and keeps its own SQLite tables. Each event is
applied together with the **tracking record** (the position in the log it has reached) in one
transaction, so a crash leaves both or neither, and an event delivered twice is recognised by
its position and skipped: exactly-once processing over a log read at least once. Its **lag**
is how many notifications it has not applied yet; a read model is **rebuilt** by dropping its
tables and catching up from the start of the log.

``eventsourcing`` has projection runners that follow an application in a thread; this one
catches up when asked (:meth:`PositionsView.catch_up`), so that a notebook cell or a test
decides when the read side moves, and can show the lag in between.

>>> from messagelab.eventstore.trading import Trading
>>> app = Trading(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
>>> alice = app.open_account("Alice", 1_000)
>>> view = PositionsView(":memory:")
>>> view.lag(app), view.catch_up(app), view.lag(app), view.cash(alice)
(1, 1, 0, 1000)
"""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

from messagelab.eventstore.trading import Trading

#: How many notifications one read of the log returns.
PAGE = 500


class PositionsView:
    """Shares per (account, symbol) and cash per account, with the log position they reflect."""

    name = "positions"

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.executescript(
            "CREATE TABLE IF NOT EXISTS cash (account_id TEXT PRIMARY KEY, cash INTEGER NOT NULL);"
            "CREATE TABLE IF NOT EXISTS positions (position_id TEXT PRIMARY KEY, account_id TEXT, symbol TEXT,"
            " shares INTEGER NOT NULL);"
            "CREATE TABLE IF NOT EXISTS tracking (name TEXT PRIMARY KEY, position INTEGER NOT NULL);"
        )
        self.db.execute("INSERT OR IGNORE INTO tracking VALUES (?, 0)", (self.name,))

    # --- reading ---------------------------------------------------------------------------
    def position(self) -> int:
        """The last notification of the log this view has applied."""
        return self.db.execute("SELECT position FROM tracking WHERE name = ?", (self.name,)).fetchone()[0]

    def lag(self, app: Trading) -> int:
        """Notifications in the log that this view has not applied yet."""
        return app.recorder.max_notification_id() - self.position() if app.recorder.max_notification_id() else 0

    def cash(self, account_id: uuid.UUID) -> int | None:
        row = self.db.execute("SELECT cash FROM cash WHERE account_id = ?", (str(account_id),)).fetchone()
        return None if row is None else row[0]

    def shares(self, account_id: uuid.UUID, symbol: str) -> int:
        row = self.db.execute("SELECT shares FROM positions WHERE account_id = ? AND symbol = ?",
                              (str(account_id), symbol)).fetchone()
        return 0 if row is None else row[0]

    # --- following the log -------------------------------------------------------------------
    def catch_up(self, app: Trading, limit: int | None = None) -> int:
        """Apply the notifications after this view's position (at most ``limit``); how many it applied."""
        applied = 0
        while limit is None or applied < limit:
            page = app.recorder.select_notifications(start=self.position() + 1,
                                                     limit=PAGE if limit is None else min(PAGE, limit - applied))
            if not page:
                break
            for notification in page:
                applied += self.apply(notification.id, app.mapper.to_domain_event(notification))
        return applied

    def apply(self, notification_id: int, event: Any) -> int:
        """Apply one event and advance the tracking record, in one transaction; 0 if it was applied before."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            moved = self.db.execute("UPDATE tracking SET position = ? WHERE name = ? AND position < ?",
                                    (notification_id, self.name, notification_id)).rowcount
            if moved:
                self._change(event)
            self.db.execute("COMMIT")
            return moved
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def _change(self, e: Any) -> None:
        kind, who = type(e).__name__, str(e.originator_id)
        if kind == "AccountOpened":
            self.db.execute("INSERT INTO cash VALUES (?, ?)", (who, e.cash))
        elif kind in ("CashDeposited", "CashReceived"):
            self.db.execute("UPDATE cash SET cash = cash + ? WHERE account_id = ?", (e.amount, who))
        elif kind == "CashWithdrawn":
            self.db.execute("UPDATE cash SET cash = cash - ? WHERE account_id = ?", (e.amount, who))
        elif kind == "CashSpent":
            self.db.execute("UPDATE cash SET cash = cash - ? WHERE account_id = ?", (e.paid, who))
        elif kind == "PositionOpened":
            self.db.execute("INSERT INTO positions VALUES (?, ?, ?, 0)", (who, str(e.account_id), e.symbol))
        elif kind in ("SharesBought", "SharesSold"):
            sign = 1 if kind == "SharesBought" else -1
            self.db.execute("UPDATE positions SET shares = shares + ? WHERE position_id = ?", (sign * e.quantity, who))

    def rebuild(self, app: Trading) -> int:
        """Drop what the view holds and replay the whole log into it; how many notifications it applied."""
        self.db.executescript("BEGIN; DELETE FROM cash; DELETE FROM positions; COMMIT;")
        self.db.execute("UPDATE tracking SET position = 0 WHERE name = ?", (self.name,))
        return self.catch_up(app)
