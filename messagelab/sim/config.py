"""The base every domain's configuration derives from: frozen, validated, replaceable.

A configuration is a value: once built it cannot change, so the explorer, the student's
design and the hidden tests that share one cannot disturb each other. Every way of making
one — the constructor, :meth:`FrozenConfig.replace`, a dict read back from ``to_dict`` —
passes through ``__post_init__`` and so through the domain's :meth:`~FrozenConfig.validate`,
which is why no invalid configuration ever reaches a simulation.

>>> from dataclasses import dataclass
>>> from messagelab.sim.validation import check_number
>>> @dataclass(frozen=True)
... class Pipe(FrozenConfig):
...     rate_per_s: float = 1.0
...     def validate(self) -> None:
...         check_number("rate_per_s", self.rate_per_s, 0, 100, low_open=True, unit="msg/s")
>>> Pipe().replace(rate_per_s=5.0)
Pipe(rate_per_s=5.0)
>>> for change in ({"rate_per_s": 500}, {"rate_per_sec": 5}):
...     try:
...         Pipe().replace(**change)
...     except ConfigError as e:
...         print(e)
rate_per_s = 500 is not allowed: expected a number > 0 and ≤ 100 msg/s
rate_per_sec = 5 is not allowed: expected a field of Pipe: rate_per_s (did you mean rate_per_s?)
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any, Self

from messagelab.sim.validation import ConfigError


class FrozenConfig:
    """Base of a domain's ``XxxConfig``; subclasses are declared with ``@dataclass(frozen=True)``.

    A subclass lists its fields (units in their names: ``visibility_timeout_s``) and overrides
    :meth:`validate`; it inherits :meth:`replace` and :meth:`to_dict`.
    """

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`~messagelab.sim.validation.ConfigError` for a value the modelled system refuses.

        Called on every construction. The base accepts anything; a domain checks each field
        with ``check_number``/``check_choice`` against the limits its real system documents,
        and refuses a run too large to simulate in a budget.
        """

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` applied and validated; an unknown field is a ConfigError.

        Unknown names are refused rather than ignored because a misspelt setting
        (``visibility_timeout`` for ``visibility_timeout_s``) would otherwise leave the
        design silently unchanged.
        """
        names = [f.name for f in dataclasses.fields(self)]
        unknown = sorted(set(changes) - set(names))
        if unknown:
            guesses = difflib.get_close_matches(unknown[0], names, n=1)
            raise ConfigError(
                ", ".join(unknown),
                changes[unknown[0]],
                f"a field of {type(self).__name__}: " + ", ".join(names),
                f"did you mean {guesses[0]}?" if guesses else "",
            )
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Every field by name: ``type(config)(**config.to_dict()) == config``."""
        return dataclasses.asdict(self)
