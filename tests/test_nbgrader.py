"""The grading pipeline, end to end, for every assignment in source/.

For each assignment, in a throw-away course built from the repository's
nbgrader_config.py: generate the release; autograde the instructor's source (it must
score full marks) and the unanswered release (it must score 0); check that nothing
secret reaches the release and that the committed release/ is what generation produces.
Scores are read from the gradebook, because `nbgrader validate` exits 0 even when tests
fail.

The fixture assignment in tests/fixtures/course always runs, so the pipeline is tested
before (and besides) the real assignments.
"""

from __future__ import annotations

import shutil
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
    stderr_outputs,
    unexpected_release_errors,
)

from messagelab.instructor import cli, release
from messagelab.instructor import nbgrader as admin

INSTRUCTOR = "instructor-key"
BLANK = "blank"

ASSIGNMENTS = [pytest.param((FIXTURE_COURSE, "demo"), id="fixture-demo")] + [
    pytest.param((ROOT, assignment), id=assignment) for assignment in admin.assignment_ids(ROOT)
]

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


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Graded:
    origin, assignment = request.param
    course = tmp_path_factory.mktemp(f"course-{assignment}")
    admin.make_course(course, [assignment], source_root=origin)
    admin.generate(assignment, course, timeout=600)
    admin.submit(course, assignment, INSTRUCTOR, course / "source" / assignment)
    admin.submit(course, assignment, BLANK, course / "release" / assignment)
    # One nbgrader run grades both students.
    admin.autograde(assignment, course, timeout=900)
    return Graded(origin, assignment, course)


def autograded_test_ids(path: Path) -> set[str]:
    return {nbgrader_meta(cell)["grade_id"] for cell in read(path).cells if is_autograded_test(cell)}


@pytest.mark.slow
def test_source_scores_full_marks(graded: Graded) -> None:
    grades = admin.grades(graded.assignment, INSTRUCTOR, graded.course)
    by_cell = {(g.notebook, g.grade_id): g for g in grades}
    tests = {(path.stem, grade_id) for path in graded.source_notebooks() for grade_id in autograded_test_ids(path)}
    assert tests, f"{graded.assignment} has no autograded test cells"
    missing = sorted(tests - by_cell.keys())
    assert not missing, f"test cells without a grade in the gradebook: {missing}"
    lost = [
        f"{notebook}/{grade_id}: {by_cell[notebook, grade_id].auto_score} of {by_cell[notebook, grade_id].max_score}"
        for notebook, grade_id in sorted(tests)
        if by_cell[notebook, grade_id].auto_score != by_cell[notebook, grade_id].max_score
    ]
    assert not lost, "the instructor's solution loses points:\n" + "\n".join(lost)


@pytest.mark.slow
def test_unanswered_release_scores_zero(graded: Graded) -> None:
    grades = admin.grades(graded.assignment, BLANK, graded.course)
    assert grades, "the blank submission has no grades"
    scored = [f"{g.notebook}/{g.grade_id}: {g.auto_score}" for g in grades if g.auto_score]
    assert not scored, "an unanswered release earns points:\n" + "\n".join(scored)
    assert sum(g.auto_score or 0 for g in grades) == 0


@pytest.mark.slow
def test_release_hides_solutions_and_hidden_tests(graded: Graded) -> None:
    for source in graded.source_notebooks():
        release = graded.generated / source.name
        assert release.is_file(), f"{release.name} was not generated"
        found = leaks(read(source), read(release))
        assert not found, f"{release.name} shows what only the instructor may see:\n" + "\n".join(found)


@pytest.mark.slow
def test_committed_release_matches_generated(graded: Graded) -> None:
    problems = release.release_differences(graded.generated, graded.committed)
    assert not problems, f"{rel(graded.committed)} is out of sync with its source (run `make release`):\n" + "\n".join(
        problems
    )


@pytest.mark.slow
def test_committed_release_is_byte_identical(graded: Graded) -> None:
    """Generation is deterministic, so `make release` on a clean tree leaves no diff."""
    different = [
        path.name
        for path in notebooks(graded.generated)
        if not (graded.committed / path.name).is_file()
        or (graded.committed / path.name).read_bytes() != path.read_bytes()
    ]
    assert not different, f"regenerating {rel(graded.committed)} would change {different}"


@pytest.mark.slow
def test_test_cells_write_nothing_to_stderr(graded: Graded) -> None:
    """nbgrader scores a test cell that writes to stderr as failed, warnings included."""
    for path in graded.source_notebooks():
        nb = execute(path)
        tests = [i for i, cell in enumerate(nb.cells) if is_autograded_test(cell)]
        noisy = stderr_outputs(nb, tests)
        assert not noisy, f"{path.name}: test cells write to stderr:\n" + "\n".join(noisy)


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
