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

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np
import pytest
from fixtures.hostile import corpus
from nbchecks import FIXTURE_COURSE, ROOT, processes_under, require_sandbox

from messagelab.instructor import nbgrader as admin
from messagelab.instructor.reverify import checks as clean
from messagelab.instructor.reverify import plain
from messagelab.instructor.reverify import plan as planning
from messagelab.instructor.reverify import settings as course_settings
from messagelab.instructor.reverify.verdict import Verdict

ASSIGNMENT = corpus.ASSIGNMENT
SOURCE = ROOT / "source" / ASSIGNMENT / corpus.NOTEBOOK
DEMO_SOURCE = FIXTURE_COURSE / "source" / "demo" / "demo.ipynb"

#: The temporary course's cell timeout: the looping case costs one in nbgrader and one in
#: re-verification, and every honest cell of Exercise 01 runs in under 3 s.
CELL_TIMEOUT_S = 15

#: The batch's limit on one submission: the sleeper (14 s in each of nine cells, over two
#: minutes) passes it; the slow honest student (15 s of waiting, ~25 s in all on a busy
#: machine) and every other (about 10 s alone, several times that while another test file
#: grades a class beside this one on a two-core machine) do not come near it.
SUBMISSION_TIMEOUT_S = 110

CASES = {case.student: case for case in corpus.CASES}
WRONG_BASED = [name for name, case in CASES.items()
               if case.base == "wrong" and not case.lost and name != "honest-wrong"]
IN_KERNEL_CHEATS = [name for name, case in CASES.items() if case.cheats_in_kernel]


# ---------------------------------------------------------------------------
# Answers as plain data
# ---------------------------------------------------------------------------


def roundtrip(value):
    return plain.decode(plain.encode(value, "answer"))


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
    tree = plain.encode(value, "answer")
    with pytest.raises(plain.NotPlain):
        plain.decode(tree)


def test_a_lying_float_is_read_for_its_real_value() -> None:
    value = roundtrip(LyingFloat(1.0))
    assert value == 1.0 and type(value) is float and value != 8.0


def test_deep_or_huge_answers_fail_instead_of_hanging() -> None:
    loop: list = []
    loop.append(loop)
    deep: list = []
    for _ in range(plain.MAX_DEPTH + 5):
        deep = [deep]
    for value in (loop, deep, list(range(plain.MAX_VALUES + 1))):
        with pytest.raises(plain.NotPlain):
            plain.decode(plain.encode(value, "answer"))


@pytest.mark.parametrize(
    "text", ['{"grade_id": "g", "values": {"x": NaN}}', '{"values": []}', "[1, 2]", '{"grade_id": "g"}',
             '{"grade_id": "g", "values": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}"]
)
def test_malformed_snapshots_are_rejected(text: str) -> None:
    with pytest.raises((plain.NotPlain, ValueError)):
        snapshot = plain.parse_snapshot(text)
        for tree in snapshot["values"].values():
            plain.decode(tree)


# ---------------------------------------------------------------------------
# What each test cell reads, and the notebook the kernel runs
# ---------------------------------------------------------------------------


def test_plan_of_exercise_01() -> None:
    plan = planning.plan(SOURCE)
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


def test_function_answers_are_marked_as_code() -> None:
    plan = planning.plan(DEMO_SOURCE)
    assert plan.tests and all(t.code_answers == ("consumers_needed",) for t in plan.tests)


# ---------------------------------------------------------------------------
# Code answers: the student's functions and classes, in a process of their own
# ---------------------------------------------------------------------------

STUDENT_CELLS = [
    {"cell_type": "code", "metadata": {}, "source": "import math\nfrom messagelab.grading.code import drive"},
    {"cell_type": "code", "metadata": {}, "source": "explorer = print('an explorer')\nexplorer"},
    {"cell_type": "code", "metadata": {}, "source": (
        "FACTOR = 2\n"
        "def helper(x):\n    return FACTOR * x\n"
        "def doubled(x):\n    return helper(x)\n"
        "doubled(3)\n"
        "def liar(x):\n    class Yes:\n        __eq__ = lambda self, other: True\n    return Yes()\n"
        "def spins(x):\n    while True:\n        try:\n            pass\n        except Exception:\n            pass\n"
        "def stubborn(x):\n    while True:\n        try:\n            while True:\n                pass\n"
        "        except BaseException:\n            pass\n"
        "def fails(x):\n    raise ValueError(f'no {x}')\n")},
    {"cell_type": "code", "metadata": {"nbgrader": {"grade": True, "solution": False, "grade_id": "t"}},
     "source": "def doubled(x):\n    return 'the test cell is the instructor\'s'"},
]


def test_the_slice_of_a_submission_defines_its_code_and_nothing_else() -> None:
    from messagelab.instructor.reverify.code import student_slice

    source = student_slice(STUDENT_CELLS, ["doubled"])
    namespace: dict = {}
    exec(source, namespace)
    assert namespace["doubled"](4) == 8
    assert "print" not in source and "explorer" not in source and "instructor" not in source


def test_code_runs_in_its_own_process_and_only_plain_values_come_back() -> None:
    """A function answer is called in the code process; lies, loops and errors fail with a reason."""
    from messagelab.instructor.reverify.code import CodeError, CodeRunner, Remote, student_slice

    names = ["doubled", "liar", "spins", "stubborn", "fails"]
    runner = CodeRunner(student_slice(STUDENT_CELLS, names), timeout_s=2)
    try:
        doubled, liar, fails = (Remote(name, runner.call) for name in ("doubled", "liar", "fails"))
        assert doubled(21) == 42 and doubled([1]) == [1, 1]
        with pytest.raises(CodeError, match="not plain data"):
            liar(1)
        with pytest.raises(ValueError, match="no 3"):
            fails(3)
        with pytest.raises(NameError):
            Remote("missing", runner.call)(1)
        started = time.monotonic()
        with pytest.raises(CodeError, match="ran past 2 s"):
            Remote("spins", runner.call)(1)
        assert time.monotonic() - started < 15
        assert doubled(1) == 2  # interrupted at its time: the process goes on
        with pytest.raises(CodeError, match="ran past 2 s or stopped"):
            Remote("stubborn", runner.call)(1)  # swallows the interruption: the worker ends the process
        with pytest.raises(CodeError, match="ran past 2 s or stopped"):
            doubled(1)  # and the rest of its checks fail with the same reason
    finally:
        runner.close()
    broken = CodeRunner("raise RuntimeError('my cell is broken')", timeout_s=2)
    try:
        with pytest.raises(CodeError, match="could not be run: RuntimeError: my cell is broken"):
            Remote("anything", broken.call)()
    finally:
        broken.close()


def test_a_check_reaches_the_students_code_from_the_clean_process() -> None:
    """The clean check calls the code through the worker; a wrong hidden case fails there."""
    from messagelab.instructor.reverify.code import CodeRunner, student_slice

    plan = planning.Plan("demo", "python3", "import math", ())
    checks = clean.CheckServer(plan, course_settings.settings(ROOT))
    runner = CodeRunner(student_slice(STUDENT_CELLS, ["doubled"]), timeout_s=5)
    try:
        cells = [{"grade_id": "visible", "source": "assert doubled(2) == 4", "points": 1, "values": {},
                  "code": ["doubled"]},
                 {"grade_id": "hidden", "source": "assert doubled(2) == 4\nassert doubled(0.5) == 2, 'half'",
                  "points": 2, "values": {}, "code": ["doubled"]}]
        verdicts = checks.run(cells, runner.call)
        without = checks.run(cells[:1])
    finally:
        runner.close()
        checks.close()
    assert verdicts["visible"].passed and verdicts["visible"].earned == 1
    assert not verdicts["hidden"].passed and verdicts["hidden"].reason == "AssertionError: half"
    assert not without["visible"].passed and "no student code" in without["visible"].reason


def test_settings_follow_the_course_config() -> None:
    course = course_settings.settings(ROOT)
    assert course.cell_timeout_s == 60
    assert any("RLIMIT_AS" in argument for argument in course.kernel_arguments)
    assert course.ignore_pattern and re.search(course.ignore_pattern, "x.py:1: DeprecationWarning: old\n  call()\n")
    assert not re.search(course.ignore_pattern, "a warning of my own\n")


# ---------------------------------------------------------------------------
# The clean process
# ---------------------------------------------------------------------------


def test_the_clean_process_scores_like_nbgrader() -> None:
    """Raising, writing to stderr (from Python or the C level) and overrunning fail; a number is partial credit."""
    plan = planning.Plan("demo", "python3", "import math", ())
    course = course_settings.Settings(cell_timeout_s=1, interrupt_on_timeout=True, kernel_arguments=(),
                             ignore_pattern=r"DeprecationWarning")
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
    checks = clean.CheckServer(plan, course)
    try:
        started = time.monotonic()
        verdicts = checks.run(
            [{"grade_id": name, "source": source, "points": 2, "values": values}
             for name, (source, values) in cells.items()],
        )
    finally:
        checks.close()
    assert time.monotonic() - started < 30
    earned = {name: result.earned for name, result in verdicts.items() if result.passed}
    assert earned == {"passes": 2, "ignored": 2, "tuple": 2, "partial": 1.5, "hidden-result": 2, "text-result": 2,
                      "over-the-top": 2}
    assert all(result.earned == 0 for result in verdicts.values() if not result.passed)
    assert verdicts["raises"].reason == "AssertionError: x is not 1"
    assert "NameError" in verdicts["missing"].reason
    assert "ran past 1 s" in verdicts["swallows"].reason


def test_one_server_checks_submission_after_submission_and_none_sees_another() -> None:
    """Each submission's checks run in a child forked from the server: names it bound are gone after."""
    plan = planning.Plan("demo", "python3", "import math", ())
    checks = clean.CheckServer(plan, course_settings.settings(ROOT))
    try:
        first = checks.run([{"grade_id": "g", "source": "leaked = x\nassert x == 1", "points": 1,
                             "values": {"x": 1}}])
        second = checks.run([{"grade_id": "g", "source": "leaked", "points": 1, "values": {}}])
        assert checks.alive()
    finally:
        checks.close()
    assert first["g"].passed
    assert not second["g"].passed and "NameError" in second["g"].reason


def test_a_worker_keeps_one_server_for_every_students_scratch_course(tmp_path: Path) -> None:
    """Each student is graded in a scratch course with a gradebook of its own: still one server."""
    import dataclasses
    import shutil

    from messagelab.instructor.reverify import execute

    plan = planning.Plan("demo", "python3", "import math", ())
    first = course_settings.settings(ROOT)
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")  # a scratch course elsewhere
    second = course_settings.settings(tmp_path)
    assert second == first, "the settings that decide how a cell scores do not depend on where the course is"
    try:
        server = execute.check_server(plan, first)
        assert execute.check_server(plan, second) is server
        assert execute.check_server(dataclasses.replace(plan, setup="import os"), second) is not server
    finally:
        execute.close_servers()


def test_a_setup_that_fails_is_the_graders_problem_not_the_students() -> None:
    plan = planning.Plan("demo", "python3", "import no_such_module_here", ())
    checks = clean.CheckServer(plan, course_settings.settings(ROOT))
    try:
        with pytest.raises(clean.CheckSetupError, match="no_such_module_here"):
            checks.run([{"grade_id": "g", "source": "pass", "points": 1, "values": {}}])
    finally:
        checks.close()


# ---------------------------------------------------------------------------
# The corpus, graded in one batch
# ---------------------------------------------------------------------------


@dataclass
class Batch:
    """The corpus after make autograde, with what happened on the way."""

    course: Path
    max_scores: dict[str, float]  # points of each autograded test cell
    scores: dict[str, dict[str, float | None]]  # scores in the gradebook
    verdicts: dict[str, list[Verdict]]  # the clean verdicts, per student
    reasons: dict[str, str]  # why each student make autograde reports as failed
    seconds: dict[str, float] = field(default_factory=dict)  # generate, autograde, and each student in a worker
    submitted_before: dict[str, str] = field(default_factory=dict)  # every submitted file's digest
    summary: str = ""
    left_running: list[str] = field(default_factory=list)  # processes of the batch still alive after it


def digests(folder: Path) -> dict[str, str]:
    """Each file under ``folder`` (not following links): its SHA-256, or what it is."""
    import hashlib
    import stat

    found = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        if stat.S_ISREG(info.st_mode):
            found[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif not stat.S_ISDIR(info.st_mode):
            found[str(path.relative_to(folder))] = f"special {stat.S_IFMT(info.st_mode):o}"
    return found


def autograded_scores(course: Path, student: str, tests: set[str]) -> dict[str, float | None]:
    from nbgrader.api import MissingEntry

    try:
        grades = admin.grades(ASSIGNMENT, student, course)
    except MissingEntry:
        return {}
    return {g.grade_id: g.auto_score for g in grades if g.grade_id in tests}


def graded_test_cells(course: Path, student: str) -> dict[str, list]:
    """The outputs of each test cell in the student's graded notebook (what feedback shows)."""
    path = course / "autograded" / student / ASSIGNMENT / corpus.NOTEBOOK
    if not path.is_file():
        return {}
    return {cell.metadata.nbgrader["grade_id"]: cell.outputs for cell in nbformat.read(path, as_version=4).cells
            if corpus.is_test(cell)}


def autograde_class(course: Path) -> tuple[dict[str, list[Verdict]], dict[str, str], str, dict[str, float]]:
    """Grade the class as ``make autograde`` does, in the sandbox: each student's verdicts,
    why any failed, the summary and each student's seconds in a worker."""
    from messagelab.instructor.autograde import grade_class

    result = grade_class(ASSIGNMENT, course, workers=2, progress=None, timeout=SUBMISSION_TIMEOUT_S,
                         sandbox=require_sandbox())
    verdicts = {r.student: list(r.verification) for r in result.results if r.verification is not None}
    reasons = {r.student: r.reason or "" for r in result.results if not r.graded}
    return verdicts, reasons, result.summary(), {r.student: r.seconds for r in result.results}


def _site_packages() -> list[Path]:
    import site

    return [Path(p) for p in site.getsitepackages()]


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
    submitted_before = digests(course / "submitted")

    started = time.monotonic()
    try:
        verdicts, reasons, summary, per_student = autograde_class(course)
        seconds.update(per_student)
    finally:
        for packages in _site_packages():  # should the vandal ever get there, leave no trace behind
            planted = packages / corpus.PTH_NAME
            if planted.exists():
                planted.rename(course / f"planted-{corpus.PTH_NAME}")
    seconds["autograde"] = time.monotonic() - started
    left_running = processes_under(course)
    print(f"\nhostile batch of {len(CASES)}: generate {seconds['generate']:.0f} s, "
          f"make autograde (re-verifying) {seconds['autograde']:.0f} s")

    plan = planning.plan(course / "source" / ASSIGNMENT / corpus.NOTEBOOK)
    tests = {t.grade_id for t in plan.tests}
    scores = {student: autograded_scores(course, student, tests) for student in CASES}
    max_scores = {t.grade_id: t.points for t in plan.tests}
    return Batch(course, max_scores, scores, verdicts, reasons, seconds, submitted_before, summary, left_running)


def as_scores(batch: Batch, student: str) -> dict[str, float]:
    """A student's scores per test cell; no submission in the gradebook counts as 0."""
    scores = batch.scores[student]
    return {grade_id: float(scores.get(grade_id) or 0.0) for grade_id in batch.max_scores}


def said(batch: Batch, student: str) -> str:
    """What make autograde reported about one student (for a failing assertion's message)."""
    return f"make autograde: {batch.reasons.get(student) or 'graded'} ({batch.seconds.get(student, 0):.1f} s)"


@pytest.mark.slow
@pytest.mark.parametrize("student", list(CASES))
def test_each_submission_scores_what_its_answers_earn(batch: Batch, student: str) -> None:
    case = CASES[student]
    assert as_scores(batch, student) == case.expected(batch.max_scores), (case.what, said(batch, student))
    if student not in batch.verdicts:  # nothing to grade (no notebook): the summary says why
        assert batch.reasons[student]
        return
    # every cell got a verdict, and the gradebook agrees with it
    verdicts = {v.grade_id: v for v in batch.verdicts[student]}
    assert set(verdicts) == set(batch.max_scores)
    for grade_id, score in case.expected(batch.max_scores).items():
        assert verdicts[grade_id].passed == (score > 0), (grade_id, verdicts[grade_id].reason)


@pytest.mark.slow
@pytest.mark.parametrize("student", WRONG_BASED)
def test_a_cheat_scores_exactly_what_the_honest_wrong_answers_score(batch: Batch, student: str) -> None:
    assert as_scores(batch, student) == as_scores(batch, "honest-wrong"), (CASES[student].what, said(batch, student))


@pytest.mark.slow
@pytest.mark.parametrize("student", IN_KERNEL_CHEATS)
def test_a_cheat_in_the_kernel_meets_no_test_there(batch: Batch, student: str) -> None:
    """The cheats patch what the test cells call; the test cells never run in that kernel.

    Their graded notebooks show the clean verdict with its reason, never the snapshot the
    kernel printed.
    """
    outputs = graded_test_cells(batch.course, student)
    assert outputs, f"no graded notebook: {said(batch, student)}"
    for grade_id in CASES[student].cheats_in_kernel:
        errors = [out for out in outputs[grade_id] if out.output_type == "error"]
        assert errors and "customers charged twice" in errors[0].evalue, outputs[grade_id]
        assert batch.scores[student][grade_id] == 0


@pytest.mark.slow
def test_graded_notebooks_show_verdicts_not_snapshots(batch: Batch) -> None:
    for student in CASES:
        for grade_id, outputs in graded_test_cells(batch.course, student).items():
            text = "".join(str(out.get("text", "")) + str(out.get("evalue", "")) for out in outputs)
            assert "@@messagelab-snapshot" not in text, (student, grade_id)


@pytest.mark.slow
def test_the_batch_completes_and_honest_students_are_unaffected(batch: Batch) -> None:
    # Every submission with a notebook has a defined score on every test cell, never None.
    assert {s for s in CASES if batch.scores[s]} == set(CASES) - {"missing-notebook"}
    assert all(score is not None for scores in batch.scores.values() for score in scores.values())
    assert "no notebook in" in batch.reasons["missing-notebook"]
    # the honest students score what they score alone: full marks, and the literal wrong pattern
    assert as_scores(batch, "honest-correct") == batch.max_scores
    assert as_scores(batch, "honest-wrong") == {
        "sys-capacity-littles-law": 2.0,
        "sys-consumers-needed": 2.0,
        "arch-visibility-timeout": 0.0,
        "arch-queue-design": 0.0,
        "sys-monitoring-alarms": 4.0,
    }
    assert not {"honest-correct", "honest-wrong"} & set(batch.reasons)


@pytest.mark.slow
def test_regrading_gives_the_same_verdicts(batch: Batch) -> None:
    from messagelab.instructor.autograde import grade_class

    students = ["patch-check-design", "kernel-crash"]
    again = {r.student: r for r in grade_class(ASSIGNMENT, batch.course, students=students, workers=2, progress=None)
             .results}
    for student in students:
        verdicts = again[student].verification or []
        assert [(v.grade_id, v.passed) for v in verdicts] == [(v.grade_id, v.passed) for v in batch.verdicts[student]]
        assert autograded_scores(batch.course, student, set(batch.max_scores)) == batch.scores[student]


@pytest.mark.slow
def test_the_memory_bomb_hit_the_kernels_limit(batch: Batch) -> None:
    graded = nbformat.read(batch.course / "autograded" / "memory-bomb" / ASSIGNMENT / corpus.NOTEBOOK, 4)
    cell = graded.cells[corpus.index_of(graded, "sys-monitoring-answer")]
    assert [out.ename for out in cell.outputs if out.output_type == "error"] == ["MemoryError"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("student", "reason"),
    [
        ("renamed-notebook", "(found: ex01-message-queues-Copy1.ipynb)"),
        ("corrupt-json", "could not be read as a notebook"),
        ("kernel-crash", "kernel died"),
        ("always-equal", "visibility_timeout_s is not plain data"),
        ("reordered-tests", "NameError: name 'design' is not defined"),
        ("json-bomb", "its answers could not be read (the snapshot is nested too deeply)"),
    ],
)
def test_each_failure_says_why(batch: Batch, student: str, reason: str) -> None:
    failed = [v for v in batch.verdicts[student] if v.passed is False]
    assert failed and any(reason in v.reason for v in failed), [v.reason for v in failed]


# ---------------------------------------------------------------------------
# Attacks on the grader itself (sandbox, verdict channel, time)
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_no_kernel_wrote_outside_its_own_folder(batch: Batch) -> None:
    """The vandal found nothing to write: no mark above its folder, no other submission
    changed, no manual score given, nothing planted in the environment."""
    marks = [str(p.relative_to(batch.course)) for p in batch.course.rglob("HOSTILE-MARK")]
    assert [m for m in marks if not m.startswith("autograded/vandal/")] == []
    assert digests(batch.course / "submitted") == batch.submitted_before
    assert not list(batch.course.glob(f"planted-{corpus.PTH_NAME}"))
    assert not any((packages / corpus.PTH_NAME).exists() for packages in _site_packages())
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{batch.course / 'gradebook.db'}") as gradebook:
        manual = [(g.name, g.student.id) for g in gradebook.db.query(__import__("nbgrader.api").api.Grade)
                  if g.manual_score is not None]
    assert manual == []


@pytest.mark.slow
def test_no_kernel_read_the_solutions_or_the_gradebook(batch: Batch) -> None:
    graded = nbformat.read(batch.course / "autograded" / "vandal" / ASSIGNMENT / corpus.NOTEBOOK, 4)
    text = "".join(str(out.get("text", "")) for cell in graded.cells for out in cell.get("outputs", []))
    assert "SOLUTION-LEAK" not in text and "GRADEBOOK-LEAK" not in text


@pytest.mark.slow
def test_nothing_a_kernel_started_outlives_the_batch(batch: Batch) -> None:
    """The forger's detached process died with its kernel's pid namespace."""
    assert batch.left_running == []


@pytest.mark.slow
def test_links_and_fifos_are_never_followed_or_copied(batch: Batch) -> None:
    import stat

    for student in ("links-and-fifos",):
        graded = batch.course / "autograded" / student / ASSIGNMENT
        kinds = {p.name: stat.S_IFMT(p.lstat().st_mode) for p in graded.iterdir()}
        assert all(kind in (stat.S_IFREG, stat.S_IFDIR) for kind in kinds.values()), kinds
        assert sum(p.lstat().st_size for p in graded.iterdir()) < 10 * 2**20
    for name in ("data.bin (a link)", "pipe.fifo (a FIFO)", "zero.bin (a link)", "trap.fifo (a FIFO)"):
        assert name in batch.summary, batch.summary


@pytest.mark.slow
def test_a_sleeper_is_stopped_at_the_submission_limit_and_an_honest_slow_student_is_not(batch: Batch) -> None:
    from messagelab.instructor.autograde import _duration

    assert f"timed out after {_duration(SUBMISSION_TIMEOUT_S)}" in batch.reasons["sleeper"]
    assert as_scores(batch, "sleeper") == dict.fromkeys(batch.max_scores, 0.0)
    assert as_scores(batch, "slow-honest") == batch.max_scores
    assert "slow-honest" not in batch.reasons


@pytest.mark.slow
def test_the_batch_ran_in_the_sandbox(batch: Batch) -> None:
    assert "students' code ran in: bubblewrap" in batch.summary
    assert "WITHOUT a sandbox" not in batch.summary


@pytest.mark.slow
def test_function_answers_are_graded_outside_the_kernel(tmp_path: Path) -> None:
    """Honest code scores full marks; code wrong on a hidden case, or lying to ``==``, scores what it earns."""
    from messagelab.instructor.autograde import grade_class

    admin.make_course(tmp_path, ["demo"], source_root=FIXTURE_COURSE)
    admin.generate("demo", tmp_path, timeout=600)
    bodies = {
        "honest": "return math.floor(arrival_rate_per_s / service_rate_per_s) + 1",
        "ceiling": "return math.ceil(arrival_rate_per_s / service_rate_per_s)",
        "liar": "class Yes:\n        __eq__ = lambda self, other: True\n    return Yes()",
    }
    for student, body in bodies.items():
        folder = tmp_path / "handed-in" / student
        folder.mkdir(parents=True)
        nb = nbformat.read(tmp_path / "release" / "demo" / "demo.ipynb", as_version=4)
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "arch-consumers")
        cell.source = cell.source.replace("# YOUR CODE HERE\n    raise NotImplementedError()", body)
        assert body in cell.source
        nbformat.write(nb, folder / "demo.ipynb")
        admin.submit(tmp_path, "demo", student, folder)
    results = {r.student: r for r in grade_class("demo", tmp_path, workers=1, progress=None).results}
    scores = {student: {g.grade_id: g.auto_score for g in admin.grades("demo", student, tmp_path)}
              for student in bodies}
    assert scores["honest"] == {"arch-consumers-visible": 1, "sys-consumers-hidden": 2, "arch-consumers": None,
                                "comm-rationale": None} or (
        scores["honest"]["arch-consumers-visible"] == 1 and scores["honest"]["sys-consumers-hidden"] == 2)
    assert scores["ceiling"]["arch-consumers-visible"] == 1 and scores["ceiling"]["sys-consumers-hidden"] == 0
    assert scores["liar"]["arch-consumers-visible"] == 0 and scores["liar"]["sys-consumers-hidden"] == 0
    liar = {v.grade_id: v for v in results["liar"].verification}
    assert liar["arch-consumers-visible"].passed is False and "not plain data" in liar["arch-consumers-visible"].reason
    assert all(v.passed for v in results["honest"].verification)
