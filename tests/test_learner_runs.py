"""Every available assignment's source run top to bottom as a learner runs it, explorers drawn.

The instructor's source must run without an error, its test cells silent on stderr (a
test cell that writes there fails when a student presses Validate). Each source runs once
here, in a file of its own so that pytest's workers run it beside the graded class
(test_class_batch.py), which reads the release's run from the blank submission's graded copy.
"""

from __future__ import annotations

import pytest
from available import PARAMS, Entry
from nbchecks import execute, is_autograded_test, notebooks, stderr_outputs


@pytest.mark.slow
@pytest.mark.parametrize("entry", PARAMS)
def test_source_runs_top_to_bottom_with_silent_test_cells(entry: Entry) -> None:
    """As a learner runs it, explorers drawn; a test cell writing to stderr fails in Validate."""
    for path in notebooks(entry.origin / "source" / entry.assignment):
        nb = execute(path)  # raises CellExecutionError, naming the cell, on the first error
        assert all(cell.execution_count is not None for cell in nb.cells if cell.cell_type == "code")
        tests = [i for i, cell in enumerate(nb.cells) if is_autograded_test(cell)]
        noisy = stderr_outputs(nb, tests)
        assert not noisy, f"{path.name}: test cells write to stderr:\n" + "\n".join(noisy)
