"""The configuration of a simulated Amazon SQS queue, its producers and its consumers.

Defaults and limits are SQS's own (Amazon SQS Developer Guide, quotas; AWS CLI reference):
visibility timeout 30 s (0 s to 12 h), retention 4 days (60 s to 14 days), delivery delay
0 to 15 min, long-polling wait 0 to 20 s, at most 10 messages per receive, ``maxReceiveCount``
1 to 1,000 when a dead-letter queue (DLQ) is attached, FIFO send quota 300 transactions per
second (high-throughput mode: up to 70,000 in the largest regions).

An idempotent consumer records each order id with a conditional write to a table before it
acts (Amazon DynamoDB on demand: single-digit milliseconds per write; 0.625 USD per million
write request units in us-east-1 since November 2024, one unit per item up to 1 KB, and a
write whose condition fails is billed too), so every processing attempt pays one write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from messagelab.sim.config import FrozenConfig
from messagelab.sim.validation import ConfigError, check_choice, check_number, check_run_size

HOUR_S = 3600.0
DAY_S = 86400.0

VISIBILITY_TIMEOUT_MAX_S = 12 * HOUR_S
RETENTION_MIN_S, RETENTION_MAX_S = 60.0, 14 * DAY_S
DELIVERY_DELAY_MAX_S = 15 * 60.0
LONG_POLL_MAX_S = 20.0
RECEIVE_BATCH_MAX = 10
MAX_RECEIVE_COUNT_MAX = 1000
FIFO_DEDUP_WINDOW_S = 5 * 60.0
FIFO_SEND_TPS = 300.0
FIFO_HIGH_THROUGHPUT_SEND_TPS = 70_000.0
MESSAGE_SIZE_MAX_KIB = 1024
BILLED_CHUNK_KIB = 64
# Prices per million requests after the free tier (us-east-1); every empty receive counts.
PRICE_PER_MILLION_USD = {"standard": 0.40, "fifo": 0.50}
# Ages in ApproximateAgeOfOldestMessage skip a message received this many times or more.
AGE_METRIC_RECEIVE_LIMIT = 3

QueueType = Literal["standard", "fifo"]
Distribution = Literal["exponential", "deterministic", "lognormal"]


@dataclass(frozen=True)
class QueueConfig(FrozenConfig):
    """A queue design together with the workload it faces. Units are in the field names.

    Workload: Poisson arrivals at ``arrival_rate_per_s``, multiplied by ``spike_multiplier``
    between ``spike_start_s`` and ``spike_start_s + spike_duration_s``; producers send for
    ``duration_s`` and consumers keep working for ``drain_s`` more.

    Faults: each processing attempt fails with ``failure_rate`` (transient: a retry may
    succeed); a ``poison_rate`` fraction of messages always fails; a consumer dies part-way
    through a message with ``crash_rate`` and is back after ``consumer_restart_s``; a
    downstream dependency is ``slowdown_factor`` times slower between ``slowdown_start_s``
    and ``slowdown_start_s + slowdown_duration_s``; producers resend a message whose
    acknowledgement they missed with ``producer_retry_rate``, after ``producer_retry_delay_s``;
    a standard queue delivers an extra copy with ``duplicate_delivery_rate``.
    """

    # --- workload -----------------------------------------------------------------------
    arrival_rate_per_s: float = 20.0
    duration_s: float = 120.0
    drain_s: float = 30.0
    spike_multiplier: float = 1.0
    spike_start_s: float = 0.0
    spike_duration_s: float = 0.0
    processing_time_mean_s: float = 0.2
    processing_time_distribution: Distribution = "lognormal"
    processing_time_cv: float = 1.0
    message_size_kib: float = 4.0
    # --- faults -------------------------------------------------------------------------
    failure_rate: float = 0.0
    poison_rate: float = 0.0
    crash_rate: float = 0.0
    consumer_restart_s: float = 30.0
    slowdown_factor: float = 1.0
    slowdown_start_s: float = 0.0
    slowdown_duration_s: float = 0.0
    producer_retry_rate: float = 0.0
    producer_retry_delay_s: float = 1.0
    duplicate_delivery_rate: float = 0.0
    # --- queue design -------------------------------------------------------------------
    queue_type: QueueType = "standard"
    fifo_high_throughput: bool = False
    message_groups: int = 100
    visibility_timeout_s: float = 30.0
    retention_period_s: float = 4 * DAY_S
    delivery_delay_s: float = 0.0
    max_receive_count: int | None = None
    receive_batch_size: int = 1
    wait_time_s: float = 0.0
    request_latency_s: float = 0.02
    # --- consumer design ----------------------------------------------------------------
    consumers: int = 5
    idempotent_consumer: bool = False
    idempotency_store_latency_s: float = 0.005
    # --- prices and sampling ------------------------------------------------------------
    consumer_cost_per_hour_usd: float = 0.0416
    idempotency_price_per_million_writes_usd: float = 0.625
    sample_interval_s: float | None = None

    @property
    def horizon_s(self) -> float:
        """Simulated time: sending plus draining."""
        return self.duration_s + self.drain_s

    @property
    def spike_end_s(self) -> float:
        return self.spike_start_s + self.spike_duration_s

    @property
    def sample_every_s(self) -> float:
        """Interval of the time series (about 200 points unless set)."""
        return self.sample_interval_s or max(self.horizon_s / 200.0, 0.05)

    @property
    def peak_arrival_rate_per_s(self) -> float:
        return self.arrival_rate_per_s * (self.spike_multiplier if self.spike_duration_s else 1.0)

    @property
    def fifo_send_tps(self) -> float:
        return FIFO_HIGH_THROUGHPUT_SEND_TPS if self.fifo_high_throughput else FIFO_SEND_TPS

    @property
    def price_per_million_requests_usd(self) -> float:
        return PRICE_PER_MILLION_USD[self.queue_type]

    @property
    def billed_requests_per_call(self) -> int:
        """Each 64 KiB chunk of a payload is billed as one request."""
        return max(1, -(-int(self.message_size_kib) // BILLED_CHUNK_KIB))

    def validate(self) -> None:
        """Refuse what SQS refuses (limits above), and runs too large to simulate in a budget."""
        check_number("arrival_rate_per_s", self.arrival_rate_per_s, 0, 5000, low_open=True, unit="msg/s")
        check_number("duration_s", self.duration_s, 1, 7 * DAY_S, unit="s")
        check_number("drain_s", self.drain_s, 0, DAY_S, unit="s")
        check_number("spike_multiplier", self.spike_multiplier, 1, 100)
        check_number("spike_start_s", self.spike_start_s, 0, self.duration_s, unit="s (within duration_s)")
        check_number(
            "spike_duration_s", self.spike_duration_s, 0, self.duration_s - self.spike_start_s,
            unit="s (the spike ends by duration_s)",
        )
        check_number("processing_time_mean_s", self.processing_time_mean_s, 0, HOUR_S, low_open=True, unit="s")
        check_choice("processing_time_distribution", self.processing_time_distribution,
                     ("exponential", "deterministic", "lognormal"))
        check_number("processing_time_cv", self.processing_time_cv, 0, 10)
        check_number("message_size_kib", self.message_size_kib, 0, MESSAGE_SIZE_MAX_KIB, low_open=True,
                     unit="KiB (SQS limit: 1 MiB)")
        for name in ("failure_rate", "poison_rate", "crash_rate", "producer_retry_rate",
                     "duplicate_delivery_rate"):
            check_number(name, getattr(self, name), 0, 1, unit="(a probability)")
        check_number("failure_rate", self.failure_rate, 0, 0.95, unit="(above 0.95 nothing ever succeeds)")
        check_number("crash_rate", self.crash_rate, 0, 0.5, unit="(per message processed)")
        check_number("slowdown_factor", self.slowdown_factor, 1, 100)
        check_number("slowdown_start_s", self.slowdown_start_s, 0, self.duration_s + self.drain_s, unit="s")
        check_number("slowdown_duration_s", self.slowdown_duration_s, 0, self.duration_s + self.drain_s, unit="s")
        check_number("consumer_restart_s", self.consumer_restart_s, 0, HOUR_S, unit="s")
        check_number("producer_retry_delay_s", self.producer_retry_delay_s, 0, HOUR_S, unit="s")
        check_choice("queue_type", self.queue_type, ("standard", "fifo"))
        check_choice("fifo_high_throughput", self.fifo_high_throughput, (False, True))
        if self.fifo_high_throughput and self.queue_type != "fifo":
            raise ConfigError("fifo_high_throughput", True, "False for a standard queue",
                              "high-throughput mode is a FIFO queue setting")
        check_number("message_groups", self.message_groups, 1, 100_000, integer=True)
        check_number("visibility_timeout_s", self.visibility_timeout_s, 0, VISIBILITY_TIMEOUT_MAX_S,
                     unit="s (SQS: 0 s to 12 h)")
        check_number("retention_period_s", self.retention_period_s, RETENTION_MIN_S, RETENTION_MAX_S,
                     unit="s (SQS: 60 s to 14 days)")
        check_number("delivery_delay_s", self.delivery_delay_s, 0, DELIVERY_DELAY_MAX_S,
                     unit="s (SQS: 0 to 15 min)")
        if self.max_receive_count is not None:
            check_number("max_receive_count", self.max_receive_count, 1, MAX_RECEIVE_COUNT_MAX,
                         integer=True, unit="or None for no dead-letter queue")
        check_number("receive_batch_size", self.receive_batch_size, 1, RECEIVE_BATCH_MAX, integer=True,
                     unit="messages (SQS returns at most 10 per receive)")
        check_number("wait_time_s", self.wait_time_s, 0, LONG_POLL_MAX_S,
                     unit="s (0 is short polling; long polling waits at most 20 s)")
        check_number("request_latency_s", self.request_latency_s, 0, 10, unit="s")
        if self.wait_time_s == 0 and self.request_latency_s < 0.001:
            raise ConfigError("request_latency_s", self.request_latency_s, "≥ 0.001 s with short polling",
                              "short polling repeats a receive every round trip; a zero round trip "
                              "would poll infinitely often")
        check_number("consumers", self.consumers, 1, 1000, integer=True,
                     unit="(at least one consumer must read the queue)")
        check_choice("idempotent_consumer", self.idempotent_consumer, (False, True))
        check_number("idempotency_store_latency_s", self.idempotency_store_latency_s, 0, 10, unit="s per write")
        check_number("consumer_cost_per_hour_usd", self.consumer_cost_per_hour_usd, 0, 1000, unit="USD/h")
        check_number("idempotency_price_per_million_writes_usd", self.idempotency_price_per_million_writes_usd,
                     0, 1000, unit="USD per million writes")
        if self.sample_interval_s is not None:
            check_number("sample_interval_s", self.sample_interval_s, 0.01, self.duration_s + self.drain_s,
                         unit="s")
        expected = self.arrival_rate_per_s * (
            self.duration_s + (self.spike_multiplier - 1) * self.spike_duration_s
        )
        check_run_size("duration_s", self.duration_s, expected, "messages")
