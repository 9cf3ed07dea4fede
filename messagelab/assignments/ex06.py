"""Exercise 06, Global Messaging Architecture: GlobalConnect keeps posts, likes and messages flowing worldwide.

Everything the exercise adds in Python: its scenario (the regions and their users, the four
datasets, today's design, the region failure, the business and legal targets), the days the
hidden checks replay a design through, the checks its test cells call, and its graded cells.
The notebook reads its numbers from here; solutions and checks compute from it too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from messagelab.grading import check_close, evaluate, require, student_check
from messagelab.grading.evaluate import Evaluation
from messagelab.multiregion import CONFLICTS, MODES, TOPOLOGIES, Dataset, MultiRegionConfig, MultiRegionResult, simulate
from messagelab.multiregion.explorer import GlobalExplorer
from messagelab.multiregion.regions import INTRA_REGION_RTT_MS, REGIONS, rtt_ms
from messagelab.sim.display import fmt, text_table
from messagelab.sim.scenario import Scenario, Target
from messagelab.sim.validation import ConfigError

ID = "ex06-global-messaging"

#: Every graded cell of the notebook: grade_id -> (cell type, points).
GRADES: dict[str, tuple[str, float]] = {
    "sys-quorum-latency": ("code", 2),
    "biz-transfer-cost": ("code", 2),
    "arch-global-design": ("code", 7),
    "arch-other-failures": ("code", 5),
    "arch-diagram": ("markdown", 4),
    "arch-rationale": ("markdown", 4),
    "biz-compliance": ("markdown", 5),
    "comm-dr-runbook": ("markdown", 4),
    "biz-consistency": ("markdown", 4),
    "biz-roadmap": ("markdown", 3),
    "sys-risks": ("markdown", 3),
    "comm-summary": ("markdown", 4),
}

# --- the platform ---------------------------------------------------------------------------------
#: Where GlobalConnect runs, and the share of its users near each region.
REGION_CODES = ("us-east-1", "eu-west-1", "eu-central-1", "ap-northeast-1", "ap-southeast-2", "sa-east-1")
USER_SHARES = (0.30, 0.15, 0.15, 0.20, 0.10, 0.10)
#: The simulator runs a sample of the traffic: one write in ``TRAFFIC_SCALE`` (50 a second of 10,000).
SIM_WRITES_PER_S = 50.0
TRAFFIC_SCALE = 200
SIM_DURATION_S = 300.0
#: The region that fails in the visible check, when, and for how long.
FAILURE = ("us-east-1", 120.0, 120.0)

#: The business's and the law's needs.
LATENCY_TARGET_MS = 200.0           # every region's users: a post, a like, a message sent within this (p99)
POST_REACH_MS = 2_000.0             # a post reaches readers everywhere within this of being written (p99)
TRANSFER_BUDGET_USD = 6_000.0       # inter-region transfer a month, at full traffic
MESSAGES_LOST_LIMIT = 0             # messages lost when a region fails: none
LIKES_LOST_LIMIT = 0                # likes lost to concurrent writes: none
UNREADABLE_PCT_LIMIT = 0.1          # messages their sender cannot read back at once (% of messages)
MESSAGES_DOWN_LIMIT_S = 90.0        # messages refused after a region fails: for at most this long

#: The datasets, what they hold, and how much of the writes each takes.
DATASETS = {
    "posts": dict(data_class="public", kind="register", write_share=0.25, size_kb=2.0, keys=10_000),
    "likes": dict(data_class="aggregate", kind="counter", write_share=0.45, size_kb=0.2, keys=2_000),
    "messages": dict(data_class="personal", kind="register", write_share=0.25, size_kb=1.0, keys=50_000),
    "feeds": dict(data_class="aggregate", kind="register", write_share=0.05, size_kb=8.0, keys=5_000),
}
#: What a design chooses for each dataset (the Dataset's own field names).
DESIGN_FIELDS = ("topology", "mode", "replicas", "primary", "quorum", "copies", "conflict")

#: GlobalConnect today: everything written in Virginia and copied to Ireland and Tokyo (a US start-up's design).
_TODAY = dict(topology="active_passive", mode="async", replicas=("us-east-1", "eu-west-1", "ap-northeast-1"),
              primary="us-east-1", quorum=1, copies=2, conflict="lww")


def todays_design() -> dict[str, dict[str, Any]]:
    """GlobalConnect's design today: for each dataset, every setting a design chooses."""
    return {name: dict(_TODAY) for name in DATASETS}


def design_config(design: Any, variant: str | None = None) -> MultiRegionConfig:
    """The design — a dict of datasets, each a dict of ``DESIGN_FIELDS`` — on the scenario's platform."""
    if not isinstance(design, dict):
        raise AssertionError(f"design must be a dict of datasets, not a {type(design).__name__}")
    missing = [name for name in DATASETS if name not in design]
    extra = [name for name in design if name not in DATASETS]
    if missing or extra:
        raise AssertionError(f"design must hold exactly the datasets {', '.join(DATASETS)}"
                             + (f"; it leaves out {', '.join(missing)}" if missing else "")
                             + (f"; {', '.join(map(repr, extra))} is not one of them" if extra else ""))
    datasets = []
    for name, facts in DATASETS.items():
        choice = design[name]
        if not isinstance(choice, dict):
            raise AssertionError(f"design[{name!r}] must be a dict of {', '.join(DESIGN_FIELDS)}")
        unknown = sorted(set(choice) - set(DESIGN_FIELDS))
        if unknown:
            raise AssertionError(f"design[{name!r}][{unknown[0]!r}] is not a design setting: a design chooses "
                                 + ", ".join(DESIGN_FIELDS))
        left = [f for f in DESIGN_FIELDS if f not in choice]
        if left:
            raise AssertionError(f"design[{name!r}] leaves out {', '.join(left)}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in choice.items()}
        try:
            datasets.append(Dataset(name=name, **facts, **values))
        except ConfigError as e:
            raise AssertionError(f"design[{name!r}] is not a valid configuration: {e}") from None
    base = SCENARIO.config if variant is None else SCENARIO.config.replace(**SCENARIO.variants[variant])
    try:
        return base.replace(datasets=tuple(datasets))
    except ConfigError as e:
        raise AssertionError(f"the design is not a valid configuration: {e}") from None


# --- what the business reads off a run ------------------------------------------------------------------
def business_figures(r: MultiRegionResult) -> dict[str, float]:
    """Per dataset and per region, what the targets read beyond the model's own summary."""
    w, tl = r.writes, r.timeline
    accepted = w[w["outcome"] != "refused"]
    # Latency in normal operation: before the failure and after the failback (a failover's detour is
    # what the failure targets judge).
    normal = accepted[(accepted["time_s"] < tl.failed_s) | (accepted["time_s"] >= tl.failed_back_s)]
    p99 = normal.groupby(["dataset", "user_region"])["latency_ms"].quantile(0.99)
    messages = normal[normal["dataset"] == "messages"]
    refused = w[(w["dataset"] == "messages") & (w["outcome"] == "refused") & (w["time_s"] >= tl.failed_s)]
    posts = set(w.loc[w["dataset"] == "posts", "write_id"])
    # A post's reach: every replica still up (the failed region catches up when it is back).
    copies = r.copies[r.copies["write_id"].isin(posts) & (r.copies["replica"] != tl.region)]
    reach = copies["applied_s"].to_numpy() - w.set_index("write_id").loc[copies["write_id"], "commit_s"].to_numpy()
    reach = np.where(np.isfinite(reach), reach, SIM_DURATION_S)
    return {
        "worst_write_p99_ms": float(p99.max()) if len(p99) else math.nan,
        "posts_reach_p99_ms": float(np.quantile(reach, 0.99) * 1000) if len(reach) else 0.0,
        "messages_lost": int(((w["dataset"] == "messages") & (w["outcome"] == "lost")).sum()),
        "likes_lost": int((w["overwritten_unseen"] & (w["dataset"] == "likes")).sum()),
        "messages_unreadable_pct": 100.0 * float((~messages["read_your_write"]).mean()) if len(messages) else 0.0,
        "messages_down_s": float(refused["time_s"].max() - tl.failed_s) if len(refused) else 0.0,
        "transfer_usd_month": r.summary["monthly_transfer_usd"] * TRAFFIC_SCALE,
    }


def run(config: MultiRegionConfig, *, seed: int = 0) -> MultiRegionResult:
    """``simulate``, with :func:`business_figures` added to the summary (what the targets read)."""
    r = simulate(config, seed=seed)
    r.summary = {**r.summary, **business_figures(r)}
    return r


TARGETS = (
    Target("worst_write_p99_ms", LATENCY_TARGET_MS,
           "every region's users, in normal operation: a post, like or message sent (p99)", "ms",
           hint="Users far from where their writes land wait for the round trip — and a synchronous or quorum "
                "write waits for the replicas' too. Let writes land near the people making them, and wait only "
                "for replicas that are close."),
    Target("posts_reach_p99_ms", POST_REACH_MS, "a post in every working replica after it is written (p99)", "ms",
           hint="A post reaches a replica after the replication pipeline and half a round trip; a replica cut off "
                "by a failure gets it only when it is back."),
    Target("residency_violations", 0, "paths moving EU users' personal data out of the EEA (GDPR Art. 44)",
           "paths", hint="Personal data of users in the EEA may be stored only in the EEA or in a country with "
                          "an adequacy decision — the regions its writes are routed to, copied to, and failed over "
                          "to all count."),
    Target("messages_lost", MESSAGES_LOST_LIMIT, "messages lost when a region fails", "messages",
           hint="A message acknowledged to its sender but not yet copied anywhere else dies with its region: "
                "acknowledge only once another region holds it."),
    Target("messages_down_s", MESSAGES_DOWN_LIMIT_S, "messages refused after a region fails, for", "s",
           hint="Messages are refused until another region takes the failed one's writes — and for as long as "
                "a write waits for an acknowledgement that the failed region cannot give. Keep enough copies "
                "that the survivors can still acknowledge."),
    Target("likes_lost", LIKES_LOST_LIMIT, "likes lost to concurrent writes", "likes",
           hint="Two regions counting likes on one post at once: last-writer-wins keeps one count and loses the "
                "other's. A count can be merged instead."),
    Target("messages_unreadable_pct", UNREADABLE_PCT_LIMIT,
           "messages their sender could not read back at once, in normal operation", "% of messages",
           hint="A sender reads back from the replica nearest to them: if their message was written elsewhere and "
                "has not arrived yet, it seems lost."),
    Target("transfer_usd_month", TRANSFER_BUDGET_USD, "inter-region transfer, a month at full traffic", "USD",
           hint="Every copy costs the sending region's price per GB, and Asia's and South America's cost several "
                "times Virginia's: copy each dataset where its readers need it, not everywhere."),
)

#: GlobalConnect at its evening peak, a sample of its writes, Virginia failing for two minutes in the middle.
SCENARIO = Scenario(
    name="GlobalConnect worldwide",
    config=MultiRegionConfig(
        regions=REGION_CODES, user_shares=USER_SHARES, writes_per_s=SIM_WRITES_PER_S, duration_s=SIM_DURATION_S,
        datasets=tuple(Dataset(name=name, **facts, **_TODAY) for name, facts in DATASETS.items()),
        failed_region=FAILURE[0], failure_at_s=FAILURE[1], failure_duration_s=FAILURE[2],
        replication_delay_ms=200.0, promotion_s=30.0, dns_ttl_s=60.0, dpf_certified=False, transfer_safeguards=False,
    ),
    targets=TARGETS,
    design_fields=("datasets",),
    variants={
        # Ireland fails: the EU's own region.
        "ireland_fails": dict(failed_region="eu-west-1"),
        # Tokyo fails: Asia's users are rerouted across the Pacific.
        "tokyo_fails": dict(failed_region="ap-northeast-1"),
    },
)
VARIANT_NAMES = {"ireland_fails": "Ireland (eu-west-1) failing", "tokyo_fails": "Tokyo (ap-northeast-1) failing"}
VISIBLE_SEEDS = (0, 1)
VISIBLE_DAY_SEEDS = (0,)


# --- the scenario, as the notebook shows it ------------------------------------------------------------
def regions_frame() -> Any:
    """The regions: where, whose law, the users near each, what sending a GB from it costs."""
    rows = [(REGIONS[c].label, REGIONS[c].country, "yes" if REGIONS[c].eea else "no",
             {"yes": "yes", "dpf": "only for DPF-certified companies", "no": "no", "": "—"}[REGIONS[c].adequacy],
             f"{share:.0%}", f"{REGIONS[c].transfer_usd_per_gb:.3f} USD")
            for c, share in zip(REGION_CODES, USER_SHARES, strict=True)]
    return text_table(pd.DataFrame(rows, columns=["region", "country", "in the EEA", "EU adequacy decision",
                                                  "users near it", "sending a GB to another region"])
                      .set_index("region"))


def rtt_frame() -> Any:
    """The round trips between the regions (ms), as published."""
    labels = [REGIONS[c].city for c in REGION_CODES]
    data = [[rtt_ms(a, b) for b in REGION_CODES] for a in REGION_CODES]
    return text_table(pd.DataFrame(data, index=pd.Index(labels, name="from \\ to"), columns=labels).round(1))


def datasets_frame() -> Any:
    """The four datasets: what they hold, their share of the writes, their size."""
    what = {"posts": "what users publish (public)", "likes": "a count per post (a counter)",
            "messages": "direct messages between users (personal data)",
            "feeds": "each user's feed, built from the posts they follow"}
    rows = [(name, what[name], facts["data_class"], f"{facts['write_share']:.0%}", fmt(facts["size_kb"], "KB"))
            for name, facts in DATASETS.items()]
    return text_table(pd.DataFrame(rows, columns=["dataset", "holds", "data class", "share of writes", "size"])
                      .set_index("dataset"))


def design_frame() -> Any:
    """What a design chooses for each dataset, what each choice means, what is allowed."""
    rows = [
        ("topology", "where writes land", ", ".join(map(repr, TOPOLOGIES))),
        ("mode", "when a write is acknowledged", ", ".join(map(repr, MODES))),
        ("replicas", "the regions holding a copy (not geo_partitioned)", "a tuple of the regions above"),
        ("primary", "the writer of active_passive, the hub of hub_and_spoke", "one of the replicas"),
        ("quorum", "quorum mode: other replicas that must hold the write first", "1 to the other copies"),
        ("copies", "geo_partitioned: copies of each user's data, the home region's included", "1 to 6"),
        ("conflict", "how concurrent writes are resolved", ", ".join(map(repr, CONFLICTS)) + " (crdt: counters)"),
    ]
    return text_table(pd.DataFrame(rows, columns=["setting", "what it is", "allowed"]).set_index("setting"))


def targets_frame() -> Any:
    """The business's and the law's targets, checked through Virginia's failure and two others."""
    return text_table(pd.DataFrame([(t.describe(),) for t in TARGETS], columns=["target"]).set_index("target"))


# --- the quorum -------------------------------------------------------------------------------------------
#: The numeric question: a write lands in Frankfurt and waits for this many of the other regions.
QUORUM_ORIGIN, QUORUM_K = "eu-central-1", 2


def quorum_latency_ms(origin: str = QUORUM_ORIGIN, k: int = QUORUM_K) -> float:
    """A write from users near ``origin``, landing there, acknowledged by ``k`` of the other regions (no jitter)."""
    others = sorted(rtt_ms(origin, r) for r in REGION_CODES if r != origin)
    return INTRA_REGION_RTT_MS + others[k - 1]


def quorum_frame() -> Any:
    """The quorum question's facts."""
    rows = [("the write lands in", REGIONS[QUORUM_ORIGIN].label),
            ("acknowledged once it is held by", f"{QUORUM_K} of the other {len(REGION_CODES) - 1} regions"),
            ("the user's round trip to the region it lands in", fmt(INTRA_REGION_RTT_MS, "ms")),
            ("round trips between regions", "the matrix above, without variation")]
    return text_table(pd.DataFrame(rows, columns=["the quorum write", "value"]).set_index("the quorum write"))


@student_check("The quorum write's latency follows from the round-trip matrix.")
def check_quorum_latency(ms: Any) -> None:
    check_close("quorum_write_ms", ms, quorum_latency_ms(), rel_tol=0.01,
                hint="The write waits for the k fastest acknowledgements: sort the round trips from where it lands "
                     "to the other regions and take the k-th; add the user's round trip within the region.")


# --- the transfer bill -------------------------------------------------------------------------------------
#: The numeric question: likes written in São Paulo at full traffic, copied to every other region.
BILL_ORIGIN = "sa-east-1"


def likes_bill_usd(origin: str = BILL_ORIGIN) -> float:
    """A month of the likes written near ``origin`` at full traffic, each copied to every other region."""
    share = USER_SHARES[REGION_CODES.index(origin)]
    per_s = SIM_WRITES_PER_S * TRAFFIC_SCALE * DATASETS["likes"]["write_share"] * share
    gb = per_s * DATASETS["likes"]["size_kb"] * (len(REGION_CODES) - 1) * 30 * 86400 / 1024 / 1024
    return gb * REGIONS[origin].transfer_usd_per_gb


def bill_frame() -> Any:
    """The transfer-bill question's facts."""
    likes = DATASETS["likes"]
    rows = [("writes at full traffic", f"{fmt(SIM_WRITES_PER_S * TRAFFIC_SCALE)} a second (the simulator's "
                                       f"{fmt(SIM_WRITES_PER_S)}, times {TRAFFIC_SCALE})"),
            ("likes", f"{likes['write_share']:.0%} of the writes, {fmt(likes['size_kb'], 'KB')} each"),
            ("São Paulo's users", f"{USER_SHARES[REGION_CODES.index(BILL_ORIGIN)]:.0%} of the users, and of the "
                                  "writes"),
            ("each like written near São Paulo", f"copied to the {len(REGION_CODES) - 1} other regions"),
            ("price", f"{REGIONS[BILL_ORIGIN].transfer_usd_per_gb:.3f} USD per GB sent from "
                      f"{REGIONS[BILL_ORIGIN].label}"),
            ("a month", "30 days; 1 GB = 1024 × 1024 KB")]
    return text_table(pd.DataFrame(rows, columns=["the likes' transfer", "value"]).set_index("the likes' transfer"))


@student_check("The monthly bill for copying São Paulo's likes follows from the traffic and the price.")
def check_transfer_cost(usd: Any) -> None:
    check_close("likes_bill_usd", usd, likes_bill_usd(), rel_tol=0.02,
                hint="Likes a second near the region × size × the copies sent × seconds in a month, in GB "
                     "(1 GB = 1024 × 1024 KB), × the price the sending region charges per GB.")


# --- the design --------------------------------------------------------------------------------------------
def evaluate_design(design: Any, seeds: Sequence[int] = VISIBLE_SEEDS, variant: str | None = None) -> Evaluation:
    """The design through Virginia's failure (or a variant's), against the targets."""
    return evaluate(run, design_config(design, variant), TARGETS, seeds)


@student_check("The design meets every business and legal target through Virginia's failure.")
def check_design(design: Any, seeds: Sequence[int] = VISIBLE_SEEDS) -> None:
    require(evaluate_design(design, seeds))


@student_check("The design meets every target when Ireland or Tokyo fails instead.")
def check_other_failures(design: Any, seeds: Sequence[int] = VISIBLE_DAY_SEEDS) -> None:
    for variant in SCENARIO.variants:
        ev = evaluate_design(design, seeds, variant)
        if not ev.passed:
            raise AssertionError(f"With {VARIANT_NAMES[variant]}: " + ev.explain())


__all__ = ["ID", "GRADES", "SCENARIO", "TARGETS", "check_design", "check_other_failures", "check_quorum_latency",
           "check_transfer_cost", "design_config", "evaluate_design", "explorer", "todays_design"]


# --- the explorers -------------------------------------------------------------------------------------------
def explorer(dataset: str, seed: int = 0) -> GlobalExplorer:
    """One dataset's design on GlobalConnect as it is today, through Virginia's failure: its own writes alone."""
    return GlobalExplorer(SCENARIO.config, dataset, seed=seed, latency_target_ms=LATENCY_TARGET_MS,
                          traffic_scale=TRAFFIC_SCALE)
