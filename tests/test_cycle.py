"""The instructor's cycle, end to end, through nbgrader's exchange, as an instructor runs it.

A temporary course (the repository's nbgrader_config.py and the fixture assignment `demo`)
with its exchange folder inside it, and four students, each with a home of their own holding
their own nbgrader config (course id and exchange root, as on a hub)::

    instructor  db student import (the roster) ─► generate_assignment ─► release_assignment
    students    fetch_assignment ─► answer ─► submit
    instructor  collect ─► python -m messagelab.instructor autograde ─► manual grades (Gradebook API,
                as the formgrader saves them) ─► generate_feedback ─► release_feedback
    students    fetch_feedback: an HTML report with their score
    instructor  python -m messagelab.instructor grades --to grades.csv (make grades)

The cycle runs twice: with the embedded SQLite gradebook, and with the gradebook in a
PostgreSQL database (``CourseDirectory.db_url``) on a throwaway server (tests/pgserver.py).

alice answers with the instructor's solutions, bob answers in part (a design that passes
the visible test and fails the hidden one), carol submits the notebook untouched and dave
fetches it but never submits: he is on the roster, so he gets 0 and a missing assignment.

nbgrader tells students apart by their OS user; here every student is the same OS user, so
each student command names its student with `--student=<id>` (nbgrader's alias for
`CourseDirectory.student_id`), and each student has their own JUPYTER_DATA_DIR, which holds
nbgrader's submission cache (fetch_feedback finds a student's feedback through it).

Exercise 01 goes through generate and autograde in tests/test_nbgrader.py; taking it through
the exchange as well would double this test's time (each nbgrader command starts in ~2 s).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbchecks import FIXTURE_COURSE, nbgrader_meta

from messagelab.instructor import cli
from messagelab.instructor import gradebook as gb
from messagelab.instructor import nbgrader as admin

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]

COURSE_ID = "messaging-eda"
DEMO = "demo"
STUDENTS = ("alice", "bob", "carol", "dave")

# bob's answer: rounds up, so it passes the visible test (10 msg/s over 4 -> 3) and fails
# the hidden one (exactly at capacity, 9 over 3, needs 4 consumers, not 3).
BOB_DESIGN = (
    "def consumers_needed(arrival_rate_per_s, service_rate_per_s):\n"
    "    return math.ceil(arrival_rate_per_s / service_rate_per_s)\n"
)
BOB_RATIONALE = "Because it is slow."

# What the grader gives the written answer in the formgrader (of 2 points).
MANUAL = {"alice": 2, "bob": 1}

# The autograder's scores: student -> grade_id -> auto score (None: a written answer,
# waiting for a grader). carol's untouched written answer scores 0 automatically.
AUTO = {
    "alice": {"arch-consumers-visible": 1, "sys-consumers-hidden": 2, "comm-rationale": None},
    "bob": {"arch-consumers-visible": 1, "sys-consumers-hidden": 0, "comm-rationale": None},
    "carol": {"arch-consumers-visible": 0, "sys-consumers-hidden": 0, "comm-rationale": 0},
}

# Feedback: the score line at the top of each student's HTML report.
FEEDBACK = {"alice": "demo (Score: 5.0 / 5.0)", "bob": "demo (Score: 2.0 / 5.0)", "carol": "demo (Score: 0.0 / 5.0)"}

# grades.csv, worked by hand. demo has arch 1 point, sys 2, comm 2 and no biz cell, so the
# weights renormalise over the other three: arch 40/80 = 50 %, sys 25/80 = 31.25 %,
# comm 15/80 = 18.75 %.
#   alice: 5/5 everywhere -> 100 A
#   bob:   arch 1/1 = 100, sys 0/2 = 0, comm 1/2 = 50 -> .5*100 + .1875*50 = 59.375 -> 59.38 F
#   carol: 0 F;  dave: never submitted, 0 F
GRADES_CSV = {
    # student: student_id, demo %, arch, sys, biz, comm, total, letter, missing
    "alice": ["alice", "100.00", "100.00", "100.00", "", "100.00", "100.00", "A", ""],
    "bob": ["bob", "40.00", "100.00", "0.00", "", "50.00", "59.38", "F", ""],
    "carol": ["carol", "0.00", "0.00", "0.00", "", "0.00", "0.00", "F", ""],
    "dave": ["dave", "0.00", "0.00", "0.00", "", "0.00", "0.00", "F", DEMO],
}
WEIGHTS = "arch 50%, sys 31.25%, comm 18.75% (renormalised: no points for biz in the assignments counted)"


@dataclass(frozen=True)
class Student:
    """One student's own machine, as far as nbgrader can tell: a home, a config, a cache."""

    id: str
    home: Path

    def setup(self, exchange: Path) -> None:
        config = self.home / ".jupyter"
        config.mkdir(parents=True)
        # What a student on a hub has in ~/.jupyter/nbgrader_config.py.
        (config / "nbgrader_config.py").write_text(
            f"c = get_config()  # noqa: F821\n"
            f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
            f"c.Exchange.root = {str(exchange)!r}\n"
        )

    def env(self) -> dict[str, str]:
        return {
            "HOME": str(self.home),
            "JUPYTER_CONFIG_DIR": str(self.home / ".jupyter"),
            "JUPYTER_DATA_DIR": str(self.home / ".local" / "share" / "jupyter"),
        }


# Runs `nbgrader ARGS` for several students in one Python process, each in their own home
# and environment, the way nbgrader's own test suite runs its commands (NbGraderApp in
# process, reset after each): the same applications, config loading and exchange code as
# the command line, without paying nbgrader's ~2 s start-up once per student and command.
STUDENT_RUNNER = """
import json, os, sys
from jupyter_core.application import NoStart
from nbgrader.apps import NbGraderApp

failed = []
for job in json.loads(sys.argv[1]):
    os.environ.update(job["env"])
    os.chdir(job["home"])
    app = NbGraderApp.instance()
    try:
        app.initialize(job["argv"])
        app.start()
        code = 0
    except NoStart:  # raised after a subcommand ran to the end
        code = 0
    except SystemExit as exit:
        code = exit.code
    finally:
        app.reset()
    if code:
        failed.append(f"{job['student']}: nbgrader {' '.join(job['argv'])} exited {code}")
print("\\n".join(failed), file=sys.stderr)
sys.exit(1 if failed else 0)
"""


def students_run(*calls: tuple[Student, tuple[str, ...]]) -> None:
    """Each student runs ``nbgrader ARGS --student=<id>`` in their own home; check each succeeds."""
    jobs = [
        {"student": s.id, "home": str(s.home), "env": s.env(), "argv": [*args, f"--student={s.id}"]}
        for s, args in calls
    ]
    env = dict(os.environ, PATH=admin.interpreter_path())
    env.pop("NBGRADER_EXECUTION", None)
    proc = subprocess.run(
        [sys.executable, "-c", STUDENT_RUNNER, json.dumps(jobs)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, f"{proc.stderr[-4000:]}"


def fill(nb: dict, sources: dict[str, str]) -> dict:
    """Answers into the solution cells of a notebook (a file's, or the contents API's): grade_id -> source."""
    for cell in nb["cells"]:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if nbgrader_meta(cell).get("solution") and grade_id in sources:
            cell["source"] = sources[grade_id]
    return nb


def answer(notebook: Path, sources: dict[str, str]) -> None:
    """Write answers into the solution cells of a fetched notebook: grade_id -> cell source."""
    nbformat.write(fill(nbformat.read(notebook, as_version=4), sources), notebook)


def cycle_answers(course: Path) -> dict[str, dict[str, str]]:
    """What the cycle's cases write into ``demo``: alice the instructor's solutions, bob in part, carol nothing."""
    return {"alice": solutions(course / "source" / DEMO / "demo.ipynb"),
            "bob": {"arch-consumers": BOB_DESIGN, "comm-rationale": BOB_RATIONALE}, "carol": {}}


def solutions(source_notebook: Path) -> dict[str, str]:
    """The instructor's answer in every solution cell of a source notebook."""
    nb = nbformat.read(source_notebook, as_version=4)
    return {nbgrader_meta(c)["grade_id"]: c.source for c in nb.cells if nbgrader_meta(c).get("solution")}


def admin_cli(course: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m messagelab.instructor --root COURSE ARGS``, as ``make`` runs it."""
    proc = subprocess.run(
        [sys.executable, "-m", "messagelab.instructor", "--root", str(course), *args],
        env=dict(os.environ, PATH=admin.interpreter_path()),
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, (
        f"messagelab.instructor {' '.join(args)} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    )
    return proc


@dataclass(frozen=True)
class Cycle:
    course: Path
    students: dict[str, Student]
    grades_output: str


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def cycle(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Cycle:
    tmp = tmp_path_factory.mktemp("cycle")
    course = admin.make_course(tmp / "course", [DEMO], source_root=FIXTURE_COURSE)
    if request.param == "postgresql":
        # A gradebook several graders share: the course's config names a PostgreSQL database.
        server = request.getfixturevalue("postgres")
        with (course / "nbgrader_config.py").open("a") as config:
            config.write(f"\nc.CourseDirectory.db_url = {server.gradebook_url(server.database())!r}\n")
    # The exchange is a folder every student can write to (make lab creates `exchange/` in
    # the course the same way). Every exchange command names it, so the test never touches
    # a real exchange even when the course's config points at a hub's.
    exchange = course / "exchange"
    exchange.mkdir()
    on_exchange = f"--Exchange.root={exchange}"
    students = {name: Student(name, tmp / "home" / name) for name in STUDENTS}
    for student in students.values():
        student.setup(exchange)
    alice, bob, carol, dave = students.values()

    # Instructor: the class roster, then the student version, released to the exchange.
    roster = tmp / "roster.csv"
    roster.write_text("id,first_name,last_name\n" + "".join(f"{s},{s.title()},Student\n" for s in STUDENTS))
    admin.run_nbgrader("db", "student", "import", str(roster), root=course, timeout=300)
    admin.generate(DEMO, course, timeout=600)
    admin.run_nbgrader("release_assignment", DEMO, on_exchange, root=course, timeout=300)

    # Students: fetch, answer, submit (dave never submits).
    students_run(*[(student, ("fetch_assignment", DEMO)) for student in students.values()])
    notebook = Path(DEMO) / "demo.ipynb"
    answers = cycle_answers(course)
    answer(alice.home / notebook, answers["alice"])
    answer(bob.home / notebook, answers["bob"])
    students_run(*[(student, ("submit", DEMO)) for student in (alice, bob, carol)])

    # Instructor: collect and autograde. Every student here is the same OS user, so the
    # owner check (which warns when a submission's owner is not the student it names) is off.
    admin.run_nbgrader("collect", DEMO, on_exchange, "--ExchangeCollect.check_owner=False", root=course, timeout=300)
    admin_cli(course, "autograde", DEMO)

    # Instructor: grade the written answers by hand, as the formgrader saves them.
    from nbgrader.api import Gradebook

    with admin.interpreter_bin_on_path(), Gradebook(admin.gradebook_url(course), COURSE_ID) as book:
        for student, points in MANUAL.items():
            gb.set_manual_score(book, DEMO, DEMO, "comm-rationale", student, points)

    # Instructor: feedback out; students: feedback in.
    admin.run_nbgrader("generate_feedback", DEMO, "--force", root=course, timeout=600)
    admin.run_nbgrader("release_feedback", DEMO, on_exchange, root=course, timeout=300)
    students_run(*[(student, ("fetch_feedback", DEMO)) for student in (alice, bob, carol)])

    # Instructor: the module grades (`make grades` runs this same command line).
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert cli.main(["--root", str(course), "grades", "--to", "grades.csv"]) == 0
    return Cycle(course, students, printed.getvalue())


def test_every_submission_is_collected(cycle: Cycle) -> None:
    submitted = cycle.course / "submitted"
    assert sorted(str(p.relative_to(submitted)) for p in submitted.rglob("*.ipynb")) == [
        "alice/demo/demo.ipynb",
        "bob/demo/demo.ipynb",
        "carol/demo/demo.ipynb",
    ]
    # What a student fetched is the committed release, unanswered.
    fetched = nbformat.read(cycle.students["dave"].home / DEMO / "demo.ipynb", as_version=4)
    released = nbformat.read(FIXTURE_COURSE / "release" / DEMO / "demo.ipynb", as_version=4)
    assert [c.source for c in fetched.cells] == [c.source for c in released.cells]


def test_every_command_used_the_gradebook_the_config_names(cycle: Cycle) -> None:
    url = admin.gradebook_url(cycle.course)
    local = cycle.course / "gradebook.db"
    if url.startswith("postgresql"):
        assert not local.exists(), "a command wrote a SQLite gradebook beside the PostgreSQL one"
    else:
        assert url == f"sqlite:///{local.resolve()}"
    # The dashboard reads the same gradebook: every student on the roster, three submissions.
    report = gb.ClassReport.load(url if url.startswith("postgresql") else local)
    assert report.ready and sorted(set(report.cells["student"])) == sorted(STUDENTS)


def test_autograde_scores_each_student(cycle: Cycle) -> None:
    for student, expected in AUTO.items():
        scores = {g.grade_id: g.auto_score for g in admin.grades(DEMO, student, cycle.course)}
        assert scores == expected, student


def test_manual_grades_override_and_nothing_is_left_ungraded(cycle: Cycle) -> None:
    cells = gb.cell_grades(admin.gradebook_url(cycle.course)).set_index(["student", "grade_id"])
    for student, points in MANUAL.items():
        assert cells.loc[(student, "comm-rationale"), "final_score"] == points
    assert not cells["pending"].any(), "every written answer submitted has a grade"
    assert not cells.loc["dave", "submitted"].any()


def test_each_student_fetches_feedback_with_their_score(cycle: Cycle) -> None:
    for name, student in cycle.students.items():
        reports = sorted(student.home.glob("*/feedback/*/*.html"))
        if name not in FEEDBACK:
            assert reports == [], f"{name} submitted nothing and has no feedback"
            continue
        assert [p.relative_to(student.home).parts[0] for p in reports] == [DEMO], name
        headline = re.search(r"<h4>\s*([^<]*\(Score:[^<]*\))\s*</h4>", reports[0].read_text())
        assert headline, f"{reports[0]} shows no score"
        assert " ".join(headline.group(1).split()) == FEEDBACK[name]


def test_make_grades_exports_each_students_module_grade(cycle: Cycle) -> None:
    assert "4 students (A 1, B 0, C 0, D 0, F 3)" in cycle.grades_output
    csv = pd.read_csv(cycle.course / "grades.csv", dtype=str, keep_default_na=False)
    assert list(csv.columns) == [
        "student_id",
        "demo_pct",
        "arch_pct",
        "sys_pct",
        "biz_pct",
        "comm_pct",
        "total_pct",
        "letter",
        "missing_assignments",
        "weights",
    ]
    assert {row[0]: row[:-1] for row in csv.values.tolist()} == GRADES_CSV
    assert set(csv["weights"]) == {WEIGHTS}
