"""Every per-assignment suite must run every available assignment: checked at collection.

A suite (``available.SUITES``) that is collected without a test for some available
assignment fails the run, naming both, so a new notebook cannot slip past a suite that
chose its own list.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pgserver
import pytest
from available import AVAILABLE, SUITES


@pytest.fixture(scope="module")
def postgres() -> Iterator[pgserver.Server]:
    """A throwaway PostgreSQL server for one test file (``tests/pgserver.py``)."""
    if pgserver.initdb() is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs PostgreSQL for the event store and the shared gradebook (apt-get install postgresql)")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    server = pgserver.start()
    yield server
    pgserver.stop(server)


def _covers(nodeid: str, assignment_id: str) -> bool:
    return re.search(rf"[\[-]{re.escape(assignment_id)}[\]-]", nodeid) is not None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    if any("::" in arg for arg in config.args):
        return  # single tests picked by name: the suites are not run whole
    by_suite: dict[str, list[str]] = {}
    for item in items:
        by_suite.setdefault(Path(str(item.path)).stem, []).append(item.nodeid)
    missing = [
        f"{suite} has no test for {assignment_id}"
        for suite, nodeids in by_suite.items()
        if suite in SUITES
        for assignment_id in AVAILABLE
        if not any(_covers(nodeid, assignment_id) for nodeid in nodeids)
    ]
    if missing:
        raise pytest.UsageError("per-assignment suites must run every available assignment:\n" + "\n".join(missing))
