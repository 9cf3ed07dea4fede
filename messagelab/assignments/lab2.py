"""Lab 2, Kafka Performance Tuning Workshop: a video service's clickstream at prime time.

Everything the lab adds in Python: its scenario (the evening's events, the small cluster that
falls behind, the targets), the checks of its checkpoint, and its graded cells. The notebook
reads its numbers from ``SCENARIO``.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from messagelab.grading import check_count, config_from, design_changes, evaluate, require, student_check
from messagelab.grading.evaluate import Evaluation
from messagelab.sim.display import fmt, text_table
from messagelab.sim.scenario import Scenario, Target, targets_frame
from messagelab.streaming import simulate
from messagelab.streaming.tuning import PRIME_TIME

ID = "lab2-kafka-tuning"

GRADES: dict[str, tuple[str, float]] = {
    "sys-batch-records": ("code", 2),
    "arch-tuning": ("code", 4),
    "arch-diagram": ("markdown", 2),
    "arch-rationale": ("markdown", 2),
    "biz-impact": ("markdown", 2),
    "biz-roadmap": ("markdown", 1),
    "sys-risks": ("markdown", 2),
    "comm-summary": ("markdown", 1),
}

#: The producer and consumer settings the tuning chooses.
TUNING_FIELDS = ("batch_size_bytes", "linger_ms", "compression", "acks", "enable_idempotence", "max_in_flight",
                 "partitions", "consumers")
RATE = PRIME_TIME.records_per_s
P99_BOUND_S = 0.1
FINALE = 1.2

#: Prime time, time compressed: ten seconds of a million player events a second (plays, pauses,
#: seeks, quality switches) on the analytics cluster, with Kafka's producer defaults.
SCENARIO = Scenario(
    name="Prime-time clickstream",
    config=PRIME_TIME,
    targets=(
        Target("throughput_records_per_s", 0.995 * RATE, "player events acknowledged per second at prime time",
               "events/s", at_most=False,
               hint="The brokers spend the same work on every batch, however small: fewer, fuller batches "
                    "let them take more events a second."),
        Target("latency_p99_s", P99_BOUND_S, "events reaching the live dashboards (99th percentile)", "s",
               hint="A record waits in its batch up to linger.ms, and behind every record the producers "
                    "or consumers could not keep up with.", missing="no event reached them"),
        Target("durable_writes", 1, "every acknowledged event kept when a broker fails (acks=all, two "
                                    "in-sync replicas)", required=True,
               hint="An event acknowledged by the leader alone dies with it."),
    ),
    design_fields=TUNING_FIELDS,
    variants={
        # The night of a season finale: a fifth more viewers.
        "finale": dict(records_per_s=FINALE * RATE),
    },
)
FINALE_TARGETS = tuple(
    t if t.metric != "throughput_records_per_s" else Target(
        t.metric, 0.995 * FINALE * RATE, "player events acknowledged per second on a finale night", "events/s",
        at_most=False, hint="A fifth more events: the producers and the consumers both need headroom.")
    for t in SCENARIO.targets
)
VISIBLE_SEEDS = (0, 1, 2)


def batches_per_s() -> float:
    """The most batches a second the cluster's request threads take (each batch costs them the same work)."""
    c = SCENARIO.config
    return c.brokers * c.broker_request_threads / (c.broker_batch_cpu_ms / 1000)


def scenario_frame() -> Any:
    """The facts of the evening a tuning must carry, as a table."""
    c = SCENARIO.config
    rows = [
        ("player events", f"{fmt(c.records_per_s)} a second at prime time, {fmt(c.record_bytes, 'bytes')} each, "
                          f"keyed by viewing session ({fmt(c.key_count)} sessions in the sample)"),
        ("producers", f"{c.producers} collector services"),
        ("the cluster", f"{c.brokers} brokers, {c.partitions} partitions, replication factor {c.replication_factor}, "
                        f"{c.min_insync_replicas} in-sync replicas for acks=all"),
        ("a broker's request threads", f"{c.broker_request_threads}, each spending {fmt(c.broker_batch_cpu_ms, 'ms')} "
                                       f"on every batch, whatever its size: {fmt(batches_per_s())} batches a second "
                                       "for the cluster"),
        ("a broker's network", fmt(c.broker_network_mb_s, "MB/s") + " each way"),
        ("the analytics consumers", f"{c.consumers}, each processing {fmt(1000 / c.processing_ms_per_record)} "
                                    "events a second"),
        ("a finale night", f"{FINALE - 1:.0%} more events"),
    ]
    return text_table(pd.DataFrame(rows, columns=["fact", "value"]).set_index("fact"))


def finale_targets_table() -> Any:
    return text_table(targets_frame(FINALE_TARGETS))


# --- records per batch ----------------------------------------------------------------------
def records_per_batch_needed() -> int:
    """The fewest records a batch must hold for the cluster's request threads to take prime time."""
    return math.ceil(RATE / batches_per_s() - 1e-9)


@student_check("The records each batch must hold follow from the brokers' batch rate.")
def check_batch_records(records: Any) -> None:
    check_count("records_per_batch_needed", records, records_per_batch_needed(),
                "divide the events a second by the batches a second the cluster takes, and round up.",
                too_many="too many: fewer would do", too_few="too few: the brokers could not take them all")


# --- the tuning -----------------------------------------------------------------------------
def tuning_config(tuning: Any, **scenario_changes: Any):
    changes = design_changes(tuning, TUNING_FIELDS, TUNING_FIELDS)
    return config_from(SCENARIO.config.replace(**scenario_changes), changes)


def evaluate_tuning(tuning: Any, seeds=VISIBLE_SEEDS, variant: str | None = None) -> Evaluation:
    """The tuning at prime time (or on a finale night), against the targets that evening answers to."""
    if variant == "finale":
        return evaluate(simulate, tuning_config(tuning, **SCENARIO.variants["finale"]), FINALE_TARGETS, seeds)
    if variant is not None:
        raise ValueError(f"no variant {variant!r}")
    return evaluate(simulate, tuning_config(tuning), SCENARIO.targets, seeds)


@student_check("The tuning reaches the prime-time target within the latency bound, durably.")
def check_tuning(tuning: Any, seeds=VISIBLE_SEEDS) -> None:
    require(evaluate_tuning(tuning, seeds))


@student_check("On a finale night the tuning still keeps up within the bound.")
def check_finale(tuning: Any, seeds=VISIBLE_SEEDS) -> None:
    ev = evaluate_tuning(tuning, seeds, "finale")
    if not ev.passed:
        raise AssertionError("On a finale night, with a fifth more events: " + ev.explain())
