"""Numbers as people read them: the one rule for explorers, feedback and reports.

>>> fmt(1083.4, "orders"), fmt(10.437, "s"), fmt(0.02, "s"), fmt(float("nan"), "s")
('1,083 orders', '10.4 s', '0.02 s', 'never')
>>> fmt(31.2, "USD"), fmt(0.563), fmt(12)
('31.20 USD', '0.56', '12')
>>> count(1, "order"), count(2_500, "order"), count(0, "valid order"), count(1, "replica", "replicas")
('1 order', '2,500 orders', '0 valid orders', '1 replica')
"""

from __future__ import annotations

import math
from typing import Any

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


def count(value: Any, noun: str, plural: str | None = None) -> str:
    """``value`` as :func:`fmt` writes it, then ``noun``, made plural unless ``value`` is 1.

    The plural is ``noun + "s"`` unless given (``count(n, "bus", "buses")``).
    """
    one = isinstance(value, int | float) and not isinstance(value, bool) and float(value) == 1
    return fmt(value, noun if one else (plural or noun + "s"))


def text_table(frame: Any) -> Any:
    """``frame`` as a notebook shows it in full: a DataFrame cuts text at 50 characters, a Styler does not.

    Text columns are left-aligned; the index stays (it names the rows) unless it is a plain range.
    """
    import pandas as pd

    styler = frame.style
    if isinstance(frame.index, pd.RangeIndex):
        styler = styler.hide(axis="index")
    text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    return styler.set_properties(subset=text, **{"text-align": "left"})
