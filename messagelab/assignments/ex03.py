"""Exercise 03, High-Throughput Streaming Architecture: Aeolus streams its turbines' vibration.

Everything the exercise adds in Python: its scenario (the telemetry, the cluster's prices,
the business targets, a broker failure and tenfold growth), the checks its test cells call,
and its graded cells. The notebook reads its numbers from ``SCENARIO``; solutions and checks
compute from it too.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from messagelab.grading import (
    check_count,
    config_from,
    design_changes,
    evaluate,
    plain,
    require,
    student_check,
)
from messagelab.grading.evaluate import Evaluation
from messagelab.sim.display import fmt, text_table
from messagelab.sim.scenario import Scenario, Target, targets_frame
from messagelab.streaming import StreamConfig, simulate
from messagelab.streaming.cluster import partition_rates
from messagelab.streaming.keys import partition_shares

ID = "ex03-high-throughput-streaming"

#: Every graded cell of the notebook: grade_id -> (cell type, points).
GRADES: dict[str, tuple[str, float]] = {
    "sys-partition-count": ("code", 2),
    "arch-record-key": ("code", 3),
    "arch-cluster-design": ("code", 6),
    "sys-growth-plan": ("code", 4),
    "arch-diagram": ("markdown", 4),
    "arch-rationale": ("markdown", 5),
    "biz-impact": ("markdown", 4),
    "biz-roadmap": ("markdown", 3),
    "sys-risks": ("markdown", 3),
    "comm-summary": ("markdown", 3),
}

SENSORS = 200_000
TURBINES = 20_000
FARMS = 60
MODELS = 6
GROWTH = 10

#: What each record key means for the partitioner: how many keys, and how unequal their traffic is.
#: A sensor sends one reading a second, so sensors and turbines (ten sensors each) are equal;
#: wind farms range from a few turbines to hundreds (Zipf), and two turbine models dominate the fleet.
KEYS: dict[str, dict[str, Any]] = {
    "sensor id": dict(partitioner="key-hash", key_count=SENSORS, key_skew=0.0),
    "turbine id": dict(partitioner="key-hash", key_count=TURBINES, key_skew=0.0),
    "wind farm": dict(partitioner="key-hash", key_count=FARMS, key_skew=1.0),
    "turbine model": dict(partitioner="key-hash", key_count=MODELS, key_skew=1.2),
    "no key": dict(partitioner="sticky"),
}
#: The keys that hold every reading of one sensor together, so the alarm sees them in order.
ORDERED_KEYS = ("sensor id", "turbine id", "wind farm", "turbine model")

#: The cluster, producer and consumer settings a design chooses (plus its record key).
CONFIG_FIELDS = ("partitions", "consumers", "brokers", "replication_factor", "min_insync_replicas", "acks",
                 "enable_idempotence", "linger_ms", "batch_size_bytes", "compression")
DESIGN_FIELDS = ("key", *CONFIG_FIELDS)

#: Aeolus at the evening peak, time compressed: thirty seconds of every sensor sending a
#: reading a second. The starting design is the pilot's: three brokers, twelve partitions
#: keyed by wind farm, two replicas acknowledged by the leader alone.
SCENARIO = Scenario(
    name="Aeolus turbine telemetry",
    config=StreamConfig(
        records_per_s=float(SENSORS),
        record_bytes=250,
        duration_s=30.0,
        producers=50,
        brokers=3,
        broker_network_mb_s=300.0,
        broker_disk_mb_s=250.0,
        broker_storage_gb=6000.0,
        retention_hours=24.0,
        daily_average_fraction=0.6,
        broker_usd_per_hour=0.384,
        storage_usd_per_gb_month=0.08,
        consumer_usd_per_hour=0.05,
        processing_ms_per_record=0.08,
        partitions=12,
        consumers=12,
        replication_factor=2,
        min_insync_replicas=1,
        acks="1",
        enable_idempotence=False,
        linger_ms=5.0,
        batch_size_bytes=16_384,
        compression="none",
        **KEYS["wind farm"],
    ),
    targets=(
        Target("latency_p99_s", 2.0, "vibration readings reaching the alarm (99th percentile)", "s",
               hint="The alarm keeps up only if no consumer owns more readings than it can process: look at "
                    "the hottest partition and at how the partitions are shared among the consumers.",
               missing="no reading reached the alarm"),
        Target("consumer_utilisation_max", 0.9, "the busiest alarm instance's share of its capacity at the peak",
               "", hint="An instance that is always busy never catches up after a pause: keep headroom, and "
                        "give every instance the same share of the partitions."),
        Target("records_lost", 0, "acknowledged readings lost", "readings",
               hint="A reading acknowledged before every in-sync replica has it dies with its leader."),
        Target("per_key_order", 1, "each sensor's readings in order", required=True,
               hint="A vibration trend needs a sensor's readings in order: they must share a partition, "
                    "and a retry must not overtake the batch before it."),
        Target("storage_utilisation", 0.8, "the brokers' disks filled by 24 h of readings", "of capacity",
               hint="Every replica stores every reading; compression shrinks what is stored."),
        Target("cost_usd_month", 2400.0, "the cluster and the alarm's consumers", "USD a month",
               hint="Brokers, consumers and storage cost money: idle consumers and unneeded brokers add up."),
    ),
    design_fields=CONFIG_FIELDS,
    variants={
        # A broker dies ten seconds into a longer peak, and does not come back.
        "broker_failure": dict(duration_s=90.0, broker_failure_at_s=10.0, failed_broker=0),
        # Tenfold: ten times the sensors, each still sending a reading a second.
        "growth": dict(records_per_s=float(SENSORS * GROWTH)),
    },
)

LATENCY_TARGET_S = next(t.limit for t in SCENARIO.targets if t.metric == "latency_p99_s")
RATE = SCENARIO.config.records_per_s
#: After the failure: nothing acknowledged lost, writes still accepted, and the alarm current again.
FAILURE_TARGETS = (
    next(t for t in SCENARIO.targets if t.metric == "records_lost"),
    Target("records_pending", RATE, "readings still waiting in the gateways when the peak ends", "readings",
           hint="A partition with fewer in-sync replicas than min.insync.replicas refuses acks=all writes."),
    Target("final_lag_records", RATE, "readings the alarm has not read when the peak ends", "readings",
           hint="After the failover the consumers must catch up on what waited: they need spare capacity."),
)
#: Tenfold growth: the same service, for less than six times today's budget.
GROWTH_BUDGET_USD = 14_000.0
GROWTH_TARGETS = tuple(
    t if t.metric != "cost_usd_month" else Target(
        "cost_usd_month", GROWTH_BUDGET_USD, "the cluster and consumers at ten times the traffic", "USD a month",
        hint="At ten times the readings, storage and brokers dominate: what shrinks every stored byte?")
    for t in SCENARIO.targets
)
VISIBLE_SEEDS = (0, 1, 2)


def growth_targets_table() -> Any:
    """The targets the growth plan answers to, every sentence in full."""
    return text_table(targets_frame(GROWTH_TARGETS))


def key_settings(key: str, growth: bool = False) -> dict[str, Any]:
    """The partitioner settings of a record key, today or after tenfold growth (ten times the sensors)."""
    settings = dict(KEYS[key])
    if growth and key in ("sensor id", "turbine id"):
        settings["key_count"] *= GROWTH
    if growth and key == "wind farm":
        settings["key_count"] *= 2   # new farms are added, the big ones grow
    return settings


def scenario_frame() -> Any:
    """The facts of the telemetry a design must carry, as a table."""
    c = SCENARIO.config
    rows = [
        ("sensors", f"{fmt(SENSORS)} on {fmt(TURBINES)} turbines in {FARMS} wind farms, each sending a reading "
                    f"a second at the evening peak"),
        ("a reading", fmt(c.record_bytes, "bytes") + " of JSON: sensor, turbine, farm, time, vibration spectrum"),
        ("gateways (producers)", f"{c.producers}, one per region, each sending readings of every sensor it serves"),
        ("the day's average", f"{c.daily_average_fraction:.0%} of the peak"),
        ("the vibration alarm (consumers)",
         f"one instance processes {fmt(1000 / c.processing_ms_per_record)} readings a second; "
         f"{fmt(c.consumer_usd_per_hour, 'USD')} an hour each"),
        ("batch analytics", f"reads the last {fmt(c.retention_hours, 'h')} of readings every night"),
        ("a broker", f"{fmt(c.broker_network_mb_s, 'MB/s')} of network each way, {fmt(c.broker_disk_mb_s, 'MB/s')} "
                     f"of disk, {fmt(c.broker_storage_gb, 'GB')} of storage, {fmt(c.broker_usd_per_hour, 'USD')} "
                     f"an hour; storage {fmt(c.storage_usd_per_gb_month, 'USD')} per GB-month"),
        ("a broker failure", f"noticed after {fmt(c.broker_session_timeout_s, 's')} (the controller's session "
                             "timeout), then its partitions get new leaders"),
        ("growth", f"{GROWTH}× the sensors within two years"),
    ]
    return text_table(pd.DataFrame(rows, columns=["fact", "value"]).set_index("fact"))


def keys_frame() -> pd.DataFrame:
    """Each candidate record key: how many there are, and the hottest partition's share at 24 partitions."""
    rows = []
    for label, settings in KEYS.items():
        if settings["partitioner"] == "key-hash":
            share = partition_shares(settings["key_count"], settings["key_skew"], 24).max()
            rows.append((label, fmt(settings["key_count"]), f"{share:.1%}"))
        else:
            rows.append((label, "none", f"{1 / 24:.1%}"))
    return pd.DataFrame(rows, columns=["key", "distinct keys", "hottest of 24 partitions"]).set_index("key")


# --- the partition count --------------------------------------------------------------------
def durable_rates() -> tuple[float, float]:
    """Jun Rao's p and c for the scenario with durable settings (acks=all, three replicas, two in sync)."""
    return partition_rates(SCENARIO.config.replace(acks="all", enable_idempotence=True, replication_factor=3,
                                                   min_insync_replicas=2))


def rates_frame() -> Any:
    """The per-partition producer throughput p and per-consumer throughput c of the design at full batches."""
    p, c = durable_rates()
    rows = [
        ("p: what the gateways can write to one partition",
         f"{fmt(p, 'readings/s')} (5 requests in flight per gateway, full 16 KiB batches, acks=all)"),
        ("c: what one alarm consumer processes", fmt(c, "readings/s")),
        ("t: the peak after tenfold growth", fmt(RATE * GROWTH, "readings/s")),
    ]
    return text_table(pd.DataFrame(rows, columns=["rate", "value"]).set_index("rate"))


def partitions_needed() -> int:
    """Jun Rao's rule for the tenfold peak: at least max(t/p, t/c) partitions."""
    p, c = durable_rates()
    t = RATE * GROWTH
    return math.ceil(max(t / p, t / c) - 1e-9)


@student_check("The partition count for the tenfold peak follows the rule.")
def check_partition_count(partitions: Any) -> None:
    check_count("partitions_for_growth", partitions, partitions_needed(), "round up, a partition is indivisible.",
                too_many="too many: the rule gives the least that works",
                too_few="too few: one of the two limits is not met (which one binds here?)")


# --- the record key -------------------------------------------------------------------------
def key_problems(key: Any) -> list[str]:
    key = plain("key", key)
    if key not in KEYS:
        return [f"key must be one of {', '.join(repr(k) for k in KEYS)}"]
    if key not in ORDERED_KEYS:
        return ["records without a key go to any partition: one sensor's readings would reach the alarm "
                "out of order"]
    problems = []
    for growth, partitions in ((False, 24), (True, 200)):
        s = key_settings(key, growth)
        hottest = partition_shares(s["key_count"], s["key_skew"], partitions).max() * partitions
        if hottest > 1.5:
            when = "after tenfold growth" if growth else "today"
            problems.append(f"{key}: {when}, the hottest of {partitions} partitions would carry {hottest:.1f}× "
                            "its fair share, more than one consumer can read: choose a key with many keys "
                            "of similar traffic")
            break
    return problems


@student_check("The record key keeps each sensor's readings in order without a hot partition.")
def check_key(key: Any) -> None:
    problems = key_problems(key)
    if problems:
        raise AssertionError("The record key needs work:\n- " + "\n- ".join(problems))


# --- the design -----------------------------------------------------------------------------
def design_config(design: Any, *, growth: bool = False, **scenario_changes: Any) -> StreamConfig:
    """The design — its key and its settings, one dict — on the scenario."""
    changes = design_changes(design, DESIGN_FIELDS, DESIGN_FIELDS)
    key = plain("design['key']", changes.pop("key"))
    if key not in KEYS:
        raise AssertionError(f"design['key'] must be one of {', '.join(repr(k) for k in KEYS)}")
    if growth:
        scenario_changes = {**SCENARIO.variants["growth"], **scenario_changes}
    base = SCENARIO.config.replace(**scenario_changes, **key_settings(key, growth))
    return config_from(base, changes)


def evaluate_design(design: Any, seeds=VISIBLE_SEEDS, variant: str | None = None) -> Evaluation:
    """The design through the peak (or a variant of it), against the targets that variant answers to.

    ``variant`` is a name of ``SCENARIO.variants``: ``"broker_failure"`` holds the design to
    :data:`FAILURE_TARGETS`, ``"growth"`` (with ten times the keys too) to :data:`GROWTH_TARGETS`.
    """
    if variant == "growth":
        return evaluate(simulate, design_config(design, growth=True), GROWTH_TARGETS, seeds)
    if variant == "broker_failure":
        return evaluate(simulate, design_config(design, **SCENARIO.variants[variant]), FAILURE_TARGETS, seeds)
    if variant is not None:
        raise ValueError(f"no variant {variant!r}")
    return evaluate(simulate, design_config(design), SCENARIO.targets, seeds)


@student_check("The design meets every business target at today's peak.")
def check_design(design: Any, seeds=VISIBLE_SEEDS) -> None:
    require(evaluate_design(design, seeds))


@student_check("When a broker fails at the peak, the design loses nothing acknowledged and catches up.")
def check_failover(design: Any, seeds=VISIBLE_SEEDS) -> None:
    ev = evaluate_design(design, seeds, "broker_failure")
    if not ev.passed:
        raise AssertionError("When a broker fails at the peak: " + ev.explain())


@student_check("The growth plan meets every target at ten times today's traffic.")
def check_growth(growth: Any, seeds=VISIBLE_SEEDS) -> None:
    ev = evaluate_design(growth, seeds, "growth")
    if not ev.passed:
        raise AssertionError("At ten times today's readings: " + ev.explain())
