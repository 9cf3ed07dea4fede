"""The trading domain on real event stores: invariants, replay, snapshots, concurrent writers, read models.

One suite, run against SQLite (a file) and PostgreSQL (a throwaway server from Debian's
``postgresql``, started by ``tests/pgserver.py``): every test that takes ``store`` runs on
both. The tests that reach into SQLite's own tables (an old event rewritten, bytes counted)
run on SQLite alone.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from eventsourcing.persistence import IntegrityError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messagelab.eventstore import Account, InvariantError, Trading, retrying


def sqlite(path: Path, **env: str) -> Trading:
    return Trading(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path), **env})


class Store:
    """A kind of event store; each :meth:`env` is a new, empty one (a file, or a database)."""

    def __init__(self, kind: str, folder: Path, server=None) -> None:
        self.kind, self.folder, self.server, self.made = kind, folder, server, 0

    def env(self) -> dict[str, str]:
        self.made += 1
        if self.kind == "sqlite":
            return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(self.folder / f"{self.made}.db")}
        return self.server.env(self.server.database())

    def app(self) -> Trading:
        return Trading(env=self.env())


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path_factory) -> Store:
    server = request.getfixturevalue("postgres") if request.param == "postgres" else None
    return Store(request.param, tmp_path_factory.mktemp(request.param), server)


def test_a_refused_command_stores_no_event(store: Store) -> None:
    app = store.app()
    alice = app.open_account("Alice", 1_000)
    buy = app.place_order(alice, "VWS", "buy", 10, 50)           # 500 reserved
    stored = len(app.history(alice))
    for refused in (lambda: app.withdraw(alice, 501),            # only 500 is free
                    lambda: app.fill(buy, 11, 50),               # overfill
                    lambda: app.fill(buy, 5, 51),                # above the limit
                    lambda: app.place_order(alice, "VWS", "sell", 1, 40),  # nothing held
                    lambda: app.place_order(alice, "ORS", "buy", 100, 10)):  # 1,000 > 500 free
        with pytest.raises(InvariantError):
            refused()
    assert len(app.history(alice)) == stored
    app.fill(buy, 4, 48)
    app.cancel(buy)
    with pytest.raises(InvariantError):
        app.fill(buy, 1, 48)                                     # a cancelled order
    account = app.account(alice)
    assert (account.cash, account.reserved) == (1_000 - 4 * 48, 0)
    assert app.position(alice, "VWS").shares == 4


commands = st.lists(st.tuples(st.sampled_from(["deposit", "withdraw", "buy", "fill", "cancel", "sell"]),
                              st.integers(1, 400)), min_size=1, max_size=30)


@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(script=commands)
def test_replaying_the_log_gives_the_live_state_at_every_version(store: Store, script) -> None:
    app = store.app()
    alice = app.open_account("Alice", 1_000)
    live = {app.account(alice).version: (1_000, 0)}
    orders = []
    for name, amount in script:
        try:
            if name == "deposit":
                app.deposit(alice, amount)
            elif name == "withdraw":
                app.withdraw(alice, amount)
            elif name == "buy":
                orders.append(app.place_order(alice, "VWS", "buy", 1 + amount % 5, 20))
            elif name == "sell":
                app.place_order(alice, "VWS", "sell", 1, 15)
            elif orders and name == "fill":
                app.fill(orders[-1], 1, 10 + amount % 10)
            elif orders:
                app.cancel(orders[-1])
        except InvariantError:
            pass
        account = app.account(alice)
        assert account.cash >= 0 and 0 <= account.reserved <= account.cash
        live[account.version] = (account.cash, account.reserved)
    for version, state in live.items():
        then = app.account(alice, version=version)
        assert (then.cash, then.reserved) == state


def test_a_snapshot_plus_its_tail_is_the_full_replay(store: Store) -> None:
    env = store.env()

    class Snapshotting(Trading):
        name = "Trading"            # the same application, so the same tables (PostgreSQL names them by it)
        snapshotting_intervals = {Account: 10}

    app = Snapshotting(env=env)
    alice = app.open_account("Alice", 0)
    for amount in range(1, 26):
        app.deposit(alice, amount)
    snapshots = list(app.snapshots.get(alice))
    assert [s.originator_version for s in snapshots] == [10, 20]
    from_snapshot = app.account(alice)
    full = Trading(env=env).account(alice)       # no snapshots used: every event replayed
    assert (from_snapshot.version, from_snapshot.cash) == (full.version, full.cash) == (26, sum(range(1, 26)))


def _withdraw_together(env: dict, account_id, amount: int, barrier, results) -> None:
    app = Trading(env=env)
    first = [True]

    def command() -> None:
        account = app.account(account_id)
        account.withdraw(amount)
        if first[0]:
            first[0] = False
            barrier.wait(timeout=30)          # both writers hold the same version before either saves
        app.save(account)

    try:
        _, conflicts = retrying(command)
        results.put(("saved", conflicts))
    except IntegrityError:
        results.put(("conflict", -1))


def test_two_processes_writing_one_account_conflict_once_and_lose_nothing(store: Store) -> None:
    env = store.env()
    alice = Trading(env=env).open_account("Alice", 1_000)
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_withdraw_together, args=(env, alice, amount, barrier, results))
               for amount in (100, 250)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    outcomes = sorted(results.get(timeout=5) for _ in workers)
    assert [kind for kind, _ in outcomes] == ["saved", "saved"]
    assert sorted(conflicts for _, conflicts in outcomes) == [0, 1]    # one won, the other was told and retried
    account = Trading(env=env).account(alice)
    assert account.cash == 1_000 - 100 - 250 and account.version == 3


def test_the_audit_trail_says_what_the_system_believed_at_a_moment_and_why(store: Store) -> None:
    app = store.app()
    alice = app.open_account("Alice", 1_000)
    app.deposit(alice, 500)
    moment = app.history(alice)[-1].timestamp          # "10:32": just after the deposit
    app.withdraw(alice, 1_200)
    then, now = app.account_at(alice, moment), app.account(alice)
    assert (then.cash, now.cash) == (1_500, 300)
    trail = app.audit_trail(alice, until=moment)
    assert [(row["event"], row["version"]) for row in trail] == [("AccountOpened", 1), ("CashDeposited", 2)]
    assert trail[1]["amount"] == 500 and trail[0]["owner"] == "Alice"
    assert app.account_at(alice, app.history(alice)[0].timestamp.replace(year=2000)) is None   # not open yet
    assert len(app.audit_trail(alice)) == 3


def test_replay_grows_with_the_stream_and_a_snapshot_bounds_it_by_its_interval(tmp_path: Path) -> None:
    from messagelab.eventstore.snapshots import measure

    costs = measure((100, 1_000, 5_000), interval=100, folder=tmp_path, repeats=3).set_index("events")
    assert costs.loc[5_000, "full_ms"] > 10 * costs.loc[100, "full_ms"]           # replay is linear in events
    assert costs.loc[5_000, "snapshot_ms"] < costs.loc[5_000, "full_ms"] / 5       # the tail is 100 events
    assert (costs["tail_events"] == 100).all()
    assert costs.loc[5_000, "event_bytes"] > 10 * costs.loc[100, "event_bytes"] > 0
    assert 0 < costs.loc[5_000, "snapshot_bytes"] < costs.loc[5_000, "event_bytes"] / 100


def test_a_version_1_event_in_the_store_is_upcast_when_read(tmp_path: Path) -> None:
    """An account opened before events carried a currency: its stored event stays as written,
    and the domain reads it as version 2, in euros."""
    import json
    import sqlite3

    db = tmp_path / "trading.db"
    app = sqlite(db)
    legacy, modern = app.open_account("Old Ltd", 100), app.open_account("New plc", 100, currency="USD")
    app.deposit(legacy, 5)
    with sqlite3.connect(db) as store:   # rewrite the first event as version 1 wrote it
        state = json.loads(store.execute("SELECT state FROM stored_events WHERE originator_id = ? AND "
                                         "originator_version = 1", (legacy.hex,)).fetchone()[0])
        assert state.pop("class_version") == 2 and state.pop("currency") == "EUR"
        store.execute("UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = 1",
                      (json.dumps(state).encode(), legacy.hex))
    reader = sqlite(db)
    old, new = reader.account(legacy), reader.account(modern)
    assert (old.currency, old.cash, new.currency) == ("EUR", 105, "USD")
    with sqlite3.connect(db) as store:   # reading changed nothing in the log
        stored = json.loads(store.execute("SELECT state FROM stored_events WHERE originator_id = ? AND "
                                          "originator_version = 1", (legacy.hex,)).fetchone()[0])
    assert "currency" not in stored and "class_version" not in stored


def _trades(app: Trading):
    alice, bob = app.open_account("Alice", 1_000), app.open_account("Bob", 500)
    buy = app.place_order(alice, "VWS", "buy", 10, 50)
    app.fill(buy, 6, 48)
    app.deposit(bob, 100)
    sell = app.place_order(alice, "VWS", "sell", 4, 40)
    app.fill(sell, 4, 41)
    return alice, bob


def test_the_read_model_lags_the_log_until_it_catches_up_and_then_agrees_with_the_aggregates(
        store: Store, tmp_path: Path) -> None:
    from messagelab.eventstore.projections import PositionsView

    app = store.app()
    view = PositionsView(str(tmp_path / "view.db"))
    alice, bob = _trades(app)
    total = app.recorder.max_notification_id()
    assert view.lag(app) == total and view.cash(alice) is None
    assert view.catch_up(app, limit=3) == 3 and view.lag(app) == total - 3     # partway: the read side lags
    view.catch_up(app)
    assert view.lag(app) == 0
    for who in (alice, bob):
        assert view.cash(who) == app.account(who).cash
    assert view.shares(alice, "VWS") == app.position(alice, "VWS").shares == 2


def test_an_event_delivered_twice_is_applied_once(store: Store, tmp_path: Path) -> None:
    from messagelab.eventstore.projections import PositionsView

    app = store.app()
    view = PositionsView(str(tmp_path / "view.db"))
    alice, _ = _trades(app)
    view.catch_up(app)
    before = view.cash(alice)
    again = app.recorder.select_notifications(start=1, limit=100)
    assert sum(view.apply(n.id, app.mapper.to_domain_event(n)) for n in again) == 0   # every one recognised
    assert view.cash(alice) == before


def _follow(env: dict, view_db: str) -> int:
    from messagelab.eventstore.projections import PositionsView

    view, app = PositionsView(view_db), Trading(env=env)
    applied = 0
    for _ in range(50):                     # small steps, interleaving with the other follower
        applied += view.catch_up(app, limit=1)
    return applied


def test_two_followers_of_one_view_apply_each_event_once(store: Store, tmp_path: Path) -> None:
    from messagelab.eventstore.projections import PositionsView

    env = store.env()
    app = Trading(env=env)
    alice, bob = _trades(app)
    for amount in range(1, 21):
        app.deposit(bob, amount)
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        applied = pool.starmap(_follow, [(env, str(tmp_path / "view.db"))] * 2)
    assert sum(applied) == app.recorder.max_notification_id()          # between them, each exactly once
    view = PositionsView(str(tmp_path / "view.db"))
    assert view.lag(app) == 0 and view.cash(bob) == app.account(bob).cash == 500 + 100 + sum(range(1, 21))


def test_a_read_model_is_rebuilt_from_the_log(store: Store, tmp_path: Path) -> None:
    from messagelab.eventstore.projections import PositionsView

    app = store.app()
    view = PositionsView(str(tmp_path / "view.db"))
    alice, _ = _trades(app)
    view.catch_up(app)
    view.db.execute("UPDATE cash SET cash = 0")             # a bug in an old version of the view
    assert view.rebuild(app) == app.recorder.max_notification_id()
    assert view.cash(alice) == app.account(alice).cash


def test_erasing_an_owner_makes_their_name_unreadable_and_leaves_every_event(store: Store, tmp_path: Path) -> None:
    from messagelab.eventstore.shredding import FORGOTTEN, KeyStore

    env = store.env()
    app = Trading(env=env, keys=KeyStore(str(tmp_path / "keys.db")))
    alice, bob = app.open_account("Alice Smith", 1_000), app.open_account("Bob Jones", 500)
    app.deposit(alice, 50)
    opened = app.history(alice)[0]
    assert opened.subject and "Alice" not in opened.owner      # sealed before it was stored
    assert app.owner_of(alice) == "Alice Smith"
    app.erase_owner(alice)
    reread = Trading(env=env, keys=KeyStore(str(tmp_path / "keys.db")))
    assert reread.owner_of(alice) == FORGOTTEN and reread.owner_of(bob) == "Bob Jones"
    assert reread.account(alice).cash == 1_050 and len(reread.history(alice)) == 2   # the log is intact
    assert [row["event"] for row in reread.audit_trail(alice)] == ["AccountOpened", "CashDeposited"]


def test_the_replay_model_fitted_to_short_streams_predicts_a_longer_one(tmp_path: Path) -> None:
    from messagelab.eventstore.snapshots import fit, measure, model

    measured = measure((500, 1_000, 2_000, 8_000), interval=100, folder=tmp_path, repeats=3).set_index("events")
    fixed, per_event = fit(measured.loc[[500, 1_000, 2_000]].reset_index())
    predicted = model([8_000], interval=100, fixed_ms=fixed, per_event_ms=per_event)
    # Wall-clock times on a shared machine: the line must hold within a factor of two, no closer.
    ratio = float(predicted["full_ms"].iloc[0]) / measured.loc[8_000, "full_ms"]
    assert 0.5 < ratio < 2.0, ratio
    assert float(predicted["snapshot_ms"].iloc[0]) < float(predicted["full_ms"].iloc[0]) / 10
