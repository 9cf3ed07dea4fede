"""Checking an event-sourced aggregate a student writes: run commands on it, replay its events.

An aggregate class (an ``eventsourcing`` ``Aggregate``) is checked on *scripts*: create it,
run commands one after the other, and record what each did — the events it recorded, or the
error it raised. Then the recorded events are replayed into a fresh aggregate, which must
come out in the same state: an aggregate whose command changes its state without recording
an event passes a naive test and fails this one, as it would fail the first time it was
loaded from the store.

:func:`run_script` is a driver for :func:`messagelab.grading.code.drive`, so when a course
grades, it runs beside the student's code in a sandboxed process and hands back plain data;
the check that judges the outcomes runs elsewhere.

>>> from eventsourcing.domain import Aggregate, event
>>> class Counter(Aggregate):
...     @event("Started")
...     def __init__(self, limit):
...         self.limit, self.count = limit, 0
...     def add(self, n):
...         if self.count + n > self.limit:
...             raise ValueError("over the limit")
...         self._added(n=n)
...     @event("Added")
...     def _added(self, n):
...         self.count += n
>>> out = run_script(Counter, {"create": {"limit": 3}, "commands": [["add", {"n": 2}], ["add", {"n": 2}]],
...                            "state": ["count"]})
>>> out["outcomes"]
[{'ok': True, 'events': [['Added', {'n': 2}]]}, {'ok': False, 'error': 'ValueError', 'events': []}]
>>> out["state"], out["replayed"]
({'count': 2}, {'count': 2})
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping
from typing import Any

__all__ = ["event_data", "plain_value", "run_script"]

#: Attributes every ``eventsourcing`` event carries; what an event *says* is the rest.
ENVELOPE = ("originator_id", "originator_version", "timestamp", "originator_topic")


def plain_value(value: Any) -> Any:
    """``value`` as plain data: ids and times as text, sets as sorted lists, containers recursively."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, uuid.UUID | datetime.datetime | datetime.date):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k) if not isinstance(k, int | str) else k: plain_value(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((plain_value(v) for v in value), key=repr)
    if isinstance(value, list | tuple):
        return [plain_value(v) for v in value]
    return repr(value)


def event_data(e: Any) -> list[Any]:
    """An event as ``[its class name, {what it says}]``."""
    return [type(e).__name__, {k: plain_value(v) for k, v in vars(e).items() if k not in ENVELOPE}]


def _state(aggregate: Any, names: list[str]) -> dict[str, Any]:
    return {name: plain_value(getattr(aggregate, name, None)) for name in names}


def run_script(cls: Any, script: Mapping[str, Any]) -> dict[str, Any]:
    """Run one script on aggregate class ``cls``: what each command did, the state, the state replayed.

    ``script``: ``{"create": {keyword arguments}, "commands": [[method, {keyword arguments}], …],
    "state": [attribute names]}``. Returns ``{"outcomes": [{"ok", "events"} or {"ok": False,
    "error": class name, "events"}], "state": {…}, "replayed": {…}}``; when creating fails,
    ``{"created": False, "error": class name}``.
    """
    names = list(script.get("state", ()))
    try:
        aggregate = cls(**dict(script.get("create", {})))
    except Exception as error:  # noqa: BLE001 - the student's constructor: reported, judged elsewhere
        return {"created": False, "error": type(error).__name__}
    recorded = list(aggregate.collect_events())
    outcomes = []
    for method, kwargs in script.get("commands", ()):
        try:
            getattr(aggregate, method)(**dict(kwargs))
            error = None
        except Exception as failure:  # noqa: BLE001 - a refused command is an outcome
            error = type(failure).__name__
        new = list(aggregate.collect_events())
        recorded += new
        outcome: dict[str, Any] = {"ok": error is None}
        if error is not None:
            outcome["error"] = error
        outcome["events"] = [event_data(e) for e in new]
        outcomes.append(outcome)
    replayed = None
    try:
        for e in recorded:
            replayed = e.mutate(replayed)
        replayed_state = _state(replayed, names)
    except Exception as failure:  # noqa: BLE001 - events that cannot be replayed
        replayed_state = {"error": type(failure).__name__}
    return {"created": True, "outcomes": outcomes, "state": _state(aggregate, names), "replayed": replayed_state}
