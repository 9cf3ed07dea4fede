"""The global platform behaves as the systems it models: round trips from the published matrix, quorums,
last-writer-wins, failover timings, GDPR's transfer rules and AWS's transfer prices."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest

from messagelab.multiregion import Dataset, MultiRegionConfig, residency_check, simulate
from messagelab.multiregion.regions import INTRA_REGION_RTT_MS, REGIONS, RTT_MS, rtt_ms
from messagelab.sim import ConfigError

FIVE = ("us-east-1", "eu-west-1", "eu-central-1", "ap-northeast-1", "sa-east-1")


def only_near(primary: str, regions=FIVE) -> tuple[float, ...]:
    return tuple(1.0 if r == primary else 0.0 for r in regions)


def test_the_matrix_is_symmetric_and_within_the_speed_of_light():
    assert len(REGIONS) == 8 and len({r.continent for r in REGIONS.values()}) == 5
    for a, b in combinations(REGIONS, 2):
        assert RTT_MS[a, b] == RTT_MS[b, a] > INTRA_REGION_RTT_MS
        # Light in fibre covers about 200 km per ms: no round trip beats the great circle there and back.
        ra, rb = REGIONS[a], REGIONS[b]
        p1, p2, dl = math.radians(ra.lat), math.radians(rb.lat), math.radians(rb.lon - ra.lon)
        km = 6371 * math.acos(min(1.0, math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)))
        assert RTT_MS[a, b] >= 2 * km / 200, (a, b)


@pytest.mark.parametrize("primary", ["us-east-1", "eu-central-1", "ap-northeast-1"])
def test_a_quorum_write_takes_the_kth_smallest_round_trip(primary):
    others = sorted(rtt_ms(primary, r) for r in FIVE if r != primary)
    for k in range(1, len(others) + 1):
        config = MultiRegionConfig(regions=FIVE, user_shares=only_near(primary), writes_per_s=20, duration_s=20,
                                   rtt_jitter_cv=0.0, datasets=(Dataset(topology="active_passive", primary=primary,
                                                                        replicas=FIVE, mode="quorum", quorum=k),))
        latency = simulate(config).writes["latency_ms"].to_numpy()
        # The user's round trip to the primary within its region, then the k-th fastest acknowledgement.
        assert np.allclose(latency, rtt_ms(primary, primary) + others[k - 1]), k
    sync = simulate(config.replace(datasets=(config.datasets[0].__class__(
        topology="active_passive", primary=primary, replicas=FIVE, mode="sync"),))).writes["latency_ms"]
    assert np.allclose(sync, rtt_ms(primary, primary) + others[-1])


def test_an_async_write_commits_where_it_lands_and_reaches_each_replica_half_a_round_trip_later():
    config = MultiRegionConfig(regions=FIVE, user_shares=(0.2,) * 5, writes_per_s=20, duration_s=20,
                               rtt_jitter_cv=0.0, replication_delay_ms=0.0,
                               datasets=(Dataset(topology="active_passive", primary="us-east-1", replicas=FIVE),))
    r = simulate(config)
    w = r.writes.set_index("write_id")
    # Users far from the primary wait for the round trip to it; the commit itself is local.
    expected = [rtt_ms(u, "us-east-1") + INTRA_REGION_RTT_MS for u in w["user_region"]]
    assert np.allclose(w["latency_ms"], expected)
    lag = r.copies.assign(commit=lambda c: w.loc[c["write_id"], "commit_s"].to_numpy())
    lag = lag[lag["replica"] != "us-east-1"]
    assert np.allclose(lag["applied_s"] - lag["commit"], [rtt_ms("us-east-1", x) / 2000 for x in lag["replica"]])


def concurrent_by_definition(result):
    """Every pair of writes to one key at two regions, each committed before the other reached its region."""
    w = result.writes[result.writes["outcome"] != "refused"].set_index("write_id")
    at = {(i, rep): a for i, rep, a in result.copies[["write_id", "replica", "applied_s"]].itertuples(index=False)}
    pairs, losers = 0, set()
    for _, group in w.groupby("key"):
        rows = list(group.sort_values("commit_s").itertuples())
        for x, y in combinations(rows, 2):
            if x.coordinator != y.coordinator and y.commit_s < at[x.Index, y.coordinator] \
                    and x.commit_s < at[y.Index, x.coordinator]:
                pairs += 1
                losers.add(x.Index)
    return pairs, losers


def test_last_writer_wins_loses_exactly_the_concurrent_updates_and_a_crdt_none():
    likes = Dataset(name="likes", kind="counter", topology="active_active", replicas=FIVE, keys=30)
    config = MultiRegionConfig(regions=FIVE, user_shares=(0.2,) * 5, writes_per_s=40, duration_s=30,
                               datasets=(likes,))
    lww = simulate(config, seed=3)
    pairs, losers = concurrent_by_definition(lww)
    assert pairs > 20 and lww.summary["conflicts"] == pairs
    assert set(lww.writes.index[lww.writes["overwritten_unseen"]]) == losers == set(
        lww.writes.loc[lww.writes["overwritten_unseen"], "write_id"])
    assert lww.summary["lost_updates"] == len(losers) > 0
    crdt = simulate(config.replace(datasets=(Dataset(**{**likes.__dict__, "conflict": "crdt"}),)), seed=3)
    assert crdt.summary["conflicts"] == pairs and crdt.summary["lost_updates"] == 0
    # One region taking every write has no concurrent writes at all.
    single = simulate(config.replace(datasets=(Dataset(**{**likes.__dict__, "topology": "active_passive",
                                                           "primary": "us-east-1"}),)), seed=3)
    assert single.summary["conflicts"] == single.summary["lost_updates"] == 0


def failing(mode: str, **changes) -> MultiRegionConfig:
    return MultiRegionConfig(regions=FIVE, user_shares=(0.3, 0.3, 0.1, 0.2, 0.1), writes_per_s=100, duration_s=120,
                             failed_region="us-east-1", failure_at_s=40, failure_duration_s=40, promotion_s=20,
                             dns_ttl_s=30, datasets=(Dataset(topology="active_passive", primary="us-east-1",
                                                             replicas=FIVE, mode=mode, quorum=1),), **changes)


def test_a_primarys_failure_loses_its_unsent_tail_unless_a_replica_acknowledged_every_write():
    asynchronous = simulate(failing("async"), seed=1)
    s, tl = asynchronous.summary, asynchronous.timeline
    lost = asynchronous.writes[asynchronous.writes["outcome"] == "lost"]
    assert s["rpo_writes"] == len(lost) > 0 and (lost["lost_with"] == "failure of us-east-1").all()
    # What was lost is what had not yet left the primary: committed within the pipeline's reach of the failure.
    assert (lost["commit_s"] < tl.failed_s).all() and s["rpo_s"] == pytest.approx(tl.failed_s - lost["commit_s"].min())
    assert s["rpo_s"] < 10 * asynchronous.config.replication_delay_ms / 1000
    for mode in ("quorum", "sync"):
        assert simulate(failing(mode), seed=1).summary["rpo_writes"] == 0, mode


def test_detection_promotion_and_failback_follow_the_heartbeats():
    r = simulate(failing("async"), seed=2)
    c, tl, s = r.config, r.timeline, r.summary
    # Declared failed once silent for missed_heartbeats intervals (the last heartbeat came up to one before).
    assert (c.missed_heartbeats - 1) * c.heartbeat_interval_s <= s["detected_after_s"] \
        <= (c.missed_heartbeats + 1) * c.heartbeat_interval_s
    assert tl.promoted_s == pytest.approx(tl.detected_s + c.promotion_s)
    # Writes come back with the promoted replica: the RTO is detection plus promotion, to a write's spacing.
    assert s["rto_s"] == pytest.approx(tl.promoted_s - tl.failed_s, abs=0.2)
    assert tl.back_s == c.failure_at_s + c.failure_duration_s and tl.failed_back_s > tl.back_s
    refused = r.writes[r.writes["outcome"] == "refused"]
    assert refused["time_s"].between(tl.failed_s - 1, tl.promoted_s).all()
    # After the promotion the stand-in is the replica nearest the failed primary.
    moved = r.writes[(r.writes["time_s"] > tl.promoted_s) & (r.writes["time_s"] < tl.failed_back_s)]
    assert set(moved["coordinator"]) == {"eu-west-1"}


def test_gdpr_flags_eu_personal_data_leaving_the_eea_and_only_that():
    eu_users = MultiRegionConfig(regions=FIVE, user_shares=(0.3, 0.3, 0.1, 0.2, 0.1),
                                 datasets=(Dataset(name="messages", data_class="personal", topology="active_passive",
                                                   primary="us-east-1", replicas=("us-east-1", "eu-west-1",
                                                                                  "sa-east-1")),))
    flagged = residency_check(eu_users)
    assert set(flagged["path"]) == {"replication", "routing"}
    assert set(flagged["from"]) == {"eu-west-1", "eu-central-1"} and set(flagged["to"]) == {"us-east-1", "sa-east-1"}
    assert flagged["breaks"].str.startswith("GDPR Art. 44").all()
    # Certified under the Data Privacy Framework, the US is covered; Brazil still is not.
    assert set(residency_check(eu_users.replace(dpf_certified=True))["to"]) == {"sa-east-1"}
    assert residency_check(eu_users.replace(transfer_safeguards=True)).empty
    # Public content may go anywhere; Japan has an adequacy decision; a geo-partitioned design keeps EU data home.
    public = Dataset(name="posts", topology="active_active", replicas=FIVE)
    assert residency_check(eu_users.replace(datasets=(public,))).empty
    tokyo = Dataset(name="messages", data_class="personal", replicas=("eu-west-1", "ap-northeast-1"))
    assert residency_check(eu_users.replace(regions=FIVE, datasets=(tokyo,))).empty
    partitioned = Dataset(name="messages", data_class="personal", topology="geo_partitioned", copies=3)
    r = simulate(eu_users.replace(datasets=(partitioned,), writes_per_s=20, duration_s=20))
    assert r.summary["residency_violations"] == 0
    eu_copies = r.copies.merge(r.writes[["write_id", "user_region"]], on="write_id")
    eu_copies = eu_copies[eu_copies["user_region"].isin(["eu-west-1", "eu-central-1"])]
    # Two copies fit in the EEA; the third goes to the nearest country with an adequacy decision.
    assert set(eu_copies["replica"]) == {"eu-west-1", "eu-central-1", "ap-northeast-1"}


def test_a_failover_out_of_the_eea_is_flagged():
    eu_home = MultiRegionConfig(regions=FIVE, user_shares=(0.3, 0.3, 0.1, 0.2, 0.1), failed_region="eu-central-1",
                                datasets=(Dataset(name="messages", data_class="personal", topology="active_passive",
                                                  primary="eu-central-1", replicas=("eu-central-1", "us-east-1")),))
    flagged = residency_check(eu_home, simulate(eu_home.replace(duration_s=200, writes_per_s=10)).timeline)
    assert ("failover", "us-east-1") in set(zip(flagged["path"], flagged["to"], strict=True))


def test_the_monthly_transfer_bill_is_the_sending_regions_price_per_gb():
    config = MultiRegionConfig(regions=FIVE, user_shares=(0.2,) * 5, writes_per_s=200, duration_s=60,
                               datasets=(Dataset(topology="active_passive", primary="sa-east-1", replicas=FIVE,
                                                 size_kb=4.0),))
    r = simulate(config)
    copies_sent = len(r.writes) * (len(FIVE) - 1)
    bill = copies_sent * 4.0 / 1024 / 1024 * REGIONS["sa-east-1"].transfer_usd_per_gb * 30 * 86400 / 60
    assert r.summary["monthly_transfer_usd"] == pytest.approx(bill)
    cheaper = simulate(config.replace(datasets=(Dataset(topology="active_passive", primary="us-east-1",
                                                        replicas=FIVE, size_kb=4.0),)))
    assert cheaper.summary["monthly_transfer_usd"] == pytest.approx(bill * 0.02 / 0.138)


def test_a_hub_forwards_every_spokes_writes_two_hops_and_pays_for_the_second():
    hub = Dataset(topology="hub_and_spoke", primary="us-east-1", replicas=FIVE)
    config = MultiRegionConfig(regions=FIVE, user_shares=(0.2,) * 5, writes_per_s=20, duration_s=20,
                               rtt_jitter_cv=0.0, replication_delay_ms=0.0, datasets=(hub,))
    r = simulate(config)
    w = r.writes.set_index("write_id")
    # Writes land near their users, as in active-active.
    assert (w["coordinator"] == w["user_region"]).all()
    lag = r.copies.assign(commit=lambda c: w.loc[c["write_id"], "commit_s"].to_numpy(),
                          at=lambda c: w.loc[c["write_id"], "coordinator"].to_numpy())
    lag = lag[lag["replica"] != lag["at"]]
    expected = [(rtt_ms(a, b) if "us-east-1" in (a, b) else rtt_ms(a, "us-east-1") + rtt_ms("us-east-1", b)) / 2000
                for a, b in zip(lag["at"], lag["replica"], strict=True)]
    assert np.allclose(lag["applied_s"] - lag["commit"], expected)
    # Tokyo's write: one copy from Tokyo to the hub, three from the hub.
    price = {c: REGIONS[c].transfer_usd_per_gb for c in FIVE}
    per_write = {c: (4 * price[c] if c == "us-east-1" else price[c] + 3 * price["us-east-1"]) for c in FIVE}
    bill = sum(per_write[c] for c in w["coordinator"]) * 2.0 / 1024 / 1024 * 30 * 86400 / 20
    assert r.summary["monthly_transfer_usd"] == pytest.approx(bill)
    with pytest.raises(ConfigError):
        hub.__class__(topology="hub_and_spoke", primary="us-east-1", replicas=FIVE, mode="sync").validate(FIVE, "d")
