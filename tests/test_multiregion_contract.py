"""The global platform of ``messagelab.multiregion`` keeps the model contract (``tests/contract.py``)."""

from __future__ import annotations

import pytest
from contract import ModelContract

from messagelab.multiregion import Dataset, MultiRegionConfig, simulate
from messagelab.sim import ConfigError

REGIONS = ("us-east-1", "eu-west-1", "ap-northeast-1")


class TestMultiRegionContract(ModelContract):
    simulate = staticmethod(simulate)
    bad_values = [
        ("regions", ()),
        ("regions", ("us-east-1", "mars-north-1")),
        ("regions", ("us-east-1", "us-east-1")),
        ("user_shares", (0.5, 0.5)),
        ("user_shares", (0.5, 0.3, 0.3)),
        ("writes_per_s", 0),
        ("duration_s", float("inf")),
        ("datasets", ()),
        ("replication_delay_ms", -1),
        ("rtt_jitter_cv", 3),
        ("failed_region", "sa-east-1"),
        ("failure_at_s", 1e9),
        ("missed_heartbeats", 0),
        ("missed_heartbeats", 2.5),
        ("dpf_certified", 1),
    ]
    design_change = ("datasets", (Dataset(topology="active_passive", mode="quorum", quorum=1, replicas=REGIONS,
                                          keys=200),))
    arrivals = ("writes", "time_s")

    def workload(self, result):
        return result.writes[["time_s", "user_region", "dataset", "key"]]

    def config(self) -> MultiRegionConfig:
        """A minute of writes on three continents, Ireland failing for twenty seconds."""
        return MultiRegionConfig(regions=REGIONS, duration_s=60, writes_per_s=50, failed_region="eu-west-1",
                                 failure_at_s=20, failure_duration_s=20, promotion_s=5, dns_ttl_s=5,
                                 datasets=(Dataset(replicas=REGIONS, keys=200),))

    def absurd_config(self) -> MultiRegionConfig:
        """A month of heartbeats every 10 ms from three regions: far beyond the suite's event budget."""
        return MultiRegionConfig(regions=REGIONS, duration_s=30 * 86400, writes_per_s=0.5,
                                 heartbeat_interval_s=0.01)


def test_a_dataset_round_trips_through_to_dict():
    config = MultiRegionConfig(datasets=(Dataset(name="likes", kind="counter", conflict="crdt", write_share=0.5),
                                         Dataset(name="posts", write_share=0.5)))
    again = MultiRegionConfig(**config.to_dict())
    assert again == config and isinstance(again.datasets[0], Dataset)


@pytest.mark.parametrize(("change", "field"), [
    (dict(replicas=("us-east-1", "sa-east-1")), "replicas"),  # not a region of the deployment
    (dict(topology="active_passive", primary="ap-southeast-1"), "primary"),
    (dict(mode="quorum", quorum=3), "quorum"),  # two other replicas at most
    (dict(conflict="crdt"), "conflict"),  # a register has no CRDT merge
    (dict(size_kb=500), "size_kb"),
    (dict(topology="ring"), "topology"),
    (dict(topology="hub_and_spoke", mode="sync"), "mode"),
    (dict(data_class="personal", topology="geo_partitioned", copies=3), "copies"),  # only Ireland and Tokyo lawful
])
def test_a_bad_dataset_is_refused_naming_the_dataset_the_field_and_the_value(change, field):
    with pytest.raises(ConfigError) as refused:
        MultiRegionConfig(regions=REGIONS, user_shares=(0.4, 0.35, 0.25), datasets=(Dataset(name="dm", **change),))
    message = str(refused.value)
    assert f"datasets[dm].{field}" in message and "expected" in message
    assert repr(change[field]) in message or any(repr(v) in message for v in change[field] if isinstance(
        change[field], tuple))
