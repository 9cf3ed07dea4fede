"""The instructor's command line: release, check, autograde, grades.

From the course root (``make release``, ``make autograde``, ``make grades`` call these)::

    python -m messagelab.instructor release [ID ...]        # source/<id> -> release/<id>
    python -m messagelab.instructor check [ID ...]          # is release/ in sync with source/?
    python -m messagelab.instructor autograde ID [--workers N] [--student S ...] [--sandbox auto|require|off]
    python -m messagelab.instructor grades [--to grades.csv]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from messagelab.course.root import course_root
from messagelab.instructor import autograde as autograding
from messagelab.instructor.nbgrader import NbgraderError, export_grades
from messagelab.instructor.release import check_release, orphaned_releases, release, selected_ids
from messagelab.instructor.sandbox import MODES as SANDBOX_MODES


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m messagelab.instructor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=None, help="course root (default: the course around this folder)")
    commands = parser.add_subparsers(dest="command", required=True)

    p_release = commands.add_parser("release", help="regenerate release/ from source/")
    p_release.add_argument("ids", nargs="*", help="assignment ids (default: all in source/)")

    p_check = commands.add_parser("check", help="fail when release/ is out of sync with source/")
    p_check.add_argument("ids", nargs="*", help="assignment ids (default: all in source/)")

    p_grade = commands.add_parser(
        "autograde",
        help="autograde submitted/ for one assignment, on every core",
        description="Autograde submitted/*/ID/ in parallel. Exit status: 0 when every submission was "
        "graded, 1 when any failed (the summary says which and why).",
    )
    p_grade.add_argument("id", help="assignment id, e.g. ex01-message-queues")
    p_grade.add_argument(
        "--student", action="extend", nargs="+", metavar="S", help="grade only these students (repeatable)"
    )
    p_grade.add_argument("--workers", type=int, metavar="N", help="grading processes (default: one per CPU core)")
    p_grade.add_argument(
        "--timeout",
        type=float,
        default=autograding.DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help="stop one student's grading after this long (default: %(default)g)",
    )

    p_grade.add_argument(
        "--sandbox",
        choices=SANDBOX_MODES,
        default="auto",
        help="run students' code in a bubblewrap sandbox: auto (when one runs here, else warn), "
        "require (refuse to grade without one) or off (default: %(default)s)",
    )
    p_grade.add_argument(
        "--kernels",
        choices=autograding.KERNEL_MODES,
        default="warm",
        help="in a sandbox, fork each kernel from one that imported the notebooks' modules (warm) "
        "or start a new Python per kernel (cold) (default: %(default)s)",
    )

    p_grades = commands.add_parser("grades", help="export the gradebook to CSV")
    p_grades.add_argument("--to", default="grades.csv", help="CSV file (default: grades.csv)")

    args = parser.parse_args(argv)
    root = (args.root or course_root()).resolve()
    try:
        if args.command == "release":
            ids = selected_ids(root, args.ids or None)
            if not ids:
                print(f"no assignments in {root / 'source'}", file=sys.stderr)
                return 1
            for path in release(root, ids):
                print(f"generated {path.relative_to(root)}")
        elif args.command == "check":
            import tempfile

            with tempfile.TemporaryDirectory(prefix="messagelab-release-") as workdir:
                problems = check_release(Path(workdir), args.ids or None, root)
            for assignment, lines in problems.items():
                print(f"{assignment}: {'in sync' if not lines else 'OUT OF SYNC'}")
                for line in lines:
                    print(f"  {line}")
            orphans = orphaned_releases(root)
            for assignment in orphans:
                print(f"{assignment}: in release/ but not in source/")
            return 1 if any(problems.values()) or orphans else 0
        elif args.command == "autograde":
            if args.workers is not None and args.workers < 1:
                p_grade.error("--workers must be at least 1")
            try:
                batch = autograding.grade_class(
                    args.id, root, students=args.student, workers=args.workers, timeout=args.timeout,
                    sandbox=args.sandbox, kernels=args.kernels,
                )
            except autograding.AutogradeError as error:
                print(error, file=sys.stderr)
                return 1
            print(batch.summary())
            return batch.exit_code
        elif args.command == "grades":
            import pandas as pd

            path = export_grades(root, args.to)
            table = pd.read_csv(path, keep_default_na=False)
            if table.empty:
                print(f"wrote {path}: no graded submissions yet (make autograde ASSIGNMENT=<id> first)")
            else:
                letters = table["letter"].value_counts()
                spread = ", ".join(f"{letter} {letters.get(letter, 0)}" for letter in "ABCDF")
                print(f"wrote {path}: {len(table)} students ({spread})")
    except NbgraderError as error:
        print(error, file=sys.stderr)
        return 1
    return 0
