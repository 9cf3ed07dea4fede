"""How messages are named: events say what happened (past tense), commands what to do (a verb).

``OrderPlaced`` is a fact any service may react to, and its publisher does not know who
does; ``ChargePayment`` asks one service to act, and may be refused. A name that mixes the
two (``OrderPlace``, ``PaymentCharging``) hides which kind of coupling it creates.

>>> [past_tense(n) for n in ("OrderPlaced", "PaymentSent", "StockUnavailable", "ChargePayment")]
[True, True, False, False]
>>> [command(n) for n in ("ChargePayment", "ReleaseStock", "OrderPlaced", "charge_payment")]
[True, True, False, False]
"""

from __future__ import annotations

import re

#: Past participles that do not end in -ed, as the last word of an event name.
IRREGULAR = frozenset({
    "Sent", "Paid", "Built", "Made", "Held", "Sold", "Lost", "Taken", "Given", "Written", "Done", "Begun",
    "Bought", "Brought", "Kept", "Left", "Met", "Put", "Read", "Run", "Set", "Shown", "Shut", "Spent",
    "Split", "Withdrawn", "Drawn", "Chosen", "Frozen", "Found", "Hidden", "Known", "Seen", "Undone",
})
_WORDS = re.compile(r"[A-Z][a-z0-9]*")
_CAMEL = re.compile(r"(?:[A-Z][a-z0-9]+)+")


def words(name: str) -> list[str]:
    """The words of a CamelCase name; empty unless ``name`` is CamelCase."""
    return _WORDS.findall(name) if isinstance(name, str) and _CAMEL.fullmatch(name) else []


def past_tense(name: str) -> bool:
    """Whether ``name`` is a CamelCase event whose last word is a past participle."""
    w = words(name)
    return len(w) >= 2 and (w[-1].endswith("ed") or w[-1] in IRREGULAR)


def command(name: str) -> bool:
    """Whether ``name`` is a CamelCase command: a verb, then what it acts on, and no past tense."""
    w = words(name)
    return len(w) >= 2 and not past_tense(name) and not w[0].endswith(("ed", "ing"))
