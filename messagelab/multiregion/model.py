"""A global platform's writes across regions: where each lands, when each replica has it, what a failure costs.

The picture, for one write::

    user near u ──RTT(u, c)──► coordinator c ──commit (async: here; sync: every replica has it;
                                                quorum: k other replicas have it)──► ack to the user
                                   │
                                   └─ replication pipeline (mean replication_delay_ms) ─RTT(c, r)/2─► replica r

Round trips are the published matrix of :mod:`messagelab.multiregion.regions`, each message
varying around its mean (``rtt_jitter_cv``). Two writes to one key that land at different
regions before either has reached the other are *concurrent*: last-writer-wins keeps the one
with the later commit timestamp and loses the other (a lost update); a CRDT merges both.

**The control plane is a simpy simulation**: every region sends a heartbeat each
``heartbeat_interval_s``; a region silent for ``missed_heartbeats`` intervals is declared
failed; then a replica is promoted (``promotion_s``) and clients follow once their DNS answer
expires (``dns_ttl_s``); when the failed region is back it catches up and traffic fails back.
The data plane — tens of thousands of writes and their copies — is computed from that
timeline with numpy, write by write, as the streaming domain moves flows on a simpy clock.

**A failure.** Writes the failed region had committed but not yet sent to any surviving
replica are lost with it (the RPO, recovery point objective, is the window they span);
when it fails back, its unreplicated tail is discarded, as Aurora Global Database discards a
former primary's. Writes whose coordinator is down are refused until the platform routes
around it (the RTO, recovery time objective, runs from the failure until they succeed
again). Copies meant for the failed region reach it when it is back.

Every write ends as exactly one of: ``applied`` (every replica has it by the end of the
run), ``pending`` (accepted, some replica not yet), ``lost`` (accepted, then lost with the
failed region) or ``refused`` (its coordinator was down) — ``check_invariants`` holds the
run to that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import simpy

from messagelab.multiregion.config import SINGLE_WRITER, Dataset, MultiRegionConfig
from messagelab.multiregion.regions import REGIONS, personal_data_may_go, rtt_ms
from messagelab.sim.budget import RunBudget, run
from messagelab.sim.result import SimResult
from messagelab.sim.streams import streams
from messagelab.sim.workload import lognormal_params

OUTCOMES = ("applied", "pending", "lost", "refused")
_APPLIED, _PENDING, _LOST, _REFUSED = range(len(OUTCOMES))
_SECONDS_PER_MONTH = 30 * 86400
_GDPR = ("GDPR Art. 44: personal data of EEA users moved to a country without an adequacy decision "
         "(Art. 45) or safeguards (Art. 46)")


# --- the control plane --------------------------------------------------------------------------
@dataclass(frozen=True)
class Timeline:
    """When the failure happened and when the platform noticed, promoted, rerouted and failed back (s).

    ``inf`` for a step that did not happen within the run; everything is ``inf`` without a failure.
    """

    region: str | None
    failed_s: float = math.inf
    detected_s: float = math.inf
    promoted_s: float = math.inf
    rerouted_s: float = math.inf
    back_s: float = math.inf
    failed_back_s: float = math.inf

    def down(self, t: np.ndarray) -> np.ndarray:
        """Whether the failed region is down at each time in ``t``."""
        return (t >= self.failed_s) & (t < self.back_s)


def control_plane(cfg: MultiRegionConfig, rng: np.random.Generator, budget: RunBudget) -> tuple[Timeline, Any]:
    """Heartbeats, failure detection, promotion and failback as simpy processes; the timeline they give."""
    env = simpy.Environment()
    failed = cfg.failed_region
    fail_at, back_at = cfg.failure_at_s, cfg.failure_at_s + cfg.failure_duration_s
    seen: dict[str, float] = {}
    phases = rng.uniform(0, cfg.heartbeat_interval_s, len(cfg.regions))

    def heartbeats(region: str, phase: float):
        # A region's heartbeats; the detector hears the last one and notices the silence after it.
        yield env.timeout(phase)
        last = env.now
        while True:
            alive = region != failed or not fail_at <= env.now < back_at
            if alive:
                if region == failed and "detected" in seen and "back" not in seen:
                    seen["back"] = env.now
                    env.process(fail_back())
                last = env.now
            elif "detected" not in seen and env.now - last >= cfg.missed_heartbeats * cfg.heartbeat_interval_s - 1e-9:
                seen["detected"] = env.now
                env.process(promote())
            yield env.timeout(cfg.heartbeat_interval_s)

    def promote():
        # Promotion and the clients' DNS caches run side by side from the detection.
        env.process(reroute())
        yield env.timeout(cfg.promotion_s)
        seen["promoted"] = env.now

    def reroute():
        yield env.timeout(cfg.dns_ttl_s)
        seen["rerouted"] = env.now

    def fail_back():
        # A planned switch back, once the region has caught up: as long as a promotion.
        yield env.timeout(cfg.promotion_s)
        seen["failed_back"] = env.now

    for region, phase in zip(cfg.regions, phases, strict=True):
        env.process(heartbeats(region, float(phase)))
    outcome = run(env, cfg.duration_s, budget)
    if failed is None:
        return Timeline(None), outcome
    return Timeline(
        failed, failed_s=fail_at if fail_at < outcome.sim_time_s else math.inf,
        detected_s=seen.get("detected", math.inf), promoted_s=seen.get("promoted", math.inf),
        rerouted_s=seen.get("rerouted", math.inf), back_s=back_at,
        failed_back_s=seen.get("failed_back", math.inf),
    ), outcome


# --- where a dataset's copies are -----------------------------------------------------------------
def partition_copies(cfg: MultiRegionConfig, d: Dataset, home: str) -> tuple[str, ...]:
    """geo_partitioned: the regions holding a user's data — home first, then the nearest allowed others."""
    allowed = [r for r in cfg.regions if r != home and (
        d.data_class != "personal" or personal_data_may_go(home, r, dpf_certified=cfg.dpf_certified,
                                                           safeguards=cfg.transfer_safeguards))]
    others = sorted(allowed, key=lambda r: (rtt_ms(home, r), cfg.regions.index(r)))
    return (home, *others[: d.copies - 1])


def replica_sets(cfg: MultiRegionConfig, d: Dataset) -> dict[str, tuple[str, ...]]:
    """For users near each region: the regions that hold their data of ``d``."""
    if d.topology == "geo_partitioned":
        return {u: partition_copies(cfg, d, u) for u in cfg.regions}
    return {u: d.replicas for u in cfg.regions}


def nearest_of(origin: str, candidates: tuple[str, ...], order: tuple[str, ...]) -> str:
    return min(candidates, key=lambda r: (rtt_ms(origin, r), order.index(r)))


def writer(cfg: MultiRegionConfig, d: Dataset, home: str, replicas: tuple[str, ...]) -> str:
    """Where the writes of users near ``home`` land when every region is up."""
    if d.topology in SINGLE_WRITER:
        return d.primary
    if d.topology == "geo_partitioned":
        return home
    return nearest_of(home, replicas, cfg.regions)


def stand_in(cfg: MultiRegionConfig, c: str, replicas: tuple[str, ...], failed: str | None) -> str | None:
    """The replica that takes over from ``c`` when it has failed: the nearest surviving one (None: none)."""
    survivors = tuple(r for r in replicas if r != failed)
    return nearest_of(c, survivors, cfg.regions) if survivors else None


# --- the result -------------------------------------------------------------------------------------
@dataclass
class MultiRegionResult(SimResult):
    """One run: every write, every copy, what users saw per region, the residency check, the cost."""

    config: MultiRegionConfig
    seed: int
    writes: pd.DataFrame
    copies: pd.DataFrame
    regions: pd.DataFrame
    residency: pd.DataFrame
    timeseries: pd.DataFrame
    timeline: Timeline

    units: ClassVar[dict[str, str]] = {
        "writes": "writes", "applied": "writes", "pending": "writes", "lost": "writes", "refused": "writes",
        "availability": "share of writes accepted",
        "write_latency_p50_ms": "ms", "write_latency_p99_ms": "ms",
        "read_latency_p50_ms": "ms", "read_latency_p99_ms": "ms",
        "staleness_p50_ms": "ms (reads weighted)", "staleness_p99_ms": "ms (reads weighted)",
        "read_your_writes_violations": "writes their author could not read back",
        "conflicts": "pairs of concurrent writes", "lost_updates": "writes overwritten unseen (LWW)",
        "rpo_s": "s of accepted writes lost", "rpo_writes": "writes", "rto_s": "s from failure to writes again",
        "detected_after_s": "s", "failed_back_at_s": "s",
        "residency_violations": "paths", "monthly_transfer_usd": "USD/month",
    }

    def check_invariants(self) -> None:
        w, c = self.writes, self.copies
        problems = []
        counts = w["outcome"].value_counts()
        if set(counts.index) - set(OUTCOMES):
            problems.append(f"unknown outcomes {sorted(set(counts.index) - set(OUTCOMES))}")
        if int(counts.sum()) != len(w) or self.summary["writes"] != len(w):
            problems.append("not every write has exactly one outcome")
        for name in OUTCOMES:
            if self.summary[name] != int(counts.get(name, 0)):
                problems.append(f"summary {name} = {self.summary[name]} but {int(counts.get(name, 0))} writes")
        accepted = w.loc[w["outcome"] != "refused", "write_id"]
        horizon = self.outcome.sim_time_s
        copied = (c["applied_s"] <= horizon).groupby(c["write_id"]).all()
        applied = w.loc[w["outcome"] == "applied", "write_id"]
        if not copied.reindex(applied).fillna(False).all():
            problems.append("a write counted applied is missing at a replica")
        pending = w.loc[w["outcome"] == "pending", "write_id"]
        if copied.reindex(pending).fillna(True).any():
            problems.append("a write counted pending is at every replica")
        if not set(c["write_id"]) <= set(accepted):
            problems.append("a refused write has copies")
        lost = w[w["outcome"] == "lost"]
        if (lost["lost_with"] == "").any():
            problems.append("a lost write does not name the failure that lost it")
        if len(lost) and self.timeline.region is None:
            problems.append("writes lost without a failure")
        if problems:
            raise AssertionError("; ".join(problems))


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """The ``qs`` quantiles of ``values``, each weighted (the smallest value with that share of weight below it)."""
    if len(values) == 0 or weights.sum() <= 0:
        return [math.nan] * len(qs)
    order = np.argsort(values)
    v, cw = values[order], np.cumsum(weights[order])
    return [float(v[min(np.searchsorted(cw, q * cw[-1]), len(v) - 1)]) for q in qs]


def _quantiles(values: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    return [float(x) for x in np.quantile(values, qs)] if len(values) else [math.nan] * len(qs)


# --- the data plane -----------------------------------------------------------------------------------
def simulate(config: MultiRegionConfig, *, seed: int = 0, budget: RunBudget | None = None) -> MultiRegionResult:
    """Run the platform for ``config.duration_s``: every write, its copies, a failure if one is set."""
    cfg = config
    budget = budget or RunBudget()
    rng = streams(seed, "writes", "users", "datasets", "keys", "rtt", "replication", "read_back", "heartbeats")
    timeline, outcome = control_plane(cfg, rng["heartbeats"], budget)
    horizon = outcome.sim_time_s
    regions, n_regions = cfg.regions, len(cfg.regions)

    # The workload: the same for every design under one seed (each source its own stream).
    n = int(rng["writes"].poisson(cfg.writes_per_s * horizon))
    t = np.sort(rng["writes"].uniform(0, horizon, n))
    user = rng["users"].choice(n_regions, size=n, p=np.asarray(cfg.user_shares, dtype=float))
    shares = np.asarray([d.write_share for d in cfg.datasets])
    dataset = rng["datasets"].choice(len(cfg.datasets), size=n, p=shares / shares.sum())
    u_key = rng["keys"].random(n)
    # One jitter factor per write for each message towards each region (mean 1).
    jitter = (rng["rtt"].lognormal(*lognormal_params(1.0, cfg.rtt_jitter_cv), (n, n_regions)) if cfg.rtt_jitter_cv
              else np.ones((n, n_regions)))
    pipeline_s = rng["replication"].exponential(cfg.replication_delay_ms / 1000, n) if cfg.replication_delay_ms \
        else np.zeros(n)
    read_back = rng["read_back"].exponential(cfg.read_back_s, n)

    rtt = np.array([[rtt_ms(a, b) for b in regions] for a in regions]) / 1000  # s
    failed = regions.index(timeline.region) if timeline.region is not None else -1
    key = np.zeros(n, dtype=np.int64)
    coord = np.full(n, -1)
    latency = np.full(n, math.nan)
    commit = np.full(n, math.nan)
    code = np.full(n, -1)  # index into OUTCOMES
    lost_with = np.full(n, "", dtype=object)
    ryw_ok = np.ones(n, dtype=bool)
    # When each replica has each write (NaN: not a replica of it; inf: never).
    applied_at = np.full((n, n_regions), math.nan)
    stale_values: list[np.ndarray] = []
    stale_weights: list[np.ndarray] = []
    stale_region: list[np.ndarray] = []
    read_lat: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    conflicts = lost_updates = 0
    sent_usd = np.zeros(n_regions)  # transfer billed to each region for the copies it sends
    lww_lost = np.zeros(n, dtype=bool)

    for di, d in enumerate(cfg.datasets):
        mine = dataset == di
        # Zipf-like popularity (density ∝ 1/x): a few keys take many of the writes.
        key[mine] = np.minimum((np.exp(u_key[mine] * math.log(d.keys + 1)) - 1).astype(np.int64), d.keys - 1)
        sets = replica_sets(cfg, d)
        for ui, home in enumerate(regions):
            idx = np.flatnonzero(mine & (user == ui))
            if len(idx) == 0:
                continue
            reps = [regions.index(r) for r in sets[home]]
            normal = regions.index(writer(cfg, d, home, sets[home]))
            c = np.full(len(idx), normal)
            tt = t[idx]
            refused = np.zeros(len(idx), dtype=bool)
            if failed >= 0 and normal == failed:
                # Writes to the failed writer are refused until the platform routes around it.
                takeover = stand_in(cfg, regions[normal], sets[home], regions[failed])
                until = timeline.promoted_s if d.topology in SINGLE_WRITER or d.topology == "geo_partitioned" \
                    else timeline.rerouted_s
                if takeover is None:
                    until = timeline.back_s
                down = (tt >= timeline.failed_s) & (tt < until)
                moved = (tt >= until) & (tt < timeline.failed_back_s)
                refused |= down
                if takeover is not None:
                    c[moved] = regions.index(takeover)
            others_of = {ci: [r for r in reps if r != ci] for ci in set(c.tolist())}
            wait = np.zeros(len(idx))
            acked = np.zeros((len(idx), n_regions), dtype=bool)
            for ci, others in others_of.items():
                at = np.flatnonzero(c == ci)
                if not others or d.mode == "async":
                    wait[at] = rtt[ci, ci] * jitter[idx[at], ci]
                    continue
                trip = rtt[ci, others][None, :] * jitter[idx[at]][:, others]
                alive = np.ones_like(trip, dtype=bool)
                if failed >= 0 and failed in others:
                    # A replica that is down answers no one until the writer stops waiting for it
                    # (when the failure is detected, it is taken out of the set).
                    j = others.index(failed)
                    alive[:, j] = ~((tt[at] >= timeline.failed_s) & (tt[at] < timeline.back_s))
                    gone = (tt[at] >= timeline.detected_s) & (tt[at] < timeline.back_s)
                    trip = np.where(alive, trip, np.inf)
                    blocked = ~alive[:, j] & ~gone
                else:
                    blocked = np.zeros(len(at), dtype=bool)
                need = len(others) if d.mode == "sync" else d.quorum
                if d.mode == "sync":
                    # Once detected, the failed replica is dropped: the others still make the set.
                    finite = np.where(np.isfinite(trip), trip, -np.inf)
                    w = finite.max(axis=1)
                    blocked |= ~np.isfinite(w)
                else:
                    ranked = np.sort(trip, axis=1)
                    w = ranked[:, need - 1] if need <= trip.shape[1] else np.full(len(at), np.inf)
                    blocked = ~np.isfinite(w)
                wait[at] = np.where(blocked, math.nan, w)
                refused[at] |= blocked
                order = np.argsort(trip, axis=1)
                for pos, r in enumerate(others):
                    rank = np.argmax(order == pos, axis=1)
                    acked[at, r] = np.isfinite(trip[:, pos]) & ((d.mode == "sync") | (rank < need))
            to_c = rtt[user[idx], c] * jitter[idx, c]
            lat = to_c + np.nan_to_num(wait)
            cm = tt + to_c / 2 + np.nan_to_num(wait)
            # A write in flight when its coordinator fails gets no answer: refused, not lost.
            if failed >= 0:
                refused |= (c == failed) & (tt < timeline.failed_s) & (cm >= timeline.failed_s)
                refused |= (c == failed) & timeline.down(tt)
            accepted = ~refused
            latency[idx] = np.where(accepted, lat * 1000, math.nan)
            commit[idx] = np.where(accepted, cm, math.nan)
            coord[idx] = c
            # Each copy: when the replica has the write.
            applied = np.full((len(idx), len(reps)), math.nan)
            sent_ok = np.ones((len(idx), len(reps)), dtype=bool)
            hub = regions.index(d.primary) if d.topology == "hub_and_spoke" else -1
            for k, r in enumerate(reps):
                here = c == r
                arrive = cm + pipeline_s[idx] + rtt[c, r] * jitter[idx, r] / 2
                if hub >= 0 and r != hub:
                    # A spoke's write reaches the other spokes through the hub: two hops.
                    at_hub = cm + pipeline_s[idx] + rtt[c, hub] * jitter[idx, hub] / 2
                    if failed == hub:
                        at_hub = np.where(timeline.down(at_hub), timeline.back_s, at_hub)
                    arrive = np.where(c == hub, arrive, at_hub + rtt[hub, r] * jitter[idx, r] / 2)
                # A replica that acknowledged the write holds it when it commits.
                arrive = np.where(acked[:, r], cm, arrive)
                arrive = np.where(here, cm, arrive)
                if failed >= 0:
                    # Not yet sent when the writer failed: stuck there.
                    stuck = (c == failed) & ~here & ~acked[:, r] & (cm + pipeline_s[idx] >= timeline.failed_s) \
                        & (cm < timeline.failed_s)
                    sent_ok[:, k] = ~stuck
                    arrive = np.where(stuck, math.inf, arrive)
                    # Arriving at the failed region while it is down: it catches up when back.
                    late = (r == failed) & timeline.down(arrive) & ~here
                    arrive = np.where(late, timeline.back_s, arrive)
                applied[:, k] = np.where(accepted, arrive, math.nan)
            # Lost: committed at the failed writer and on no surviving replica.
            lost = np.zeros(len(idx), dtype=bool)
            if failed >= 0:
                on_survivor = np.zeros(len(idx), dtype=bool)
                for k, r in enumerate(reps):
                    if r != failed:
                        on_survivor |= np.isfinite(applied[:, k]) & (applied[:, k] < math.inf)
                # (With no other copy there is no one to take over, and nothing to discard: the region's
                # writes are there again when it is back.)
                lost = accepted & (c == failed) & ~on_survivor & (cm < timeline.failed_s) & any(
                    r != failed for r in reps)
                # Survivors that missed a write another survivor has get it from the promoted writer.
                for k, r in enumerate(reps):
                    if r != failed:
                        fill = accepted & ~lost & ~np.isfinite(applied[:, k])
                        applied[:, k] = np.where(fill, max(timeline.promoted_s, timeline.failed_s), applied[:, k])
                fk = reps.index(failed) if failed in reps else None
                if fk is not None:
                    # The failed region drops its own unreplicated tail when it fails back.
                    applied[:, fk] = np.where(lost, math.inf, applied[:, fk])
                    back = accepted & ~lost & ~np.isfinite(applied[:, fk])
                    applied[:, fk] = np.where(back, timeline.back_s, applied[:, fk])
            everywhere = np.all(applied <= horizon, axis=1)
            code[idx] = np.where(refused, _REFUSED, np.where(lost, _LOST, np.where(everywhere, _APPLIED, _PENDING)))
            lost_with[idx] = np.where(lost, f"failure of {timeline.region}", "")
            applied_at[np.ix_(idx[accepted], reps)] = applied[accepted]
            # Transfer: a copy sent from the writer to each other replica, billed where it is sent from —
            # for a spoke, one copy to the hub, which sends the others.
            sent = accepted[:, None] & sent_ok & (np.asarray(reps)[None, :] != c[:, None])
            price = np.asarray([REGIONS[regions[ci]].transfer_usd_per_gb for ci in range(n_regions)])
            copies_sent = sent.sum(axis=1)
            gb = d.size_kb / 1024 / 1024
            if hub >= 0:
                spoke = (c != hub) & (copies_sent > 0)
                # Per sending region: a spoke pays for its copy to the hub, the hub for the rest.
                np.add.at(sent_usd, c[spoke], price[c[spoke]] * gb)
                np.add.at(sent_usd, np.full(int(spoke.sum()), hub), (copies_sent[spoke] - 1) * price[hub] * gb)
                np.add.at(sent_usd, c[~spoke], copies_sent[~spoke] * price[c[~spoke]] * gb)
            else:
                np.add.at(sent_usd, c, copies_sent * price[c] * gb)
            # Reads by users near each region, served by the nearest replica holding their data
            # (while that replica is down, by the nearest one still up).
            def served(viewer: str, holders: tuple[str, ...] = sets[home], applied: np.ndarray = applied,
                       reps: list[int] = reps, commits: np.ndarray = commit[idx]) -> tuple[np.ndarray, int]:
                srv = nearest_of(viewer, holders, regions)
                times = applied[:, reps.index(regions.index(srv))]
                alt = stand_in(cfg, srv, holders, timeline.region) if srv == timeline.region else None
                if alt is not None:
                    times = np.where(timeline.down(commits), applied[:, reps.index(regions.index(alt))], times)
                return times, regions.index(srv)

            for vi, viewer in enumerate(regions):
                share = cfg.user_shares[vi]
                if share == 0 or d.reads_per_write == 0:
                    continue
                times, srv = served(viewer)
                lag = np.clip(times[accepted] - commit[idx][accepted], 0, None)
                lag = np.where(np.isfinite(lag), lag, horizon)
                stale_values.append(lag * 1000)
                stale_weights.append(np.full(len(lag), share * d.reads_per_write))
                stale_region.append(np.full(len(lag), vi))
                read_lat.append((np.full(1, vi), np.full(1, rtt[vi, srv] * 1000),
                                 np.full(1, share * d.reads_per_write * len(idx))))
            # Read-your-writes: the author reads back from the replica serving them.
            times, srv_own = served(home)
            sees = times <= commit[idx] + read_back[idx]
            ryw_ok[idx] = ~accepted | sees
        # Conflicts: concurrent writes to one key that landed at different regions.
        if d.topology in ("active_active", "hub_and_spoke"):
            c_pairs, lost_here = _concurrent(np.flatnonzero(mine & (code != _REFUSED)), key, coord, commit,
                                             applied_at)
            conflicts += c_pairs
            if d.conflict == "lww":
                lww_lost[lost_here] = True
    lost_updates = int(lww_lost.sum())

    writes = pd.DataFrame({
        "write_id": np.arange(n), "time_s": t, "dataset": [cfg.datasets[i].name for i in dataset],
        "key": key, "user_region": [regions[i] for i in user], "coordinator": [regions[i] for i in coord],
        "latency_ms": latency, "commit_s": commit, "outcome": np.asarray(OUTCOMES, dtype=object)[code],
        "lost_with": lost_with.astype(str),
        "read_your_write": ryw_ok, "overwritten_unseen": lww_lost,
    })
    holds = ~np.isnan(applied_at)
    w_idx, r_idx = np.nonzero(holds)
    copies = pd.DataFrame({"write_id": w_idx, "replica": np.asarray(regions, dtype=object)[r_idx],
                           "applied_s": applied_at[w_idx, r_idx]})

    # What users near each region saw.
    sv = np.concatenate(stale_values) if stale_values else np.empty(0)
    sw = np.concatenate(stale_weights) if stale_weights else np.empty(0)
    sr = np.concatenate(stale_region) if stale_region else np.empty(0, dtype=int)
    rv, rl, rw = (np.concatenate([x[i] for x in read_lat]) if read_lat else np.empty(0) for i in range(3))
    accepted = code != _REFUSED
    rows = []
    for vi, region in enumerate(regions):
        near = user == vi
        write_q = _quantiles(latency[near & accepted], (0.5, 0.99))
        read_q = _weighted_quantiles(rl[rv == vi], rw[rv == vi], (0.5, 0.99))
        stale_q = _weighted_quantiles(sv[sr == vi], sw[sr == vi], (0.5, 0.99))
        rows.append({
            "region": region, "users_share": cfg.user_shares[vi], "writes": int(near.sum()),
            "write_p50_ms": write_q[0], "write_p99_ms": write_q[1], "read_p50_ms": read_q[0],
            "read_p99_ms": read_q[1], "staleness_p50_ms": stale_q[0], "staleness_p99_ms": stale_q[1],
            "refused": int((near & ~accepted).sum()),
            "transfer_usd_month": float(sent_usd[vi]) * _SECONDS_PER_MONTH / horizon if horizon > 0 else 0.0,
        })
    region_table = pd.DataFrame(rows)
    residency = residency_check(cfg, timeline)

    # Time series: what happened to the writes issued in each interval.
    n_bins = max(math.ceil(horizon / cfg.sample_interval_s - 1e-9), 1)
    which = np.minimum((t // cfg.sample_interval_s).astype(np.int64), n_bins - 1)
    ts = pd.DataFrame({"time_s": np.arange(n_bins) * cfg.sample_interval_s})
    for i, name in enumerate(OUTCOMES):
        ts[name] = np.bincount(which[code == i], minlength=n_bins)
    ts["writes"] = ts[list(OUTCOMES)].sum(axis=1)
    ts["availability"] = np.where(ts["writes"] > 0, 1 - ts["refused"] / ts["writes"].clip(lower=1), 1.0)

    counts = np.bincount(code, minlength=len(OUTCOMES)) if n else np.zeros(len(OUTCOMES), dtype=int)
    lost_commits = commit[code == _LOST]
    write_q = _quantiles(latency[accepted], (0.5, 0.99))
    read_q = _weighted_quantiles(rl, rw, (0.5, 0.99))
    stale_q = _weighted_quantiles(sv, sw, (0.5, 0.99))
    summary = {
        "writes": n, **{name: int(counts[i]) for i, name in enumerate(OUTCOMES)},
        "availability": float(accepted.mean()) if n else 1.0,
        "write_latency_p50_ms": write_q[0], "write_latency_p99_ms": write_q[1],
        "read_latency_p50_ms": read_q[0], "read_latency_p99_ms": read_q[1],
        "staleness_p50_ms": stale_q[0], "staleness_p99_ms": stale_q[1],
        "read_your_writes_violations": int((~ryw_ok).sum()),
        "conflicts": int(conflicts),
        "lost_updates": lost_updates,
        "rpo_s": float(timeline.failed_s - lost_commits.min()) if len(lost_commits) else 0.0,
        "rpo_writes": len(lost_commits),
        "rto_s": _rto(timeline, t[code == _REFUSED]),
        "detected_after_s": timeline.detected_s - timeline.failed_s if timeline.region else math.nan,
        "failed_back_at_s": timeline.failed_back_s if timeline.region else math.nan,
        "residency_violations": len(residency),
        "monthly_transfer_usd": float(sent_usd.sum()) * _SECONDS_PER_MONTH / horizon if horizon > 0 else 0.0,
    }
    return MultiRegionResult(summary=summary, outcome=outcome, config=cfg, seed=seed, writes=writes, copies=copies,
                             regions=region_table, residency=residency, timeseries=ts, timeline=timeline)


def _rto(timeline: Timeline, refused_s: np.ndarray) -> float:
    """From the failure until the last write refused because of it (0: none refused; NaN: no failure)."""
    if timeline.region is None or not math.isfinite(timeline.failed_s):
        return math.nan
    after = refused_s[refused_s >= timeline.failed_s]
    return float(after.max() - timeline.failed_s) if len(after) else 0.0


def _concurrent(idx: np.ndarray, key: np.ndarray, coord: np.ndarray, commit: np.ndarray,
                applied_at: np.ndarray) -> tuple[int, np.ndarray]:
    """Pairs of concurrent writes among ``idx`` and the writes LWW overwrites unseen.

    Two writes to one key at coordinators A ≠ B are concurrent when each committed before the
    other reached its coordinator. LWW keeps the later commit and loses the earlier: a write is
    lost if any write concurrent with it committed later.
    """
    if len(idx) < 2:
        return 0, np.empty(0, dtype=np.int64)
    order = idx[np.lexsort((commit[idx], key[idx]))]
    ks, cs, co = key[order], commit[order], coord[order]
    lags = applied_at[idx] - commit[idx, None]
    finite = lags[np.isfinite(lags)]
    # The longest a write takes to reach another replica bounds how far apart concurrent writes can be.
    span = float(finite.max()) if len(finite) else 0.0
    pairs, losers = 0, []
    for offset in range(1, len(order)):
        near = (ks[offset:] == ks[:-offset]) & (cs[offset:] - cs[:-offset] <= span)
        if not near.any():
            break
        i = np.flatnonzero(near & (co[offset:] != co[:-offset]))
        a, b = order[i], order[i + offset]
        concurrent = (commit[b] < applied_at[a, coord[b]]) & (commit[a] < applied_at[b, coord[a]])
        pairs += int(concurrent.sum())
        losers.append(a[concurrent])  # a committed first: the later write b wins
    lost = np.unique(np.concatenate(losers)) if losers else np.empty(0, dtype=np.int64)
    return pairs, lost


def residency_check(cfg: MultiRegionConfig, timeline: Timeline | None = None) -> pd.DataFrame:
    """Every path that moves EEA users' personal data out of the EEA without a legal basis.

    A path is a replica holding it (replication), the region its writes go to (routing), or the
    region that takes them over when a region fails (failover). One row per (dataset, path,
    from, to), with the GDPR article it breaks.
    """
    rows = []
    for d in cfg.datasets:
        if d.data_class != "personal":
            continue
        sets = replica_sets(cfg, d)
        for home, share in zip(cfg.regions, cfg.user_shares, strict=True):
            if share == 0 or not REGIONS[home].eea:
                continue
            paths = [("replication", r) for r in sets[home] if r != home]
            paths.append(("routing", writer(cfg, d, home, sets[home])))
            if timeline is not None and timeline.region is not None:
                c = writer(cfg, d, home, sets[home])
                if c == timeline.region:
                    takeover = stand_in(cfg, c, sets[home], timeline.region)
                    if takeover is not None:
                        paths.append(("failover", takeover))
            for path, dest in paths:
                if not personal_data_may_go(home, dest, dpf_certified=cfg.dpf_certified,
                                            safeguards=cfg.transfer_safeguards):
                    rows.append({"dataset": d.name, "path": path, "from": home, "to": dest,
                                 "to_country": REGIONS[dest].country, "breaks": _GDPR})
    frame = pd.DataFrame(rows, columns=["dataset", "path", "from", "to", "to_country", "breaks"])
    return frame.drop_duplicates(ignore_index=True)
