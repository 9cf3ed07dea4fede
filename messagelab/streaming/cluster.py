"""A Kafka-like cluster: producers, brokers, one topic's partitions and a consumer group.

What is modelled, at the level where Kafka's documented trade-offs appear:

- **Producers** append each record to a per-partition batch in their accumulator; a batch is
  sent when it holds ``batch_size_bytes`` (compressed, as Kafka estimates) or when its first
  record has waited ``linger_ms``, so batching adds at most ``linger_ms`` to a record's wait.
  A connection carries at most ``max_in_flight`` requests and a request at most one batch
  per partition, so one producer writes one partition at most
  ``max_in_flight × batch / request latency`` — the per-partition producer throughput of
  Jun Rao's partition-count rule. ``acks`` sets the request latency: ``0`` does not wait,
  ``1`` waits for the leader's append, ``all`` for every in-sync replica. Idempotence (the
  default since Kafka 3.0, with ``acks=all``) needs ``max_in_flight ≤ 5`` and makes a retry
  write nothing twice. The **partitioner** sends keyed records by key hash
  (:mod:`~messagelab.streaming.keys`: per-key order, and hot partitions under skew), or
  spreads records without keys sticky (a whole batch to one partition, then the next: big
  batches) or round-robin (one record each: small batches). Compression
  (:mod:`~messagelab.streaming.codecs`) shrinks batches and costs producer CPU. A producer
  holds at most ``buffer_memory_mb`` of unsent records; when it is full, ``send()`` blocks
  the application, and a record not acknowledged within ``delivery_timeout_s`` fails back
  to it.
- **Brokers** lead and follow partitions (replica ``j`` of partition ``p`` on broker
  ``(p + j) mod brokers``, the first the preferred leader). Each has a network link (in and
  out), a disk and request threads that spend ``broker_batch_cpu_ms`` per batch; its
  utilisation is its busiest resource, the writes it cannot take wait at the producers, and
  its requests slow down as ``1 / (1 - utilisation)``. Followers fetch from the leader; the
  high watermark — what consumers may read — advances when every in-sync replica has the
  record, whatever the ``acks``.
- **A broker failure** (``broker_failure_at_s``): the broker stops at once; the controller
  notices after ``broker_session_timeout_s`` (KRaft's ``broker.session.timeout.ms``, 9 s),
  fences it, removes it from every in-sync replica set and elects new leaders from the
  in-sync replicas. Until then its partitions take no writes, and the partitions it follows
  cannot advance their high watermark. At the election, records the old leader had appended
  but not yet replicated are gone from the log: acknowledged, and so **lost**, under
  ``acks=0`` and ``acks=1``; never acknowledged under ``acks=all``, so the producer
  retries them and nothing acknowledged is lost. ``acks=0`` also loses what it sent to the
  dead broker before the election. A partition whose in-sync replicas fall below
  ``min_insync_replicas`` refuses ``acks=all`` writes (``NotEnoughReplicas``); one with no
  replica left (``replication_factor`` 1) is offline, and the records on it are unavailable.
- **The consumer group**: at most one consumer per partition, by the ``assignor`` (range,
  round-robin, sticky); a consumer processes ``1000 / processing_ms_per_record`` records a
  second, shared among its partitions in proportion to their backlog; spare consumers sit
  idle. A crashed consumer is noticed after ``session_timeout_s`` (45 s since Kafka 3.0), a
  new one at once; then the group **rebalances**: ``eager`` (the classic protocol's
  stop-the-world) pauses every consumer for ``rebalance_pause_s``, ``incremental``
  (KIP-848's consumer protocol, or KIP-429's cooperative-sticky) pauses only the partitions
  that move. Records a crashed consumer processed after its last offset commit
  (``commit_interval_s``) are processed again.
- **Retention and cost**: storage is the compressed bytes written × replication factor ×
  retention (at ``daily_average_fraction`` of the simulated rate); cost is the brokers' and
  the consumers' hours and the storage.

**Aggregation — what it preserves.** Millions of records a second cannot be simulated one
by one in an explorer's budget, so the model moves *flows*: simpy runs a clock of
``TICK_S`` ticks and the fault processes, and in each tick every partition's records —
drawn as Poisson counts per tick from the ``arrivals`` stream and split among partitions
by their key shares — move through the accumulator, the leader, the followers and the
consumers as fluid queues limited by each stage's capacity. A record's end-to-end latency
is read from the cumulative curves of each stage (first in, first out within a partition),
plus its wait in the accumulator, which is spread uniformly between 0 and its batch's close
time (at most ``linger_ms``) over :data:`STRATA` strata per tick. Preserved: throughput
limits and their bottleneck, the batching bound, queueing growth near saturation,
backlogs and lag, per-partition skew, the failure's stall and what each ``acks`` loses,
and the accounting of every record. Not preserved: the order of two records within one
tick of one partition, and the variability of a single request's service time beyond the
``1 / (1 - utilisation)`` slow-down.

>>> r = simulate(StreamConfig(duration_s=20), seed=1)
>>> s = r.summary
>>> s["records_lost"], s["idle_consumers"], s["records_produced"] == s["records_acked"] + s["records_pending"]
(0, 0, True)
>>> bool(s["accumulator_wait_max_ms"] <= 5)
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import simpy

from messagelab.sim.budget import RunBudget, RunOutcome
from messagelab.sim.budget import run as run_budget
from messagelab.sim.config import FrozenConfig
from messagelab.sim.result import SimResult
from messagelab.sim.streams import streams
from messagelab.sim.validation import ConfigError, check_choice, check_number
from messagelab.streaming.codecs import CODECS, COMPRESSION, compressed_bytes
from messagelab.streaming.keys import partition_shares

#: The model's clock: flows move in ticks of this many seconds.
TICK_S = 0.1
#: Strata of each tick's records when latency percentiles are read (their accumulator waits).
STRATA = 4
#: Bytes of a record batch's header and of each record's own framing (Kafka's v2 format, about).
BATCH_HEADER_BYTES = 61
RECORD_OVERHEAD_BYTES = 8
#: The most partition-ticks one run may move (a run's memory and time grow with it).
MAX_PARTITION_TICKS = 3_000_000
#: Hours in an average month (365 × 24 / 12), as cloud price lists count them.
HOURS_A_MONTH = 730

#: The summary's counts of records, rounded to whole records.
COUNTS = ("records_produced", "records_acked", "records_pending", "records_failed", "records_consumed",
          "records_retained", "records_unavailable", "records_lost", "records_reprocessed", "duplicates_written",
          "max_lag_records", "final_lag_records")

ACKS = ("0", "1", "all")
PARTITIONERS = ("key-hash", "sticky", "round-robin")
ASSIGNORS = ("range", "round-robin", "sticky")
REBALANCE = ("eager", "incremental")


def _optional_time(field: str, value: Any, horizon: float) -> None:
    if value is not None:
        check_number(field, value, 0, horizon, unit="s", why="None for no such event; else within the run")


@dataclass(frozen=True)
class StreamConfig(FrozenConfig):
    """One topic on a Kafka-like cluster, its producers and one consumer group; defaults are Kafka's.

    Producer defaults are today's (Kafka 4.0): ``acks="all"`` and idempotence since 3.0
    (``acks=1`` before), ``linger_ms=5`` since 4.0 (0 before), ``batch_size_bytes=16384``,
    no compression, ``max_in_flight=5``, ``buffer_memory_mb=32``, ``delivery_timeout_s=120``;
    consumer ``session_timeout_s=45`` (10 before 3.0), ``commit_interval_s=5``.
    """

    # --- the workload -------------------------------------------------------------------
    records_per_s: float = 50_000.0
    record_bytes: int = 500
    duration_s: float = 60.0
    #: A peak: the rate times ``peak_factor`` from ``peak_start_s`` for ``peak_s`` seconds.
    peak_factor: float = 1.0
    peak_start_s: float = 0.0
    peak_s: float = 0.0
    #: Distinct keys, numbered by popularity; key k sends in proportion to 1 / (k + 1) ** key_skew.
    key_count: int = 10_000
    key_skew: float = 0.0
    producers: int = 4
    # --- the cluster ----------------------------------------------------------------------
    brokers: int = 3
    broker_network_mb_s: float = 300.0
    broker_disk_mb_s: float = 250.0
    broker_request_threads: int = 8
    broker_batch_cpu_ms: float = 0.05
    network_rtt_ms: float = 1.0
    partitions: int = 12
    replication_factor: int = 3
    min_insync_replicas: int = 2
    retention_hours: float = 24.0
    broker_storage_gb: float = 1000.0
    broker_usd_per_hour: float = 0.384
    storage_usd_per_gb_month: float = 0.08
    #: What one consumer instance costs an hour (its container or machine).
    consumer_usd_per_hour: float = 0.0
    #: The day's average rate as a fraction of the simulated rate (retention fills at the average).
    daily_average_fraction: float = 1.0
    # --- the producers --------------------------------------------------------------------
    acks: str = "all"
    enable_idempotence: bool = True
    batch_size_bytes: int = 16_384
    linger_ms: float = 5.0
    compression: str = "none"
    max_in_flight: int = 5
    buffer_memory_mb: float = 32.0
    delivery_timeout_s: float = 120.0
    partitioner: str = "key-hash"
    # --- the consumer group -----------------------------------------------------------------
    consumers: int = 3
    processing_ms_per_record: float = 0.05
    assignor: str = "range"
    rebalance: str = "incremental"
    rebalance_pause_s: float = 3.0
    session_timeout_s: float = 45.0
    commit_interval_s: float = 5.0
    # --- faults ------------------------------------------------------------------------
    broker_failure_at_s: float | None = None
    failed_broker: int = 0
    broker_session_timeout_s: float = 9.0
    consumer_crash_at_s: float | None = None
    consumer_join_at_s: float | None = None
    consumers_joining: int = 1

    def validate(self) -> None:
        check_number("records_per_s", self.records_per_s, 0, 50_000_000, low_open=True, unit="records/s")
        check_number("record_bytes", self.record_bytes, 1, 1_000_000, integer=True, unit="bytes",
                     why="max.request.size is 1 MB by default")
        check_number("duration_s", self.duration_s, TICK_S, 86_400, unit="s")
        check_number("peak_factor", self.peak_factor, 1, 100)
        check_number("peak_start_s", self.peak_start_s, 0, self.duration_s, unit="s")
        check_number("peak_s", self.peak_s, 0, self.duration_s, unit="s")
        check_number("key_count", self.key_count, 1, 10_000_000, integer=True, unit="keys")
        check_number("key_skew", self.key_skew, 0, 3, why="a Zipf exponent: 0 uniform, 1 classic Zipf")
        check_number("producers", self.producers, 1, 10_000, integer=True)
        check_number("brokers", self.brokers, 1, 1000, integer=True)
        check_number("broker_network_mb_s", self.broker_network_mb_s, 1, 100_000, unit="MB/s")
        check_number("broker_disk_mb_s", self.broker_disk_mb_s, 1, 100_000, unit="MB/s")
        check_number("broker_request_threads", self.broker_request_threads, 1, 256, integer=True,
                     why="num.io.threads")
        check_number("broker_batch_cpu_ms", self.broker_batch_cpu_ms, 0, 100, unit="ms")
        check_number("network_rtt_ms", self.network_rtt_ms, 0, 1000, low_open=True, unit="ms")
        check_number("partitions", self.partitions, 1, 100_000, integer=True)
        check_number("replication_factor", self.replication_factor, 1, min(self.brokers, 7), integer=True,
                     why="each replica of a partition needs its own broker")
        check_number("min_insync_replicas", self.min_insync_replicas, 1, self.replication_factor, integer=True,
                     why="more than the replication factor and acks=all could never succeed")
        check_number("retention_hours", self.retention_hours, 0, 8760 * 10, low_open=True, unit="h")
        check_number("broker_storage_gb", self.broker_storage_gb, 1, 1_000_000, unit="GB")
        check_number("broker_usd_per_hour", self.broker_usd_per_hour, 0, 1000, unit="USD/h")
        check_number("storage_usd_per_gb_month", self.storage_usd_per_gb_month, 0, 100, unit="USD/GB-month")
        check_number("consumer_usd_per_hour", self.consumer_usd_per_hour, 0, 1000, unit="USD/h")
        check_number("daily_average_fraction", self.daily_average_fraction, 0, 1, low_open=True)
        check_choice("acks", self.acks, ACKS, why='Kafka\'s acks: "0", "1" or "all" (a string)')
        check_choice("enable_idempotence", self.enable_idempotence, (True, False))
        check_number("batch_size_bytes", self.batch_size_bytes, 0, 16 * 1024 * 1024, integer=True, unit="bytes",
                     why="0 disables batching")
        check_number("linger_ms", self.linger_ms, 0, 60_000, unit="ms")
        check_choice("compression", self.compression, COMPRESSION)
        check_number("max_in_flight", self.max_in_flight, 1, 100, integer=True,
                     why="max.in.flight.requests.per.connection")
        check_number("buffer_memory_mb", self.buffer_memory_mb, 1, 65_536, unit="MB")
        check_number("delivery_timeout_s", self.delivery_timeout_s, 1, 86_400, unit="s")
        check_choice("partitioner", self.partitioner, PARTITIONERS)
        check_number("consumers", self.consumers, 1, 10_000, integer=True)
        check_number("processing_ms_per_record", self.processing_ms_per_record, 0.0001, 60_000, unit="ms")
        check_choice("assignor", self.assignor, ASSIGNORS)
        check_choice("rebalance", self.rebalance, REBALANCE)
        check_number("rebalance_pause_s", self.rebalance_pause_s, 0, 600, unit="s")
        check_number("session_timeout_s", self.session_timeout_s, 1, 1800, unit="s")
        check_number("commit_interval_s", self.commit_interval_s, 0.01, 3600, unit="s")
        _optional_time("broker_failure_at_s", self.broker_failure_at_s, self.duration_s)
        check_number("failed_broker", self.failed_broker, 0, self.brokers - 1, integer=True,
                     why="brokers are numbered from 0")
        check_number("broker_session_timeout_s", self.broker_session_timeout_s, 0, 600, unit="s")
        _optional_time("consumer_crash_at_s", self.consumer_crash_at_s, self.duration_s)
        _optional_time("consumer_join_at_s", self.consumer_join_at_s, self.duration_s)
        check_number("consumers_joining", self.consumers_joining, 1, 1000, integer=True)
        if self.enable_idempotence and self.acks != "all":
            raise ConfigError("acks", self.acks, '"all" while enable_idempotence is True',
                              "an idempotent producer needs every in-sync replica's acknowledgement")
        if self.enable_idempotence and self.max_in_flight > 5:
            raise ConfigError("max_in_flight", self.max_in_flight, "a whole number ≥ 1 and ≤ 5 while "
                              "enable_idempotence is True", "the broker keeps five batches per producer to "
                              "deduplicate")
        ticks = math.ceil(self.duration_s / TICK_S)
        if ticks * self.partitions > MAX_PARTITION_TICKS:
            raise ConfigError("duration_s", self.duration_s, "a shorter run or fewer partitions",
                              f"{ticks:,} ticks × {self.partitions:,} partitions would be simulated; the limit "
                              f"is {MAX_PARTITION_TICKS:,}")

    # --- derived figures, shared by the model and the notebooks ---------------------------
    @property
    def stored_record_bytes(self) -> float:
        """A record's bytes in a large batch: compressed, plus its framing."""
        return CODECS[self.compression].ratio * self.record_bytes + RECORD_OVERHEAD_BYTES

    @property
    def batch_records(self) -> int:
        """The most records one batch holds (``batch_size_bytes`` of compressed records; at least one)."""
        return max(1, int(self.batch_size_bytes // self.stored_record_bytes))

    def rate_at(self, t: np.ndarray) -> np.ndarray:
        """The producers' total rate (records/s) at times ``t``."""
        t = np.asarray(t, dtype=float)
        peak = (t >= self.peak_start_s) & (t < self.peak_start_s + self.peak_s)
        return self.records_per_s * np.where(peak, self.peak_factor, 1.0)

    def shares(self) -> np.ndarray:
        """Each partition's share of the records when every partition is online."""
        if self.partitioner == "key-hash":
            return partition_shares(self.key_count, self.key_skew, self.partitions)
        return np.full(self.partitions, 1.0 / self.partitions)

    def replicas(self) -> np.ndarray:
        """Partition × replica → broker; column 0 holds the preferred leaders."""
        p = np.arange(self.partitions)[:, None]
        return (p + np.arange(self.replication_factor)[None, :]) % self.brokers


def light_load_request_s(config: StreamConfig) -> float:
    """A produce request's latency on an idle cluster: the network round trip, the broker's
    work on one full batch and, under ``acks=all``, the followers' fetch of it."""
    c = config
    k = c.batch_records
    batch = float(compressed_bytes(c.compression, k * c.record_bytes)) + k * RECORD_OVERHEAD_BYTES + BATCH_HEADER_BYTES
    on_link = batch / (c.broker_network_mb_s * 1e6)
    rtt = c.network_rtt_ms / 1000.0
    request = rtt + c.broker_batch_cpu_ms / 1000.0 + on_link
    if c.acks == "all" and c.replication_factor > 1:
        request += rtt + on_link
    return rtt / 2 if c.acks == "0" else request


def partition_rates(config: StreamConfig) -> tuple[float, float]:
    """(p, c): the records a second one partition takes from the producers, and one consumer processes.

    ``p`` is the producers' in-flight limit on one partition with full batches on an idle
    cluster (``producers × max_in_flight × batch_records / request latency``); ``c`` is
    ``1000 / processing_ms_per_record``. Jun Rao's rule for a target of ``t`` records a second
    is then at least ``max(t / p, t / c)`` partitions.

    >>> p, c = partition_rates(StreamConfig(producers=1, processing_ms_per_record=0.1))
    >>> round(p), round(c)
    (74116, 10000)
    """
    c = config
    produce = c.producers * c.max_in_flight * c.batch_records / light_load_request_s(c)
    return float(produce), 1000.0 / c.processing_ms_per_record


def assign(partitions: list[int], members: list[int], assignor: str,
           previous: dict[int, int] | None = None) -> dict[int, int]:
    """Partition → consumer by ``assignor``; ``sticky`` keeps ``previous`` owners that are still members.

    >>> assign([0, 1, 2, 3, 4], [0, 1], "range")
    {0: 0, 1: 0, 2: 0, 3: 1, 4: 1}
    >>> assign([0, 1, 2, 3, 4], [0, 1], "round-robin")
    {0: 0, 1: 1, 2: 0, 3: 1, 4: 0}
    >>> assign([0, 1, 2, 3], [1, 2], "sticky", previous={0: 0, 1: 1, 2: 2, 3: 0})
    {0: 1, 1: 1, 2: 2, 3: 2}
    """
    members = sorted(members)
    if not members:
        return {}
    n, m = len(partitions), len(members)
    if assignor == "range":
        per, extra = divmod(n, m)
        out, i = {}, 0
        for k, member in enumerate(members):
            for _ in range(per + (1 if k < extra else 0)):
                out[partitions[i]] = member
                i += 1
        return out
    if assignor == "round-robin" or not previous:
        return {p: members[i % m] for i, p in enumerate(partitions)}
    # sticky: keep every partition whose owner is still here, up to a fair share each; hand out the rest.
    quota = {member: n // m + (1 if k < n % m else 0) for k, member in enumerate(members)}
    out: dict[int, int] = {}
    for p in partitions:
        owner = previous.get(p)
        if owner in quota and quota[owner] > 0:
            out[p] = owner
            quota[owner] -= 1
    for p in partitions:
        if p not in out:
            owner = max(members, key=lambda x: (quota[x], -x))
            out[p] = owner
            quota[owner] -= 1
    return dict(sorted(out.items()))


@dataclass
class StreamResult(SimResult):
    """A run of the cluster: summary, a timeline per second, partitions, brokers and consumers."""

    timeline: pd.DataFrame
    partitions: pd.DataFrame
    brokers: pd.DataFrame
    consumers: pd.DataFrame
    config: StreamConfig
    #: Per partition: the record accounts the invariants check (produced, acked, consumed …).
    accounts: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    units: ClassVar[dict[str, str]] = {
        "records_produced": "records",
        "records_acked": "records",
        "records_pending": "records",
        "records_failed": "records",
        "records_consumed": "records",
        "records_retained": "records",
        "records_unavailable": "records",
        "records_lost": "records",
        "records_reprocessed": "records",
        "duplicates_written": "records",
        "throughput_records_per_s": "records/s",
        "throughput_mb_s": "MB/s",
        "consumed_records_per_s": "records/s",
        "latency_p50_s": "s",
        "latency_p99_s": "s",
        "ack_latency_p50_ms": "ms",
        "ack_latency_p99_ms": "ms",
        "accumulator_wait_max_ms": "ms",
        "records_per_batch": "records",
        "batches_per_s": "batches/s",
        "max_lag_records": "records",
        "final_lag_records": "records",
        "lag_recovered_s": "s",
        "hot_partition_share": "fraction",
        "broker_utilisation_max": "fraction",
        "consumer_utilisation_max": "fraction",
        "broker_network_mb_s_max": "MB/s",
        "producer_blocked_s": "s",
        "offline_partition_s": "s",
        "idle_consumers": "consumers",
        "rebalance_pause_s": "consumer-s",
        "per_key_order": "flag",
        "durable_writes": "flag",
        "storage_gb": "GB",
        "storage_utilisation": "fraction",
        "cost_usd_month": "USD/month",
    }

    def check_invariants(self) -> None:
        a, s, c = self.accounts, self.summary, self.config
        broken = []
        tol = 1e-6 * max(1.0, float(s["records_produced"]))
        if not np.allclose(a["produced"], a["acked"] + a["pending"] + a["failed"], rtol=1e-9, atol=tol):
            broken.append("every record produced is acknowledged, pending in a producer or failed back to it")
        if not np.allclose(a["acked"], a["consumed"] + a["retained"] + a["unavailable"] + a["lost"],
                           rtol=1e-9, atol=tol):
            broken.append("every record acknowledged is consumed, retained, unavailable or lost")
        if c.acks == "all" and a["lost"].sum() > tol:
            broken.append("acks=all lost an acknowledged record")
        if (a["consumed"] > a["high_watermark"] + tol).any():
            broken.append("a consumer read beyond the high watermark")
        if (a["high_watermark"] > a["log_end"] + tol).any():
            broken.append("the high watermark passed the end of the log")
        for name in ("pending", "failed", "consumed", "retained", "unavailable", "lost"):
            if (a[name] < -tol).any():
                broken.append(f"{name} records negative")
        if not 0 <= s["hot_partition_share"] <= 1 + 1e-9:
            broken.append("a partition's share outside 0 to 1")
        if s["accumulator_wait_max_ms"] > c.linger_ms + 1e-9:
            broken.append("a record waited in its batch longer than linger_ms")
        if broken:
            raise AssertionError("; ".join(broken))


class _Run:
    """One run's state: the flows per partition (cumulative at each tick's end) and what faults changed."""

    def __init__(self, c: StreamConfig, arrivals: np.ndarray, shares: np.ndarray) -> None:
        P, B, T = c.partitions, c.brokers, arrivals.shape[0]
        self.c, self.arrivals, self.shares = c, arrivals, shares
        self.P, self.B, self.T = P, B, T
        self.replicas = c.replicas()
        self.codec = CODECS[c.compression]
        self.n_max = c.batch_records
        self.linger_s = c.linger_ms / 1000.0
        self.rtt = c.network_rtt_ms / 1000.0
        self.consumer_cap = TICK_S / (c.processing_ms_per_record / 1000.0)
        self.link_bytes_s = c.broker_network_mb_s * 1e6
        self.caps = np.array([c.broker_request_threads * TICK_S, self.link_bytes_s * TICK_S,
                              self.link_bytes_s * TICK_S, c.broker_disk_mb_s * 1e6 * TICK_S])
        self.batch_cpu = c.broker_batch_cpu_ms / 1000.0
        self.buffer_bytes = c.buffer_memory_mb * 1e6 * c.producers
        self.compress_bytes_tick = self.codec.compress_mb_s * 1e6 * c.producers * TICK_S
        self.expire_ticks = int(round(c.delivery_timeout_s / TICK_S))
        self.commit_every = max(1, round(c.commit_interval_s / TICK_S))
        n_consumers = c.consumers + (c.consumers_joining if c.consumer_join_at_s is not None else 0)

        # What the faults change.
        self.leader = self.replicas[:, 0].copy()            # partition -> leading broker, -1 offline
        self.isr = np.ones(self.replicas.shape, dtype=bool)  # partition × replica -> in sync
        self.broker_up = np.ones(B, dtype=bool)
        self.stalled_hw = np.zeros(P, dtype=bool)           # a dead follower in the ISR holds the HW
        self.failed_led = np.zeros(P, dtype=bool)           # partitions the failed broker led
        self.members = list(range(c.consumers))
        self.owner = assign(list(range(P)), self.members, c.assignor)
        self.owners = np.array([self.owner.get(p, -1) for p in range(P)])
        self.consumer_up = np.ones(n_consumers, dtype=bool)
        self.paused_until = np.zeros(P)
        self.pause_consumer_s = 0.0
        self.reprocessed = 0.0
        self.duplicates = 0.0

        # Flows: cumulative per partition at each tick's end (row t + 1).
        z = lambda: np.zeros((T + 1, P))  # noqa: E731
        self.arr_cum, self.app_cum, self.con_cum, self.fail_cum, self.hw_cum = z(), z(), z(), z(), z()
        self.log_cum = z()           # each partition's log end offset (records in its log)
        self.removed_cum = z()       # records taken out of the producers' stage other than by an append
        self.log_end = np.zeros(P)   # records in each partition's log
        self.backlog = np.zeros(P)   # records waiting in the producers (batches queued, or send() blocked)
        self.retry = np.zeros(P)     # truncated, never acknowledged: sent again
        self.lost = np.zeros(P)      # acknowledged and gone
        self.truncated = np.zeros(P)
        self.dead_sent = np.zeros(P)
        self.retried_total = np.zeros(P)
        self.since_commit = np.zeros(n_consumers)
        self.processed_by = np.zeros(n_consumers)
        self.busy_by = np.zeros(n_consumers)
        # Per tick.
        self.close_s = np.zeros((T, P))
        self.request_s = np.zeros((T, P))
        self.replicate_s = np.zeros((T, P))
        self.batches = np.zeros(T)
        self.util = np.zeros((T, B, 4))
        self.blocked = np.zeros(T, dtype=bool)
        self.offline = np.zeros(T)
        self.last_request = np.full(P, 2 * self.rtt)
        self.ticks = 0

    # --- faults -------------------------------------------------------------------------
    def fail_broker(self) -> None:
        b = self.c.failed_broker
        self.broker_up[b] = False
        led = self.leader == b
        self.failed_led = led
        self.leader[led] = -1
        self.stalled_hw |= (self.replicas[:, 1:] == b).any(axis=1) & ~led

    def fence_broker(self) -> None:
        """The controller fences the failed broker: out of every ISR, new leaders from the ISR left."""
        c, b = self.c, self.c.failed_broker
        self.isr &= self.replicas != b
        self.stalled_hw[:] = False
        for p in np.flatnonzero(self.failed_led):
            alive = [int(self.replicas[p, j]) for j in range(c.replication_factor)
                     if self.isr[p, j] and self.broker_up[self.replicas[p, j]]]
            if not alive:
                continue
            self.leader[p] = alive[0]
            at_risk = max(float(self.log_end[p] - self.hw_cum[self.ticks, p]), 0.0)
            self.log_end[p] -= at_risk
            if c.acks == "all":
                self.retry[p] += at_risk      # never acknowledged: the producer sends them again
            else:
                self.truncated[p] += at_risk  # acknowledged, and gone from the log
                self.lost[p] += at_risk
            if not c.enable_idempotence and c.acks != "0":
                # Requests in flight whose acknowledgement died with the broker are sent again.
                recent = self.arrivals[max(self.ticks - 1, 0), p]
                self.duplicates += float(recent * min(1.0, self.last_request[p] / TICK_S))

    def rebalance(self, now: float) -> None:
        c = self.c
        online = [m for m in self.members if self.consumer_up[m]]
        previous = self.owner
        self.owner = assign(list(range(self.P)), online, c.assignor, previous)
        self.owners = np.array([self.owner.get(p, -1) for p in range(self.P)])
        if c.rebalance == "eager":
            moved = np.ones(self.P, dtype=bool)
            paused = len(online)
        else:
            moved = np.array([previous.get(p) != self.owner.get(p) for p in range(self.P)])
            paused = len({self.owner[p] for p in np.flatnonzero(moved) if p in self.owner})
        self.paused_until = np.where(moved, np.maximum(self.paused_until, now + c.rebalance_pause_s),
                                     self.paused_until)
        self.pause_consumer_s += paused * c.rebalance_pause_s

    def crash_consumer(self) -> int:
        victim = self.members[0]
        self.consumer_up[victim] = False
        self.reprocessed += float(self.since_commit[victim])
        return victim

    # --- one tick -------------------------------------------------------------------------
    def step(self, t: int) -> None:
        c, P, B = self.c, self.P, self.B
        now = t * TICK_S
        leader = self.leader
        online = leader >= 0
        a = self.arrivals[t].copy()
        if c.partitioner != "key-hash" and not online.all() and online.any():
            # Records without a key go to partitions that have a leader.
            a = a.sum() * np.where(online, self.shares, 0.0) / self.shares[online].sum()
        self.arr_cum[t + 1] = self.arr_cum[t] + a
        removed = np.zeros(P)
        if c.acks == "0" and not online.all():
            # Sent to a dead leader: nothing tells the producer, and the records are gone.
            dead = np.where(online, 0.0, self.backlog + a)
            self.dead_sent += dead
            self.lost += dead
            removed += dead
            a = np.where(online, a, 0.0)
            self.backlog = np.where(online, self.backlog, 0.0)
        demand = self.backlog + a + self.retry
        self.retried_total += self.retry
        self.retry = np.zeros(P)
        self.blocked[t] = float(self.backlog.sum()) * c.record_bytes > self.buffer_bytes

        # Batches: each producer's batch for a partition fills at its share of the rate.
        rate = a / TICK_S
        fill = np.full(P, rate.sum() / c.producers) if c.partitioner == "sticky" else rate / c.producers
        lingered = np.clip(1.0 + fill * self.linger_s, 1.0, self.n_max)
        to_fill = np.divide(lingered - 1.0, fill, out=np.zeros(P), where=fill > 0)
        close = np.where(lingered >= self.n_max, np.minimum(to_fill, self.linger_s), self.linger_s)
        # Records already waiting for a free request slot join the next batch: when sending is
        # behind, a batch leaves with whatever has gathered, up to batch_size_bytes, at once.
        waiting = self.backlog / c.producers
        k = np.clip(np.maximum(lingered, waiting), 1.0, self.n_max)
        self.close_s[t] = np.where(waiting >= 1.0, 0.0, close)
        batch_bytes = (compressed_bytes(c.compression, k * c.record_bytes) + k * RECORD_OVERHEAD_BYTES
                       + BATCH_HEADER_BYTES)
        per_record = batch_bytes / k

        # What the producers can send: in-flight requests × batch / request latency, their CPU, the ISR rule.
        send = np.minimum(demand, c.producers * c.max_in_flight * k * TICK_S / np.maximum(self.last_request, 1e-6))
        raw = float((send * c.record_bytes).sum())
        if raw > self.compress_bytes_tick:
            send = send * (self.compress_bytes_tick / raw)
        writable = online.copy()
        if c.acks == "all":
            writable &= self.isr.sum(axis=1) >= c.min_insync_replicas
        send = np.where(writable, send, 0.0)

        # Broker load: leaders take the writes and serve the reads; followers fetch the writes.
        lead = np.where(online, leader, 0)

        def loads(send: np.ndarray) -> np.ndarray:
            write = send * per_record
            out = np.zeros((B, 4))
            out[:, 0] = np.bincount(lead, weights=send / k * self.batch_cpu, minlength=B)
            out[:, 1] = np.bincount(lead, weights=write, minlength=B)
            out[:, 3] = out[:, 1]
            for j in range(c.replication_factor):
                holders = self.replicas[:, j]
                follower = (holders != leader) & self.isr[:, j] & self.broker_up[holders]
                copy = np.where(follower, write, 0.0)
                fetched = np.bincount(holders, weights=copy, minlength=B)
                out[:, 1] += fetched
                out[:, 3] += fetched
                out[:, 2] += np.bincount(lead, weights=copy, minlength=B)
            readable = np.maximum(self.hw_cum[t] - self.con_cum[t], 0.0) + send
            reads = np.where(online, np.minimum(readable, self.consumer_cap) * per_record, 0.0)
            out[:, 2] += np.bincount(lead, weights=reads, minlength=B)
            return out / self.caps

        load = loads(send)
        for _ in range(3):
            rho = load.max(axis=1)
            if not (rho > 1.0 + 1e-9).any():
                break
            # A write needs room on every replica: each partition slows to its busiest replica's capacity.
            send = send / np.maximum(rho, 1.0)[self.replicas].max(axis=1)
            load = loads(send)
        # What is left above 1 is the consumers' reads, which the model does not slow: a link is
        # reported as full, never as more than full.
        self.util[t] = np.minimum(load, 1.0)
        self.batches[t] = float((send / k).sum())

        # This tick's latencies: the produce request, and replication to every in-sync follower.
        slow = 1.0 / (1.0 - np.minimum(load.max(axis=1), 0.95))
        on_link = batch_bytes / self.link_bytes_s
        service = (self.batch_cpu + on_link) * slow[lead]
        if c.replication_factor > 1:
            replicate = self.rtt + on_link * slow[self.replicas].max(axis=1)
        else:
            replicate = np.zeros(P)
        request = self.rtt + service + (replicate if c.acks == "all" else 0.0)
        if c.acks == "0":
            request = np.full(P, self.rtt / 2)
        self.request_s[t], self.replicate_s[t] = request, replicate
        # The producers' in-flight limit follows the request latency they have been seeing: a
        # smoothed figure, as a client's own latency estimate is, not the last tick's alone.
        self.last_request = 0.7 * self.last_request + 0.3 * request

        # Delivery timeout: records still unsent after it fail back to the application.
        expire = np.zeros(P)
        old = t - self.expire_ticks
        if old >= 0:
            expired_before = self.app_cum[t] - self.retried_total + self.removed_cum[t]
            expire = np.clip(self.arr_cum[old + 1] - expired_before - send, 0.0, demand - send)
            self.fail_cum[t + 1] = self.fail_cum[t] + expire
        else:
            self.fail_cum[t + 1] = self.fail_cum[t]
        removed += expire
        self.backlog = demand - send - expire
        self.app_cum[t + 1] = self.app_cum[t] + send
        self.removed_cum[t + 1] = self.removed_cum[t] + removed
        self.log_end += send

        # High watermark: what every in-sync replica holds, unless a dead follower still counts.
        unreplicated = send * np.minimum(replicate / TICK_S, 1.0)
        # A dead leader replicates nothing more: its followers keep what they had fetched.
        hw = np.where(self.stalled_hw | ~online, self.hw_cum[t], self.log_end - unreplicated)
        self.hw_cum[t + 1] = np.clip(hw, self.hw_cum[t], self.log_end)

        # Consumers: each shares its capacity among its readable partitions, in proportion to backlog.
        readable = np.maximum(self.hw_cum[t + 1] - self.con_cum[t], 0.0)
        readable = np.where(online & (self.paused_until <= now), readable, 0.0)
        owners = self.owners
        up = (owners >= 0) & self.consumer_up[np.maximum(owners, 0)]
        readable = np.where(up, readable, 0.0)
        slot = np.where(up, owners, len(self.consumer_up))
        total = np.bincount(slot, weights=readable, minlength=len(self.consumer_up) + 1)[:-1]
        factor = np.minimum(1.0, np.divide(self.consumer_cap, total, out=np.ones_like(total), where=total > 0))
        take = readable * np.append(factor, 0.0)[slot]
        done = total * factor
        self.processed_by += done
        self.busy_by += done / self.consumer_cap
        self.since_commit += done
        self.con_cum[t + 1] = self.con_cum[t] + take
        if (t + 1) % self.commit_every == 0:
            self.since_commit[:] = 0.0
        self.offline[t] = float((~online).sum())
        self.log_cum[t + 1] = self.log_end
        self.ticks = t + 1


def simulate(config: StreamConfig, *, seed: int = 0, budget: RunBudget | None = None) -> StreamResult:
    """Run ``config`` for ``duration_s``: records produced, replicated, consumed, and what faults did."""
    c = config
    rng = streams(seed, "arrivals", "keys")
    T = math.ceil(c.duration_s / TICK_S)
    mid = (np.arange(T) + 0.5) * TICK_S
    totals = rng["arrivals"].poisson(c.rate_at(mid) * TICK_S)
    shares = c.shares()
    arrivals = rng["keys"].multinomial(totals, shares).astype(float)
    run = _Run(c, arrivals, shares)
    env = simpy.Environment()

    def ticker():
        for t in range(T):
            run.step(t)
            yield env.timeout(TICK_S)

    def broker_failure():
        yield env.timeout(c.broker_failure_at_s)
        run.fail_broker()
        yield env.timeout(c.broker_session_timeout_s)
        run.fence_broker()

    def consumer_crash():
        yield env.timeout(c.consumer_crash_at_s)
        victim = run.crash_consumer()
        yield env.timeout(c.session_timeout_s)
        run.members = [m for m in run.members if m != victim]
        run.rebalance(env.now)

    def consumer_join():
        yield env.timeout(c.consumer_join_at_s)
        run.members = run.members + list(range(c.consumers, c.consumers + c.consumers_joining))
        run.rebalance(env.now)

    # Faults first: at equal times a fault takes effect before that tick moves the flows.
    if c.broker_failure_at_s is not None:
        env.process(broker_failure())
    if c.consumer_crash_at_s is not None:
        env.process(consumer_crash())
    if c.consumer_join_at_s is not None:
        env.process(consumer_join())
    env.process(ticker())
    outcome = run_budget(env, T * TICK_S + TICK_S / 2, budget or RunBudget())
    return _result(run, outcome)


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    keep = weights > 0
    if not keep.any():
        return [float("nan")] * len(qs)
    v, w = values[keep], weights[keep]
    order = np.argsort(v, kind="stable")
    v, cw = v[order], np.cumsum(w[order])
    return [float(v[min(np.searchsorted(cw, q * cw[-1]), v.size - 1)]) for q in qs]


def _exit_times(x: np.ndarray, cum: np.ndarray) -> np.ndarray:
    """Times (s) at which each partition's cumulative ``cum`` (rows: tick ends) reaches ``x`` (ticks × strata × P)."""
    T1, P = cum.shape
    times = np.arange(T1) * TICK_S
    out = np.full(x.shape, np.nan)
    ramp = np.arange(T1) * 1e-9   # equal values in a flat stretch: the first time it was reached
    for p in range(P):
        curve = np.maximum.accumulate(cum[:, p]) + ramp
        xs = x[..., p]
        inside = xs <= curve[-1]
        out[..., p] = np.where(inside, np.interp(xs, curve, times), np.nan)
    return out


def _result(run: _Run, outcome: RunOutcome) -> StreamResult:
    c, P, B = run.c, run.P, run.B
    T = run.ticks
    arr = run.arrivals[:T]
    if arr.shape[0] < run.arrivals.shape[0]:
        # A truncated run: what it did not reach was never produced.
        for name in ("arr_cum", "app_cum", "con_cum", "fail_cum", "hw_cum", "removed_cum", "log_cum"):
            setattr(run, name, getattr(run, name)[: T + 1])
    arr = np.diff(run.arr_cum, axis=0)
    produced_p = run.arr_cum[-1]
    app_total = run.app_cum[-1]
    failed_p = run.fail_cum[-1]
    consumed_p = run.con_cum[-1]
    hw_p = run.hw_cum[-1]
    on_log = run.log_end
    offline_now = run.leader < 0
    if c.acks == "all":
        acked_p = hw_p.copy()
        on_brokers = on_log - hw_p          # appended, waiting for the in-sync replicas: not yet acknowledged
        readable_left = hw_p - consumed_p
    else:
        acked_p = app_total - run.retried_total + run.dead_sent
        on_brokers = np.zeros(P)
        readable_left = on_log - consumed_p
    unavailable_p = np.where(offline_now, readable_left, 0.0)
    retained_p = np.where(offline_now, 0.0, readable_left)
    pending_p = run.backlog + run.retry + on_brokers

    # Latency from the cumulative curves: FIFO within a partition, STRATA points per tick.
    strata = STRATA if T * P <= 50_000 else 1
    frac = (np.arange(strata) + 0.5) / strata                          # position within the tick's records
    x = run.arr_cum[:T, None, :] + frac[None, :, None] * arr[:, None, :]
    born = (np.arange(T)[:, None] + frac[None, :])[:, :, None] * TICK_S
    weight = np.broadcast_to(arr[:, None, :] / strata, x.shape)
    produce_exit = run.app_cum + run.removed_cum
    sent_at = _exit_times(x, produce_exit)
    consumed_at = _exit_times(x, run.con_cum + run.removed_cum)
    tick_of = np.clip(np.nan_to_num(sent_at / TICK_S, nan=0).astype(int), 0, T - 1)
    cols = np.broadcast_to(np.arange(P), x.shape)
    request = run.request_s[tick_of, cols]
    replicate = run.replicate_s[tick_of, cols]
    # Within a batch the first record waits until the batch closes, the last not at all.
    in_batch = run.close_s[np.broadcast_to(np.arange(T)[:, None, None], x.shape), cols] * (1.0 - frac)[None, :, None]
    queue = np.maximum(sent_at - born, 0.0)
    ack = in_batch + queue + request
    done = np.isfinite(consumed_at)
    e2e = in_batch + request + np.maximum(np.maximum(consumed_at - born, 0.0), queue + replicate) \
        + c.processing_ms_per_record / 1000.0
    sent = np.isfinite(sent_at)
    ack50, ack99 = _weighted_quantiles(np.where(sent, ack, 0.0).ravel(), np.where(sent, weight, 0.0).ravel(),
                                       (0.5, 0.99))
    e50, e99 = _weighted_quantiles(np.where(done, e2e, 0.0).ravel(), np.where(done, weight, 0.0).ravel(),
                                   (0.5, 0.99))
    has_records = arr > 0
    accumulated_max = float((run.close_s[:T][has_records]).max()) if has_records.any() else 0.0

    # The timeline, per second.
    per_s = max(1, round(1.0 / TICK_S))
    seconds = math.ceil(T / per_s)
    edge = np.minimum(np.arange(seconds + 1) * per_s, T)
    # Consumer lag as Kafka reports it: the log end offset less the group's position.
    lag_p = np.maximum(run.log_cum - run.con_cum, 0.0)
    lag = lag_p.sum(axis=1)
    util_max = run.util[:T].max(axis=2)
    # Each row is one second from ``second``: what flowed during it, and the lag at its end.
    timeline = pd.DataFrame({
        "second": edge[:-1] * TICK_S,
        "produced": np.diff(run.arr_cum.sum(axis=1)[edge]),
        "appended": np.diff(run.app_cum.sum(axis=1)[edge]),
        "consumed": np.diff(run.con_cum.sum(axis=1)[edge]),
        "lag_records": lag[edge[1:]],
        "broker_utilisation": np.maximum.reduceat(util_max.max(axis=1), edge[:-1]) if T else np.zeros(0),
        "offline_partitions": np.maximum.reduceat(run.offline[:T], edge[:-1]) if T else np.zeros(0),
    })

    shares_seen = produced_p / max(float(produced_p.sum()), 1.0)
    owners0 = assign(list(range(P)), list(range(c.consumers)), c.assignor)
    partitions = pd.DataFrame({
        "partition": np.arange(P),
        "leader": run.replicas[:, 0],
        "leader_at_end": run.leader,
        "share": run.shares,
        "records": produced_p,
        "records_per_s": produced_p / max(T * TICK_S, TICK_S),
        "consumer": [owners0.get(p, -1) for p in range(P)],
        "consumer_at_end": [run.owner.get(p, -1) for p in range(P)],
        "max_lag_records": lag_p.max(axis=0),
        "final_lag_records": lag_p[-1],
        "lost": run.lost,
    })
    util = run.util[:T]
    brokers = pd.DataFrame({
        "broker": np.arange(B),
        "leads": np.bincount(run.replicas[:, 0], minlength=B),
        "leads_at_end": np.bincount(run.leader[run.leader >= 0], minlength=B),
        "cpu": util[:, :, 0].mean(axis=0),
        "network_in": util[:, :, 1].mean(axis=0),
        "network_out": util[:, :, 2].mean(axis=0),
        "disk": util[:, :, 3].mean(axis=0),
        "peak": util.max(axis=(0, 2)) if T else np.zeros(B),
        "network_mb_s": (util[:, :, 1] + util[:, :, 2]).mean(axis=0) / 2 * c.broker_network_mb_s,
        "up_at_end": run.broker_up,
    })
    n_cons = len(run.consumer_up)
    assigned = np.bincount([o for o in run.owner.values()], minlength=n_cons) if run.owner else np.zeros(n_cons)
    consumers = pd.DataFrame({
        "consumer": np.arange(n_cons),
        "partitions_at_start": np.bincount(list(owners0.values()), minlength=n_cons)[:n_cons],
        "partitions_at_end": assigned[:n_cons],
        "records": run.processed_by,
        "busy": run.busy_by / max(T, 1),
        "up_at_end": run.consumer_up,
    })

    span = max(T * TICK_S, TICK_S)
    produced, acked = float(produced_p.sum()), float(acked_p.sum())
    stored_mb_s = produced / span * c.stored_record_bytes / 1e6
    storage_gb = stored_mb_s * c.daily_average_fraction * c.replication_factor * c.retention_hours * 3600 / 1000
    lag_series = lag[1:]
    peak_at = int(np.argmax(lag_series)) if lag_series.size else 0
    small = 0.01 * max(float(lag_series.max()) if lag_series.size else 0.0, 1.0)
    after = np.flatnonzero(lag_series[peak_at:] <= max(small, run.consumer_cap))
    recovered = (peak_at + after[0]) * TICK_S - peak_at * TICK_S if after.size else float("nan")
    idle = int(sum(1 for m in run.members if run.consumer_up[m] and m not in set(run.owner.values())))
    summary = {
        "records_produced": produced,
        "records_acked": acked,
        "records_pending": float(pending_p.sum()),
        "records_failed": float(failed_p.sum()),
        "records_consumed": float(consumed_p.sum()),
        "records_retained": float(retained_p.sum()),
        "records_unavailable": float(unavailable_p.sum()),
        "records_lost": float(run.lost.sum()),
        "records_reprocessed": run.reprocessed,
        "duplicates_written": run.duplicates,
        "throughput_records_per_s": acked / span,
        "throughput_mb_s": acked / span * c.record_bytes / 1e6,
        "consumed_records_per_s": float(consumed_p.sum()) / span,
        "latency_p50_s": e50,
        "latency_p99_s": e99,
        "ack_latency_p50_ms": ack50 * 1000,
        "ack_latency_p99_ms": ack99 * 1000,
        "accumulator_wait_max_ms": accumulated_max * 1000,
        "records_per_batch": float(run.app_cum[-1].sum() / max(run.batches[:T].sum(), 1e-9)) if T else 0.0,
        "batches_per_s": float(run.batches[:T].sum()) / span,
        "max_lag_records": float(lag_series.max()) if lag_series.size else 0.0,
        "final_lag_records": float(lag_series[-1]) if lag_series.size else 0.0,
        "lag_recovered_s": recovered,
        "hot_partition_share": float(shares_seen.max()) if produced else float(run.shares.max()),
        "broker_utilisation_max": float(util_max.max()) if T else 0.0,
        "consumer_utilisation_max": float((run.busy_by / max(T, 1)).max()) if n_cons else 0.0,
        "broker_network_mb_s_max": float(((util[:, :, 1] + util[:, :, 2]) * c.broker_network_mb_s).max()) if T
        else 0.0,
        "producer_blocked_s": float(run.blocked[:T].sum()) * TICK_S,
        "offline_partition_s": float(run.offline[:T].sum()) * TICK_S,
        "idle_consumers": idle,
        "rebalance_pause_s": run.pause_consumer_s,
        "per_key_order": bool(c.partitioner == "key-hash" and (c.enable_idempotence or c.max_in_flight == 1)),
        # Kafka's documented guarantee: an acknowledged record survives one broker's failure.
        "durable_writes": bool(c.acks == "all" and c.replication_factor >= 2 and c.min_insync_replicas >= 2),
        "storage_gb": storage_gb,
        "storage_utilisation": storage_gb / (c.brokers * c.broker_storage_gb),
        "cost_usd_month": (c.brokers * c.broker_usd_per_hour + c.consumers * c.consumer_usd_per_hour) * HOURS_A_MONTH
        + storage_gb * c.storage_usd_per_gb_month,
    }
    # Records move as flows, so their counts are fractional; a count is shown, and judged, whole.
    for name in COUNTS:
        summary[name] = int(round(summary[name]))
    accounts = {
        "produced": produced_p, "acked": acked_p, "pending": pending_p, "failed": failed_p,
        "consumed": consumed_p, "retained": retained_p, "unavailable": unavailable_p, "lost": run.lost.copy(),
        "high_watermark": hw_p, "log_end": on_log.copy(),
    }
    return StreamResult(summary=summary, outcome=outcome, timeline=timeline, partitions=partitions,
                        brokers=brokers, consumers=consumers, config=c, accounts=accounts)
