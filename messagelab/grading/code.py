"""Code a student writes — a function, a class — checked by running it on cases.

A check of code calls it the way any test would: a function answer with plain arguments
(``consumers_needed(10, 4)``), a class answer through :func:`drive`, which runs a named
*driver* on each case and returns what came of it as plain data::

    outcomes = drive(DeskLimit, "messagelab.assignments.ex04:desk_outcome", cases)

In a notebook all of it runs in the kernel. When the course grades, the check runs in a
process that never ran student code, and the answer it reads is a :class:`Remote`: a
handle whose calls run in a sandboxed process holding only the student's code (the cells
that define it), and come back as plain data. So the judging — what the outcomes must
be — happens where student code cannot reach it, and code that returns an object which
lies (an ``__eq__`` that is always true) fails, since only plain values come back.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["CodeError", "Remote", "drive", "resolve"]


class CodeError(RuntimeError):
    """The student's code failed in a way that has no exception class the check knows."""


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
    """What ``driver(code, case)`` gives for each case (plain data), wherever ``code`` runs."""
    if isinstance(code, Remote):
        return code.drive(driver, list(cases))
    run: Callable[[Any, Any], Any] = resolve(driver)
    return [run(code, case) for case in cases]


class Remote:
    """A student's function or class, living in another process: calls go there, plain values come back.

    ``call`` sends one request (``{"name", "driver", "args", "kwargs"}``, arguments as plain
    trees) and returns the reply: ``{"value": tree}`` or ``{"error": message, "type": name}``.
    """

    def __init__(self, name: str, call: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self.name, self._call = name, call

    def __repr__(self) -> str:
        return f"<{self.name}, the student's code>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._request(None, args, kwargs)

    def drive(self, driver: str, cases: list[Any]) -> list[Any]:
        return self._request(driver, (cases,), {})

    def _request(self, driver: str | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        from messagelab.instructor.reverify.plain import NotPlain, decode, encode

        reply = self._call({"name": self.name, "driver": driver, "args": encode(list(args), "arguments"),
                            "kwargs": encode(kwargs, "arguments")})
        if "error" in reply:
            raise _exception(str(reply.get("type", "")), str(reply["error"]))
        try:
            return decode(reply.get("value"))
        except NotPlain as error:
            raise CodeError(f"{self.name} gave back something that is not plain data: {error}") from None


def _exception(kind: str, message: str) -> BaseException:
    """The error the student's code raised, as its own class when that is a built-in or ``messagelab``'s."""
    import builtins

    module, _, name = kind.partition(":")
    try:
        found = getattr(builtins, name) if module == "builtins" else resolve(kind)
    except (ValueError, ImportError, AttributeError):
        found = None
    if isinstance(found, type) and issubclass(found, Exception):
        try:
            return found(message)
        except Exception:  # noqa: BLE001 - a class that needs other arguments
            pass
    return CodeError(message)
