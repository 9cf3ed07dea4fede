"""Event sourcing and CQRS on a real database: a trading domain whose state is its events.

``trading``: accounts, orders and positions as ``eventsourcing`` aggregates with their
invariants, the ``Trading`` application on SQLite, and retrying a write that lost an
optimistic-concurrency conflict.
"""

from messagelab.eventstore import trading
from messagelab.eventstore.trading import Account, InvariantError, Order, Position, Trading, retrying

__all__ = ["Account", "InvariantError", "Order", "Position", "Trading", "retrying", "trading"]
