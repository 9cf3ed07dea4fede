"""Hostile and broken submissions: nbgrader plus re-verification grades each as it deserves.

The corpus (``tests/fixtures/hostile/corpus.py``) is built from the generated release of
Exercise 01: honest references, notebooks with deleted, duplicated, reordered or edited
test cells, a loop, a crash, a memory bomb, stderr, unreadable and misplaced notebooks,
and cheats (lying objects, patched checks, simulator and random numbers). One batch
grades them all in a temporary course as ``make autograde`` does (nbgrader on two
workers, re-verifying each student it graded), then re-verifies the students nbgrader
could not grade. Each student must score what
the same answer values earn honestly, the batch must complete, and the honest students
must score what they score alone.

The quick tests at the top check the pieces of re-verification without a course.
"""

from __future__ import annotations

import multiprocessing
import re
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np
import pytest
from fixtures.hostile import corpus
from nbchecks import FIXTURE_COURSE, ROOT

from messagelab.instructor import nbgrader as admin
from messagelab.instructor import reverify as verify

ASSIGNMENT = corpus.ASSIGNMENT
SOURCE = ROOT / "source" / ASSIGNMENT / corpus.NOTEBOOK
DEMO_SOURCE = FIXTURE_COURSE / "source" / "demo" / "demo.ipynb"

#: The temporary course's cell timeout: the looping case costs one in nbgrader and one in
#: re-verification, and every honest cell of Exercise 01 runs in under 3 s.
CELL_TIMEOUT_S = 10

CASES = {case.student: case for case in corpus.CASES}
WRONG_BASED = [name for name, case in CASES.items() if case.base == "wrong" and name != "honest-wrong"]
IN_KERNEL_CHEATS = [name for name, case in CASES.items() if case.cheats_in_kernel]


# ---------------------------------------------------------------------------
# Answers as plain data
# ---------------------------------------------------------------------------


def roundtrip(value):
    return verify.decode(verify.encode(value, "answer"))


def test_plain_trees_keep_types_exactly() -> None:
    design = {"queue_type": "standard", "consumers": 30, "visibility_timeout_s": 8.0, "idempotent_consumer": True}
    nested = [design, (1, 2.5, None), {3: "three", (1, 2): [False]}]
    assert roundtrip(nested) == nested
    assert type(roundtrip((1, 2))) is tuple and type(roundtrip([1, 2])) is list
    assert type(roundtrip(1)) is int and type(roundtrip(1.0)) is float and type(roundtrip(True)) is bool
    # numpy scalars are read for their value, as plain() reads them in the notebook
    assert roundtrip({"n": np.int64(7), "x": np.float64(0.5), "b": np.bool_(True)}) == {"n": 7, "x": 0.5, "b": True}
    assert type(roundtrip(np.float64(0.5))) is float


class AlwaysEqual:
    def __eq__(self, other):
        return True

    def __float__(self):
        return 8.0

    __hash__ = object.__hash__


class LyingFloat(float):
    def __float__(self):
        return 8.0

    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


class DictSubclass(dict):
    pass


class Text(str):
    pass


@pytest.mark.parametrize(
    "value",
    [AlwaysEqual(), [1, AlwaysEqual()], {"consumers": AlwaysEqual()}, DictSubclass(a=1), Text("standard"),
     float("nan"), float("inf"), np.arange(3), print],
    ids=["always-equal", "in-a-list", "in-a-dict", "dict-subclass", "str-subclass", "nan", "inf", "array", "function"],
)
def test_anything_not_plain_becomes_a_failing_marker(value) -> None:
    tree = verify.encode(value, "answer")
    with pytest.raises(verify.NotPlain):
        verify.decode(tree)


def test_a_lying_float_is_read_for_its_real_value() -> None:
    value = roundtrip(LyingFloat(1.0))
    assert value == 1.0 and type(value) is float and value != 8.0


def test_deep_or_huge_answers_fail_instead_of_hanging() -> None:
    loop: list = []
    loop.append(loop)
    deep: list = []
    for _ in range(verify.MAX_DEPTH + 5):
        deep = [deep]
    for value in (loop, deep, list(range(verify.MAX_VALUES + 1))):
        with pytest.raises(verify.NotPlain):
            verify.decode(verify.encode(value, "answer"))


@pytest.mark.parametrize(
    "text", ['{"grade_id": "g", "values": {"x": NaN}}', '{"values": []}', "[1, 2]", '{"grade_id": "g"}']
)
def test_malformed_snapshots_are_rejected(text: str) -> None:
    with pytest.raises((verify.NotPlain, ValueError)):
        snapshot = verify.parse_snapshot(text)
        for tree in snapshot["values"].values():
            verify.decode(tree)


# ---------------------------------------------------------------------------
# What each test cell reads, and the notebook the kernel runs
# ---------------------------------------------------------------------------


def test_plan_of_exercise_01() -> None:
    plan = verify.plan(SOURCE)
    assert {t.grade_id: t.answers for t in plan.tests} == {
        "sys-capacity-littles-law": ("busy_consumers_at_peak",),
        "sys-consumers-needed": ("consumers_needed",),
        "arch-visibility-timeout": ("visibility_timeout_s",),
        "arch-queue-design": ("design",),
        "sys-monitoring-alarms": ("alarms", "design"),
    }
    assert {t.grade_id: t.answer_cell for t in plan.tests}["arch-queue-design"] == "arch-design-answer"
    design = next(t for t in plan.tests if t.grade_id == "arch-queue-design")
    assert "seeds=(101, 102, 103)" in design.source  # the hidden tests are checked too
    # The setup binds what tests read besides answers, and nothing of the explorers.
    assert "from messagelab.assignments import ex01" in plan.setup
    assert "Explorer" not in plan.setup and "processing_trace" not in plan.setup
    assert not any(t.code_answers for t in plan.tests)


def test_function_answers_are_left_to_nbgrader() -> None:
    plan = verify.plan(DEMO_SOURCE)
    assert plan.tests and all(t.code_answers == ("consumers_needed",) for t in plan.tests)


def release_cells() -> list[dict]:
    return [dict(cell) for cell in nbformat.read(ROOT / "release" / ASSIGNMENT / corpus.NOTEBOOK, as_version=4).cells]


def test_kernel_cells_replace_tests_by_snapshots_and_never_run_test_code() -> None:
    plan = verify.plan(SOURCE)
    code, snapshots = verify.kernel_cells(release_cells(), plan, "NONCE")
    assert sorted(snapshots.values()) == sorted(t.grade_id for t in plan.tests)
    assert all("snapshot(" in code[i] for i in snapshots)
    assert not any("check_" in source for source in code), "a test cell's code reached the student's kernel"


def test_a_deleted_test_is_snapshot_where_nbgrader_puts_it_back() -> None:
    plan = verify.plan(SOURCE)
    cells = [cell for cell in release_cells() if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
             != "arch-queue-design"]
    code, snapshots = verify.kernel_cells(cells, plan, "NONCE")
    design = next(i for i, g in snapshots.items() if g == "arch-queue-design")
    answer = next(i for i, source in enumerate(code) if "report(ex01.evaluate_design(design))" in source)
    assert design == answer + 1


def test_of_duplicated_tests_the_last_is_the_test_and_earlier_copies_run_as_code() -> None:
    plan = verify.plan(SOURCE)
    cells = release_cells()
    index = next(i for i, cell in enumerate(cells) if cell["metadata"].get("nbgrader", {}).get("grade_id")
                 == "sys-capacity-littles-law")
    cells.insert(index, {**cells[index], "source": "print('my copy')"})
    code, snapshots = verify.kernel_cells(cells, plan, "NONCE")
    # nbgrader 0.9 keeps the last copy (DeduplicateIds runs backwards); earlier ones are plain cells
    assert code[index] == "print('my copy')"
    assert snapshots[index + 1] == "sys-capacity-littles-law"


def test_settings_follow_the_course_config() -> None:
    course = verify.settings(ROOT)
    assert course.cell_timeout_s == 60
    assert any("RLIMIT_AS" in argument for argument in course.kernel_arguments)
    assert course.ignore_pattern and re.search(course.ignore_pattern, "x.py:1: DeprecationWarning: old\n  call()\n")
    assert not re.search(course.ignore_pattern, "a warning of my own\n")


# ---------------------------------------------------------------------------
# The clean process
# ---------------------------------------------------------------------------


def test_the_clean_process_scores_like_nbgrader(tmp_path: Path) -> None:
    """Raising, writing to stderr (from Python or the C level) and overrunning fail; a number is partial credit."""
    plan = verify.Plan("demo", "python3", "import math", (), {})
    course = verify.Settings(cell_timeout_s=1, interrupt_on_timeout=True, kernel_arguments=(),
                             ignore_pattern=r"DeprecationWarning", db_url="sqlite://")
    cells = {
        "passes": ("assert math.isclose(x, 0.5)", {"x": 0.5}),
        "raises": ("assert x == 1, 'x is not 1'", {"x": 0.5}),
        "missing": ("x", {"x": {"missing": True}}),
        "stderr": ("import sys; print('oops', file=sys.stderr)", {}),
        "c-stderr": ("import os; os.write(2, b'oops')", {}),
        "ignored": ("import warnings; warnings.warn('old', DeprecationWarning)", {}),
        "loops": ("while True:\n    pass", {}),
        "swallows": ("try:\n    while True: pass\nexcept Exception:\n    pass", {}),
        "exits": ("raise SystemExit(0)", {}),
        "tuple": ("assert y == (1, 2)", {"y": {"tuple": [1, 2]}}),
        "partial": ("x * 3", {"x": 0.5}),
        "hidden-result": ("x * 3;", {"x": 0.5}),
        "text-result": ("'all good'", {}),
        "over-the-top": ("2 + x", {"x": 0.5}),
    }
    checks = verify._CheckProcess(plan, course, tmp_path)
    try:
        started = time.monotonic()
        verdicts = checks.run(
            [{"grade_id": name, "source": source, "points": 2, "values": values}
             for name, (source, values) in cells.items()]
        )
    finally:
        checks.close()
    assert time.monotonic() - started < 30
    earned = {name: points for name, (ok, points, _) in verdicts.items() if ok}
    assert earned == {"passes": 2, "ignored": 2, "tuple": 2, "partial": 1.5, "hidden-result": 2, "text-result": 2,
                      "over-the-top": 2}
    assert all(points == 0 for ok, points, _ in verdicts.values() if not ok)
    assert verdicts["raises"][2] == "AssertionError: x is not 1"
    assert "NameError" in verdicts["missing"][2]
    assert "ran past 1 s" in verdicts["swallows"][2]


def test_a_setup_that_fails_is_the_graders_problem_not_the_students(tmp_path: Path) -> None:
    plan = verify.Plan("demo", "python3", "import no_such_module_here", (), {})
    checks = verify._CheckProcess(plan, verify.settings(ROOT), tmp_path)
    try:
        with pytest.raises(verify.ReverifyError, match="no_such_module_here"):
            checks.run([{"grade_id": "g", "source": "pass", "points": 1, "values": {}}])
    finally:
        checks.close()


# ---------------------------------------------------------------------------
# The corpus, graded in one batch
# ---------------------------------------------------------------------------


@dataclass
class Batch:
    """The corpus after nbgrader and re-verification, with what happened on the way."""

    course: Path
    max_scores: dict[str, float]  # points of each autograded test cell
    nbgrader: dict[str, dict[str, float | None]]  # scores nbgrader alone gave (None: none)
    scores: dict[str, dict[str, float | None]]  # scores after re-verification
    in_kernel: dict[str, dict[str, bool]]  # did each test cell pass in the student's own kernel?
    verdicts: dict[str, list[verify.Verdict]]
    seconds: dict[str, float] = field(default_factory=dict)


def autograded_scores(course: Path, student: str, tests: set[str]) -> dict[str, float | None]:
    from nbgrader.api import MissingEntry

    try:
        grades = admin.grades(ASSIGNMENT, student, course)
    except MissingEntry:
        return {}
    return {g.grade_id: g.auto_score for g in grades if g.grade_id in tests}


def passed_in_kernel(course: Path, student: str) -> dict[str, bool]:
    """Test cells of the graded notebook that show no error: they passed in the student's kernel."""
    path = course / "autograded" / student / ASSIGNMENT / corpus.NOTEBOOK
    if not path.is_file():
        return {}
    return {
        cell.metadata.nbgrader["grade_id"]: not any(out.output_type == "error" for out in cell.outputs)
        for cell in nbformat.read(path, as_version=4).cells
        if corpus.is_test(cell)
    }


def _reverify(course: Path, student: str) -> tuple[list[verify.Verdict], float]:
    started = time.monotonic()
    return verify.reverify(course, ASSIGNMENT, student), time.monotonic() - started


def autograde_class(course: Path) -> dict[str, list[verify.Verdict]]:
    """Grade the class as ``make autograde`` does; the verdicts of students it re-verified.

    The parallel batch (``messagelab.instructor.autograde``) re-verifies each student nbgrader graded;
    plain ``admin.autograde`` (nbgrader alone) re-verifies nobody.
    """
    try:
        from messagelab.instructor.autograde import grade_class
    except ImportError:
        try:
            admin.autograde(ASSIGNMENT, course, timeout=1800)
        except admin.NbgraderError:
            pass  # nbgrader exits non-zero when it could not grade some students; the rest are graded
        return {}
    result = grade_class(ASSIGNMENT, course, workers=2, progress=None)
    return {r.student: list(r.verification) for r in result.results if r.verification is not None}


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    course = tmp_path_factory.mktemp("hostile-course")
    admin.make_course(course, [ASSIGNMENT])
    with open(course / admin.CONFIG_NAME, "a", encoding="utf-8") as config:
        config.write(f"\nc.Execute.timeout = {CELL_TIMEOUT_S}\n")
    seconds = {}
    started = time.monotonic()
    admin.generate(ASSIGNMENT, course, timeout=600)
    seconds["generate"] = time.monotonic() - started
    sources = corpus.Sources.load(
        course / "release" / ASSIGNMENT / corpus.NOTEBOOK, course / "source" / ASSIGNMENT / corpus.NOTEBOOK, DEMO_SOURCE
    )
    corpus.write(sources, course / "submitted")

    started = time.monotonic()
    verdicts = autograde_class(course)
    seconds["autograde"] = time.monotonic() - started
    in_kernel = {student: passed_in_kernel(course, student) for student in CASES}

    # Whoever autograding did not re-verify (all of them, or those nbgrader could not grade).
    started = time.monotonic()
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {student: pool.submit(_reverify, course, student) for student in CASES if student not in verdicts}
        for student, future in futures.items():
            verdicts[student], seconds[f"reverify {student}"] = future.result()
    seconds["reverify"] = time.monotonic() - started
    print(f"\nhostile batch of {len(CASES)}: generate {seconds['generate']:.0f} s, autograde "
          f"{seconds['autograde']:.0f} s (re-verifying {len(CASES) - len(futures)}), re-verifying "
          f"{len(futures)} more {seconds['reverify']:.0f} s")

    plan = verify.plan(course / "source" / ASSIGNMENT / corpus.NOTEBOOK)
    tests = {t.grade_id for t in plan.tests}
    nbgrader_scores = {student: {v.grade_id: v.score_before for v in verdicts[student]} for student in CASES}
    scores = {student: autograded_scores(course, student, tests) for student in CASES}
    max_scores = {t.grade_id: t.points for t in plan.tests}
    return Batch(course, max_scores, nbgrader_scores, scores, in_kernel, verdicts, seconds)


def as_scores(batch: Batch, student: str) -> dict[str, float]:
    """A student's scores per test cell; no submission in the gradebook counts as 0."""
    scores = batch.scores[student]
    return {grade_id: float(scores.get(grade_id) or 0.0) for grade_id in batch.max_scores}


@pytest.mark.slow
@pytest.mark.parametrize("student", list(CASES))
def test_each_submission_scores_what_its_answers_earn(batch: Batch, student: str) -> None:
    case = CASES[student]
    assert as_scores(batch, student) == case.expected(batch.max_scores), case.what
    # every cell got a verdict, and the gradebook agrees with it
    verdicts = {v.grade_id: v for v in batch.verdicts[student]}
    assert set(verdicts) == set(batch.max_scores)
    for grade_id, score in case.expected(batch.max_scores).items():
        assert verdicts[grade_id].passed == (score > 0), (grade_id, verdicts[grade_id].reason)


@pytest.mark.slow
@pytest.mark.parametrize("student", WRONG_BASED)
def test_a_cheat_scores_exactly_what_the_honest_wrong_answers_score(batch: Batch, student: str) -> None:
    assert as_scores(batch, student) == as_scores(batch, "honest-wrong"), CASES[student].what


@pytest.mark.slow
@pytest.mark.parametrize("student", IN_KERNEL_CHEATS)
def test_the_cheat_did_fool_the_students_own_kernel(batch: Batch, student: str) -> None:
    """Without re-verification these cheats would have scored: nbgrader alone passed them."""
    for grade_id in CASES[student].cheats_in_kernel:
        assert batch.in_kernel[student][grade_id], f"{grade_id} failed in the kernel: the cheat is not one"
        assert batch.nbgrader[student][grade_id] == batch.max_scores[grade_id]
        assert batch.scores[student][grade_id] == 0
        assert batch.in_kernel["honest-wrong"][grade_id] is False


@pytest.mark.slow
def test_the_batch_completes_and_honest_students_are_unaffected(batch: Batch) -> None:
    graded_by_nbgrader = {s for s, scores in batch.nbgrader.items() if any(v is not None for v in scores.values())}
    assert graded_by_nbgrader == {s for s, case in CASES.items() if not case.nbgrader_fails}
    assert {s for s in CASES if batch.scores[s]} == set(CASES) - {"missing-notebook"}
    # the honest students score what they score alone: full marks, and the literal wrong pattern
    assert as_scores(batch, "honest-correct") == batch.max_scores
    assert as_scores(batch, "honest-wrong") == {
        "sys-capacity-littles-law": 2.0,
        "sys-consumers-needed": 2.0,
        "arch-visibility-timeout": 0.0,
        "arch-queue-design": 0.0,
        "sys-monitoring-alarms": 4.0,
    }
    for student in ("honest-correct", "honest-wrong"):
        assert batch.scores[student] == batch.nbgrader[student], "re-verification changed an honest grade"


@pytest.mark.slow
def test_reverification_is_idempotent(batch: Batch) -> None:
    for student in ("patch-check-design", "kernel-crash"):
        again = verify.reverify(batch.course, ASSIGNMENT, student)
        assert [(v.grade_id, v.passed) for v in again] == [(v.grade_id, v.passed) for v in batch.verdicts[student]]
        assert autograded_scores(batch.course, student, set(batch.max_scores)) == batch.scores[student]
        assert all(v.score_before == v.score_after for v in again)


@pytest.mark.slow
def test_a_lowered_score_is_explained_in_the_gradebook_and_the_graded_notebook(batch: Batch) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(admin.gradebook_url(batch.course)) as gradebook:
        comment = gradebook.find_comment("arch-design-answer", corpus.NOTEBOOK[:-6], ASSIGNMENT, "patch-check-design")
        text = comment.auto_comment
    assert text.startswith(f"{verify.NOTE_PREFIX} [arch-queue-design]: 0 of 6 points (was 6)")
    assert "customers charged twice" in text
    graded = nbformat.read(batch.course / "autograded" / "patch-check-design" / ASSIGNMENT / corpus.NOTEBOOK, 4)
    cell = graded.cells[corpus.index_of(graded, "arch-queue-design")]
    notes = [out.text for out in cell.outputs if out.get("text", "").startswith(verify.NOTE_PREFIX)]
    assert len(notes) == 1 and "customers charged twice" in notes[0]


@pytest.mark.slow
def test_the_memory_bomb_hit_the_kernels_limit(batch: Batch) -> None:
    graded = nbformat.read(batch.course / "autograded" / "memory-bomb" / ASSIGNMENT / corpus.NOTEBOOK, 4)
    cell = graded.cells[corpus.index_of(graded, "sys-monitoring-answer")]
    assert [out.ename for out in cell.outputs if out.output_type == "error"] == ["MemoryError"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("student", "reason"),
    [
        ("missing-notebook", "no notebook ex01-message-queues.ipynb was submitted"),
        ("renamed-notebook", "(found: ex01-message-queues-Copy1.ipynb)"),
        ("corrupt-json", "could not be read as a notebook"),
        ("kernel-crash", "kernel died"),
        ("shadowed-kernel", "the notebook's kernel could not start in the submission's folder"),
        ("garbled-metadata", "customers charged twice"),
        ("always-equal", "visibility_timeout_s is not plain data"),
        ("reordered-tests", "NameError: name 'design' is not defined"),
    ],
)
def test_each_failure_says_why(batch: Batch, student: str, reason: str) -> None:
    failed = [v for v in batch.verdicts[student] if v.passed is False]
    assert failed and any(reason in v.reason for v in failed), [v.reason for v in failed]


@pytest.mark.slow
def test_function_answers_keep_nbgraders_score(tmp_path: Path) -> None:
    """The fixture's answer is a function: only its kernel can run it, so nbgrader's score stands."""
    admin.make_course(tmp_path, ["demo"], source_root=FIXTURE_COURSE)
    admin.generate("demo", tmp_path, timeout=600)
    admin.submit(tmp_path, "demo", "key", tmp_path / "source" / "demo")
    admin.autograde("demo", tmp_path, timeout=600)
    before = {g.grade_id: g.auto_score for g in admin.grades("demo", "key", tmp_path)}
    verdicts = verify.reverify(tmp_path, "demo", "key")
    assert verdicts and all(v.passed is None and "not re-verified" in v.reason for v in verdicts)
    assert {g.grade_id: g.auto_score for g in admin.grades("demo", "key", tmp_path)} == before
    assert before["arch-consumers-visible"] == 1 and before["sys-consumers-hidden"] == 2


@pytest.mark.slow
def test_command_line_prints_each_verdict_and_writes_nothing_on_a_dry_run(
    batch: Batch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = autograded_scores(batch.course, "honest-wrong", set(batch.max_scores))
    args = [ASSIGNMENT, "--root", str(batch.course), "--student", "renamed-notebook", "--student", "honest-wrong"]
    assert verify.main([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "renamed-notebook" in out and "(found: ex01-message-queues-Copy1.ipynb)" in out
    assert re.search(r"arch-queue-design\s+FAIL", out) and re.search(r"sys-monitoring-alarms\s+pass", out)
    assert autograded_scores(batch.course, "honest-wrong", set(batch.max_scores)) == before
