"""Code a student writes — a function, a class — checked by running it on cases.

A check of code calls it the way any test would: a function answer with plain arguments
(``consumers_needed(10, 4)``), a class answer through :func:`drive`, which runs a named
*driver* on each case and returns what came of it as plain data::

    outcomes = drive(DeskLimit, "messagelab.grading.aggregates:run_script", cases)

In a notebook all of it runs in the kernel. When the course grades, the check runs in a
process that never ran student code, and the answer it reads is a handle
(:class:`messagelab.instructor.reverify.code.Remote`) whose calls run in a sandboxed process
holding only the student's code (the cells that define it), and come back as plain data.
So the judging — what the outcomes must be — happens where student code cannot reach it,
and code that returns an object which lies (an ``__eq__`` that is always true) fails,
since only plain values come back.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["drive", "resolve"]


def resolve(name: str) -> Any:
    """The object ``"package.module:attribute"`` names; drivers and exceptions come from ``messagelab`` only."""
    module, _, attribute = name.partition(":")
    if not module.startswith("messagelab.") or not attribute:
        raise ValueError(f"{name!r}: a driver is named 'messagelab.<module>:<function>'")
    found: Any = importlib.import_module(module)
    for part in attribute.split("."):
        found = getattr(found, part)
    return found


def drive(code: Any, driver: str, cases: Sequence[Any]) -> list[Any]:
    """What ``driver(code, case)`` gives for each case (plain data), wherever ``code`` runs.

    Where the code runs in another process (the grader's :class:`Remote
    <messagelab.instructor.reverify.code.Remote>`, which marks itself ``runs_elsewhere``), the
    cases go there and the outcomes come back.
    """
    if getattr(type(code), "runs_elsewhere", False) is True:
        return code.drive(driver, list(cases))
    run: Callable[[Any, Any], Any] = resolve(driver)
    return [run(code, case) for case in cases]
