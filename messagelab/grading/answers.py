"""Answers as plain values, and the checks that compare them with what the numbers give.

A design is plain data — a dict of numbers, strings, booleans and None — so that it can be
checked again outside the student's kernel. Every failure is an AssertionError whose
message says what is wrong and which way to go.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from messagelab.sim.validation import ConfigError

_NUMPY_INTS = (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64)


def plain(name: str, value: Any) -> Any:
    """``value`` as plain data (bool, int, float, str or None), or a clear failure.

    Numbers are copied out through the built-in types' own methods (numpy scalars are
    welcome), so an object with a doctored ``__eq__`` or ``__float__`` earns nothing.
    """
    kind = type(value)
    if kind is bool or kind is str or value is None:
        return value
    if isinstance(value, bool | np.bool_):
        return bool(value.item()) if kind is np.bool_ else value
    if isinstance(value, float):
        value = float.__float__(value)
    elif isinstance(value, int):
        value = int.__int__(value)
    elif kind in _NUMPY_INTS:
        value = int(value.item())
    else:
        raise AssertionError(
            f"{name} must be a plain number, string, True/False or None, not {kind.__name__}"
        )
    if type(value) is float and not math.isfinite(value):
        raise AssertionError(f"{name} = {value!r} is not a finite number")
    return value


def plain_number(name: str, value: Any) -> float:
    """A finite int or float answer, as a float."""
    value = plain(name, value)
    if type(value) not in (int, float):
        raise AssertionError(f"{name} must be a number, got {value!r}")
    return float(value)


def check_close(name: str, value: Any, expected: float, rel_tol: float = 0.05, hint: str = "") -> None:
    """Assert a numeric answer is within ``rel_tol`` of ``expected``; the message says which way.

    Only the direction is given, never how far: a distance would let one wrong guess
    compute the answer.
    """
    x = plain_number(name, value)
    if not math.isclose(x, expected, rel_tol=rel_tol):
        side = "too high" if x > expected else "too low"
        raise AssertionError(
            f"{name} = {x:g} is {side} (more than ±{rel_tol:.0%} from what the numbers give). {hint}".rstrip()
        )


def check_count(name: str, value: Any, expected: int, why: str, *, too_many: str = "too many",
                too_few: str = "too few") -> None:
    """Assert a whole-number answer is exactly ``expected``, saying which way it missed and ``why``.

    ``why`` follows the side after a colon, or after a semicolon when the side carries a reason
    of its own ("too few: the brokers could not take them all; …").
    """
    x = plain_number(name, value)
    if x != expected:
        side = too_many if x > expected else too_few
        raise AssertionError(f"{name} = {x:g} is {side}{'; ' if ':' in side else ': '}{why}")


def check_between(name: str, value: Any, low: float, high: float, hint: str = "",
                  too_small: str = "", too_large: str = "") -> None:
    """Assert ``low <= value <= high`` for a numeric answer, saying which side it missed.

    The message names the side and, in ``too_small`` / ``too_large``, what goes wrong there;
    it never states the bound itself.
    """
    x = plain_number(name, value)
    for missed, side, why in ((x < low, "too small", too_small), (x > high, "too large", too_large)):
        if missed:
            raise AssertionError(" ".join(part for part in (f"{name} = {x:g} is {side}.", why, hint) if part))


def design_changes(design: Any, allowed: Iterable[str], required: Iterable[str] = (),
                   lists: Iterable[str] = ()) -> dict[str, Any]:
    """Validate a design dict: only the design's own fields, each a plain value, ``required`` all there.

    The fields named in ``lists`` hold lists of plain values instead (a saga's steps).
    """
    if type(design) is not dict:
        raise AssertionError(f"the design must be a dict of settings, not {type(design).__name__}")
    allowed, lists = tuple(allowed), frozenset(lists)
    changes = {}
    for key, value in design.items():
        if type(key) is not str or key not in allowed:
            raise AssertionError(
                f"{key!r} is not a design setting here; the settings you choose are: "
                + ", ".join(allowed)
                + " (the workload and faults belong to the scenario)"
            )
        if key in lists:
            if type(value) is not list and type(value) is not tuple:
                raise AssertionError(f"{key} must be a list, not {type(value).__name__}")
            changes[key] = [plain(f"{key}[{i}]", item) for i, item in enumerate(value)]
        else:
            changes[key] = plain(key, value)
    missing = [name for name in required if name not in changes]
    if missing:
        raise AssertionError(f"the design leaves out {', '.join(missing)}: give every setting the table "
                             "lists, so that nothing is chosen for you by default")
    return changes


def config_from(base: Any, changes: Mapping[str, Any]) -> Any:
    """``base.replace(**changes)`` turning a ConfigError into a student-readable failure."""
    try:
        return base.replace(**changes)
    except ConfigError as e:
        raise AssertionError(f"the design is not a valid configuration: {e}") from None
