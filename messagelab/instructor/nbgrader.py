"""Running nbgrader for the instructor: its command line, a throw-away course, the grades.

Every task runs nbgrader's own command line from a course root (the folder holding
``nbgrader_config.py``), so what this module does is exactly what an instructor typing
``nbgrader …`` there would get. Tests build a throw-away course with :func:`make_course`
and run the same tasks in it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from messagelab.course.root import CONFIG_NAME, course_root

IGNORED_NAMES = {".ipynb_checkpoints", "__pycache__"}


def root_or_default(root: Path | None) -> Path:
    return course_root() if root is None else Path(root)


class NbgraderError(RuntimeError):
    """An nbgrader command failed; the message carries the end of its log."""


# ---------------------------------------------------------------------------
# The course
# ---------------------------------------------------------------------------


def assignment_ids(root: Path | None = None) -> list[str]:
    """Ids of the assignments in ``root/source``: each folder holding a notebook, sorted."""
    source = root_or_default(root) / "source"
    if not source.is_dir():
        return []
    return sorted(
        folder.name
        for folder in source.iterdir()
        if folder.is_dir()
        and folder.name not in IGNORED_NAMES
        and not folder.name.startswith(".")
        and any(folder.glob("*.ipynb"))
    )


def make_course(dest: Path, ids: Iterable[str] | None = None, *, source_root: Path | None = None) -> Path:
    """Create a course in ``dest`` from ``source_root``'s config and ``source/<id>`` folders.

    The copied ``nbgrader_config.py`` sets the course root to its own folder, so nbgrader
    run in ``dest`` writes its gradebook, release and autograded files there and nowhere
    else.
    """
    dest = Path(dest)
    source_root = root_or_default(source_root)
    dest.mkdir(parents=True, exist_ok=True)
    config = source_root / CONFIG_NAME
    if not config.is_file():
        config = course_root() / CONFIG_NAME
    shutil.copy2(config, dest / CONFIG_NAME)
    for assignment in assignment_ids(source_root) if ids is None else ids:
        shutil.copytree(
            source_root / "source" / assignment,
            dest / "source" / assignment,
            ignore=shutil.ignore_patterns(*IGNORED_NAMES),
            dirs_exist_ok=True,
        )
    return dest


# ---------------------------------------------------------------------------
# Running nbgrader
# ---------------------------------------------------------------------------


def interpreter_path() -> str:
    """PATH with this interpreter's scripts folder first.

    nbgrader runs the ``alembic`` command to open its gradebook, and kernels must be this
    environment's Python, even when the virtual environment is not activated.
    """
    scripts = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    return path if path.split(os.pathsep)[0] == scripts else os.pathsep.join([scripts, path])


@contextmanager
def interpreter_bin_on_path() -> Iterator[None]:
    saved = os.environ.get("PATH")
    os.environ["PATH"] = interpreter_path()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["PATH"]
        else:
            os.environ["PATH"] = saved


def run_nbgrader(
    *args: str, root: Path | None = None, timeout: float | None = None, capture: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``nbgrader ARGS`` with ``root`` as working directory (and so as course root).

    With ``capture`` the log is kept and, when nbgrader exits non-zero, its tail is the
    message of the :class:`NbgraderError` raised; without, the log streams to the terminal.
    """
    env = dict(os.environ, PATH=interpreter_path())
    # A leftover value from an enclosing nbgrader run would change how notebooks behave.
    env.pop("NBGRADER_EXECUTION", None)
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=root_or_default(root),
        env=env,
        capture_output=capture,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        log = ((proc.stdout or "") + (proc.stderr or "")).strip().splitlines()
        tail = "\n".join(log[-40:])
        raise NbgraderError(f"nbgrader {' '.join(args)} exited with {proc.returncode} in {root}:\n{tail}")
    return proc


def generate(assignment_id: str, root: Path | None = None, *, timeout: float | None = None) -> Path:
    """Generate the student version of one assignment into ``root/release/<id>``.

    The gradebook records the assignment's cells (hidden tests included), which
    autograding needs later.
    """
    root = root_or_default(root)
    run_nbgrader("generate_assignment", assignment_id, "--force", root=root, timeout=timeout)
    return root / "release" / assignment_id


def generate_every(ids: Sequence[str], root: Path | None = None, *, timeout: float | None = None) -> list[Path]:
    """Generate the assignments ``ids`` into ``root/release``; their release folders.

    When ``ids`` are every folder of ``source/``, nbgrader runs once for all of them
    (``generate_assignment "*"``): it starts once instead of once per assignment, which is
    most of a small assignment's time. Otherwise it runs once per assignment.
    """
    root = root_or_default(root)
    source = root / "source"
    folders = {f.name for f in source.iterdir() if f.is_dir() and not f.name.startswith(".")} \
        if source.is_dir() else set()
    if len(ids) > 1 and set(ids) == folders and folders == set(assignment_ids(root)):
        run_nbgrader("generate_assignment", "*", "--force", root=root, timeout=timeout)
        return [root / "release" / assignment_id for assignment_id in ids]
    return [generate(assignment_id, root, timeout=timeout) for assignment_id in ids]


def submit(course: Path, assignment_id: str, student: str, notebooks: Path | Sequence[Path]) -> Path:
    """Place notebooks in ``submitted/<student>/<id>/`` as nbgrader's collect would.

    ``notebooks`` is a folder (every notebook in it is copied) or a list of notebooks.
    """
    if isinstance(notebooks, (str, Path)):
        folder = Path(notebooks)
        files = sorted(folder.glob("*.ipynb")) if folder.is_dir() else [folder]
    else:
        files = [Path(path) for path in notebooks]
    dest = Path(course) / "submitted" / student / assignment_id
    dest.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copy2(path, dest / path.name)
    return dest


def autograde(
    assignment_id: str,
    root: Path | None = None,
    *,
    student: str | None = None,
    timeout: float | None = None,
    capture: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Autograde the submissions in ``submitted/`` for one assignment (or one student).

    This is plain ``nbgrader autograde --force``: one process grading one submission after
    another. ``python -m messagelab.instructor autograde`` (and ``make autograde``) grade a class
    on every core instead, with progress and a summary (:func:`messagelab.instructor.autograde.grade_class`).
    The assignment must have been generated in this course first (its cells are read
    from the gradebook). Scores go to the gradebook; read them with :func:`grades`.
    """
    args = ["autograde", assignment_id, "--force"]
    if student is not None:
        args.append(f"--student={student}")
    return run_nbgrader(*args, root=root, timeout=timeout, capture=capture)


def export_grades(root: Path | None = None, to: str = "grades.csv", *, capture: bool = False) -> Path:
    """Write the module grades to a CSV file (``to`` is relative to ``root``) and return its path.

    Runs ``nbgrader export``, which the course's nbgrader_config.py points at
    :class:`messagelab.instructor.export.CriteriaExportPlugin`: one row per student with each
    assignment's score, the four criterion percentages, the weighted total and the letter.
    """
    root = root_or_default(root)
    run_nbgrader("export", f"--to={to}", root=root, capture=capture)
    return root / to


# ---------------------------------------------------------------------------
# Reading the gradebook
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CellGrade:
    """One grade cell of one submitted notebook, as stored in the gradebook."""

    notebook: str
    grade_id: str
    cell_type: str
    auto_score: float | None
    manual_score: float | None
    max_score: float
    needs_manual_grade: bool

    @property
    def score(self) -> float:
        """The score that counts: a manual grade overrides the autograder's."""
        if self.manual_score is not None:
            return self.manual_score
        return self.auto_score or 0.0


def course_directory(root: Path | None = None) -> Any:
    """nbgrader's ``CourseDirectory`` for the course at ``root``, from its ``nbgrader_config.py`` alone.

    Only the course's own file is read (not ``~/.jupyter``), so every grader of the course
    gets the same folders and the same gradebook.
    """
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    root = root_or_default(root).resolve()
    config = Config()
    if (root / CONFIG_NAME).is_file():
        config = PyFileConfigLoader(CONFIG_NAME, path=str(root)).load_config()
    coursedir = CourseDirectory(config=config)
    if "root" not in config.CourseDirectory:
        coursedir.root = str(root)
    return coursedir


def gradebook_url(root: Path | None = None) -> str:
    """The course's gradebook: its config's ``CourseDirectory.db_url``, else SQLite at the root.

    ``sqlite:///<root>/gradebook.db`` by default; a server database such as
    ``postgresql+psycopg://grader@db.example.edu/messaging_eda`` when several graders share one.
    """
    return str(course_directory(root).db_url)


def shown_url(db_url: str) -> str:
    """A gradebook URL fit to print or show: its password, if any, as ``***``."""
    if "://" not in db_url:
        return db_url
    from sqlalchemy.engine import make_url

    return make_url(db_url).render_as_string(hide_password=True)


def sqlite_file(db_url: str) -> Path | None:
    """The file of a ``sqlite:///…`` gradebook URL, or None for a server database."""
    prefix = "sqlite:///"
    return Path(db_url[len(prefix):].split("?", 1)[0]) if db_url.startswith(prefix) else None


def grades(assignment_id: str, student: str, root: Path | None = None) -> list[CellGrade]:
    """Every grade cell of a student's submission of one assignment, from the gradebook.

    This is the way to tell whether tests passed: ``nbgrader validate`` exits 0 even
    when they fail.
    """
    from nbgrader.api import Gradebook

    result = []
    with interpreter_bin_on_path(), Gradebook(gradebook_url(root)) as gradebook:
        submission = gradebook.find_submission(assignment_id, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                result.append(
                    CellGrade(
                        notebook=notebook.name,
                        grade_id=grade.name,
                        cell_type=grade.cell_type,
                        auto_score=grade.auto_score,
                        manual_score=grade.manual_score,
                        max_score=float(grade.max_score),
                        needs_manual_grade=bool(grade.needs_manual_grade),
                    )
                )
    return sorted(result, key=lambda g: (g.notebook, g.grade_id))
