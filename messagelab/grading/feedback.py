"""How checks speak to students: a ✓ on a pass, the reason on a miss, no grader internals.

Every assignment's checks are wrapped with :func:`student_check`. A check that passes prints
one ``✓`` line saying what was checked; a check that fails shows its message and nothing of
the grader: the failure is raised again without its chain, so the check's own frames (its
source, the values it compares with) are not in the traceback, and in IPython (a notebook's
kernel) such a failure is shown as its message alone, without the wrapper's frame either.

Numbers in feedback are formatted by :func:`messagelab.sim.display.fmt`, the rule the
explorers use too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


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
