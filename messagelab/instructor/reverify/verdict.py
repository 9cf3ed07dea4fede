"""The clean process's verdict on one autograded test cell of one submitted notebook."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """The clean process's verdict on one autograded test cell of one submitted notebook."""

    notebook: str
    grade_id: str
    #: True or False: the clean check's verdict. None: the cell reads an answer that is code
    #: (a function the student writes), which only the student's kernel can run, so the
    #: cell is not re-verified and nbgrader's score stands.
    passed: bool | None
    reason: str
    points: float
    #: Points the clean check gives: ``points``, or nbgrader's partial credit when the test
    #: cell's result is a number; 0 when it failed; None when not re-verified.
    earned: float | None = None
    #: The gradebook's auto score before and after re-verification (None: no such grade).
    score_before: float | None = None
    score_after: float | None = None


class ReverifyError(RuntimeError):
    """Re-verification itself could not run (not the student's doing): nothing was written."""
