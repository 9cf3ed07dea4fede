"""The pieces of the grading pipeline: grade ids, the leak and release checks, the check command.

Every assignment's own round trip (generate, autograde the key and the blank, leaks,
release in sync) is in test_class_batch.py, which grades them all as one class.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbchecks import (
    CRITERIA,
    FIXTURE_COURSE,
    ROOT,
    execute,
    is_autograded_test,
    is_graded,
    is_solution,
    leaks,
    nbgrader_meta,
    notebooks,
    read,
    rel,
    unexpected_release_errors,
)

from messagelab.instructor import cli, release

INSTRUCTOR = "instructor-key"
BLANK = "blank"

SOURCE_NOTEBOOKS = [
    pytest.param(path, id=rel(path)) for path in notebooks(FIXTURE_COURSE / "source") + notebooks(ROOT / "source")
]


@dataclass(frozen=True)
class Graded:
    """One assignment taken through generate and autograde in a temporary course."""

    origin: Path  # the course the assignment comes from (repo root or the fixture)
    assignment: str
    course: Path  # the temporary course

    @property
    def source(self) -> Path:
        return self.origin / "source" / self.assignment

    @property
    def generated(self) -> Path:
        return self.course / "release" / self.assignment

    @property
    def committed(self) -> Path:
        return self.origin / "release" / self.assignment

    def source_notebooks(self) -> list[Path]:
        return notebooks(self.source)


@pytest.mark.parametrize("origin", [FIXTURE_COURSE, ROOT], ids=["fixture", "course"])
def test_every_release_has_a_source(origin: Path) -> None:
    orphans = release.orphaned_releases(origin)
    assert not orphans, f"release/ folders with no source/ to generate them from: {orphans}"


@pytest.mark.parametrize("path", SOURCE_NOTEBOOKS)
def test_grade_ids_name_their_criterion_and_are_unique(path: Path) -> None:
    """Cells that earn points or take an answer are named for a grading criterion.

    Read-only (locked) cells earn nothing and keep whatever id the authoring tool gave.
    """
    cells = [cell for cell in read(path).cells if nbgrader_meta(cell)]
    ids = [nbgrader_meta(cell).get("grade_id", "") for cell in cells]
    duplicates = sorted(name for name, count in Counter(ids).items() if count > 1)
    assert not duplicates, f"duplicate grade_id (breaks autograding): {duplicates}"
    unnamed = [
        name
        for cell, name in zip(cells, ids, strict=True)
        if (is_graded(cell) or is_solution(cell)) and not name.startswith(CRITERIA)
    ]
    assert not unnamed, f"grade_ids must start with one of {CRITERIA}: {unnamed}"


# ---------------------------------------------------------------------------
# The checks above must be able to fail: show each catches what it is for.
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> Graded:
    """The fixture assignment with its committed release (kept in sync by the tests above)."""
    return Graded(FIXTURE_COURSE, "demo", FIXTURE_COURSE)


def test_leak_check_catches_a_solution_line_and_a_marker(demo: Graded) -> None:
    source = read(demo.source / "demo.ipynb")
    release = read(demo.generated / "demo.ipynb")
    assert leaks(source, release) == []
    answer = next(i for i, cell in enumerate(release.cells) if is_solution(cell))
    release.cells[answer].source = source.cells[answer].source  # the full solution
    found = leaks(source, release)
    assert any("marker 'BEGIN SOLUTION'" in line for line in found)
    assert any("math.floor(arrival_rate_per_s / service_rate_per_s) + 1" in line for line in found)


def test_release_check_names_the_cell_that_differs(demo: Graded, tmp_path: Path) -> None:
    stale = tmp_path / "demo"
    stale.mkdir()
    nb = read(demo.generated / "demo.ipynb")
    test_cell = next(i for i, cell in enumerate(nb.cells) if is_autograded_test(cell))
    nb.cells[test_cell].source += "\nassert True"
    nbformat.write(nb, stale / "demo.ipynb")
    (stale / "notes.txt").write_text("left over")
    problems = release.release_differences(demo.generated, stale)
    assert any("arch-consumers-visible" in p and "source differs" in p for p in problems)
    assert any("notes.txt" in p for p in problems)
    assert release.release_differences(demo.generated, demo.generated) == []


@pytest.mark.slow
def test_release_error_policy_on_an_unanswered_release(demo: Graded) -> None:
    nb = execute(demo.generated / "demo.ipynb", allow_errors=True)
    assert unexpected_release_errors(nb) == []
    # The unanswered solution and both test cells fail, as a student would see.
    assert any(out.output_type == "error" for cell in nb.cells for out in cell.get("outputs", []))
    setup = next(i for i, cell in enumerate(nb.cells) if cell.source == "import math")
    nb.cells[setup].outputs = [nbformat.v4.new_output("error", ename="ImportError", evalue="no math", traceback=[])]
    assert unexpected_release_errors(nb) == ["cell 1 (setup): ImportError: no math"]


@pytest.mark.slow
def test_check_command_flags_an_edited_release(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m messagelab.instructor check` passes on a synced course and names an edited cell."""
    course = tmp_path / "course"
    shutil.copytree(FIXTURE_COURSE, course)
    assert cli.main(["--root", str(course), "check"]) == 0
    assert "demo: in sync" in capsys.readouterr().out

    release = course / "release" / "demo" / "demo.ipynb"
    nb = read(release)
    nb.cells[0].source += "\nEdited by hand."
    nbformat.write(nb, release)
    assert cli.main(["--root", str(course), "check"]) == 1
    out = capsys.readouterr().out
    assert "demo: OUT OF SYNC" in out
    assert "cell 0 (intro): source differs" in out


@pytest.mark.slow
def test_every_assignment_is_generated_in_one_nbgrader_run_as_one_at_a_time_would(tmp_path: Path) -> None:
    from messagelab.instructor import nbgrader as admin

    both = admin.make_course(tmp_path / "both", ["demo"], source_root=FIXTURE_COURSE)
    shutil.copytree(both / "source" / "demo", both / "source" / "demo2")
    made = admin.generate_every(["demo", "demo2"], both, timeout=300)
    assert made == [both / "release" / "demo", both / "release" / "demo2"]
    one = admin.make_course(tmp_path / "one", ["demo"], source_root=FIXTURE_COURSE)
    admin.generate("demo", one, timeout=300)
    for folder in made:
        assert release.release_differences(one / "release" / "demo", folder) == []
    with sqlite3.connect(both / "gradebook.db") as db:  # both in the gradebook, hidden tests and all
        assert {name for (name,) in db.execute("SELECT name FROM assignment")} == {"demo", "demo2"}
    # A folder of source/ that is not an assignment: one run per assignment instead, never "*".
    (both / "source" / "notes").mkdir()
    assert admin.generate_every(["demo", "demo2"], both, timeout=300) == made
