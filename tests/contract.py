"""The model contract (``messagelab.sim.contract``) as one test suite that every domain runs.

As the ``eventsourcing`` library runs one suite against each persistence backend, each
domain runs this suite against its model by subclassing :class:`ModelContract` in its own
``tests/test_<domain>_contract.py``. This module is not collected itself: its class has no
``Test`` prefix, and it is abstract. A ``Test`` subclass that forgets a piece is refused
when it is defined, so pytest reports a collection error naming the piece::

    class TestQueueContract(ModelContract):
        simulate = staticmethod(queues.simulate)
        bad_values = [("consumers", 0), ("visibility_timeout_s", -1)]
        design_change = ("consumers", 8)
        arrivals = ("messages", "sent_s")       # or override workload(result)

        def config(self) -> QueueConfig:        # small: a run well under 1 s
            return QueueConfig(duration_s=20)

        def absurd_config(self) -> QueueConfig:  # would run for ever without a budget
            return QueueConfig(arrival_rate_per_s=3, duration_s=7 * 86400, consumers=1, processing_time_mean_s=1)

Every result the suite produces goes through :meth:`ModelContract.run`, which checks that
it is a ``Result`` and that its invariants hold — the truncated one included.
"""

from __future__ import annotations

import dataclasses
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import pandas as pd
import pytest

from messagelab.sim import Config, ConfigError, Result, RunBudget

SEED = 0


class ModelContract(ABC):
    """What every domain's Config, simulate and Result promise, as tests; see the module docstring."""

    #: The limits the absurd setting must be stopped by: tight, so the suite stays fast.
    budget: ClassVar[RunBudget] = RunBudget(max_events=50_000, max_wall_s=1.0)
    #: (table attribute, column) of the result holding the arrivals; or override :meth:`workload`.
    arrivals: ClassVar[tuple[str, str] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # pytest skips an abstract Test class without a word, which would pass a domain
        # that forgot a piece; refuse to define such a class instead.
        super().__init_subclass__(**kwargs)
        missing = sorted(
            name for name in ModelContract.__abstractmethods__
            if getattr(getattr(cls, name), "__isabstractmethod__", False)
        )
        if missing and cls.__name__.startswith("Test"):
            raise TypeError(f"{cls.__name__} must provide {', '.join(missing)} to run the model contract")

    # --- what a domain provides ---------------------------------------------------------

    @abstractmethod
    def simulate(self, config: Any, *, seed: int = 0, budget: RunBudget | None = None) -> Result:
        """The domain's ``simulate``; usually ``simulate = staticmethod(domain.simulate)``."""

    @abstractmethod
    def config(self) -> Config:
        """A valid configuration small enough to run well under 1 s, ideally with its faults on."""

    @abstractmethod
    def absurd_config(self) -> Config:
        """A valid configuration that would run for ever (or nearly) without a budget."""

    @property
    @abstractmethod
    def bad_values(self) -> Sequence[tuple[str, Any]]:
        """(field, value) pairs that the config must refuse with a ConfigError."""

    @property
    @abstractmethod
    def design_change(self) -> tuple[str, Any]:
        """(field, value): one change of design that must leave the workload as it was."""

    def workload(self, result: Any) -> pd.Series | pd.DataFrame:
        """What the design must not change under one seed: by default the ``arrivals`` column."""
        if self.arrivals is None:
            raise NotImplementedError("set arrivals = (table, column) or override workload(result)")
        table, column = self.arrivals
        return getattr(result, table)[column]

    # --- helpers ------------------------------------------------------------------------

    def run(self, config: Config, *, seed: int = SEED, budget: RunBudget | None = None) -> Result:
        """Simulate, and check that the result is a Result whose invariants hold."""
        result = self.simulate(config, seed=seed, budget=budget)
        assert isinstance(result, Result), f"{type(result).__name__} lacks part of the Result protocol"
        result.check_invariants()
        return result

    def designed(self) -> Config:
        """The small config with the design change applied."""
        field, value = self.design_change
        return self.config().replace(**{field: value})

    # --- the config ---------------------------------------------------------------------

    def test_configs_follow_the_config_protocol(self):
        for config in (self.config(), self.absurd_config(), self.designed()):
            assert isinstance(config, Config), f"{type(config).__name__} lacks replace or to_dict"

    def test_a_config_cannot_be_changed_in_place(self):
        config = self.config()
        field, value = self.design_change
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(config, field, value)

    def test_a_bad_value_is_refused_naming_the_field_the_value_and_what_is_allowed(self):
        assert self.bad_values, "the suite needs at least one bad value"
        config = self.config()
        misses = []
        for field, value in self.bad_values:
            for how, build in (
                ("constructor", lambda f=field, v=value: type(config)(**{**config.to_dict(), f: v})),
                ("replace", lambda f=field, v=value: config.replace(**{f: v})),
            ):
                try:
                    build()
                except ConfigError as e:
                    message = str(e)
                    if field not in message or repr(value) not in message or not e.allowed or e.allowed not in message:
                        misses.append(f"{how}({field}={value!r}) said {message!r}")
                else:
                    misses.append(f"{how}({field}={value!r}) was accepted")
        assert not misses, "bad values not refused clearly:\n" + "\n".join(misses)

    def test_replace_refuses_an_unknown_field_and_names_the_allowed_ones(self):
        config = self.config()
        with pytest.raises(ConfigError) as refused:
            config.replace(no_such_setting_s=1)
        message = str(refused.value)
        assert "no_such_setting_s" in message
        assert all(name in message for name in config.to_dict()), message

    def test_replace_returns_a_validated_copy_and_leaves_the_original(self):
        field, value = self.design_change
        config = self.config()
        before = config.to_dict()
        changed = self.designed()
        assert getattr(changed, field) == value
        assert getattr(config, field) != value, "the design change must change the design"
        assert config.to_dict() == before

    def test_to_dict_round_trips_through_the_constructor(self):
        for config in (self.config(), self.absurd_config(), self.designed()):
            assert type(config)(**config.to_dict()) == config

    # --- simulate -----------------------------------------------------------------------

    def test_the_same_config_and_seed_give_the_same_summary_and_tables(self):
        first, second = self.run(self.config()), self.run(self.config())
        pd.testing.assert_series_equal(pd.Series(first.summary), pd.Series(second.summary))
        tables = _tables(first)
        assert tables, "a result holds its time series and records as pandas DataFrames"
        for name, table in tables.items():
            pd.testing.assert_frame_equal(table, getattr(second, name), obj=name)

    def test_another_seed_is_another_day(self):
        one, two = (self.workload(self.run(self.config(), seed=seed)) for seed in (SEED + 1, SEED + 2))
        assert not one.equals(two), "seeds 1 and 2 drew the same workload"

    def test_a_design_change_leaves_the_workload_unchanged_under_one_seed(self):
        base, changed = self.run(self.config()), self.run(self.designed())
        _assert_same(self.workload(base), self.workload(changed))
        assert not pd.Series(base.summary).equals(pd.Series(changed.summary)), (
            "the design change made no difference to the summary, so this test proves nothing"
        )

    def test_invariants_hold_on_every_seed(self):
        for seed in range(SEED, SEED + 3):
            self.run(self.config(), seed=seed)
            self.run(self.designed(), seed=seed)

    def test_a_budget_turns_an_absurd_setting_into_a_truncated_answer(self):
        start = time.perf_counter()
        result = self.run(self.absurd_config(), budget=self.budget)
        elapsed = time.perf_counter() - start
        # Generous: the run itself stops at max_wall_s; building the result and a loaded
        # machine add the rest.
        assert elapsed < self.budget.max_wall_s + 2, f"took {elapsed:.1f} s"
        assert result.truncated and result.outcome.reason
        assert result.outcome.events <= self.budget.max_events

    # --- the result ---------------------------------------------------------------------

    def test_every_summary_metric_has_a_unit(self):
        result = self.run(self.config())
        metrics = list(pd.Series(result.summary).index)
        missing = [m for m in metrics if not isinstance(result.units.get(m), str) or not result.units[m]]
        assert not missing, f"no unit for {missing}"
        stale = sorted(set(result.units) - set(metrics))
        assert not stale, f"units for metrics the summary does not have: {stale}"
        table = result.summary_table()
        assert list(table.columns) == ["metric", "value", "unit"]
        assert list(table["metric"]) == metrics
        assert list(table["unit"]) == [result.units[m] for m in metrics]


def _tables(result: Result) -> dict[str, pd.DataFrame]:
    """The result's pandas tables by attribute name."""
    return {name: value for name, value in vars(result).items() if isinstance(value, pd.DataFrame)}


def _assert_same(a: pd.Series | pd.DataFrame, b: pd.Series | pd.DataFrame) -> None:
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
    else:
        pd.testing.assert_series_equal(a, b)
