"""Exercise 06's targets have no holes: a sweep over each dataset's design settings, judged from the raw runs.

From the reference design, each setting of each dataset is moved across its range, one at a
time. Every design the grade accepts — through Virginia's failure and, as the hidden checks
do, Ireland's and Tokyo's — must be one GlobalConnect's reviewers would accept, judged here
from each run's own tables (every write, every copy) rather than from the figures the targets
read: fast enough in every region, posts everywhere soon, no EU personal data outside the
EEA or an adequate country, no message lost or refused long, no like lost, senders reading
their own messages, within the transfer budget. A design the grade refuses must break one.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_ex06_checks import DESIGN, THREE

from messagelab.assignments import ex06
from messagelab.multiregion.regions import REGIONS, personal_data_may_go

SWEEP = {
    "topology": ["active_passive", "active_active", "hub_and_spoke", "geo_partitioned"],
    "mode": ["async", "sync", "quorum"],
    "replicas": [("us-east-1",), ("eu-west-1", "eu-central-1"), THREE, ex06.REGION_CODES[:4], ex06.REGION_CODES],
    "primary": ["us-east-1", "eu-west-1", "ap-northeast-1"],
    "quorum": [1, 2],
    "copies": [1, 2, 3, 4],
    "conflict": ["lww", "crdt"],
}
DAYS = (None, *ex06.SCENARIO.variants)


def needs_broken(result) -> list[str]:
    """What GlobalConnect needs that this run does not give, from its tables of writes and copies."""
    c, w, copies, tl = result.config, result.writes, result.copies, result.timeline
    broken = []
    accepted = w[w["outcome"] != "refused"]
    normal = accepted[(accepted["time_s"] < tl.failed_s) | (accepted["time_s"] >= tl.failed_back_s)]
    if (normal.groupby(["dataset", "user_region"])["latency_ms"].quantile(0.99) > ex06.LATENCY_TARGET_MS).any():
        broken.append("some region's users wait too long for a write")
    commit = w.set_index("write_id")["commit_s"]
    post_copies = copies[copies["write_id"].isin(w.loc[w["dataset"] == "posts", "write_id"])
                         & (copies["replica"] != tl.region)]
    lag = post_copies["applied_s"].to_numpy() - commit.loc[post_copies["write_id"]].to_numpy()
    if len(lag) and np.quantile(np.where(np.isfinite(lag), lag, 1e9), 0.99) * 1000 > ex06.POST_REACH_MS:
        broken.append("posts reach other regions too late")
    eu = w[(w["dataset"] == "messages") & w["user_region"].map(lambda r: REGIONS[r].eea)]
    held = copies[copies["write_id"].isin(eu["write_id"])].merge(eu[["write_id", "user_region"]], on="write_id")
    places = set(zip(held["user_region"], held["replica"], strict=True)) | set(
        zip(eu["user_region"], eu["coordinator"], strict=True))
    if any(not personal_data_may_go(home, where) for home, where in places):
        broken.append("EU users' messages stored or handled outside the EEA")
    messages = w[w["dataset"] == "messages"]
    if (messages["outcome"] == "lost").any():
        broken.append("messages lost with a region")
    refused = messages[(messages["outcome"] == "refused") & (messages["time_s"] >= tl.failed_s)]
    if len(refused) and refused["time_s"].max() - tl.failed_s > ex06.MESSAGES_DOWN_LIMIT_S:
        broken.append("messages refused for too long")
    if (w["overwritten_unseen"] & (w["dataset"] == "likes")).any():
        broken.append("likes lost")
    own = normal[normal["dataset"] == "messages"]
    if len(own) and 100 * (~own["read_your_write"]).mean() > ex06.UNREADABLE_PCT_LIMIT:
        broken.append("senders cannot read their own messages")
    sent = copies.merge(w[["write_id", "coordinator", "dataset"]], on="write_id")
    sent = sent[sent["replica"] != sent["coordinator"]]
    size = sent["dataset"].map(lambda d: ex06.DATASETS[d]["size_kb"])
    price = sent["coordinator"].map(lambda r: REGIONS[r].transfer_usd_per_gb)
    monthly = float((size * price).sum()) / 1024 / 1024 * 30 * 86400 / c.duration_s * ex06.TRAFFIC_SCALE
    if monthly > ex06.TRANSFER_BUDGET_USD:
        broken.append("over the transfer budget")
    return broken


def judge(design) -> bool:
    try:
        days = [ex06.evaluate_design(design, (0,), day) for day in DAYS]
    except AssertionError:
        return False  # not a valid design: refused with a reason before any run
    passed = all(d.passed for d in days)
    broken = [need for d in days for r in d.results for need in needs_broken(r)]
    if passed:
        assert broken == [], (design, broken)
    else:
        assert broken, (design, "refused, yet met every need")
    return passed


@pytest.mark.parametrize("name", list(ex06.DATASETS))
def test_every_design_the_grade_accepts_meets_the_business_and_legal_needs(name):
    assert set(SWEEP) == set(ex06.DESIGN_FIELDS)
    assert judge(DESIGN)
    for field, values in SWEEP.items():
        for value in values:
            judge({**DESIGN, name: {**DESIGN[name], field: value}})


def test_todays_design_is_refused_for_what_it_breaks():
    assert not judge(ex06.todays_design())
