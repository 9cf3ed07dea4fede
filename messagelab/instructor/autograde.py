"""Autograde a class on every core, with progress, without corrupting the gradebook.

nbgrader grades one submission after another (jupyter/nbgrader#174), shows no progress
(#1456), and its SQLite gradebook takes one writer at a time. This module keeps nbgrader's
grading exactly as it is and changes only how a class is scheduled::

    submitted/<student>/<id>/ ──► scratch course of its own ──► worker: nbgrader autograde
                                   (config, source files,         <id> --student <student>
                                    submission, gradebook copy)            │
    gradebook.db  ◄── parent merges, one student at a time ◄───────────────┘
    autograded/<student>/<id>/  ◄── parent copies the graded notebooks

* **Scratch courses.** Each submission is graded by nbgrader's own ``autograde`` in a
  folder of its own holding the course's ``nbgrader_config.py``, the assignment's source
  files, that one submission and a snapshot of the gradebook (hidden tests, checksums and
  the grades entered so far). Workers never open the real gradebook, so SQLite's single
  writer is never contended and a dying kernel cannot leave the real course half-written.
* **Workers** (one per core by default) import nbgrader once and grade submission after
  submission in-process, as nbgrader's own test suite runs it: a class pays nbgrader's
  start-up (~2 s) once per core, not once per student. A worker that dies or overruns the
  per-student time limit is killed with its kernel and replaced; only that student fails.
* **One writer.** The parent alone writes the real gradebook, serially, through nbgrader's
  ``Gradebook`` API, and only the fields autograding owns: the submission (created if new)
  and its timestamp, each cell's ``auto_score`` and ``needs_manual_grade``, automatic
  comments and late penalties. Manual scores, extra credit and graders' comments are never
  written, so regrading a student keeps what an instructor entered in the formgrader.
* **Failures cost one student.** When nbgrader fails on a submission (a kernel killed by
  ``os._exit``, a notebook that is not JSON, a run past the time limit), that student's
  scores are left as they were, the submission is recorded (as nbgrader records it), the
  stale ``autograded/`` copy is removed (as ``nbgrader autograde --force`` removes it), and
  the reason goes into the summary. The batch always completes.
* **Re-verification, in the workers.** The worker runs nbgrader with its Execute step
  replaced by :class:`messagelab.instructor.reverify.execute.VerifiedExecute`: one execution
  of the submission, in which the student's kernel only hands over its answers and a clean
  process judges every test cell (``messagelab.instructor.reverify``). The parent then makes
  sure each test cell has a defined score no higher than the clean verdict, including the
  cells of a submission nbgrader could not grade.

From the course root::

    python -m messagelab.instructor autograde ex01-message-queues [--workers N] [--student S ...]

prints one line per student as it finishes, e.g. ``[12/40] graded alice (3.1 s), 1 failed,
about 1m20s left``, then a summary: how many were graded, which failed and why, the total
time and submissions per minute. The exit status is 0 when every submission was graded
(and re-verified), 1 when any failed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import queue
import re
import select
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from messagelab.course.root import CONFIG_NAME, course_root
from messagelab.instructor.kernels import KERNEL_MODES
from messagelab.instructor.nbgrader import NbgraderError, course_directory, interpreter_path, shown_url, sqlite_file
from messagelab.instructor.reverify.verdict import Verdict
from messagelab.instructor.safecopy import copy_tree
from messagelab.instructor.sandbox import Sandbox, SandboxUnavailable, find_sandbox, kill_tree, to_dict

#: Seconds one student's grading may take before it is stopped and reported: the whole
#: submission, every notebook, kernel and checks. nbgrader's own per-cell limit
#: (``c.Execute.timeout``) ends one looping cell; this ends a notebook that waits just under
#: it in cell after cell, and a kernel that ignores interrupts. Exercise 01 grades in about
#: 3 s, so an honest notebook is far from it.
DEFAULT_TIMEOUT_S = 600.0

#: Seconds a worker may take to import nbgrader and report ready.
STARTUP_TIMEOUT_S = 120.0

#: What the scratch course's config adds: nbgrader's Execute step judged outside the kernel.
_VERIFIED_CONFIG = """

# Added by messagelab.instructor.autograde for this scratch course: test cells are judged
# outside the student's kernel (messagelab.instructor.reverify.execute).
from messagelab.instructor.reverify.execute import VerifiedExecute as _VerifiedExecute
from nbgrader.converters import Autograde as _Autograde
from nbgrader.preprocessors import Execute as _Execute

_steps = (c.Autograde.autograde_preprocessors if "autograde_preprocessors" in c.Autograde
          else _Autograde.class_traits()["autograde_preprocessors"].default())
c.Autograde.autograde_preprocessors = [_VerifiedExecute if step is _Execute else step for step in _steps]
"""

_WORKER_CODE = "from messagelab.instructor.autograde import serve_worker; serve_worker()"


class AutogradeError(NbgraderError):
    """The class cannot be graded at all (no gradebook, unknown assignment, no sandbox when one is required, …)."""


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


@dataclass
class StudentResult:
    """How one student's submission fared."""

    student: str
    graded: bool
    seconds: float  # time in the worker (grading only; merging is not counted)
    reason: str | None = None  # why it failed, for the summary
    verification: list[Verdict] | None = None  # the clean verdict on each test cell
    log: Path | None = None  # nbgrader's log for a failed submission
    skipped: list[str] = field(default_factory=list)  # files of the submission not copied, and why


@dataclass
class BatchResult:
    """A whole class: one result per student, in the order they finished."""

    assignment: str
    workers: int
    seconds: float
    results: list[StudentResult] = field(default_factory=list)
    logs: Path | None = None  # folder keeping the logs of failed submissions
    #: Where students' code ran: the sandbox, or why there was none.
    sandbox: str = ""
    sandboxed: bool = False

    @property
    def graded(self) -> list[StudentResult]:
        return [r for r in self.results if r.graded]

    @property
    def failed(self) -> list[StudentResult]:
        return [r for r in self.results if not r.graded]

    @property
    def per_minute(self) -> float:
        """Submissions processed per minute of wall-clock time, failures included."""
        return 60.0 * len(self.results) / self.seconds if self.seconds > 0 else 0.0

    @property
    def exit_code(self) -> int:
        """0 when every submission was graded, 1 when any failed."""
        return 0 if self.results and not self.failed else 1

    def summary(self) -> str:
        lines = [
            f"{self.assignment}: {len(self.graded)} of {len(self.results)} submissions graded, "
            f"{len(self.failed)} failed, in {_duration(self.seconds)} with {_count(self.workers, 'worker')} "
            f"({self.per_minute:.1f} submissions per minute)"
        ]
        lines.append(f"students' code ran in: {self.sandbox}" if self.sandboxed
                     else f"WARNING: students' code ran WITHOUT a sandbox ({self.sandbox})")
        if self.failed:
            width = max(len(r.student) for r in self.failed)
            lines.append("failed:")
            lines += [f"  {r.student:<{width}}  {r.reason}" for r in self.failed]
        skipped = [r for r in self.results if r.skipped]
        if skipped:
            lines.append("files not copied from submissions (links and special files are never followed):")
            lines += [f"  {r.student}: {', '.join(r.skipped)}" for r in skipped]
        if self.logs is not None:
            lines.append(f"nbgrader's logs of the failed submissions: {self.logs}")
        return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s"


# ---------------------------------------------------------------------------
# The course, as nbgrader sees it
# ---------------------------------------------------------------------------


def submitted_students(coursedir: Any, assignment: str) -> list[str]:
    """Students with a folder ``submitted/<student>/<assignment>/``, sorted (as nbgrader finds them)."""
    import glob

    pattern = re.compile(
        coursedir.format_path(coursedir.submitted_directory, "(?P<student>[^/]+)", assignment, escape=True)
    )
    found = []
    for path in glob.glob(coursedir.format_path(coursedir.submitted_directory, "*", assignment)):
        match = pattern.fullmatch(path)
        if match and os.path.isdir(path):
            found.append(match["student"])
    return sorted(found)


# ---------------------------------------------------------------------------
# The worker process
# ---------------------------------------------------------------------------


def serve_worker() -> None:
    """Grade jobs read from stdin, one JSON line each, and answer each on stdout.

    A job is ``{"course", "assignment", "student", "log", "source", "sandbox"}``: nbgrader's
    ``autograde`` runs in-process with ``course`` as its course root and working folder,
    re-verifying against the instructor's notebooks in ``source``, and everything it (or the
    kernel it starts) writes goes to ``log``. The answer is ``{"returncode", "verdicts",
    "stopped", "error"}``: nbgrader's exit status, the clean verdicts per notebook, why a
    kernel stopped early, and why re-verification could not run (None when it ran).
    """
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray prints must not garble the answers
    import nbgrader.apps.nbgraderapp  # noqa: F401  (the slow imports, done before saying ready)

    import messagelab.instructor.reverify.execute  # noqa: F401

    answers.write(json.dumps({"ready": True}) + "\n")
    from messagelab.instructor.kernels import close_zygotes
    from messagelab.instructor.reverify.execute import close_servers

    try:
        for line in sys.stdin:
            answers.write(json.dumps(_grade_job(json.loads(line))) + "\n")
    finally:
        close_servers()
        close_zygotes()


def _grade_job(job: dict[str, str]) -> dict[str, Any]:
    """One submission through nbgrader with re-verification, in this worker."""
    from messagelab.instructor.reverify import execute
    from messagelab.instructor.reverify.settings import settings
    from messagelab.instructor.sandbox import from_dict

    try:
        plans = _plans(Path(job["source"]))
        verifying = execute.start_job(execute.Job(plans, settings(Path(job["course"])),
                                                  sandbox=from_dict(job.get("sandbox")),
                                                  kernel_home=job.get("kernels")))
    except Exception as error:  # the instructor's notebooks cannot be planned: grade nothing
        return {"returncode": None, "verdicts": {}, "stopped": {}, "error": f"{type(error).__name__}: {error}"}
    try:
        code = _autograde_in_process(job["course"], job["assignment"], job["student"], job["log"])
    finally:
        execute.end_job()
    return {
        "returncode": code,
        "verdicts": {name: [dataclasses.asdict(v) for v in vs] for name, vs in verifying.verdicts.items()},
        "stopped": verifying.stopped,
        "error": verifying.error,
    }


_PLAN_CACHE: dict[tuple[str, int], Any] = {}


def _plans(source: Path) -> dict[str, Any]:
    """The re-verification plan of each instructor notebook in ``source``, by notebook name."""
    from messagelab.instructor.reverify.plan import plan

    plans = {}
    for path in sorted(source.glob("*.ipynb")):
        key = (str(path), path.stat().st_mtime_ns)
        if key not in _PLAN_CACHE:
            _PLAN_CACHE[key] = plan(path)
        plans[path.stem] = _PLAN_CACHE[key]
    if not plans:
        raise AutogradeError(f"no instructor notebook in {source} to re-verify against")
    return plans


def _autograde_in_process(course: str, assignment: str, student: str, log: str) -> int:
    """``nbgrader autograde ASSIGNMENT --student STUDENT --force`` in ``course``; its exit status."""
    from jupyter_core.application import NoStart
    from nbgrader.apps.nbgraderapp import NbGraderApp

    saved_fds = os.dup(1), os.dup(2)
    saved_cwd, saved_path = os.getcwd(), list(sys.path)
    with open(log, "w") as log_file:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(log_file.fileno(), 1)
        os.dup2(log_file.fileno(), 2)  # nbgrader's log and the kernel's stderr
        os.chdir(course)
        app = NbGraderApp.instance()
        try:
            app.initialize(
                [
                    "autograde",
                    assignment,
                    f"--student={student}",
                    "--force",
                    # Whatever the course's config says, this scratch course is the root.
                    f"--CourseDirectory.root={course}",
                    f"--CourseDirectory.db_url=sqlite:///{Path(course) / 'gradebook.db'}",
                ]
            )
            app.start()
            code = 0
        except NoStart:  # how jupyter's apps end once their subcommand is done
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        except Exception:
            traceback.print_exc()
            code = 1
        finally:
            app.reset()
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_fds[0], 1)
            os.dup2(saved_fds[1], 2)
            for fd in saved_fds:
                os.close(fd)
            os.chdir(saved_cwd)
            sys.path[:] = saved_path  # nbgrader puts its working folder first on every run
    return code


class _Worker:
    """The parent's handle on one worker process; starts it again after it dies or overruns."""

    def __init__(self, log: Path, env: dict[str, str]) -> None:
        self.log = log
        self.env = env
        self.proc: subprocess.Popen[str] | None = None

    def _start(self) -> None:
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _WORKER_CODE],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=self.env,
                cwd=self.log.parent,
                start_new_session=True,  # an interrupt in the terminal reaches the parent only
            )
        if self._answer(STARTUP_TIMEOUT_S) is None:
            self.kill()
            tail = "\n".join(self.log.read_text(errors="replace").strip().splitlines()[-5:])
            raise RuntimeError(f"the grading process did not start: {tail or 'no output'}")

    def _answer(self, timeout: float) -> dict[str, Any] | None:
        """The worker's next answer, or None when it overran ``timeout`` or died."""
        assert self.proc is not None and self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        return json.loads(line) if line else None

    def grade(self, job: dict[str, str], timeout: float) -> tuple[dict[str, Any] | None, str | None, float]:
        """Run one job: the worker's answer (or None and why there is none) and its seconds.

        The time counts from handing the job over, so a worker's start-up is not charged to
        the student it starts for.
        """
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        assert self.proc is not None and self.proc.stdin is not None
        started = time.monotonic()
        try:
            self.proc.stdin.write(json.dumps(job) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # it died; reading the answer says so
        answer = self._answer(timeout)
        seconds = time.monotonic() - started
        if answer is not None:
            return answer, None, seconds
        if seconds < timeout:
            # Its output closed before the time limit: it died. The exit status can lag the
            # closed pipe by a moment, so wait for it rather than poll.
            try:
                died: int | str | None = self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                died = "unknown"
        else:
            died = self.proc.poll()
        self.kill()
        if died is None:
            return None, f"timed out after {_duration(timeout)}; stopped with its kernel", seconds
        return None, f"the grading process died (exit status {died})", seconds

    def kill(self) -> None:
        """Kill the worker, its kernel and anything the student's code started."""
        proc, self.proc = self.proc, None
        if proc is not None:
            kill_tree(proc)

    def close(self) -> None:
        """Let the worker finish its loop and exit; kill it if it does not."""
        proc = self.proc
        if proc is None:
            return
        try:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(timeout=10)
            self.proc = None
            assert proc.stdout is not None
            proc.stdout.close()
        except (OSError, subprocess.TimeoutExpired):
            self.kill()


# ---------------------------------------------------------------------------
# The gradebook: snapshot, merge
# ---------------------------------------------------------------------------


def _snapshot(db_url: str, dest: Path) -> None:
    """A consistent SQLite copy of the live gradebook at ``db_url`` (graders may be writing to it).

    A SQLite gradebook is copied with SQLite's online backup. A server database
    (PostgreSQL) is read table by table inside one repeatable-read transaction, so the copy
    is one moment's gradebook even while another grader or another ``make autograde`` writes.
    """
    path = sqlite_file(db_url)
    if path is not None:
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            copy = sqlite3.connect(dest)
            try:
                source.backup(copy)
            finally:
                copy.close()
        finally:
            source.close()
        return
    import sqlalchemy
    from nbgrader.api import Base

    reader = sqlalchemy.create_engine(db_url, isolation_level="REPEATABLE READ")
    writer = sqlalchemy.create_engine(f"sqlite:///{dest}")
    try:
        Base.metadata.create_all(writer)
        tables = [*Base.metadata.sorted_tables, sqlalchemy.Table(
            "alembic_version", sqlalchemy.MetaData(), sqlalchemy.Column("version_num", sqlalchemy.String(32)))]
        with reader.connect() as read, writer.begin() as write:
            for table in tables:
                table.create(write, checkfirst=True)
                rows = [dict(row._mapping) for row in read.execute(sqlalchemy.select(table))]
                if rows:
                    write.execute(table.insert(), rows)
    finally:
        reader.dispose()
        writer.dispose()


@contextmanager
def _quiet_gradebook() -> Iterator[None]:
    """Hide the SAWarning nbgrader's ``add_submission`` always triggers (it is harmless)."""
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        yield


def _merge(real_url: str, scratch_url: str, course_id: str, assignment: str, student: str, *, scores: bool) -> None:
    """Copy what autograding wrote for one student from the scratch gradebook to the real one.

    The student and the submission (with its timestamp) are always recorded, as nbgrader
    records them before grading. With ``scores``, so are the fields autograding owns: each
    cell's ``auto_score`` and ``needs_manual_grade``, automatic comments and late penalties.
    ``manual_score``, ``extra_credit`` and ``manual_comment`` are never written, so what
    graders entered survives a regrade.
    """
    from nbgrader.api import Gradebook, MissingEntry

    with _quiet_gradebook(), Gradebook(scratch_url, course_id) as scratch:
        try:
            graded = scratch.find_submission(assignment, student)
        except MissingEntry:
            return  # nbgrader failed before it recorded the submission
        with Gradebook(real_url, course_id) as real:
            real.update_or_create_student(student)
            if graded.timestamp is not None:
                real.update_or_create_submission(assignment, student, timestamp=graded.timestamp)
            else:
                real.update_or_create_submission(assignment, student)
            if not scores:
                return
            for notebook in graded.notebooks:
                target = real.find_submission_notebook(notebook.name, assignment, student)
                target.late_submission_penalty = notebook.late_submission_penalty
                for grade in notebook.grades:
                    into = real.find_grade(grade.name, notebook.name, assignment, student)
                    into.auto_score = grade.auto_score
                    into.needs_manual_grade = grade.needs_manual_grade
                for comment in notebook.comments:
                    into = real.find_comment(comment.name, notebook.name, assignment, student)
                    into.auto_comment = comment.auto_comment
            real.db.commit()


def _failure_reason(log: Path) -> str:
    """One line saying why nbgrader failed, from its log."""
    text = log.read_text(errors="replace") if log.is_file() else ""
    if "DeadKernelError" in text or "Kernel died" in text:
        return "the kernel died while running the notebook (it exited or crashed)"
    if "UnresponsiveKernelError" in text or "kernel became unresponsive" in text:
        return "the kernel stopped responding and could not be interrupted"
    if "NotJSONError" in text or "does not appear to be JSON" in text:
        return "the submitted notebook is not valid JSON"
    errors = re.findall(r"^((?:\w+\.)*\w*(?:Error|Exception)\w*): (.+)$", text, re.MULTILINE)
    if errors:
        name, message = errors[-1]
        return f"{name.rsplit('.', 1)[-1]}: {message.strip()[:200]}"
    logged = re.findall(r"\| ERROR\] (.+)$", text, re.MULTILINE)
    return logged[0][:200] if logged else "nbgrader failed (see its log)"


# ---------------------------------------------------------------------------
# Grading a class
# ---------------------------------------------------------------------------


def _verdicts_of(plan: Any, returned: Any) -> list[Verdict] | None:
    """The worker's verdicts on ``plan``'s test cells, or None unless there is one for each.

    The worker is trusted, but its answer is read as data: anything malformed or missing
    counts as no verdict, so the notebook fails closed.
    """
    if not isinstance(returned, list):
        return None
    by_cell: dict[str, Verdict] = {}
    for item in returned:
        try:
            verdict = Verdict(**item)
        except TypeError:
            return None
        if verdict.notebook != plan.notebook or verdict.passed not in (True, False, None):
            return None
        by_cell[verdict.grade_id] = verdict
    if set(by_cell) != {test.grade_id for test in plan.tests}:
        return None
    return [by_cell[test.grade_id] for test in plan.tests]


@dataclass(frozen=True)
class _Job:
    """One student's scratch course, ready to grade."""

    student: str
    course: Path
    log: Path
    skipped: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Done:
    """What a worker thread hands the parent: nbgrader's exit status, or why there is none."""

    student: str
    job: _Job | None
    answer: dict[str, Any] | None  # the worker's answer (nbgrader's exit status, the verdicts)
    why: str | None
    seconds: float


class _Batch:
    """One run over a class: scratch courses, worker threads, and the parent's merges."""

    def __init__(
        self, assignment: str, root: Path, coursedir: Any, scratch: Path, logs: Path, *, timeout: float,
        sandboxes: list[Sandbox | None], warm: bool = True,
    ) -> None:
        self.assignment = assignment
        self.sandboxes = sandboxes
        self.warm = warm
        self.timeout = timeout
        self.root = root
        self.coursedir = coursedir
        self.scratch = scratch
        self.snapshot = scratch / "gradebook.db"
        self.logs = logs
        self.source = Path(coursedir.format_path(coursedir.source_directory, ".", assignment)).resolve()
        self.plans = _plans(self.source)  # fails the batch before grading when they cannot be read

    def _scratch_coursedir(self, course: Path) -> Any:
        from nbgrader.coursedir import CourseDirectory

        place = CourseDirectory(config=self.coursedir.config)
        place.root = str(course)
        return place

    def _shown(self, path: Path) -> str:
        return str(path.relative_to(self.root)) if path.is_relative_to(self.root) else str(path)

    def prepare(self, student: str) -> _Job | str:
        """Build the student's scratch course, or say why there is nothing to grade."""
        coursedir, assignment = self.coursedir, self.assignment
        submitted = Path(coursedir.format_path(coursedir.submitted_directory, student, assignment))
        if not submitted.is_dir():
            return f"no submission in {self._shown(submitted)}/"
        if not any(submitted.glob("*.ipynb")):
            return f"no notebook in {self._shown(submitted)}/"
        course = self.scratch / "courses" / student
        course.mkdir(parents=True)
        place = self._scratch_coursedir(course)
        config = (self.root / CONFIG_NAME).read_text() if (self.root / CONFIG_NAME).is_file() else ""
        (course / CONFIG_NAME).write_text(config + _VERIFIED_CONFIG)
        source = self.source
        if source.is_dir():
            # Data files the notebooks read; the notebooks themselves are in the gradebook.
            ignored = shutil.ignore_patterns("*.ipynb", *coursedir.ignore)
            shutil.copytree(source, place.format_path(place.source_directory, ".", assignment), ignore=ignored)
        # The student's files: never through a link, never a FIFO or a device.
        skipped = copy_tree(submitted, place.format_path(place.submitted_directory, student, assignment))
        shutil.copyfile(self.snapshot, course / "gradebook.db")
        return _Job(student, course, self.logs / f"{student}.log", tuple(skipped))

    def drain(self, worker: _Worker, slot: int, todo: queue.Queue[str], done: queue.Queue[_Done],
              stop: threading.Event) -> None:
        """A worker thread: take students until none is left, hand each result to the parent."""
        try:
            while not stop.is_set():
                try:
                    student = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    job = self.prepare(student)
                    if isinstance(job, str):
                        done.put(_Done(student, None, None, job, 0.0))
                        continue
                    sandbox = self.sandboxes[slot]
                    payload = {"course": str(job.course), "assignment": self.assignment, "student": student,
                               "source": str(self.source), "sandbox": to_dict(sandbox),
                               "kernels": str(self.scratch / f"kernels-{slot}") if sandbox and self.warm else None}
                    answer, why, seconds = worker.grade({**payload, "log": str(job.log)}, self.timeout)
                except Exception as error:  # a worker that cannot start, a full disk: this student only
                    done.put(_Done(student, None, None, f"{type(error).__name__}: {error}", 0.0))
                    continue
                done.put(_Done(student, job, answer, why, seconds))
        finally:
            worker.close()

    def finish(self, done: _Done) -> StudentResult:
        """Merge one student into the real course: in the parent, one student at a time.

        Fails closed. nbgrader's scores (the clean verdicts, written by the workers' Execute
        step) are merged; then every test cell gets a defined score no higher than its
        verdict, with a verdict of "failed, and why" for each notebook the worker could not
        run or verify. If writing those verdicts fails, every test cell of the student is set
        to 0 with the reason; the in-kernel score is never what remains.
        """
        answer = done.answer if isinstance(done.answer, dict) else {}
        error = answer.get("error") if isinstance(answer.get("error"), str) else None
        result = StudentResult(done.student, answer.get("returncode") == 0 and not error, done.seconds,
                               done.why or error)
        job = done.job
        if job is None:
            return result
        result.skipped = list(job.skipped)
        coursedir, assignment, student = self.coursedir, self.assignment, done.student
        place = self._scratch_coursedir(job.course)
        target = Path(coursedir.format_path(coursedir.autograded_directory, student, assignment))
        graded_notebooks = Path(place.format_path(place.autograded_directory, student, assignment))
        scored = answer.get("returncode") is not None and graded_notebooks.is_dir()
        why = done.why or error or None
        try:
            scratch_url = f"sqlite:///{job.course / 'gradebook.db'}"
            _merge(coursedir.db_url, scratch_url, coursedir.course_id, assignment, student, scores=scored)
            if target.exists():
                shutil.rmtree(target)  # as `nbgrader autograde --force` does, graded or not
            if scored:
                # The kernel wrote into this folder: links and special files stay behind.
                result.skipped += copy_tree(graded_notebooks, target)
            result.verification = self._record(student, answer, job, why)
        except Exception as failure:  # noqa: BLE001 - fail closed: zero, and say why
            result.graded = False
            result.reason = f"could not record the verdicts ({type(failure).__name__}: {failure}); "
            try:
                self._zero(student, result.reason)
                result.reason += "every test cell was set to 0"
            except Exception as again:  # noqa: BLE001 - the gradebook itself is unwritable
                result.reason += f"the gradebook could not be written either ({type(again).__name__}: {again})"
        finally:
            shutil.rmtree(job.course, ignore_errors=True)
        stopped = answer.get("stopped") if isinstance(answer.get("stopped"), dict) else {}
        stopped_text = "; ".join(f"{name}: {why}" for name, why in stopped.items())
        if stopped_text and result.graded:
            result.graded = False  # scored up to where it stopped; the instructor should look
            result.reason = f"scored up to where the kernel stopped ({stopped_text})"
        if not result.graded:
            result.reason = result.reason or _failure_reason(job.log)
            result.log = job.log if job.log.is_file() else None
        else:
            job.log.unlink(missing_ok=True)
        return result

    def _record(self, student: str, answer: dict[str, Any], job: _Job, why: str | None) -> list[Verdict]:
        """Each test cell's verdict into the real gradebook (at most the clean score; none left empty).

        A notebook the worker returned no verdicts for (nbgrader could not read or run it,
        the worker died or overran, re-verification could not run) fails every test, with
        ``why`` or the reason in nbgrader's log.
        """
        from messagelab.instructor.reverify.record import record
        from messagelab.instructor.reverify.submission import unread_verdicts

        returned = answer.get("verdicts") if isinstance(answer.get("verdicts"), dict) else {}
        submitted = Path(self.coursedir.format_path(self.coursedir.submitted_directory, student, self.assignment))
        verdicts: list[Verdict] = []
        for name, plan in self.plans.items():
            mine = _verdicts_of(plan, returned.get(name))
            if mine is not None:
                verdicts += mine
            else:
                verdicts += unread_verdicts(plan, submitted / f"{name}.ipynb", why or _failure_reason(job.log))
        return record(self.root, self.assignment, student, verdicts, self.plans, self.coursedir.db_url)

    def _zero(self, student: str, reason: str) -> None:
        """Every test cell of ``student``'s submission at 0, with ``reason`` (the last resort)."""
        from messagelab.instructor.reverify.record import record
        from messagelab.instructor.reverify.submission import failed_verdicts

        verdicts = [v for plan in self.plans.values() for v in failed_verdicts(plan, reason)]
        record(self.root, self.assignment, student, verdicts, self.plans, self.coursedir.db_url)

    def run(self, students: list[str], workers: int, say: Callable[[str], None], sandbox: str) -> BatchResult:
        started = time.monotonic()
        batch = BatchResult(self.assignment, workers, 0.0, sandbox=sandbox,
                            sandboxed=all(box is not None for box in self.sandboxes))
        self.logs.mkdir(parents=True, exist_ok=True)
        _snapshot(self.coursedir.db_url, self.snapshot)
        todo: queue.Queue[str] = queue.Queue()
        for student in students:
            todo.put(student)
        done: queue.Queue[_Done] = queue.Queue()
        stop = threading.Event()
        env = dict(os.environ, PATH=interpreter_path())
        env.pop("NBGRADER_EXECUTION", None)  # a value left by an enclosing run would change the notebooks
        # Workers run this very package, wherever it was imported from.
        package_parent = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
        pool = [_Worker(self.scratch / f"worker-{index}.log", env) for index in range(workers)]
        threads = [threading.Thread(target=self.drain, args=(w, slot, todo, done, stop), daemon=True)
                   for slot, w in enumerate(pool)]

        say(f"Autograding {_count(len(students), 'submission')} of {self.assignment} with {_count(workers, 'worker')}")
        if batch.sandboxed:
            say(f"Students' code runs in {sandbox}")
        else:
            say(_NO_SANDBOX_WARNING.format(why=sandbox))
        for thread in threads:
            thread.start()
        try:
            for _ in students:
                result = self.finish(done.get())
                batch.results.append(result)
                batch.seconds = time.monotonic() - started
                say(_progress_line(batch, len(students), result))
        except BaseException:  # an interrupt: stop the workers and their kernels before leaving
            stop.set()
            for worker in pool:
                worker.kill()
            raise
        finally:
            for thread in threads:
                thread.join(timeout=30)
            batch.seconds = time.monotonic() - started
        if any(result.log for result in batch.failed):
            batch.logs = self.logs
        return batch


_NO_SANDBOX_WARNING = """\
WARNING: NO SANDBOX: {why}.
  Students' code runs as this user, with this user's files, processes and network: a
  notebook can read the solutions and the gradebook, or stop this batch. Scores still come
  from the clean checks. To grade in a sandbox, install bubblewrap (apt-get install
  bubblewrap); `--sandbox require` refuses to grade without one."""


def _progress_line(batch: BatchResult, total: int, result: StudentResult) -> str:
    """``[12/40] graded alice (3.1 s), 1 failed, about 1m20s left``: one line, plain text."""
    count = len(batch.results)
    verb = "graded" if result.graded else "FAILED"
    line = f"[{count}/{total}] {verb} {result.student} ({result.seconds:.1f} s)"
    if not result.graded:
        line += f": {result.reason}"
    line += f", {len(batch.failed)} failed"
    if count < total:
        line += f", about {_duration(batch.seconds / count * (total - count))} left"
    return line


def _print_progress(line: str) -> None:
    print(line, flush=True)  # flushed line by line, so `make autograde ... | tee log` shows it live


#: Under the course root: scratch courses while grading (removed after), and the logs of
#: submissions that failed (kept, one folder per assignment, replaced by the next run).
SCRATCH_DIR = ".autograde"
LOGS_DIR = Path("logs") / "autograde"


def grade_class(
    assignment: str,
    root: Path | None = None,
    *,
    students: Iterable[str] | None = None,
    workers: int | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    progress: Callable[[str], None] | None = _print_progress,
    workdir: Path | None = None,
    sandbox: str = "auto",
    kernels: str = "warm",
) -> BatchResult:
    """Autograde ``submitted/*/<assignment>/`` (or the ``students`` given) on ``workers`` processes.

    ``workers`` defaults to ``os.cpu_count()``; ``timeout`` is the seconds one student may
    take; ``progress`` receives one line per student (default: printed on stdout, flushed);
    ``workdir`` holds the scratch courses (default: ``.autograde/`` in the course);
    ``sandbox`` is ``auto`` (each kernel and check process in a bubblewrap sandbox when one
    runs here, else a loud warning), ``require`` (no grading without one) or ``off``;
    ``kernels`` is ``warm`` (in a sandbox, each worker forks its kernels from one that has
    imported ipykernel and the notebooks' imports: :mod:`messagelab.instructor.kernels`) or
    ``cold`` (a new Python per kernel, as nbgrader starts them). Every
    student is graded afresh, as with ``nbgrader autograde --force``, and re-verified in the
    same run. The real gradebook and ``autograded/`` receive the grades; the logs of failed
    submissions go to ``logs/autograde/<assignment>/`` in the course; the result says who
    was graded and why the others failed.

    Raises :class:`AutogradeError` when nothing can be graded (no gradebook, an assignment
    never generated, no submissions, instructor notebooks that cannot be read); a failing
    submission never raises.
    """
    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy.exc import SQLAlchemyError

    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    if kernels not in KERNEL_MODES:
        raise ValueError(f"kernels must be one of {', '.join(KERNEL_MODES)}, not {kernels!r}")
    root = (course_root() if root is None else Path(root)).resolve()
    coursedir = course_directory(root)
    real_db = sqlite_file(coursedir.db_url)
    generate = f"run `nbgrader generate_assignment {assignment}` first"
    if real_db is not None and not real_db.is_file():
        raise AutogradeError(f"no gradebook at {real_db}: {generate}")
    try:
        with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
            try:
                gradebook.find_assignment(assignment)
            except MissingEntry:
                raise AutogradeError(f"{assignment} is not in the gradebook: {generate}") from None
    except SQLAlchemyError as error:  # a server gradebook that is down, or refuses this grader
        raise AutogradeError(f"cannot open the gradebook {shown_url(coursedir.db_url)}: {error}") from None
    wanted = list(dict.fromkeys(students)) if students is not None else submitted_students(coursedir, assignment)
    if not wanted:
        pattern = coursedir.format_path(coursedir.submitted_directory, "*", assignment)
        raise AutogradeError(f"no submissions of {assignment} in {pattern}")
    workers = min(workers or os.cpu_count() or 1, len(wanted))
    try:
        found = [find_sandbox(sandbox, slot=slot) for slot in range(workers)]
    except (SandboxUnavailable, ValueError) as error:
        raise AutogradeError(f"no sandbox for students' code: {error}") from None
    sandboxes = [box for box, _ in found]
    described = found[0][1]

    base = Path(workdir) if workdir is not None else root / SCRATCH_DIR
    base.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"{assignment}-", dir=base))
    logs = root / LOGS_DIR / assignment
    for student in wanted:  # only this run's students: another run may be grading others right now
        (logs / f"{student}.log").unlink(missing_ok=True)
    try:
        try:
            grading = _Batch(assignment, root, coursedir, scratch, logs, timeout=timeout, sandboxes=sandboxes,
                             warm=kernels == "warm")
        except (OSError, ValueError, RuntimeError) as error:
            raise AutogradeError(f"cannot re-verify {assignment}: {error}") from None
        return grading.run(wanted, workers, progress or (lambda line: None), described)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        # Empty folders go; another run may be filling them again this very moment.
        for folder in ([base] if workdir is None else []) + [logs]:
            with contextlib.suppress(OSError):
                folder.rmdir()
