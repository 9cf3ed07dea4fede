"""Writing verdicts into the gradebook: a defined score for every test cell, and why.

nbgrader scores the test cells from the outputs the clean process wrote, so after a normal
run the gradebook already holds the verdicts. :func:`record` makes that hold in every case:
each test cell's ``auto_score`` becomes at most what the clean check earned, and a cell
nbgrader left unscored (its notebook could not be read, its kernel could not start) gets
the verdict, with the reason as a comment on the answer cell and as a note under the test
cell in the graded notebook. Manual scores are never touched.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from messagelab.instructor.reverify.plan import Plan, nbgrader_meta
from messagelab.instructor.reverify.verdict import Verdict

#: How a note written by re-verification starts (comments and graded notebooks).
NOTE_PREFIX = "Re-verified outside the notebook's kernel"


def _note(verdict: Verdict, before: float | None, after: float, max_score: float) -> str:
    was = "no score (nbgrader could not grade it)" if before is None else f"{before:g}"
    return (f"{NOTE_PREFIX} [{verdict.grade_id}]: {after:g} of {max_score:g} points (was {was}). "
            f"The course's check, run on the submitted values: {verdict.reason}")


def _merge_note(existing: str | None, grade_id: str, note: str) -> str:
    keep = [p for p in (existing or "").split("\n\n") if p and not p.startswith(f"{NOTE_PREFIX} [{grade_id}]")]
    return "\n\n".join([*keep, note])


def record(course_root: Path, assignment: str, student: str, verdicts: Sequence[Verdict],
           plans: Mapping[str, Plan], db_url: str) -> list[Verdict]:
    """Lower (never raise) each test cell's auto score to the verdict; comment on each change.

    ``auto_score`` becomes ``min(auto_score, points earned in the clean process)``; a cell nbgrader
    left unscored gets the verdict. Manual scores are never touched. ``plans`` are the
    assignment's notebooks' plans (by notebook name), ``db_url`` its gradebook. Returns the
    verdicts with the scores before and after (both None for a cell with no grade in the
    gradebook).
    """
    from sqlalchemy.exc import OperationalError

    root = Path(course_root).resolve()
    answer_cells = {(name, test.grade_id): test.answer_cell for name, p in plans.items() for test in p.tests}
    for attempt in range(5):
        try:
            result, notes = _write_scores(db_url, assignment, student, verdicts, answer_cells)
            break
        except OperationalError:  # the gradebook is busy (SQLite shared by several graders)
            if attempt == 4:
                raise
            time.sleep(0.5 * (attempt + 1))
    for notebook, by_cell in notes.items():
        _annotate(root / "autograded" / student / assignment / f"{notebook}.ipynb", by_cell)
    return result


def _write_scores(
    db_url: str,
    assignment: str,
    student: str,
    verdicts: Sequence[Verdict],
    answer_cells: Mapping[tuple[str, str], str | None],
) -> tuple[list[Verdict], dict[str, dict[str, str]]]:
    from nbgrader.api import Gradebook, MissingEntry

    from messagelab.instructor.nbgrader import interpreter_bin_on_path

    result: list[Verdict] = []
    notes: dict[str, dict[str, str]] = {}
    with interpreter_bin_on_path(), Gradebook(db_url) as gradebook:
        for verdict in verdicts:
            try:
                grade = gradebook.find_grade(verdict.grade_id, verdict.notebook, assignment, student)
            except MissingEntry:
                result.append(verdict)
                continue
            before = grade.auto_score
            if verdict.passed is None:
                result.append(dataclasses.replace(verdict, score_before=before, score_after=before))
                continue
            earned = float(grade.max_score) if verdict.earned is None else verdict.earned
            target = min(float(grade.max_score), earned) if verdict.passed else 0.0
            after = target if before is None else min(float(before), target)
            if before is None or after < before:
                grade.auto_score = after
                note = _note(verdict, before, after, float(grade.max_score))
                notes.setdefault(verdict.notebook, {})[verdict.grade_id] = note
                answer = answer_cells.get((verdict.notebook, verdict.grade_id))
                if answer:
                    try:
                        comment = gradebook.find_comment(answer, verdict.notebook, assignment, student)
                    except MissingEntry:
                        comment = None
                    if comment is not None:
                        comment.auto_comment = _merge_note(comment.auto_comment, verdict.grade_id, note)
            result.append(dataclasses.replace(verdict, score_before=before, score_after=after))
        gradebook.db.commit()
    return result, notes


def _annotate(path: Path, notes: Mapping[str, str]) -> None:
    """Add each note as output under its test cell in the graded notebook (formgrader, feedback)."""
    import nbformat

    if not path.is_file():
        return
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # nbgrader wrote it; if it is unreadable there is nothing to annotate
        return
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if cell.cell_type == "code" and nbgrader_meta(cell).get("grade") and grade_id in notes:
            cell.outputs = [
                out for out in cell.get("outputs", [])
                if not (out.get("output_type") == "stream" and str(out.get("text", "")).startswith(NOTE_PREFIX))
            ]
            cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=notes[grade_id] + "\n"))
    mode = path.stat().st_mode
    try:
        path.chmod(mode | 0o200)
        nbformat.write(nb, path)
    finally:
        path.chmod(mode)
