"""Exercise 01, Message Queue Implementation Strategy: ShopFast's orders on Black Friday.

Everything the exercise adds in Python: its scenario (workload, faults, targets), the
checks its test cells call, and its graded cells. The notebook reads its numbers from
``SCENARIO``; solutions and checks compute from it too.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from messagelab.grading import (
    Evaluation,
    check_between,
    check_close,
    config_from,
    design_changes,
    evaluate,
    fmt,
    plain_number,
    require,
    student_check,
)
from messagelab.queues.config import QueueConfig
from messagelab.queues.describe import workload_frame as _workload_frame
from messagelab.queues.model import service_times, simulate
from messagelab.queues.monitoring import METRICS, QueueAlarm, breach_time_s
from messagelab.sim.scenario import Scenario, Target
from messagelab.sim.streams import stream
from messagelab.sim.validation import ConfigError

ID = "ex01-message-queues"

#: Every graded cell of the notebook: grade_id -> (cell type, points). The grade id's
#: prefix is its criterion (``arch-``, ``sys-``, ``biz-``, ``comm-``); a test compares this
#: table with the source notebook.
GRADES: dict[str, tuple[str, float]] = {
    "sys-capacity-littles-law": ("code", 2),
    "sys-consumers-needed": ("code", 2),
    "arch-visibility-timeout": ("code", 2),
    "arch-queue-design": ("code", 6),
    "sys-monitoring-alarms": ("code", 4),
    "arch-diagram": ("markdown", 4),
    "arch-rationale": ("markdown", 4),
    "biz-impact": ("markdown", 4),
    "biz-roadmap": ("markdown", 3),
    "sys-risks": ("markdown", 3),
    "comm-summary": ("markdown", 3),
}

#: The settings a student designs; everything else in QueueConfig is the scenario's.
DESIGN_FIELDS = (
    "queue_type",
    "fifo_high_throughput",
    "message_groups",
    "consumers",
    "visibility_timeout_s",
    "max_receive_count",
    "receive_batch_size",
    "wait_time_s",
    "idempotent_consumer",
)
#: The settings a design must state; the FIFO-only ones default to SQS's own.
REQUIRED_FIELDS = tuple(f for f in DESIGN_FIELDS if f not in ("fifo_high_throughput", "message_groups"))

#: ShopFast's order pipeline on Black Friday, time compressed: one minute of normal
#: trading, one minute at ten times the order rate, one more minute of normal trading,
#: then a minute for the consumers to drain the queue.
SCENARIO = Scenario(
    name="ShopFast Black Friday",
    config=QueueConfig(
        arrival_rate_per_s=4.0,
        duration_s=180.0,
        drain_s=60.0,
        spike_multiplier=10.0,
        spike_start_s=60.0,
        spike_duration_s=60.0,
        processing_time_mean_s=0.4,
        processing_time_distribution="lognormal",
        processing_time_cv=1.0,
        failure_rate=0.02,
        poison_rate=0.002,
        crash_rate=0.001,
        consumer_restart_s=20.0,
        producer_retry_rate=0.01,
        producer_retry_delay_s=1.0,
        duplicate_delivery_rate=0.001,
        request_latency_s=0.02,
        consumers=4,
        sample_interval_s=2.0,
    ),
    targets=(
        Target("latency_p99_s", 10.0, "p99 order confirmation time", "s",
               hint="More consumers shorten the queue at the peak; a shorter visibility "
                    "timeout retries failed orders sooner."),
        Target("valid_orders_lost", 0, "valid orders dead-lettered or never confirmed", "orders",
               hint="A good order whose payment failed once deserves another try before the DLQ, "
                    "and the consumers must keep up with the peak."),
        Target("expired", 0, "orders expired unprocessed", "orders",
               hint="Raise the retention period or give poison orders a dead-letter queue."),
        Target("still_queued", 0, "orders still waiting after the drain minute", "orders",
               hint="The consumers cannot keep up: add consumers or check the visibility timeout."),
        Target("duplicates_processed", 0, "customers charged twice", "orders",
               hint="At-least-once delivery means some orders arrive twice: make the consumer "
                    "idempotent."),
        Target("poison_time_to_dlq_max_s", 120.0, "time for a poison order to reach the DLQ", "s",
               hint="Attach a dead-letter queue; max_receive_count × visibility timeout bounds "
                    "the time a poison order keeps failing.",
               missing="a poison order never reached it"),
        Target("cost_per_day_usd", 40.0, "daily cost at this traffic", "USD",
               hint="Long polling removes most empty receives; idle consumers cost money too."),
    ),
    design_fields=DESIGN_FIELDS,
    variants={
        # The forecast was wrong: an influencer shares a discount code and the peak is 25 times
    # normal trading instead of 10.
        "incident": dict(spike_multiplier=25.0),
        # A bad deploy upstream: one order in twenty is malformed.
        "poison_burst": dict(poison_rate=0.05),
    },
)

LATENCY_TARGET_S = next(t.limit for t in SCENARIO.targets if t.metric == "latency_p99_s")
UTILISATION_CAP = 0.75
VISIBLE_SEEDS = (0, 1, 2)
TRACE_SIZE = 20_000


def workload_frame() -> pd.DataFrame:
    """The facts of the workload a design must survive, as a table."""
    return _workload_frame(SCENARIO.config)


def peak_rate_per_s() -> float:
    return SCENARIO.config.peak_arrival_rate_per_s


def consumer_time_per_order_s() -> float:
    """Mean consumer time one order takes: processing plus the receive round trip."""
    return SCENARIO.config.processing_time_mean_s + SCENARIO.config.request_latency_s


def processing_trace(size: int = TRACE_SIZE, seed: int = 2024) -> pd.Series:
    """Processing times (s) measured on last year's orders: the data to size timeouts from."""
    times = service_times(SCENARIO.config, stream(seed, "trace"), size)
    return pd.Series(np.round(times, 4), name="processing_time_s")


def _trace_quantile(q: float) -> float:
    return float(processing_trace().quantile(q))


# --- capacity ------------------------------------------------------------------------------
@student_check("busy_consumers_at_peak agrees with Little's law at the peak.")
def check_busy_consumers(value: Any) -> None:
    """Little's law at the peak: busy consumers L = λ W."""
    expected = peak_rate_per_s() * consumer_time_per_order_s()
    check_close("busy_consumers_at_peak", value, expected, 0.02,
                hint="Little's law: L = λ × W, with λ in orders per second and W the consumer "
                     "time one order takes in seconds.")


@student_check("consumers_needed is the fewest consumers within the utilisation cap.")
def check_consumers_needed(value: Any) -> None:
    """The fewest consumers keeping peak utilisation at or below the cap."""
    busy = peak_rate_per_s() * consumer_time_per_order_s()
    expected = math.ceil(busy / UTILISATION_CAP - 1e-9)
    x = plain_number("consumers_needed", value)
    if x != int(x):
        raise AssertionError(f"consumers_needed = {x:g}: consumers come in whole numbers.")
    if x < expected:
        raise AssertionError(f"consumers_needed = {x:g} is too few: utilisation (busy ÷ consumers) would be "
                             f"above {UTILISATION_CAP:.0%} at the peak.")
    if x > expected:
        raise AssertionError(f"consumers_needed = {x:g} keeps utilisation under {UTILISATION_CAP:.0%}, "
                             "but fewer consumers would too: find the fewest.")


# --- visibility timeout ---------------------------------------------------------------------
def visibility_timeout_range_s() -> tuple[float, float]:
    """Long enough for 99.9% of orders; short enough that a failed order's retry ends in time.

    An order whose payment fails waits out the timeout, then its retry takes a receive and
    its own processing: the timeout plus the trace's 99th percentile and one round trip must
    fit within the latency target.
    """
    retry_s = _trace_quantile(0.99) + SCENARIO.config.request_latency_s
    return _trace_quantile(0.999), LATENCY_TARGET_S - retry_s


@student_check("visibility_timeout_s outlasts nearly every order and still leaves time for a retry.")
def check_visibility_timeout(value: Any) -> None:
    low, high = visibility_timeout_range_s()
    check_between("visibility_timeout_s", value, low, high,
                  too_small="Slow orders would still be processing when it runs out, and come back.",
                  too_large="An order whose payment failed waits this long, then its retry needs time "
                            "of its own, all within the latency target.",
                  hint="Read it off the processing-time trace.")


# --- the full design ------------------------------------------------------------------------
def design_config(design: Any, **scenario_changes: Any):
    changes = design_changes(design, DESIGN_FIELDS, REQUIRED_FIELDS)
    return config_from(SCENARIO.config.replace(**scenario_changes), changes)


def evaluate_design(design: Any, seeds=VISIBLE_SEEDS, **scenario_changes: Any) -> Evaluation:
    """Run the design through the Black Friday scenario under ``seeds``."""
    return evaluate(simulate, design_config(design, **scenario_changes), SCENARIO.targets, seeds)


#: What each variant's day is called in feedback, and the targets it is held to.
VARIANT_DAYS = {
    "poison_burst": ("During a burst of malformed orders", lambda t: t.metric != "cost_per_day_usd"),
    "incident": ("During an unforecast surge", lambda t: True),
}


@student_check("The design meets every business target.")
def check_design(design: Any, seeds=VISIBLE_SEEDS, variant: str | None = None) -> None:
    """The design through Black Friday under ``seeds``, or through one of the scenario's variants."""
    if variant is None:
        require(evaluate_design(design, seeds))
        return
    day, held = VARIANT_DAYS[variant]
    ev = evaluate(simulate, design_config(design, **SCENARIO.variants[variant]),
                  [t for t in SCENARIO.targets if held(t)], seeds)
    if not ev.passed:
        raise AssertionError(f"{day}: " + ev.explain())


# --- monitoring -----------------------------------------------------------------------------
def _alarms(alarms: Any) -> list[QueueAlarm]:
    if type(alarms) is not list or not alarms:
        raise AssertionError("alarms must be a non-empty list of dicts")
    try:
        return [QueueAlarm.from_dict(a) for a in alarms]
    except ConfigError as e:
        raise AssertionError(f"an alarm is not valid: {e}. Metrics: {', '.join(METRICS)}") from None


#: How an alarm fires, said wherever a student wonders why one did not.
ALARM_RULE = ("An alarm fires when its metric is above the threshold (strictly: a depth of 1 is above "
              "a threshold of 0, not of 1) for `periods` consecutive 2-second samples.")


def monitoring_report(alarms: Any, design: Any, seed: int = 0):
    """When each alarm fires on a normal Black Friday and on one with an unforecast surge.

    A table for reading: times in seconds, "never" where an alarm never fires (or no order is
    late, or none reaches the DLQ). :func:`monitoring_times` holds the same numbers.
    """
    table = monitoring_times(alarms, design, seed)
    times = [c for c in table.columns if c.endswith(" at s")]
    return table.drop(columns="metric").style.format(fmt, subset=times).hide(axis="index")


def monitoring_times(alarms: Any, design: Any, seed: int = 0) -> pd.DataFrame:
    """The numbers of :func:`monitoring_report`: NaN where something never happens."""
    checked = _alarms(alarms)
    normal = simulate(design_config(design), seed=seed)
    incident = simulate(design_config(design, **SCENARIO.variants["incident"]), seed=seed)
    breach = breach_time_s(incident.messages, LATENCY_TARGET_S, incident.outcome.sim_time_s)
    first_dead = normal.summary["dlq_time_to_first_s"]
    rows = []
    for a in checked:
        rows.append({
            "alarm": f"{a.metric} > {a.threshold:g} for {a.periods} period(s)",
            "metric": a.metric,
            "normal day fires at s": a.first_alarm_s(normal.timeseries),
            "incident fires at s": a.first_alarm_s(incident.timeseries),
            "incident breach at s": breach,
            "first dead letter at s": first_dead,
        })
    return pd.DataFrame(rows)


@student_check("The alarms page before customers notice, stay quiet on a handled day and watch the DLQ.")
def check_monitoring(alarms: Any, design: Any, seed: int = 0) -> None:
    """A page before customers notice, no page for an expected spike, and DLQ visibility."""
    table = monitoring_times(alarms, design, seed)
    dlq = table[table["metric"].str.startswith("DLQ.")]
    flow = table[~table["metric"].str.startswith("DLQ.")]
    problems = []
    if flow.empty:
        problems.append("no alarm watches the main queue (age or depth of its messages)")
    else:
        false_pages = flow[flow["normal day fires at s"].notna()]
        if len(false_pages):
            problems.append("these alarms page on a normal Black Friday that the design handles: "
                            + "; ".join(false_pages["alarm"]))
        fired = flow["incident fires at s"]
        breach = float(table["incident breach at s"].iloc[0])
        end = SCENARIO.config.spike_start_s + SCENARIO.config.spike_duration_s
        if fired.isna().all():
            problems.append("no alarm fires during the unforecast surge")
        elif not math.isnan(breach) and not (fired <= breach).any():
            problems.append(f"the first order is late at {breach:.0f} s, but the earliest alarm "
                            f"fires at {fired.min():.0f} s: customers notice before you do")
        elif math.isnan(breach) and not (fired <= end).any():
            problems.append("no alarm fires while the incident lasts")
    first_dead = float(table["first dead letter at s"].iloc[0])
    if dlq.empty:
        problems.append("no alarm watches the dead-letter queue")
    elif not math.isnan(first_dead):
        fired = dlq["normal day fires at s"]
        if not (fired <= first_dead + 2 * SCENARIO.config.sample_every_s).any():
            problems.append(f"an order reaches the DLQ at {first_dead:.0f} s but no DLQ alarm "
                            "fires within two samples")
    if problems:
        raise AssertionError("The monitoring design falls short:\n- " + "\n- ".join(problems)
                             + f"\n{ALARM_RULE}")
