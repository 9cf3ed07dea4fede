"""``nbgrader export`` for this course: criterion percentages, weighted totals and letters.

nbgrader_config.py sets ``c.ExportApp.plugin_class`` to :class:`CriteriaExportPlugin`, so
``nbgrader export`` (and ``make grades``) in the course root writes one row per student::

    student_id, <assignment>_pct …, arch_pct, sys_pct, biz_pct, comm_pct,
    total_pct, letter, missing_assignments, weights

The numbers come from :mod:`messagelab.instructor.gradebook`; see :func:`messagelab.instructor.gradebook.export_table`
for what each column means. nbgrader's own options still apply::

    nbgrader export --to=grades.csv                       # the file to write
    nbgrader export --assignment=[ex01-message-queues]    # count only these assignments
    nbgrader export --student=[ada,ben]                   # only these students
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.plugins import ExportPlugin

from messagelab.instructor import gradebook as grades


def _ids(values: Iterable[object]) -> list[str]:
    """Ids from ``--assignment``/``--student``: repeated options, or nbgrader's documented ``[a,b]``.

    traitlets passes ``--assignment=[a,b]`` through as the single string ``"[a,b]"``.
    """
    ids = []
    for value in values:
        ids += [part.strip().strip("'\"") for part in str(value).strip("[]").split(",") if part.strip()]
    return ids


class CriteriaExportPlugin(ExportPlugin):
    """Export the module grade of every student: criteria, weighted total, letter."""

    def export(self, gradebook: Gradebook) -> None:
        dest = Path(self.to or "grades.csv")
        try:
            cells = grades.cell_grades(
                gradebook, assignments=_ids(self.assignment) or None, students=_ids(self.student) or None
            )
        except ValueError as error:  # an assignment or student id that is not in the gradebook
            self.log.error("%s", error)
            sys.exit(1)
        table = grades.export_table(cells)
        dest.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(dest, index=False, float_format="%.2f")

        counted = list(dict.fromkeys(cells["assignment"]))
        self.log.info(
            "Exported %d students over %d assignments (%s) to %s",
            len(table),
            len(counted),
            ", ".join(counted) or "none with a submission yet",
            dest,
        )
        if not table.empty:
            self.log.info("Weights: %s", table["weights"].iloc[0])
        if cells["pending"].any():
            self.log.warning("%s (grade them in the formgrader)", grades.pending_by_student(cells))
        unnamed = sorted(set(cells.loc[cells["criterion"].isna(), "grade_id"]))
        if unnamed:
            self.log.warning(
                "grade cells without a criterion prefix (arch-, sys-, biz-, comm-) count in the "
                "assignment scores but in no criterion: %s",
                ", ".join(unnamed),
            )
