"""Two graders share one PostgreSQL gradebook: two `make autograde` runs at the same time lose nothing.

A course whose nbgrader_config.py names a PostgreSQL database (a throwaway server from
tests/pgserver.py), the fixture assignment ``demo`` generated into it, and six submissions:
two answered with the instructor's solutions, two in part (bob's design from test_cycle), two
untouched. A first grader autogrades ann and gives her written answer a score by hand, as
the formgrader saves it. Then two graders each run ``python -m messagelab.instructor
autograde demo --student …`` (what ``make autograde`` runs) on three different students, at
the same moment, against the same database.

Afterwards every student has exactly the autograder's scores, ann's manual score survives
her regrade, each run's log is complete, and the dashboard and `make grades` read all six
from the server.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from nbchecks import FIXTURE_COURSE
from test_cycle import AUTO, answer, cycle_answers

from messagelab.instructor import cli
from messagelab.instructor import gradebook as gb
from messagelab.instructor import nbgrader as admin

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]

DEMO = "demo"
COURSE_ID = "messaging-eda"
# Who answers like whom in test_cycle (whose scores AUTO gives).
LIKE = {"ann": "alice", "ben": "bob", "cat": "carol", "dan": "alice", "eve": "bob", "fay": "carol"}
FIRST_GRADER, SECOND_GRADER = ["ann", "ben", "cat"], ["dan", "eve", "fay"]
MANUAL_ANN = 2  # of 2 points, entered before the regrade


def _autograde(course: Path, students: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "messagelab.instructor", "--root", str(course), "autograde", DEMO,
         "--workers", "1", "--student", *students],
        env=dict(os.environ, PATH=admin.interpreter_path()),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
    )


@pytest.fixture(scope="module")
def course(postgres, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, list[str]]:
    course = admin.make_course(tmp_path_factory.mktemp("shared") / "course", [DEMO], source_root=FIXTURE_COURSE)
    url = postgres.gradebook_url(postgres.database())
    with (course / "nbgrader_config.py").open("a") as config:
        config.write(f"\nc.CourseDirectory.db_url = {url!r}\n")
    admin.generate(DEMO, course, timeout=600)

    release = course / "release" / DEMO / "demo.ipynb"
    answers = cycle_answers(course)
    for student, like in LIKE.items():
        notebook = course / "submitted" / student / DEMO / "demo.ipynb"
        notebook.parent.mkdir(parents=True)
        shutil.copyfile(release, notebook)
        answer(notebook, answers[like])
        (notebook.parent / "timestamp.txt").write_text("2026-12-01 12:00:00.000000 UTC")

    # The first grader grades ann alone, then scores her written answer by hand.
    first = _autograde(course, ["ann"])
    assert first.wait(timeout=600) == 0, first.stdout.read()
    from nbgrader.api import Gradebook

    with admin.interpreter_bin_on_path(), Gradebook(url, COURSE_ID) as book:
        gb.set_manual_score(book, DEMO, DEMO, "comm-rationale", "ann", MANUAL_ANN)

    # Two graders at once, on different students, against the one database.
    runs = [_autograde(course, FIRST_GRADER), _autograde(course, SECOND_GRADER)]
    outputs = [run.communicate(timeout=900)[0] for run in runs]
    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output
    return course, url, outputs


def test_both_runs_graded_all_their_students(course: tuple[Path, str, list[str]]) -> None:
    _, _, outputs = course
    for students, output in zip((FIRST_GRADER, SECOND_GRADER), outputs, strict=True):
        for student in students:
            assert f"graded {student} (" in output, output
        assert "FAILED" not in output, output


def test_every_student_has_the_autograders_scores(course: tuple[Path, str, list[str]]) -> None:
    root, _, _ = course
    for student, like in LIKE.items():
        scores = {g.grade_id: g.auto_score for g in admin.grades(DEMO, student, root)}
        assert scores == AUTO[like], student
        assert (root / "autograded" / student / DEMO / "demo.ipynb").is_file(), student


def test_a_manual_score_survives_a_concurrent_regrade(course: tuple[Path, str, list[str]]) -> None:
    root, _, _ = course
    (rationale,) = [g for g in admin.grades(DEMO, "ann", root) if g.grade_id == "comm-rationale"]
    assert rationale.manual_score == MANUAL_ANN
    assert rationale.score == MANUAL_ANN


def test_nothing_went_to_a_local_sqlite_gradebook(course: tuple[Path, str, list[str]]) -> None:
    root, url, _ = course
    assert admin.gradebook_url(root) == url
    assert not (root / "gradebook.db").exists()
    assert not (root / ".autograde").exists(), "scratch courses are removed after both runs"


def test_the_dashboard_and_make_grades_read_the_server(course: tuple[Path, str, list[str]]) -> None:
    root, url, _ = course
    report = gb.ClassReport.load(url)
    assert sorted(set(report.cells["student"])) == sorted(LIKE)
    assert "messagelab@" in report.status and "Gradebook postgresql+psycopg://" in report.status
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert cli.main(["--root", str(root), "grades", "--to", "grades.csv"]) == 0
    table = pd.read_csv(root / "grades.csv", dtype=str, keep_default_na=False).set_index("student_id")
    assert sorted(table.index) == sorted(LIKE)
    # ann: everything right, her written answer 2/2 by hand -> 100; ben: test_cycle's bob
    # without a manual score yet -> arch 100, sys 0, comm 0 (pending).
    assert table.loc["ann", "demo_pct"] == "100.00"
    assert table.loc["dan", "demo_pct"] == "60.00"  # the written answer waits for a grader
    assert table.loc["ben", "demo_pct"] == "20.00"


def test_shown_urls_hide_the_password() -> None:
    shown = admin.shown_url("postgresql+psycopg://grader:s3cret@db.example.edu/messaging_eda")
    assert shown == "postgresql+psycopg://grader:***@db.example.edu/messaging_eda"
    assert admin.shown_url("/srv/course/gradebook.db") == "/srv/course/gradebook.db"


def test_the_dashboard_reads_the_gradebook_the_course_config_names(course, monkeypatch) -> None:
    root, url, _ = course
    monkeypatch.delenv(gb.ENV_VAR, raising=False)
    monkeypatch.setattr(gb, "course_root", lambda: root)
    assert gb.default_source() == url
    report = gb.ClassReport.load()
    assert report.ready and sorted(set(report.cells["student"])) == sorted(LIKE)
