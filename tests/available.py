"""The assignments every per-assignment suite runs on: the catalogue's available ones.

An assignment is available once its student notebook is in ``release/`` (the catalogue's
rule), so releasing a notebook adds it to every suite below with no test code. The suite
benchmark points ``$MESSAGELAB_TEST_COURSE`` at a copy of the course holding more
assignments; otherwise the course is this repository.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from nbchecks import ROOT

from messagelab import course

#: The course the per-assignment suites test.
COURSE = Path(os.environ.get("MESSAGELAB_TEST_COURSE") or ROOT).resolve()

#: Ids of the available assignments, in module order.
AVAILABLE: tuple[str, ...] = tuple(a.id for a in course.ASSIGNMENTS if course.status(a, COURSE) == "available")

#: Test modules that must hold a test for every available assignment (conftest.py checks).
SUITES = ("test_anatomy", "test_assignments", "test_browser", "test_class_batch", "test_progress")


def params() -> list:
    """One pytest parameter per available assignment, its id the assignment's."""
    return [pytest.param(assignment_id, id=assignment_id) for assignment_id in AVAILABLE]
