"""The course catalogue: every assignment of the module, its learning paths and its grading.

The module "Messaging and Event-Driven Systems" follows its outline
(``notebooks/module-outline.md``, the course's specification): 15 assignments, one folder
each in ``source/`` (instructor notebooks) and ``release/`` (student notebooks)::

    ex01 … ex06     core exercises          2–6 h each     explore, then commit to a design
    lab1 … lab4     interactive labs        45–90 min      one system, tuned hands-on
    setA … setE     comprehensive sets      3–7.5 h        several designs under one brief

Titles, focus, durations, skills and settings of the core exercises, the labs' titles and
durations, the sets' titles and exercise counts, the grading criteria and the three
week-by-week learning paths are the outline's (``tests/test_outline.py`` compares them).
Where the outline is silent the catalogue chooses, and says so here:

* **Levels** (beginner, intermediate, advanced) rate each assignment's difficulty; they
  are not the paths, which take every learner through assignments of several levels.
* **Set durations** are sized from their exercises: 60–90 minutes each, a lab's length,
  since a set's exercise applies a pattern a core exercise already explored (Set A, five
  exercises: 5–7.5 h; the others, three: 3–4.5 h).
* **Labs' and sets' focus, skills and scenarios**, and every scenario's one-sentence story
  around the outline's setting, are the catalogue's.
* **Prerequisites** follow the beginner path, the strictest: nothing is required that the
  beginner path takes later (Lab 2 comes before Exercise 03 there, so it assumes only
  queues).
* **The advanced path's weeks**: an accelerated review takes half the exercises' listed
  time (:data:`REVIEW_PACE`); the innovation project, peer mentoring and advanced
  challenges are sized in :data:`ACTIVITIES`.

An assignment is *available* once its student notebook exists at
``release/<id>/<id>.ipynb``; until then it is *in preparation*. Everything that shows the
course to a learner (the course home, the README) reads this module, so the map it shows
stays true as notebooks are released.

>>> get("ex01-message-queues").title
'Message Queue Implementation Strategy'
>>> duration_label("lab2-kafka-tuning"), duration_label("setA-messaging-patterns")
('75 min', '5–7.5 h')
>>> letter_grade(89.99), letter_grade(90)
('B', 'A')
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from messagelab.course.root import course_root

__all__ = [
    "ACTIVITIES",
    "ASSIGNMENTS",
    "COMPLETION_TARGET_PCT",
    "GRADING_CRITERIA",
    "LEARNING_PATHS",
    "QUALITY_TARGET_PCT",
    "SUBMISSION_PARTS",
    "Activity",
    "Assignment",
    "Criterion",
    "LearningPath",
    "Week",
    "catalogue_frame",
    "criteria_frame",
    "criterion_of",
    "duration_label",
    "get",
    "learning_path",
    "letter_grade",
    "path_frame",
    "path_markdown",
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
        focus: what the assignment is about, in a phrase.
        duration_min: expected working time as ``(low, high)`` minutes.
        level: ``"beginner"``, ``"intermediate"`` or ``"advanced"``.
        skills: what the learner practises, most important first.
        setting: the business the scenario is set in, in a few words.
        scenario: the business situation the design must serve, in one sentence.
        exercises: how many exercises it holds (a set's count; 1 otherwise).
        prerequisites: ids of the assignments to complete first.
    """

    id: str
    kind: Kind
    number: str
    title: str
    focus: str
    duration_min: tuple[int, int]
    level: Level
    skills: tuple[str, ...]
    setting: str
    scenario: str
    exercises: int = 1
    prerequisites: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"{self.id}: kind={self.kind!r}; allowed: {', '.join(_KINDS)}")
        if self.level not in _LEVELS:
            raise ValueError(f"{self.id}: level={self.level!r}; allowed: {', '.join(_LEVELS)}")
        low, high = self.duration_min
        if not 0 < low <= high:
            raise ValueError(f"{self.id}: duration_min={self.duration_min!r}; need 0 < low <= high")
        if self.exercises < 1 or (self.kind != "set" and self.exercises != 1):
            raise ValueError(f"{self.id}: exercises={self.exercises!r}; a set holds 1 or more, others exactly 1")

    @property
    def label(self) -> str:
        """Short name used in prose and tables, e.g. ``"Exercise 01"``, ``"Lab 2"``, ``"Set C"``."""
        return f"{self.kind.capitalize()} {self.number}"


#: Minutes per exercise of a comprehensive set (the outline gives sets no duration).
SET_EXERCISE_MIN = (60, 90)
#: The share of an exercise's listed time an accelerated review takes.
REVIEW_PACE = 0.5


def _set_minutes(exercises: int) -> tuple[int, int]:
    return (exercises * SET_EXERCISE_MIN[0], exercises * SET_EXERCISE_MIN[1])


ASSIGNMENTS: tuple[Assignment, ...] = (
    # Core exercises, as the outline lists them.
    Assignment(
        id="ex01-message-queues",
        kind="exercise",
        number="01",
        title="Message Queue Implementation Strategy",
        focus="queue design patterns and error-handling strategies",
        duration_min=(120, 180),
        level="beginner",
        skills=("queue architecture", "reliability patterns", "monitoring design"),
        setting="e-commerce order processing",
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
        focus="service decomposition and event choreography design",
        duration_min=(180, 240),
        level="intermediate",
        skills=("service boundaries", "event design", "consistency models"),
        setting="e-commerce orders and inventory",
        scenario=(
            "An online shop splits its monolith into order, inventory, payment and shipping "
            "services that must agree on every order and never sell stock it does not have."
        ),
        prerequisites=("ex01-message-queues",),
    ),
    Assignment(
        id="ex03-high-throughput-streaming",
        kind="exercise",
        number="03",
        title="High-Throughput Streaming Architecture",
        focus="streaming system design and performance optimization",
        duration_min=(240, 300),
        level="intermediate",
        skills=("stream processing", "partitioning strategies", "scalability planning"),
        setting="IoT analytics",
        scenario=(
            "An IoT (Internet of Things) analytics platform ingests readings from 200,000 "
            "wind-turbine sensors and must raise a vibration alarm within two seconds."
        ),
        prerequisites=("ex01-message-queues",),
    ),
    Assignment(
        id="ex04-event-sourcing",
        kind="exercise",
        number="04",
        title="Event Sourcing System Design",
        focus="event sourcing patterns and CQRS architecture",
        duration_min=(240, 360),
        level="advanced",
        skills=("event modeling", "aggregate design", "temporal queries"),
        setting="financial trading, audit trails",
        scenario=(
            "A trading firm records every order, fill and cancellation as an event, so that "
            "any account's position can be rebuilt as of any moment for the regulator's audit trail."
        ),
        prerequisites=("ex02-event-driven-microservices",),
    ),
    Assignment(
        id="ex05-resilience-patterns",
        kind="exercise",
        number="05",
        title="Resilience Design Patterns",
        focus="fault tolerance and graceful degradation strategies",
        duration_min=(180, 240),
        level="intermediate",
        skills=("circuit breakers", "bulkheads", "failure analysis", "recovery planning"),
        setting="GlobalPay, financial payment processing",
        scenario=(
            "GlobalPay, a payment processor that calls three external card networks, must "
            "keep authorising payments when one of them slows down or fails."
        ),
        prerequisites=("ex02-event-driven-microservices",),
    ),
    Assignment(
        id="ex06-global-messaging",
        kind="exercise",
        number="06",
        title="Global Messaging Architecture",
        focus="multi-region architecture and regulatory compliance",
        duration_min=(240, 300),
        level="advanced",
        skills=("global consistency", "data sovereignty", "disaster recovery"),
        setting="GlobalConnect, social media platform",
        scenario=(
            "GlobalConnect, a social media platform with users in Europe, America and Asia, "
            "must keep posts and messages flowing through a region outage while European "
            "users' data stays in the EU under the GDPR."
        ),
        prerequisites=("ex03-high-throughput-streaming", "ex05-resilience-patterns"),
    ),
    # Interactive labs: hands-on, real-time feedback and simulation, one system each.
    Assignment(
        id="lab1-eda-simulator",
        kind="lab",
        number="1",
        title="Event-Driven Architecture Simulator",
        focus="how events flow, back up and fail between services",
        duration_min=(60, 60),
        level="beginner",
        skills=(
            "event flows between services",
            "synchronous versus asynchronous coupling",
            "back-pressure",
            "failure propagation",
        ),
        setting="e-commerce order flow",
        scenario=(
            "An online shop's five order services watch one order's events flow between them, "
            "then see how far a slow payment service, a crashing release and duplicate "
            "deliveries spread."
        ),
        prerequisites=("ex01-message-queues",),
    ),
    Assignment(
        id="lab2-kafka-tuning",
        kind="lab",
        number="2",
        title="Kafka Performance Tuning Workshop",
        focus="producer, broker and consumer settings against throughput, latency and durability",
        duration_min=(75, 75),
        level="intermediate",
        skills=(
            "partition count",
            "batch size and linger time",
            "compression",
            "acknowledgements and durability",
            "consumer lag",
        ),
        setting="clickstream analytics",
        scenario=(
            "A video-streaming service's clickstream analytics fall minutes behind every "
            "evening at prime time and must catch up without losing events."
        ),
        prerequisites=("ex01-message-queues",),
    ),
    Assignment(
        id="lab3-event-sourcing",
        kind="lab",
        number="3",
        title="Event Sourcing Implementation Lab",
        focus="an event store, its projections and its snapshots, built and replayed",
        duration_min=(90, 90),
        level="intermediate",
        skills=(
            "append-only event store",
            "optimistic concurrency",
            "projections",
            "snapshots",
        ),
        setting="concert ticketing",
        scenario=(
            "A concert-ticketing platform must never sell one seat twice during an on-sale "
            "rush and must be able to replay every reservation."
        ),
        prerequisites=("ex02-event-driven-microservices",),
    ),
    Assignment(
        id="lab4-circuit-breakers",
        kind="lab",
        number="4",
        title="Circuit Breaker and Resilience Testing",
        focus="circuit-breaker settings tested under injected faults",
        duration_min=(45, 45),
        level="intermediate",
        skills=(
            "circuit breaker thresholds",
            "fault injection",
            "retry storms",
            "resilience experiments",
        ),
        setting="travel booking",
        scenario=(
            "A travel-booking site whose airline-availability provider times out under load "
            "must keep search fast without hammering the provider."
        ),
        prerequisites=("ex02-event-driven-microservices",),
    ),
    # Comprehensive exercises (mastery level): several designs under one brief.
    Assignment(
        id="setA-messaging-patterns",
        kind="set",
        number="A",
        title="Messaging Patterns Mastery",
        focus="choosing the messaging pattern each consumer of one event stream needs",
        duration_min=_set_minutes(5),
        exercises=5,
        level="intermediate",
        skills=(
            "point-to-point versus publish-subscribe",
            "competing consumers",
            "request-reply",
            "ordering and deduplication",
        ),
        setting="logistics",
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
        focus="aggregates, read models and their consistency under one domain",
        duration_min=_set_minutes(3),
        exercises=3,
        level="advanced",
        skills=(
            "aggregate and event design",
            "read-model consistency",
            "rebuilding projections",
            "event versioning",
        ),
        setting="insurance claims",
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
        focus="SQS, SNS, EventBridge and Kinesis chosen, configured and costed",
        duration_min=_set_minutes(3),
        exercises=3,
        level="intermediate",
        skills=(
            "SQS standard versus FIFO queues",
            "SNS fan-out",
            "EventBridge routing",
            "Kinesis streams",
            "cost modelling",
        ),
        setting="healthcare appointments",
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
        focus="capacity and tail latency planned with queueing theory and load tests",
        duration_min=_set_minutes(3),
        exercises=3,
        level="advanced",
        skills=(
            "capacity planning with queueing theory",
            "tail latency",
            "load testing",
            "autoscaling",
        ),
        setting="online gaming",
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
        focus="availability targets met through combined faults and a site loss",
        duration_min=_set_minutes(3),
        exercises=3,
        level="advanced",
        skills=(
            "service level objectives and error budgets",
            "failure-mode analysis",
            "disaster recovery",
            "resilience under combined faults",
        ),
        setting="instant payments",
        scenario=(
            "A national instant-payments switch must stay available 99.99% of the time "
            "through broker failures, network partitions and a data-centre loss."
        ),
        prerequisites=("ex05-resilience-patterns", "ex06-global-messaging"),
    ),
)

_BY_ID: dict[str, Assignment] = {a.id: a for a in ASSIGNMENTS}


@dataclass(frozen=True)
class Activity:
    """Work in a learning path's week that is not an assignment, and what the course provides for it.

    Attributes:
        key: e.g. ``"innovation-project"``.
        title: as the course home shows it.
        duration_min: expected working time as ``(low, high)`` minutes (the catalogue's choice).
        description: what the learner does, in one sentence.
        where: what the course provides, relative to the course root.
    """

    key: str
    title: str
    duration_min: tuple[int, int]
    description: str
    where: str


ACTIVITIES: dict[str, Activity] = {
    a.key: a
    for a in (
        Activity(
            "innovation-project",
            "Innovation project",
            (480, 720),
            "An open design problem of your own, taken through the simulators and written up "
            "in the five parts every submission carries, graded against the module's rubric.",
            "notebooks/innovation-project.md",
        ),
        Activity(
            "peer-mentoring",
            "Peer mentoring",
            (120, 180),
            "Run the designs classmates share beside your own and review each against its "
            "assignment's rubric.",
            "notebooks/peer-review.ipynb",
        ),
        Activity(
            "advanced-challenges",
            "Advanced challenges",
            (180, 300),
            "Put the shared designs, yours among them, through each scenario's harder "
            "variants and explain what breaks first.",
            "notebooks/peer-review.ipynb",
        ),
    )
}


@dataclass(frozen=True)
class Week:
    """One week of a learning path.

    Attributes:
        number: 1, 2, …
        ids: the assignments of the week, in the order to take them.
        activities: keys of :data:`ACTIVITIES` done that week, after the assignments.
        pace: the share of each assignment's listed time the week expects (below 1 for a
            review of assignments the learner can already do).
        note: how the outline describes the week, when it says more than its assignments.
    """

    number: int
    ids: tuple[str, ...]
    activities: tuple[str, ...] = ()
    pace: float = 1.0
    note: str = ""

    @property
    def assignments(self) -> tuple[Assignment, ...]:
        return tuple(_BY_ID[i] for i in self.ids)

    @property
    def duration_min(self) -> tuple[int, int]:
        """The week's expected working time as ``(low, high)`` minutes."""
        work = [a.duration_min for a in self.assignments]
        extra = [ACTIVITIES[k].duration_min for k in self.activities]
        return (round(sum(w[0] for w in work) * self.pace + sum(e[0] for e in extra)),
                round(sum(w[1] for w in work) * self.pace + sum(e[1] for e in extra)))


@dataclass(frozen=True)
class LearningPath:
    """A week-by-week route through the module for one kind of learner.

    Attributes:
        name: ``"beginner"``, ``"intermediate"`` or ``"advanced"``.
        audience: one sentence on who the path is for.
        weeks: the weeks in order.
    """

    name: str
    audience: str
    weeks: tuple[Week, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        """Every assignment of the path, in the order to take them."""
        return tuple(i for week in self.weeks for i in week.ids)

    @property
    def assignments(self) -> tuple[Assignment, ...]:
        return tuple(_BY_ID[i] for i in self.ids)

    @property
    def duration_min(self) -> tuple[int, int]:
        """The whole path's expected working time as ``(low, high)`` minutes."""
        return (sum(w.duration_min[0] for w in self.weeks), sum(w.duration_min[1] for w in self.weeks))


def _ids(*labels: str) -> tuple[str, ...]:
    """Assignment ids from the outline's short names: ``"ex01"``, ``"lab1"``, ``"setA"``."""
    return tuple(next(a.id for a in ASSIGNMENTS if a.id.startswith(label + "-")) for label in labels)


_CORE = ("ex01", "ex02", "ex03", "ex04", "ex05", "ex06")
_LABS = ("lab1", "lab2", "lab3", "lab4")

#: The outline's three paths, week by week.
LEARNING_PATHS: dict[str, LearningPath] = {
    path.name: path
    for path in (
        LearningPath(
            name="beginner",
            audience=(
                "For developers new to messaging: one core exercise a week, each followed by "
                "the lab or set that puts it to work, over six weeks."
            ),
            weeks=(
                Week(1, _ids("ex01", "lab1")),
                Week(2, _ids("ex02", "lab2")),
                Week(3, _ids("ex03", "lab3")),
                Week(4, _ids("ex04", "lab4")),
                Week(5, _ids("ex05", "setA")),
                Week(6, _ids("ex06", "setB")),
            ),
        ),
        LearningPath(
            name="intermediate",
            audience=(
                "For developers with some experience of messaging: two core exercises and a set "
                "a week, then the labs and the last two sets, over four weeks."
            ),
            weeks=(
                Week(1, _ids("ex01", "ex02", "setA")),
                Week(2, _ids("ex03", "ex04", "setB")),
                Week(3, _ids("ex05", "ex06", "setC")),
                Week(4, _ids(*_LABS, "setD", "setE")),
            ),
        ),
        LearningPath(
            name="advanced",
            audience=(
                "For experienced developers: the core exercises as an accelerated review, then "
                "every lab and set, an innovation project and peer mentoring, over four weeks."
            ),
            weeks=(
                Week(1, _ids(*_CORE), pace=REVIEW_PACE, note="accelerated review"),
                Week(2, _ids(*_LABS, "setA", "setB", "setC")),
                Week(3, _ids("setD", "setE"), activities=("innovation-project",)),
                Week(4, (), activities=("peer-mentoring", "advanced-challenges")),
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
        Criterion("arch", "Architectural Design", 40, "quality of system architecture and component design"),
        Criterion("sys", "Systems Thinking", 25, "understanding of distributed-systems principles"),
        Criterion("biz", "Business Alignment", 20, "connection between technical decisions and business needs"),
        Criterion("comm", "Communication", 15, "clear documentation and presentation of solutions"),
    )
}

#: The module outline's success targets: every core exercise completed, an 80%+ average quality.
COMPLETION_TARGET_PCT = 100.0
QUALITY_TARGET_PCT = 80.0


def criterion_of(grade_id: str) -> str | None:
    """The criterion key a ``grade_id`` starts with (``"arch-design"`` → ``"arch"``), or None.

    >>> criterion_of("biz-impact"), criterion_of("design")
    ('biz', None)
    """
    prefix, dash, _ = grade_id.partition("-")
    return prefix if dash and prefix in GRADING_CRITERIA else None


#: What every submission carries besides its designs (the outline's list), in order: the
#: H3 headings of each notebook's written part, each followed by a hand-graded cell.
SUBMISSION_PARTS: tuple[str, ...] = (
    "Architecture diagram",
    "Decision rationale",
    "Business impact",
    "Implementation roadmap",
    "Risk assessment",
)

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


def _span(low: float, high: float, unit: str) -> str:
    return f"{low:g} {unit}" if low == high else f"{low:g}–{high:g} {unit}"


def duration_label(item: Assignment | str | tuple[int, int], *, long: bool = False) -> str:
    """Expected working time as text: a lab's in minutes, anything else's in hours.

    ``item`` is an assignment (or its id) or a ``(low, high)`` span of minutes (a week's or a
    path's, shown to the half hour, rounded outwards); ``long`` spells the unit out, as the
    notebooks' **Duration:** line does.

    >>> duration_label("ex04-event-sourcing"), duration_label("lab4-circuit-breakers", long=True)
    ('4–6 h', '45 minutes')
    >>> duration_label((255, 315))
    '4–5.5 h'
    """
    if isinstance(item, tuple):  # a week's or a path's sum: to the half hour, outwards
        minutes, in_minutes = (30 * math.floor(item[0] / 30), 30 * math.ceil(item[1] / 30)), False
    else:
        a = _resolve(item)
        minutes, in_minutes = a.duration_min, a.kind == "lab"
    if in_minutes:
        return _span(*minutes, "minutes" if long else "min")
    return _span(minutes[0] / 60, minutes[1] / 60, "hours" if long else "h")


def catalogue_frame(root: PathLike | None = None) -> pd.DataFrame:
    """The module map: one row per assignment, in module order.

    Columns: ``id``, ``kind``, ``title``, ``duration`` (e.g. ``"2–3 h"``, ``"60 min"``),
    ``level``, ``skills`` (comma-separated), ``setting`` and ``status`` (``"available"`` or
    ``"in preparation"``).
    """
    here = _root(root)
    return pd.DataFrame(
        [
            {
                "id": a.id,
                "kind": a.kind,
                "title": a.title,
                "duration": duration_label(a),
                "level": a.level,
                "skills": ", ".join(a.skills),
                "setting": a.setting,
                "status": status(a, here),
            }
            for a in ASSIGNMENTS
        ],
        columns=["id", "kind", "title", "duration", "level", "skills", "setting", "status"],
    )


def learning_path(path_name: str) -> LearningPath:
    """The learning path of this name.

    Raises:
        KeyError: if ``path_name`` is not a learning path; the message lists them.
    """
    try:
        return LEARNING_PATHS[path_name]
    except KeyError:
        raise KeyError(
            f"unknown learning path {path_name!r}; valid paths: {', '.join(LEARNING_PATHS)}"
        ) from None


def _week_work(week: Week, name: Callable[[Assignment], str], activity: Callable[[Activity], str]) -> str:
    """``"Exercise 01, Exercise 02 → Set A"``: the week's exercises, then what puts them to work."""
    exercises = ", ".join(name(a) for a in week.assignments if a.kind == "exercise")
    others = ", ".join(name(a) for a in week.assignments if a.kind != "exercise")
    work = " → ".join(filter(None, [exercises, others]))
    if week.note:
        work += f" ({week.note})"
    return " + ".join(filter(None, [work, *(activity(ACTIVITIES[k]) for k in week.activities)]))


def path_frame(path_name: str, root: PathLike | None = None) -> pd.DataFrame:
    """One learning path as a table, one row per week.

    Columns: ``work`` (the week's assignments by label, in order, then its activities),
    ``duration`` (the week's expected time) and ``available`` (how many of the week's
    assignments are released), indexed by ``week`` (1, 2, …).

    Raises:
        KeyError: if ``path_name`` is not a learning path; the message lists them.
    """
    path, here = learning_path(path_name), _root(root)
    rows = [
        {
            "work": _week_work(week, lambda a: a.label, lambda act: act.title),
            "duration": duration_label(week.duration_min),
            "available": f"{sum(status(a, here) == AVAILABLE for a in week.assignments)} of {len(week.ids)}",
        }
        for week in path.weeks
    ]
    return pd.DataFrame(rows, index=pd.RangeIndex(1, len(rows) + 1, name="week"),
                        columns=["work", "duration", "available"])


NBSP = "\u00a0"  # keeps "10–14.5 h" on one line in a narrow column


def path_markdown(
    path_name: str,
    link: Callable[[Assignment], str],
    root: PathLike | None = None,
    from_folder: PathLike = ".",
) -> str:
    """One learning path as a Markdown table: a row per week, each available assignment linked.

    ``link`` gives the link to an available assignment (the learner's copy, say); an
    assignment in preparation is named without one. Each activity links to what the course
    provides for it, relative to ``from_folder``.
    """
    path, here = learning_path(path_name), _root(root)
    low, high = path.duration_min

    def name(a: Assignment) -> str:
        if status(a, here) == AVAILABLE:
            return f"[{a.label}: {a.title}]({link(a)})"
        return f"{a.label}: {a.title} *(in preparation)*"

    def activity(act: Activity) -> str:
        target = Path(os.path.relpath(here / act.where, Path(from_folder).resolve()))
        return f"[{act.title}]({target.as_posix()})"

    lines = [
        f"**{path.name.capitalize()}**, {len(path.weeks)} weeks, {duration_label((low, high))}. {path.audience}",
        "",
        "| Week | Work | Time |",
        "|:---:|:---|:---:|",
    ]
    lines += [f"| {week.number} | {_week_work(week, name, activity)} | "
              f"{duration_label(week.duration_min).replace(' ', NBSP)} |" for week in path.weeks]
    return "\n".join(lines)


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
