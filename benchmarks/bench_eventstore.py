"""Event-store benchmark: what appending, replaying and projecting cost, and what a snapshot buys.

Two measurements, both on real stores:

1. throughput on SQLite (a file) and on PostgreSQL (a throwaway server from Debian's
   ``postgresql``, started and removed by the test suite's ``tests/pgserver.py``): one account's
   20,000 events appended through the application in saves of 100 (each save one
   transaction), the account loaded by replaying all of them (median of three), and the
   read model (``projections.PositionsView``, its own SQLite tables in memory) caught up over
   the store's notification log from the start, each event applied with its tracking record
   in one transaction. PostgreSQL is skipped, saying why, when its server is not installed;
2. loading one account by full replay against a snapshot and its tail
   (``messagelab.eventstore.snapshots.measure``) on SQLite: one account per stream length,
   from 100 to 100,000 events, the snapshot an interval of 100 events leaves, each load the
   median of three.

From the repository root (about half a minute)::

    python benchmarks/bench_eventstore.py

Results are also written as JSON to ``build/benchmarks/eventstore.json``.
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from messagelab.eventstore.projections import PositionsView
from messagelab.eventstore.snapshots import measure
from messagelab.eventstore.trading import Trading

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "benchmarks" / "eventstore.json"
LENGTHS = (100, 1_000, 10_000, 100_000)
INTERVAL = 100
#: Events appended, replayed and projected per store, and events per save while appending.
EVENTS = 20_000
PER_SAVE = 100
REPEATS = 3


def pgserver() -> ModuleType:
    """The test suite's throwaway PostgreSQL server (``tests/pgserver.py``), imported from its file."""
    spec = importlib.util.spec_from_file_location("pgserver", ROOT / "tests" / "pgserver.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def throughput(env: dict[str, str], *, events: int = EVENTS, per_save: int = PER_SAVE,
               repeats: int = REPEATS) -> dict[str, Any]:
    """Append, replay and projection rates (events/s) of one account's ``events`` on the store of ``env``.

    Appending includes the application's own work for each command (an event made, then
    serialised and inserted); replaying is a fresh application loading the account (no
    snapshot); projecting applies every notification of the log, the account's opening
    included, to an empty read model.
    """
    app = Trading(env=env)
    account_id = app.open_account("bench", 0)
    account = app.account(account_id)
    start = time.perf_counter()
    for _ in range(events // per_save):
        for _ in range(per_save):
            account.deposit(1)
        app.save(account)
    append_s = time.perf_counter() - start
    stored = events // per_save * per_save + 1

    replays = []
    for _ in range(repeats):
        start = time.perf_counter()
        loaded = Trading(env=env).account(account_id)
        replays.append(time.perf_counter() - start)
    assert loaded.version == stored and loaded.cash == stored - 1, "the replay differs from what was appended"
    replay_s = statistics.median(replays)

    view = PositionsView(":memory:")
    start = time.perf_counter()
    applied = view.catch_up(app)
    project_s = time.perf_counter() - start
    assert applied == stored and view.cash(account_id) == stored - 1, "the read model missed events"
    return {"events": stored, "per_save": per_save, "append_s": append_s, "append_per_s": (stored - 1) / append_s,
            "replay_s": replay_s, "replay_per_s": stored / replay_s, "project_s": project_s,
            "project_per_s": applied / project_s}


def on_sqlite() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        return throughput({"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                           "SQLITE_DBNAME": str(Path(folder) / "throughput.db")})


def on_postgres() -> dict[str, Any]:
    """The throughput on a throwaway PostgreSQL server; ``skipped`` says why when there is none."""
    try:
        pg = pgserver()
        if pg.initdb() is None:
            return {"skipped": "initdb not found: PostgreSQL is not installed (Debian: apt-get install postgresql)"}
        server = pg.start()
    except (OSError, subprocess.SubprocessError) as e:   # initdb or pg_ctl failed
        return {"skipped": f"the server could not be started: {type(e).__name__}: {e}"}
    try:
        return throughput(server.env(server.database()))
    finally:
        pg.stop(server)


def main() -> None:
    start = time.perf_counter()
    stores = {"SQLite": on_sqlite(), "PostgreSQL": on_postgres()}
    print(f"One account's {EVENTS:,} events on each store: appended in saves of {PER_SAVE}, replayed "
          f"(median of {REPEATS}), projected into the positions read model from the notification log")
    print(f"   {'store':<11} {'append events/s':>16} {'replay events/s':>16} {'project events/s':>17}")
    for name, t in stores.items():
        if "skipped" in t:
            print(f"   {name:<11} skipped: {t['skipped']}")
        else:
            print(f"   {name:<11} {t['append_per_s']:16,.0f} {t['replay_per_s']:16,.0f} {t['project_per_s']:17,.0f}")

    with tempfile.TemporaryDirectory() as folder:
        costs = measure(LENGTHS, interval=INTERVAL, folder=folder, repeats=3)
    print()
    print(f"Loading one account from SQLite: full replay against the snapshot every {INTERVAL} events leaves")
    print(f"   {'events':>8} {'full ms':>9} {'snapshot ms':>12} {'events kB':>10} {'snapshot kB':>12}")
    for _, row in costs.iterrows():
        print(f"   {int(row['events']):>8,} {row['full_ms']:9.1f} {row['snapshot_ms']:12.2f} "
              f"{row['event_bytes'] / 1000:10,.0f} {row['snapshot_bytes'] / 1000:12,.1f}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"throughput": stores, "snapshots": costs.to_dict(orient="records")}, indent=2) + "\n")
    print(f"({time.perf_counter() - start:.0f} s in all.)")
    print(f"JSON: {OUT}")


if __name__ == "__main__":
    main()
