"""Module grades from a class built by hand: criteria, weighted totals, letters, the CSV.

A temporary course holds a gradebook written with nbgrader's own Gradebook API: two
assignments whose grade cells cover the four criteria, six students, auto scores, manual
scores (some overriding the autograder), extra credit, an answer not graded yet, a missing
submission and a student who submitted nothing. Every expected number below was worked out
by hand from the points in this file, and is compared with messagelab.instructor.gradebook and with
the CSV a real `nbgrader export` (through `python -m messagelab.instructor grades`) writes.

Points possible: a1 = arch 10 + sys 15 + biz 10 + comm 10 = 45; a2 = arch 30 + sys 5 = 35;
per criterion: arch 40, sys 20, biz 10, comm 10. Weights: arch .40, sys .25, biz .20, comm .15.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from messagelab.instructor import cli
from messagelab.instructor import gradebook as gb
from messagelab.instructor import nbgrader as admin

COURSE_ID = "messaging-eda"

# nbgrader's Gradebook.add_submission trips an SQLAlchemy autoflush warning; rows are written.
pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

# assignment -> grade_id -> (cell type, points)
CELLS = {
    "a1": {
        "arch-design": ("code", 10),
        "sys-tradeoffs": ("markdown", 15),
        "biz-impact": ("markdown", 10),
        "comm-summary": ("markdown", 10),
    },
    "a2": {
        "arch-config": ("code", 30),
        "sys-failures": ("code", 5),
    },
}

# student -> assignment -> grade_id -> (auto score, manual score); an assignment left out
# was not submitted. Written answers have no auto score; None manual = not graded yet.
SUBMISSIONS = {
    "absent": {},
    "ninety": {
        "a1": {
            "arch-design": (9, None),
            "sys-tradeoffs": (None, 13.5),
            "biz-impact": (None, 9),
            "comm-summary": (None, 9),
        },
        "a2": {"arch-config": (27, None), "sys-failures": (4.5, None)},
    },
    "below-ninety": {
        "a1": {
            "arch-design": (9, None),
            "sys-tradeoffs": (None, 13.5),
            "biz-impact": (None, 9),
            "comm-summary": (None, 9),
        },
        # The grader took 3.01 points off a design the tests passed.
        "a2": {"arch-config": (30, 26.99), "sys-failures": (4.5, None)},
    },
    "no-a2": {
        "a1": {
            "arch-design": (10, None),
            "sys-tradeoffs": (None, 15),
            "biz-impact": (None, 10),
            "comm-summary": (None, 10),
        },
    },
    "regraded": {
        "a1": {
            # Failed the test, full marks by hand: the manual score overrides it upwards.
            "arch-design": (0, 10),
            "sys-tradeoffs": (None, 8),
            "biz-impact": (None, 10),
            "comm-summary": (None, 2),
        },
        # Passed the test, half marks by hand: the manual score overrides it downwards.
        "a2": {"arch-config": (30, 15), "sys-failures": (5, None)},
    },
    "ungraded": {
        "a1": {
            "arch-design": (10, None),
            "sys-tradeoffs": (None, None),  # waiting for the grader: counts 0
            "biz-impact": (None, 10),
            "comm-summary": (None, 10),
        },
        "a2": {"arch-config": (30, None), "sys-failures": (5, None)},
    },
}

# Extra credit counts, but a criterion never goes above 100%.
EXTRA_CREDIT = {("no-a2", "a1", "comm-summary"): 2}

# Worked by hand. Criterion % = earned / possible over both assignments; total = Σ weight × %.
#   ninety:       arch 36/40, sys 18/20, biz 9/10, comm 9/10 -> all 90 -> 90.00 A
#   below-ninety: arch 35.99/40 = 89.975 -> .4*89.975 + .25*90 + .2*90 + .15*90 = 89.99 B
#   no-a2:        arch 10/40 = 25, sys 15/20 = 75, biz 100, comm 12/10 capped at 100
#                 -> 10 + 18.75 + 20 + 15 = 63.75 D; a1 = 47/45 = 104.44 %, a2 = 0
#   regraded:     arch (10+15)/40 = 62.5, sys (8+5)/20 = 65, biz 100, comm 2/10 = 20
#                 -> 25 + 16.25 + 20 + 3 = 64.25 D
#   ungraded:     arch 100, sys 5/20 = 25, biz 100, comm 100 -> 40 + 6.25 + 20 + 15 = 81.25 B
#   absent:       nothing submitted -> 0 everywhere, F
EXPECTED = {
    # student: (a1 %, a2 %, arch, sys, biz, comm, total, letter, missing)
    "absent": (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, "F", "a1, a2"),
    "below-ninety": (90.0, 31.49 / 35 * 100, 89.975, 90.0, 90.0, 90.0, 89.99, "B", ""),
    "ninety": (90.0, 90.0, 90.0, 90.0, 90.0, 90.0, 90.0, "A", ""),
    "no-a2": (47 / 45 * 100, 0.0, 25.0, 75.0, 100.0, 100.0, 63.75, "D", "a2"),
    "regraded": (30 / 45 * 100, 20 / 35 * 100, 62.5, 65.0, 100.0, 20.0, 64.25, "D", ""),
    "ungraded": (30 / 45 * 100, 100.0, 100.0, 25.0, 100.0, 100.0, 81.25, "B", ""),
}

# The same class with only a2 counted: biz and comm have no points, so arch and sys share
# the weight 40 : 25, i.e. 40/65 and 25/65.
#   below-ninety: arch 26.99/30 = 89.967, sys 90 -> (40*89.967 + 25*90) / 65 = 89.98 B
#   regraded:     arch 15/30 = 50, sys 100       -> (40*50 + 25*100) / 65 = 69.23 D
EXPECTED_A2_ONLY = {
    # student: (arch, sys, total, letter)
    "absent": (0.0, 0.0, 0.0, "F"),
    "below-ninety": (26.99 / 30 * 100, 90.0, 89.98, "B"),
    "ninety": (90.0, 90.0, 90.0, "A"),
    "no-a2": (0.0, 0.0, 0.0, "F"),
    "regraded": (50.0, 100.0, 69.23, "D"),
    "ungraded": (100.0, 100.0, 100.0, "A"),
}

CSV_COLUMNS = [
    "student_id",
    "a1_pct",
    "a2_pct",
    "arch_pct",
    "sys_pct",
    "biz_pct",
    "comm_pct",
    "total_pct",
    "letter",
    "missing_assignments",
    "weights",
]


def build_class(db: Path) -> None:
    from nbgrader.api import Gradebook

    with admin.interpreter_bin_on_path(), Gradebook(f"sqlite:///{db}", course_id=COURSE_ID) as book:
        for assignment, cells in CELLS.items():
            book.add_assignment(assignment)
            book.add_notebook(assignment, assignment)
            for grade_id, (cell_type, points) in cells.items():
                book.add_grade_cell(grade_id, assignment, assignment, max_score=points, cell_type=cell_type)
        for student, submitted in SUBMISSIONS.items():
            book.add_student(student)
            for assignment, scores in submitted.items():
                book.add_submission(assignment, student)
                for grade_id, (auto, manual) in scores.items():
                    grade = book.find_grade(grade_id, assignment, assignment, student)
                    grade.auto_score = auto
                    grade.needs_manual_grade = auto is None  # as nbgrader's autograder records it
                    book.db.commit()
                    if manual is not None:
                        gb.set_manual_score(book, assignment, assignment, grade_id, student, manual)
        for (student, assignment, grade_id), points in EXTRA_CREDIT.items():
            book.find_grade(grade_id, assignment, assignment, student).extra_credit = points
        book.db.commit()


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A course with the repository's nbgrader_config.py and the hand-built gradebook."""
    root = admin.make_course(tmp_path_factory.mktemp("export-course"), ids=[])
    build_class(root / "gradebook.db")
    return root


@pytest.fixture(scope="module")
def cells(course_dir: Path) -> pd.DataFrame:
    return gb.cell_grades(course_dir / "gradebook.db")


def read_csv(path: Path) -> pd.DataFrame:
    """The CSV as the text it holds: every value a string, empty cells empty."""
    return pd.read_csv(path, dtype=str, keep_default_na=False).set_index("student_id", drop=False)


# ---------------------------------------------------------------------------
# The tidy table
# ---------------------------------------------------------------------------


def test_one_row_per_student_and_grade_cell_missing_submissions_included(cells: pd.DataFrame) -> None:
    assert len(cells) == len(SUBMISSIONS) * 6  # six grade cells in all
    assert list(cells.columns[:7]) == [
        "student",
        "assignment",
        "notebook",
        "grade_id",
        "criterion",
        "cell_type",
        "max_score",
    ]
    missing = cells[(cells["student"] == "no-a2") & (cells["assignment"] == "a2")]
    assert list(missing["submitted"]) == [False, False]
    assert list(missing["final_score"]) == [0.0, 0.0]
    assert missing["max_score"].sum() == 35  # the points were there to earn


def test_manual_score_overrides_auto_score(cells: pd.DataFrame) -> None:
    row = cells.set_index(["student", "assignment", "grade_id"])
    assert row.loc[("regraded", "a1", "arch-design"), ["auto_score", "manual_score", "final_score"]].tolist() == [
        0.0,
        10.0,
        10.0,
    ]
    assert row.loc[("regraded", "a2", "arch-config"), "final_score"] == 15.0
    assert row.loc[("below-ninety", "a2", "arch-config"), "final_score"] == 26.99
    assert row.loc[("no-a2", "a1", "comm-summary"), "final_score"] == 12.0  # 10 + 2 extra credit
    pending = row.loc[("ungraded", "a1", "sys-tradeoffs")]
    assert bool(pending["pending"]) and pending["final_score"] == 0.0
    assert cells["pending"].sum() == 1


def test_criterion_comes_from_the_grade_id_prefix(cells: pd.DataFrame) -> None:
    by_id = dict(zip(cells["grade_id"], cells["criterion"], strict=True))
    assert by_id == {
        "arch-design": "arch",
        "sys-tradeoffs": "sys",
        "biz-impact": "biz",
        "comm-summary": "comm",
        "arch-config": "arch",
        "sys-failures": "sys",
    }


# ---------------------------------------------------------------------------
# Module grades: the pandas functions against the hand-worked numbers
# ---------------------------------------------------------------------------


def test_module_grades_match_the_hand_worked_numbers(cells: pd.DataFrame) -> None:
    grades = gb.module_grades(cells)
    assert list(grades.index) == sorted(EXPECTED)
    columns = ["a1", "a2", "arch", "sys", "biz", "comm", "total"]
    for student, (*numbers, letter, missing) in EXPECTED.items():
        row = grades.loc[student]
        assert row[columns].tolist() == pytest.approx(numbers, abs=1e-9), student
        assert row["letter"] == letter, student
        assert row["missing_assignments"] == missing, student
    assert grades.attrs["weights"] == {"arch": 0.4, "sys": 0.25, "biz": 0.2, "comm": 0.15}


def test_letter_boundaries_exactly_90_is_an_a_and_89_99_a_b(cells: pd.DataFrame) -> None:
    grades = gb.module_grades(cells)
    assert (grades.loc["ninety", "total"], grades.loc["ninety", "letter"]) == (90.0, "A")
    assert (grades.loc["below-ninety", "total"], grades.loc["below-ninety", "letter"]) == (89.99, "B")


def test_missing_submission_counts_zero(cells: pd.DataFrame) -> None:
    grades = gb.module_grades(cells)
    assert grades.loc["no-a2", "a2"] == 0.0
    assert grades.loc["no-a2", "missing"] == 1
    assert grades.loc["absent", ["a1", "a2", "total"]].tolist() == [0.0, 0.0, 0.0]
    assert grades.loc["absent", "missing"] == 2


def test_weights_renormalise_over_the_criteria_with_points(cells: pd.DataFrame) -> None:
    only_a2 = cells[cells["assignment"] == "a2"]
    weights = gb.criterion_weights(only_a2)
    assert weights.to_dict() == pytest.approx({"arch": 40 / 65, "sys": 25 / 65})
    grades = gb.module_grades(only_a2)
    for student, (arch, sys_pct, total, letter) in EXPECTED_A2_ONLY.items():
        assert grades.loc[student, ["arch", "sys", "total"]].tolist() == pytest.approx([arch, sys_pct, total])
        assert grades.loc[student, "letter"] == letter
        assert grades.loc[student, ["biz", "comm"]].isna().all(), "no points: no percentage, not 0"
    assert grades.attrs["weights_note"] == (
        "arch 61.54%, sys 38.46% (renormalised: no points for biz, comm in the assignments counted)"
    )


def test_unknown_assignment_or_missing_gradebook_is_a_clear_error(course_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="assignments not in the gradebook: a3"):
        gb.cell_grades(course_dir / "gradebook.db", assignments=["a1", "a3"])
    with pytest.raises(gb.NoGradebook, match="No gradebook yet: run make autograde"):
        gb.cell_grades(tmp_path / "gradebook.db")
    assert not (tmp_path / "gradebook.db").exists(), "reading must never create a gradebook"


# ---------------------------------------------------------------------------
# The CSV written by `nbgrader export` with the course's plugin
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_make_grades_writes_the_hand_worked_csv(course_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m messagelab.instructor grades` runs `nbgrader export`, which uses the course's plugin."""
    assert cli.main(["--root", str(course_dir), "grades", "--to", "grades.csv"]) == 0
    assert "6 students (A 1, B 2, C 0, D 2, F 1)" in capsys.readouterr().out
    csv = read_csv(course_dir / "grades.csv")
    assert list(csv.columns) == CSV_COLUMNS
    assert list(csv.index) == sorted(EXPECTED)
    assert csv.loc["ninety"].tolist() == [
        "ninety",
        "90.00",
        "90.00",
        "90.00",
        "90.00",
        "90.00",
        "90.00",
        "90.00",
        "A",
        "",
        "arch 40%, sys 25%, biz 20%, comm 15%",
    ]
    assert csv.loc["below-ninety", ["a1_pct", "a2_pct", "total_pct", "letter"]].tolist() == [
        "90.00",
        "89.97",
        "89.99",
        "B",
    ]
    no_a2 = ["a1_pct", "a2_pct", "comm_pct", "total_pct", "letter", "missing_assignments"]
    assert csv.loc["no-a2", no_a2].tolist() == [
        "104.44",
        "0.00",
        "100.00",
        "63.75",
        "D",
        "a2",
    ]
    assert csv.loc["absent", ["total_pct", "letter", "missing_assignments"]].tolist() == ["0.00", "F", "a1, a2"]
    numeric = ["a1_pct", "a2_pct", "arch_pct", "sys_pct", "biz_pct", "comm_pct", "total_pct"]
    for student, (*numbers, letter, missing) in EXPECTED.items():
        assert [float(csv.loc[student, c]) for c in numeric] == pytest.approx(numbers, abs=0.005001), student
        assert (csv.loc[student, "letter"], csv.loc[student, "missing_assignments"]) == (letter, missing)


@pytest.mark.slow
def test_nbgrader_export_counts_only_the_assignments_named(course_dir: Path) -> None:
    """nbgrader's documented `--assignment=[...]` form chooses the assignments; weights renormalise."""
    admin.run_nbgrader("export", "--to=a2.csv", "--assignment=[a2]", root=course_dir)
    csv = read_csv(course_dir / "a2.csv")
    assert list(csv.columns) == [c for c in CSV_COLUMNS if c != "a1_pct"]
    for student, (arch, sys_pct, total, letter) in EXPECTED_A2_ONLY.items():
        row = csv.loc[student]
        assert [float(row["arch_pct"]), float(row["sys_pct"])] == pytest.approx([arch, sys_pct], abs=0.005001)
        assert (row["total_pct"], row["letter"]) == (f"{total:.2f}", letter)
        assert (row["biz_pct"], row["comm_pct"]) == ("", ""), "a criterion with no points is left empty"
    assert set(csv["weights"]) == {
        "arch 61.54%, sys 38.46% (renormalised: no points for biz, comm in the assignments counted)"
    }


def test_the_answers_waiting_for_a_manual_grade_are_named_by_student(cells: pd.DataFrame) -> None:
    from messagelab.instructor.gradebook import pending_by_student

    assert pending_by_student(cells) == ("1 answer of 1 student still waits for a manual grade and counts 0 "
                                         "until graded: ungraded (a1/sys-tradeoffs)")
    many = pd.concat([cells.assign(student=cells["student"] + f"-{k}") for k in range(7)])
    text = pending_by_student(many, shown=5)
    assert text.startswith("7 answers of 7 students") and text.endswith("and 2 more students")
    assert pending_by_student(cells[~cells["pending"]]) == "no answer waits for a manual grade"
