"""State-based CRDTs converge and lose nothing, in any delivery order; LWW does lose concurrent writes (hypothesis).

States are built the way a deployment builds them: three regions apply random local
updates and now and then merge another region's state. On such states ``merge`` is a
join: commutative, associative, idempotent, and an upper bound of both operands, so no
update is lost. Three regions that each update locally and then receive every other
region's state, in any order and with duplicates, end equal, with every increment,
decrement and add accounted for (checked against a plain model of the updates). The
OR-Set's add wins over a concurrent remove, but not over a remove that saw the add; the
LWW register keeps exactly the write with the largest (timestamp, replica), so of two
concurrent writes one is lost, where a counter keeps both.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from messagelab.multiregion import crdt
from messagelab.multiregion.crdt import GCounter, GSet, LWWRegister, ORSet, PNCounter, merge_all

#: Modest by default so the file runs in seconds; set MESSAGELAB_SOAK_EXAMPLES (e.g. 1000) for a soak run.
EXAMPLES = int(os.environ.get("MESSAGELAB_SOAK_EXAMPLES") or 50)
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None)

REPLICAS = ("us-east-1", "eu-west-1", "ap-southeast-1")
replicas = st.sampled_from(REPLICAS)
#: Few elements and values, so that adds, removes and writes of the same one collide often.
accounts = st.sampled_from(["alice", "bob", "carol", "dave"])
bios = st.sampled_from(["hiking", "sailing", "chess", "jazz", ""])
#: Half-second timestamps in a short range, so that ties on the timestamp happen.
timestamps = st.integers(0, 12).map(lambda t: t / 2)
counts = st.integers(1, 5)


# An operation is a tuple: ("inc", replica, n), ("dec", replica, n), ("gadd", element),
# ("add", replica, element), ("remove", element) or ("assign", value, timestamp, replica).
def apply(state: Any, op: tuple) -> Any:
    match op:
        case ("inc", replica, n):
            return state.increment(replica, n)
        case ("dec", replica, n):
            return state.decrement(replica, n)
        case ("gadd", element):
            return state.add(element)
        case ("add", replica, element):
            return state.add(replica, element)
        case ("remove", element):
            return state.remove(element)
        case ("assign", value, timestamp, replica):
            return state.assign(value, timestamp, replica)
    raise AssertionError(f"unknown operation {op!r}")


def _sum_counts(ops: list[tuple], kind: str) -> int:
    return sum(op[2] for op in ops if op[0] == kind)


def _orset_model(ops_by_replica: dict[str, list[tuple]]) -> frozenset:
    # Before any delivery a region's removes see only its own adds, so each region is a
    # plain set, and add wins: an element survives if any region still holds it.
    held: set = set()
    for ops in ops_by_replica.values():
        local: set = set()
        for op in ops:
            if op[0] == "add":
                local.add(op[2])
            else:
                local.discard(op[1])
        held |= local
    return frozenset(held)


def _lww_model(ops_by_replica: dict[str, list[tuple]]) -> tuple:
    writes = [op for ops in ops_by_replica.values() for op in ops]
    if not writes:
        return (None, None)
    _, value, timestamp, replica = max(writes, key=lambda op: (op[2], op[3]))
    return (value, (timestamp, replica))


@dataclass(frozen=True)
class Kind:
    """One CRDT type as the tests drive it."""

    name: str
    bottom: Any
    #: The local updates a replica may make.
    ops: Callable[[str], st.SearchStrategy[tuple]]
    #: What a user sees of a state.
    observe: Callable[[Any], Any]
    #: What a user should see once every region has every other's updates.
    expected: Callable[[dict[str, list[tuple]]], Any]
    #: ``a`` is contained in ``m``, checked on the representation, not with ``leq``.
    contained: Callable[[Any, Any], bool]


def _all(ops_by_replica: dict[str, list[tuple]]) -> list[tuple]:
    return [op for ops in ops_by_replica.values() for op in ops]


def _counts_contained(a: GCounter, m: GCounter) -> bool:
    return all(m.count(r) >= c for r, c in a.counts)


KINDS = (
    Kind("GCounter", GCounter(), lambda r: st.tuples(st.just("inc"), st.just(r), counts),
         lambda s: (s.value, tuple(s.count(r) for r in REPLICAS)),
         lambda by: (_sum_counts(_all(by), "inc"), tuple(_sum_counts(by[r], "inc") for r in REPLICAS)),
         _counts_contained),
    Kind("PNCounter", PNCounter(), lambda r: st.tuples(st.sampled_from(["inc", "dec"]), st.just(r), counts),
         lambda s: s.value,
         lambda by: _sum_counts(_all(by), "inc") - _sum_counts(_all(by), "dec"),
         lambda a, m: _counts_contained(a.p, m.p) and _counts_contained(a.n, m.n)),
    Kind("GSet", GSet(), lambda r: st.tuples(st.just("gadd"), accounts),
         lambda s: s.elements,
         lambda by: frozenset(op[1] for op in _all(by)),
         lambda a, m: a.elements <= m.elements),
    Kind("ORSet", ORSet(),
         lambda r: st.one_of(st.tuples(st.just("add"), st.just(r), accounts), st.tuples(st.just("remove"), accounts)),
         lambda s: s.elements,
         _orset_model,
         lambda a, m: a.added <= m.added and a.removed <= m.removed and _counts_contained(
             GCounter(a.counters), GCounter(m.counters))),
    Kind("LWWRegister", LWWRegister(), lambda r: st.tuples(st.just("assign"), bios, timestamps, st.just(r)),
         lambda s: (s.value, s.stamp),
         _lww_model,
         lambda a, m: a.stamp is None or (m.stamp is not None and m.stamp >= a.stamp)),
)
BY_NAME = {kind.name: kind for kind in KINDS}
each_kind = pytest.mark.parametrize("kind", KINDS, ids=[kind.name for kind in KINDS])


class _Writes:
    """Keeps LWW writes unique: a (timestamp, replica) drawn again is the same write again, not a new value."""

    def __init__(self, held: Any = None) -> None:
        self.seen: dict[tuple, Any] = {}
        if isinstance(held, LWWRegister) and held.stamp is not None:
            self.seen[held.stamp] = held.value

    def fix(self, op: tuple) -> tuple:
        if op[0] != "assign":
            return op
        _, value, timestamp, replica = op
        return ("assign", self.seen.setdefault((timestamp, replica), value), timestamp, replica)


@st.composite
def systems(draw: st.DrawFn, kind: Kind, max_steps: int = 20) -> dict[str, Any]:
    """The three regions' states after random local updates interleaved with random merges."""
    states = dict.fromkeys(REPLICAS, kind.bottom)
    writes = _Writes()
    for _ in range(draw(st.integers(0, max_steps))):
        receiver = draw(replicas)
        if draw(st.integers(0, 2)):  # two updates for each merge
            states[receiver] = apply(states[receiver], writes.fix(draw(kind.ops(receiver))))
        else:
            states[receiver] = states[receiver].merge(states[draw(replicas)])
    return states


def three_states(kind: Kind) -> st.SearchStrategy[tuple]:
    return systems(kind).map(lambda states: tuple(states[r] for r in REPLICAS))


# --- the lattice laws -------------------------------------------------------------------------------------------


@each_kind
@given(data=st.data())
@SETTINGS
def test_merge_is_commutative(kind: Kind, data: st.DataObject) -> None:
    """a ⊔ b == b ⊔ a."""
    a, b, _ = data.draw(three_states(kind))
    assert a.merge(b) == b.merge(a)


@each_kind
@given(data=st.data())
@SETTINGS
def test_merge_is_associative(kind: Kind, data: st.DataObject) -> None:
    """(a ⊔ b) ⊔ c == a ⊔ (b ⊔ c)."""
    a, b, c = data.draw(three_states(kind))
    assert a.merge(b).merge(c) == a.merge(b.merge(c))


@each_kind
@given(data=st.data())
@SETTINGS
def test_merge_is_idempotent(kind: Kind, data: st.DataObject) -> None:
    """a ⊔ a == a, and receiving the same state twice changes nothing more."""
    a, b, _ = data.draw(three_states(kind))
    assert a.merge(a) == a
    assert a.merge(b).merge(b) == a.merge(b)


@each_kind
@given(data=st.data())
@SETTINGS
def test_merge_loses_no_update_of_either_operand(kind: Kind, data: st.DataObject) -> None:
    """a ⊑ a ⊔ b and b ⊑ a ⊔ b, on the representation (counts never go down, sets only grow) and by ``leq``."""
    a, b, _ = data.draw(three_states(kind))
    merged = a.merge(b)
    assert kind.contained(a, merged) and kind.contained(b, merged)
    assert a.leq(merged) and b.leq(merged)


@each_kind
@given(data=st.data())
@SETTINGS
def test_merge_changes_neither_operand(kind: Kind, data: st.DataObject) -> None:
    """The operands of a merge are left as they were."""
    a, b, _ = data.draw(three_states(kind))
    before = (repr(a), repr(b))
    a.merge(b)
    b.merge(a)
    assert (repr(a), repr(b)) == before


@each_kind
@given(data=st.data())
@SETTINGS
def test_leq_is_the_order_of_merge(kind: Kind, data: st.DataObject) -> None:
    """a ⊑ b exactly when a ⊔ b == b: ``leq`` is the semilattice's order."""
    a, b, _ = data.draw(three_states(kind))
    assert a.leq(b) == (a.merge(b) == b)
    assert b.leq(a) == (b.merge(a) == a)


@each_kind
@given(data=st.data())
@SETTINGS
def test_a_local_update_only_moves_a_state_up(kind: Kind, data: st.DataObject) -> None:
    """s ⊑ update(s), and an update that changes s is not undone by merging the old state back."""
    state, _, _ = data.draw(three_states(kind))
    replica = data.draw(replicas)
    updated = apply(state, _Writes(held=state).fix(data.draw(kind.ops(replica))))
    assert state.leq(updated)
    assert updated.merge(state) == updated
    if updated != state:
        assert not updated.leq(state)


# --- convergence ------------------------------------------------------------------------------------------------


@each_kind
@given(data=st.data())
@SETTINGS
def test_regions_converge_whatever_the_delivery_order_and_duplicates(kind: Kind, data: st.DataObject) -> None:
    """Every region gets every other's state in a random order, some twice: all end equal, no update lost."""
    writes = _Writes()
    ops_by_replica = {r: [writes.fix(op) for op in data.draw(st.lists(kind.ops(r), max_size=8))] for r in REPLICAS}
    local = {}
    for replica, ops in ops_by_replica.items():
        local[replica] = kind.bottom
        for op in ops:
            local[replica] = apply(local[replica], op)

    messages = [(sender, receiver) for sender in REPLICAS for receiver in REPLICAS if sender != receiver]
    duplicates = data.draw(st.lists(st.sampled_from(messages), max_size=6))
    order = data.draw(st.permutations(messages + duplicates))
    # A message carries the sender's state when it was sent (after its local updates) or,
    # gossip-style, its state when the message arrives: both must converge.
    live = data.draw(st.booleans())
    states = dict(local)
    for sender, receiver in order:
        states[receiver] = states[receiver].merge(states[sender] if live else local[sender])

    finals = list(states.values())
    assert all(final == finals[0] for final in finals)
    assert finals[0] == merge_all(local.values())
    assert kind.observe(finals[0]) == kind.expected(ops_by_replica)
    assert all(kind.contained(local[r], finals[0]) for r in REPLICAS)


@pytest.mark.parametrize("kind", [BY_NAME[n] for n in ("GCounter", "PNCounter", "GSet")], ids=lambda k: k.name)
@given(data=st.data())
@SETTINGS
def test_equal_updates_in_any_order_give_equal_states(kind: Kind, data: st.DataObject) -> None:
    """Counter and G-Set updates commute: the same updates in another order give an equal (==) state."""
    ops = data.draw(st.lists(replicas.flatmap(kind.ops), max_size=12))
    shuffled = data.draw(st.permutations(ops))
    first, second = kind.bottom, kind.bottom
    for op in ops:
        first = apply(first, op)
    for op in shuffled:
        second = apply(second, op)
    assert first == second


def test_equal_counter_states_compare_equal_however_built() -> None:
    """A mapping and pairs in another order, with or without zero counts, are one state."""
    assert GCounter({"us-east-1": 2, "eu-west-1": 1}) == GCounter([("eu-west-1", 1), ("us-east-1", 2), ("x", 0)])
    assert GCounter().increment("us-east-1").increment("eu-west-1") == \
        GCounter().increment("eu-west-1").increment("us-east-1")


@each_kind
@given(data=st.data())
@SETTINGS
def test_merge_all_is_the_merge_of_any_order_with_duplicates(kind: Kind, data: st.DataObject) -> None:
    """``merge_all`` of a shuffled list with repeats equals the plain fold a ⊔ b ⊔ c."""
    a, b, c = data.draw(three_states(kind))
    extra = data.draw(st.lists(st.sampled_from([a, b, c]), max_size=4))
    shuffled = data.draw(st.permutations([a, b, c, *extra]))
    assert merge_all(shuffled) == a.merge(b).merge(c)


def test_merge_all_of_nothing_is_an_error() -> None:
    """An empty fold has no bottom to return."""
    with pytest.raises(ValueError, match="at least one"):
        merge_all([])


def test_merging_different_types_is_an_error() -> None:
    """A G-Set is not merged into a G-Counter."""
    with pytest.raises(TypeError, match="GCounter.*GSet"):
        GCounter().merge(GSet())


# --- counters ---------------------------------------------------------------------------------------------------


def test_concurrent_likes_in_two_regions_are_all_counted() -> None:
    """Two regions like concurrently, one unlikes: 2 + 1 - 1 whichever way they merge."""
    east = PNCounter().increment("us-east-1", 2)
    west = PNCounter().increment("eu-west-1").decrement("eu-west-1")
    assert east.merge(west).value == west.merge(east).value == 2
    assert east.merge(west).decrement("us-east-1").value == 1


@pytest.mark.parametrize(
    "update", [GCounter().increment, PNCounter().increment, PNCounter().decrement],
    ids=["GCounter.increment", "PNCounter.increment", "PNCounter.decrement"])
@given(n=st.integers(max_value=0))
@settings(max_examples=20, deadline=None, derandomize=True, database=None)
def test_non_positive_n_is_rejected_with_a_message_naming_n(update: Callable[..., Any], n: int) -> None:
    """increment/decrement by 0 or a negative n raise ValueError saying n=<value>."""
    with pytest.raises(ValueError, match=re.escape(f"n={n}")):
        update("us-east-1", n)
    with pytest.raises(ValueError, match=re.escape(f"n={n}")):
        update("us-east-1", n=n)


def test_a_negative_count_is_not_a_counter_state() -> None:
    """A G-Counter built by hand cannot hold a negative count."""
    with pytest.raises(ValueError, match="non-negative"):
        GCounter({"us-east-1": -1})


# --- the OR-Set: add wins ---------------------------------------------------------------------------------------

two_regions = st.permutations(REPLICAS).map(lambda p: p[:2])


@given(states=three_states(BY_NAME["ORSet"]), regions=two_regions, account=accounts)
@SETTINGS
def test_orset_add_concurrent_with_a_remove_wins(states: tuple, regions: tuple, account: str) -> None:
    """One region follows, another (not having seen it) unfollows: after merging, the follow stands."""
    adder, _ = regions
    base = merge_all(states)
    followed = base.add(adder, account)
    unfollowed = base.remove(account)
    assert account not in unfollowed
    assert account in followed.merge(unfollowed)
    assert account in unfollowed.merge(followed)


@given(states=three_states(BY_NAME["ORSet"]), regions=two_regions, account=accounts)
@SETTINGS
def test_orset_remove_that_saw_the_add_removes(states: tuple, regions: tuple, account: str) -> None:
    """A region that has received the follow unfollows, with no concurrent follow: absent everywhere after merging."""
    adder, _ = regions
    base = merge_all(states)
    followed = base.add(adder, account)
    unfollowed = base.merge(followed).remove(account)
    assert account not in followed.merge(unfollowed)
    assert account not in unfollowed.merge(followed)
    assert account in unfollowed.add(adder, account)  # and it can be followed again


def test_orset_follow_unfollow_story() -> None:
    """Alice is followed in the US, unfollowed in the EU concurrently (add wins), then unfollowed after both merge."""
    base = ORSet().add("us-east-1", "alice")
    us = base.add("us-east-1", "alice")  # a second follow, concurrent with the EU's unfollow
    eu = base.remove("alice")
    merged = us.merge(eu)
    assert "alice" not in eu and "alice" in merged and merged.elements == frozenset({"alice"})
    assert "alice" not in merged.remove("alice").merge(us).merge(eu)


def test_orset_tags_are_unique_and_deterministic() -> None:
    """Each add gets (replica, n) with n counting that replica's adds, even after merging others' tags."""
    east = ORSet().add("us-east-1", "alice").add("us-east-1", "alice")
    west = ORSet().add("eu-west-1", "alice").merge(east).add("eu-west-1", "bob")
    assert sorted(tag for _, tag in west.added) == [("eu-west-1", 1), ("eu-west-1", 2), ("us-east-1", 1),
                                                     ("us-east-1", 2)]
    assert east == ORSet().add("us-east-1", "alice").add("us-east-1", "alice")


# --- the LWW register: one concurrent write is lost -------------------------------------------------------------


@given(states=three_states(BY_NAME["LWWRegister"]), regions=two_regions,
       values=st.lists(bios, min_size=2, max_size=2, unique=True), offsets=st.tuples(timestamps, timestamps))
@SETTINGS
def test_lww_of_two_concurrent_writes_exactly_the_later_survives(states: tuple, regions: tuple, values: list,
                                                                  offsets: tuple) -> None:
    """Two regions write concurrently: the merge keeps the larger (timestamp, replica) write and loses the other."""
    base = merge_all(states)
    start = (base.timestamp or 0.0) + 1
    (r1, r2), (v1, v2), (t1, t2) = regions, values, (start + offsets[0], start + offsets[1])
    first, second = base.assign(v1, t1, r1), base.assign(v2, t2, r2)
    merged = first.merge(second)
    assert merged == second.merge(first)
    assert merged == (first if (t1, r1) > (t2, r2) else second)
    assert [v for v in (v1, v2) if v == merged.value] == [v1 if (t1, r1) > (t2, r2) else v2]
    assert merged.stamp == max((t1, r1), (t2, r2))


def test_lww_tie_on_timestamp_goes_to_the_larger_replica_id() -> None:
    """Same timestamp in two regions: "us-east-1" > "eu-west-1", so the US write wins either way."""
    us = LWWRegister().assign("hiking", 5.0, "us-east-1")
    eu = LWWRegister().assign("sailing", 5.0, "eu-west-1")
    assert us.merge(eu).value == eu.merge(us).value == "hiking"


def test_lww_write_older_than_the_one_held_is_lost_at_once() -> None:
    """A write stamped before the one a region already holds (a lagging clock) does not take effect."""
    held = LWWRegister().assign("sailing", 9.0, "eu-west-1")
    assert held.assign("hiking", 3.0, "us-east-1") == held


def test_lww_two_values_with_one_stamp_is_an_error() -> None:
    """Two different writes with the same (timestamp, replica) have no winner that every replica would agree on."""
    with pytest.raises(ValueError, match="share the stamp"):
        LWWRegister("a", 1.0, "us-east-1").merge(LWWRegister("b", 1.0, "us-east-1"))


@given(base_likes=st.integers(0, 100), writers=st.integers(2, 3), clock=st.lists(timestamps, min_size=3, max_size=3))
@SETTINGS
def test_lww_loses_concurrent_likes_that_a_counter_keeps(base_likes: int, writers: int, clock: list) -> None:
    """k regions each like once concurrently: a read-modify-write LWW count gains 1, a PN-Counter gains k."""
    regions = REPLICAS[:writers]
    register = LWWRegister(base_likes, -1.0, "us-east-1")
    counter = PNCounter().increment("us-east-1", base_likes) if base_likes else PNCounter()
    lww = merge_all(register.assign(register.value + 1, clock[i], r) for i, r in enumerate(regions))
    pn = merge_all(counter.increment(r) for r in regions)
    assert lww.value == base_likes + 1
    assert pn.value == base_likes + writers


def test_module_names_its_public_api() -> None:
    """The five types and ``merge_all`` are there under the names the course uses."""
    assert {"GCounter", "PNCounter", "GSet", "ORSet", "LWWRegister", "merge_all"} <= set(vars(crdt))
