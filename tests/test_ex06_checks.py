"""Exercise 06's checks: they accept the reference answers, say which way to go otherwise, and refuse
each of today's weaknesses for the target it breaks."""

from __future__ import annotations

import pytest

from messagelab.assignments import ex06

R = ex06.REGION_CODES
THREE = ("us-east-1", "eu-west-1", "ap-northeast-1")


def dataset(**changes):
    return {"topology": "active_active", "mode": "async", "replicas": R, "primary": "us-east-1", "quorum": 1,
            "copies": 2, "conflict": "lww", **changes}


DESIGN = {
    "posts": dataset(),
    "likes": dataset(replicas=THREE, conflict="crdt"),
    "messages": dataset(topology="geo_partitioned", mode="quorum", copies=3),
    "feeds": dataset(replicas=THREE),
}
HIDDEN_SEEDS, OTHER_DAY_SEEDS = (101, 102), (7,)


def failure(check, *args, **kwargs) -> str:
    with pytest.raises(AssertionError) as e:
        check(*args, **kwargs)
    return str(e.value)


def test_the_numeric_answers_follow_from_the_matrix_and_the_prices(capsys):
    # Frankfurt's two fastest acknowledgements: Ireland (19.55 ms), then Virginia (88.64 ms).
    assert ex06.quorum_latency_ms() == pytest.approx(1.0 + 88.64)
    ex06.check_quorum_latency(89.64)
    assert "k-th" in failure(ex06.check_quorum_latency, 20.55)          # the fastest, not the second
    ex06.check_transfer_cost(ex06.likes_bill_usd())
    assert "price the sending region charges" in failure(ex06.check_transfer_cost, ex06.likes_bill_usd() / 6.9)
    assert [line[0] for line in capsys.readouterr().out.splitlines()] == ["✓", "✓"]


def test_the_reference_design_meets_every_target_on_every_day(capsys):
    ex06.check_design(DESIGN)
    ex06.check_design(DESIGN, seeds=HIDDEN_SEEDS)
    ex06.check_other_failures(DESIGN)
    ex06.check_other_failures(DESIGN, seeds=OTHER_DAY_SEEDS)
    assert [line[0] for line in capsys.readouterr().out.splitlines()] == ["✓"] * 4


def test_todays_design_misses_latency_residency_and_messages_and_says_so():
    message = failure(ex06.check_design, ex06.todays_design())
    for words in ("every region's users", "GDPR Art. 44", "messages lost", "could not read back"):
        assert words in message, words
    assert "misses" in message


@pytest.mark.parametrize(("change", "expected"), [
    ({"likes": dataset(replicas=THREE)}, "likes lost to concurrent writes"),         # last-writer-wins on a counter
    ({"messages": dataset(topology="geo_partitioned", copies=3)}, "messages lost"),  # async: the tail dies
    ({"messages": dataset(topology="geo_partitioned", mode="quorum", copies=2)}, "messages refused"),
    ({"messages": dataset(replicas=THREE)}, "GDPR Art. 44"),                          # EU messages copied to the US
    ({"messages": dataset(topology="geo_partitioned", mode="sync", copies=3)}, "every region's users"),
    ({"likes": dataset(conflict="crdt"), "feeds": dataset()}, "inter-region transfer"),  # everything everywhere
])
def test_a_weakness_is_refused_for_the_target_it_breaks(change, expected):
    days = [ex06.evaluate_design({**DESIGN, **change})]
    days += [ex06.evaluate_design({**DESIGN, **change}, ex06.VISIBLE_DAY_SEEDS, v) for v in ex06.SCENARIO.variants]
    assert not all(d.passed for d in days)
    text = " ".join(d.explain() for d in days if not d.passed)
    assert expected in text, text


@pytest.mark.parametrize(("design", "expected"), [
    ({k: v for k, v in DESIGN.items() if k != "feeds"}, "leaves out feeds"),
    ({**DESIGN, "stories": dataset()}, "'stories' is not one of them"),
    ({**DESIGN, "likes": {**DESIGN["likes"], "size_kb": 1}}, "not a design setting"),
    ({**DESIGN, "likes": {k: v for k, v in DESIGN["likes"].items() if k != "conflict"}}, "leaves out conflict"),
    ({**DESIGN, "posts": dataset(conflict="crdt")}, "not a valid configuration"),     # a register has no merge
    ({**DESIGN, "posts": dataset(replicas=("us-east-1", "mars-1"))}, "not a valid configuration"),
    ([("posts", DESIGN["posts"])], "must be a dict"),
])
def test_the_design_is_plain_data_and_checked_before_it_runs(design, expected):
    assert expected in failure(ex06.check_design, design)


def test_a_list_of_regions_is_taken_as_a_tuple():
    listed = {**DESIGN, "feeds": dataset(replicas=list(THREE))}
    assert ex06.design_config(listed) == ex06.design_config(DESIGN)
