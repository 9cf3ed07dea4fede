"""The configuration of a simulated Amazon SQS queue, its producers and its consumers.

Defaults and limits are SQS's own (Amazon SQS Developer Guide, quotas; AWS CLI reference):
visibility timeout 30 s (0 s to 12 h), retention 4 days (60 s to 14 days), delivery delay
0 to 15 min, long-polling wait 0 to 20 s, at most 10 messages per receive, ``maxReceiveCount``
1 to 1,000 when a dead-letter queue (DLQ) is attached, FIFO send quota 300 transactions per
second (high-throughput mode: up to 70,000 in the largest regions).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

from messagelab.sim.validation import ConfigError, check_choice, check_number

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
class QueueConfig:
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
    # --- prices and sampling ------------------------------------------------------------
    consumer_cost_per_hour_usd: float = 0.0416
    sample_interval_s: float | None = None

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def horizon_s(self) -> float:
        """Simulated time: sending plus draining."""
        return self.duration_s + self.drain_s

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

    def replace(self, **changes: Any) -> QueueConfig:
        """A copy with ``changes`` applied and validated."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ConfigError(
                ", ".join(sorted(unknown)), changes[sorted(unknown)[0]], "a field of QueueConfig"
            )
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _validate(c: QueueConfig) -> None:
    check_number("arrival_rate_per_s", c.arrival_rate_per_s, 0, 5000, low_open=True, unit="msg/s")
    check_number("duration_s", c.duration_s, 1, 7 * DAY_S, unit="s")
    check_number("drain_s", c.drain_s, 0, DAY_S, unit="s")
    check_number("spike_multiplier", c.spike_multiplier, 1, 100)
    check_number("spike_start_s", c.spike_start_s, 0, c.duration_s, unit="s (within duration_s)")
    check_number(
        "spike_duration_s", c.spike_duration_s, 0, c.duration_s - c.spike_start_s,
        unit="s (the spike ends by duration_s)",
    )
    check_number("processing_time_mean_s", c.processing_time_mean_s, 0, HOUR_S, low_open=True, unit="s")
    check_choice("processing_time_distribution", c.processing_time_distribution,
                 ("exponential", "deterministic", "lognormal"))
    check_number("processing_time_cv", c.processing_time_cv, 0, 10)
    check_number("message_size_kib", c.message_size_kib, 0, MESSAGE_SIZE_MAX_KIB, low_open=True,
                 unit="KiB (SQS limit: 1 MiB)")
    for name in ("failure_rate", "poison_rate", "crash_rate", "producer_retry_rate",
                 "duplicate_delivery_rate"):
        check_number(name, getattr(c, name), 0, 1, unit="(a probability)")
    check_number("failure_rate", c.failure_rate, 0, 0.95, unit="(above 0.95 nothing ever succeeds)")
    check_number("crash_rate", c.crash_rate, 0, 0.5, unit="(per message processed)")
    check_number("slowdown_factor", c.slowdown_factor, 1, 100)
    check_number("slowdown_start_s", c.slowdown_start_s, 0, c.duration_s + c.drain_s, unit="s")
    check_number("slowdown_duration_s", c.slowdown_duration_s, 0, c.duration_s + c.drain_s, unit="s")
    check_number("consumer_restart_s", c.consumer_restart_s, 0, HOUR_S, unit="s")
    check_number("producer_retry_delay_s", c.producer_retry_delay_s, 0, HOUR_S, unit="s")
    check_choice("queue_type", c.queue_type, ("standard", "fifo"))
    check_choice("fifo_high_throughput", c.fifo_high_throughput, (False, True))
    if c.fifo_high_throughput and c.queue_type != "fifo":
        raise ConfigError("fifo_high_throughput", True, "False for a standard queue",
                          "high-throughput mode is a FIFO queue setting")
    check_number("message_groups", c.message_groups, 1, 100_000, integer=True)
    check_number("visibility_timeout_s", c.visibility_timeout_s, 0, VISIBILITY_TIMEOUT_MAX_S,
                 unit="s (SQS: 0 s to 12 h)")
    check_number("retention_period_s", c.retention_period_s, RETENTION_MIN_S, RETENTION_MAX_S,
                 unit="s (SQS: 60 s to 14 days)")
    check_number("delivery_delay_s", c.delivery_delay_s, 0, DELIVERY_DELAY_MAX_S,
                 unit="s (SQS: 0 to 15 min)")
    if c.max_receive_count is not None:
        check_number("max_receive_count", c.max_receive_count, 1, MAX_RECEIVE_COUNT_MAX,
                     integer=True, unit="or None for no dead-letter queue")
    check_number("receive_batch_size", c.receive_batch_size, 1, RECEIVE_BATCH_MAX, integer=True,
                 unit="messages (SQS returns at most 10 per receive)")
    check_number("wait_time_s", c.wait_time_s, 0, LONG_POLL_MAX_S,
                 unit="s (0 is short polling; long polling waits at most 20 s)")
    check_number("request_latency_s", c.request_latency_s, 0, 10, unit="s")
    if c.wait_time_s == 0 and c.request_latency_s < 0.001:
        raise ConfigError("request_latency_s", c.request_latency_s, "≥ 0.001 s with short polling",
                          "short polling repeats a receive every round trip; a zero round trip "
                          "would poll infinitely often")
    check_number("consumers", c.consumers, 1, 1000, integer=True,
                 unit="(at least one consumer must read the queue)")
    check_choice("idempotent_consumer", c.idempotent_consumer, (False, True))
    check_number("consumer_cost_per_hour_usd", c.consumer_cost_per_hour_usd, 0, 1000, unit="USD/h")
    if c.sample_interval_s is not None:
        check_number("sample_interval_s", c.sample_interval_s, 0.01, c.duration_s + c.drain_s,
                     unit="s")
    expected = c.arrival_rate_per_s * (
        c.duration_s + (c.spike_multiplier - 1) * c.spike_duration_s
    )
    if expected > 2_000_000:
        raise ConfigError("duration_s", c.duration_s, "a shorter run",
                          f"about {expected:,.0f} messages would be sent; the limit is 2,000,000")
