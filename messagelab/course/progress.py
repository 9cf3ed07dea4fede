"""A self-learner's own copies of the assignments, and how far each one has got.

Released notebooks in ``release/`` stay as nbgrader generated them (the tests check that
they match ``source/``). A learner works in ``work/<id>/<id>.ipynb``: a copy made the
first time, and never overwritten afterwards, so no answer is ever lost to an update.
Set ``MESSAGELAB_WORKSPACE`` to keep the copies elsewhere.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import nbformat
import pandas as pd

from messagelab.course import catalogue as course
from messagelab.course.root import course_root

CODE_STUB = "raise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"


def workspace(root: str | os.PathLike | None = None) -> Path:
    """The folder holding the learner's copies (``work/`` in the repository by default)."""
    named = os.environ.get("MESSAGELAB_WORKSPACE")
    return Path(named) if named else Path(root or course_root()) / "work"


def copy_path(assignment: course.Assignment | str, root: str | os.PathLike | None = None) -> Path:
    a = course.get(assignment) if isinstance(assignment, str) else assignment
    return workspace(root) / a.id / f"{a.id}.ipynb"


def ensure_copies(root: str | os.PathLike | None = None) -> list[Path]:
    """Copy every released assignment the learner has no copy of yet; return the new copies."""
    made = []
    for a in course.ASSIGNMENTS:
        if course.status(a, root) != "available" or copy_path(a, root).exists():
            continue
        shutil.copytree(course.release_path(a, root).parent, copy_path(a, root).parent, dirs_exist_ok=True)
        made.append(copy_path(a, root))
    return made


@dataclass(frozen=True)
class Progress:
    """Answer cells filled in, out of those to fill, in one notebook."""

    designs_done: int
    designs: int
    written_done: int
    written: int

    @property
    def fraction(self) -> float:
        total = self.designs + self.written
        return (self.designs_done + self.written_done) / total if total else 0.0


def progress(path: str | os.PathLike) -> Progress:
    """Count answer cells no longer holding nbgrader's stub."""
    nb = nbformat.read(path, as_version=4)
    designs = designs_done = written = written_done = 0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("solution"):
            continue
        if cell.cell_type == "code":
            designs += 1
            designs_done += CODE_STUB not in cell.source
        else:
            written += 1
            written_done += cell.source.strip() != TEXT_STUB
    return Progress(designs_done, designs, written_done, written)


def progress_frame(root: str | os.PathLike | None = None) -> pd.DataFrame:
    """One row per released assignment: the learner's answers so far and when last saved."""
    rows = []
    for a in course.ASSIGNMENTS:
        if course.status(a, root) != "available":
            continue
        path = copy_path(a, root)
        if path.exists():
            p = progress(path)
            saved = datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
            rows.append((a.id, a.title, f"{p.designs_done}/{p.designs}", f"{p.written_done}/{p.written}",
                         f"{p.fraction:.0%}", saved))
        else:
            rows.append((a.id, a.title, "–", "–", "not started", "–"))
    return pd.DataFrame(rows, columns=["id", "title", "design answers", "written answers", "done", "last saved"])


def link(assignment: course.Assignment | str, from_folder: str | os.PathLike) -> str:
    """A relative link from ``from_folder`` (e.g. ``notebooks/``) to the learner's copy."""
    return Path(os.path.relpath(copy_path(assignment, Path(from_folder).resolve().parent), from_folder)).as_posix()
