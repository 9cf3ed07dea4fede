"""A learner's copies are made once, never overwritten, and their progress is counted."""

import shutil
from pathlib import Path

import nbformat
import pytest
from available import COURSE, params

from messagelab import course
from messagelab.course import progress

REPO = Path(__file__).resolve().parent.parent
EX01 = "ex01-message-queues"


def fake_root(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    (root / "release").mkdir(parents=True)
    shutil.copytree(REPO / "release" / EX01, root / "release" / EX01)
    (root / "pyproject.toml").write_text("")
    return root


def test_copies_are_made_once_and_never_overwritten(tmp_path, monkeypatch):
    monkeypatch.delenv("MESSAGELAB_WORKSPACE", raising=False)
    root = fake_root(tmp_path)
    made = progress.ensure_copies(root)
    assert made == [root / "work" / EX01 / f"{EX01}.ipynb"]
    copy = made[0]
    nb = nbformat.read(copy, as_version=4)
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code")
    answer.source = "busy_consumers_at_peak = 16.8"
    written = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "markdown")
    written.source = "My diagram"
    nbformat.write(nb, copy)
    assert progress.ensure_copies(root) == []
    assert "busy_consumers_at_peak = 16.8" in copy.read_text()
    p = progress.progress(copy)
    assert (p.designs_done, p.designs, p.written_done, p.written) == (1, 5, 1, 6)
    frame = progress.progress_frame(root)
    assert frame.loc[0, "design answers"] == "1/5" and frame.loc[0, "done"] == "18%"


def test_release_itself_counts_as_nothing_done(tmp_path, monkeypatch):
    monkeypatch.setenv("MESSAGELAB_WORKSPACE", str(tmp_path / "elsewhere"))
    root = fake_root(tmp_path)
    assert progress.progress_frame(root).loc[0, "done"] == "not started"
    progress.ensure_copies(root)
    assert (tmp_path / "elsewhere" / EX01 / f"{EX01}.ipynb").exists()
    assert progress.progress_frame(root).loc[0, "done"] == "0%"


@pytest.mark.parametrize("assignment_id", params())
def test_the_instructors_answers_count_as_done_and_the_release_as_not_started(assignment_id: str) -> None:
    key = progress.progress(course.source_path(assignment_id, COURSE))
    blank = progress.progress(course.release_path(assignment_id, COURSE))
    assert (key.designs_done, key.written_done) == (key.designs, key.written) and key.designs + key.written > 0
    assert (blank.designs, blank.written) == (key.designs, key.written)
    assert blank.designs_done == blank.written_done == 0


def _ran(cell, *, error: bool) -> None:
    cell.execution_count = 1
    cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="no", traceback=[])] if error else []


def test_test_cells_count_as_they_last_ran_and_saved(tmp_path, monkeypatch):
    monkeypatch.setenv("MESSAGELAB_WORKSPACE", str(tmp_path / "work"))
    root = fake_root(tmp_path)
    copy = progress.ensure_copies(root)[0]
    nb = nbformat.read(copy, as_version=4)
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    points = {c.metadata.nbgrader.grade_id: c.metadata.nbgrader.points for c in tests}
    _ran(tests[0], error=False)  # sys-capacity-littles-law
    _ran(tests[1], error=True)
    for cell in nb.cells:  # answers filled in, so the exercise counts as started
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = "x = 1" if cell.cell_type == "code" else "written"
    nbformat.write(nb, copy)
    p = progress.progress(copy)
    assert (p.tests, p.tests_passed, p.tests_failed) == (len(tests), 1, 1)
    assert p.tests_label == f"1 of {len(tests)} ({len(tests) - 2} not run)"
    assert p.complete
    assert sum(p.points.values()) == sum(points.values())
    assert p.points_passed == {"sys": points[tests[0].metadata.nbgrader.grade_id], "arch": 0.0}
    assert progress.progress_frame(root).loc[0, "visible tests passed"] == p.tests_label
    success = progress.success_frame(root)
    assert success.loc["core exercises completed", "now"] == "1 of 6"
    share = points[tests[0].metadata.nbgrader.grade_id] / sum(points.values())
    assert success.loc["visible tests' points passed", "now"] == f"{share:.0%}"
    assert success.loc["visible tests' points passed", "met"] == "not yet"
    assert success.loc["on track", "now"] == "no"


def test_a_learner_with_nothing_started_has_no_quality_yet(tmp_path, monkeypatch):
    monkeypatch.setenv("MESSAGELAB_WORKSPACE", str(tmp_path / "work"))
    root = fake_root(tmp_path)
    progress.ensure_copies(root)
    success = progress.success_frame(root)
    assert success.loc["core exercises completed", "now"] == "0 of 6"
    assert success.loc["visible tests' points passed", "now"] == "–"
    assert list(success.index) == ["core exercises completed", "visible tests' points passed", "on track"]
