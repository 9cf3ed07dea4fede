"""Every available assignment through the grading pipeline, as one class: each notebook once per role.

One temporary course, built from the repository's nbgrader_config.py, holds every
available assignment and the fixture assignment (which tests the pipeline itself). All are
generated in one nbgrader run, as `make release` generates them. Then, per assignment, a
class submits and ``make autograde``'s own code
(:func:`messagelab.instructor.autograde.grade_class`, two workers, re-verification on)
grades it in one batch:

    key    the instructor's source                              full marks
    blank  the unanswered release                               zero
    cheat  the release with every answer set to None and the     zero: its test cells
           checks replaced inside its kernel                     never run in that kernel
    crash  the release with a cell that kills its kernel         zero, and the reason

The cheat and the crash are built from any release, so every new assignment gets them.
The blank's graded copies show the release fails only where answers are missing
(test_learner_runs.py runs each source as a learner does, explorers drawn). Scores are read
from the gradebook, because
``nbgrader validate`` exits 0 even when tests fail. Nothing secret may reach the release,
and the committed release/ must be what generation produces.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from available import ENTRIES, HOSTILE, PARAMS, Entry
from nbchecks import (
    ROOT,
    is_autograded_test,
    is_solution,
    label,
    leaks,
    nbgrader_meta,
    notebooks,
    read,
    rel,
    unexpected_release_errors,
)

from messagelab.instructor import nbgrader as admin
from messagelab.instructor import release
from messagelab.instructor.autograde import grade_class
from messagelab.instructor.reverify.plan import plan

KEY, BLANK, CHEAT, CRASH = "key", "blank", "cheat", "crash"

#: Where the batch records how long each assignment took (the suite benchmark reads it).
TIMING = ROOT / "build" / "class-batch-timing.json"

#: Replaces every check a test cell could call, inside the student's kernel.
CHEAT_CELL = """import sys
for _name, _module in list(sys.modules.items()):
    if _name.startswith(("messagelab.assignments.", "messagelab.grading")):
        for _attr in dir(_module):
            if _attr.startswith(("check_", "require", "evaluate")):
                setattr(_module, _attr, lambda *args, **kwargs: None)
"""

CRASH_CELL = "import os\nos._exit(1)"


@dataclass
class Batch:
    course: Path
    verdicts: dict[tuple[str, str], list] = field(default_factory=dict)  # (assignment, student) -> verdicts
    reasons: dict[tuple[str, str], str] = field(default_factory=dict)  # why a student is listed as failed
    seconds: dict[str, dict[str, float]] = field(default_factory=dict)
    feedback_error: str = ""  # why nbgrader's feedback for the crashed submissions failed, if it did

    def generated(self, entry: Entry) -> Path:
        return self.course / "release" / entry.assignment

    def scores(self, entry: Entry, student: str) -> dict[str, float | None]:
        return {g.grade_id: g.auto_score for g in admin.grades(entry.assignment, student, self.course)
                if g.cell_type == "code" and g.grade_id in autograded_ids(entry)}


def autograded_ids(entry: Entry) -> set[str]:
    return {nbgrader_meta(cell)["grade_id"] for path in notebooks(entry.origin / "source" / entry.assignment)
            for cell in read(path).cells if is_autograded_test(cell)}


def hostile_copy(blank: Path, dest: Path, cell_source: str, *, answers_to_none: bool) -> Path:
    """The blank release with ``cell_source`` (and the answers set to None) before its first answer."""
    dest.mkdir(parents=True)
    for path in notebooks(blank):
        nb = read(path)
        names = sorted({name for test in plan(path).tests for name in test.answers}) if answers_to_none else []
        source = "\n".join([cell_source, *(f"{name} = None" for name in names)])
        first = next(i for i, cell in enumerate(nb.cells) if is_solution(cell))
        nb.cells.insert(first, nbformat.v4.new_code_cell(source))
        nbformat.write(nb, dest / path.name)
    return dest


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    base = tmp_path_factory.mktemp("class-batch")
    result = Batch(base / "course")
    for entry in ENTRIES:
        admin.make_course(result.course, [entry.assignment], source_root=entry.origin)
    started = time.monotonic()
    admin.generate_every([entry.assignment for entry in ENTRIES], result.course, timeout=900)  # one nbgrader run
    result.seconds["generate every assignment"] = {"seconds": time.monotonic() - started}
    for entry in ENTRIES:
        blank = result.generated(entry)
        admin.submit(result.course, entry.assignment, KEY, result.course / "source" / entry.assignment)
        admin.submit(result.course, entry.assignment, BLANK, blank)
        if entry.hostile:
            work = base / "hostile" / entry.assignment
            admin.submit(result.course, entry.assignment, CHEAT,
                         hostile_copy(blank, work / CHEAT, CHEAT_CELL, answers_to_none=True))
            admin.submit(result.course, entry.assignment, CRASH,
                         hostile_copy(blank, work / CRASH, CRASH_CELL, answers_to_none=False))
        started = time.monotonic()
        graded = grade_class(entry.assignment, result.course, workers=2, progress=None, workdir=base)
        result.seconds[entry.assignment] = {"autograde": time.monotonic() - started,
                                            "submissions": len(graded.results)}
        for r in graded.results:
            result.verdicts[entry.assignment, r.student] = list(r.verification or [])
            if not r.graded:
                result.reasons[entry.assignment, r.student] = r.reason or ""
    if HOSTILE:  # one nbgrader run writes the crashed submissions' feedback for every assignment
        started = time.monotonic()
        try:
            admin.run_nbgrader("generate_feedback", "*", f"--student={CRASH}", "--force",
                               root=result.course, timeout=900)
        except admin.NbgraderError as error:
            result.feedback_error = str(error)
        result.seconds["feedback for every crashed submission"] = {"seconds": time.monotonic() - started}
    TIMING.parent.mkdir(parents=True, exist_ok=True)
    TIMING.write_text(json.dumps(result.seconds, indent=2) + "\n")
    return result


@pytest.mark.slow
@pytest.mark.parametrize("entry", PARAMS)
def test_source_scores_full_marks(batch: Batch, entry: Entry) -> None:
    grades = {g.grade_id: g for g in admin.grades(entry.assignment, KEY, batch.course)}
    tests = autograded_ids(entry)
    assert tests, f"{entry.assignment} has no autograded test cells"
    assert not tests - grades.keys(), f"test cells without a grade: {sorted(tests - grades.keys())}"
    lost = [f"{g}: {grades[g].auto_score} of {grades[g].max_score}" for g in sorted(tests)
            if grades[g].auto_score != grades[g].max_score]
    reasons = [f"{v.grade_id}: {v.reason}" for v in batch.verdicts[entry.assignment, KEY] if v.passed is False]
    assert not lost, "the instructor's solution loses points:\n" + "\n".join(lost + reasons)
    assert (entry.assignment, KEY) not in batch.reasons


@pytest.mark.slow
@pytest.mark.parametrize("entry", PARAMS)
def test_release_fails_only_where_answers_are_missing(batch: Batch, entry: Entry) -> None:
    """Read from the blank submission's graded copies: every cell but the test cells (which
    re-verification runs apart) ran, and only the cells a student has not written failed."""
    copies = notebooks(batch.course / "autograded" / BLANK / entry.assignment)
    assert copies, f"{entry.assignment}: the unanswered release has no graded copy"
    for copy in copies:
        nb = read(copy)
        unrun = [label(i, c) for i, c in enumerate(nb.cells)
                 if c.cell_type == "code" and c.execution_count is None and not is_autograded_test(c)]
        assert not unrun, f"{copy.name}: cells that did not run: {unrun}"
        problems = unexpected_release_errors(nb)
        assert not problems, f"{copy.name}: cells a student did not write fail:\n" + "\n".join(problems)


@pytest.mark.slow
@pytest.mark.parametrize("entry", PARAMS)
def test_unanswered_release_scores_zero(batch: Batch, entry: Entry) -> None:
    scores = batch.scores(entry, BLANK)
    assert scores, "the blank submission has no grades"
    assert all(score == 0 for score in scores.values()), f"an unanswered release earns points: {scores}"


@pytest.mark.slow
@pytest.mark.parametrize("entry", HOSTILE)
def test_checks_replaced_in_the_kernel_earn_nothing(batch: Batch, entry: Entry) -> None:
    """Plain nbgrader would pass these test cells: the checks they call were replaced in the kernel."""
    scores = batch.scores(entry, CHEAT)
    assert scores and all(score == 0 for score in scores.values()), scores
    verdicts = batch.verdicts[entry.assignment, CHEAT]
    assert verdicts and all(v.passed is False for v in verdicts), [(v.grade_id, v.reason) for v in verdicts]


@pytest.mark.slow
@pytest.mark.parametrize("entry", HOSTILE)
def test_a_kernel_that_dies_scores_zero_and_says_why(batch: Batch, entry: Entry) -> None:
    scores = batch.scores(entry, CRASH)
    assert scores and all(score == 0 for score in scores.values()), scores
    assert all("kernel died" in v.reason for v in batch.verdicts[entry.assignment, CRASH])
    assert "kernel stopped" in batch.reasons[entry.assignment, CRASH]


@pytest.mark.slow
@pytest.mark.parametrize("entry", HOSTILE)
def test_a_crashed_submission_can_be_graded_by_hand_and_gets_feedback(batch: Batch, entry: Entry) -> None:
    """Its graded copy holds the cells that ran, the formgrader lists it with the assignment's
    points, and nbgrader's feedback for it says why its test cells earned nothing."""
    graded = batch.course / "autograded" / CRASH / entry.assignment
    copies = notebooks(graded)
    assert [p.name for p in copies] == [p.name for p in notebooks(batch.generated(entry))]
    for copy in copies:
        cells = [c for c in read(copy).cells if c.cell_type == "code"]
        at = next(i for i, c in enumerate(cells) if c.source == CRASH_CELL)  # the student's own notebook
        assert any(c.outputs for c in cells[:at]), "the cells that ran before the crash keep their outputs"
    points = {student: sum(g.max_score for g in admin.grades(entry.assignment, student, batch.course))
              for student in (CRASH, KEY)}
    assert points[CRASH] == points[KEY] > 0, points  # listed out of the assignment's points, not 0/0
    reports = sorted((batch.course / "feedback" / CRASH / entry.assignment).glob("*.html"))
    assert [p.stem for p in reports] == [p.stem for p in copies], batch.feedback_error
    assert all("kernel died" in p.read_text() for p in reports)


@pytest.mark.slow
@pytest.mark.parametrize("entry", PARAMS)
def test_release_hides_solutions_and_hidden_tests(batch: Batch, entry: Entry) -> None:
    for source in notebooks(entry.origin / "source" / entry.assignment):
        generated = batch.generated(entry) / source.name
        assert generated.is_file(), f"{generated.name} was not generated"
        found = leaks(read(source), read(generated))
        assert not found, f"{generated.name} shows what only the instructor may see:\n" + "\n".join(found)


@pytest.mark.slow
@pytest.mark.parametrize("entry", PARAMS)
def test_committed_release_is_what_generation_gives(batch: Batch, entry: Entry) -> None:
    """Cell by cell, then byte for byte: `make release` on a clean tree leaves no diff."""
    committed = entry.origin / "release" / entry.assignment
    problems = release.release_differences(batch.generated(entry), committed)
    assert not problems, f"{rel(committed)} is out of sync with its source (run `make release`):\n" + "\n".join(
        problems
    )
    different = [path.name for path in notebooks(batch.generated(entry))
                 if (committed / path.name).read_bytes() != path.read_bytes()]
    assert not different, f"regenerating {rel(committed)} would change {different}"
