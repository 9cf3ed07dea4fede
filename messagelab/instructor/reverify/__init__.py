"""Grade the autograded test cells again, outside the student's kernel.

nbgrader runs a notebook's test cells, hidden tests included, in the student's own kernel,
so a student cell can replace the checks before they run (``ex01.check_design = lambda d:
None``), patch the simulator or the random numbers, or hand in an object that lies when
compared. Re-verification takes the verdict away from that kernel::

    submitted notebook ──► fresh kernel: the student's cells, each test cell replaced by a
                           snapshot of the names it reads, as plain data (JSON)
                                   │  (student code ran here: it can lie about the values,
                                   ▼   which is no better than handing in those values)
    instructor's test cells ──► a clean Python process with no student code: setup imports,
                                then each test cell, visible and hidden, on the plain values
                                   │
                                   ▼
    gradebook: auto_score = min(nbgrader's score, the clean check's: points, partial or 0)

A cell passes in the clean process when it raises nothing and writes nothing to stderr (the
course's ``IgnorePattern`` applies), within the course's ``Execute.timeout``; as in
nbgrader, a result that reads as a number is partial credit. The grade of a design is
therefore the course's own verdict on the values the student handed in, whatever their
notebook did to its kernel. What this does not protect (student code runs with the
grader's permissions) is in the README, "What grading protects, and what it does not".

Where the two differ it is always downwards: a test that passed in the kernel but fails
here loses its points, with a comment on the answer cell and a note in the graded notebook
saying why. A test nbgrader could not score at all (the kernel died, the notebook was
unreadable) gets this process's verdict, so a crash costs the cells it affected and no more.

Command line (from the course root)::

    python -m messagelab.instructor.reverify ex01-message-queues [--student S] [--workers N] [--dry-run]

``messagelab.instructor.autograde`` calls :func:`reverify` after each student's nbgrader run.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import dataclasses
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFIG_NAME = "nbgrader_config.py"

#: How a note written by re-verification starts (comments and graded notebooks).
NOTE_PREFIX = "Re-verified outside the notebook's kernel"

#: A submitted notebook larger than this is not read (it scores 0 on every test).
MAX_NOTEBOOK_BYTES = 64 * 2**20

#: Characters of snapshot output kept per test cell; a larger answer fails its check.
MAX_SNAPSHOT_CHARS = 4 * 2**20

#: Limits on one answer's plain tree: containers nested deeper, or more values, fail.
MAX_DEPTH = 32
MAX_VALUES = 100_000

#: Address space of the clean check process. Checks on plain values need little; a value
#: that makes a check allocate without bound fails that check instead of the machine.
CHECK_MEMORY_LIMIT_BYTES = 4 * 2**30

#: The whole notebook may run this many cell timeouts before the kernel is stopped, so a
#: notebook whose cells each hang (ignoring interrupts) cannot hold grading forever.
NOTEBOOK_TIMEOUT_CELLS = 10

#: nbgrader's own default when the course sets no ``Execute.timeout``.
DEFAULT_CELL_TIMEOUT_S = 30.0


class ReverifyError(RuntimeError):
    """Re-verification itself could not run (not the student's doing): nothing was written."""


@dataclass(frozen=True)
class Verdict:
    """The clean process's verdict on one autograded test cell of one submitted notebook."""

    notebook: str
    grade_id: str
    #: True or False: the clean check's verdict. None: the cell reads an answer that is code
    #: (a function the student writes), which only the student's kernel can run, so the
    #: cell is not re-verified and nbgrader's score stands.
    passed: bool | None
    reason: str
    points: float
    #: Points the clean check gives: ``points``, or nbgrader's partial credit when the test
    #: cell's result is a number; 0 when it failed; None when not re-verified.
    earned: float | None = None
    #: The gradebook's auto score before and after re-verification (None: no such grade).
    score_before: float | None = None
    score_after: float | None = None


# ---------------------------------------------------------------------------
# Course settings (read from the course's nbgrader_config.py)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """The nbgrader settings that decide how a notebook runs and how a test cell scores."""

    cell_timeout_s: float
    interrupt_on_timeout: bool
    kernel_arguments: tuple[str, ...]
    ignore_pattern: str | None
    db_url: str


def settings(course_root: Path) -> Settings:
    """The course's autograding settings, from ``course_root/nbgrader_config.py``.

    Only that file is read (not ``~/.jupyter``): the course's settings are the ones that
    travel with it. A course with no cell timeout gets a generous one here (20 × nbgrader's
    default), so a looping submission still ends.
    """
    from traitlets.config.loader import PyFileConfigLoader

    root = Path(course_root).resolve()
    config = PyFileConfigLoader(CONFIG_NAME, path=str(root)).load_config() if (root / CONFIG_NAME).is_file() else {}
    execute = config.get("Execute", {})
    ignore = config.get("IgnorePattern", {})
    timeout = execute.get("timeout", DEFAULT_CELL_TIMEOUT_S)
    db_url = config.get("CourseDirectory", {}).get("db_url") or f"sqlite:///{root / 'gradebook.db'}"
    return Settings(
        cell_timeout_s=float(timeout) if timeout else float(DEFAULT_CELL_TIMEOUT_S) * 20,
        interrupt_on_timeout=bool(execute.get("interrupt_on_timeout", True)),
        kernel_arguments=tuple(execute.get("extra_arguments", ())),
        ignore_pattern=(ignore.get("pattern") or None) if ignore.get("enabled", False) else None,
        db_url=db_url,
    )


# ---------------------------------------------------------------------------
# What each test cell reads: from the instructor's notebook
# ---------------------------------------------------------------------------


def _nbgrader(cell: Mapping[str, Any]) -> dict[str, Any]:
    """A cell's nbgrader metadata; {} when missing or malformed (a submission may hold anything)."""
    metadata = cell.get("metadata")
    found = metadata.get("nbgrader") if isinstance(metadata, Mapping) else None
    if not isinstance(found, Mapping):
        return {}
    meta = dict(found)
    if not isinstance(meta.get("grade_id"), str):
        meta.pop("grade_id", None)
    return meta


def _is_test(cell: Mapping[str, Any]) -> bool:
    meta = _nbgrader(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _is_locked(cell: Mapping[str, Any]) -> bool:
    """nbgrader's rule: a solution cell never is, a grade cell always is, else its flag."""
    meta = _nbgrader(cell)
    if not meta or meta.get("solution"):
        return False
    return bool(meta.get("grade") or meta.get("locked"))


def _python(source: str) -> str:
    """A cell's source as plain Python (IPython magics become calls, as in a kernel)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return source
    return TransformerManager().transform_cell(source)


def _stored_names(tree: ast.AST, *, with_imports: bool = True) -> set[str]:
    """Names a statement binds, including the base of ``x[k] = …`` and ``x.a = …``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.Subscript | ast.Attribute) and isinstance(node.ctx, ast.Store | ast.Del):
            base = node.value
            while isinstance(base, ast.Subscript | ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name):
                names.add(base.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif with_imports and isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                names.add(alias.asname or alias.name.split(".")[0])
    return names


def _code_names(tree: ast.AST) -> set[str]:
    """Names bound to code: ``def``, ``class`` and ``name = lambda …``."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def _loaded_names(tree: ast.AST) -> set[str]:
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def _parse(source: str, where: str) -> ast.Module:
    try:
        return ast.parse(_python(source))
    except SyntaxError as error:
        raise ReverifyError(f"{where} is not valid Python: {error}") from None


@dataclass(frozen=True)
class TestCell:
    """An autograded test cell of the instructor's notebook and the answers it reads."""

    grade_id: str
    source: str  # plain Python: visible and hidden tests
    points: float
    answers: tuple[str, ...]  # names the student's cells bind, read by this cell
    answer_cell: str | None  # the solution cell above it: where a comment goes
    previous: str | None  # the nbgrader cell before it, where nbgrader puts it back if deleted
    code_answers: tuple[str, ...] = ()  # answers that are functions: the cell is not re-verified


@dataclass(frozen=True)
class Plan:
    """How to re-verify one notebook of an assignment."""

    notebook: str
    kernel_name: str
    setup: str  # plain Python binding what test cells read besides answers
    tests: tuple[TestCell, ...]
    #: grade_id -> (cell_type, source) of the instructor's locked cells (nbgrader restores them)
    locked: Mapping[str, tuple[str, str]]


def plan(source_notebook: Path) -> Plan:
    """Read the instructor's notebook: test cells, the answers each reads, and the setup.

    A test cell's answers are the names it reads that the instructor's solution cells bind
    (imports aside). A cell reading an answer that the solution binds to code (``def``,
    ``class``, a lambda) cannot be checked on plain values: it is marked and left to
    nbgrader. The setup is the smallest slice of the other code cells (no solution, no
    test) that binds every other name the tests read: imports and the assignments they
    depend on, never an explorer or a display. Statements that only have side effects
    (``warnings.filterwarnings(...)``) are not part of it; test cells must not rely on them.
    """
    import nbformat

    path = Path(source_notebook)
    nb = nbformat.read(path, as_version=4)
    cells = [dict(cell) for cell in nb.cells]
    solution_bound: set[str] = set()
    solution_code: set[str] = set()
    setup_statements: list[ast.stmt] = []
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        meta = _nbgrader(cell)
        where = f"{path.name} cell {index}"
        if meta.get("solution"):
            tree = _parse(cell["source"], where)
            solution_bound |= _stored_names(tree, with_imports=False)
            solution_code |= _code_names(tree)
        elif not meta.get("grade"):
            setup_statements.extend(_parse(cell["source"], where).body)

    graded_ids = [_nbgrader(cell).get("grade_id") for cell in cells]
    nbgrader_cells = [
        (index, _nbgrader(cell)["grade_id"])
        for index, cell in enumerate(cells)
        if _nbgrader(cell).get("grade_id")
        and any(_nbgrader(cell).get(flag) for flag in ("grade", "solution", "locked", "task"))
    ]
    tests: list[TestCell] = []
    needed: set[str] = set()
    for position, (index, grade_id) in enumerate(nbgrader_cells):
        cell = cells[index]
        if not _is_test(cell):
            continue
        source = _python(cell["source"])
        tree = _parse(cell["source"], f"{path.name} test cell {grade_id}")
        free = _loaded_names(tree) - _stored_names(tree)
        answers = tuple(sorted(free & solution_bound))
        needed |= free - set(answers)
        answer_cell = next(
            (graded_ids[i] for i in range(index - 1, -1, -1) if _nbgrader(cells[i]).get("solution")),
            None,
        )
        tests.append(
            TestCell(
                grade_id=grade_id,
                source=source,
                points=float(_nbgrader(cell).get("points", 0) or 0),
                answers=answers,
                answer_cell=answer_cell,
                previous=nbgrader_cells[position - 1][1] if position else None,
                code_answers=tuple(name for name in answers if name in solution_code),
            )
        )

    # The setup slice: walk back from the names the tests need to the statements binding them.
    chosen: list[ast.stmt] = []
    for statement in reversed(setup_statements):
        if _stored_names(statement) & needed:
            chosen.append(statement)
            needed |= _loaded_names(statement)
    setup = "\n".join(ast.unparse(statement) for statement in reversed(chosen))

    locked = {
        _nbgrader(cell)["grade_id"]: (cell["cell_type"], cell["source"])
        for cell in cells
        if _is_locked(cell) and _nbgrader(cell).get("grade_id")
    }
    kernel_name = nb.metadata.get("kernelspec", {}).get("name") or "python3"
    return Plan(path.stem, kernel_name, setup, tuple(tests), locked)


# ---------------------------------------------------------------------------
# Answers as plain data (runs in the student's kernel, and decodes in the grader)
# ---------------------------------------------------------------------------
# A plain tree is JSON: null, true/false, numbers and strings stand for themselves;
# {"list": [...]}, {"tuple": [...]} and {"dict": [[key, value], ...]} for containers of
# exactly those built-in types; {"unplain": "why"} for anything else, which fails its check.


class NotPlain(Exception):
    """An answer that is not plain data (or a snapshot that cannot be read)."""


def encode(value: Any, name: str = "value") -> Any:
    """``value`` as a plain tree, read through the built-in types' own methods.

    Scalars go through :func:`messagelab.grading.plain`, so a float subclass lying in
    ``__float__`` is read for its real value and an object with a doctored ``__eq__``
    becomes an ``unplain`` marker. Containers must be exactly ``list``, ``tuple`` or
    ``dict``.
    """
    from messagelab.grading.answers import plain

    count = [0]

    def tree(x: Any, path: str, depth: int) -> Any:
        count[0] += 1
        if count[0] > MAX_VALUES or depth > MAX_DEPTH:
            raise NotPlain(f"{name} is too large or nested too deeply to check")
        kind = type(x)
        if kind is list or kind is tuple:
            return {kind.__name__: [tree(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(x)]}
        if kind is dict:
            return {
                "dict": [
                    [tree(key, f"{path} key", depth + 1), tree(item, f"{path}[{key!r}]", depth + 1)]
                    for key, item in dict.items(x)
                ]
            }
        try:
            return plain(path, x)
        except AssertionError as error:
            raise NotPlain(str(error)) from None

    try:
        return tree(value, name, 0)
    except NotPlain as error:
        return {"unplain": str(error)}
    except Exception as error:  # a broken object: it fails its check, it does not stop grading
        return {"unplain": f"{name} could not be read ({type(error).__name__})"}


def decode(tree: Any) -> Any:
    """The Python value of a plain tree; :class:`NotPlain` for a marker or a malformed tree."""

    def value(node: Any, depth: int) -> Any:
        if depth > MAX_DEPTH + 1:
            raise NotPlain("nested too deeply")
        if node is None or type(node) in (bool, int, float, str):
            return node
        if type(node) is dict and len(node) == 1:
            ((tag, body),) = node.items()
            if tag in ("list", "tuple") and type(body) is list:
                items = [value(item, depth + 1) for item in body]
                return items if tag == "list" else tuple(items)
            if tag == "dict" and type(body) is list:
                result = {}
                for pair in body:
                    if type(pair) is not list or len(pair) != 2:
                        raise NotPlain("malformed dict")
                    key = value(pair[0], depth + 1)
                    try:
                        result[key] = value(pair[1], depth + 1)
                    except TypeError:
                        raise NotPlain("a dict key is not hashable") from None
                return result
            if tag == "unplain":
                raise NotPlain(str(body))
        raise NotPlain("malformed snapshot")

    return value(tree, 0)


def _reject_constant(name: str) -> None:
    raise NotPlain(f"{name} is not a finite number")


def parse_snapshot(text: str) -> dict[str, Any]:
    """A snapshot line's JSON: ``{"grade_id": …, "values": {name: tree or {"missing": true}}}``."""
    data = json.loads(text, parse_constant=_reject_constant)
    if type(data) is not dict or type(data.get("values")) is not dict:
        raise NotPlain("malformed snapshot")
    return data


def snapshot(namespace: Mapping[str, Any], nonce: str, grade_id: str, names: Sequence[str]) -> None:
    """Print the plain trees of ``names`` from a kernel's namespace (the snapshot cell's body)."""
    values: dict[str, Any] = {}
    for name in names:
        if name not in namespace:
            values[name] = {"missing": True}
        else:
            values[name] = encode(namespace[name], name)
    try:
        text = json.dumps({"grade_id": grade_id, "values": values}, allow_nan=False)
    except (ValueError, TypeError) as error:
        text = json.dumps({"grade_id": grade_id, "values": {n: {"unplain": str(error)} for n in names}})
    sys.stdout.write(f"\n{nonce}{text}\n")
    sys.stdout.flush()


def _snapshot_cell(nonce: str, test: TestCell) -> str:
    # The cell binds no name, so it changes nothing the student's later cells see.
    return (
        f"__import__('messagelab.instructor.reverify', fromlist=['snapshot']).snapshot("
        f"globals(), {nonce!r}, {test.grade_id!r}, {list(test.answers)!r})"
    )


# ---------------------------------------------------------------------------
# The student's notebook, as nbgrader would run it, with snapshots for test cells
# ---------------------------------------------------------------------------


def kernel_cells(
    student_cells: Sequence[Mapping[str, Any]], plan: Plan, nonce: str
) -> tuple[list[str], dict[int, str]]:
    """The code nbgrader would run for a submission, test cells replaced by snapshots.

    Mirrors nbgrader 0.9's autograde: of cells sharing a grade_id only the last keeps its
    role (``DeduplicateIds``; earlier copies run as ordinary code); locked cells get the
    instructor's source back; a deleted test cell is put back after the cell nbgrader puts
    it after (``OverwriteCells.add_missing_cells``), else at the end. Test cells never run
    here: their code, hidden tests included, stays out of the student's kernel.

    Returns the code of each cell to run and, for snapshot cells, which test each is for.
    """
    tests = {test.grade_id: test for test in plan.tests}
    seen: set[str] = set()
    roles: list[str | None] = []
    for cell in reversed(student_cells):
        meta = _nbgrader(cell)
        grade_id = meta.get("grade_id")
        keeps = bool(grade_id) and any(meta.get(flag) for flag in ("grade", "solution", "locked"))
        if keeps and grade_id in seen:
            roles.append(None)  # a duplicate: an ordinary cell
        else:
            if keeps:
                seen.add(grade_id)
            roles.append(grade_id if keeps else None)
    roles.reverse()

    code: list[str] = []
    snapshots: dict[int, str] = {}
    placed: set[str] = set()
    last_index: dict[str, int] = {}
    for cell, grade_id in zip(student_cells, roles, strict=True):
        cell_type, source = cell.get("cell_type"), cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        if grade_id in plan.locked:
            cell_type, source = plan.locked[grade_id]
        if grade_id in tests:
            if _nbgrader(cell).get("grade") and grade_id not in placed:
                placed.add(grade_id)
                snapshots[len(code)] = grade_id
                code.append(_snapshot_cell(nonce, tests[grade_id]))
            # a test cell nbgrader would not score: it runs instructor code, not the student's
        elif cell_type == "code":
            code.append(source)
        else:
            code.append("")  # a placeholder keeps positions for put-back test cells
        if grade_id:
            last_index[grade_id] = len(code) - 1

    # Deleted test cells: nbgrader puts each back after the cell before it in the source.
    for test in plan.tests:
        if test.grade_id in placed:
            continue
        at = last_index.get(test.previous) if test.previous else -1
        at = len(code) - 1 if at is None else at
        snapshots = {(i + 1 if i > at else i): g for i, g in snapshots.items()}
        last_index = {g: (i + 1 if i > at else i) for g, i in last_index.items()}
        code.insert(at + 1, _snapshot_cell(nonce, test))
        snapshots[at + 1] = test.grade_id
        last_index[test.grade_id] = at + 1
        placed.add(test.grade_id)
    return code, snapshots


def _kernel_environment() -> dict[str, str]:
    from messagelab.instructor.nbgrader import interpreter_path

    env = dict(os.environ, PATH=interpreter_path(), NBGRADER_EXECUTION="autograde")
    return env


def _make_client(nb: Any, plan: Plan, settings: Settings, workdir: Path, keep: set[int]) -> Any:
    """An nbclient that keeps only what snapshot cells print (capped), nothing else."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionComplete

    class SnapshotClient(NotebookClient):
        captured: dict[int, list[str]]

        def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> None:
            if msg["msg_type"] == "status":
                if msg["content"].get("execution_state") == "idle":
                    raise CellExecutionComplete()
                return None
            if cell_index in keep and msg["msg_type"] == "stream" and msg["content"].get("name") == "stdout":
                parts = self.captured.setdefault(cell_index, [])
                if sum(map(len, parts)) < MAX_SNAPSHOT_CHARS:
                    parts.append(str(msg["content"].get("text", ""))[:MAX_SNAPSHOT_CHARS])
            return None

    client = SnapshotClient(
        nb,
        kernel_name=plan.kernel_name,
        timeout=int(settings.cell_timeout_s),
        allow_errors=True,
        interrupt_on_timeout=settings.interrupt_on_timeout,
        error_on_timeout={"ename": "CellTimeoutError", "evalue": "", "traceback": []},
        extra_arguments=list(settings.kernel_arguments),
        shutdown_kernel="immediate",
        record_timing=False,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.captured = {}
    return client


@dataclass
class _Extraction:
    values: dict[str, dict[str, Any]]  # grade_id -> name -> tree
    failures: dict[str, str]  # grade_id -> why no snapshot


def extract(code: list[str], snapshots: Mapping[int, str], nonce: str, plan: Plan, settings: Settings,
            workdir: Path) -> _Extraction:
    """Run the cells in a fresh kernel (in ``workdir``) and read each snapshot cell's output."""
    import nbformat
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in code])
    nb.metadata["kernelspec"] = {"name": plan.kernel_name, "display_name": plan.kernel_name, "language": "python"}
    client = _make_client(nb, plan, settings, workdir, set(snapshots))
    failures: dict[str, str] = {}
    stopped: str | None = None
    deadline = time.monotonic() + settings.cell_timeout_s * NOTEBOOK_TIMEOUT_CELLS
    started = False
    try:
        with client.setup_kernel(env=_kernel_environment()):
            started = True
            for index, cell in enumerate(nb.cells):
                if stopped:
                    break
                if not cell.source.strip():
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 1:
                    stopped = (f"the notebook ran past {settings.cell_timeout_s * NOTEBOOK_TIMEOUT_CELLS:g} s "
                               "before this test cell")
                    break
                client.timeout = int(min(settings.cell_timeout_s, remaining))
                try:
                    client.execute_cell(cell, index)
                except DeadKernelError:
                    stopped = "the notebook's kernel died (it exited or crashed) before this test cell"
                except CellTimeoutError:
                    stopped = f"a cell ran past {settings.cell_timeout_s:g} s and could not be interrupted"
    except DeadKernelError:
        stopped = "the notebook's kernel died before this test cell"
    except RuntimeError as error:
        if not started:  # nbclient's word for a kernel that could not start
            raise _KernelStartError(str(error)) from error
        stopped = f"the notebook's kernel stopped answering ({error}) before this test cell"

    values: dict[str, dict[str, Any]] = {}
    for index, grade_id in snapshots.items():
        text = "".join(client.captured.get(index, []))
        found = [line[len(nonce):] for line in text.splitlines() if line.startswith(nonce)]
        if not found:
            failures.setdefault(grade_id, stopped or "the snapshot of its answers printed nothing")
            continue
        try:
            data = parse_snapshot(found[-1])
        except (ValueError, NotPlain) as error:
            failures[grade_id] = f"its answers could not be read ({error})"
            continue
        if data.get("grade_id") != grade_id:
            failures[grade_id] = "its snapshot is for another cell"
            continue
        values[grade_id] = data["values"]
        failures.pop(grade_id, None)
    return _Extraction(values, failures)


class _KernelStartError(RuntimeError):
    pass


# ---------------------------------------------------------------------------
# The clean process: instructor code only, on plain values
# ---------------------------------------------------------------------------


#: The folder holding this ``messagelab``: the clean process imports this very copy.
_PACKAGE_PARENT = Path(__file__).resolve().parents[3]

_CHECK_PROCESS = (
    "import sys; sys.path.insert(0, {path!r}); "
    "from messagelab.instructor.reverify import _check_process_main; "
    "raise SystemExit(_check_process_main(sys.argv[1]))"
)


class _CheckProcess:
    """A fresh ``python -I`` running the setup at once, then the test cells when values come.

    Started before the student's kernel, so imports overlap with the notebook's run. It runs
    in an empty folder and isolated mode (no current folder, user site or PYTHON* variables
    on its path; this ``messagelab`` first), so no file a student handed in can shadow a
    module and the checks are the grader's own.
    """

    def __init__(self, plan: Plan, settings: Settings, scratch: Path) -> None:
        self.plan, self.settings = plan, settings
        self.results = scratch / "results.jsonl"
        self.log = scratch / "checks.log"
        folder = scratch / "checks"
        folder.mkdir()
        env = dict(os.environ, NBGRADER_EXECUTION="autograde")
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-c", _CHECK_PROCESS.format(path=str(_PACKAGE_PARENT)), str(self.results)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=log,
                cwd=folder,
                env=env,
                text=True,
            )
        job = {
            "setup": plan.setup,
            "timeout": settings.cell_timeout_s,
            "ignore_pattern": settings.ignore_pattern,
            "memory_limit": CHECK_MEMORY_LIMIT_BYTES,
        }
        self._send(job)

    def _send(self, message: Any) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass

    def run(self, cells: list[dict[str, Any]]) -> dict[str, tuple[bool, float, str]]:
        """(passed, points earned, reason) per grade_id for ``cells`` (grade_id, source, points, values)."""
        self._send({"cells": cells})
        assert self.process.stdin is not None
        self.process.stdin.close()
        wait = 120 + len(cells) * (self.settings.cell_timeout_s + 10)
        try:
            self.process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        records = []
        if self.results.is_file():
            for line in self.results.read_text().splitlines():
                try:
                    records.append(json.loads(line))
                except ValueError:
                    break
        setup = next((r for r in records if "setup" in r), None)
        if setup is None or setup["setup"] != "ok":
            detail = setup.get("reason") if setup else self.log.read_text(errors="replace")[-2000:]
            raise ReverifyError(f"the clean check process could not set up {self.plan.notebook}: {detail}")
        verdicts = {
            r["grade_id"]: (bool(r["passed"]), float(r["earned"]), str(r["reason"])) for r in records if "grade_id" in r
        }
        unfinished = (False, 0.0, "the check did not finish (it ran out of time or memory)")
        for cell in cells:
            verdicts.setdefault(cell["grade_id"], unfinished)
        return verdicts

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class _CheckTimeout(BaseException):
    """Raised in a check that runs past its time; a BaseException so ``except Exception`` lets it by."""


def _check_process_main(results_path: str) -> int:
    """The clean process: setup, then each test cell on its plain values; one JSON line each."""
    import contextlib
    import io
    import signal
    import traceback

    out = open(results_path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the process's life

    def emit(record: dict[str, Any]) -> None:
        out.write(json.dumps(record) + "\n")
        out.flush()

    job = json.loads(sys.stdin.readline())
    try:
        import resource

        limit = int(job["memory_limit"])
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(job["setup"], "<setup>", "exec"), namespace)
    except BaseException as error:  # noqa: BLE001 - reported to the parent
        emit({"setup": "error", "reason": f"{type(error).__name__}: {error}"})
        return 1
    namespace.setdefault("display", lambda *args, **kwargs: None)
    emit({"setup": "ok"})

    line = sys.stdin.readline()
    if not line:
        return 0
    cells = json.loads(line)["cells"]
    timeout = float(job["timeout"])
    pattern = job.get("ignore_pattern")

    def on_alarm(signum: int, frame: Any) -> None:
        raise _CheckTimeout()

    signal.signal(signal.SIGALRM, on_alarm)
    for cell in cells:
        for name, tree in cell["values"].items():
            namespace.pop(name, None)
            if tree != {"missing": True}:
                try:
                    namespace[name] = decode(tree)
                except NotPlain:
                    pass  # checked by the parent already: the check then fails on the name
        err = io.StringIO()
        with tempfile.TemporaryFile() as fd_err:
            saved = os.dup(2)
            os.dup2(fd_err.fileno(), 2)
            failure, result = None, None
            try:
                signal.setitimer(signal.ITIMER_REAL, timeout)
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
                    result = _run_as_cell(cell["source"], namespace, f"<{cell['grade_id']}>")
            except _CheckTimeout:
                failure = f"the check ran past {timeout:g} s"
            except BaseException as error:  # noqa: BLE001 - any failure of the instructor's check
                lines = traceback.format_exception_only(type(error), error)
                failure = "".join(lines).strip()
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
            fd_err.seek(0)
            stderr = err.getvalue() + fd_err.read().decode("utf-8", "replace")
        if failure is None and stderr and not (pattern and re.search(pattern, stderr)):
            failure = "the check wrote to stderr: " + stderr.strip()[:500]
        earned = 0.0
        if failure is None:
            try:
                earned = _partial_credit(result, float(cell["points"]))
            except Exception as error:  # a result whose text cannot be shown: an error in the notebook too
                failure = f"the check's result could not be shown: {type(error).__name__}: {error}"
        emit({"grade_id": cell["grade_id"], "passed": failure is None, "earned": earned if failure is None else 0.0,
              "reason": failure or "passed"})
    return 0


def _run_as_cell(source: str, namespace: dict[str, Any], filename: str) -> Any:
    """Run ``source`` as IPython runs a cell; return the value of a last bare expression."""
    tree = ast.parse(source)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr) and not source.rstrip().endswith(";"):
        last = ast.Expression(tree.body.pop().value)
    exec(compile(tree, filename, "exec"), namespace)
    return eval(compile(last, filename, "eval"), namespace) if last is not None else None


def _partial_credit(result: Any, points: float) -> float:
    """nbgrader's rule: a test cell whose result reads as a number from 0 to points earns it."""
    if result is None:
        return points
    from IPython.core.formatters import PlainTextFormatter

    try:
        grade = float(PlainTextFormatter()(result))
    except ValueError:
        return points
    return min(grade, points) if grade >= 0 else points


# ---------------------------------------------------------------------------
# One notebook, one student
# ---------------------------------------------------------------------------


def _not_reverified(plan: Plan, test: TestCell) -> Verdict:
    names = ", ".join(test.code_answers)
    return Verdict(plan.notebook, test.grade_id, None,
                   f"not re-verified: it runs {names}, code the student writes; nbgrader's score stands", test.points)


def _all_fail(plan: Plan, reason: str) -> list[Verdict]:
    """Every test fails for ``reason``: there is no notebook to take answers from."""
    return [Verdict(plan.notebook, t.grade_id, False, reason, t.points) for t in plan.tests]


def _read_submission(path: Path) -> tuple[list[dict[str, Any]] | None, str]:
    """The submitted notebook's cells, or None and why they cannot be read."""
    import nbformat

    folder = path.parent
    if path.is_symlink():
        return None, f"{path.name} is a link, not a submitted notebook"
    if not path.is_file():
        others = sorted(p.name for p in folder.glob("*.ipynb")) if folder.is_dir() else []
        found = f" (found: {', '.join(others)})" if others else ""
        return None, f"no notebook {path.name} was submitted{found}"
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        return None, f"{path.name} is larger than {MAX_NOTEBOOK_BYTES // 2**20} MB"
    try:
        nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        cells = [dict(cell) for cell in nb.cells]
        for cell in cells:
            if not isinstance(cell.get("source", ""), str | list) or not isinstance(cell.get("metadata", {}), dict):
                raise ValueError("a cell is malformed")
    except Exception as error:  # corrupt JSON, wrong format, not UTF-8: all the student's
        return None, f"{path.name} could not be read as a notebook ({type(error).__name__})"
    return cells, ""


def _prepare_folder(submitted: Path, source: Path, workdir: Path) -> None:
    """The submission's files with the instructor's non-notebook files over them, as nbgrader.

    A link the student handed in is replaced, never followed, where a course file goes.
    """
    if submitted.is_dir():
        shutil.copytree(submitted, workdir, symlinks=True, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for path in sorted(source.rglob("*")):
        if not path.is_file() or path.suffix == ".ipynb" or ".ipynb_checkpoints" in path.parts:
            continue
        relative = path.relative_to(source)
        target = workdir
        for part in relative.parts[:-1]:
            target = target / part
            if target.is_symlink() or (target.exists() and not target.is_dir()):
                target.unlink()
            target.mkdir(exist_ok=True)
        target = target / relative.name
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.is_dir():
            shutil.rmtree(target)
        shutil.copy2(path, target)


def _kernel_starts(plan: Plan, settings: Settings) -> bool:
    """Whether a kernel starts in an empty folder: tells a broken grader from a hostile folder."""
    with tempfile.TemporaryDirectory(prefix="messagelab-probe-") as empty:
        try:
            extract(["1"], {}, "", plan, settings, Path(empty))
        except _KernelStartError:
            return False
    return True


def verify_notebook(plan: Plan, submitted: Path, source_folder: Path, settings: Settings) -> list[Verdict]:
    """Verdicts for every test cell of one submitted notebook (nothing is written)."""
    if not plan.tests:
        return []
    cells, why = _read_submission(submitted)
    if cells is None:
        return _all_fail(plan, why)
    nonce = "@@messagelab-snapshot-" + secrets.token_hex(16) + "@@"
    code, snapshots = kernel_cells(cells, plan, nonce)
    with tempfile.TemporaryDirectory(prefix="messagelab-reverify-") as scratch_name:
        scratch = Path(scratch_name)
        workdir = scratch / "notebook"
        workdir.mkdir()
        _prepare_folder(submitted.parent, source_folder, workdir)
        checks = _CheckProcess(plan, settings, scratch)
        try:
            try:
                extraction = extract(code, snapshots, nonce, plan, settings, workdir)
            except _KernelStartError as error:
                if not _kernel_starts(plan, settings):
                    raise ReverifyError(f"no {plan.kernel_name!r} kernel could start: {error}") from None
                return _all_fail(plan, "the notebook's kernel could not start in the submission's folder")
            verdicts: dict[str, Verdict] = {}
            to_check = []
            for test in plan.tests:
                if test.code_answers:
                    verdicts[test.grade_id] = _not_reverified(plan, test)
                    continue
                if test.grade_id in extraction.failures or test.grade_id not in extraction.values:
                    why = extraction.failures.get(test.grade_id, "its answers were not captured")
                    verdicts[test.grade_id] = Verdict(plan.notebook, test.grade_id, False, why, test.points)
                    continue
                values = extraction.values[test.grade_id]
                problem = None
                for name in test.answers:
                    tree = values.get(name, {"missing": True})
                    if tree == {"missing": True}:
                        continue  # the check itself fails with a NameError, as in the notebook
                    try:
                        decode(tree)
                    except NotPlain as error:
                        problem = f"{name} is not plain data: {error}"
                        break
                if problem:
                    verdicts[test.grade_id] = Verdict(plan.notebook, test.grade_id, False, problem, test.points)
                else:
                    to_check.append({"grade_id": test.grade_id, "source": test.source, "points": test.points,
                                     "values": {n: values.get(n, {"missing": True}) for n in test.answers}})
            results = checks.run(to_check)
            for cell in to_check:
                passed, earned, reason = results[cell["grade_id"]]
                test = next(t for t in plan.tests if t.grade_id == cell["grade_id"])
                verdicts[test.grade_id] = Verdict(plan.notebook, test.grade_id, passed, reason, test.points, earned)
            return [verdicts[test.grade_id] for test in plan.tests]
        finally:
            checks.close()


# ---------------------------------------------------------------------------
# Writing the verdicts: gradebook scores, a comment, a note in the graded notebook
# ---------------------------------------------------------------------------


def _note(verdict: Verdict, before: float | None, after: float, max_score: float) -> str:
    was = "no score (nbgrader could not grade it)" if before is None else f"{before:g}"
    return (f"{NOTE_PREFIX} [{verdict.grade_id}]: {after:g} of {max_score:g} points (was {was}). "
            f"The course's check, run on the submitted values: {verdict.reason}")


def _merge_note(existing: str | None, grade_id: str, note: str) -> str:
    keep = [p for p in (existing or "").split("\n\n") if p and not p.startswith(f"{NOTE_PREFIX} [{grade_id}]")]
    return "\n\n".join([*keep, note])


def record(course_root: Path, assignment: str, student: str, verdicts: Sequence[Verdict],
           course: Settings | None = None) -> list[Verdict]:
    """Lower (never raise) each test cell's auto score to the verdict; comment on each change.

    ``auto_score`` becomes ``min(auto_score, points earned in the clean process)``; a cell nbgrader
    left unscored gets the verdict. Manual scores are never touched. Returns the verdicts
    with the scores before and after (both None for a cell with no grade in the gradebook).
    """
    from sqlalchemy.exc import OperationalError

    root = Path(course_root).resolve()
    course = course or settings(root)
    answer_cells = {
        (path.stem, test.grade_id): test.answer_cell
        for path in sorted((root / "source" / assignment).glob("*.ipynb"))
        for test in plan(path).tests
    }
    for attempt in range(5):
        try:
            result, notes = _write_scores(course.db_url, assignment, student, verdicts, answer_cells)
            break
        except OperationalError:  # the gradebook is busy (SQLite shared by several graders)
            if attempt == 4:
                raise
            time.sleep(0.5 * (attempt + 1))
    for notebook, by_cell in notes.items():
        _annotate(root / "autograded" / student / assignment / f"{notebook}.ipynb", by_cell)
    return result


def _write_scores(
    db_url: str,
    assignment: str,
    student: str,
    verdicts: Sequence[Verdict],
    answer_cells: Mapping[tuple[str, str], str | None],
) -> tuple[list[Verdict], dict[str, dict[str, str]]]:
    from nbgrader.api import Gradebook, MissingEntry

    from messagelab.instructor.nbgrader import interpreter_bin_on_path

    result: list[Verdict] = []
    notes: dict[str, dict[str, str]] = {}
    with interpreter_bin_on_path(), Gradebook(db_url) as gradebook:
        for verdict in verdicts:
            try:
                grade = gradebook.find_grade(verdict.grade_id, verdict.notebook, assignment, student)
            except MissingEntry:
                result.append(verdict)
                continue
            before = grade.auto_score
            if verdict.passed is None:
                result.append(dataclasses.replace(verdict, score_before=before, score_after=before))
                continue
            earned = float(grade.max_score) if verdict.earned is None else verdict.earned
            target = min(float(grade.max_score), earned) if verdict.passed else 0.0
            after = target if before is None else min(float(before), target)
            if before is None or after < before:
                grade.auto_score = after
                note = _note(verdict, before, after, float(grade.max_score))
                notes.setdefault(verdict.notebook, {})[verdict.grade_id] = note
                answer = answer_cells.get((verdict.notebook, verdict.grade_id))
                if answer:
                    try:
                        comment = gradebook.find_comment(answer, verdict.notebook, assignment, student)
                    except MissingEntry:
                        comment = None
                    if comment is not None:
                        comment.auto_comment = _merge_note(comment.auto_comment, verdict.grade_id, note)
            result.append(dataclasses.replace(verdict, score_before=before, score_after=after))
        gradebook.db.commit()
    return result, notes


def _annotate(path: Path, notes: Mapping[str, str]) -> None:
    """Add each note as output under its test cell in the graded notebook (formgrader, feedback)."""
    import nbformat

    if not path.is_file():
        return
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # nbgrader wrote it; if it is unreadable there is nothing to annotate
        return
    for cell in nb.cells:
        grade_id = _nbgrader(cell).get("grade_id")
        if cell.cell_type == "code" and _nbgrader(cell).get("grade") and grade_id in notes:
            cell.outputs = [
                out for out in cell.get("outputs", [])
                if not (out.get("output_type") == "stream" and str(out.get("text", "")).startswith(NOTE_PREFIX))
            ]
            cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=notes[grade_id] + "\n"))
    mode = path.stat().st_mode
    try:
        path.chmod(mode | 0o200)
        nbformat.write(nb, path)
    finally:
        path.chmod(mode)


# ---------------------------------------------------------------------------
# The entry point
# ---------------------------------------------------------------------------


def reverify(course_root: Path, assignment: str, student: str, *, write: bool = True) -> list[Verdict]:
    """Re-verify one student's submission of one assignment; write the result unless told not.

    Every notebook of ``source/<assignment>/`` is checked against
    ``submitted/<student>/<assignment>/`` (a missing or unreadable notebook fails each of
    its tests, with the reason). Raises :class:`ReverifyError`, writing nothing, when
    re-verification itself cannot run (no kernel, a setup that fails in a clean process).
    """
    root = Path(course_root).resolve()
    source_folder = root / "source" / assignment
    sources = sorted(p for p in source_folder.glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if not sources:
        raise ReverifyError(f"no instructor notebook in {source_folder}")
    course = settings(root)
    submitted = root / "submitted" / student / assignment
    verdicts: list[Verdict] = []
    for source in sources:
        verdicts += verify_notebook(plan(source), submitted / source.name, source_folder, course)
    return record(root, assignment, student, verdicts, course) if write else verdicts


def students(course_root: Path, assignment: str) -> list[str]:
    """Students with a folder for ``assignment`` in ``submitted/``."""
    base = Path(course_root) / "submitted"
    return sorted(p.name for p in base.iterdir() if (p / assignment).is_dir()) if base.is_dir() else []


def _format(verdicts: Iterable[Verdict]) -> str:
    lines = []
    for v in verdicts:
        before = "-" if v.score_before is None else f"{v.score_before:g}"
        after = "-" if v.score_after is None else f"{v.score_after:g}"
        reason = v.reason.splitlines()[0] if v.reason else ""
        status = {True: "pass", False: "FAIL", None: "kept"}[v.passed]
        lines.append(f"  {v.grade_id:28} {status}  {before:>4} -> {after:<4} {reason}")
    return "\n".join(lines)


def _timed_verdicts(root: Path, assignment: str, student: str) -> tuple[list[Verdict] | str, float]:
    """One student's verdicts (nothing written), or why re-verification could not run; seconds."""
    started = time.monotonic()
    try:
        result: list[Verdict] | str = reverify(root, assignment, student, write=False)
    except ReverifyError as error:
        result = str(error)
    return result, time.monotonic() - started


def main(argv: Sequence[str] | None = None) -> int:
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from messagelab.course.root import course_root

    parser = argparse.ArgumentParser(prog="python -m messagelab.instructor.reverify", description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment", help="assignment id, e.g. ex01-message-queues")
    parser.add_argument("--student", action="append", help="only this student (repeatable)")
    parser.add_argument("--root", type=Path, default=None, help="course root (default: the course around this folder)")
    # Each student keeps two processes busy at once (the notebook's kernel and the checks).
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 1) // 2),
                        help="students re-verified at once (default: one per two CPU cores)")
    parser.add_argument("--dry-run", action="store_true", help="print the verdicts, write nothing")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    root = (args.root or course_root()).resolve()
    wanted = args.student or students(root, args.assignment)
    course = settings(root)
    status = 0
    # Workers only compute; this process alone writes the gradebook, one student at a time.
    with ProcessPoolExecutor(min(args.workers, max(len(wanted), 1)), mp_context=get_context("spawn")) as pool:
        futures = [(student, pool.submit(_timed_verdicts, root, args.assignment, student)) for student in wanted]
        for student, future in futures:
            verdicts, seconds = future.result()
            if isinstance(verdicts, str):
                print(f"{student}: could not re-verify: {verdicts}", file=sys.stderr)
                status = 1
                continue
            if not args.dry_run:
                verdicts = record(root, args.assignment, student, verdicts, course)
            print(f"{student} ({seconds:.1f} s)")
            print(_format(verdicts), flush=True)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
