"""Exercise 03's checks: each accepts the reference answer and says which way to go otherwise."""

from __future__ import annotations

import pytest

from messagelab.assignments import ex03
from messagelab.streaming.cluster import partition_rates

DESIGN = {"key": "sensor id", "partitions": 20, "consumers": 20, "brokers": 3, "replication_factor": 3,
          "min_insync_replicas": 2, "acks": "all", "enable_idempotence": True, "linger_ms": 5.0,
          "batch_size_bytes": 16_384, "compression": "zstd"}
GROWTH = {**DESIGN, "partitions": 200, "consumers": 200, "brokers": 7, "linger_ms": 20.0}


def failure(check, *args, **kwargs) -> str:
    with pytest.raises(AssertionError) as e:
        check(*args, **kwargs)
    return str(e.value)


def test_the_partition_count_is_the_rule_for_the_tenfold_peak(capsys):
    p, c = partition_rates(ex03.SCENARIO.config.replace(acks="all", enable_idempotence=True,
                                                        replication_factor=3, min_insync_replicas=2))
    assert c == 12_500 and p > 10 * c           # the consumers bind: 2,000,000 / 12,500
    assert ex03.partitions_needed() == 160
    ex03.check_partition_count(160)
    assert capsys.readouterr().out.startswith("✓")
    assert "too few" in failure(ex03.check_partition_count, 16)        # today's peak, not the tenfold one
    assert "too many" in failure(ex03.check_partition_count, 161)
    assert "must be a" in failure(ex03.check_partition_count, "160")


@pytest.mark.parametrize("key", ["sensor id", "turbine id"])
def test_keys_that_keep_a_sensors_order_and_spread_pass(key, capsys):
    ex03.check_key(key)
    assert capsys.readouterr().out.startswith("✓")


@pytest.mark.parametrize(("key", "expected"), [
    ("wind farm", "hottest of 24 partitions"),
    ("turbine model", "hottest of 24 partitions"),
    ("no key", "out of order"),
    ("device", "must be one of"),
])
def test_other_keys_are_refused_with_the_reason(key, expected):
    assert expected in failure(ex03.check_key, key)


def test_the_reference_design_passes_today_through_a_failure_and_its_growth_plan_at_ten_times(capsys):
    ex03.check_design(DESIGN)
    ex03.check_failover(DESIGN, seeds=(7, 8))
    ex03.check_growth(GROWTH)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and all(line.startswith("✓") for line in out)
    assert "broker fails" in out[1]


@pytest.mark.parametrize(("change", "expected"), [
    ({"key": "wind farm"}, "hottest partition"),
    ({"consumers": 16}, "hottest partition"),                 # four consumers own two partitions
    ({"enable_idempotence": False, "acks": "1"}, "in order"),  # retries may reorder a sensor's readings
    ({"brokers": 6, "consumers": 30, "partitions": 30}, "cost"),
])
def test_a_design_that_misses_a_target_is_told_which_and_which_way(change, expected):
    message = failure(ex03.check_design, {**DESIGN, **change})
    assert expected in message and "misses" in message


def test_only_a_failover_check_sees_what_acks_1_loses_and_what_too_many_in_sync_replicas_refuse():
    leader_only = {**DESIGN, "acks": "1", "enable_idempotence": False}
    assert ex03.evaluate_design(leader_only).table.set_index("metric").loc["records_lost", "met"]
    assert "acknowledged readings lost" in failure(ex03.check_failover, leader_only, seeds=(7,))
    strict = {**DESIGN, "replication_factor": 2, "min_insync_replicas": 2}
    assert "waiting in the gateways" in failure(ex03.check_failover, strict, seeds=(7,))


def test_the_growth_plan_needs_more_than_todays_cluster():
    message = failure(ex03.check_growth, DESIGN)
    assert message.startswith("At ten times today's readings") and "misses" in message
    uncompressed = {**GROWTH, "compression": "none", "brokers": 12}
    assert "disks" in failure(ex03.check_growth, uncompressed)  # ten times the readings, stored raw
    assert "USD a month" in failure(ex03.check_growth, {**uncompressed, "brokers": 17})  # room, at a price


@pytest.mark.parametrize(("design", "expected"), [
    ({k: v for k, v in DESIGN.items() if k != "brokers"}, "brokers"),
    ({**DESIGN, "key": 3}, "design['key'] must be one of"),
    ({**DESIGN, "acks": 1}, "acks"),
    ({**DESIGN, "replication_factor": 4}, "replication_factor"),
    ({**DESIGN, "acks": "1"}, "enable_idempotence"),
])
def test_a_malformed_design_is_refused_naming_the_setting(design, expected):
    assert expected in failure(ex03.check_design, design)
