"""One module per assignment: its scenario, the checks its test cells call, its graded cells.

The module of ``ex01-message-queues`` is ``messagelab.assignments.ex01``: the id's first
part. Each module defines ``ID`` (the assignment id) and ``GRADES`` (grade_id -> (cell
type, points), the prefix of each grade_id naming its criterion).
"""

from __future__ import annotations

import importlib
from types import ModuleType


def module_name(assignment_id: str) -> str:
    """``messagelab.assignments.ex01`` for ``ex01-message-queues``."""
    return f"{__name__}.{assignment_id.split('-', 1)[0]}"


def module(assignment_id: str) -> ModuleType:
    """The assignment's module.

    Raises:
        ModuleNotFoundError: if the assignment has no module yet.
    """
    found = importlib.import_module(module_name(assignment_id))
    if getattr(found, "ID", None) != assignment_id:
        raise ModuleNotFoundError(f"{found.__name__} is not the module of {assignment_id} (its ID is {found.ID!r})")
    return found
