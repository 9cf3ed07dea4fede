"""A self-learner's own copies of the assignments, and how far each one has got.

Released notebooks in ``release/`` stay as nbgrader generated them (the tests check that
they match ``source/``). A learner works in ``work/<id>/<id>.ipynb``: a copy made the
first time, and never overwritten afterwards, so no answer is ever lost to an update.
Set ``MESSAGELAB_WORKSPACE`` to keep the copies elsewhere.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

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
    """One notebook as last saved: answer cells filled in, and its test cells as they last ran.

    A test cell that ran without an error passed; one with an error failed; one that has not
    run since the notebook was opened fresh counts as not run. ``points`` and
    ``points_passed`` are the test cells' points, all and passed, per criterion key.
    """

    designs_done: int
    designs: int
    written_done: int
    written: int
    tests: int = 0
    tests_passed: int = 0
    tests_failed: int = 0
    points: dict[str, float] = field(default_factory=dict)
    points_passed: dict[str, float] = field(default_factory=dict)

    @property
    def fraction(self) -> float:
        total = self.designs + self.written
        return (self.designs_done + self.written_done) / total if total else 0.0

    @property
    def complete(self) -> bool:
        """Every answer cell filled in."""
        return self.designs + self.written > 0 and self.fraction == 1.0

    @property
    def tests_label(self) -> str:
        if not self.tests:
            return "–"
        not_run = self.tests - self.tests_passed - self.tests_failed
        return f"{self.tests_passed} of {self.tests}" + (f" ({not_run} not run)" if not_run else "")


def _test_outcome(cell: Any) -> bool | None:
    """True (ran, no error), False (ran, an error) or None (not run)."""
    if cell.get("execution_count") is None:
        return None
    return not any(output.get("output_type") == "error" for output in cell.get("outputs", []))


def progress(path: str | os.PathLike) -> Progress:
    """Count answer cells no longer holding nbgrader's stub, and read the test cells' last outcome."""
    nb = nbformat.read(path, as_version=4)
    designs = designs_done = written = written_done = tests = passed = failed = 0
    points: dict[str, float] = {}
    earned: dict[str, float] = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            if cell.cell_type == "code":
                designs += 1
                designs_done += CODE_STUB not in cell.source
            else:
                written += 1
                written_done += cell.source.strip() != TEXT_STUB
        elif meta.get("grade") and cell.cell_type == "code":
            tests += 1
            key = course.criterion_of(str(meta.get("grade_id", ""))) or ""
            worth = float(meta.get("points") or 0)
            points[key] = points.get(key, 0.0) + worth
            outcome = _test_outcome(cell)
            passed += outcome is True
            failed += outcome is False
            earned[key] = earned.get(key, 0.0) + (worth if outcome else 0.0)
    return Progress(designs_done, designs, written_done, written, tests, passed, failed, points, earned)


def _progress_of_copies(root: str | os.PathLike | None) -> list[tuple[course.Assignment, Path, Progress | None]]:
    return [(a, copy_path(a, root), progress(copy_path(a, root)) if copy_path(a, root).exists() else None)
            for a in course.ASSIGNMENTS if course.status(a, root) == "available"]


def progress_frame(root: str | os.PathLike | None = None) -> pd.DataFrame:
    """One row per released assignment: the learner's answers, visible tests passed, when last saved."""
    rows = []
    for a, path, p in _progress_of_copies(root):
        if p is None:
            rows.append((a.id, a.title, "–", "–", "not started", "–", "–"))
            continue
        saved = datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
        rows.append((a.id, a.title, f"{p.designs_done}/{p.designs}", f"{p.written_done}/{p.written}",
                     f"{p.fraction:.0%}", p.tests_label, saved))
    return pd.DataFrame(rows, columns=["id", "title", "design answers", "written answers", "done",
                                       "visible tests passed", "last saved"])


def success_frame(root: str | os.PathLike | None = None) -> pd.DataFrame:
    """The learner against the module's success targets, one row per metric.

    Completion counts the six core exercises, complete when every answer cell is filled in
    (target: all of them). Quality is the share of the visible tests' points passed, as the
    notebooks were last saved, over the assignments with an answer (target: 80%), overall and per
    criterion the tests cover; written answers are graded by hand, so they count only in the
    instructor's grades. Columns: ``now``, ``target``, ``met``.
    """
    copies = _progress_of_copies(root)
    core = [a for a in course.ASSIGNMENTS if a.kind == "exercise"]
    completed = sum(1 for a, _, p in copies if a.kind == "exercise" and p is not None and p.complete)
    started = [p for _, _, p in copies if p is not None and p.tests and (p.designs_done or p.written_done)]
    quality = course.QUALITY_TARGET_PCT / 100
    rows = [("core exercises completed", f"{completed} of {len(core)}", f"{len(core)} of {len(core)}",
             completed >= course.COMPLETION_TARGET_PCT / 100 * len(core))]

    def share(keys: list[str]) -> float | None:
        possible = sum(p.points.get(k, 0.0) for p in started for k in keys)
        return sum(p.points_passed.get(k, 0.0) for p in started for k in keys) / possible if possible else None

    def row(metric: str, value: float | None) -> tuple[str, str, str, bool]:
        return (metric, "–" if value is None else f"{value:.0%}", f"{quality:.0%}",
                value is not None and value >= quality)

    tested = {k for p in started for k in p.points}
    overall = share(sorted(tested))
    rows.append(row("visible tests' points passed", overall))
    rows += [row(f"… of which {c.name}", share([key])) for key, c in course.GRADING_CRITERIA.items() if key in tested]
    on_track = bool(started) and overall is not None and overall >= quality and all(
        p.complete for a, _, p in copies if a.kind == "exercise" and p is not None)
    rows.append(("on track", "yes" if on_track else "no", "yes", on_track))
    frame = pd.DataFrame(rows, columns=["metric", "now", "target", "met"]).set_index("metric")
    frame["met"] = frame["met"].map({True: "yes", False: "not yet"})
    return frame


def link(assignment: course.Assignment | str, from_folder: str | os.PathLike) -> str:
    """A relative link from ``from_folder`` (e.g. ``notebooks/``) to the learner's copy."""
    return Path(os.path.relpath(copy_path(assignment, Path(from_folder).resolve().parent), from_folder)).as_posix()
