"""Event sourcing and CQRS on a real database: a trading domain whose state is its events.

``trading``: accounts, orders and positions as ``eventsourcing`` aggregates with their
invariants, the ``Trading`` application on SQLite or PostgreSQL, temporal queries and the
audit trail, upcasting, and retrying a write that lost an optimistic-concurrency conflict.
``projections``: a read model kept from the notification log, exactly once.
``snapshots``: replay time against stream length, measured.
``shredding``: personal data sealed with a key per subject, erased by forgetting the key.
"""

from messagelab.eventstore import projections, shredding, snapshots, trading
from messagelab.eventstore.shredding import KeyStore
from messagelab.eventstore.trading import Account, InvariantError, Order, Position, Trading, retrying

__all__ = ["Account", "InvariantError", "KeyStore", "Order", "Position", "Trading", "projections", "retrying",
           "shredding", "snapshots", "trading"]
