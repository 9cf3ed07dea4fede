"""Test-suite benchmark: what the per-assignment suites cost with fifteen notebooks.

Only Exercise 01 exists today, so the benchmark builds a copy of the course in which
Exercise 01's notebook stands in for all fifteen assignments of the catalogue (each under
its own id, its release generated), and runs the per-assignment suites that cost seconds
per notebook on it, as ``make test`` runs them (``pytest -n auto --dist loadfile``):

    tests/test_class_batch.py   generate, grade key, blank, cheat and crash per assignment, feedback
    tests/test_learner_runs.py  each source top to bottom, explorers drawn
    tests/test_browser.py       each release in JupyterLab, timed slider moves

It runs the same files on the course itself (one assignment) and reports both times and
the cost of one more assignment. The suites' checks that need an assignment's own module
or catalogue entry (anatomy, graded-cell tables) take well under a second per notebook and
are left out; the browser and notebook runs assert as usual. From the repository root::

    python benchmarks/bench_suite.py                 # 15 copies (several minutes)
    python benchmarks/bench_suite.py --copies 3      # a quicker look

Results are also written as JSON to ``build/benchmarks/suite.json``. The projection of
``make test`` with fifteen notebooks is a full ``make test`` time plus the difference.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from messagelab import course  # noqa: E402
from messagelab.instructor import nbgrader as admin  # noqa: E402

SUITES = ["tests/test_class_batch.py", "tests/test_learner_runs.py", "tests/test_browser.py"]
TEMPLATE = "ex01-message-queues"
DEFAULT_OUT = ROOT / "build" / "benchmarks" / "suite.json"


def clone_course(dest: Path, copies: int) -> list[str]:
    """A course at ``dest`` whose first ``copies`` catalogue assignments are Exercise 01's notebook."""
    ids = [a.id for a in course.ASSIGNMENTS][:copies]
    dest.mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", dest / "nbgrader_config.py")
    (dest / "pyproject.toml").write_text("")  # marks the course root
    for assignment in ids:
        folder = dest / "source" / assignment
        folder.mkdir(parents=True)
        shutil.copy2(ROOT / "source" / TEMPLATE / f"{TEMPLATE}.ipynb", folder / f"{assignment}.ipynb")
    admin.generate_every(ids, dest, timeout=900)
    (dest / "gradebook.db").unlink(missing_ok=True)  # as in a fresh clone: no gradebook
    return ids


def run_suites(course_root: Path) -> tuple[float, int, str, list[str]]:
    """Seconds, pytest's exit status, its last line and the tests that failed, on ``course_root``."""
    env = dict(os.environ, MESSAGELAB_TEST_COURSE=str(course_root), CI="true")
    command = [sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider", "-n", "auto", "--dist",
               "loadfile", *SUITES]
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    lines = proc.stdout.strip().splitlines()
    failed = [line.split(" ", 1)[1] for line in lines if line.startswith("FAILED ")]
    return seconds, proc.returncode, (lines or [""])[-1], failed


def main(copies: int = 15, out: Path | str = DEFAULT_OUT) -> dict[str, Any]:
    if not 1 <= copies <= len(course.ASSIGNMENTS):
        raise SystemExit(f"--copies must be 1 to {len(course.ASSIGNMENTS)}")
    print(f"Per-assignment suites on this course ({', '.join(SUITES)}) …", flush=True)
    one_s, one_code, one_last, one_failed = run_suites(ROOT)
    print(f"  {one_s:.0f} s: {one_last}", *one_failed, sep="\n  ", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as tmp:
        clone = Path(tmp) / "course"
        print(f"Building a course of {copies} copies of {TEMPLATE} in {clone} …", flush=True)
        started = time.perf_counter()
        ids = clone_course(clone, copies)
        build_s = time.perf_counter() - started
        print(f"Same suites on {copies} assignments …", flush=True)
        many_s, many_code, many_last, many_failed = run_suites(clone)
        print(f"  {many_s:.0f} s: {many_last}", *many_failed, sep="\n  ", flush=True)
    available_here = sum(course.status(a, ROOT) == "available" for a in course.ASSIGNMENTS)
    per_assignment = (many_s - one_s) / (copies - available_here) if copies > available_here else float("nan")
    result = {
        "cpu_count": os.cpu_count(),
        "load_before": os.getloadavg()[0],
        "suites": SUITES,
        "this_course": {"assignments": available_here, "seconds": one_s, "exit": one_code, "summary": one_last,
                        "failed": one_failed},
        "copies": {"assignments": len(ids), "seconds": many_s, "exit": many_code, "summary": many_last,
                   "failed": many_failed, "build_seconds": build_s},
        "seconds_per_added_assignment": per_assignment,
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nPer-assignment suites, pytest -n auto on {os.cpu_count()} CPUs: {available_here} assignment(s) "
          f"{one_s:.0f} s, {len(ids)} assignments {many_s:.0f} s; one more assignment adds {per_assignment:.0f} s.")
    print(f"make test with {len(ids)} notebooks ≈ a full make test now + {many_s - one_s:.0f} s. JSON: {out}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=15, help="assignments in the copied course (default: 15)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the JSON")
    main(**vars(parser.parse_args()))
