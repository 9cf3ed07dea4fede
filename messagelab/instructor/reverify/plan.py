"""What each autograded test cell reads, from the instructor's notebook.

A test cell's *answers* are the names it reads that the instructor's solution cells bind;
the *setup* is the smallest slice of the notebook's other cells that binds everything else
the tests read (imports, the assignment module). Re-verification snapshots the answers in
the student's kernel and runs setup and tests in a process that never ran student code.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class PlanError(RuntimeError):
    """The instructor's notebook cannot be planned (not the student's doing)."""


def nbgrader_meta(cell: Mapping[str, Any]) -> dict[str, Any]:
    """A cell's nbgrader metadata; {} when missing or malformed (a submission may hold anything)."""
    metadata = cell.get("metadata")
    found = metadata.get("nbgrader") if isinstance(metadata, Mapping) else None
    if not isinstance(found, Mapping):
        return {}
    meta = dict(found)
    if not isinstance(meta.get("grade_id"), str):
        meta.pop("grade_id", None)
    return meta


def is_test(cell: Mapping[str, Any]) -> bool:
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


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
        raise PlanError(f"{where} is not valid Python: {error}") from None


@dataclass(frozen=True)
class TestCell:
    """An autograded test cell of the instructor's notebook and the answers it reads."""

    grade_id: str
    source: str  # plain Python: visible and hidden tests
    points: float
    answers: tuple[str, ...]  # names the student's cells bind, read by this cell
    answer_cell: str | None  # the solution cell above it: where a comment goes
    code_answers: tuple[str, ...] = ()  # answers that are code: they run in a process of their own (code.py)


@dataclass(frozen=True)
class Plan:
    """How to re-verify one notebook of an assignment."""

    notebook: str
    kernel_name: str
    setup: str  # plain Python binding what test cells read besides answers
    tests: tuple[TestCell, ...]
    #: Modules the notebook's other cells import (``from a import b``: ``a`` and ``a.b``), in order.
    imports: tuple[str, ...] = ()

    def test(self, grade_id: str) -> TestCell | None:
        """The test cell with this grade id, or None."""
        return next((t for t in self.tests if t.grade_id == grade_id), None)


def plan(source_notebook: Path) -> Plan:
    """Read the instructor's notebook: test cells, the answers each reads, and the setup.

    A test cell's answers are the names it reads that the instructor's solution cells bind
    (imports aside). An answer that the solution binds to code (``def``, ``class``, a
    lambda) is marked: its check calls it in a process of its own (code.py). The setup
    is the smallest slice of the other code cells (no solution, no test) that binds every
    other name the tests read: imports and the assignments they depend on, never an
    explorer or a display. Statements that only have side effects
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
        meta = nbgrader_meta(cell)
        where = f"{path.name} cell {index}"
        if meta.get("solution"):
            tree = _parse(cell["source"], where)
            solution_bound |= _stored_names(tree, with_imports=False)
            solution_code |= _code_names(tree)
        elif not meta.get("grade"):
            setup_statements.extend(_parse(cell["source"], where).body)

    graded_ids = [nbgrader_meta(cell).get("grade_id") for cell in cells]
    nbgrader_cells = [
        (index, nbgrader_meta(cell)["grade_id"])
        for index, cell in enumerate(cells)
        if nbgrader_meta(cell).get("grade_id")
        and any(nbgrader_meta(cell).get(flag) for flag in ("grade", "solution", "locked", "task"))
    ]
    tests: list[TestCell] = []
    needed: set[str] = set()
    for index, grade_id in nbgrader_cells:
        cell = cells[index]
        if not is_test(cell):
            continue
        source = _python(cell["source"])
        tree = _parse(cell["source"], f"{path.name} test cell {grade_id}")
        free = _loaded_names(tree) - _stored_names(tree)
        answers = tuple(sorted(free & solution_bound))
        needed |= free - set(answers)
        answer_cell = next(
            (graded_ids[i] for i in range(index - 1, -1, -1) if nbgrader_meta(cells[i]).get("solution")),
            None,
        )
        tests.append(
            TestCell(
                grade_id=grade_id,
                source=source,
                points=float(nbgrader_meta(cell).get("points", 0) or 0),
                answers=answers,
                answer_cell=answer_cell,
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

    kernel_name = nb.metadata.get("kernelspec", {}).get("name") or "python3"
    return Plan(path.stem, kernel_name, setup, tuple(tests), _imports(setup_statements))


def _imports(statements: list[ast.stmt]) -> tuple[str, ...]:
    names: dict[str, None] = {}
    for statement in statements:
        for node in ast.walk(statement):
            if isinstance(node, ast.Import):
                names.update(dict.fromkeys(alias.name for alias in node.names))
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names[node.module] = None
                names.update(dict.fromkeys(f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*"))
    return tuple(names)


