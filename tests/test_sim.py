"""The shared simulation helpers (messagelab.sim): validation, streams, budgets, statistics, theory."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import simpy
from scipy import stats as st
from scipy.signal import lfilter

from messagelab.sim import (
    ConfigError,
    Estimate,
    RunBudget,
    batch_means_ci,
    check_choice,
    check_number,
    mean_ci,
    percentiles,
    replicate,
    run,
    stream,
    streams,
    theory,
)

THEORY_PY = Path(theory.__file__)


# --- validation -------------------------------------------------------------------------


def test_config_error_names_field_value_and_allowed_range():
    err = ConfigError("visibility_timeout_s", -1, "0 to 43200 (12 h)", "SQS limit")
    assert isinstance(err, ValueError)
    assert (err.field, err.value, err.allowed, err.why) == (
        "visibility_timeout_s", -1, "0 to 43200 (12 h)", "SQS limit"
    )
    assert str(err) == (
        "visibility_timeout_s = -1 is not allowed: expected 0 to 43200 (12 h) (SQS limit)"
    )


def test_check_number_message_states_field_value_bounds_and_unit():
    with pytest.raises(ConfigError) as info:
        check_number("wait_time_s", 21, 0, 20, unit="s")
    message = str(info.value)
    assert info.value.field == "wait_time_s" and info.value.value == 21
    assert message.startswith("wait_time_s = 21 is not allowed")
    assert "≥ 0" in message and "≤ 20 s" in message


@pytest.mark.parametrize("value", [0, 0.0, 5, 10, 10.0, 3.5, np.float64(2.5)])
def test_check_number_accepts_values_inside_closed_range(value):
    check_number("x", value, 0, 10)


@pytest.mark.parametrize("value", [-1e-9, 10.000001, -5, 11])
def test_check_number_rejects_values_outside_range(value):
    with pytest.raises(ConfigError):
        check_number("x", value, 0, 10)


@pytest.mark.parametrize("value", [True, False])
def test_check_number_rejects_bool_even_though_bool_is_an_int(value):
    with pytest.raises(ConfigError) as info:
        check_number("consumers", value, 0, 10, integer=True)
    assert info.value.value is value


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_check_number_rejects_nan_and_infinities(value):
    with pytest.raises(ConfigError):
        check_number("x", value, -math.inf, math.inf)
    with pytest.raises(ConfigError):
        check_number("x", value, 0, 10, integer=True)


@pytest.mark.parametrize("value", ["3", None, [3], 3 + 0j])
def test_check_number_rejects_non_numbers(value):
    with pytest.raises(ConfigError, match="expected a number"):
        check_number("x", value, 0, 10)


def test_check_number_integer_check():
    check_number("n", 3, 1, 10, integer=True)
    check_number("n", 3.0, 1, 10, integer=True)  # a whole float is a whole number
    with pytest.raises(ConfigError, match="a whole number"):
        check_number("n", 2.5, 1, 10, integer=True)


def test_check_number_low_open_excludes_only_the_bound():
    with pytest.raises(ConfigError, match="> 0"):
        check_number("rate", 0, 0, 5, low_open=True)
    with pytest.raises(ConfigError):
        check_number("rate", 0.0, 0, 5, low_open=True)
    check_number("rate", 1e-12, 0, 5, low_open=True)
    check_number("rate", 5, 0, 5, low_open=True)  # the high bound stays closed


def test_check_choice():
    check_choice("queue_type", "fifo", ("standard", "fifo"))
    check_choice("queue_type", "fifo", iter(["standard", "fifo"]))  # any iterable
    with pytest.raises(ConfigError) as info:
        check_choice("queue_type", "FIFO", ("standard", "fifo"), "names are lower case")
    assert info.value.field == "queue_type"
    assert "one of 'standard', 'fifo'" in str(info.value)
    assert "names are lower case" in str(info.value)


# --- streams ----------------------------------------------------------------------------


def test_same_seed_and_name_give_identical_draws():
    a = stream(42, "arrivals").random(1000)
    b = stream(42, "arrivals").random(1000)
    np.testing.assert_array_equal(a, b)
    c = streams(42, "arrivals", "service")["arrivals"].random(1000)
    np.testing.assert_array_equal(a, c)


def test_numpy_integer_seed_equals_python_int_seed():
    np.testing.assert_array_equal(
        stream(np.int64(9), "x").random(10), stream(9, "x").random(10)
    )


def test_different_names_or_seeds_give_different_draws():
    base = stream(42, "arrivals").random(100)
    assert not np.array_equal(base, stream(42, "service").random(100))
    assert not np.array_equal(base, stream(43, "arrivals").random(100))
    # Nearly uncorrelated, not merely shifted copies.
    assert abs(np.corrcoef(base, stream(42, "service").random(100))[0, 1]) < 0.35


def test_adding_a_stream_does_not_change_existing_draws():
    before = streams(7, "arrivals", "service")
    after = streams(7, "arrivals", "faults", "service", "a_new_source")
    for name in ("arrivals", "service"):
        np.testing.assert_array_equal(before[name].random(500), after[name].random(500))


def test_the_queue_models_stream_names_have_distinct_keys():
    # Streams are keyed by a 32-bit hash of the name: two names with one hash would draw
    # the same numbers. The names the queue model uses must not collide.
    names = ("arrivals", "groups", "poison", "service", "faults", "crashes",
             "producer_retries", "duplicate_delivery")
    draws = {tuple(stream(0, n).random(4)) for n in names}
    assert len(draws) == len(names)


@pytest.mark.parametrize("seed", [-1, 1.5, 2.0, "3", None, True])
def test_bad_seeds_raise(seed):
    with pytest.raises(ValueError, match="seed"):
        stream(seed, "arrivals")


def test_duplicate_stream_names_raise():
    with pytest.raises(ValueError, match="distinct"):
        streams(0, "arrivals", "arrivals")


# --- run budget -------------------------------------------------------------------------


def _ticker(env: simpy.Environment, log: list[float], rng: np.random.Generator):
    while True:
        log.append(env.now)
        yield env.timeout(float(rng.exponential(1.0)))


def _ticking_env(seed: int = 3) -> tuple[simpy.Environment, list[float]]:
    env, log = simpy.Environment(), []
    env.process(_ticker(env, log, np.random.default_rng(seed)))
    return env, log


def test_run_reaches_the_horizon_like_env_run():
    plain, plain_log = _ticking_env()
    plain.run(until=500.0)
    env, log = _ticking_env()
    outcome = run(env, 500.0)
    assert log == plain_log and len(log) > 400
    assert env.now == plain.now == 500.0
    assert not outcome.truncated and outcome.reason == ""
    assert outcome.sim_time_s == 500.0
    assert outcome.events > 400


def test_run_advances_an_idle_clock_to_the_horizon():
    env = simpy.Environment()

    def short():
        yield env.timeout(2)

    env.process(short())
    outcome = run(env, 10)
    assert env.now == 10 and outcome.sim_time_s == 10 and not outcome.truncated


def test_run_matches_env_run_for_events_exactly_at_the_horizon():
    def tick(env, log):
        while True:
            log.append(env.now)
            yield env.timeout(1)

    plain, plain_log = simpy.Environment(), []
    plain.process(tick(plain, plain_log))
    plain.run(until=5)
    env, log = simpy.Environment(), []
    env.process(tick(env, log))
    run(env, 5)
    assert log == plain_log  # env.run: [0, 1, 2, 3, 4]


def test_run_stops_an_endless_process_by_the_event_budget():
    env, _ = _ticking_env()
    start = time.perf_counter()
    outcome = run(env, math.inf, RunBudget(max_events=20_000, max_wall_s=30))
    assert time.perf_counter() - start < 2
    assert outcome.truncated
    assert "event budget" in outcome.reason and "20,000" in outcome.reason
    # The budget is checked every 1,024 events, so it may overshoot by less than that.
    assert 20_000 <= outcome.events < 20_000 + 1024
    assert outcome.sim_time_s == env.now > 0


def test_run_stops_an_endless_process_by_the_wall_clock_budget():
    env = simpy.Environment()

    def busy():
        while True:
            sum(range(200))  # real work per event, so wall time passes
            yield env.timeout(1)

    env.process(busy())
    start = time.perf_counter()
    outcome = run(env, math.inf, RunBudget(max_events=10**12, max_wall_s=0.2))
    elapsed = time.perf_counter() - start
    assert outcome.truncated and "wall-clock budget" in outcome.reason
    assert 0.2 <= outcome.wall_s < 1.5 and elapsed < 1.5


@pytest.mark.parametrize("kwargs", [{"max_events": 0}, {"max_wall_s": 0}, {"max_wall_s": -1}])
def test_run_budget_must_be_positive(kwargs):
    with pytest.raises(ValueError):
        RunBudget(**kwargs)


# --- statistics -------------------------------------------------------------------------


def test_mean_ci_matches_a_hand_computation_with_student_t():
    x = [2.0, 4.0, 4.0, 5.0, 7.0, 9.0]
    n = len(x)
    mean = sum(x) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in x) / (n - 1))
    half = st.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    est = mean_ci(x)
    assert est.n == 6 and est.confidence == 0.95
    assert est.mean == pytest.approx(mean)
    assert est.half_width == pytest.approx(half)
    assert (est.low, est.high) == pytest.approx((mean - half, mean + half))
    assert est.contains(mean + half * 0.999) and not est.contains(mean + half * 1.001)
    assert mean_ci(x, 0.99).half_width == pytest.approx(st.t.ppf(0.995, n - 1) * sd / math.sqrt(n))


def test_estimate_relative_half_width_and_text():
    est = Estimate(mean=4.0, half_width=0.2, n=8)
    assert est.relative_half_width == pytest.approx(0.05)
    assert Estimate(0.0, 0.1, 3).relative_half_width == math.inf
    assert str(est) == "4 ± 0.2 (95% CI, n=8)"


def test_mean_ci_needs_two_samples():
    with pytest.raises(ValueError, match="at least 2"):
        mean_ci([1.0])
    with pytest.raises(ValueError):
        mean_ci([])


def test_mean_ci_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(2024)
    hits = sum(mean_ci(rng.normal(10.0, 3.0, 10)).contains(10.0) for _ in range(400))
    assert 0.90 <= hits / 400 <= 0.99


def test_replicate_runs_once_per_seed():
    seen = []

    def one_run(seed: int) -> float:
        seen.append(seed)
        return float(seed)

    est = replicate(one_run, range(5))
    assert seen == [0, 1, 2, 3, 4] and est.mean == 2.0 and est.n == 5


def test_batch_means_ci_averages_consecutive_batches():
    x = np.arange(103, dtype=float)  # 3 observations beyond 20 batches of 5 are dropped
    est = batch_means_ci(x, batches=20)
    batch_means = x[:100].reshape(20, 5).mean(axis=1)
    assert est.n == 20
    assert est.mean == pytest.approx(batch_means.mean())
    assert est.half_width == pytest.approx(mean_ci(batch_means).half_width)


def test_batch_means_ci_covers_the_mean_of_an_autocorrelated_series():
    # AR(1) with φ = 0.9: naive i.i.d. intervals are far too narrow, batch means are not.
    hits = 0
    rng = np.random.default_rng(11)
    for _ in range(100):
        x = lfilter([1.0], [1.0, -0.9], rng.normal(size=20_000))
        hits += batch_means_ci(x, batches=20).contains(0.0)
    assert hits >= 85


def test_batch_means_ci_needs_two_observations_per_batch():
    with pytest.raises(ValueError, match="at least 40"):
        batch_means_ci(np.ones(39), batches=20)


def test_percentiles():
    assert percentiles(range(1, 101), (50, 99)) == pytest.approx({"p50": 50.5, "p99": 99.01})
    assert list(percentiles(np.arange(10.0))) == ["p50", "p95", "p99"]
    assert list(percentiles([1.0], (99.9,))) == ["p99.9"]


@pytest.mark.parametrize("empty", [[], (), np.array([]), iter([])])
def test_percentiles_of_nothing_are_nan(empty):
    out = percentiles(empty)
    assert list(out) == ["p50", "p95", "p99"]
    assert all(math.isnan(v) for v in out.values())


# --- queueing theory --------------------------------------------------------------------


def test_reference_values_at_rho_08_with_mean_service_1():
    assert theory.mm1_wq(0.8, 1.0) == pytest.approx(4.0)
    assert theory.mm1_w(0.8, 1.0) == pytest.approx(5.0)
    assert theory.mg1_wq(0.8, 1.0, 0.0) == pytest.approx(2.0)  # M/D/1
    assert theory.mg1_wq(0.8, 1.0, 1.0) == pytest.approx(4.0)  # P-K with scv 1 is M/M/1


@pytest.mark.parametrize("rho", [0.1, 0.5, 0.8, 0.99])
def test_erlang_c_with_one_server_is_the_utilisation(rho):
    assert theory.erlang_c(1, rho) == pytest.approx(rho)


def test_erlang_c_two_servers_offered_load_one():
    assert theory.erlang_c(2, 1.0) == pytest.approx(1 / 3)


def test_erlang_c_against_the_textbook_formula():
    # C(c, a) = (a^c / c!) · c/(c − a) / (Σ_{k<c} a^k/k! + (a^c / c!) · c/(c − a))
    for c, a in [(3, 2.5), (10, 8.0), (50, 45.0)]:
        top = a**c / math.factorial(c) * c / (c - a)
        expected = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
        assert theory.erlang_c(c, a) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("lam,mu", [(0.5, 1.0), (0.8, 1.0), (3.0, 4.0), (0.95, 1.0)])
def test_mmc_with_one_server_is_mm1(lam, mu):
    assert theory.mmc_wq(lam, mu, 1) == pytest.approx(theory.mm1_wq(lam, mu))
    assert theory.mmc_w(lam, mu, 1) == pytest.approx(theory.mm1_w(lam, mu))


def test_more_servers_wait_less_and_littles_law():
    waits = [theory.mmc_wq(2.5, 1.0, c) for c in (3, 4, 5, 8)]
    assert waits == sorted(waits, reverse=True) and waits[-1] > 0
    assert theory.littles_law_l(2.0, 3.5) == 7.0


@pytest.mark.parametrize(
    "call",
    [
        lambda: theory.mm1_wq(1.0, 1.0),
        lambda: theory.mm1_w(2.0, 1.0),
        lambda: theory.mmc_wq(3.0, 1.0, 3),
        lambda: theory.mmc_w(5.0, 1.0, 2),
        lambda: theory.mg1_wq(1.0, 1.0, 0.5),
        lambda: theory.erlang_c(2, 2.0),
        lambda: theory.mm1_wq(0.0, 1.0),
        lambda: theory.mm1_wq(0.5, -1.0),
        lambda: theory.mmc_wq(0.5, 1.0, 0),
        lambda: theory.erlang_c(0, 0.5),
    ],
)
def test_unstable_or_meaningless_inputs_raise(call):
    with pytest.raises(ValueError):
        call()


def test_unstable_message_names_the_utilisation():
    with pytest.raises(ValueError, match="ρ = 1.2"):
        theory.mm1_wq(1.2, 1.0)


def test_servers_for_wait_is_the_fewest_servers_meeting_the_target():
    lam, mu, target = 9.0, 1.0, 0.1
    c = theory.servers_for_wait(lam, mu, target)
    assert theory.mmc_wq(lam, mu, c) <= target < theory.mmc_wq(lam, mu, c - 1)
    assert theory.servers_for_wait(0.5, 1.0, 10.0) == 1  # one server already waits 1 s
    assert theory.servers_for_wait(2.0, 1.0, 1e9) == 3  # the fewest stable count


def test_servers_for_wait_rejects_a_target_no_server_count_meets():
    # Run in a child process so that the endless loop costs a timeout, not a hang.
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('theory', {str(THEORY_PY)!r})\n"
        "t = importlib.util.module_from_spec(spec); spec.loader.exec_module(t)\n"
        "try:\n"
        "    t.servers_for_wait(1.0, 1.0, -1.0)\n"
        "except ValueError:\n"
        "    sys.exit(0)\n"
        "sys.exit(3)\n"
    )
    try:
        done = subprocess.run([sys.executable, "-c", code], timeout=1.5, capture_output=True)
    except subprocess.TimeoutExpired:
        pytest.fail("servers_for_wait(1, 1, -1) did not return within 1.5 s")
    assert done.returncode == 0, done.stderr.decode()


def test_a_text_table_shows_every_sentence_in_full() -> None:
    import pandas as pd

    from messagelab.sim.display import text_table

    long = "a sentence much longer than the fifty characters a DataFrame shows of it"
    html = text_table(pd.DataFrame({"target": [long], "limit": [1.0]})).to_html()
    assert long in html and "text-align: left" in html
    assert long not in pd.DataFrame({"target": [long]})._repr_html_()  # what it replaces
