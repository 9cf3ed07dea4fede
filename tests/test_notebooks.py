"""Every notebook is committed clean; the notebooks that are not assignments run top to bottom.

The assignments' sources and releases run in test_class_batch.py.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbchecks import FIXTURES, ROOT, execute, notebooks, read, rel

#: Notebooks that are not assignments; each assignment's source and release run in
#: test_class_batch.py, once per role.
RUNNABLE = notebooks(ROOT / "notebooks") + [FIXTURES / "browser_demo.ipynb"]
ALL = (RUNNABLE + notebooks(ROOT / "source") + notebooks(ROOT / "release")
       + notebooks(FIXTURES / "course" / "source") + notebooks(FIXTURES / "course" / "release"))


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
