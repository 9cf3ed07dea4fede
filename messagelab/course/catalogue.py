"""The course catalogue: every assignment of the module, its learning paths and its grading.

The module "Messaging and Event-Driven Systems" has 15 assignments, one folder each in
``source/`` (instructor notebooks) and ``release/`` (student notebooks)::

    ex01 … ex06     core exercises          2–3 h each   explore, then commit to a design
    lab1 … lab4     interactive labs        1.5–2 h      one system, tuned hands-on
    setA … setE     comprehensive sets      3–4 h        several designs under one brief

An assignment is *available* once its student notebook exists at
``release/<id>/<id>.ipynb``; until then it is *in preparation*. Everything that shows the
course to a learner (the course home, the README) reads this module, so the map it shows
stays true as notebooks are released.

>>> get("ex01-message-queues").title
'Message Queue Implementation Strategy'
>>> letter_grade(89.99), letter_grade(90)
('B', 'A')
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from messagelab.course.root import course_root

__all__ = [
    "ASSIGNMENTS",
    "GRADING_CRITERIA",
    "LEARNING_PATHS",
    "Assignment",
    "Criterion",
    "LearningPath",
    "catalogue_frame",
    "criteria_frame",
    "get",
    "hours_label",
    "letter_grade",
    "path_frame",
    "release_path",
    "source_path",
    "status",
]

Kind = Literal["exercise", "lab", "set"]
Level = Literal["beginner", "intermediate", "advanced"]
Status = Literal["available", "in preparation"]
PathLike = str | os.PathLike[str]

AVAILABLE: Status = "available"
IN_PREPARATION: Status = "in preparation"

_KINDS = ("exercise", "lab", "set")
_LEVELS = ("beginner", "intermediate", "advanced")


@dataclass(frozen=True)
class Assignment:
    """One assignment of the module: an exercise, a lab or a set of comprehensive exercises.

    Attributes:
        id: folder name in ``source/`` and ``release/``, e.g. ``"ex01-message-queues"``.
        kind: ``"exercise"``, ``"lab"`` or ``"set"``.
        number: ``"01"`` … ``"06"`` for exercises, ``"1"`` … ``"4"`` for labs,
            ``"A"`` … ``"E"`` for sets.
        title: the title shown on the course map and as the notebook's H1.
        duration_h: expected working time as ``(low, high)`` hours.
        level: ``"beginner"``, ``"intermediate"`` or ``"advanced"``.
        skills: what the learner practises, most important first.
        scenario: the business situation the design must serve, in one sentence.
        prerequisites: ids of the assignments to complete first.
    """

    id: str
    kind: Kind
    number: str
    title: str
    duration_h: tuple[float, float]
    level: Level
    skills: tuple[str, ...]
    scenario: str
    prerequisites: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"{self.id}: kind={self.kind!r}; allowed: {', '.join(_KINDS)}")
        if self.level not in _LEVELS:
            raise ValueError(f"{self.id}: level={self.level!r}; allowed: {', '.join(_LEVELS)}")
        low, high = self.duration_h
        if not 0 < low <= high:
            raise ValueError(f"{self.id}: duration_h={self.duration_h!r}; need 0 < low <= high")

    @property
    def label(self) -> str:
        """Short name used in prose and tables, e.g. ``"Exercise 01"``, ``"Lab 2"``, ``"Set C"``."""
        return f"{self.kind.capitalize()} {self.number}"


ASSIGNMENTS: tuple[Assignment, ...] = (
    # Core exercises: 2–3 h each.
    Assignment(
        id="ex01-message-queues",
        kind="exercise",
        number="01",
        title="Message Queue Implementation Strategy",
        duration_h=(2, 3),
        level="beginner",
        skills=(
            "queue architecture",
            "reliability patterns: error handling, retries, dead-letter queues, idempotency",
            "monitoring design",
        ),
        scenario=(
            "An e-commerce order pipeline must absorb a 10× order spike on Black Friday "
            "without losing an order or charging a customer twice."
        ),
    ),
    Assignment(
        id="ex02-event-driven-microservices",
        kind="exercise",
        number="02",
        title="Event-Driven Microservices Architecture",
        duration_h=(2, 3),
        level="intermediate",
        skills=(
            "choreography versus orchestration",
            "sagas and compensating actions",
            "transactional outbox",
            "idempotent consumers",
        ),
        scenario=(
            "A ride-hailing platform splits its monolith into booking, driver matching, "
            "payment and notification services that must agree on every trip."
        ),
        prerequisites=("ex01-message-queues",),
    ),
    Assignment(
        id="ex03-high-throughput-streaming",
        kind="exercise",
        number="03",
        title="High-Throughput Event Streaming",
        duration_h=(2, 3),
        level="intermediate",
        skills=(
            "partitioning and partition keys",
            "producer batching and compression",
            "consumer groups and lag",
            "ordering and delivery guarantees",
        ),
        scenario=(
            "An IoT (Internet of Things) telemetry platform ingests readings from 200,000 "
            "wind-turbine sensors and must raise a vibration alarm within two seconds."
        ),
        prerequisites=("ex01-message-queues",),
    ),
    Assignment(
        id="ex04-event-sourcing",
        kind="exercise",
        number="04",
        title="Event Sourcing and CQRS Design",
        duration_h=(2, 3),
        level="advanced",
        skills=(
            "event store design",
            "projections and read models",
            "snapshots",
            "event schema evolution",
            "audit and replay",
        ),
        scenario=(
            "A retail bank rebuilds its ledger so that every account balance can be "
            "replayed, transaction by transaction, for the regulator's audit."
        ),
        prerequisites=("ex02-event-driven-microservices",),
    ),
    Assignment(
        id="ex05-resilience-patterns",
        kind="exercise",
        number="05",
        title="Resilience Patterns for Distributed Messaging",
        duration_h=(2, 3),
        level="intermediate",
        skills=(
            "circuit breakers",
            "retries with backoff and jitter",
            "timeouts and bulkheads",
            "graceful degradation",
        ),
        scenario=(
            "A payment service that calls three external card processors must keep "
            "checkout working when one of them slows down or fails."
        ),
        prerequisites=("ex02-event-driven-microservices",),
    ),
    Assignment(
        id="ex06-global-messaging",
        kind="exercise",
        number="06",
        title="Global Multi-Region Messaging",
        duration_h=(2, 3),
        level="advanced",
        skills=(
            "cross-region replication",
            "failover against recovery point and recovery time objectives",
            "data residency",
            "latency-aware routing",
        ),
        scenario=(
            "A global retailer selling in Europe, America and Asia must keep taking orders "
            "through a region outage while European customer data stays in the EU "
            "under the GDPR."
        ),
        prerequisites=("ex03-high-throughput-streaming", "ex05-resilience-patterns"),
    ),
    # Interactive labs: 1.5–2 h each, one system tuned hands-on.
    Assignment(
        id="lab1-eda-simulator",
        kind="lab",
        number="1",
        title="Event-Driven Architecture Simulator",
        duration_h=(1.5, 2),
        level="beginner",
        skills=(
            "event flows between services",
            "synchronous versus asynchronous coupling",
            "back-pressure",
            "failure propagation",
        ),
        scenario=(
            "A food-delivery platform watches what happens to orders, kitchens and couriers "
            "when the restaurant service slows down at dinner time."
        ),
        prerequisites=("ex01-message-queues",),
    ),
    Assignment(
        id="lab2-kafka-tuning",
        kind="lab",
        number="2",
        title="Kafka Performance Tuning",
        duration_h=(1.5, 2),
        level="intermediate",
        skills=(
            "partition count",
            "batch size and linger time",
            "compression",
            "acknowledgements and durability",
            "consumer lag",
        ),
        scenario=(
            "A video-streaming service's clickstream analytics fall minutes behind every "
            "evening at prime time and must catch up without losing events."
        ),
        prerequisites=("ex03-high-throughput-streaming",),
    ),
    Assignment(
        id="lab3-event-sourcing",
        kind="lab",
        number="3",
        title="Event Sourcing Implementation",
        duration_h=(1.5, 2),
        level="intermediate",
        skills=(
            "append-only event store",
            "optimistic concurrency",
            "projections",
            "snapshots",
        ),
        scenario=(
            "A concert-ticketing platform must never sell one seat twice during an on-sale "
            "rush and must be able to replay every reservation."
        ),
        prerequisites=("ex04-event-sourcing",),
    ),
    Assignment(
        id="lab4-circuit-breakers",
        kind="lab",
        number="4",
        title="Circuit Breakers and Resilience Testing",
        duration_h=(1.5, 2),
        level="intermediate",
        skills=(
            "circuit breaker thresholds",
            "fault injection",
            "retry storms",
            "resilience experiments",
        ),
        scenario=(
            "A travel-booking site whose airline-availability provider times out under load "
            "must keep search fast without hammering the provider."
        ),
        prerequisites=("ex05-resilience-patterns",),
    ),
    # Comprehensive sets: 3–4 h each, several designs under one brief.
    Assignment(
        id="setA-messaging-patterns",
        kind="set",
        number="A",
        title="Messaging Patterns",
        duration_h=(3, 4),
        level="intermediate",
        skills=(
            "point-to-point versus publish-subscribe",
            "competing consumers",
            "request-reply",
            "ordering and deduplication",
        ),
        scenario=(
            "A logistics company routes every shipment event to its warehouses, carriers "
            "and customers, each needing a different delivery guarantee."
        ),
        prerequisites=("ex01-message-queues", "ex02-event-driven-microservices"),
    ),
    Assignment(
        id="setB-event-sourcing-cqrs",
        kind="set",
        number="B",
        title="Event Sourcing and CQRS",
        duration_h=(3, 4),
        level="advanced",
        skills=(
            "aggregate and event design",
            "read-model consistency",
            "rebuilding projections",
            "event versioning",
        ),
        scenario=(
            "An insurer moves claims handling to event sourcing so adjusters, fraud "
            "detection and customers each get their own up-to-date view of a claim."
        ),
        prerequisites=("ex04-event-sourcing",),
    ),
    Assignment(
        id="setC-aws-messaging",
        kind="set",
        number="C",
        title="AWS Messaging Services",
        duration_h=(3, 4),
        level="intermediate",
        skills=(
            "SQS standard versus FIFO queues",
            "SNS fan-out",
            "EventBridge routing",
            "Kinesis streams",
            "cost modelling",
        ),
        scenario=(
            "A healthcare appointment-booking start-up on AWS chooses between queues, "
            "topics, an event bus and streams to meet its reminders' deadlines within a "
            "monthly budget."
        ),
        prerequisites=("ex01-message-queues",),
    ),
    Assignment(
        id="setD-performance-scalability",
        kind="set",
        number="D",
        title="Performance and Scalability",
        duration_h=(3, 4),
        level="advanced",
        skills=(
            "capacity planning with queueing theory",
            "tail latency",
            "load testing",
            "autoscaling",
        ),
        scenario=(
            "An online-gaming company sizes the event pipeline behind its live leaderboards "
            "for a tournament weekend at five times normal traffic."
        ),
        prerequisites=("ex03-high-throughput-streaming",),
    ),
    Assignment(
        id="setE-resilience-reliability",
        kind="set",
        number="E",
        title="Resilience and Reliability",
        duration_h=(3, 4),
        level="advanced",
        skills=(
            "service level objectives and error budgets",
            "failure-mode analysis",
            "disaster recovery",
            "resilience under combined faults",
        ),
        scenario=(
            "A national instant-payments switch must stay available 99.99% of the time "
            "through broker failures, network partitions and a data-centre loss."
        ),
        prerequisites=("ex05-resilience-patterns", "ex06-global-messaging"),
    ),
)

_BY_ID: dict[str, Assignment] = {a.id: a for a in ASSIGNMENTS}


@dataclass(frozen=True)
class LearningPath:
    """An ordered route through the module for one kind of learner.

    Attributes:
        name: ``"beginner"``, ``"intermediate"`` or ``"advanced"``.
        audience: one sentence on who the path is for.
        ids: assignment ids in the order to take them.
    """

    name: str
    audience: str
    ids: tuple[str, ...]

    @property
    def assignments(self) -> tuple[Assignment, ...]:
        """The path's assignments, in order."""
        return tuple(_BY_ID[i] for i in self.ids)

    @property
    def duration_h(self) -> tuple[float, float]:
        """Total expected working time of the path as ``(low, high)`` hours."""
        return (
            float(sum(a.duration_h[0] for a in self.assignments)),
            float(sum(a.duration_h[1] for a in self.assignments)),
        )


LEARNING_PATHS: dict[str, LearningPath] = {
    path.name: path
    for path in (
        LearningPath(
            name="beginner",
            audience=(
                "For developers new to message brokers: queues first, then events between "
                "services, the common patterns and staying up when a dependency fails."
            ),
            ids=(
                "ex01-message-queues",
                "lab1-eda-simulator",
                "ex02-event-driven-microservices",
                "setA-messaging-patterns",
                "ex05-resilience-patterns",
                "lab4-circuit-breakers",
            ),
        ),
        LearningPath(
            name="intermediate",
            audience=(
                "For engineers who already run a queue in production and want streaming, "
                "event sourcing and managed cloud services in depth."
            ),
            ids=(
                "ex02-event-driven-microservices",
                "ex03-high-throughput-streaming",
                "lab2-kafka-tuning",
                "ex04-event-sourcing",
                "lab3-event-sourcing",
                "setC-aws-messaging",
            ),
        ),
        LearningPath(
            name="advanced",
            audience=(
                "For architects designing platforms at scale: the hardest exercises and the "
                "comprehensive sets, assuming the core patterns are familiar."
            ),
            ids=(
                "ex03-high-throughput-streaming",
                "ex04-event-sourcing",
                "ex05-resilience-patterns",
                "ex06-global-messaging",
                "setB-event-sourcing-cqrs",
                "setD-performance-scalability",
                "setE-resilience-reliability",
            ),
        ),
    )
}


@dataclass(frozen=True)
class Criterion:
    """One grading criterion; every ``grade_id`` starts with its ``key`` and a hyphen.

    Attributes:
        key: the ``grade_id`` prefix, e.g. ``"arch"``.
        name: the criterion's name.
        weight_percent: its share of the module grade, in percent.
        description: what it rewards, in one line.
    """

    key: str
    name: str
    weight_percent: int
    description: str


GRADING_CRITERIA: dict[str, Criterion] = {
    c.key: c
    for c in (
        Criterion(
            "arch",
            "Architectural design",
            40,
            "The design meets the scenario's targets for latency, loss and cost "
            "under its load and faults.",
        ),
        Criterion(
            "sys",
            "Systems thinking",
            25,
            "Trade-offs, failure modes and second-order effects are named and weighed.",
        ),
        Criterion(
            "biz",
            "Business alignment",
            20,
            "Decisions are tied to the business's goals, risks and costs.",
        ),
        Criterion(
            "comm",
            "Communication",
            15,
            "Rationale, diagram and roadmap are clear, concise and well structured.",
        ),
    )
}

_GRADE_FLOORS: tuple[tuple[float, str], ...] = (
    (90, "A"),
    (80, "B"),
    (70, "C"),
    (60, "D"),
    (0, "F"),
)


def letter_grade(score_percent: float) -> str:
    """The module's letter grade for a score in percent: A ≥ 90, B ≥ 80, C ≥ 70, D ≥ 60, else F.

    Raises:
        ValueError: if ``score_percent`` is not a number between 0 and 100.

    >>> [letter_grade(s) for s in (100, 90, 89.99, 70, 60, 59.99, 0)]
    ['A', 'A', 'B', 'C', 'D', 'F', 'F']
    """
    try:
        score = float(score_percent)
    except (TypeError, ValueError):
        raise ValueError(
            f"score_percent={score_percent!r} is not a number; expected 0 to 100"
        ) from None
    if math.isnan(score) or not 0 <= score <= 100:
        raise ValueError(f"score_percent={score_percent!r} is outside 0 to 100")
    return next(letter for floor, letter in _GRADE_FLOORS if score >= floor)


def get(assignment_id: str) -> Assignment:
    """The assignment with this id.

    Raises:
        KeyError: if the id is unknown; the message lists the valid ids.
    """
    try:
        return _BY_ID[assignment_id]
    except KeyError:
        raise KeyError(
            f"unknown assignment {assignment_id!r}; valid ids: {', '.join(_BY_ID)}"
        ) from None


def _resolve(assignment: Assignment | str) -> Assignment:
    return assignment if isinstance(assignment, Assignment) else get(assignment)


def _root(root: PathLike | None) -> Path:
    return course_root() if root is None else Path(root)


def source_path(assignment: Assignment | str, root: PathLike | None = None) -> Path:
    """Where the instructor notebook lives: ``<root>/source/<id>/<id>.ipynb``."""
    a = _resolve(assignment)
    return _root(root) / "source" / a.id / f"{a.id}.ipynb"


def release_path(assignment: Assignment | str, root: PathLike | None = None) -> Path:
    """Where the student notebook lives: ``<root>/release/<id>/<id>.ipynb``."""
    a = _resolve(assignment)
    return _root(root) / "release" / a.id / f"{a.id}.ipynb"


def status(assignment: Assignment | str, root: PathLike | None = None) -> Status:
    """``"available"`` when the student notebook exists under ``root``.

    Otherwise ``"in preparation"``: the assignment is listed on the map but not released yet.
    """
    return AVAILABLE if release_path(assignment, root).is_file() else IN_PREPARATION


def hours_label(assignment: Assignment | str) -> str:
    """Expected working time as text, e.g. ``"2–3 h"`` or ``"1.5–2 h"``."""
    low, high = _resolve(assignment).duration_h
    return f"{low:g} h" if low == high else f"{low:g}–{high:g} h"


def _frame(assignments: Iterable[Assignment], root: Path) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "id": a.id,
                "kind": a.kind,
                "title": a.title,
                "hours": hours_label(a),
                "level": a.level,
                "skills": ", ".join(a.skills),
                "status": status(a, root),
            }
            for a in assignments
        ],
        columns=["id", "kind", "title", "hours", "level", "skills", "status"],
    )


def catalogue_frame(root: PathLike | None = None) -> pd.DataFrame:
    """The module map: one row per assignment, in module order.

    Columns: ``id``, ``kind``, ``title``, ``hours`` (e.g. ``"2–3 h"``), ``level``,
    ``skills`` (comma-separated) and ``status`` (``"available"`` or ``"in preparation"``).
    """
    return _frame(ASSIGNMENTS, _root(root))


def path_frame(path_name: str, root: PathLike | None = None) -> pd.DataFrame:
    """One learning path as a table, in the order to take it.

    Same columns as :func:`catalogue_frame`, indexed by step (1, 2, …).

    Raises:
        KeyError: if ``path_name`` is not a learning path; the message lists them.
    """
    try:
        path = LEARNING_PATHS[path_name]
    except KeyError:
        raise KeyError(
            f"unknown learning path {path_name!r}; valid paths: {', '.join(LEARNING_PATHS)}"
        ) from None
    frame = _frame(path.assignments, _root(root))
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="step")
    return frame


def criteria_frame() -> pd.DataFrame:
    """The grading criteria as a table, in order.

    Columns: ``key``, ``criterion``, ``weight`` (e.g. ``"40%"``) and ``what it rewards``.
    """
    return pd.DataFrame(
        [
            {
                "key": c.key,
                "criterion": c.name,
                "weight": f"{c.weight_percent}%",
                "what it rewards": c.description,
            }
            for c in GRADING_CRITERIA.values()
        ]
    )
