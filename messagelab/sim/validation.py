"""Configuration errors that say what is wrong: the field, the value, what is allowed."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

#: The most messages, orders or records one run may simulate: more would not answer a slider in time.
MAX_RUN_ITEMS = 2_000_000


class ConfigError(ValueError):
    """A configuration value outside what the modelled system allows.

    >>> raise ConfigError("visibility_timeout_s", -1, "0 to 43200 (12 h)")
    Traceback (most recent call last):
    ...
    messagelab.sim.validation.ConfigError: visibility_timeout_s = -1 is not allowed: expected 0 to 43200 (12 h)
    """

    def __init__(self, field: str, value: Any, allowed: str, why: str = "") -> None:
        self.field, self.value, self.allowed, self.why = field, value, allowed, why
        message = f"{field} = {value!r} is not allowed: expected {allowed}"
        if why:
            message += f" ({why})"
        super().__init__(message)


def check_number(
    field: str,
    value: Any,
    low: float,
    high: float,
    *,
    integer: bool = False,
    low_open: bool = False,
    unit: str = "",
    why: str = "",
) -> None:
    """Raise ConfigError unless ``low <= value <= high`` (``low < value`` if ``low_open``)."""
    kind = "a whole number" if integer else "a number"
    allowed = f"{kind} {'>' if low_open else '≥'} {low:g} and ≤ {high:g}" + (f" {unit}" if unit else "")
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise ConfigError(field, value, allowed, why)
    try:
        as_float = float(value)
    except OverflowError:
        raise ConfigError(field, value, allowed, why) from None
    if integer and not as_float.is_integer():
        raise ConfigError(field, value, allowed, why)
    if not math.isfinite(as_float) or value > high or value < low or (low_open and value == low):
        raise ConfigError(field, value, allowed, why)


def check_choice(field: str, value: Any, choices: Iterable[Any], why: str = "") -> None:
    """Raise ConfigError unless ``value`` is one of ``choices``."""
    choices = tuple(choices)
    # Same type as well as equal: 1 is not True, 0.0 is not "standard".
    if not any(type(value) is type(c) and value == c for c in choices):
        raise ConfigError(field, value, "one of " + ", ".join(repr(c) for c in choices), why)


def check_run_size(field: str, value: Any, expected: float, what: str, *, allowed: str = "a shorter run",
                   limit: int = MAX_RUN_ITEMS) -> None:
    """Raise ConfigError on ``field`` when a run would simulate about ``expected`` ``what``, over ``limit``.

    >>> try:
    ...     check_run_size("duration_s", 86400, 4.3e6, "messages")
    ... except ConfigError as e:
    ...     print(e.field, "|", e.allowed, "|", e.why)
    duration_s | a shorter run | about 4,300,000 messages would be simulated; the limit is 2,000,000
    """
    if expected > limit:
        why = f"about {expected:,.0f} {what} would be simulated; the limit is {limit:,}"
        raise ConfigError(field, value, allowed, why)
