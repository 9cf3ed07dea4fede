"""Lab 4, Circuit Breaker and Resilience Testing: a game day at a card-payment processor.

Everything the lab adds in Python: its scenario (the payments, the call chain and its
retries, the fault the game day injects, the targets), the checks of its short checkpoint,
and its graded cells. The notebook reads its numbers from ``SCENARIO``.

The chain is :mod:`messagelab.resilience`'s: merchant → API → fraud check → card-network
gateway, every layer retrying, a circuit breaker on the API's calls to the fraud check and
on the fraud check's calls to the gateway (one set of settings for both, as a platform
configures resilience4j once). The student chooses those settings; the checks run the game
day under several seeds and accept them when the business's needs are met: the card
network is not flooded, payments are back soon after the gateway is, the breaker does not
flap, and it never trips on an ordinary day.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

from messagelab.grading import check_count, config_from, design_changes, evaluate, require, student_check
from messagelab.grading.evaluate import Evaluation
from messagelab.resilience import ResilienceConfig, ResilienceResult, simulate
from messagelab.resilience.breaker import CLOSED, OPEN
from messagelab.resilience.explorer import fault_words
from messagelab.sim.display import fmt, text_table
from messagelab.sim.scenario import Scenario, Target, targets_frame

ID = "lab4-circuit-breakers"

GRADES: dict[str, tuple[str, float]] = {
    "sys-retry-amplification": ("code", 2),
    "arch-breaker": ("code", 4),
    "arch-diagram": ("markdown", 2),
    "arch-rationale": ("markdown", 2),
    "biz-impact": ("markdown", 2),
    "biz-roadmap": ("markdown", 1),
    "sys-risks": ("markdown", 2),
    "comm-summary": ("markdown", 1),
}

#: The breaker settings the student chooses (resilience4j's, for both breakers).
BREAKER_FIELDS = (
    "breaker_failure_rate_threshold_pct",
    "breaker_sliding_window_size",
    "breaker_minimum_number_of_calls",
    "breaker_wait_duration_in_open_state_s",
    "breaker_permitted_calls_in_half_open_state",
)
#: The game day's fault: the card network's gateway twenty times slower for 15 s.
BROWNOUT = ("brownout", "gateway", 20.0, 15.0, 20.0)
#: Calls per payment the card network may get while it fails: half the usual traffic at most.
MAX_GATEWAY_CALLS_PER_PAYMENT = 0.5
#: How soon after the gateway is back payments must be back to normal (s).
RECOVERY_BOUND_S = 10.0
#: A breaker trips (closed → open) once per incident: once it has closed, it stays closed.
MAX_TRIPS = 1

#: The game day, time compressed: a minute of checkout traffic on the payment chain, the
#: gateway browning out in the middle, both breakers at resilience4j's defaults.
SCENARIO = Scenario(
    name="Game day: the card network browns out",
    config=ResilienceConfig(
        arrival_rate_per_s=40.0,
        duration_s=60.0,
        api_max_attempts=2,          # the merchants' checkout plugin tries twice
        fraud_max_attempts=3,
        gateway_max_attempts=3,
        faults=(BROWNOUT,),
        payment_value_mean_usd=50.0,
        sla_latency_s=2.0,
    ),
    targets=(
        Target("gateway_calls_per_payment_in_fault", MAX_GATEWAY_CALLS_PER_PAYMENT,
               "calls the card network gets per payment while it fails", "calls",
               hint="While the gateway fails, every layer's retries multiply the calls that reach it: the "
                    "breaker must trip on a failure rate the fault reaches, soon, and stay open long enough "
                    "to rest it."),
        Target("time_to_recover_s", RECOVERY_BOUND_S,
               "time from the gateway's recovery until payments succeed as usual again", "s",
               missing="not within the day",
               hint="After the fault ends an open breaker keeps refusing payments until its wait is over "
                    "and its trial calls succeed: wait less in the open state."),
        Target("gateway_breaker_trips", MAX_TRIPS,
               "gateway breaker trips (closed → open) in the incident", "",
               hint="The breaker tripped, closed, then tripped again: it closed on a handful of lucky trial "
                    "calls while the gateway was still failing, or judged too few calls once closed. Judge the "
                    "trial on more calls, or close only on a cleaner one (a lower failure-rate threshold), and "
                    "probe less often."),
    ),
    design_fields=BREAKER_FIELDS,
    variants={
        # The game day itself, and others the same settings must carry.
        "brownout": dict(faults=(BROWNOUT,)),
        "outage": dict(faults=(("outage", "gateway", 15.0, 25.0, 1.0),)),
        "errors": dict(faults=(("errors", "gateway", 25.0, 20.0, 0.8),)),
        # An ordinary day: no fault, only the gateway's usual errors and slow calls.
        "calm": dict(faults=()),
    },
)
#: What an ordinary day needs of the breakers.
CALM_TARGETS = (
    Target("breakers_stayed_closed", 1, "on an ordinary day (no fault), neither breaker ever opens",
           required=True,
           hint="The gateway fails now and then on any day (an error, a slow answer): a breaker that judges "
                "a few calls, or opens at a low failure rate, cuts off healthy payments. Judge more calls "
                "before opening, or open at a higher failure rate."),
)
VISIBLE_SEEDS = tuple(range(8))


# --- the game day ----------------------------------------------------------------------------
def trips(result: ResilienceResult, breaker: str = "gateway") -> int:
    """Times ``breaker`` went from CLOSED to OPEN (re-openings from HALF_OPEN are trials that failed)."""
    b = result.breaker_states
    b = b[b["breaker"] == breaker]
    return int(((b["from_state"] == CLOSED) & (b["to_state"] == OPEN)).sum())


def calls_per_payment_in_fault(result: ResilienceResult) -> float:
    """Calls that reached the gateway while a fault lasted, per payment arriving then (NaN without a fault)."""
    ts = result.timeseries
    inside = np.zeros(len(ts), dtype=bool)
    for _, _, start, duration, _ in result.config.faults:
        inside |= (ts["time_s"] >= start - 1e-9).to_numpy() & (ts["time_s"] < start + duration - 1e-9).to_numpy()
    payments = ts.loc[inside, "payments"].sum()
    return float(ts.loc[inside, "gateway_calls"].sum() / payments) if payments else math.nan


def game_day(config: ResilienceConfig, *, seed: int = 0) -> ResilienceResult:
    """``simulate``, its summary with what the game day's targets read besides the model's own figures."""
    r = simulate(config, seed=seed)
    s = r.summary
    extra = {
        "gateway_calls_per_payment_in_fault": calls_per_payment_in_fault(r),
        "gateway_breaker_trips": trips(r),
        "breakers_stayed_closed": s["gateway_breaker_opened"] + s["fraud_breaker_opened"] == 0,
    }
    return dataclasses.replace(r, summary={**s, **extra})


def tries_per_payment() -> int:
    """The most calls one payment can send to the gateway: every layer's attempts multiplied."""
    return SCENARIO.config.tries_per_payment


def scenario_frame() -> Any:
    """The facts of the game day, as a table."""
    c = SCENARIO.config
    capacity = c.gateway_concurrency / c.gateway_latency_mean_s
    _, _, _, _, factor = BROWNOUT
    rows = [
        ("payments", f"{fmt(c.arrival_rate_per_s)} a second from merchants' checkouts, "
                     f"{fmt(c.payment_value_mean_usd, 'USD')} each on average; the game day replays "
                     f"{fmt(c.duration_s, 's')} of them (time compressed)"),
        ("the chain", "merchant's checkout → our API → fraud check → card-network gateway; each service holds a "
                      "worker for its whole request, its downstream calls included"),
        ("the services", f"a call takes {fmt(c.api_latency_mean_s * 1000, 'ms')} in the API, "
                         f"{fmt(c.fraud_latency_mean_s * 1000, 'ms')} in the fraud check and "
                         f"{fmt(c.gateway_latency_mean_s * 1000, 'ms')} at the gateway on average; the gateway's "
                         f"{c.gateway_concurrency} workers take {fmt(capacity)} calls a second"),
        ("timeouts and attempts", f"checkout → API {fmt(c.api_timeout_s, 's')}, {c.api_max_attempts} attempts; "
                                  f"API → fraud check {fmt(c.fraud_timeout_s, 's')}, {c.fraud_max_attempts} "
                                  f"attempts; fraud check → gateway {fmt(c.gateway_timeout_s, 's')}, "
                                  f"{c.gateway_max_attempts} attempts (the first call counts as one); every "
                                  f"failure is retried, with full-jitter backoff from "
                                  f"{fmt(c.backoff_base_s * 1000, 'ms')}"),
        ("circuit breakers", "on the API's calls to the fraud check and on the fraud check's calls to the gateway, "
                             "one set of settings for both, today resilience4j's defaults: " + breaker_text(c)),
        ("the SLA (service-level agreement)", f"a checkout is answered within {fmt(c.sla_latency_s, 's')}"),
        ("the fault injected", f"{fault_words(BROWNOUT)}: its capacity falls to {fmt(capacity / factor)} calls a "
                               f"second, below the payments' {fmt(c.arrival_rate_per_s)}"),
    ]
    return text_table(pd.DataFrame(rows, columns=["fact", "value"]).set_index("fact"))


def breaker_text(c: ResilienceConfig) -> str:
    return (f"open at a {fmt(c.breaker_failure_rate_threshold_pct)}% failure rate over the last "
            f"{c.breaker_sliding_window_size} calls (once {c.breaker_minimum_number_of_calls} are in), wait "
            f"{fmt(c.breaker_wait_duration_in_open_state_s, 's')} open, then let "
            f"{c.breaker_permitted_calls_in_half_open_state} trial calls through (half-open)")


def targets_table() -> Any:
    """The game day's targets, and the ordinary day's."""
    return text_table(targets_frame(SCENARIO.targets + CALM_TARGETS))


def breaker_table() -> Any:
    """The settings the breaker dict holds: resilience4j's names, meanings, defaults, what is allowed."""
    c = SCENARIO.config
    rows = [
        ("breaker_failure_rate_threshold_pct", "failureRateThreshold", "open when this share of the window's calls "
         "failed (%)", c.breaker_failure_rate_threshold_pct, "above 0, up to 100"),
        ("breaker_sliding_window_size", "slidingWindowSize", "the last so many calls judged",
         c.breaker_sliding_window_size, "1–100,000"),
        ("breaker_minimum_number_of_calls", "minimumNumberOfCalls", "calls the window needs before it is judged",
         c.breaker_minimum_number_of_calls, "1–1,000,000"),
        ("breaker_wait_duration_in_open_state_s", "waitDurationInOpenState", "seconds open before a trial",
         c.breaker_wait_duration_in_open_state_s, "0.001–86,400"),
        ("breaker_permitted_calls_in_half_open_state", "permittedNumberOfCallsInHalfOpenState",
         "trial calls let through half-open", c.breaker_permitted_calls_in_half_open_state, "1–100,000"),
    ]
    frame = pd.DataFrame(rows, columns=["setting", "resilience4j", "meaning", "default", "allowed"])
    frame["default"] = [fmt(v) for v in frame["default"]]
    return text_table(frame)


# --- the retry amplification -------------------------------------------------------------------
@student_check("The calls one payment can send to the gateway follow from every layer's attempts.")
def check_amplification(calls: Any) -> None:
    check_count("gateway_calls_per_payment", calls, tries_per_payment(),
                "each attempt a layer makes is a new call to the layer below, which makes all of its own attempts "
                "again.")


# --- the breaker settings ------------------------------------------------------------------------
def breaker_config(breaker: Any, **scenario_changes: Any) -> ResilienceConfig:
    changes = design_changes(breaker, BREAKER_FIELDS, BREAKER_FIELDS)
    return config_from(SCENARIO.config.replace(**scenario_changes), changes)


def evaluate_breaker(breaker: Any, seeds=VISIBLE_SEEDS, variant: str | None = None) -> Evaluation:
    """The settings on the game day and an ordinary day, or on another day of ``SCENARIO.variants``."""
    if variant is not None and variant not in SCENARIO.variants:
        raise ValueError(f"no variant {variant!r}")
    if variant is None:
        day, calm = evaluate_breaker(breaker, seeds, "brownout"), evaluate_breaker(breaker, seeds, "calm")
        return Evaluation(pd.concat([day.table, calm.table], ignore_index=True), day.results + calm.results)
    targets = CALM_TARGETS if variant == "calm" else SCENARIO.targets
    return evaluate(game_day, breaker_config(breaker, **SCENARIO.variants[variant]), targets, seeds)


@student_check("The breakers stop the retry storm, let payments back soon after the gateway, trip once, "
               "and stay closed on an ordinary day.")
def check_breaker(breaker: Any, seeds=VISIBLE_SEEDS) -> None:
    require(evaluate_breaker(breaker, seeds))


@student_check("On other game days — the gateway down, the gateway failing most calls — the breakers hold too.")
def check_other_faults(breaker: Any, seeds=VISIBLE_SEEDS) -> None:
    for variant, day in (("outage", "the gateway down"), ("errors", "the gateway failing most of its calls")):
        ev = evaluate_breaker(breaker, seeds, variant)
        if not ev.passed:
            raise AssertionError(f"On another game day, with {day}: " + ev.explain())
