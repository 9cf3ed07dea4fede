"""Event-store benchmark: loading an aggregate by full replay against a snapshot and its tail.

Measured for real on SQLite (``messagelab.eventstore.snapshots.measure``): one account per
stream length, from 100 to 100,000 events, the snapshot an interval of 100 events leaves, each
load the median of three. From the repository root::

    python benchmarks/bench_eventstore.py

Results are also written as JSON to ``build/benchmarks/eventstore.json``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from messagelab.eventstore.snapshots import measure

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "benchmarks" / "eventstore.json"
LENGTHS = (100, 1_000, 10_000, 100_000)
INTERVAL = 100


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        costs = measure(LENGTHS, interval=INTERVAL, folder=folder, repeats=3)
    print(f"Loading one account from SQLite: full replay against the snapshot every {INTERVAL} events leaves")
    print(f"   {'events':>8} {'full ms':>9} {'snapshot ms':>12} {'events kB':>10} {'snapshot kB':>12}")
    for _, row in costs.iterrows():
        print(f"   {int(row['events']):>8,} {row['full_ms']:9.1f} {row['snapshot_ms']:12.2f} "
              f"{row['event_bytes'] / 1000:10,.0f} {row['snapshot_bytes'] / 1000:12,.1f}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(costs.to_dict(orient="records"), indent=2) + "\n")
    print(f"JSON: {OUT}")


if __name__ == "__main__":
    main()
