"""Every notebook is committed clean and runs top to bottom.

Instructor notebooks (source/), notebooks outside the assignments (notebooks/) and the
test fixtures must run without an error. Student releases (release/) are unanswered, so
their answer and test cells fail by design; everything else in them must run cleanly.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbchecks import FIXTURES, ROOT, execute, notebooks, read, rel, unexpected_release_errors

RUNNABLE = (
    notebooks(ROOT / "source")
    + notebooks(ROOT / "notebooks")
    + notebooks(FIXTURES / "course" / "source")
    + [FIXTURES / "browser_demo.ipynb"]
)
RELEASES = notebooks(ROOT / "release") + notebooks(FIXTURES / "course" / "release")
ALL = RUNNABLE + RELEASES


def params(paths: list[Path]) -> list:
    return [pytest.param(path, id=rel(path)) for path in paths]


@pytest.mark.parametrize("path", params(ALL))
def test_committed_without_outputs(path: Path) -> None:
    nb = read(path)
    nbformat.validate(nb)
    dirty = [
        f"cell {i}: execution_count={cell.execution_count}, {len(cell.outputs)} outputs"
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"clear outputs before committing {rel(path)}:\n" + "\n".join(dirty)
    # Saved widget state is output too: large, noisy in diffs, stale on the next run.
    assert "widgets" not in nb.metadata, f"{rel(path)} carries saved widget state"


@pytest.mark.slow
@pytest.mark.parametrize("path", params(RUNNABLE))
def test_runs_top_to_bottom(path: Path) -> None:
    nb = execute(path)  # raises CellExecutionError, naming the cell, on the first error
    assert all(cell.execution_count is not None for cell in nb.cells if cell.cell_type == "code"), (
        "not every code cell ran"
    )


@pytest.mark.slow
@pytest.mark.parametrize("path", params(RELEASES))
def test_release_fails_only_where_answers_are_missing(path: Path) -> None:
    nb = execute(path, allow_errors=True)
    problems = unexpected_release_errors(nb)
    assert not problems, f"{rel(path)}: cells a student did not write fail:\n" + "\n".join(problems)
