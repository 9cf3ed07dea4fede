"""How checks speak to students: numbers as people read them, a ✓ on a pass, no grader internals.

Every assignment's checks are wrapped with :func:`student_check`. A check that passes prints
one ``✓`` line saying what was checked; a check that fails shows its message and nothing of
the grader: the failure is raised again without its chain, so the check's own frames (its
source, the values it compares with) are not in the traceback, and in IPython (a notebook's
kernel) such a failure is shown as its message alone, without the wrapper's frame either.

:func:`fmt` is the one formatting rule for numbers in feedback, reports and explorers:

>>> fmt(1083.4, "orders"), fmt(10.437, "s"), fmt(0.02, "s"), fmt(float("nan"), "s")
('1,083 orders', '10.4 s', '0.02 s', 'never')
>>> fmt(31.2, "USD"), fmt(0.563), fmt(12)
('31.20 USD', '0.56', '12')
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

#: What a missing value (NaN, None) reads as: the event never happened in the run.
NEVER = "never"


def fmt(value: Any, unit: str = "", *, missing: str = NEVER) -> str:
    """``value`` with ``unit`` as a person reads it.

    Whole numbers and anything of 100 or more get thousands separators and no decimals;
    amounts in USD get cents; other numbers one decimal from 1 up, two significant digits
    below. NaN, infinity and None read as ``missing`` (``"never"`` unless told).
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return missing
    if isinstance(value, bool) or not isinstance(value, int | float):
        text = str(value)
    else:
        x = float(value)
        if unit.upper() in ("USD", "USD/DAY"):
            text = f"{x:,.2f}"
        elif x == int(x) or abs(x) >= 100:
            text = f"{x:,.0f}"
        elif abs(x) >= 1:
            text = f"{x:.1f}"
        else:
            text = f"{x:.2g}"
    return f"{text} {unit}" if unit else text


def _failure(message: str) -> AssertionError:
    """An AssertionError that IPython shows as its message alone (its ``_render_traceback_``)."""
    failure = AssertionError(message)
    failure._render_traceback_ = lambda: [f"AssertionError: {message}"]  # type: ignore[attr-defined]
    return failure


def student_check(passed: str) -> Callable[[F], F]:
    """Make ``check`` a student-facing check: print ``✓ passed`` when it passes; hide its frames.

    A failing check raises ``AssertionError`` with its own message, raised again from this
    wrapper without context, so neither the check's source nor a chained exception shows;
    any other exception (an answer the check cannot read) fails the same way, with its type.
    """

    def wrap(check: F) -> F:
        @functools.wraps(check)
        def run(*args: Any, **kwargs: Any) -> None:
            __tracebackhide__ = True  # noqa: F841 - read by pytest (and IPython) to hide this frame
            try:
                check(*args, **kwargs)
            except AssertionError as failure:
                raise _failure(str(failure)) from None
            except Exception as error:  # noqa: BLE001 - an answer the check cannot read fails, plainly
                raise _failure(f"this answer could not be checked ({type(error).__name__}: {error})") from None
            print(f"✓ {passed}")

        return run  # type: ignore[return-value]

    return wrap
