"""State-based CRDTs for a multi-region social platform: counters, sets and a last-writer-wins register.

A state-based CRDT (a CvRDT) is a replicated value whose states form a join-semilattice:
each replica applies updates to its own copy, ships its whole state to the others, and
``merge`` computes the least upper bound of two states. ``merge`` is commutative,
associative and idempotent, and every update only moves a state up the lattice, so
replicas that have seen the same updates converge to the same state whatever the order
in which the states were delivered, and however many times each one was (duplicates
included). No consensus, no locks, no coordination between regions.

Which type the platform uses for what:

* like counts: ``PNCounter`` — a ``GCounter`` cannot go down, and an "unlike" exists;
* followers, blocked accounts: ``ORSet`` (observed-remove, add wins) — a ``GSet`` cannot
  unfollow, and a follow concurrent with an unfollow keeps the follow;
* a profile field (display name, bio): ``LWWRegister`` — the write with the largest
  (timestamp, replica) wins, so of two concurrent updates one is silently lost, which the
  counters and sets above never do.

Marc Shapiro, Nuno Preguiça, Carlos Baquero, Marek Zawirski, "Conflict-free Replicated
Data Types", SSS 2011 (LNCS 6976), and "A comprehensive study of Convergent and
Commutative Replicated Data Types", INRIA research report RR-7506, 2011 (the
specifications here follow its G-Counter, PN-Counter, G-Set, OR-Set and LWW-Register).

Two regions like the same post concurrently; whichever way the states are merged, and
however often, the count is the same and no like is lost:

>>> likes = PNCounter()
>>> east = likes.increment("us-east-1", 2)
>>> west = likes.increment("eu-west-1").decrement("eu-west-1").increment("eu-west-1")
>>> east.merge(west) == west.merge(east) == east.merge(west).merge(west)
True
>>> east.merge(west).value
3

A profile field written concurrently keeps only the later write:

>>> bio = LWWRegister()
>>> a, b = bio.assign("hiking", 10.0, "us-east-1"), bio.assign("sailing", 12.5, "eu-west-1")
>>> a.merge(b).value, b.merge(a).value
('sailing', 'sailing')
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

#: A unique tag of one ``ORSet.add``: (replica id, that replica's add counter).
Tag = tuple[str, int]


def _check_n(n: int) -> None:
    # bool is an int subclass, but increment("r", True) is a bug, not a count.
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"n must be an int, got n={n!r}")
    if n < 1:
        # Zero or negative increments would let a G-Counter go down and break monotonicity.
        raise ValueError(f"n must be >= 1, got n={n}")


def _check_replica(replica: str) -> None:
    # Replica ids are sorted to normalise states, so they must all be of one orderable type.
    if not isinstance(replica, str):
        raise TypeError(f"replica id must be a str, got {replica!r}")


def _counts(pairs: Mapping[str, int] | Iterable[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    """Normalise a replica -> count mapping to sorted pairs, dropping zeros (absent and 0 are the same state)."""
    items = list(pairs.items()) if isinstance(pairs, Mapping) else [tuple(p) for p in pairs]
    seen: dict[str, int] = {}
    for replica, count in items:
        _check_replica(replica)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError(f"count of {replica!r} must be a non-negative int, got {count!r}")
        if replica in seen:
            raise ValueError(f"replica {replica!r} appears twice")
        seen[replica] = count
    return tuple(sorted((r, c) for r, c in seen.items() if c))


def _pointwise_max(a: tuple[tuple[str, int], ...], b: tuple[tuple[str, int], ...]) -> tuple[tuple[str, int], ...]:
    merged = dict(a)
    for replica, count in b:
        merged[replica] = max(merged.get(replica, 0), count)
    return tuple(sorted(merged.items()))


def _pointwise_leq(a: tuple[tuple[str, int], ...], b: tuple[tuple[str, int], ...]) -> bool:
    other = dict(b)
    return all(count <= other.get(replica, 0) for replica, count in a)


def _same_type(self: object, other: object) -> None:
    if type(other) is not type(self):
        raise TypeError(f"cannot merge {type(self).__name__} with {type(other).__name__}")


@dataclass(frozen=True)
class GCounter:
    """A grow-only counter: one non-negative count per replica; the value is their sum.

    ``counts`` may be given as a mapping or as pairs; it is stored as pairs sorted by
    replica id with zero counts dropped, so equal states compare equal.
    """

    counts: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "counts", _counts(self.counts))

    def count(self, replica: str) -> int:
        """The increments made at ``replica`` that this state has seen (0 if none)."""
        return dict(self.counts).get(replica, 0)

    def increment(self, replica: str, n: int = 1) -> GCounter:
        """A new state with ``n`` (>= 1) more at ``replica``; ``value`` grows by exactly ``n``.

        Only ``replica`` itself may increment its own entry: that is what makes the
        pointwise max of ``merge`` lose nothing.
        """
        _check_replica(replica)
        _check_n(n)
        return GCounter({**dict(self.counts), replica: self.count(replica) + n})

    @property
    def value(self) -> int:
        """The total number of increments seen, over all replicas."""
        return sum(count for _, count in self.counts)

    def merge(self, other: GCounter) -> GCounter:
        """The least upper bound: each replica's count is the larger of the two; neither operand changes."""
        _same_type(self, other)
        return GCounter(_pointwise_max(self.counts, other.counts))

    def leq(self, other: GCounter) -> bool:
        """The lattice order (the paper's ``compare``): every count here is <= the one in ``other``."""
        _same_type(self, other)
        return _pointwise_leq(self.counts, other.counts)


@dataclass(frozen=True)
class PNCounter:
    """A counter that can go down: increments in ``p``, decrements in ``n``; the value is ``p - n``.

    Decrementing cannot be a smaller count in one G-Counter (the max in ``merge`` would
    undo it), so decrements are counted up in a second one.
    """

    p: GCounter = field(default_factory=GCounter)
    n: GCounter = field(default_factory=GCounter)

    def increment(self, replica: str, n: int = 1) -> PNCounter:
        """A new state whose ``value`` is ``n`` (>= 1) higher."""
        return PNCounter(self.p.increment(replica, n), self.n)

    def decrement(self, replica: str, n: int = 1) -> PNCounter:
        """A new state whose ``value`` is ``n`` (>= 1) lower (it may go below zero; nothing forbids that)."""
        return PNCounter(self.p, self.n.increment(replica, n))

    @property
    def value(self) -> int:
        """All increments seen minus all decrements seen."""
        return self.p.value - self.n.value

    def merge(self, other: PNCounter) -> PNCounter:
        """The least upper bound: ``p`` and ``n`` merged separately; neither operand changes."""
        _same_type(self, other)
        return PNCounter(self.p.merge(other.p), self.n.merge(other.n))

    def leq(self, other: PNCounter) -> bool:
        """The lattice order: both ``p`` and ``n`` are <= those of ``other`` (not a comparison of values)."""
        _same_type(self, other)
        return self.p.leq(other.p) and self.n.leq(other.n)


@dataclass(frozen=True)
class GSet:
    """A grow-only set of hashable elements: add, never remove; ``merge`` is the union."""

    elements: frozenset[Hashable] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "elements", frozenset(self.elements))

    def add(self, element: Hashable) -> GSet:
        """A new state that contains ``element`` (and everything this one does)."""
        return GSet(self.elements | {element})

    def __contains__(self, element: object) -> bool:
        return element in self.elements

    def merge(self, other: GSet) -> GSet:
        """The union of the two sets; neither operand changes."""
        _same_type(self, other)
        return GSet(self.elements | other.elements)

    def leq(self, other: GSet) -> bool:
        """The lattice order: this set is a subset of ``other``."""
        _same_type(self, other)
        return self.elements <= other.elements


@dataclass(frozen=True)
class ORSet:
    """An observed-remove set (add wins): every add is tagged; a remove tombstones only the tags it has seen.

    ``added`` holds every (element, tag) ever added, ``removed`` the tombstoned ones (kept
    forever, so a merge cannot bring a removed tag back), and ``counters`` each replica's
    add counter, from which the next tag is made. An element is present while it has a
    tag that is not tombstoned. A remove cannot tombstone a tag it has not seen, so an
    add concurrent with it survives the merge: add wins.

    Tags are (replica, n) with n counting that replica's adds, so they are unique and
    deterministic as long as each replica id is used only by its own replica.
    """

    added: frozenset[tuple[Hashable, Tag]] = frozenset()
    removed: frozenset[tuple[Hashable, Tag]] = frozenset()
    counters: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "added", frozenset(self.added))
        object.__setattr__(self, "removed", frozenset(self.removed))
        object.__setattr__(self, "counters", _counts(self.counters))
        if not self.removed <= self.added:
            raise ValueError("every tombstone must be of a tag that was added")
        issued = dict(self.counters)
        # A tag beyond its replica's counter would be issued again by that replica's next add.
        if any(n > issued.get(replica, 0) for _, (replica, n) in self.added):
            raise ValueError("a tag's number exceeds its replica's counter")

    def add(self, replica: str, element: Hashable) -> ORSet:
        """A new state that contains ``element`` under a fresh tag of ``replica``.

        Tags already on ``element`` stay: a remove elsewhere that saw them cannot
        remove this add.
        """
        _check_replica(replica)
        n = dict(self.counters).get(replica, 0) + 1
        return ORSet(self.added | {(element, (replica, n))}, self.removed,
                     {**dict(self.counters), replica: n})

    def remove(self, element: Hashable) -> ORSet:
        """A new state without ``element``: its tags seen here are tombstoned.

        Removing an absent element changes nothing (there is no tag to tombstone), and
        an add of ``element`` this replica has not seen is untouched by this remove.
        """
        observed = {(e, tag) for e, tag in self.added - self.removed if e == element}
        return ORSet(self.added, self.removed | observed, self.counters)

    @property
    def elements(self) -> frozenset[Hashable]:
        """The elements that have at least one tag not tombstoned."""
        return frozenset(e for e, _ in self.added - self.removed)

    def __contains__(self, element: object) -> bool:
        return any(e == element for e, _ in self.added - self.removed)

    def merge(self, other: ORSet) -> ORSet:
        """The least upper bound: unions of tags and of tombstones, pointwise max of counters; neither changes."""
        _same_type(self, other)
        return ORSet(self.added | other.added, self.removed | other.removed,
                     _pointwise_max(self.counters, other.counters))

    def leq(self, other: ORSet) -> bool:
        """The lattice order: tags, tombstones and counters are all contained in those of ``other``."""
        _same_type(self, other)
        return (self.added <= other.added and self.removed <= other.removed
                and _pointwise_leq(self.counters, other.counters))


@dataclass(frozen=True)
class LWWRegister:
    """A last-writer-wins register: one value and the (timestamp, replica) of the write that set it.

    The unassigned register has ``value``, ``timestamp`` and ``replica`` all ``None`` and
    is below every write. Each (timestamp, replica) must name one write only: a replica
    never writes twice with the same timestamp.
    """

    value: Any = None
    timestamp: float | None = None
    replica: str | None = None

    def __post_init__(self) -> None:
        if (self.timestamp is None) != (self.replica is None):
            raise ValueError("timestamp and replica are given together or not at all")
        if self.timestamp is None:
            if self.value is not None:
                raise ValueError("an unassigned register holds no value")
            return
        _check_replica(self.replica)
        # NaN would make the order of writes undefined, and so merge non-deterministic.
        if not math.isfinite(self.timestamp):
            raise ValueError(f"timestamp must be finite, got {self.timestamp!r}")
        object.__setattr__(self, "timestamp", float(self.timestamp))

    @property
    def stamp(self) -> tuple[float, str] | None:
        """The (timestamp, replica) that orders writes; ties on timestamp go to the larger replica id."""
        return None if self.timestamp is None else (self.timestamp, self.replica)

    def assign(self, value: Any, timestamp: float, replica: str) -> LWWRegister:
        """The register after the write ``value`` at (``timestamp``, ``replica``): the merge of it with this state.

        So a write stamped before the one already held is lost at once, exactly as it
        would be when the states meet in a merge (a clock behind another region's loses).
        """
        return self.merge(LWWRegister(value, timestamp, replica))

    def merge(self, other: LWWRegister) -> LWWRegister:
        """The state whose (timestamp, replica) is the larger; the other write is lost. Neither operand changes.

        Raises ValueError for two different values with the same stamp, which only a
        replica reusing a timestamp can cause and which no choice could resolve the same
        way on every replica.
        """
        _same_type(self, other)
        if other.stamp is None:
            return self
        if self.stamp is None:
            return other
        if self.stamp == other.stamp:
            if self.value != other.value:
                raise ValueError(f"two different writes share the stamp {self.stamp!r}")
            return self
        return self if self.stamp > other.stamp else other

    def leq(self, other: LWWRegister) -> bool:
        """The lattice order: this write is unassigned or not later than that of ``other``."""
        _same_type(self, other)
        return self.stamp is None or (other.stamp is not None and self.stamp <= other.stamp)


CRDT = TypeVar("CRDT", GCounter, PNCounter, GSet, ORSet, LWWRegister)


def merge_all(states: Iterable[CRDT]) -> CRDT:
    """The merge of all ``states`` (in any order, with any duplicates: the result is the same).

    Raises ValueError if there are none: a CRDT's bottom state depends on its type, so an
    empty fold has no answer.
    """
    iterator = iter(states)
    try:
        result = next(iterator)
    except StopIteration:
        raise ValueError("merge_all needs at least one state") from None
    for state in iterator:
        result = result.merge(state)
    return result
