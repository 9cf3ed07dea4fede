"""Exercise 05, Resilience Design Patterns: GlobalPay keeps authorising card payments while a card network browns out.

Everything the exercise adds in Python: its scenario (the evening peak, the card network's
brownout, the business targets and what a stand-in approval costs), the faults the hidden
checks replay a design through, the game-day explorer with the settings the domain's
explorer leaves out (the fraud check's calls, a bulkhead, load shedding, idempotency keys), the
checks its test cells call, and its graded cells. The notebook reads its numbers from here; solutions and checks
compute from it too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

import ipywidgets as widgets
import pandas as pd

from messagelab.explore import slider, toggle
from messagelab.grading import (
    check_close,
    check_count,
    config_from,
    design_changes,
    evaluate,
    require,
    student_check,
)
from messagelab.grading.evaluate import Evaluation, worst_text
from messagelab.resilience import BACKOFFS, FALLBACKS, ResilienceConfig, ResilienceResult, simulate
from messagelab.resilience.explorer import ResilienceExplorer
from messagelab.sim.display import fmt, text_table
from messagelab.sim.scenario import Scenario, Target
from messagelab.sim.workload import lognormal_params

ID = "ex05-resilience-patterns"

#: Every graded cell of the notebook: grade_id -> (cell type, points).
GRADES: dict[str, tuple[str, float]] = {
    "sys-gateway-timeout": ("code", 2),
    "sys-retry-amplification": ("code", 2),
    "arch-resilience-design": ("code", 7),
    "arch-other-faults": ("code", 5),
    "arch-diagram": ("markdown", 4),
    "arch-rationale": ("markdown", 4),
    "sys-fmea": ("markdown", 5),
    "comm-runbook": ("markdown", 4),
    "biz-impact": ("markdown", 6),
    "biz-roadmap": ("markdown", 4),
    "sys-risks": ("markdown", 3),
    "comm-summary": ("markdown", 4),
}

# --- the business ---------------------------------------------------------------------------
#: Card payments a second at the evening peak, and the average payment.
PEAK_PAYMENTS_PER_S = 80.0
PAYMENT_USD = 50.0
#: The peak the simulator runs, time compressed: a minute of payments.
PEAK_S = 60.0
#: GlobalPay's promise to merchants: 99% of payments answered within this.
SLA_S = 3.0
#: A stand-in approval (GlobalPay approves without the card network; ``queue`` approves now
#: and asks the network later) is GlobalPay's risk: about one in ten of them would have been declined
#: by the issuer (no funds, a stolen card), and GlobalPay pays the merchant anyway.
STAND_IN_LOSS_RATE = 0.10
#: The risk team's limit on what stand-in approvals may cost in one incident.
STAND_IN_LOSS_LIMIT_USD = 500.0
#: Back to normal (every second's success rate at least 99% again) this soon after the network recovers.
RECOVERY_LIMIT_S = 10.0
#: The card network's fair-use rule: authorisation requests per payment, averaged over the peak;
#: beyond it the network throttles GlobalPay's connections and bills excessive reattempts.
FAIR_USE_REQUESTS_PER_PAYMENT = 1.25
#: The fraud check also scores the payments of GlobalPay's two other card networks: the share of
#: its workers that may wait on this network at once, so the others' payments still find one free.
FRAUD_WORKERS_LIMIT_PCT = 75.0
#: The percentile a timeout is set at (the AWS Builders' Library: choose a false-timeout rate).
TIMEOUT_PERCENTILE = 99.9

#: The brownout: the card network's answers take this many times as long, for this long, from here.
BROWNOUT = ("brownout", "gateway", 15.0, 30.0, 6.0)

#: What a design chooses, with the config's own names (the explorer's controls carry the same).
DESIGN_FIELDS = (
    "gateway_timeout_s", "gateway_max_attempts", "gateway_backoff",
    "fraud_timeout_s", "fraud_max_attempts", "fraud_backoff", "retry_budget",
    "gateway_breaker", "fraud_breaker", "breaker_failure_rate_threshold_pct", "breaker_sliding_window_size",
    "breaker_minimum_number_of_calls", "breaker_wait_duration_in_open_state_s",
    "breaker_permitted_calls_in_half_open_state",
    "gateway_bulkhead_max_concurrent_calls", "fraud_bulkhead_max_concurrent_calls",
    "gateway_fallback", "fraud_fallback", "idempotency_keys", "api_shed_in_flight_limit",
)


def day_targets(*, fault_success_pct: float | None, success_pct: float) -> tuple[Target, ...]:
    """The business targets of a day: the payments that must be authorised, and what every day must hold.

    The sales a day may lose are the payments its success target lets fail, in dollars.
    """
    revenue_lost_usd = (100.0 - success_pct) / 100 * PEAK_PAYMENTS_PER_S * PEAK_S * PAYMENT_USD
    during = () if fault_success_pct is None else (
        Target("fault_success_pct", fault_success_pct, "payments authorised by the card network while the fault lasts",
               "% of them", at_most=False,
               hint="Too many payments fail while the network is slow: look at what turns a slow answer into a "
                    "failure (a timeout shorter than the slow answers, an open breaker) and at what piles up "
                    "in front of the network (retries, a queue no one waits for)."),)
    return during + (
        Target("success_pct", success_pct, "payments authorised by the card network over the whole peak",
               "% of payments", at_most=False,
               hint="Payments fail outside the fault too: a breaker that stays open long after the network "
                    "recovers, or retries that keep the network overloaded, lose the minutes after it."),
        Target("latency_p99_s", SLA_S, "every answer to a merchant, approved or not (99th percentile)", "s",
               hint="Answers are late: every timeout a payment waits out, at each layer and for each retry, "
                    "adds up; so does waiting in a queue in front of a network that is slow."),
        Target("charged_twice", 0, "customers charged twice", "payments",
               hint="A call that timed out may still have charged the card: its retry charges again unless the "
                    "network can recognise it as the same payment."),
        Target("revenue_lost_usd", revenue_lost_usd, "merchants' sales lost (payments failed or refused)", "USD",
               hint="Every payment that fails or is refused is a sale the merchant loses."),
        Target("stand_in_losses_usd", STAND_IN_LOSS_LIMIT_USD, "expected losses on stand-in approvals", "USD",
               hint="A stand-in approval is a payment the issuer never saw, and GlobalPay pays for the ones it "
                    "would have declined: answering failures that way costs more than the risk team allows."),
        Target("time_to_recover_s", RECOVERY_LIMIT_S, "back to normal after the network recovers", "s",
               missing="not within the peak",
               hint="After the fault ends, payments keep failing: a breaker waits in its open state before it "
                    "tries the network again, and a backlog must drain."),
        Target("fraud_workers_busy_pct", FRAUD_WORKERS_LIMIT_PCT,
               "the fraud check's workers busy at the worst moment (the rest score the other networks' payments)",
               "% of them",
               hint="The fraud check's workers wait for the card network's answers: while the network is slow they "
                    "pile up, and the payments for the other networks find none free. Bound how many calls may "
                    "wait on this network at once."),
        Target("gateway_amplification", FAIR_USE_REQUESTS_PER_PAYMENT,
               "authorisation requests to the card network per payment (its fair-use rule)", "requests",
               hint="Retries multiply at every layer: while the network is failing, every failed call is sent "
                    "again, at each layer, by every payment."),
    )


#: GlobalPay at the evening peak, time compressed: a minute of payments in which the card
#: network browns out for half a minute. The design is GlobalPay's today: resilience4j's
#: defaults on both breakers, retries at every layer (the gateway's raised to four after last
#: year's incident, without a backoff), no bulkheads, no idempotency keys.
SCENARIO = Scenario(
    name="GlobalPay card authorisations",
    config=ResilienceConfig(
        arrival_rate_per_s=PEAK_PAYMENTS_PER_S,
        duration_s=PEAK_S,
        api_latency_mean_s=0.005, api_latency_cv=0.5, api_concurrency=200, api_queue_limit=100,
        fraud_latency_mean_s=0.020, fraud_latency_cv=0.5, fraud_concurrency=200, fraud_queue_limit=100,
        gateway_latency_mean_s=0.12, gateway_latency_cv=1.0, gateway_concurrency=60, gateway_queue_limit=100,
        gateway_error_rate=0.001,
        # The merchants' checkouts (their code, not GlobalPay's): a 10 s timeout, three attempts.
        api_timeout_s=10.0, api_max_attempts=3, api_backoff="full_jitter",
        # GlobalPay's design today.
        fraud_timeout_s=2.0, fraud_max_attempts=3, fraud_backoff="full_jitter",
        gateway_timeout_s=1.0, gateway_max_attempts=4, gateway_backoff="none",
        retry_budget=False, gateway_breaker=True, fraud_breaker=True,
        gateway_bulkhead_max_concurrent_calls=None, fraud_bulkhead_max_concurrent_calls=None,
        gateway_fallback="none", fraud_fallback="none", idempotency_keys=False, api_shed_in_flight_limit=None,
        faults=(BROWNOUT,),
        payment_value_mean_usd=PAYMENT_USD,
        sla_latency_s=SLA_S,
    ),
    targets=day_targets(fault_success_pct=85.0, success_pct=92.0),
    design_fields=DESIGN_FIELDS,
    variants={
        # The card network is down: every connection refused.
        "outage": dict(faults=(("outage", "gateway", 20.0, 10.0, 1.0),)),
        # Three answers in ten are errors (a faulty release of the network's front end).
        "error_burst": dict(faults=(("errors", "gateway", 20.0, 15.0, 0.3),)),
        # The network hangs: every call takes five seconds longer, and the fraud check's workers wait on it.
        "hung_gateway": dict(faults=(("slow", "gateway", 20.0, 15.0, 5.0),)),
    },
)

#: The brownout (the visible day) and each day of the hidden checks, with its targets.
TARGETS: dict[str | None, tuple[Target, ...]] = {
    None: SCENARIO.targets,
    "outage": day_targets(fault_success_pct=None, success_pct=78.0),
    "error_burst": day_targets(fault_success_pct=90.0, success_pct=97.0),
    "hung_gateway": day_targets(fault_success_pct=None, success_pct=55.0),
}

#: What each day of the hidden checks is, in words.
VARIANT_NAMES = {
    "outage": "a full outage of the card network",
    "error_burst": "a burst of errors from the card network",
    "hung_gateway": "a card network that hangs",
}

VISIBLE_SEEDS = (0, 1, 2)
#: The seed each other day is shown under (hidden checks use others).
VISIBLE_DAY_SEEDS = (0,)


# --- a day's business figures ---------------------------------------------------------------------
def fault_windows(config: ResilienceConfig) -> list[tuple[float, float]]:
    """The fault windows of a day, [start, end), merged where they overlap."""
    windows: list[tuple[float, float]] = []
    for start, end in sorted((s, s + d) for _, _, s, d, _ in config.faults):
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(end, windows[-1][1]))
        else:
            windows.append((start, end))
    return windows


def business_figures(r: ResilienceResult) -> dict[str, float]:
    """What the business reads off a run, beyond the model's summary: the fault window's success,
    customers charged twice (by a retry, or when a queued payment is authorised later), stand-in losses."""
    s, c, req = r.summary, r.config, r.requests
    inside = pd.Series(False, index=req.index)
    for start, end in fault_windows(c):
        inside |= (req["arrival_s"] >= start) & (req["arrival_s"] < end)
    during = req.loc[inside, "outcome"]
    stand_in = s["payments_degraded"] + s["payments_queued"]
    return {
        "success_pct": 100.0 * s["success_rate"],
        "fault_success_pct": 100.0 * float((during == "success").mean()) if len(during) else math.nan,
        "charged_twice": s["double_charges"] + s["queued_already_charged"],
        "fraud_workers_busy_pct": 100.0 * s["max_fraud_busy"] / c.fraud_concurrency,
        "stand_in_losses_usd": stand_in * c.payment_value_mean_usd * STAND_IN_LOSS_RATE,
    }


def run(config: ResilienceConfig, *, seed: int = 0) -> ResilienceResult:
    """``simulate``, with :func:`business_figures` added to the summary (what the targets read)."""
    r = simulate(config, seed=seed)
    r.summary = {**r.summary, **business_figures(r)}
    return r


# --- the scenario, as the notebook shows it --------------------------------------------------------
def lognormal_percentile_s(mean_s: float, cv: float, pct: float) -> float:
    """The ``pct`` percentile of a lognormal latency with this mean and coefficient of variation."""
    mu, sigma = lognormal_params(mean_s, cv)
    return math.exp(mu + NormalDist().inv_cdf(pct / 100) * sigma)


def _fault_text(fault: tuple[str, str, float, float, float]) -> str:
    """What a fault on the card network does, and when, as a sentence's predicate."""
    kind, _, start, duration, magnitude = fault
    what = {"brownout": f"answers {magnitude:g} times as slowly as usual", "outage": "refuses every connection",
            "errors": f"answers {magnitude:.0%} of calls with an error",
            "slow": f"answers every call {fmt(magnitude, 's')} later than usual",
            "capacity_loss": f"loses {magnitude:.0%} of its capacity"}[kind]
    return f"{what}, from second {fmt(start)} for {fmt(duration, 's')}"


def scenario_frame() -> Any:
    """The facts of the peak a design must carry, as a table."""
    c = SCENARIO.config
    rows = [
        ("card payments at the evening peak", f"{fmt(c.arrival_rate_per_s)} a second (a minute of the peak, time "
                                              "compressed), worth " + fmt(c.payment_value_mean_usd, "USD")
         + " on average"),
        ("the chain", "merchant's checkout → GlobalPay API → fraud check → card network (the gateway), each "
                      "calling the next and waiting for its answer"),
        ("GlobalPay API", f"{c.api_concurrency} workers, {c.api_queue_limit} requests queued at most, "
                          f"{fmt(c.api_latency_mean_s * 1000, 'ms')} of work per payment"),
        ("fraud check", f"{c.fraud_concurrency} workers, each held until the card network answers; "
                        f"{fmt(c.fraud_latency_mean_s * 1000, 'ms')} of scoring per payment; it also scores the "
                        f"payments of GlobalPay's two other networks, so at most {FRAUD_WORKERS_LIMIT_PCT:g}% of its "
                        "workers may wait on this one"),
        ("the card network", f"{c.gateway_concurrency} connections granted to GlobalPay ({c.gateway_queue_limit} "
                             "requests wait beyond them); an answer takes "
                             f"{fmt(c.gateway_latency_mean_s * 1000, 'ms')} on average, lognormal with a "
                             f"coefficient of variation of {c.gateway_latency_cv:g}; "
                             f"{c.gateway_error_rate:.1%} errors"),
        ("the brownout", "the card network " + _fault_text(BROWNOUT)),
        ("the merchants' checkouts", f"wait {fmt(c.api_timeout_s, 's')} for an answer and try "
                                     f"{c.api_max_attempts} times (their code, not GlobalPay's)"),
        ("the SLA", f"99% of payments answered within {fmt(SLA_S, 's')}"),
        ("a stand-in approval", f"approved without the card network: {STAND_IN_LOSS_RATE:.0%} of them would have "
                                "been declined, and GlobalPay pays the merchant for those"),
        ("the card network's fair use", f"at most {FAIR_USE_REQUESTS_PER_PAYMENT:g} authorisation requests per "
                                        "payment over the peak"),
    ]
    return text_table(pd.DataFrame(rows, columns=["fact", "value"]).set_index("fact"))


_MEANING = {
    "gateway_timeout_s": ("the fraud check's timeout on a call to the card network", "0.001–600 s"),
    "gateway_max_attempts": ("calls to the card network per fraud check, the first included", "1–10"),
    "gateway_backoff": ("the wait before each retry to the card network", ", ".join(repr(b) for b in BACKOFFS)),
    "fraud_timeout_s": ("the API's timeout on a call to the fraud check", "0.001–600 s"),
    "fraud_max_attempts": ("calls to the fraud check per payment the API handles, the first included", "1–10"),
    "fraud_backoff": ("the wait before each retry to the fraud check", "as gateway_backoff"),
    "retry_budget": ("a token bucket on both callers' retries (the AWS SDKs' retry quota)", "True, False"),
    "gateway_breaker": ("a circuit breaker on the calls to the card network", "True, False"),
    "fraud_breaker": ("a circuit breaker on the calls to the fraud check", "True, False"),
    "breaker_failure_rate_threshold_pct": ("both breakers open at this failure rate", "> 0 to 100 %"),
    "breaker_sliding_window_size": ("the last calls a breaker counts", "1–100,000 calls"),
    "breaker_minimum_number_of_calls": ("calls in the window before a breaker may open", "1–1,000,000"),
    "breaker_wait_duration_in_open_state_s": ("how long an open breaker refuses calls before trying again",
                                              "0.001–86,400 s"),
    "breaker_permitted_calls_in_half_open_state": ("trial calls a half-open breaker lets through", "1–100,000"),
    "gateway_bulkhead_max_concurrent_calls": ("calls to the card network in flight at once; one more is refused "
                                              "at once", "None (no bulkhead) or 1–10,000"),
    "fraud_bulkhead_max_concurrent_calls": ("calls to the fraud check in flight at once", "None or 1–10,000"),
    "gateway_fallback": ("the fraud check's answer when its calls to the network failed",
                         ", ".join(repr(f) for f in FALLBACKS)),
    "fraud_fallback": ("the API's answer when its calls to the fraud check failed", "as gateway_fallback"),
    "idempotency_keys": ("each payment carries a key the card network recognises: a repeat is not charged again",
                         "True, False"),
    "api_shed_in_flight_limit": ("the API refuses a payment at once while this many are in it",
                                 "None (no shedding) or 1–1,000,000"),
}


def design_frame() -> Any:
    """Every setting a design chooses: what it is, GlobalPay's value today, what is allowed."""
    c = SCENARIO.config
    rows = [(name, _MEANING[name][0], _value_text(getattr(c, name)), _MEANING[name][1]) for name in DESIGN_FIELDS]
    return text_table(pd.DataFrame(rows, columns=["setting", "what it is", "GlobalPay today", "allowed"])
                      .set_index("setting"))


def _value_text(value: Any) -> str:
    return repr(value) if isinstance(value, str | bool) or value is None else fmt(value)


def todays_design() -> dict[str, Any]:
    """GlobalPay's settings today, as a design: a dict of every setting a design chooses."""
    return {name: getattr(SCENARIO.config, name) for name in DESIGN_FIELDS}


def days_frame() -> Any:
    """The days a design is checked under: the brownout, then the hidden checks' faults."""
    rows = [("the brownout", "the card network " + _fault_text(BROWNOUT))]
    rows += [(f"{VARIANT_NAMES[name]} ({name})", "the card network " + _fault_text(changes["faults"][0]))
             for name, changes in SCENARIO.variants.items()]
    return text_table(pd.DataFrame(rows, columns=["day", "what goes wrong"]).set_index("day"))


def _limit_text(t: Target) -> str:
    limit = f"{t.limit:,.0f}" if abs(t.limit) >= 1000 else f"{t.limit:g}"
    if t.at_most and t.limit == 0:
        return "none"
    return f"{'≤' if t.at_most else '≥'} {limit} {t.unit}".rstrip()


def days_targets_frame() -> Any:
    """Every day's targets side by side: a row per target, a column per day (— where a day has none)."""
    labels = [t.label for t in TARGETS[None]]
    columns = {"the brownout": TARGETS[None], **{v: TARGETS[v] for v in SCENARIO.variants}}
    data = {day: [next((_limit_text(t) for t in targets if t.label == label), "—") for label in labels]
            for day, targets in columns.items()}
    return text_table(pd.DataFrame(data, index=pd.Index(labels, name="target")))


# --- the timeout ------------------------------------------------------------------------------------
def latency_frame() -> Any:
    """The card network's latency on a normal day, as the simulator draws it, and the timeout's percentile."""
    c = SCENARIO.config
    rows = [
        ("distribution", "lognormal (the logarithm of a latency is normally distributed)"),
        ("mean", fmt(c.gateway_latency_mean_s * 1000, "ms")),
        ("coefficient of variation (standard deviation / mean)", f"{c.gateway_latency_cv:g}"),
        ("false timeouts GlobalPay accepts on a normal day", f"{100 - TIMEOUT_PERCENTILE:.1f}% of calls: the "
                                                              f"timeout is the p{TIMEOUT_PERCENTILE:g}"),
    ]
    return text_table(pd.DataFrame(rows, columns=["the card network's latency", "value"])
                      .set_index("the card network's latency"))


def false_timeout_s() -> float:
    """The gateway timeout at the scenario's false-timeout percentile of a normal day's latency."""
    c = SCENARIO.config
    return lognormal_percentile_s(c.gateway_latency_mean_s, c.gateway_latency_cv, TIMEOUT_PERCENTILE)


@student_check("The gateway timeout is the chosen percentile of the network's latency on a normal day.")
def check_timeout(timeout_s: Any) -> None:
    check_close("gateway_timeout_p999_s", timeout_s, false_timeout_s(), rel_tol=0.02,
                hint="Use the lognormal the model draws from: σ² = ln(1 + cv²), μ = ln(mean) − σ²/2, and the "
                     "percentile exp(μ + z·σ), z being the standard normal's percentile.")


# --- retry amplification -----------------------------------------------------------------------------
def retries_frame() -> Any:
    """Each call of the chain today: who calls whom, its timeout and its attempts."""
    c = SCENARIO.config
    rows = [(f"{caller} → {callee}", fmt(c.tier(tier, "timeout_s"), "s"), fmt(c.tier(tier, "max_attempts")),
             c.tier(tier, "backoff").replace("_", " "))
            for caller, callee, tier in (("merchant's checkout", "GlobalPay API", "api"),
                                         ("GlobalPay API", "fraud check", "fraud"),
                                         ("fraud check", "card network", "gateway"))]
    return text_table(pd.DataFrame(rows, columns=["call", "timeout", "attempts (the first included)", "backoff"])
                      .set_index("call"))


def tries_per_payment() -> int:
    """The most calls one payment can make to the card network with GlobalPay's settings today."""
    return SCENARIO.config.tries_per_payment


@student_check("The calls one payment can make to the card network are right for today's settings.")
def check_amplification(calls: Any) -> None:
    check_count("calls_per_payment", calls, tries_per_payment(),
                "every layer that retries multiplies the calls of the layer below it, the merchants' checkouts "
                "included.")


# --- the design ----------------------------------------------------------------------------------------
def design_config(design: Any, variant: str | None = None) -> ResilienceConfig:
    """The design — every setting of the table, one dict — on the scenario's peak (or a day of the hidden checks)."""
    changes = design_changes(design, DESIGN_FIELDS, DESIGN_FIELDS)
    if variant is not None and variant not in SCENARIO.variants:
        raise ValueError(f"no variant {variant!r}")
    base = SCENARIO.config if variant is None else SCENARIO.config.replace(**SCENARIO.variants[variant])
    return config_from(base, changes)


def evaluate_design(design: Any, seeds: Sequence[int] = VISIBLE_SEEDS, variant: str | None = None) -> Evaluation:
    """The design through the brownout (or a variant's fault), against that day's targets."""
    return evaluate(run, design_config(design, variant), TARGETS[variant], seeds)


@student_check("The design meets every business target through the brownout at the peak.")
def check_design(design: Any, seeds: Sequence[int] = VISIBLE_SEEDS) -> None:
    require(evaluate_design(design, seeds))


@student_check("The design meets every business target through an outage, an error burst and a hung network.")
def check_other_faults(design: Any, seeds: Sequence[int] = VISIBLE_DAY_SEEDS) -> None:
    for variant in SCENARIO.variants:
        ev = evaluate_design(design, seeds, variant)
        if not ev.passed:
            raise AssertionError(f"Through {VARIANT_NAMES[variant]} ({variant}): " + ev.explain())


def days_report(design: Any, seeds: Sequence[int] = VISIBLE_DAY_SEEDS) -> Any:
    """The design through each day of the hidden checks (under the visible seed): what it misses, and by how much."""
    rows = []
    for variant in SCENARIO.variants:
        table = evaluate_design(design, seeds, variant).table
        missed = table[~table["met"]]
        rows.append((f"{VARIANT_NAMES[variant]} ({variant})",
                     f"{len(table) - len(missed)} of {len(table)}",
                     "; ".join(f"{row['label']}: {worst_text(row)}" for _, row in missed.iterrows()) or "—"))
    return text_table(pd.DataFrame(rows, columns=["day", "targets met", "missed (worst run)"]).set_index("day"))


# --- the game-day explorer, with the patterns the domain's explorer leaves out ---------------------------
#: Controls where 0 means "none" (a slider cannot hold None).
_NONE_AT_ZERO = ("gateway_bulkhead_max_concurrent_calls", "api_shed_in_flight_limit")


class GameDayExplorer(ResilienceExplorer):
    """:class:`ResilienceExplorer` with the API's calls to the fraud check, a bulkhead on the calls to the
    card network, load shedding at the API and idempotency keys: every layer of GlobalPay's design."""

    def make_controls(self) -> dict[str, widgets.Widget]:
        b = self.base
        controls = super().make_controls()
        controls["fraud_timeout_s"] = slider("float", "fraud-check timeout (s)", b.fraud_timeout_s, 0.1, 10, 0.1)
        controls["fraud_max_attempts"] = slider("int", "fraud-check attempts", b.fraud_max_attempts, 1, 5, 1)
        controls["gateway_bulkhead_max_concurrent_calls"] = slider(
            "int", "gateway bulkhead (0: none)", b.gateway_bulkhead_max_concurrent_calls or 0, 0, 200, 5)
        controls["api_shed_in_flight_limit"] = slider(
            "int", "shed load above (0: never)", b.api_shed_in_flight_limit or 0, 0, 400, 10)
        controls["idempotency_keys"] = toggle("idempotency keys", [False, True], b.idempotency_keys,
                                              button_width="60px")
        return controls

    def config(self, values: dict[str, Any]) -> ResilienceConfig:
        return super().config({k: (v or None) if k in _NONE_AT_ZERO else v for k, v in values.items()})


def explorer(seed: int = 0) -> GameDayExplorer:
    """The game day on GlobalPay's chain as it is today, through the brownout."""
    return GameDayExplorer(SCENARIO.config, seed=seed, sla_latency_s=SLA_S)
