"""What test cells call: evaluate a design against targets and explain any failure.

Per-assignment checks live in one module each (``messagelab.grading.ex01`` …).
"""

from messagelab.grading.core import (
    Evaluation,
    Target,
    check_between,
    check_close,
    design_changes,
    evaluate,
    plain,
    plain_number,
    report,
    require,
)

__all__ = [
    "Evaluation",
    "Target",
    "check_between",
    "check_close",
    "design_changes",
    "evaluate",
    "plain",
    "plain_number",
    "report",
    "require",
]
