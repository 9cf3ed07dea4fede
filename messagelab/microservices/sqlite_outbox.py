"""The outbox against dual write for real: SQLite files, OS processes, and SIGKILL between two steps.

:mod:`messagelab.microservices.outbox` simulates an Order service that must commit an order
*and* publish ``OrderPlaced``. This module does the same with real parts, so that a lab can
see the simulated result hold on a real database and a real crash:

``orders.db``
    the Order service's own SQLite database: ``orders`` and, for the outbox, ``outbox``.
``bus.db``
    the "event bus": a table ``bus(message_id, order_id, name, published_at)`` with **no**
    uniqueness constraint, so a message published twice is visible as two rows. It is a
    **separate file**, always opened on its own connection, so that no transaction ever
    spans the order and its event — exactly the position of a service and a real broker.
    (SQLite could commit across ``ATTACH``-ed files, but only outside WAL mode, and a real
    broker offers nothing of the kind; the audit at the end attaches both only to count.)
``payments.db``
    the Payment service, which reads the bus and charges: a ``charges`` table and the
    idempotent consumer's ``processed`` table.

The writer (Order service) and, for the outbox, the relay run as child processes. For the
operations drawn to crash (seeded, ``crash_probability`` per operation, from the same
``"faults"`` stream as the simulation) a child stops after its first step, tells the
supervising parent on a pipe, and blocks; the parent kills it with ``SIGKILL`` — no
``finally``, no ``atexit``, no flush: what was committed is all that survives — and starts a
fresh child that carries on with the next order, as a restarted replica would. A child is
this file run as a script on a bare interpreter (``python -I -S``), without importing
messagelab, so a restart costs tens of milliseconds rather than a second. POSIX only
(``SIGKILL``, ``select`` on pipes).

``dual-write-db-first``
    commit the order in ``orders.db``, then insert the event into ``bus.db``. A kill in
    between **loses** the event: ``events_lost == crashes``; nobody else ever hears of
    those orders.
``dual-write-publish-first``
    insert the event, then commit the order. A kill in between **invents** an event for an
    order that does not exist: ``ghost_events == crashes``, and Payment charges for them.
``outbox``
    insert the order row and an ``outbox`` row in **one** transaction on ``orders.db`` —
    a kill anywhere inside it rolls back both, so there is no "between" to crash in. A
    relay polls unsent rows (``relay_batch`` at a time), inserts each into ``bus.db``, then
    marks it sent in a second transaction. A relay killed between the two republishes the
    row after its restart: nothing lost, nothing invented, and ``duplicate_publishes ==
    crashes``. Those duplicates are why the consumer must be idempotent: the **naive**
    Payment consumer charges once per bus row, the **idempotent** one records each message
    id in ``processed`` in the same transaction as its charge, and so charges once per order.

Every count is read back from the database files, not from anything kept in Python: the
databases are the evidence. Durability: WAL with ``synchronous=NORMAL`` keeps every
committed transaction through a process kill (only a power cut could lose the last ones),
and that is the failure modelled here.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as folder:
...     lost = run(RealOutboxConfig(publishing="dual-write-db-first", orders=20, crash_probability=0.2), folder)
...     outbox = run(RealOutboxConfig(publishing="outbox", orders=20, crash_probability=0.2), folder)
>>> lost["crashes"] > 0 and lost["events_lost"] == lost["crashes"] and lost["ghost_events"] == 0
True
>>> outbox["events_lost"], outbox["ghost_events"], outbox["idempotent_charges"]
(0, 0, 20)
>>> outbox["duplicate_publishes"] == outbox["crashes"] > 0 and outbox["naive_charges"] > 20
True
"""

from __future__ import annotations

import json
import os
import select
import selectors
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

if __name__ == "__main__":
    # A child replica needs only the standard library; importing messagelab.sim (numpy,
    # pandas, scipy) would cost about a second on every restart, and restarts are the point.
    FrozenConfig = object
else:
    import pandas as pd

    from messagelab.microservices.outbox import PUBLISHING
    from messagelab.sim.config import FrozenConfig
    from messagelab.sim.streams import stream
    from messagelab.sim.validation import check_choice, check_number

ORDERS_DB, BUS_DB, PAYMENTS_DB = "orders.db", "bus.db", "payments.db"
#: A child that says nothing (no progress, crash or done line) for this long is killed, and the run fails.
ANSWER_TIMEOUT_S = 10.0
#: How long an idle relay waits between two polls of the outbox.
RELAY_POLL_S = 0.005
#: The counts ``run`` returns, in the order ``compare`` shows them.
COUNTS = ("orders_committed", "bus_messages", "events_lost", "ghost_events", "duplicate_publishes",
          "naive_charges", "idempotent_charges", "crashes", "wall_s")

SCHEMA = {
    ORDERS_DB: """
        CREATE TABLE orders (id INTEGER PRIMARY KEY, placed_at REAL NOT NULL);
        CREATE TABLE outbox (id INTEGER PRIMARY KEY, message_id TEXT NOT NULL, order_id INTEGER NOT NULL,
                             name TEXT NOT NULL, created_at REAL NOT NULL, sent_at REAL);
    """,
    # No primary key or unique index: a duplicate publish must stay visible as a second row.
    BUS_DB: "CREATE TABLE bus (message_id TEXT, order_id INTEGER, name TEXT, published_at REAL);",
    PAYMENTS_DB: """
        CREATE TABLE charges (consumer TEXT NOT NULL, message_id TEXT NOT NULL, order_id INTEGER NOT NULL);
        CREATE TABLE processed (message_id TEXT PRIMARY KEY);
    """,
}


@dataclass(frozen=True)
class RealOutboxConfig(FrozenConfig):
    """How the real Order service publishes ``OrderPlaced``, and how often its processes are killed."""

    #: One of ``outbox.PUBLISHING``: ``dual-write-db-first``, ``dual-write-publish-first``, ``outbox``.
    publishing: str = "outbox"
    #: Orders placed, one after another, by the writer replicas.
    orders: int = 200
    #: Probability that a process is killed between the two steps of one operation.
    crash_probability: float = 0.05
    #: Unsent outbox rows the relay reads per poll.
    relay_batch: int = 20

    def validate(self) -> None:
        check_choice("publishing", self.publishing, PUBLISHING)
        check_number("orders", self.orders, 1, 5_000, integer=True, unit="orders",
                     why="each order is a real commit; more would not fit a lab cell")
        check_number("crash_probability", self.crash_probability, 0, 0.5, why="per operation")
        check_number("relay_batch", self.relay_batch, 1, 1_000, integer=True, unit="rows per poll")


def run(config: RealOutboxConfig, folder: str | Path, *, seed: int = 0) -> dict[str, int | float]:
    """Place ``config.orders`` orders with real processes and databases in ``folder``; count the outcome.

    Fresh ``orders.db``, ``bus.db`` and ``payments.db`` replace any earlier ones in ``folder``
    (created if missing; nothing is written outside it). Returns the counts of ``COUNTS``,
    read from the databases: orders and bus rows, events lost, ghost events, duplicate
    publishes, the charges of a naive and an idempotent Payment consumer, the kills
    injected and the wall time in seconds. Every child is killed and reaped before it returns,
    also on error; a child silent for ``ANSWER_TIMEOUT_S`` makes it raise ``RuntimeError``.
    """
    if not isinstance(config, RealOutboxConfig):
        raise TypeError(f"config must be a RealOutboxConfig, got {type(config).__name__}")
    started = time.perf_counter()
    folder = Path(os.path.abspath(folder))
    folder.mkdir(parents=True, exist_ok=True)
    for name, schema in SCHEMA.items():
        for suffix in ("", "-wal", "-shm", "-journal"):
            (folder / (name + suffix)).unlink(missing_ok=True)
        with _closing(_connect(folder / name)) as db:
            db.executescript(schema)
    writer_crashes, relay_crashes = _crash_schedule(config, seed)
    crashes = _Supervisor(config, folder, writer_crashes, relay_crashes).run()
    _consume(folder)
    counts = _audit(folder)
    counts["crashes"] = crashes
    counts["wall_s"] = round(time.perf_counter() - started, 3)
    return {name: counts[name] for name in COUNTS}


def compare(folder: str | Path, *, orders: int = 200, crash_probability: float = 0.05, seed: int = 0) -> pd.DataFrame:
    """One row per publishing mode (index ``publishing``), the counts of :func:`run` as columns.

    Each mode runs in its own subfolder of ``folder`` under the same seed, so the dual-write
    modes are killed at the same orders, and its databases stay there to be inspected.
    """
    rows = [run(RealOutboxConfig(publishing=mode, orders=orders, crash_probability=crash_probability),
                Path(folder) / mode, seed=seed) for mode in PUBLISHING]
    return pd.DataFrame(rows, index=pd.Index(PUBLISHING, name="publishing"), columns=list(COUNTS))


# --- the parent: schedule, supervise, consume, count --------------------------------------------------


def _crash_schedule(config: RealOutboxConfig, seed: int) -> tuple[list[int], list[int]]:
    """Which writer orders (1-based ids) and which relay attempts (0-based) are killed mid-way.

    One draw per operation, as in the simulation: per order for a dual-write writer; per publish
    attempt for the relay, whose attempts run oldest unsent row first, a killed attempt followed
    by a retry of the same row, so the sequence of attempts does not depend on timing.
    """
    faults, p, n = stream(seed, "faults"), float(config.crash_probability), int(config.orders)
    if config.publishing != "outbox":
        return [int(i) + 1 for i in (faults.random(n) < p).nonzero()[0]], []
    killed: list[int] = []
    attempt = sent = 0
    while sent < n:
        for u in faults.random(n).tolist():
            if u < p:
                killed.append(attempt)
            else:
                sent += 1
            attempt += 1
            if sent == n:
                break
    return [], killed


@dataclass
class _Child:
    """One child process as the supervisor sees it: its pipes, unread output and when it last spoke."""

    role: str
    proc: subprocess.Popen[bytes]
    heard_at: float
    buffer: bytes = b""
    lines: list[str] = field(default_factory=list)

    def read(self) -> bool:
        """Collect complete lines from stdout into ``lines``; False at end of file."""
        chunk = os.read(self.proc.stdout.fileno(), 65536)
        self.buffer += chunk
        *complete, self.buffer = self.buffer.split(b"\n")
        self.lines += [line.decode() for line in complete]
        return bool(chunk)


def _child_argv(role: str, folder: Path) -> list[str]:
    """The command of a child: this file run as a script (``-I -S``: no site-packages, no messagelab)."""
    return [sys.executable, "-I", "-S", "-B", os.path.abspath(__file__), role, str(folder)]


class _Supervisor:
    """Starts the writer (and relay), kills each at its crash point, restarts it, and reaps them all."""

    def __init__(self, config: RealOutboxConfig, folder: Path, writer_crashes: list[int],
                 relay_crashes: list[int]) -> None:
        self.config, self.folder = config, folder
        self.writer_crashes, self.relay_crashes = writer_crashes, relay_crashes
        self.started: list[subprocess.Popen[bytes]] = []
        self.selector = selectors.DefaultSelector()
        self.children: dict[str, _Child] = {}
        self.writer_done = False
        self.crashes = 0

    def run(self) -> int:
        """Supervise until the writer and relay have finished; the number of kills."""
        try:
            self._start_writer(first=1)
            if self.config.publishing == "outbox":
                self._start_relay(attempt=0)
            while self.children:
                for key, _ in self.selector.select(timeout=0.5):
                    self._hear(key.data)
                now = time.monotonic()
                for child in list(self.children.values()):
                    if now - child.heard_at > ANSWER_TIMEOUT_S:
                        raise RuntimeError(f"the {child.role} process (pid {child.proc.pid}) did not answer within "
                                           f"{ANSWER_TIMEOUT_S:g} s; it was killed")
            return self.crashes
        finally:
            self.selector.close()
            for proc in self.started:
                _reap(proc, kill=True)

    def _start(self, role: str, job: dict) -> None:
        proc = subprocess.Popen(_child_argv(role, self.folder), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, cwd=self.folder)
        self.started.append(proc)
        child = _Child(role, proc, time.monotonic())
        self.children[role] = child
        self.selector.register(proc.stdout, selectors.EVENT_READ, child)
        self._send(child, json.dumps(job))

    def _start_writer(self, first: int) -> None:
        if first > self.config.orders:  # killed at the last order: a replica would have nothing left to do
            self._writer_finished()
            return
        self._start("writer", {"publishing": self.config.publishing, "first": first, "last": int(self.config.orders),
                               "crash": [i for i in self.writer_crashes if i >= first]})

    def _start_relay(self, attempt: int) -> None:
        self._start("relay", {"batch": int(self.config.relay_batch), "attempt": attempt, "finish": self.writer_done,
                              "crash": [a for a in self.relay_crashes if a >= attempt]})

    def _send(self, child: _Child, line: str) -> None:
        try:
            child.proc.stdin.write(line.encode() + b"\n")
            child.proc.stdin.flush()
        except BrokenPipeError:
            pass  # it died: its end of file on stdout says so, with its stderr

    def _hear(self, child: _Child) -> None:
        alive = child.read()
        child.heard_at = time.monotonic()
        while child.lines:
            word, _, number = child.lines.pop(0).partition(" ")
            if word == "crash":
                scheduled = self.writer_crashes if child.role == "writer" else self.relay_crashes
                if int(number) not in scheduled:
                    raise RuntimeError(f"the {child.role} stopped at {number}, which was not drawn to crash")
                self._retire(child, kill=True)
                self.crashes += 1
                if child.role == "writer":
                    self._start_writer(first=int(number) + 1)
                else:
                    self._start_relay(attempt=int(number) + 1)
                return
            if word == "done":
                self._retire(child, kill=False)
                if child.role == "writer":
                    self._writer_finished()
                return
        if not alive:
            code = child.proc.wait(timeout=ANSWER_TIMEOUT_S)
            error = child.proc.stderr.read().decode(errors="replace").strip()
            raise RuntimeError(f"the {child.role} process (pid {child.proc.pid}) exited with {code} "
                               f"before it finished: {error or 'no error message'}")

    def _retire(self, child: _Child, *, kill: bool) -> None:
        """Kill (at a crash point) or let exit (after ``done``) one child, and reap it."""
        self.selector.unregister(child.proc.stdout)
        del self.children[child.role]
        if kill:
            os.kill(child.proc.pid, signal.SIGKILL)
        _reap(child.proc, kill=False)

    def _writer_finished(self) -> None:
        self.writer_done = True
        if "relay" in self.children:
            self._send(self.children["relay"], "finish")


def _reap(proc: subprocess.Popen[bytes], *, kill: bool) -> None:
    """Kill ``proc`` if asked and still running, wait for it (killing it after ``ANSWER_TIMEOUT_S``), close its pipes.

    Waiting is what reaps: a killed child left unwaited stays a zombie in the process table.
    """
    if kill and proc.poll() is None:
        proc.kill()  # SIGKILL
    try:
        proc.wait(timeout=ANSWER_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=ANSWER_TIMEOUT_S)
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            try:
                pipe.close()
            except BrokenPipeError:
                pass


def _consume(folder: Path) -> None:
    """The Payment service reads the bus in order, once naively and once idempotently, into ``payments.db``.

    The naive consumer charges for every bus row. The idempotent one inserts the message id into
    ``processed`` and charges only if that insert was new, both in one transaction, so a crash
    between recording and charging cannot happen either.
    """
    with _closing(_connect(folder / BUS_DB)) as bus, _closing(_connect(folder / PAYMENTS_DB)) as payments:
        for message_id, order_id in bus.execute("SELECT message_id, order_id FROM bus ORDER BY rowid").fetchall():
            with _transaction(payments):
                payments.execute("INSERT INTO charges VALUES ('naive', ?, ?)", (message_id, order_id))
            with _transaction(payments):
                new = payments.execute("INSERT OR IGNORE INTO processed VALUES (?)", (message_id,)).rowcount
                if new:
                    payments.execute("INSERT INTO charges VALUES ('idempotent', ?, ?)", (message_id, order_id))


def _audit(folder: Path) -> dict[str, int | float]:
    """Count the outcome from the three files (attached read-only to one connection, only to count)."""
    def read_only(name: str) -> str:
        return (folder / name).as_uri() + "?mode=ro"

    db = sqlite3.connect(read_only(ORDERS_DB), uri=True, timeout=ANSWER_TIMEOUT_S)
    with _closing(db):
        db.execute("ATTACH DATABASE ? AS b", (read_only(BUS_DB),))
        db.execute("ATTACH DATABASE ? AS p", (read_only(PAYMENTS_DB),))
        queries = {
            "orders_committed": "SELECT count(*) FROM orders",
            "bus_messages": "SELECT count(*) FROM b.bus",
            # A committed order no bus row speaks of; a bus message about an order never committed.
            "events_lost": "SELECT count(*) FROM orders AS o WHERE NOT EXISTS "
                           "(SELECT 1 FROM b.bus WHERE order_id = o.id)",
            "ghost_events": "SELECT count(DISTINCT message_id) FROM b.bus "
                            "WHERE order_id NOT IN (SELECT id FROM orders)",
            "duplicate_publishes": "SELECT count(*) - count(DISTINCT message_id) FROM b.bus",
            "naive_charges": "SELECT count(*) FROM p.charges WHERE consumer = 'naive'",
            "idempotent_charges": "SELECT count(*) FROM p.charges WHERE consumer = 'idempotent'",
        }
        return {name: int(db.execute(sql).fetchone()[0]) for name, sql in queries.items()}


# --- shared by parent and children: connections and transactions ---------------------------------------


def _connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, waiting up to the timeout for locks."""
    db = sqlite3.connect(path, timeout=ANSWER_TIMEOUT_S, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


@contextmanager
def _closing(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    try:
        yield db
    finally:
        db.close()


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``: take the write lock up front, so two writers wait instead of failing."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


# --- the children: writer (Order service) and relay ---------------------------------------------------


class _Inbox:
    """Lines from the supervisor on stdin, read without Python's buffering so ``select`` sees them all."""

    def __init__(self) -> None:
        self.buffer = b""

    def readline(self, timeout: float | None = None) -> str | None:
        """The next line; None if none came within ``timeout``. The supervisor gone (end of file): exit."""
        while b"\n" not in self.buffer:
            if timeout is not None and not select.select([0], [], [], timeout)[0]:
                return None
            chunk = os.read(0, 4096)
            if not chunk:
                os._exit(1)
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode()


def _say(line: str) -> None:
    """One line to the supervisor, written at once (no buffer a kill could lose)."""
    os.write(1, line.encode() + b"\n")


def _crash_point(number: int) -> None:
    """Step one is committed: tell the supervisor and wait for its SIGKILL; step two never runs."""
    _say(f"crash {number}")
    while os.read(0, 4096):
        pass
    os._exit(1)  # the supervisor is gone: die as the kill would have


def _writer(folder: Path, job: dict) -> None:
    """Place orders ``first`` … ``last``, committing and publishing each as ``publishing`` says."""
    publishing, crash = job["publishing"], set(job["crash"])
    orders = _connect(folder / ORDERS_DB)
    # A second connection to a second file: no transaction spans both. The outbox writer needs none.
    bus = None if publishing == "outbox" else _connect(folder / BUS_DB)

    def commit_order(order_id: int) -> None:
        with _transaction(orders):
            orders.execute("INSERT INTO orders VALUES (?, ?)", (order_id, time.time()))

    def publish(order_id: int) -> None:
        with _transaction(bus):
            bus.execute("INSERT INTO bus VALUES (?, ?, 'OrderPlaced', ?)", (f"order-{order_id}", order_id, time.time()))

    _say("ready")
    for order_id in range(job["first"], job["last"] + 1):
        if publishing == "outbox":
            with _transaction(orders):  # the order and its event: both or neither
                now = time.time()
                orders.execute("INSERT INTO orders VALUES (?, ?)", (order_id, now))
                orders.execute("INSERT INTO outbox (message_id, order_id, name, created_at) "
                               "VALUES (?, ?, 'OrderPlaced', ?)", (f"order-{order_id}", order_id, now))
        else:
            first, second = (commit_order, publish) if publishing == "dual-write-db-first" else (publish, commit_order)
            first(order_id)
            if order_id in crash:
                _crash_point(order_id)
            second(order_id)
        if order_id % 50 == 0:
            _say(f"progress {order_id}")
    _say("done")


def _relay(folder: Path, job: dict, inbox: _Inbox) -> None:
    """Publish unsent outbox rows, oldest first, marking each sent; stop once the writer is done and none is left."""
    crash, batch, attempt, finishing = set(job["crash"]), job["batch"], job["attempt"], job["finish"]
    orders = _connect(folder / ORDERS_DB)
    bus = _connect(folder / BUS_DB)
    _say("ready")
    idle_since = time.monotonic()
    while True:
        rows = orders.execute("SELECT id, message_id, order_id, name FROM outbox WHERE sent_at IS NULL "
                              "ORDER BY id LIMIT ?", (batch,)).fetchall()
        for row_id, message_id, order_id, name in rows:
            with _transaction(bus):
                bus.execute("INSERT INTO bus VALUES (?, ?, ?, ?)", (message_id, order_id, name, time.time()))
            if attempt in crash:
                _crash_point(attempt)
            with _transaction(orders):
                orders.execute("UPDATE outbox SET sent_at = ? WHERE id = ?", (time.time(), row_id))
            attempt += 1
        if rows:
            _say(f"progress {attempt}")
            idle_since = time.monotonic()
            continue
        if finishing:
            _say(f"done {attempt}")
            return
        if inbox.readline(timeout=RELAY_POLL_S) == "finish":
            finishing = True
        elif time.monotonic() - idle_since > 1.0:
            _say(f"idle {attempt}")  # a heartbeat: the supervisor kills a child silent for ANSWER_TIMEOUT_S
            idle_since = time.monotonic()


def _child(argv: list[str]) -> None:
    role, folder = argv[0], Path(argv[1])
    inbox = _Inbox()
    job = json.loads(inbox.readline() or "{}")
    if role == "writer":
        _writer(folder, job)
    elif role == "relay":
        _relay(folder, job, inbox)
    else:
        raise SystemExit(f"unknown role {role!r}: expected writer or relay")


if __name__ == "__main__":
    _child(sys.argv[1:])
