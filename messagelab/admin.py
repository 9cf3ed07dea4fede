"""Instructor and maintainer tasks: generate releases, autograde, export grades.

Every task runs nbgrader's own command line from a course root (the folder holding
``nbgrader_config.py``), so what this module does is exactly what an instructor typing
``nbgrader …`` there would get. The repository root is the course; tests build a
throw-away course elsewhere with :func:`make_course` and run the same tasks in it.

Command line (from the repository root)::

    python -m messagelab.admin release [ID ...]        # source/<id> -> release/<id>
    python -m messagelab.admin check [ID ...]          # is release/ in sync with source/?
    python -m messagelab.admin autograde ID [--workers N] [--student S ...]   # on every core
    python -m messagelab.admin grades [--to grades.csv]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat

#: The repository root, which is also the nbgrader course root.
COURSE_ROOT = Path(__file__).resolve().parent.parent

CONFIG_NAME = "nbgrader_config.py"

_IGNORED_NAMES = {".ipynb_checkpoints", "__pycache__"}


class NbgraderError(RuntimeError):
    """An nbgrader command failed; the message carries the end of its log."""


# ---------------------------------------------------------------------------
# The course
# ---------------------------------------------------------------------------


def assignment_ids(root: Path = COURSE_ROOT) -> list[str]:
    """Ids of the assignments in ``root/source``: each folder holding a notebook, sorted."""
    source = Path(root) / "source"
    if not source.is_dir():
        return []
    return sorted(
        folder.name
        for folder in source.iterdir()
        if folder.is_dir()
        and folder.name not in _IGNORED_NAMES
        and not folder.name.startswith(".")
        and any(folder.glob("*.ipynb"))
    )


def make_course(dest: Path, ids: Iterable[str] | None = None, *, source_root: Path = COURSE_ROOT) -> Path:
    """Create a course in ``dest`` from ``source_root``'s config and ``source/<id>`` folders.

    The copied ``nbgrader_config.py`` sets the course root to its own folder, so nbgrader
    run in ``dest`` writes its gradebook, release and autograded files there and nowhere
    else.
    """
    dest = Path(dest)
    source_root = Path(source_root)
    dest.mkdir(parents=True, exist_ok=True)
    config = source_root / CONFIG_NAME
    if not config.is_file():
        config = COURSE_ROOT / CONFIG_NAME
    shutil.copy2(config, dest / CONFIG_NAME)
    for assignment in assignment_ids(source_root) if ids is None else ids:
        shutil.copytree(
            source_root / "source" / assignment,
            dest / "source" / assignment,
            ignore=shutil.ignore_patterns(*_IGNORED_NAMES),
            dirs_exist_ok=True,
        )
    return dest


# ---------------------------------------------------------------------------
# Running nbgrader
# ---------------------------------------------------------------------------


def _path_with_interpreter_bin() -> str:
    """PATH with this interpreter's scripts folder first.

    nbgrader runs the ``alembic`` command to open its gradebook, and kernels must be this
    environment's Python, even when the virtual environment is not activated.
    """
    scripts = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    return path if path.split(os.pathsep)[0] == scripts else os.pathsep.join([scripts, path])


@contextmanager
def _interpreter_bin_on_path() -> Iterator[None]:
    saved = os.environ.get("PATH")
    os.environ["PATH"] = _path_with_interpreter_bin()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["PATH"]
        else:
            os.environ["PATH"] = saved


def run_nbgrader(
    *args: str, root: Path = COURSE_ROOT, timeout: float | None = None, capture: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``nbgrader ARGS`` with ``root`` as working directory (and so as course root).

    With ``capture`` the log is kept and, when nbgrader exits non-zero, its tail is the
    message of the :class:`NbgraderError` raised; without, the log streams to the terminal.
    """
    env = dict(os.environ, PATH=_path_with_interpreter_bin())
    # A leftover value from an enclosing nbgrader run would change how notebooks behave.
    env.pop("NBGRADER_EXECUTION", None)
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=root,
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


def generate(assignment_id: str, root: Path = COURSE_ROOT, *, timeout: float | None = None) -> Path:
    """Generate the student version of one assignment into ``root/release/<id>``.

    The gradebook records the assignment's cells (hidden tests included), which
    autograding needs later.
    """
    run_nbgrader("generate_assignment", assignment_id, "--force", root=root, timeout=timeout)
    return Path(root) / "release" / assignment_id


def release(root: Path = COURSE_ROOT, ids: Iterable[str] | None = None) -> list[Path]:
    """Regenerate ``release/<id>`` for every assignment in ``source/`` (or the ones given)."""
    return [generate(assignment, root) for assignment in _ids(root, ids)]


def generate_into(dest: Path, ids: Iterable[str] | None = None, *, source_root: Path = COURSE_ROOT) -> Path:
    """Generate releases in a fresh course at ``dest``; return its ``release`` folder.

    Compare the result with the committed ``release/`` to check the two are in sync.
    """
    course = make_course(dest, ids, source_root=source_root)
    release(course, ids)
    return course / "release"


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
    root: Path = COURSE_ROOT,
    *,
    student: str | None = None,
    timeout: float | None = None,
    capture: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Autograde the submissions in ``submitted/`` for one assignment (or one student).

    This is plain ``nbgrader autograde --force``: one process grading one submission after
    another. ``python -m messagelab.admin autograde`` (and ``make autograde``) grade a class
    on every core instead, with progress and a summary (:func:`messagelab.autograde.grade_class`).
    The assignment must have been generated in this course first (its cells are read
    from the gradebook). Scores go to the gradebook; read them with :func:`grades`.
    """
    args = ["autograde", assignment_id, "--force"]
    if student is not None:
        args.append(f"--student={student}")
    return run_nbgrader(*args, root=root, timeout=timeout, capture=capture)


def export_grades(root: Path = COURSE_ROOT, to: str = "grades.csv", *, capture: bool = False) -> Path:
    """Write the module grades to a CSV file (``to`` is relative to ``root``) and return its path.

    Runs ``nbgrader export``, which the course's nbgrader_config.py points at
    :class:`messagelab.nbgrader_export.CriteriaExportPlugin`: one row per student with each
    assignment's score, the four criterion percentages, the weighted total and the letter.
    """
    run_nbgrader("export", f"--to={to}", root=root, capture=capture)
    return Path(root) / to


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


def gradebook_url(root: Path = COURSE_ROOT) -> str:
    """The gradebook of a course built from this repository's config (SQLite at the root)."""
    return f"sqlite:///{Path(root).resolve() / 'gradebook.db'}"


def grades(assignment_id: str, student: str, root: Path = COURSE_ROOT) -> list[CellGrade]:
    """Every grade cell of a student's submission of one assignment, from the gradebook.

    This is the way to tell whether tests passed: ``nbgrader validate`` exits 0 even
    when they fail.
    """
    from nbgrader.api import Gradebook

    result = []
    with _interpreter_bin_on_path(), Gradebook(gradebook_url(root)) as gradebook:
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


# ---------------------------------------------------------------------------
# Is release/ in sync with source/?
# ---------------------------------------------------------------------------


def _cell_label(index: int, cell: nbformat.NotebookNode) -> str:
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"cell {index}" + (f" ({grade_id})" if grade_id else "")


def _first_difference(a: str, b: str) -> str:
    a_lines, b_lines = a.splitlines(), b.splitlines()
    for number, (left, right) in enumerate(zip(a_lines, b_lines, strict=False), start=1):
        if left != right:
            return f"line {number}: expected {left!r}, found {right!r}"
    return f"expected {len(a_lines)} lines, found {len(b_lines)}"


def notebook_differences(expected: Path, actual: Path) -> list[str]:
    """How ``actual`` differs from ``expected`` in cell types, sources and nbgrader metadata."""
    want = nbformat.read(expected, as_version=4)
    got = nbformat.read(actual, as_version=4)
    problems = []
    if len(want.cells) != len(got.cells):
        problems.append(f"has {len(got.cells)} cells, expected {len(want.cells)}")
    for index, (a, b) in enumerate(zip(want.cells, got.cells, strict=False)):
        label = _cell_label(index, a)
        if a.cell_type != b.cell_type:
            problems.append(f"{label}: is {b.cell_type}, expected {a.cell_type}")
        if a.source != b.source:
            problems.append(f"{label}: source differs, {_first_difference(a.source, b.source)}")
        meta_a = a.get("metadata", {}).get("nbgrader")
        meta_b = b.get("metadata", {}).get("nbgrader")
        if meta_a != meta_b:
            problems.append(f"{label}: nbgrader metadata differs: expected {meta_a}, found {meta_b}")
    return problems


def release_differences(expected: Path, actual: Path) -> list[str]:
    """Differences between two release folders of one assignment, one line per problem.

    Notebooks are compared cell by cell (type, source, nbgrader metadata); other files
    byte for byte. An empty list means the two are in sync.
    """
    expected, actual = Path(expected), Path(actual)
    if not actual.is_dir():
        return [f"{actual} is missing"]

    def files(folder: Path) -> set[str]:
        return {
            str(path.relative_to(folder))
            for path in folder.rglob("*")
            if path.is_file() and not _IGNORED_NAMES.intersection(path.parts)
        }

    want, got = files(expected), files(actual)
    problems = [f"{name}: missing" for name in sorted(want - got)]
    problems += [f"{name}: not generated from source (stale?)" for name in sorted(got - want)]
    for name in sorted(want & got):
        if name.endswith(".ipynb"):
            problems += [f"{name} {problem}" for problem in notebook_differences(expected / name, actual / name)]
        elif (expected / name).read_bytes() != (actual / name).read_bytes():
            problems.append(f"{name}: content differs")
    return problems


def check_release(workdir: Path, ids: Iterable[str] | None = None, root: Path = COURSE_ROOT) -> dict[str, list[str]]:
    """Generate into ``workdir`` and compare with ``root/release``; problems per assignment."""
    ids = _ids(root, ids)
    generated = generate_into(workdir, ids, source_root=root)
    return {
        assignment: release_differences(generated / assignment, Path(root) / "release" / assignment)
        for assignment in ids
    }


def orphaned_releases(root: Path = COURSE_ROOT) -> list[str]:
    """Folders in ``release/`` with no assignment in ``source/`` to generate them from."""
    release_dir = Path(root) / "release"
    if not release_dir.is_dir():
        return []
    sources = set(assignment_ids(root))
    return sorted(
        folder.name
        for folder in release_dir.iterdir()
        if folder.is_dir() and not folder.name.startswith(".") and folder.name not in sources
    )


def _ids(root: Path, ids: Iterable[str] | None) -> list[str]:
    return assignment_ids(root) if ids is None else list(ids)


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m messagelab.admin", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=COURSE_ROOT, help="course root (default: this repository)")
    commands = parser.add_subparsers(dest="command", required=True)

    p_release = commands.add_parser("release", help="regenerate release/ from source/")
    p_release.add_argument("ids", nargs="*", help="assignment ids (default: all in source/)")

    p_check = commands.add_parser("check", help="fail when release/ is out of sync with source/")
    p_check.add_argument("ids", nargs="*", help="assignment ids (default: all in source/)")

    from messagelab import autograde as autograding

    p_grade = commands.add_parser(
        "autograde",
        help="autograde submitted/ for one assignment, on every core",
        description="Autograde submitted/*/ID/ in parallel. Exit status: 0 when every submission was "
        "graded, 1 when any failed (the summary says which and why).",
    )
    p_grade.add_argument("id", help="assignment id, e.g. ex01-message-queues")
    p_grade.add_argument(
        "--student", action="extend", nargs="+", metavar="S", help="grade only these students (repeatable)"
    )
    p_grade.add_argument("--workers", type=int, metavar="N", help="grading processes (default: one per CPU core)")
    p_grade.add_argument(
        "--timeout",
        type=float,
        default=autograding.DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help="stop one student's grading after this long (default: %(default)g)",
    )

    p_grades = commands.add_parser("grades", help="export the gradebook to CSV")
    p_grades.add_argument("--to", default="grades.csv", help="CSV file (default: grades.csv)")

    args = parser.parse_args(argv)
    root = args.root.resolve()
    try:
        if args.command == "release":
            ids = _ids(root, args.ids or None)
            if not ids:
                print(f"no assignments in {root / 'source'}", file=sys.stderr)
                return 1
            for path in release(root, ids):
                print(f"generated {path.relative_to(root)}")
        elif args.command == "check":
            import tempfile

            with tempfile.TemporaryDirectory(prefix="messagelab-release-") as workdir:
                problems = check_release(Path(workdir), args.ids or None, root)
            for assignment, lines in problems.items():
                print(f"{assignment}: {'in sync' if not lines else 'OUT OF SYNC'}")
                for line in lines:
                    print(f"  {line}")
            orphans = orphaned_releases(root)
            for assignment in orphans:
                print(f"{assignment}: in release/ but not in source/")
            return 1 if any(problems.values()) or orphans else 0
        elif args.command == "autograde":
            if args.workers is not None and args.workers < 1:
                p_grade.error("--workers must be at least 1")
            try:
                batch = autograding.grade_class(
                    args.id, root, students=args.student, workers=args.workers, timeout=args.timeout
                )
            except autograding.AutogradeError as error:  # not this module's class when run with -m
                print(error, file=sys.stderr)
                return 1
            print(batch.summary())
            return batch.exit_code
        elif args.command == "grades":
            import pandas as pd

            path = export_grades(root, args.to)
            table = pd.read_csv(path, keep_default_na=False)
            if table.empty:
                print(f"wrote {path}: no graded submissions yet (make autograde ASSIGNMENT=<id> first)")
            else:
                letters = table["letter"].value_counts()
                spread = ", ".join(f"{letter} {letters.get(letter, 0)}" for letter in "ABCDF")
                print(f"wrote {path}: {len(table)} students ({spread})")
    except NbgraderError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
