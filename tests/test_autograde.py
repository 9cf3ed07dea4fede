"""Parallel autograding (messagelab.instructor.autograde) gives the grades plain nbgrader gives.

A class of six submits the fixture assignment: full marks, a partial answer, the blank
release, a tampered copy (wrong answer, test cells emptied), one whose answer cell kills
its kernel with ``os._exit(1)`` and one that is not JSON. One copy of the course is graded
by ``nbgrader autograde`` (serial, one command), another by ``grade_class`` with two
workers; every grade cell must get the same auto score in both, the two broken
submissions must be reported without costing anyone else, and the gradebook must stay
one submission per student. Regrading keeps what an instructor entered by hand.
The fixture's answers are functions, which only the student's kernel can run, so
re-verification leaves their test cells to nbgrader: the two graders must agree exactly.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbchecks import FIXTURE_COURSE, ROOT, nbgrader_meta, processes_under, read, require_sandbox

from messagelab.instructor import autograde, cli
from messagelab.instructor import nbgrader as admin
from messagelab.instructor.autograde import BatchResult, grade_class

ASSIGNMENT = "demo"
NOTEBOOK = "demo"

#: What each student's answer cell holds (None: the notebook as it is), and their auto scores.
ANSWERS = {
    "full": "source",
    "partial": "def consumers_needed(arrival_rate_per_s, service_rate_per_s):\n"
    "    return math.ceil(arrival_rate_per_s / service_rate_per_s)",
    "blank": None,
    "tampered": "def consumers_needed(arrival_rate_per_s, service_rate_per_s):\n    return 0",
    "crash": "import os\nos._exit(1)",
    "corrupt": "not JSON",
}
#: Auto score per grade cell with plain nbgrader; None where it recorded the submission but graded nothing.
EXPECTED = {
    "full": {"arch-consumers-visible": 1.0, "sys-consumers-hidden": 2.0},
    "partial": {"arch-consumers-visible": 1.0, "sys-consumers-hidden": 0.0},
    "blank": {"arch-consumers-visible": 0.0, "sys-consumers-hidden": 0.0},
    "tampered": {"arch-consumers-visible": 0.0, "sys-consumers-hidden": 0.0},
    "crash": {"arch-consumers-visible": None, "sys-consumers-hidden": None},
    "corrupt": {"arch-consumers-visible": None, "sys-consumers-hidden": None},
}
BROKEN = {"crash", "corrupt"}
#: Where plain nbgrader leaves test cells unscored and make autograde scores them 0, with the reason.
FAILS_CLOSED = BROKEN


def answered(release: Path, answer: str, dest: Path, *, tamper: bool = False) -> Path:
    """The release notebook with ``answer`` in its answer cell (and its tests emptied if ``tamper``)."""
    nb = read(release)
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution") and cell.cell_type == "code":
            cell.source = answer
        elif tamper and meta.get("grade") and cell.cell_type == "code":
            cell.source = "pass"
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dest)
    return dest


def submit_class(course: Path, answers: dict[str, str | None], scratch: Path) -> None:
    release = course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    for student, answer in answers.items():
        if answer == "source":
            admin.submit(course, ASSIGNMENT, student, course / "source" / ASSIGNMENT)
        elif answer is None:
            admin.submit(course, ASSIGNMENT, student, release)
        elif answer == "not JSON":
            folder = course / "submitted" / student / ASSIGNMENT
            folder.mkdir(parents=True)
            (folder / f"{NOTEBOOK}.ipynb").write_text('{"cells": [{"cell_type": "code", "sour')
        else:
            notebook = answered(release, answer, scratch / student / f"{NOTEBOOK}.ipynb", tamper=student == "tampered")
            admin.submit(course, ASSIGNMENT, student, [notebook])


def new_course(dest: Path, answers: dict[str, str | None]) -> Path:
    course = admin.make_course(dest / "course", [ASSIGNMENT], source_root=FIXTURE_COURSE)
    admin.generate(ASSIGNMENT, course, timeout=600)
    submit_class(course, answers, dest / "notebooks")
    return course


def auto_scores(course: Path, student: str) -> dict[str, float | None]:
    return {g.grade_id: g.auto_score for g in admin.grades(ASSIGNMENT, student, course) if g.cell_type == "code"}


def graded_copies(course: Path) -> set[str]:
    return {str(p.relative_to(course / "autograded")) for p in (course / "autograded").glob("*/*/*.ipynb")}


@dataclass
class Graded:
    parallel: Path  # graded by grade_class
    serial: Path  # the same class graded by plain nbgrader
    batch: BatchResult
    progress: list[str]
    serial_error: admin.NbgraderError | None


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    base = tmp_path_factory.mktemp("autograde")
    parallel = new_course(base, ANSWERS)
    serial = base / "serial"
    shutil.copytree(parallel, serial)
    progress: list[str] = []
    batch = grade_class(
        ASSIGNMENT, parallel, workers=2, progress=progress.append, workdir=base, timeout=300
    )
    try:
        admin.autograde(ASSIGNMENT, serial, timeout=600)
        serial_error = None
    except admin.NbgraderError as error:
        serial_error = error
    return Graded(parallel, serial, batch, progress, serial_error)


def copy_course(graded: Graded, dest: Path) -> Path:
    """A graded course of one's own, for a test that changes it."""
    return Path(shutil.copytree(graded.parallel, dest / "course"))


# ---------------------------------------------------------------------------
# Same grades as nbgrader
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_every_grade_cell_scores_as_with_plain_nbgrader(graded: Graded) -> None:
    for student in ANSWERS:
        parallel = auto_scores(graded.parallel, student)
        serial = auto_scores(graded.serial, student)
        if student in FAILS_CLOSED:
            # Plain nbgrader leaves the test cells of a crashed or unreadable notebook unscored;
            # here each gets a defined score, 0, with the reason (grading fails closed).
            assert all(score is None for score in serial.values()), student
            assert parallel == dict.fromkeys(serial, 0.0), student
            continue
        assert parallel == serial, student
        assert parallel == EXPECTED[student], student


@pytest.mark.slow
def test_review_flags_match_plain_nbgrader(graded: Graded) -> None:
    for student in set(ANSWERS) - FAILS_CLOSED:  # nbgrader graded nothing of those: every flag is still up
        flags = {g.grade_id: g.needs_manual_grade for g in admin.grades(ASSIGNMENT, student, graded.parallel)}
        assert flags == {g.grade_id: g.needs_manual_grade for g in admin.grades(ASSIGNMENT, student, graded.serial)}
    written = {g.grade_id: g for g in admin.grades(ASSIGNMENT, "full", graded.parallel)}["comm-rationale"]
    assert written.needs_manual_grade and written.auto_score is None


@pytest.mark.slow
def test_graded_notebooks_are_where_nbgrader_puts_them(graded: Graded) -> None:
    copies = graded_copies(graded.parallel)
    # The crashed notebook is graded up to the crash (and its cells after it score 0); the
    # one that is not JSON has no graded copy, as with nbgrader.
    assert copies == {f"{s}/{ASSIGNMENT}/{NOTEBOOK}.ipynb" for s in ANSWERS if s != "corrupt"}
    assert copies - {f"crash/{ASSIGNMENT}/{NOTEBOOK}.ipynb"} == graded_copies(graded.serial)
    full = read(graded.parallel / "autograded" / "full" / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
    hidden = next(cell for cell in full.cells if nbgrader_meta(cell).get("grade_id") == "sys-consumers-hidden")
    assert "BEGIN HIDDEN TESTS" in hidden.source  # the hidden tests ran, restored from the gradebook


# ---------------------------------------------------------------------------
# Failures cost one student; the batch completes and says why
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_broken_submissions_are_reported_and_the_rest_graded(graded: Graded) -> None:
    batch = graded.batch
    assert sorted(r.student for r in batch.results) == sorted(ANSWERS)
    assert {r.student for r in batch.failed} == BROKEN
    reasons = {r.student: r.reason for r in batch.failed}
    assert "kernel died" in reasons["crash"]
    assert "not valid JSON" in reasons["corrupt"]
    assert batch.exit_code == 1
    assert graded.serial_error is not None, "plain nbgrader exits non-zero on the same class"
    for failure in batch.failed:  # nbgrader's own log is kept for each failure
        assert failure.log is not None and failure.log.name == f"{failure.student}.log"
        assert "| ERROR]" in failure.log.read_text()
    summary = batch.summary().splitlines()
    assert "4 of 6 submissions graded, 2 failed" in summary[0]
    assert "submissions per minute" in summary[0]
    for failure in batch.failed:
        assert any(failure.student in line and failure.reason in line for line in summary[1:])


@pytest.mark.slow
def test_progress_has_one_line_per_student_with_the_running_count(graded: Graded) -> None:
    lines = [line for line in graded.progress if line.startswith("[")]
    assert [line.split("]")[0] for line in lines] == [f"[{i}/6" for i in range(1, 7)]
    for line, result in zip(lines, graded.batch.results, strict=True):
        assert result.student in line
        assert ("graded" in line) == result.graded
        assert ("FAILED" in line) == (not result.graded)
    assert lines[-1].endswith(f"{len(BROKEN)} failed")


@pytest.mark.slow
def test_gradebook_holds_one_submission_per_student(graded: Graded) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(admin.gradebook_url(graded.parallel), "messaging-eda") as gradebook:
        submissions = gradebook.assignment_submissions(ASSIGNMENT)
        assert sorted(s.student.id for s in submissions) == sorted(ANSWERS)
        assert sorted(s.id for s in gradebook.students) == sorted(ANSWERS)
        for submission in submissions:
            assert [nb.name for nb in submission.notebooks] == [NOTEBOOK]
    with sqlite3.connect(graded.parallel / "gradebook.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    listed = admin.run_nbgrader("db", "student", "list", root=graded.parallel).stdout
    assert all(student in listed for student in ANSWERS)


# ---------------------------------------------------------------------------
# Regrading keeps what the instructor entered
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_regrade_keeps_manual_grades_comments_and_extra_credit(
    graded: Graded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from nbgrader.api import Gradebook

    course = copy_course(graded, tmp_path)
    url = admin.gradebook_url(course)
    with Gradebook(url, "messaging-eda") as gradebook:
        written = gradebook.find_grade("comm-rationale", NOTEBOOK, ASSIGNMENT, "full")
        written.manual_score = 1.5
        gradebook.find_comment("comm-rationale", NOTEBOOK, ASSIGNMENT, "full").manual_comment = "Clear and short."
        override = gradebook.find_grade("sys-consumers-hidden", NOTEBOOK, ASSIGNMENT, "partial")
        override.manual_score = 1.0
        override.needs_manual_grade = False
        gradebook.find_grade("arch-consumers-visible", NOTEBOOK, ASSIGNMENT, "partial").extra_credit = 0.5
        gradebook.db.commit()
    # partial resubmits the full answer; the instructor regrades both from the command line.
    shutil.rmtree(course / "submitted" / "partial")
    admin.submit(course, ASSIGNMENT, "partial", course / "source" / ASSIGNMENT)
    argv = ["--root", str(course), "autograde", ASSIGNMENT, "--workers", "2", "--student", "full", "partial"]
    assert cli.main(argv) == 0
    out = capsys.readouterr()
    assert "2 of 2 submissions graded, 0 failed" in out.out
    assert "[2/2]" in out.out

    with Gradebook(url, "messaging-eda") as gradebook:
        written = gradebook.find_grade("comm-rationale", NOTEBOOK, ASSIGNMENT, "full")
        assert written.manual_score == 1.5
        assert gradebook.find_comment("comm-rationale", NOTEBOOK, ASSIGNMENT, "full").manual_comment == (
            "Clear and short."
        )
        override = gradebook.find_grade("sys-consumers-hidden", NOTEBOOK, ASSIGNMENT, "partial")
        assert override.manual_score == 1.0
        assert override.auto_score == 2.0  # the resubmission was graded
        assert override.needs_manual_grade  # nbgrader's rule: a regraded override needs a look
        visible = gradebook.find_grade("arch-consumers-visible", NOTEBOOK, ASSIGNMENT, "partial")
        assert visible.extra_credit == 0.5 and visible.auto_score == 1.0
        assert len(gradebook.assignment_submissions(ASSIGNMENT)) == len(ANSWERS)
    # Students not regraded are untouched.
    assert auto_scores(course, "blank") == EXPECTED["blank"]


@pytest.mark.slow
def test_merge_writes_only_what_autograding_owns(graded: Graded, tmp_path: Path) -> None:
    """A grade entered while the class was grading (so absent from the snapshot) survives the merge."""
    from nbgrader.api import Gradebook

    course = copy_course(graded, tmp_path)
    real_url = admin.gradebook_url(course)
    scratch_db = tmp_path / "scratch.db"
    shutil.copyfile(course / "gradebook.db", scratch_db)
    scratch_url = f"sqlite:///{scratch_db}"
    with Gradebook(scratch_url, "messaging-eda") as scratch:  # what a worker's nbgrader wrote
        scratch.find_grade("sys-consumers-hidden", NOTEBOOK, ASSIGNMENT, "partial").auto_score = 2.0
        scratch.find_comment("arch-consumers", NOTEBOOK, ASSIGNMENT, "partial").auto_comment = "No response."
        scratch.find_grade("arch-consumers-visible", NOTEBOOK, ASSIGNMENT, "blank").auto_score = 1.0
        scratch.db.commit()
    with Gradebook(real_url, "messaging-eda") as real:  # what a grader entered meanwhile
        grade = real.find_grade("sys-consumers-hidden", NOTEBOOK, ASSIGNMENT, "partial")
        grade.manual_score, grade.extra_credit = 0.5, 0.25
        real.find_comment("arch-consumers", NOTEBOOK, ASSIGNMENT, "partial").manual_comment = "See me."
        real.db.commit()
    autograde._merge(real_url, scratch_url, "messaging-eda", ASSIGNMENT, "partial", scores=True)
    with Gradebook(real_url, "messaging-eda") as real:
        grade = real.find_grade("sys-consumers-hidden", NOTEBOOK, ASSIGNMENT, "partial")
        assert (grade.auto_score, grade.manual_score, grade.extra_credit) == (2.0, 0.5, 0.25)
        comment = real.find_comment("arch-consumers", NOTEBOOK, ASSIGNMENT, "partial")
        assert (comment.auto_comment, comment.manual_comment) == ("No response.", "See me.")
    autograde._merge(real_url, scratch_url, "messaging-eda", ASSIGNMENT, "blank", scores=False)
    assert auto_scores(course, "blank") == EXPECTED["blank"]  # a failed run leaves the scores alone


# ---------------------------------------------------------------------------
# A submission that overruns or kills its grader
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_overrun_and_a_signal_to_the_grader_cost_one_student_at_most(tmp_path: Path) -> None:
    """One worker: a sleeper overruns the time limit, a notebook signals the process grading it.

    Plain nbgrader would wait out the sleeper cell by cell and lose the whole batch to the
    second. Here the sleeper costs its own student and a fresh worker takes over; in the
    sandbox the grader is not even in the assassin's pid namespace, so it is graded as usual.
    """
    answers = {
        "sleeper": "import time\ntime.sleep(3600)",
        "assassin": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)",
        "full": "source",
    }
    course = new_course(tmp_path, answers)
    batch = grade_class(ASSIGNMENT, course, students=list(answers), workers=1, timeout=30, progress=None,
                        workdir=tmp_path, sandbox=require_sandbox())
    by_student = {r.student: r for r in batch.results}
    assert "timed out after 30.0 s" in by_student["sleeper"].reason
    assert by_student["assassin"].graded, by_student["assassin"].reason
    assert by_student["full"].graded
    assert auto_scores(course, "full") == EXPECTED["full"]
    assert processes_under(tmp_path) == [], "kernels left running after the batch"


def test_without_a_sandbox_a_killed_grader_still_costs_one_student(tmp_path: Path) -> None:
    """Unconfined (``--sandbox off``), a kernel can kill its worker: that student fails, with a
    defined score on every test cell, and the next student is graded by a fresh worker."""
    answers = {"assassin": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)", "full": "source"}
    course = new_course(tmp_path, answers)
    batch = grade_class(ASSIGNMENT, course, students=list(answers), workers=1, progress=None,
                        workdir=tmp_path, sandbox="off")
    by_student = {r.student: r for r in batch.results}
    assert "grading process died" in by_student["assassin"].reason
    assert "WITHOUT a sandbox" in batch.summary()
    assert all(score == 0 for score in auto_scores(course, "assassin").values())
    assert auto_scores(course, "full") == EXPECTED["full"]
    assert processes_under(tmp_path) == []


@pytest.mark.slow
def test_cold_and_warm_kernels_grade_alike_except_a_shadowed_launcher(tmp_path: Path) -> None:
    """A file named ``ipykernel_launcher.py`` beside the notebook replaces a cold kernel
    (``python -m`` runs it from the folder): every test cell fails closed, saying so. A warm
    kernel was forked from one that imported ipykernel first, so the file never runs."""
    answers = {"full": "source", "shadowed": "source"}
    course = new_course(tmp_path, answers)
    (course / "submitted" / "shadowed" / ASSIGNMENT / "ipykernel_launcher.py").write_text("import os\nos._exit(3)\n")
    sandbox = require_sandbox()
    cold = {r.student: r for r in grade_class(ASSIGNMENT, course, workers=1, progress=None, workdir=tmp_path,
                                              sandbox=sandbox, kernels="cold").results}
    assert auto_scores(course, "full") == EXPECTED["full"]
    assert all(score == 0 for score in auto_scores(course, "shadowed").values())
    verdicts = cold["shadowed"].verification
    assert verdicts and all("could not start in the submission's folder" in v.reason for v in verdicts)
    warm = {r.student: r for r in grade_class(ASSIGNMENT, course, workers=1, progress=None, workdir=tmp_path,
                                              sandbox=sandbox, kernels="warm").results}
    assert warm["full"].graded and warm["shadowed"].graded
    assert auto_scores(course, "full") == auto_scores(course, "shadowed") == EXPECTED["full"]
    assert processes_under(tmp_path) == []


# ---------------------------------------------------------------------------
# Command line and benchmark
# ---------------------------------------------------------------------------


def test_command_line_rejects_zero_workers(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        cli.main(["autograde", ASSIGNMENT, "--workers", "0"])
    assert stop.value.code == 2
    assert "--workers must be at least 1" in capsys.readouterr().err


@pytest.mark.slow
def test_command_line_says_when_the_assignment_was_never_generated(tmp_path: Path) -> None:
    """Run as `make autograde` runs it: a message and exit status 1, no traceback."""
    course = admin.make_course(tmp_path / "course", [ASSIGNMENT], source_root=FIXTURE_COURSE)
    proc = subprocess.run(
        [sys.executable, "-m", "messagelab.instructor", "--root", str(course), "autograde", ASSIGNMENT],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 1
    assert "run `nbgrader generate_assignment demo` first" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_benchmark_reports_both_rates(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench_autograde", ROOT / "benchmarks" / "bench_autograde.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "nested" / "autograde.json"
    bench.main(n=2, assignment="demo", workers=2, out=out, quiet=True)
    result = json.loads(out.read_text())
    assert result["submissions"] == 2 and result["answered"] + result["blank"] == 2
    assert result["serial"]["per_minute"] > 0
    assert result["parallel"]["per_minute"] > 0
    assert result["speedup"] > 0
    assert result["scores_match"] is True
    assert result["parallel"]["failed"] == {}
