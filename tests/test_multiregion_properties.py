"""Whatever the design and wherever a region fails, every write is accounted for (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from messagelab.multiregion import MODES, TOPOLOGIES, Dataset, MultiRegionConfig, simulate
from messagelab.sim import ConfigError

REGIONS = ("us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1")


@st.composite
def platforms(draw) -> MultiRegionConfig:
    topology = draw(st.sampled_from(TOPOLOGIES))
    replicas = tuple(draw(st.lists(st.sampled_from(REGIONS), min_size=1, max_size=4, unique=True)))
    copies = draw(st.integers(1, 4))
    others = (copies if topology == "geo_partitioned" else len(replicas)) - 1
    modes = ("async",) if topology == "hub_and_spoke" else MODES if others >= 1 else ("async", "sync")
    mode = draw(st.sampled_from(modes))
    kind = draw(st.sampled_from(("register", "counter")))
    dataset = Dataset(
        name="d", data_class=draw(st.sampled_from(("personal", "public"))), kind=kind, topology=topology, mode=mode,
        replicas=replicas, primary=draw(st.sampled_from(replicas)), quorum=draw(st.integers(1, max(others, 1))),
        copies=copies, conflict=draw(st.sampled_from(("lww", "crdt") if kind == "counter" else ("lww",))), keys=50,
    )
    failed = draw(st.none() | st.sampled_from(REGIONS))
    fields = dict(
        regions=REGIONS, user_shares=(0.25,) * 4, writes_per_s=30, duration_s=40, datasets=(dataset,),
        failed_region=failed, failure_at_s=draw(st.floats(0, 39)), failure_duration_s=draw(st.floats(1, 60)),
        replication_delay_ms=draw(st.floats(0, 2000)), rtt_jitter_cv=draw(st.floats(0, 0.5)),
        promotion_s=draw(st.floats(0, 20)), dns_ttl_s=draw(st.floats(0, 20)),
        missed_heartbeats=draw(st.integers(1, 5)),
    )
    try:
        return MultiRegionConfig(**fields)
    except ConfigError:
        assume(False)  # e.g. more copies of EU personal data than lawful regions: refused, not simulated


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(platforms(), st.integers(0, 5))
def test_every_write_is_applied_pending_lost_or_refused(config, seed):
    r = simulate(config, seed=seed)
    r.check_invariants()
    w, s = r.writes, r.summary
    assert s["applied"] + s["pending"] + s["lost"] + s["refused"] == s["writes"] == len(w)
    accepted = w[w["outcome"] != "refused"]
    assert accepted["latency_ms"].gt(0).all() and w.loc[w["outcome"] == "refused", "latency_ms"].isna().all()
    # Nothing is lost without a failure, and a synchronous design loses nothing even with one.
    if config.failed_region is None:
        assert s["lost"] == 0 and s["refused"] == 0 and math.isnan(s["rto_s"])
    if config.datasets[0].mode == "sync":
        assert s["lost"] == 0
    # A copy is never applied before its write committed.
    merged = r.copies.merge(w[["write_id", "commit_s"]], on="write_id")
    assert (merged["applied_s"] >= merged["commit_s"] - 1e-9).all()
    # Lost updates are concurrent writes, and a CRDT loses none.
    assert s["lost_updates"] <= s["conflicts"]
    if config.datasets[0].conflict == "crdt":
        assert s["lost_updates"] == 0
    assert np.isfinite(s["monthly_transfer_usd"]) and s["monthly_transfer_usd"] >= 0
