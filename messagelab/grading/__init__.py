"""What test cells call, across assignments: evaluate a design, report it, check an answer.

Per-assignment checks live in ``messagelab.assignments.<id>``; this package holds what
they share. Nothing here names a hidden check.
"""

from messagelab.grading.answers import (
    check_between,
    check_close,
    check_count,
    config_from,
    design_changes,
    plain,
    plain_number,
)
from messagelab.grading.evaluate import Evaluation, evaluate, report, require
from messagelab.grading.feedback import student_check
from messagelab.sim.display import fmt
from messagelab.sim.scenario import Target

__all__ = [
    "Evaluation",
    "Target",
    "check_between",
    "check_close",
    "check_count",
    "config_from",
    "design_changes",
    "evaluate",
    "fmt",
    "plain",
    "plain_number",
    "report",
    "require",
    "student_check",
]
