"""Helpers the notebook and nbgrader tests share: finding, reading and running notebooks.

Kept beside the tests (not in ``messagelab``) because only the tests need them.
"""

from __future__ import annotations

import builtins
import copy
import functools
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
FIXTURE_COURSE = FIXTURES / "course"

#: Seconds a single cell may take when the tests run a notebook.
CELL_TIMEOUT_S = 120

#: Criteria a graded cell's grade_id starts with (see DESIGN.md, grading conventions).
CRITERIA = ("arch-", "sys-", "biz-", "comm-")

#: Markers that must never reach a student.
LEAK_MARKERS = (
    "BEGIN SOLUTION",
    "END SOLUTION",
    "BEGIN HIDDEN TESTS",
    "END HIDDEN TESTS",
    "BEGIN MARK SCHEME",
    "END MARK SCHEME",
)

#: What a test cell of an unanswered release may raise: the stub itself, a failed check,
#: or a name the student has not defined yet.
RELEASE_TEST_ERRORS = frozenset({"NotImplementedError", "AssertionError", "NameError"})


def notebooks(folder: Path) -> list[Path]:
    """Every notebook under ``folder``, sorted, checkpoints excluded."""
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in path.parts)


def rel(path: Path) -> str:
    """A path relative to the repository root, for test ids and messages."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


# ---------------------------------------------------------------------------
# nbgrader cell roles
# ---------------------------------------------------------------------------


def nbgrader_meta(cell: nbformat.NotebookNode) -> dict:
    return dict(cell.get("metadata", {}).get("nbgrader", {}))


def is_solution(cell: nbformat.NotebookNode) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def is_graded(cell: nbformat.NotebookNode) -> bool:
    """Cells that carry points: grade cells and task cells."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade") or meta.get("task"))


def is_autograded_test(cell: nbformat.NotebookNode) -> bool:
    """A code cell nbgrader scores by running it: grade=true, solution=false."""
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def label(index: int, cell: nbformat.NotebookNode) -> str:
    grade_id = nbgrader_meta(cell).get("grade_id")
    return f"cell {index}" + (f" ({grade_id})" if grade_id else "")


# ---------------------------------------------------------------------------
# What must not leak into a release
# ---------------------------------------------------------------------------


def _between(source: str, begin: str, end: str) -> tuple[list[str], list[str]]:
    """Lines of ``source`` inside begin/end marker regions, and the lines outside them."""
    inside, outside, within = [], [], False
    for line in source.splitlines():
        if begin in line:
            within = True
        elif end in line:
            within = False
        else:
            (inside if within else outside).append(line)
    return inside, outside


def is_trivial(line: str) -> bool:
    """Lines too common to identify a solution: blank, punctuation, a bare keyword."""
    text = line.strip()
    if text.startswith("#") and not text.lstrip("#").strip():
        return True
    words = re.findall(r"[A-Za-z0-9_]+", text)
    return len(text) < 6 or not words or text in {"pass", "return", "else:", "try:", "finally:"}


def secret_lines(nb: nbformat.NotebookNode) -> set[str]:
    """Non-trivial lines of the source that only the instructor may see.

    Solution regions of solution cells (the whole cell when it has no markers), and
    hidden-test regions. A line that also appears in the visible part of the source
    (outside every region) is not secret.
    """
    secret: set[str] = set()
    visible: set[str] = set()
    for cell in nb.cells:
        source = cell.source
        hidden, outside = _between(source, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
        secret.update(hidden)
        source = "\n".join(outside)
        if is_solution(cell):
            if "BEGIN SOLUTION" in source:
                solution, outside = _between(source, "BEGIN SOLUTION", "END SOLUTION")
            else:
                solution, outside = source.splitlines(), []
            secret.update(solution)
        mark, outside = _between("\n".join(outside), "BEGIN MARK SCHEME", "END MARK SCHEME")
        secret.update(mark)
        visible.update(line.strip() for line in outside)
    return {line.strip() for line in secret if not is_trivial(line) and line.strip() not in visible}


def leaks(source_nb: nbformat.NotebookNode, release_nb: nbformat.NotebookNode) -> list[str]:
    """Markers and instructor-only lines of ``source_nb`` found in ``release_nb``."""
    secret = secret_lines(source_nb)
    found = []
    for index, cell in enumerate(release_nb.cells):
        for line in cell.source.splitlines():
            marker = next((m for m in LEAK_MARKERS if m in line), None)
            if marker:
                found.append(f"{label(index, cell)}: marker {marker!r} in {line.strip()!r}")
            elif line.strip() in secret:
                found.append(f"{label(index, cell)}: solution line {line.strip()!r}")
    return found


# ---------------------------------------------------------------------------
# Running notebooks
# ---------------------------------------------------------------------------


@contextmanager
def normal_run_environment() -> Iterator[None]:
    """A plain run, as a student's: no ``NBGRADER_EXECUTION`` reaches the kernel.

    A learner's copies (made by the course home) go to a throw-away folder, not ``work/``.
    """
    saved = os.environ.pop("NBGRADER_EXECUTION", None)
    saved_workspace = os.environ.get("MESSAGELAB_WORKSPACE")
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["MESSAGELAB_WORKSPACE"] = scratch
        try:
            yield
        finally:
            if saved is not None:
                os.environ["NBGRADER_EXECUTION"] = saved
            if saved_workspace is None:
                os.environ.pop("MESSAGELAB_WORKSPACE", None)
            else:
                os.environ["MESSAGELAB_WORKSPACE"] = saved_workspace


@functools.cache
def _execute_cached(path: Path, allow_errors: bool) -> nbformat.NotebookNode:
    nb = read(path)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT_S,
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(path.parent)}},
    )
    with normal_run_environment():
        client.execute()
    return nb


def execute(path: Path, *, allow_errors: bool = False) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in its own folder and return it with outputs.

    Runs are cached for the test session (a source notebook is checked by several test
    files; running it once is enough). Raises ``nbclient.exceptions.CellExecutionError``
    on the first error unless ``allow_errors``.
    """
    return copy.deepcopy(_execute_cached(Path(path).resolve(), allow_errors))


@dataclass(frozen=True)
class CellError:
    index: int
    label: str
    ename: str
    evalue: str


def errors(nb: nbformat.NotebookNode) -> list[CellError]:
    """Every error output of an executed notebook."""
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append(CellError(index, label(index, cell), output.ename, output.evalue))
    return found


def _is_kind_of(ename: str, bases: tuple[type[BaseException], ...]) -> bool:
    """Whether the exception named ``ename`` is one of ``bases``.

    The name comes from a kernel, so look it up among the builtins and the exceptions
    the course's grading helpers define (their failures subclass AssertionError).
    """
    candidate = getattr(builtins, ename, None)
    if candidate is None:
        try:
            from messagelab import grading
        except ImportError:
            return False
        candidate = getattr(grading, ename, None)
    return isinstance(candidate, type) and issubclass(candidate, bases)


def unexpected_release_errors(nb: nbformat.NotebookNode) -> list[str]:
    """Errors an unanswered release notebook must not show, one line each.

    Allowed: the ``NotImplementedError`` stub in a solution cell; in an autograded test
    cell, the stub, a failed assertion or a ``NameError`` for what the student has not
    defined. Everything else (explorers, setup, prose) must run cleanly.
    """
    problems = []
    for error in errors(nb):
        cell = nb.cells[error.index]
        if is_solution(cell):
            allowed = _is_kind_of(error.ename, (NotImplementedError,))
        elif is_autograded_test(cell):
            allowed = error.ename in RELEASE_TEST_ERRORS or _is_kind_of(
                error.ename, (AssertionError, NotImplementedError)
            )
        else:
            allowed = False
        if not allowed:
            problems.append(f"{error.label}: {error.ename}: {error.evalue}")
    return problems


def stderr_outputs(nb: nbformat.NotebookNode, cells: list[int]) -> list[str]:
    """What the given cells of an executed notebook wrote to stderr, one line per cell."""
    found = []
    for index in cells:
        cell = nb.cells[index]
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and output.name == "stderr":
                found.append(f"{label(index, cell)}: {output.text.strip()[:300]!r}")
    return found


def require_sandbox() -> str:
    """The sandbox mode for a test that needs students' code confined: ``require``.

    Skips on a machine where bubblewrap cannot run (a laptop without it); fails in CI, which
    installs it (``.ci/run``).
    """
    import pytest

    from messagelab.instructor.sandbox import find_sandbox

    sandbox, why = find_sandbox("auto")
    if sandbox is None:
        if os.environ.get("CI"):
            pytest.fail(f"no sandbox: {why} (required when CI is set)")
        pytest.skip(f"no sandbox: {why}")
    return "require"


def processes_under(folder: Path) -> list[str]:
    """Processes whose working folder or command line is under ``folder``."""
    import psutil

    found = []
    for process in psutil.process_iter(["pid", "cmdline", "cwd"]):
        where = (process.info["cwd"] or "") + " " + " ".join(process.info["cmdline"] or [])
        if str(folder) in where and process.pid != os.getpid():
            found.append(f"{process.pid}: {where[:200]}")
    return found


# --- explore prompts ----------------------------------------------------------------------
_PROMPT = re.compile(r"^\d+\. \*\*(?P<title>[^*]+?)\.?\*\*", re.M)


def prompt_titles(notebook: Path, marker: str = "Try these") -> list[str]:
    """The titles of the numbered prompts (``1. **Capacity.** …``) in the cells that start with ``marker``.

    A notebook's prompts each ask for an observation an explorer must show (one cell of them
    after each explorer, in order); the assignment's prompt tests name one test per title,
    and a test compares the two lists.
    """
    nb = nbformat.read(notebook, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "markdown" and c.source.startswith(marker)]
    assert cells, f"{notebook.name} has no cell of prompts starting {marker!r}"
    return [m["title"] for cell in cells for m in _PROMPT.finditer(cell.source)]


def observe(explorer, **controls):
    """Move ``controls`` on ``explorer`` as a student would; the summary of the run it then shows."""
    explorer.set(**controls)
    assert "Not a valid setting" not in explorer.summary.value, explorer.summary.value
    assert explorer.last_result.config.to_dict().items() >= {
        k: v for k, v in controls.items() if k in explorer.last_result.config.to_dict()}.items()
    return explorer.last_result.summary
