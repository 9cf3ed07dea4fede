"""The grading layer: plain answers, design validation, targets and the Exercise 01 checks."""

import math
import traceback

import numpy as np
import pytest

from messagelab.assignments import ex01
from messagelab.grading import (
    Target,
    check_between,
    check_close,
    check_count,
    design_changes,
    plain,
    plain_number,
)
from messagelab.queues.monitoring import QueueAlarm as Alarm
from messagelab.queues.monitoring import breach_time_s
from messagelab.sim.validation import ConfigError

GOOD = {
    "queue_type": "standard",
    "consumers": 30,
    "visibility_timeout_s": 8.0,
    "max_receive_count": 5,
    "receive_batch_size": 1,
    "wait_time_s": 20.0,
    "idempotent_consumer": True,
}
ALARMS = [
    {"metric": "ApproximateNumberOfMessagesVisible", "threshold": 50, "periods": 2},
    {"metric": "DLQ.ApproximateNumberOfMessagesVisible", "threshold": 0},
]


class AlwaysEqual(float):
    def __eq__(self, other):
        return True

    def __float__(self):
        return 16.8

    __hash__ = float.__hash__


class Sneaky:
    def __eq__(self, other):
        return True


def test_plain_accepts_builtin_and_numpy_values():
    assert plain("x", 3) == 3 and type(plain("x", np.int64(3))) is int
    assert type(plain("x", np.float64(2.5))) is float
    assert plain("x", None) is None and plain("x", "fifo") == "fifo" and plain("x", True) is True


def test_plain_sees_through_doctored_numbers():
    assert plain("x", AlwaysEqual(3.0)) == 3.0
    with pytest.raises(AssertionError, match="busy = 3 is too low"):
        check_close("busy", AlwaysEqual(3.0), 16.8)
    with pytest.raises(AssertionError, match="plain number"):
        plain("x", Sneaky())
    with pytest.raises(AssertionError, match="finite"):
        plain_number("x", float("nan"))


def test_check_close_and_between_give_the_direction_never_the_bound():
    check_close("a", 16.9, 16.8, 0.02)
    with pytest.raises(AssertionError, match="too high") as high:
        check_close("a", 20, 16.8, 0.02)
    with pytest.raises(AssertionError, match="too low"):
        check_close("a", 10, 16.8, 0.02)
    with pytest.raises(AssertionError, match="too small") as small:
        check_between("vt", 1, 3.64, 8.7, too_small="Slow orders come back.")
    with pytest.raises(AssertionError, match="too large") as large:
        check_between("vt", 11, 3.64, 8.7)
    for failure, secrets in ((high, ("16.8", "19%", "16%")), (small, ("3.64", "3.6")), (large, ("8.7",))):
        for secret in secrets:
            assert secret not in str(failure.value), (secret, str(failure.value))
    assert "Slow orders come back." in str(small.value)


def test_check_count_says_which_way_and_why_never_the_count():
    check_count("n", 12, 12, "multiply the layers.")
    with pytest.raises(AssertionError) as many:
        check_count("n", 13, 12, "multiply the layers.")
    assert str(many.value) == "n = 13 is too many: multiply the layers."
    with pytest.raises(AssertionError) as few:
        check_count("n", 3, 12, "round up.", too_few="too few: a limit is not met")
    assert str(few.value) == "n = 3 is too few: a limit is not met; round up."
    assert "12" not in str(many.value) + str(few.value)
    with pytest.raises(AssertionError, match="must be a number"):
        check_count("n", "12", 12, "")


def test_a_student_check_prints_a_tick_and_hides_its_own_frames(capsys):
    from messagelab.grading import student_check

    @student_check("the answer is right")
    def check(value):
        expected_secret = 42
        if value != expected_secret:
            raise AssertionError("not the answer")

    check(42)
    assert capsys.readouterr().out == "✓ the answer is right\n"
    with pytest.raises(AssertionError) as failure:
        check(41)
    assert str(failure.value) == "not the answer"
    assert failure.value.__cause__ is None and failure.value.__suppress_context__
    frames = [frame.name for frame in traceback.extract_tb(failure.value.__traceback__)]
    assert "check" not in frames  # the check's own frame (and its source) is not in the traceback
    assert failure.value._render_traceback_() == ["AssertionError: not the answer"]  # all IPython shows
    with pytest.raises(AssertionError, match="could not be checked"):
        check(object.__new__(type("Odd", (), {"__eq__": lambda self, other: 1 / 0})))


def test_design_changes_rejects_scenario_fields_and_non_dicts():
    assert design_changes({"consumers": 3}, ("consumers",)) == {"consumers": 3}
    with pytest.raises(AssertionError, match="belong to the scenario"):
        design_changes({"arrival_rate_per_s": 1.0}, ("consumers",))
    with pytest.raises(AssertionError, match="must be a dict"):
        design_changes([("consumers", 3)], ("consumers",))


def test_target_treats_nan_as_missed():
    t = Target("latency_p99_s", 10, "p99", "s")
    assert t.met(9.9) and not t.met(10.1) and not t.met(math.nan)
    assert Target("throughput", 5, "t", at_most=False).met(6)


def test_little_law_answer_checked_against_the_scenario():
    busy = ex01.peak_rate_per_s() * ex01.consumer_time_per_order_s()
    assert busy == pytest.approx(16.8)
    ex01.check_busy_consumers(busy)
    with pytest.raises(AssertionError, match="Little's law"):
        ex01.check_busy_consumers(ex01.peak_rate_per_s() * 0.4 / 2)
    ex01.check_consumers_needed(23)
    with pytest.raises(AssertionError, match="too few"):
        ex01.check_consumers_needed(22)
    with pytest.raises(AssertionError, match="find the fewest"):
        ex01.check_consumers_needed(24)


def test_visibility_timeout_range_follows_the_trace():
    low, high = ex01.visibility_timeout_range_s()
    # The upper bound leaves the retry its own time: the trace's p99 and a round trip.
    retry = ex01.processing_trace().quantile(0.99) + ex01.SCENARIO.config.request_latency_s
    assert 3.0 < low < 5.0 and high == pytest.approx(ex01.LATENCY_TARGET_S - retry)
    ex01.check_visibility_timeout(8.0)
    with pytest.raises(AssertionError, match="too small"):
        ex01.check_visibility_timeout(2.0)
    with pytest.raises(AssertionError, match="too large"):
        ex01.check_visibility_timeout(30)


def test_the_reference_design_passes_visible_and_hidden_checks():
    ex01.check_design(GOOD)
    ex01.check_design(GOOD, seeds=(101, 102, 103))
    ex01.check_design(GOOD, seeds=(5, 6), variant="poison_burst")


def test_the_visibility_timeout_check_and_the_design_check_agree():
    # At both ends of the range the visibility-timeout check accepts, the design meets the
    # latency target; just above it, the timeout check refuses what the design check would.
    low, high = ex01.visibility_timeout_range_s()
    for timeout in (round(low + 0.05, 1), round(high - 0.05, 1)):
        ex01.check_visibility_timeout(timeout)
        ex01.check_design({**GOOD, "visibility_timeout_s": timeout})
    with pytest.raises(AssertionError, match="too large"):
        ex01.check_visibility_timeout(10.0)
    with pytest.raises(AssertionError, match="p99 order confirmation time"):
        ex01.check_design({**GOOD, "visibility_timeout_s": 10.0})


def test_what_a_student_imports_names_no_hidden_check():
    public = [name for name in dir(ex01) if not name.startswith("_")]
    assert not [name for name in public if "poison_burst" in name or "hidden" in name]


@pytest.mark.parametrize(
    ("change", "missed"),
    [
        ({"consumers": 8}, "p99 order confirmation time"),
        ({"idempotent_consumer": False}, "charged twice"),
        ({"max_receive_count": None}, "reach the DLQ"),
        ({"wait_time_s": 0.0}, "daily cost"),
        ({"visibility_timeout_s": 30.0}, "p99 order confirmation time"),
        ({"max_receive_count": 1}, "valid orders dead-lettered or never confirmed"),
    ],
)
def test_each_design_lever_guards_a_target(change, missed):
    with pytest.raises(AssertionError, match=missed):
        ex01.check_design({**GOOD, **change})


def test_a_design_states_every_setting_but_the_fifo_only_ones():
    short = {k: v for k, v in GOOD.items() if k != "wait_time_s"}
    with pytest.raises(AssertionError, match="leaves out wait_time_s"):
        ex01.check_design(short)
    with pytest.raises(AssertionError, match="message_groups"):  # the error lists what the table lists
        ex01.check_design({**GOOD, "spike_multiplier": 2})


def test_invalid_design_value_is_a_readable_failure():
    with pytest.raises(AssertionError, match="receive_batch_size = 11"):
        ex01.check_design({**GOOD, "receive_batch_size": 11})


def test_monitoring_reference_alarms_pass_and_weak_ones_fail():
    ex01.check_monitoring(ALARMS, GOOD)
    with pytest.raises(AssertionError, match="page on a normal Black Friday"):
        ex01.check_monitoring(
            [{"metric": "ApproximateAgeOfOldestMessage", "threshold": 5}, ALARMS[1]], GOOD
        )
    with pytest.raises(AssertionError, match="dead-letter queue"):
        ex01.check_monitoring(ALARMS[:1], GOOD)
    with pytest.raises(AssertionError, match="customers notice before you do"):
        ex01.check_monitoring([{"metric": "ApproximateAgeOfOldestMessage", "threshold": 60}, ALARMS[1]], GOOD)
    with pytest.raises(AssertionError, match="not valid"):
        ex01.check_monitoring([{"metric": "CPUUtilization", "threshold": 80}], GOOD)


def test_alarm_needs_consecutive_periods():
    import pandas as pd

    ts = pd.DataFrame({"time_s": [0, 2, 4, 6, 8], "visible": [0, 60, 0, 60, 60]})
    assert Alarm("ApproximateNumberOfMessagesVisible", 50, 1).first_alarm_s(ts) == 2
    assert Alarm("ApproximateNumberOfMessagesVisible", 50, 2).first_alarm_s(ts) == 8
    assert math.isnan(Alarm("ApproximateNumberOfMessagesVisible", 100).first_alarm_s(ts))
    with pytest.raises(ConfigError, match="periods"):
        Alarm("ApproximateNumberOfMessagesVisible", 1, 0)


def test_breach_time_allows_one_percent_late():
    import pandas as pd

    sent = np.arange(200) * 0.1  # all in one 60 s slice
    done = sent + 1.0
    done[:2] = sent[:2] + 20  # 1% late: tolerated
    frame = pd.DataFrame({"sent_s": sent, "first_done_s": done})
    assert math.isnan(breach_time_s(frame, 10, 100))
    done[2] = np.nan  # a third late order breaks p99; known late 10 s after its send
    frame = pd.DataFrame({"sent_s": sent, "first_done_s": done})
    assert breach_time_s(frame, 10, 100) == pytest.approx(sent[2] + 10)
