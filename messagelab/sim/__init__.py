"""Shared simulation helpers: random streams, run budgets, statistics, queueing theory, the model contract."""

from messagelab.sim.budget import RunBudget, RunOutcome, run
from messagelab.sim.config import FrozenConfig
from messagelab.sim.contract import Config, Model, Result
from messagelab.sim.result import SimResult
from messagelab.sim.stats import Estimate, batch_means_ci, mean_ci, percentiles, replicate
from messagelab.sim.streams import stream, streams
from messagelab.sim.validation import ConfigError, check_choice, check_number

__all__ = [
    "Config",
    "ConfigError",
    "Estimate",
    "FrozenConfig",
    "Model",
    "Result",
    "RunBudget",
    "RunOutcome",
    "SimResult",
    "batch_means_ci",
    "check_choice",
    "check_number",
    "mean_ci",
    "percentiles",
    "replicate",
    "run",
    "stream",
    "streams",
]
