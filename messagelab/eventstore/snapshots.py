"""What a snapshot buys: replay time against stream length, measured on a real SQLite store.

An aggregate is loaded by replaying its events; a snapshot (its state at some version) lets a
load start there and replay only the tail. :func:`measure` builds one account per stream
length in a fresh SQLite file, takes the snapshot a given interval would have left, and times
both loads — the full replay and the snapshot plus its tail — each the median of a few.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as folder:
...     costs = measure((10, 1_000), interval=100, folder=folder, repeats=1)
>>> costs["tail_events"].tolist(), bool((costs["full_ms"] > 0).all())
([10, 100], True)
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from messagelab.eventstore.trading import Trading

#: Events appended per save while a long stream is built (one transaction each).
CHUNK = 5_000


def _store(path: Path) -> Trading:
    """The trading application on ``path``, loading through the latest snapshot when there is one."""
    return Trading(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path),
                        "IS_SNAPSHOTTING_ENABLED": "y"})


def _timed(load, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        load()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def measure(lengths: Sequence[int], *, interval: int, folder: str | os.PathLike[str],
            repeats: int = 3) -> pd.DataFrame:
    """For each stream length: full replay and snapshot-plus-tail load times (ms), and the store's size.

    The snapshot is the last one an interval of ``interval`` events leaves: at the largest
    multiple of ``interval`` below the stream's length, so the tail is the worst case, a whole
    interval (or the whole stream when it is shorter).
    """
    rows = []
    for n in lengths:
        path = Path(folder) / f"replay-{n}.db"
        app = _store(path)
        account_id = app.open_account("replay", 0)
        account = app.account(account_id)
        for start in range(1, n, CHUNK):
            for _ in range(min(CHUNK, n - start)):
                account.deposit(1)
            app.save(account)
        snapshot_at = ((n - 1) // interval) * interval if n > interval else None
        full_ms = _timed(lambda p=path, i=account_id: _store(p).account(i), repeats)   # no snapshot yet
        if snapshot_at:
            app.take_snapshot(account_id, version=snapshot_at)
        reader_ms = _timed(lambda p=path, i=account_id: _store(p).account(i), repeats)
        loaded = _store(path).account(account_id)
        assert loaded.version == n and loaded.cash == n - 1, "snapshot plus tail differs from the full replay"
        rows.append({"events": n, "interval": interval, "tail_events": n - (snapshot_at or 0),
                     "full_ms": full_ms, "snapshot_ms": reader_ms,
                     **_stored_bytes(path)})
    return pd.DataFrame(rows)


def _stored_bytes(path: Path) -> dict[str, int]:
    """The bytes of the events' and the snapshots' serialised states in the store (what each costs to keep)."""
    with sqlite3.connect(path) as db:
        events = db.execute("SELECT COALESCE(SUM(LENGTH(state)), 0) FROM stored_events").fetchone()[0]
        snapshots = db.execute("SELECT COALESCE(SUM(LENGTH(state)), 0) FROM stored_snapshots").fetchone()[0]
    return {"event_bytes": int(events), "snapshot_bytes": int(snapshots)}


def fit(costs: pd.DataFrame) -> tuple[float, float]:
    """(fixed ms, ms per event) of a load, fitted by least squares to measured full replays.

    A load costs a fixed part (a query, an application) and a part per event replayed: the
    line through :func:`measure`'s ``full_ms`` against ``events``.
    """
    import numpy as np

    slope, intercept = np.polyfit(costs["events"].to_numpy(float), costs["full_ms"].to_numpy(float), 1)
    return float(max(intercept, 0.0)), float(slope)


def model(events: Sequence[int], interval: int, fixed_ms: float, per_event_ms: float,
          snapshot_ms: float | None = None) -> pd.DataFrame:
    """Load times beyond what was measured: full replay against a snapshot every ``interval`` events.

    The full replay grows with the stream; with snapshots, a load reads one snapshot (about
    ``snapshot_ms``, by default a fixed part) and at most ``interval`` events, whatever the
    stream's length. A snapshot kept per ``interval`` events costs storage in proportion
    (``snapshots`` per stream) — what the interval trades against load time.

    >>> m = model([1_000_000], interval=1_000, fixed_ms=2.0, per_event_ms=0.02)
    >>> round(float(m["full_ms"].iloc[0])), round(float(m["snapshot_ms"].iloc[0]), 1), int(m["snapshots"].iloc[0])
    (20002, 22.0, 1000)
    """
    base = fixed_ms if snapshot_ms is None else snapshot_ms
    rows = [{"events": n, "interval": interval, "full_ms": fixed_ms + per_event_ms * n,
             "snapshot_ms": base + per_event_ms * min(n, interval), "snapshots": n // interval} for n in events]
    return pd.DataFrame(rows)
