"""The explorer benchmark runs end to end and its simpy baseline is a correct M/M/c queue.

These are smoke tests: they run the benchmark with tiny counts and check the shape and
sanity of what it reports, never the times themselves (those belong to the benchmark).
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys

import pytest
from nbchecks import ROOT

from messagelab.sim import theory

BENCH_PY = ROOT / "benchmarks" / "bench_explorers.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_explorers", BENCH_PY)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


@pytest.fixture(scope="module")
def tiny(bench, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "nested" / "explorers.json"
    return out, bench.main(updates=4, warmup=1, seeds=3, repeats=2, out=out, quiet=True)


def test_every_explorer_is_timed_with_ordered_percentiles(bench, tiny):
    _, result = tiny
    rows = result["explorers"]
    assert [r["name"] for r in rows] == [case.name for case in bench.EXPLORERS]
    for r in rows:
        assert r["updates"] == 4
        assert 0 < r["p50_ms"] <= r["p95_ms"] <= r["max_ms"]
        assert 0 < r["explorer_p50_ms"] <= r["explorer_p95_ms"]
        assert isinstance(r["passed"], bool)
        assert math.isfinite(r["p50_over_baseline_run"]) and r["p50_over_baseline_run"] > 0


def test_model_and_baseline_speeds_and_ratios_are_positive_and_finite(tiny):
    _, result = tiny
    model, baseline, ratios = result["model"], result["baseline"], result["ratios"]
    assert model["messages_per_s"] > 0 and baseline["messages_per_s"] > 0
    assert baseline["messages"] == model["messages"] > 0
    for ratio in ratios.values():
        assert math.isfinite(ratio) and ratio > 0


def test_headline_confidence_is_reported_with_its_verdict(bench, tiny):
    _, result = tiny
    h = result["headline"]
    assert h["headline"] == bench.HEADLINE == "latency_p99_s"
    assert h["seeds"] == 3
    for m in h["metrics"].values():
        assert m["mean"] > 0 and m["half_width"] >= 0
        assert m["passed"] == (m["relative_half_width"] <= bench.RELATIVE_HALF_WIDTH_BUDGET)
    missed = [line for line in result["over_budget"] if "95% CI" in line]
    assert len(missed) == sum(not m["passed"] for m in h["metrics"].values())


def test_json_is_written_where_asked_and_matches_the_result(tiny):
    out, result = tiny
    assert out.is_file()
    written = json.loads(out.read_text())
    assert written["explorers"][0]["p50_ms"] == result["explorers"][0]["p50_ms"]
    assert written["json_path"] == str(out)


def test_report_prints_verdicts_and_environment(bench, tiny):
    _, result = tiny
    text = bench.report(result)
    assert f"{result['environment']['cpu_count']} CPUs" in text
    assert "PASS" in text or "FAIL" in text
    for line in result["over_budget"]:
        assert line.startswith("OVER BUDGET") and line in text


@pytest.mark.parametrize(
    "arrival_rate, service_rate, servers",
    [(8.0, 2.5, 4), (0.7, 1.0, 1)],
    ids=["M/M/4 rho=0.8", "M/M/1 rho=0.7"],
)
def test_simpy_baseline_matches_mmc_theory(bench, arrival_rate, service_rate, servers):
    run = bench.mmc_baseline(100_000, arrival_rate, service_rate, servers, seed=0)
    assert run.messages == 100_000
    expected = theory.mmc_w(arrival_rate, service_rate, servers)
    assert run.mean_time_in_system_s == pytest.approx(expected, rel=0.15)


def test_runs_as_a_module_from_the_repository_root(tmp_path):
    out = tmp_path / "explorers.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_explorers", "--updates", "2", "--warmup", "0",
         "--seeds", "2", "--repeats", "1", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Slider response" in proc.stdout and out.is_file()
