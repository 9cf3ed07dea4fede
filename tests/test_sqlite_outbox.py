"""The outbox against dual write on real SQLite files and real processes killed with SIGKILL.

Each claim of ``messagelab.microservices.sqlite_outbox``'s docstring, checked from the counts
``run`` reads back from the databases; and that the run leaves no process behind.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from messagelab.microservices import sqlite_outbox
from messagelab.microservices.outbox import PUBLISHING
from messagelab.microservices.sqlite_outbox import COUNTS, RealOutboxConfig, compare, run
from messagelab.sim import ConfigError

#: 40 orders at 15 % crashes: 8 kills of the writer, 11 of the relay under seed 0; under a second a run.
N = 40
CRASHY = {"orders": N, "crash_probability": 0.15}


def counts(publishing: str, folder: Path, seed: int = 0, **changes) -> dict[str, int | float]:
    return run(RealOutboxConfig(publishing=publishing, **{**CRASHY, **changes}), folder, seed=seed)


def children_of_this_test(folder: Path) -> list[int]:
    """Pids of live processes whose command line names this module and ``folder``, or whose parent is us.

    A zombie (killed, never reaped) has an empty command line, so our own children are also looked
    for by parent pid, whatever their state. The one child a worker keeps for good is not this
    test's: multiprocessing's resource tracker, started by any earlier test in the process that
    used a spawn context (it lives until the process ends).
    """
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError, ValueError):
            continue  # exited while we looked
        if "multiprocessing.resource_tracker" in cmdline:
            continue
        if ("sqlite_outbox" in cmdline and str(folder) in cmdline) or ppid == os.getpid():
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize("publishing", PUBLISHING)
def test_without_crashes_every_mode_delivers_every_order_exactly_once(publishing: str, tmp_path: Path) -> None:
    c = counts(publishing, tmp_path, crash_probability=0.0)
    assert c["crashes"] == 0
    assert c["orders_committed"] == c["bus_messages"] == N
    assert c["events_lost"] == c["ghost_events"] == c["duplicate_publishes"] == 0
    assert c["naive_charges"] == c["idempotent_charges"] == N


def test_commit_first_loses_one_event_per_crash_and_invents_none(tmp_path: Path) -> None:
    c = counts("dual-write-db-first", tmp_path)
    assert c["crashes"] > 0
    assert c["events_lost"] == c["crashes"]
    assert c["orders_committed"] == N and c["bus_messages"] == N - c["crashes"]
    assert c["ghost_events"] == c["duplicate_publishes"] == 0


def test_publish_first_invents_one_event_per_crash_and_loses_none(tmp_path: Path) -> None:
    c = counts("dual-write-publish-first", tmp_path)
    assert c["crashes"] > 0
    assert c["ghost_events"] == c["crashes"]
    assert c["orders_committed"] == N - c["crashes"] and c["bus_messages"] == N
    assert c["events_lost"] == c["duplicate_publishes"] == 0
    # Payment charges what the bus says: the ghosts too, idempotent or not.
    assert c["idempotent_charges"] == c["naive_charges"] == N > c["orders_committed"]


def test_the_outbox_loses_and_invents_nothing_and_duplicates_are_what_idempotency_absorbs(tmp_path: Path) -> None:
    c = counts("outbox", tmp_path)
    assert c["crashes"] > 0
    assert c["events_lost"] == c["ghost_events"] == 0
    assert c["orders_committed"] == N
    assert c["duplicate_publishes"] == c["crashes"]  # one republish per relay killed between publish and mark
    assert c["bus_messages"] == N + c["crashes"]
    assert c["idempotent_charges"] == c["orders_committed"]
    assert c["naive_charges"] == c["bus_messages"] > c["orders_committed"]


def test_the_counts_are_read_from_the_databases(tmp_path: Path) -> None:
    c = counts("outbox", tmp_path)
    with sqlite3.connect(tmp_path / "bus.db") as bus:
        rows, distinct = bus.execute("SELECT count(*), count(DISTINCT message_id) FROM bus").fetchone()
        names = {name for (name,) in bus.execute("SELECT DISTINCT name FROM bus")}
    with sqlite3.connect(tmp_path / "orders.db") as orders:
        unsent = orders.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
    with sqlite3.connect(tmp_path / "payments.db") as payments:
        processed = payments.execute("SELECT count(*) FROM processed").fetchone()[0]
    assert (rows, distinct, unsent, names) == (c["bus_messages"], N, 0, {"OrderPlaced"})
    assert processed == c["idempotent_charges"]


def test_the_same_seed_gives_the_same_counts_and_another_seed_other_crashes(tmp_path: Path) -> None:
    for publishing in ("dual-write-db-first", "outbox"):
        first, again = (counts(publishing, tmp_path / name, seed=5) for name in ("a", "b"))
        first.pop("wall_s"), again.pop("wall_s")
        assert first == again, publishing
    with sqlite3.connect(tmp_path / "b" / "bus.db") as bus:  # the outbox run with seed 5
        duplicated = bus.execute("SELECT message_id FROM bus GROUP BY message_id HAVING count(*) > 1").fetchall()
    counts("outbox", tmp_path / "c", seed=6)
    with sqlite3.connect(tmp_path / "c" / "bus.db") as bus:
        other = bus.execute("SELECT message_id FROM bus GROUP BY message_id HAVING count(*) > 1").fetchall()
    assert duplicated and duplicated != other


def test_a_rerun_starts_from_fresh_databases(tmp_path: Path) -> None:
    first = counts("dual-write-publish-first", tmp_path)
    again = counts("dual-write-publish-first", tmp_path)
    assert again["bus_messages"] == first["bus_messages"] == N
    assert set(os.listdir(tmp_path)) <= {f"{db}{suffix}" for db in ("orders.db", "bus.db", "payments.db")
                                         for suffix in ("", "-wal", "-shm")}


def test_compare_shows_one_row_per_mode(tmp_path: Path) -> None:
    table = compare(tmp_path, orders=N, crash_probability=0.1)
    assert list(table.index) == list(PUBLISHING) and table.index.name == "publishing"
    assert list(table.columns) == list(COUNTS)
    assert table.loc["outbox", "events_lost"] == 0 and table.loc["dual-write-db-first", "events_lost"] > 0
    assert all((tmp_path / mode / "bus.db").is_file() for mode in PUBLISHING)


@pytest.mark.parametrize("change", [
    {"publishing": "dual-write"}, {"orders": 0}, {"orders": 5_001}, {"orders": 2.5},
    {"crash_probability": 0.6}, {"crash_probability": -0.1}, {"relay_batch": 0}, {"relay_batch": 1_001},
])
def test_an_invalid_config_names_its_field(change: dict) -> None:
    (name, value), = change.items()
    with pytest.raises(ConfigError) as raised:
        RealOutboxConfig(**change)
    assert raised.value.field == name and raised.value.value == value


def test_no_process_is_left_behind_and_the_check_sees_them_while_running(tmp_path: Path) -> None:
    assert children_of_this_test(tmp_path) == []
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(counts("outbox", tmp_path, orders=60)))
    worker.start()
    seen: set[int] = set()
    while worker.is_alive():
        seen.update(children_of_this_test(tmp_path))
        time.sleep(0.005)
    worker.join()
    assert result["crashes"] > 0
    assert seen, "the /proc check never saw a child of the run: it would not see one left behind either"
    assert children_of_this_test(tmp_path) == []


def test_a_child_that_does_not_answer_is_killed_and_the_run_fails(tmp_path: Path, monkeypatch) -> None:
    def silent(role: str, folder: Path) -> list[str]:
        return [sys.executable, "-c", "import time; time.sleep(60)", "sqlite_outbox", role, str(folder)]

    monkeypatch.setattr(sqlite_outbox, "_child_argv", silent)
    monkeypatch.setattr(sqlite_outbox, "ANSWER_TIMEOUT_S", 0.5)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="did not answer within 0.5 s"):
        counts("outbox", tmp_path)
    assert time.monotonic() - started < 5
    assert children_of_this_test(tmp_path) == []


def test_a_child_that_dies_on_its_own_fails_the_run_with_its_error(tmp_path: Path, monkeypatch) -> None:
    def failing(role: str, folder: Path) -> list[str]:
        return [sys.executable, "-c", "import sys; sys.exit('disk on fire')", "sqlite_outbox", role, str(folder)]

    monkeypatch.setattr(sqlite_outbox, "_child_argv", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        counts("dual-write-db-first", tmp_path)
    assert children_of_this_test(tmp_path) == []


def test_the_child_is_this_module_run_without_messagelab(tmp_path: Path) -> None:
    """A restart must cost a bare interpreter (tens of ms), not an import of numpy, pandas and scipy (a second)."""
    argv = sqlite_outbox._child_argv("writer", tmp_path)
    assert "sqlite_outbox" in " ".join(argv) and str(tmp_path) in argv
    module = argv[-3]
    probe = (f"import runpy, sys\nsys.argv = [{module!r}, 'no-such-role', '.']\n"
             f"try:\n    runpy.run_path({module!r}, run_name='__main__')\nexcept SystemExit as e:\n    print(e)\n"
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'messagelab', 'numpy', 'pandas'}))")
    done = subprocess.run([*argv[:-3], "-c", probe], input="{}\n",
                          capture_output=True, text=True, timeout=30, check=True)
    assert done.stdout.splitlines() == ["unknown role 'no-such-role': expected writer or relay", "[]"], done.stderr
