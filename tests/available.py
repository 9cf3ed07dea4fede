"""The assignments every per-assignment suite runs on: the catalogue's available ones.

An assignment is available once its student notebook is in ``release/`` (the catalogue's
rule), so releasing a notebook adds it to every suite below with no test code. The suite
benchmark points ``$MESSAGELAB_TEST_COURSE`` at a copy of the course holding more
assignments; otherwise the course is this repository.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from nbchecks import FIXTURE_COURSE, ROOT

from messagelab import course

#: The course the per-assignment suites test.
COURSE = Path(os.environ.get("MESSAGELAB_TEST_COURSE") or ROOT).resolve()

#: Ids of the available assignments, in module order.
AVAILABLE: tuple[str, ...] = tuple(a.id for a in course.ASSIGNMENTS if course.status(a, COURSE) == "available")

#: Test modules that must hold a test for every available assignment (conftest.py checks).
SUITES = ("test_anatomy", "test_assignments", "test_browser", "test_class_batch", "test_learner_runs",
          "test_progress")


def params() -> list:
    """One pytest parameter per available assignment, its id the assignment's."""
    return [pytest.param(assignment_id, id=assignment_id) for assignment_id in AVAILABLE]


@dataclass(frozen=True)
class Entry:
    """One assignment of the batch and the course it comes from."""

    origin: Path
    assignment: str

    @property
    def hostile(self) -> bool:
        """Whether the cheat and the crash submit too (the fixture's answers are functions)."""
        return self.origin != FIXTURE_COURSE


ENTRIES = [Entry(FIXTURE_COURSE, "demo")] + [Entry(COURSE, assignment) for assignment in AVAILABLE]
#: The pipeline suites' cases: the fixture assignment (tests the pipeline itself), then every available one.
PARAMS = [pytest.param(e, id="fixture-demo" if not e.hostile else e.assignment) for e in ENTRIES]
#: The available assignments alone, for the hostile smoke cases.
HOSTILE = [p for p in PARAMS if p.values[0].hostile]
