"""When an event happened: every event-sourced aggregate of the course is stamped by one clock.

``eventsourcing`` stamps each event with the current time. A scenario that asks "what did the
system believe at 10:32" needs a day whose times it chooses, so the course's aggregates
(:class:`TimedAggregate`) take their events' timestamps from :data:`CLOCK`, which is the
wall clock unless a block sets it (:meth:`Clock.at`).

>>> from datetime import datetime, timezone
>>> from eventsourcing.domain import event
>>> class Note(TimedAggregate):
...     @event("Written")
...     def __init__(self, text):
...         self.text = text
>>> with CLOCK.at(datetime(2026, 3, 2, 10, 32, tzinfo=timezone.utc)):
...     note = Note("hello")
>>> note.created_on.isoformat()
'2026-03-02T10:32:00+00:00'
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

from eventsourcing.domain import Aggregate

__all__ = ["CLOCK", "Clock", "TimedAggregate"]


class Clock:
    """Where every event's timestamp comes from: the wall clock, or a scenario's day replayed.

    A scenario that needs "what did the system believe at 10:32" sets the time as its day
    goes by (:meth:`at`); otherwise events are stamped with the current UTC time, as
    ``eventsourcing`` stamps them.
    """

    def __init__(self) -> None:
        self._now: datetime | None = None

    def now(self) -> datetime:
        return self._now if self._now is not None else datetime.now(tz=UTC)

    @contextlib.contextmanager
    def at(self, when: datetime) -> Iterator[Clock]:
        """Stamp the events recorded inside the block at ``when`` (a timezone-aware time)."""
        if when.tzinfo is None:
            raise ValueError(f"when={when!r}: a timezone-aware time is needed (events are stamped in UTC)")
        before, self._now = self._now, when
        try:
            yield self
        finally:
            self._now = before


#: The clock of every event of the course's aggregates.
CLOCK = Clock()


class TimedAggregate(Aggregate):
    """The base of the course's aggregates: their events are stamped by :data:`CLOCK`."""

    class Event(Aggregate.Event):
        @staticmethod
        def create_timestamp() -> datetime:
            return CLOCK.now()

    class Created(Event, Aggregate.Created):
        pass
