"""Autograding benchmark: a class graded by plain nbgrader, then on every core.

In a temporary course built from this repository's config, the assignment is generated
and a class of ``--n`` submissions is placed in ``submitted/``: three in four are the
instructor's source notebook (every answer given), one in four the student release (no
answer). The class is then graded twice, each time from a clean gradebook and an empty
``autograded/``:

1. serially, by ``nbgrader autograde <id> --force``: one command, every student;
2. by ``make autograde``'s own command, ``python -m messagelab.instructor autograde <id>``, with
   ``--workers`` processes (default: one per core), re-verification on, exactly as an
   instructor runs it.

Reported: submissions per minute for each, the ratio, each student's grading time in the
parallel run against DESIGN.md's budget (one student's module in ≤ 2 minutes on 2 cores),
and whether both runs gave every grade cell the same auto score. The exit status stays 0
unless a run fails outright: this is a measurement, not a test. From the repository root::

    python benchmarks/bench_autograde.py                     # 40 submissions of ex01
    python benchmarks/bench_autograde.py --assignment demo --n 6   # the tiny fixture, seconds

Results are also written as JSON to ``build/benchmarks/autograde.json``.

Where the time goes. 16 submissions of Exercise 01 with every kernel started cold (before
warm kernels), CPU seconds per kind of process (each process's utime + stime read from
``/proc`` every 50 ms while the run ran; one run of each on an idle 2-core machine)::

    plain nbgrader autograde   kernels 31.9   nbgrader 7.3                        = 39.2, wall 42.6 s
    make autograde             kernels 24.8   clean checks 10.1   workers and
                               (no test cell  (every test cell)   main process 20.6  = 55.5, wall 35.4 s
                               runs there)

In those runs every student's kernel paid its own start: importing ipykernel, numpy,
pandas, simpy and the course's modules. ``make autograde`` now forks each student's kernel from
one process per worker that has imported them already (:mod:`messagelab.instructor.kernels`),
so that cost is paid once per worker; with it, 40 submissions took 82.4 s against plain
nbgrader's 168.9 s (2.05×, this script's default run on an idle 2-core machine). What it
still spends on top of plain nbgrader: importing nbgrader in the main process and in each
worker (2.5 to 3.4 s each, once), nbgrader's per-student start in a worker (about 0.35 s
more than within one plain run), the clean checks, and merging each student into the real
gradebook (0.12 s).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

from messagelab.instructor import nbgrader as admin

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_COURSE = ROOT / "tests" / "fixtures" / "course"
DEFAULT_OUT = ROOT / "build" / "benchmarks" / "autograde.json"
DEFAULT_ASSIGNMENT = "ex01-message-queues"

#: One student's whole module autogrades in this many seconds or less (DESIGN.md, on 2 cores).
STUDENT_BUDGET_S = 120.0

#: Every BLANK_EVERY-th student submits the unanswered release.
BLANK_EVERY = 4


def origin_of(assignment: str) -> Path:
    """The course an assignment comes from: this repository, or the test fixture (``demo``)."""
    if (ROOT / "source" / assignment).is_dir():
        return ROOT
    if (FIXTURE_COURSE / "source" / assignment).is_dir():
        return FIXTURE_COURSE
    known = admin.assignment_ids(ROOT) + admin.assignment_ids(FIXTURE_COURSE)
    raise SystemExit(f"unknown assignment {assignment!r}; known: {', '.join(known)}")


def build_class(course: Path, assignment: str, n: int) -> dict[str, int]:
    """Generate the assignment in ``course`` and submit ``n`` students; count each kind."""
    admin.make_course(course, [assignment], source_root=origin_of(assignment))
    admin.generate(assignment, course, timeout=600)
    answered = course / "source" / assignment
    blank = course / "release" / assignment
    counts = {"answered": 0, "blank": 0}
    for index in range(n):
        kind = "blank" if index % BLANK_EVERY == BLANK_EVERY - 1 else "answered"
        admin.submit(course, assignment, f"student{index:03d}", answered if kind == "answered" else blank)
        counts[kind] += 1
    return counts


def reset(course: Path, clean_gradebook: Path) -> None:
    """The course as it was before any grading: the generated gradebook, no autograded/."""
    shutil.copyfile(clean_gradebook, course / "gradebook.db")
    shutil.rmtree(course / "autograded", ignore_errors=True)


def auto_scores(course: Path, assignment: str, students: list[str]) -> dict[str, dict[str, float | None]]:
    return {
        student: {f"{g.notebook}/{g.grade_id}": g.auto_score for g in admin.grades(assignment, student, course)}
        for student in students
    }


def rate(count: int, seconds: float) -> float:
    return 60.0 * count / seconds


def main(
    *,
    n: int = 40,
    assignment: str = DEFAULT_ASSIGNMENT,
    workers: int | None = None,
    out: Path | str = DEFAULT_OUT,
    quiet: bool = False,
) -> dict[str, Any]:
    """Build the class, grade it both ways, print the report (unless ``quiet``), write JSON."""
    if n < 1:
        raise SystemExit("--n must be at least 1")
    say = (lambda line: None) if quiet else (lambda line: print(line, flush=True))
    workers = workers or os.cpu_count() or 1
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-autograde-") as tmp:
        course = Path(tmp) / "course"
        say(f"Building a class of {n} submissions of {assignment} in {course} …")
        counts = build_class(course, assignment, n)
        students = [f"student{index:03d}" for index in range(n)]
        clean = Path(tmp) / "gradebook.clean.db"
        shutil.copyfile(course / "gradebook.db", clean)

        say("Serial: nbgrader autograde (one command, every student) …")
        reset(course, clean)
        started = time.perf_counter()
        admin.autograde(assignment, course, timeout=3600)
        serial_s = time.perf_counter() - started
        serial_scores = auto_scores(course, assignment, students)

        say(f"Parallel: make autograde's own command, python -m messagelab.instructor autograde, {workers} workers …")
        reset(course, clean)
        started = time.perf_counter()
        command = [sys.executable, "-m", "messagelab.instructor", "--root", str(course), "autograde", assignment,
                   "--workers", str(workers)]
        run = subprocess.run(command, cwd=course, env=dict(os.environ, PATH=admin.interpreter_path()),
                             capture_output=True, text=True, timeout=3600)
        parallel_s = time.perf_counter() - started
        if not quiet:
            print("".join(f"  {line}\n" for line in run.stdout.splitlines()), end="", flush=True)
        if run.returncode != 0:
            say(f"  make autograde exited {run.returncode}: {run.stderr[-2000:]}")
        student_s = [float(m) for m in re.findall(r"^\[\d+/\d+\] \w+ \S+ \(([\d.]+) s\)", run.stdout, re.M)]
        failed = re.findall(r"^\[\d+/\d+\] FAILED (\S+) \([\d.]+ s\): (.*?), \d+ failed", run.stdout, re.M)
        parallel_scores = auto_scores(course, assignment, students)

    student_s = student_s or [float("nan")]
    out = Path(out)
    result: dict[str, Any] = {
        "environment": {
            "python": platform.python_version(),
            "platform": f"{platform.system()} {platform.machine()}",
            "cpu_count": os.cpu_count(),
            "nbgrader": version("nbgrader"),
            # Other work on the machine slows both runs; the 1-minute load average says how much.
            "load_before": load_before,
            "load_after": os.getloadavg()[0],
        },
        "assignment": assignment,
        "submissions": n,
        **counts,
        "serial": {"seconds": serial_s, "per_minute": rate(n, serial_s)},
        "parallel": {
            "workers": workers,
            "command": " ".join(command[1:]),
            "seconds": parallel_s,
            "per_minute": rate(n, parallel_s),
            "graded": n - len(failed),
            "failed": dict(failed),
            "student_p50_s": statistics.median(student_s),
            "student_max_s": max(student_s),
        },
        "speedup": serial_s / parallel_s,
        "scores_match": serial_scores == parallel_scores,
        "student_budget_s": STUDENT_BUDGET_S,
        "json_path": str(out),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    say(report(result))
    return result


def report(r: dict[str, Any]) -> str:
    e, serial, parallel = r["environment"], r["serial"], r["parallel"]
    lines = [
        "",
        f"Autograding {r['submissions']} submissions of {r['assignment']} "
        f"({r['answered']} answered, {r['blank']} blank): Python {e['python']} on {e['platform']}, "
        f"{e['cpu_count']} CPUs, nbgrader {e['nbgrader']}, load average {e['load_before']:.2f} before, "
        f"{e['load_after']:.2f} after",
        f"   {'run':<40} {'seconds':>8} {'per minute':>11}",
        f"   {'serial: nbgrader autograde':<40} {serial['seconds']:8.1f} {serial['per_minute']:11.1f}",
        f"   {'make autograde, ' + str(parallel['workers']) + ' workers (re-verified)':<40} "
        f"{parallel['seconds']:8.1f} {parallel['per_minute']:11.1f}",
        f"   parallel ÷ serial throughput: {r['speedup']:.2f}×",
        f"   one student's grading in the parallel run: median {parallel['student_p50_s']:.1f} s, "
        f"max {parallel['student_max_s']:.1f} s (budget {r['student_budget_s']:g} s)",
        f"   same auto score on every grade cell in both runs: {'yes' if r['scores_match'] else 'NO'}",
    ]
    if parallel["failed"]:
        lines.append(f"   FAILED in the parallel run: {parallel['failed']}")
    if parallel["student_max_s"] > r["student_budget_s"]:
        lines.append(f"OVER BUDGET: a student took {parallel['student_max_s']:.1f} s > {r['student_budget_s']:g} s")
    lines.append(f"JSON: {r['json_path']}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=40, help="submissions in the class (default: 40)")
    parser.add_argument(
        "--assignment",
        default=DEFAULT_ASSIGNMENT,
        help=f"assignment id (default: {DEFAULT_ASSIGNMENT}; 'demo' is the tiny test fixture)",
    )
    parser.add_argument("--workers", type=int, help="parallel workers (default: one per CPU core)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the JSON")
    return vars(parser.parse_args(argv))


if __name__ == "__main__":
    main(**parse_args())
    sys.exit(0)
