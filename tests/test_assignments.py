"""Every available assignment has its module, and the module's graded cells are the notebook's.

Discovered from the catalogue: releasing an assignment adds it here with no test code.
"""

from __future__ import annotations

import pytest
from available import AVAILABLE, COURSE, params
from nbchecks import nbgrader_meta, read

from messagelab import assignments, course
from messagelab.course.catalogue import GRADING_CRITERIA


def test_the_catalogue_has_available_assignments() -> None:
    assert AVAILABLE, "no assignment is released: the per-assignment suites would test nothing"


@pytest.mark.parametrize("assignment_id", params())
def test_the_module_lists_every_graded_cell_of_the_source_notebook(assignment_id: str) -> None:
    module = assignments.module(assignment_id)
    nb = read(course.source_path(assignment_id, COURSE))
    graded = {
        meta["grade_id"]: (cell.cell_type, float(meta["points"]))
        for cell in nb.cells
        if (meta := nbgrader_meta(cell)).get("grade")
    }
    assert {gid: (kind, float(points)) for gid, (kind, points) in module.GRADES.items()} == graded
    for grade_id in module.GRADES:
        assert grade_id.split("-", 1)[0] in GRADING_CRITERIA, f"{grade_id} names no criterion"


def test_an_unknown_assignment_has_no_module() -> None:
    with pytest.raises(ModuleNotFoundError):
        assignments.module("ex99-nothing")
