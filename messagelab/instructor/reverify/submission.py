"""A submitted notebook that nbgrader could not run: every test fails, with the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from messagelab.instructor.reverify.plan import Plan
from messagelab.instructor.reverify.verdict import Verdict

#: A submitted notebook larger than this is not read (it scores 0 on every test).
MAX_NOTEBOOK_BYTES = 64 * 2**20


def read_submission(path: Path) -> tuple[list[dict[str, Any]] | None, str]:
    """The submitted notebook's cells, or None and why they cannot be read."""
    import nbformat

    folder = path.parent
    if path.is_symlink():
        return None, f"{path.name} is a link, not a submitted notebook"
    if not path.is_file():
        others = sorted(p.name for p in folder.glob("*.ipynb")) if folder.is_dir() else []
        found = f" (found: {', '.join(others)})" if others else ""
        return None, f"no notebook {path.name} was submitted{found}"
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        return None, f"{path.name} is larger than {MAX_NOTEBOOK_BYTES // 2**20} MB"
    try:
        nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        cells = [dict(cell) for cell in nb.cells]
        for cell in cells:
            if not isinstance(cell.get("source", ""), str | list) or not isinstance(cell.get("metadata", {}), dict):
                raise ValueError("a cell is malformed")
    except Exception as error:  # corrupt JSON, wrong format, not UTF-8: all the student's
        return None, f"{path.name} could not be read as a notebook ({type(error).__name__})"
    return cells, ""


def failed_verdicts(plan: Plan, reason: str) -> list[Verdict]:
    """Every test of ``plan`` failed, for ``reason``, with 0 points."""
    return [Verdict(plan.notebook, t.grade_id, False, reason, t.points, 0.0) for t in plan.tests]


def unread_verdicts(plan: Plan, path: Path, fallback: str) -> list[Verdict]:
    """Every test of ``plan`` failed: why ``path`` could not be read, or ``fallback``."""
    cells, why = read_submission(path)
    return failed_verdicts(plan, why if cells is None else fallback)
