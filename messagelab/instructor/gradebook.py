"""The class's grades: nbgrader's gradebook as tidy tables, module grades and the dashboard.

nbgrader keeps one score per grade cell of every submitted notebook. The module grade is
built from those cells in three steps::

    grade cell ──► criterion (the grade_id prefix: arch-, sys-, biz-, comm-)
    points earned ÷ points possible per criterion, over every assignment counted
    weighted total = Σ weight × criterion percentage  ──►  letter (A ≥ 90 … F < 60)

The score that counts for a cell is nbgrader's own: the manual score when a grader set
one (it overrides the autograder's), otherwise the auto score, plus any extra credit. An
assignment a student never submitted scores 0 for that student: the points were there to
earn. Assignments count once anyone has a submission in the gradebook (a generated but
not yet collected assignment is not held against the class); name them to choose.
nbgrader's late-submission penalties are not subtracted: the course sets none (see
nbgrader_config.py), and graders adjust a late answer's score in the formgrader instead.

Everything here reads the gradebook with plain SQL, so it works on nbgrader's SQLite file
and on a server database alike, and never writes to it (except :func:`set_manual_score`
and :func:`build_demo`). The export plugin (:mod:`messagelab.instructor.export`) and the
instructor dashboard (``notebooks/instructor-dashboard.ipynb``) are thin layers over it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go

from messagelab.assignments import ex01
from messagelab.course.catalogue import (
    ASSIGNMENTS,
    COMPLETION_TARGET_PCT,
    GRADING_CRITERIA,
    QUALITY_TARGET_PCT,
    criterion_of,
    letter_grade,
)
from messagelab.course.root import course_root

if TYPE_CHECKING:
    from nbgrader.api import Gradebook

__all__ = [
    "AT_RISK_RULE",
    "CRITERIA",
    "ENV_VAR",
    "ClassReport",
    "NoGradebook",
    "assignment_scores",
    "build_demo",
    "cell_grades",
    "completion",
    "completion_figure",
    "criterion_averages",
    "criterion_figure",
    "criterion_scores",
    "criterion_weights",
    "default_source",
    "export_table",
    "hardest_figure",
    "hardest_questions",
    "letter_counts",
    "letter_figure",
    "module_grades",
    "score_figure",
    "set_manual_score",
    "student_success",
    "students_at_risk",
    "success_figure",
    "success_metrics",
    "weights_note",
]

#: Criterion keys in the order of the module's grading scheme: arch, sys, biz, comm.
CRITERIA: tuple[str, ...] = tuple(GRADING_CRITERIA)

#: Environment variable naming another gradebook (a file, or a database URL).
ENV_VAR = "MESSAGELAB_GRADEBOOK"

#: Who the dashboard flags, in words (:func:`students_at_risk` applies it).
AT_RISK_RULE = "a weighted total below 60, or below 70 with at least one assignment not submitted"

_RISK_TOTAL = 60.0
_RISK_TOTAL_WITH_MISSING = 70.0

LETTERS = ("A", "B", "C", "D", "F")

_KIND = {a.id: a.kind for a in ASSIGNMENTS}

#: Who counts as on track, in words (:func:`student_success` applies it).
ON_TRACK_RULE = (f"every core exercise counted so far submitted, and a weighted total of at least "
                 f"{QUALITY_TARGET_PCT:g}%")

_CELL_COLUMNS = [
    "student",
    "assignment",
    "notebook",
    "grade_id",
    "criterion",
    "cell_type",
    "max_score",
    "auto_score",
    "manual_score",
    "extra_credit",
    "final_score",
    "submitted",
    "pending",
]


def _charts_that_survive_export() -> None:
    """In a notebook kernel, make each chart carry HTML with plotly.js embedded (once per notebook).

    JupyterLab draws plotly's own JSON output; a static HTML export (``jupyter nbconvert --to
    html``, File → Save and Export) has no plotly extension and shows only HTML, which the
    ``notebook`` renderer adds. Embedded rather than linked, so a shared file needs no network.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return
    import plotly.io as pio

    if "notebook" not in pio.renderers.default.split("+"):
        pio.renderers.default = "plotly_mimetype+notebook"


def pending_by_student(cells: pd.DataFrame, shown: int = 5) -> str:
    """Who still waits for a manual grade, and on which answers: the first ``shown`` students by name.

    >>> cells = pd.DataFrame({"student": ["bob", "bob", "amy"], "assignment": ["a1"] * 3,
    ...                       "grade_id": ["x", "y", "x"], "pending": [True, True, True]})
    >>> pending_by_student(cells)
    '3 answers of 2 students still wait for a manual grade and count 0 until graded: amy (a1/x), bob (a1/x, a1/y)'
    """
    pending = cells[cells["pending"]]
    if pending.empty:
        return "no answer waits for a manual grade"
    answers = (pending["assignment"] + "/" + pending["grade_id"]).groupby(pending["student"]).apply(sorted)
    names = [f"{student} ({', '.join(ids)})" for student, ids in answers.items()]
    more = len(names) - shown
    listed = ", ".join(names[:shown]) + (f" and {more} more student{'s' if more > 1 else ''}" if more > 0 else "")
    students = f"{len(names)} student{'s' if len(names) > 1 else ''}"
    many = len(pending) > 1
    return (f"{len(pending)} answer{'s' if many else ''} of {students} still wait{'' if many else 's'} for a "
            f"manual grade and count{'' if many else 's'} 0 until graded: {listed}")


def _empty_cells() -> pd.DataFrame:
    """A cell table with no rows and the columns and types of :func:`cell_grades`."""
    types = {
        "max_score": float,
        "auto_score": float,
        "manual_score": float,
        "extra_credit": float,
        "final_score": float,
        "submitted": bool,
        "pending": bool,
    }
    return pd.DataFrame({column: pd.Series(dtype=types.get(column, "str")) for column in _CELL_COLUMNS})


class NoGradebook(FileNotFoundError):
    """There is no gradebook where one was looked for."""


# ---------------------------------------------------------------------------
# Reading the gradebook
# ---------------------------------------------------------------------------

# Grade cells and task cells both carry points (nbgrader's GradedMixin).
_CELLS_SQL = """
SELECT a.name AS assignment, n.name AS notebook, c.name AS grade_id,
       COALESCE(gc.max_score, tc.max_score) AS max_score,
       COALESCE(gc.cell_type, tc.cell_type) AS cell_type
FROM base_cell c
JOIN notebook n ON n.id = c.notebook_id
JOIN assignment a ON a.id = n.assignment_id
LEFT JOIN grade_cells gc ON gc.id = c.id
LEFT JOIN task_cells tc ON tc.id = c.id
WHERE c.type IN ('GradeCell', 'TaskCell')
"""

_GRADES_SQL = """
SELECT sa.student_id AS student, a.name AS assignment, n.name AS notebook, c.name AS grade_id,
       g.auto_score, g.manual_score, g.extra_credit
FROM grade g
JOIN base_cell c ON c.id = g.cell_id
JOIN submitted_notebook sn ON sn.id = g.notebook_id
JOIN notebook n ON n.id = sn.notebook_id
JOIN submitted_assignment sa ON sa.id = sn.assignment_id
JOIN assignment a ON a.id = sa.assignment_id
"""

_SUBMISSIONS_SQL = """
SELECT sa.student_id AS student, a.name AS assignment
FROM submitted_assignment sa
JOIN assignment a ON a.id = sa.assignment_id
"""

_STUDENTS_SQL = "SELECT id AS student FROM student"

_ASSIGNMENTS_SQL = "SELECT name AS assignment FROM assignment"


def default_source() -> str:
    """The gradebook to read: ``$MESSAGELAB_GRADEBOOK`` if set, else the course's own.

    The variable holds a file path or a database URL (``postgresql+psycopg://…``). The
    course's own is the one its ``nbgrader_config.py`` names (``CourseDirectory.db_url``),
    ``<repo root>/gradebook.db`` by default: a SQLite gradebook is given as its path, so it
    is opened read-only.
    """
    from messagelab.instructor.nbgrader import gradebook_url, sqlite_file

    named = os.environ.get(ENV_VAR, "").strip()
    if named:
        return named
    url = gradebook_url(course_root())
    path = sqlite_file(url)
    return str(path) if path is not None else url


def _describe(source: Any) -> str:
    return str(source) if isinstance(source, (str, os.PathLike)) else "the open gradebook"


def _read_tables(source: Any) -> dict[str, pd.DataFrame]:
    """Run the queries against a path, a database URL or an nbgrader ``Gradebook``."""
    import sqlalchemy

    queries = {
        "cells": _CELLS_SQL,
        "grades": _GRADES_SQL,
        "submissions": _SUBMISSIONS_SQL,
        "students": _STUDENTS_SQL,
        "assignments": _ASSIGNMENTS_SQL,
    }
    owned = False
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if "://" in text:
            engine = sqlalchemy.create_engine(text)
        else:
            path = Path(text)
            if not path.is_file():
                raise NoGradebook(
                    f"No gradebook yet: run make autograde ASSIGNMENT=<id> after collecting "
                    f"submissions (looked for {path})"
                )
            # Read-only: looking at the grades must never create or change a gradebook.
            engine = sqlalchemy.create_engine(f"sqlite:///file:{path.resolve()}?mode=ro&uri=true")
        owned = True
    else:
        engine = source.engine  # an nbgrader Gradebook, e.g. the one `nbgrader export` opened
    try:
        with engine.connect() as connection:
            return {name: pd.read_sql(sqlalchemy.text(sql), connection) for name, sql in queries.items()}
    finally:
        if owned:
            engine.dispose()


def _module_order(ids: Iterable[str]) -> list[str]:
    """Assignment ids in the module's order; ids the catalogue does not know come last, by name."""
    position = {a.id: i for i, a in enumerate(ASSIGNMENTS)}
    return sorted(set(ids), key=lambda i: (position.get(i, len(position)), i))


def _check_known(kind: str, wanted: Sequence[str], known: Iterable[str]) -> None:
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise ValueError(f"{kind} not in the gradebook: {', '.join(unknown)}")


def cell_grades(
    source: str | os.PathLike[str] | Gradebook | None = None,
    *,
    assignments: Sequence[str] | None = None,
    students: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per (student, assignment, notebook, grade cell): the tidy gradebook.

    Args:
        source: a gradebook file, a database URL or an open nbgrader ``Gradebook``
            (default: :func:`default_source`).
        assignments: the assignments to count (default: every assignment with at least
            one submission), in the module's order.
        students: the students to include (default: every student in the gradebook).

    Returns:
        Columns ``student``, ``assignment``, ``notebook``, ``grade_id``, ``criterion``
        (``arch``/``sys``/``biz``/``comm``, or missing when the grade_id has no criterion
        prefix), ``cell_type`` (``code`` or ``markdown``), ``max_score``, ``auto_score``,
        ``manual_score``, ``extra_credit`` (points, missing when unset), ``final_score``
        (points that count: manual over auto, plus extra credit; 0 when not submitted),
        ``submitted`` (bool) and ``pending`` (a submitted answer with no score yet, a
        written answer waiting for the grader; it counts 0 until graded). Every student has a row for every cell
        of every assignment counted, submitted or not.

    Raises:
        NoGradebook: if ``source`` is a file that does not exist.
        ValueError: if an assignment or student asked for is not in the gradebook.
    """
    tables = _read_tables(default_source() if source is None else source)
    cells, grades, submissions = tables["cells"], tables["grades"], tables["submissions"]

    if assignments is None:
        counted = _module_order(submissions["assignment"])
    else:
        _check_known("assignments", assignments, tables["assignments"]["assignment"])
        counted = _module_order(assignments)
    roster = sorted(tables["students"]["student"])
    if students is not None:
        _check_known("students", students, roster)
        roster = sorted(set(students))

    cells = cells[cells["assignment"].isin(counted)]
    if not roster or cells.empty:
        return _empty_cells()
    keys = ["student", "assignment", "notebook", "grade_id"]
    frame = pd.DataFrame({"student": roster}, dtype="str").merge(
        cells.astype({k: "str" for k in keys[1:]}), how="cross"
    )
    frame = frame.merge(grades.astype({k: "str" for k in keys}), on=keys, how="left")
    handed_in = set(zip(submissions["student"], submissions["assignment"], strict=True))
    frame["submitted"] = [(s, a) in handed_in for s, a in zip(frame["student"], frame["assignment"], strict=True)]

    for column in ("max_score", "auto_score", "manual_score", "extra_credit"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    earned = frame["manual_score"].where(frame["manual_score"].notna(), frame["auto_score"]).fillna(0.0)
    frame["final_score"] = (earned + frame["extra_credit"].fillna(0.0)).where(frame["submitted"], 0.0)
    frame["pending"] = frame["submitted"] & frame["manual_score"].isna() & frame["auto_score"].isna()
    frame["criterion"] = frame["grade_id"].map(criterion_of)

    order = {a: i for i, a in enumerate(counted)}
    frame = frame.assign(_order=frame["assignment"].map(order))
    frame = frame.sort_values(["student", "_order", "notebook", "grade_id"], kind="stable")
    return frame[_CELL_COLUMNS].reset_index(drop=True)


# ---------------------------------------------------------------------------
# Module grades
# ---------------------------------------------------------------------------


def _counted_assignments(cells: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(cells["assignment"]))


def _percent(cells: pd.DataFrame, by: str) -> pd.DataFrame:
    """Points earned ÷ points possible × 100 per student and ``by`` (missing when nothing is possible)."""
    totals = cells.groupby(["student", by])[["final_score", "max_score"]].sum()
    possible = totals["max_score"].where(totals["max_score"] > 0)
    return (totals["final_score"] * 100 / possible).unstack(by)


def assignment_scores(cells: pd.DataFrame) -> pd.DataFrame:
    """Each student's score on each assignment counted, in percent (0 when not submitted).

    Extra credit can take a score above 100.
    """
    students = sorted(cells["student"].unique())
    assignments = _counted_assignments(cells)
    if cells.empty:
        return pd.DataFrame(index=pd.Index(students, name="student"), columns=assignments, dtype=float)
    scores = _percent(cells, "assignment").reindex(index=students, columns=assignments)
    scores.columns.name = None
    return scores


def criterion_scores(cells: pd.DataFrame) -> pd.DataFrame:
    """Each student's percentage per criterion over every assignment counted.

    Points earned ÷ points possible within the criterion, × 100, capped at 100 (extra
    credit cannot lift a criterion above full marks). A criterion no counted cell
    carries is missing (NaN), not 0. Columns in the order ``arch``, ``sys``, ``biz``, ``comm``.
    """
    students = sorted(cells["student"].unique())
    graded = cells[cells["criterion"].notna()]
    if graded.empty:
        return pd.DataFrame(index=pd.Index(students, name="student"), columns=list(CRITERIA), dtype=float)
    scores = _percent(graded, "criterion").clip(upper=100).reindex(index=students, columns=list(CRITERIA))
    scores.columns.name = None
    return scores


def criterion_weights(cells: pd.DataFrame) -> pd.Series:
    """The weight (a fraction, summing to 1) of each criterion that carries points.

    The module's weights are arch 40 %, sys 25 %, biz 20 %, comm 15 %. When a criterion has
    no points in any assignment counted, the weights of the others are scaled up in
    proportion so they still sum to 1 (arch 50 %, sys 31.25 %, comm 18.75 % without biz).
    """
    possible = cells[cells["criterion"].notna()].groupby("criterion")["max_score"].sum()
    present = [key for key in CRITERIA if possible.get(key, 0) > 0]
    raw = pd.Series({key: float(GRADING_CRITERIA[key].weight_percent) for key in present}, dtype=float)
    return raw / raw.sum() if present else raw


def weights_note(weights: pd.Series) -> str:
    """The weights used, in words, saying when they were renormalised."""
    if weights.empty:
        return "no criterion has points: no weighted total"
    used = ", ".join(f"{key} {100 * value:.4g}%" for key, value in weights.items())
    absent = [key for key in CRITERIA if key not in weights.index]
    if not absent:
        return used
    return f"{used} (renormalised: no points for {', '.join(absent)} in the assignments counted)"


def module_grades(cells: pd.DataFrame) -> pd.DataFrame:
    """The module grade of every student: one row per student, indexed by student id.

    Columns: one per assignment counted (its score in percent), ``arch``, ``sys``,
    ``biz``, ``comm`` (criterion percentages), ``total`` (Σ weight × criterion
    percentage, rounded to 2 decimals), ``letter`` (from the rounded total, so 89.99 is a
    B and 90.00 an A), ``missing`` (how many assignments were not submitted) and
    ``missing_assignments`` (their ids, comma-separated).

    ``attrs["weights"]`` holds the weights used (see :func:`criterion_weights`) and
    ``attrs["weights_note"]`` says them in words, including whether they were renormalised.
    """
    by_assignment = assignment_scores(cells)
    by_criterion = criterion_scores(cells)
    weights = criterion_weights(cells)
    grades = pd.concat([by_assignment, by_criterion], axis=1)
    if weights.empty:
        grades["total"] = float("nan")
    else:
        grades["total"] = (by_criterion[weights.index] * weights).sum(axis=1, min_count=1).round(2)
    grades["letter"] = grades["total"].map(lambda total: "" if pd.isna(total) else letter_grade(total))

    submitted = cells.drop_duplicates(["student", "assignment"])
    not_in = submitted.loc[~submitted["submitted"].astype(bool)]
    missing_ids = not_in.groupby("student")["assignment"].agg(lambda ids: ", ".join(ids))
    grades["missing"] = not_in.groupby("student").size().reindex(grades.index, fill_value=0).astype(int)
    grades["missing_assignments"] = missing_ids.reindex(grades.index).fillna("").astype(str)
    grades.index.name = "student"
    grades.attrs["weights"] = weights.to_dict()
    grades.attrs["weights_note"] = weights_note(weights)
    return grades


def export_table(cells: pd.DataFrame) -> pd.DataFrame:
    """The grades CSV as a table: one row per student, numbers rounded to 2 decimals.

    Columns: ``student_id``; ``<assignment>_pct`` per assignment counted; ``arch_pct``,
    ``sys_pct``, ``biz_pct``, ``comm_pct``; ``total_pct``; ``letter``;
    ``missing_assignments``; ``weights`` (the weights used, as in :func:`weights_note`).
    """
    grades = module_grades(cells)
    assignments = _counted_assignments(cells)
    table = pd.DataFrame({"student_id": grades.index})
    for assignment in assignments:
        table[f"{assignment}_pct"] = grades[assignment].round(2).to_numpy()
    for key in CRITERIA:
        table[f"{key}_pct"] = grades[key].round(2).to_numpy()
    table["total_pct"] = grades["total"].to_numpy()
    table["letter"] = grades["letter"].to_numpy()
    table["missing_assignments"] = grades["missing_assignments"].to_numpy()
    table["weights"] = grades.attrs["weights_note"]
    return table


# ---------------------------------------------------------------------------
# The class at a glance (what the dashboard shows)
# ---------------------------------------------------------------------------


def completion(cells: pd.DataFrame) -> pd.DataFrame:
    """Per assignment counted: ``students``, ``submitted`` and ``completion_pct``."""
    per_student = cells.drop_duplicates(["student", "assignment"])
    table = per_student.groupby("assignment", sort=False)["submitted"].agg(students="size", submitted="sum")
    table = table.reindex(_counted_assignments(cells))
    table["submitted"] = table["submitted"].astype(int)
    table["completion_pct"] = (100 * table["submitted"] / table["students"]).round(1)
    return table


def letter_counts(grades: pd.DataFrame) -> pd.DataFrame:
    """How many students have each letter, A to F, and their share in percent."""
    counts = grades["letter"].value_counts().reindex(list(LETTERS), fill_value=0).astype(int)
    total = int(counts.sum())
    table = pd.DataFrame({"students": counts})
    table["share_pct"] = (100 * counts / total).round(1) if total else 0.0
    table.index.name = "letter"
    return table


def criterion_averages(grades: pd.DataFrame) -> pd.DataFrame:
    """The class's mean percentage per criterion, with each criterion's name and weight."""
    rows = [
        {
            "criterion": key,
            "name": GRADING_CRITERIA[key].name,
            "weight_pct": GRADING_CRITERIA[key].weight_percent,
            "mean_pct": round(float(grades[key].mean()), 1) if grades[key].notna().any() else float("nan"),
        }
        for key in CRITERIA
    ]
    return pd.DataFrame(rows).set_index("criterion")


def hardest_questions(cells: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The ``n`` grade cells with the lowest mean percentage, hardest first.

    Only submitted answers count (a missing submission says nothing about a question),
    and answers still waiting for a manual grade are left out.
    """
    answered = cells[cells["submitted"] & ~cells["pending"] & (cells["max_score"] > 0)]
    answered = answered.assign(pct=100 * answered["final_score"] / answered["max_score"])
    table = answered.groupby(["assignment", "grade_id"], sort=False).agg(
        criterion=("criterion", "first"),
        cell_type=("cell_type", "first"),
        max_score=("max_score", "first"),
        answers=("pct", "size"),
        mean_pct=("pct", "mean"),
    )
    table["mean_pct"] = table["mean_pct"].round(1)
    return table.sort_values("mean_pct", kind="stable").head(n).reset_index()


def students_at_risk(grades: pd.DataFrame) -> pd.DataFrame:
    """Students the rule in :data:`AT_RISK_RULE` flags, lowest total first, with the reason."""
    low = grades["total"] < _RISK_TOTAL
    low_and_missing = (grades["total"] < _RISK_TOTAL_WITH_MISSING) & (grades["missing"] > 0)
    flagged = grades.loc[low | low_and_missing, ["total", "letter", "missing", "missing_assignments"]].copy()
    flagged["reason"] = [
        f"total below {_RISK_TOTAL:g}"
        if total < _RISK_TOTAL
        else f"total below {_RISK_TOTAL_WITH_MISSING:g} with {missing} missing"
        for total, missing in zip(flagged["total"], flagged["missing"], strict=True)
    ]
    return flagged.sort_values(["total"], kind="stable")


def _core_counted(cells: pd.DataFrame) -> list[str]:
    """The core exercises among the assignments counted, in module order."""
    return [a for a in _counted_assignments(cells) if _KIND.get(a) == "exercise"]


def student_success(cells: pd.DataFrame) -> pd.DataFrame:
    """Each student against the outline's targets: one row per student.

    Columns: ``core_submitted`` (core exercises counted so far that the student submitted),
    ``core_counted``, ``completion_pct`` (their share; the target is 100%), ``quality_pct``
    (the weighted total; the target is an 80% average), ``arch`` … ``comm`` (criterion
    percentages), ``on_track`` (:data:`ON_TRACK_RULE`) and ``short_of`` (what is missing,
    in words). With no core exercise counted yet, completion is missing (NaN), not 0.
    """
    grades = module_grades(cells)
    core = _core_counted(cells)
    done = cells.drop_duplicates(["student", "assignment"])
    done = done[done["assignment"].isin(core) & done["submitted"].astype(bool)]
    table = pd.DataFrame(index=grades.index)
    table["core_submitted"] = done.groupby("student").size().reindex(grades.index, fill_value=0).astype(int)
    table["core_counted"] = len(core)
    table["completion_pct"] = (100 * table["core_submitted"] / len(core)).round(1) if core else float("nan")
    table["quality_pct"] = grades["total"]
    for key in CRITERIA:
        table[key] = grades[key].round(1)
    complete = table["core_submitted"] >= len(core)
    good = table["quality_pct"] >= QUALITY_TARGET_PCT
    table["on_track"] = complete & good
    table["short_of"] = [
        "; ".join(filter(None, [
            "" if c else f"{n - k} core exercise{'s' if n - k != 1 else ''} not submitted",
            "" if g else f"total {q:.1f}% < {QUALITY_TARGET_PCT:g}%" if pd.notna(q) else "no total yet",
        ]))
        for c, g, k, n, q in zip(complete, good, table["core_submitted"], table["core_counted"],
                                 table["quality_pct"], strict=True)
    ]
    return table


def success_metrics(cells: pd.DataFrame) -> pd.DataFrame:
    """The class against the outline's success targets, one row per metric.

    Rows: core-exercise completion (target 100%), average quality (the weighted total,
    target 80%), then each criterion's average (target 80%) and the share of students on
    track. Columns: ``target_pct``, ``class_pct`` (the class's mean), ``students_meeting``
    (how many students meet the target themselves, of ``students``) and ``met`` (whether
    the class's mean meets it).
    """
    table = student_success(cells)
    students = len(table)
    rows = []

    def add(metric: str, target: float, values: pd.Series) -> None:
        known = values.dropna()
        mean = round(float(known.mean()), 1) if not known.empty else float("nan")
        rows.append({"metric": metric, "target_pct": target, "class_pct": mean,
                     "students_meeting": int((known >= target).sum()), "students": students,
                     "met": bool(pd.notna(mean) and mean >= target)})

    add("core exercises completed", COMPLETION_TARGET_PCT, table["completion_pct"])
    add("average quality (weighted total)", QUALITY_TARGET_PCT, table["quality_pct"])
    for key in CRITERIA:
        add(f"{GRADING_CRITERIA[key].name} average", QUALITY_TARGET_PCT, table[key])
    on_track = 100.0 * table["on_track"].astype(float)
    rows.append({"metric": "students on track", "target_pct": COMPLETION_TARGET_PCT,
                 "class_pct": round(float(on_track.mean()), 1) if students else float("nan"),
                 "students_meeting": int(table["on_track"].sum()), "students": students,
                 "met": bool(students and table["on_track"].all())})
    return pd.DataFrame(rows).set_index("metric")


# ---------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------

_LAYOUT = {"template": "plotly_white", "height": 360, "margin": {"l": 60, "r": 20, "t": 60, "b": 60}}


def _empty_figure(title: str, message: str = "No grades yet") -> go.Figure:
    figure = go.Figure(layout={**_LAYOUT, "title": title})
    figure.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return figure


def completion_figure(table: pd.DataFrame) -> go.Figure:
    """Bars: the share of students who submitted each assignment (from :func:`completion`)."""
    title = "Submissions per assignment"
    if table.empty:
        return _empty_figure(title)
    figure = go.Figure(
        go.Bar(
            x=list(table.index),
            y=table["completion_pct"],
            text=[f"{s} of {n}" for s, n in zip(table["submitted"], table["students"], strict=True)],
            textposition="auto",
        ),
        layout={**_LAYOUT, "title": title},
    )
    figure.update_yaxes(title="students who submitted (%)", range=[0, 100])
    return figure


def score_figure(grades: pd.DataFrame) -> go.Figure:
    """Histogram of weighted totals in 5-point bins, with the letter boundaries marked."""
    title = "Weighted totals"
    totals = grades["total"].dropna()
    if totals.empty:
        return _empty_figure(title)
    figure = go.Figure(
        go.Histogram(x=totals, xbins={"start": 0, "end": 100.01, "size": 5}),
        layout={**_LAYOUT, "title": title},
    )
    for floor, letter in ((60, "D"), (70, "C"), (80, "B"), (90, "A")):
        figure.add_vline(x=floor, line_dash="dot", line_color="grey", annotation_text=f"{letter} ≥ {floor}")
    figure.update_xaxes(title="weighted total (%)", range=[0, 100.5])
    figure.update_yaxes(title="students")
    return figure


def letter_figure(counts: pd.DataFrame) -> go.Figure:
    """Bars: how many students have each letter (from :func:`letter_counts`)."""
    title = "Letter grades"
    if counts.empty or counts["students"].sum() == 0:
        return _empty_figure(title)
    figure = go.Figure(go.Bar(x=list(counts.index), y=counts["students"]), layout={**_LAYOUT, "title": title})
    figure.update_yaxes(title="students")
    return figure


def criterion_figure(averages: pd.DataFrame) -> go.Figure:
    """Bars: the class's mean percentage per criterion (from :func:`criterion_averages`)."""
    title = "Mean percentage per criterion"
    shown = averages.dropna(subset=["mean_pct"])
    if shown.empty:
        return _empty_figure(title)
    labels = [f"{name} ({weight}%)" for name, weight in zip(shown["name"], shown["weight_pct"], strict=True)]
    figure = go.Figure(go.Bar(x=labels, y=shown["mean_pct"]), layout={**_LAYOUT, "title": title})
    figure.update_yaxes(title="class mean (%)", range=[0, 100])
    return figure


def success_figure(metrics: pd.DataFrame) -> go.Figure:
    """Bars: the class's mean on each success metric, each with its target marked (from :func:`success_metrics`)."""
    title = "The class against the module's success targets"
    shown = metrics.dropna(subset=["class_pct"])
    if shown.empty:
        return _empty_figure(title)
    colours = ["seagreen" if met else "indianred" for met in shown["met"]]
    figure = go.Figure(
        go.Bar(x=list(shown.index), y=shown["class_pct"], marker_color=colours, name="class mean",
               text=[f"{v:.0f}%" for v in shown["class_pct"]], textposition="auto"),
        layout={**_LAYOUT, "title": title, "height": 420},
    )
    figure.add_scatter(x=list(shown.index), y=shown["target_pct"], mode="markers", name="target",
                       marker={"symbol": "line-ew-open", "size": 28, "line": {"width": 3}, "color": "black"})
    figure.update_yaxes(title="class mean (%)", range=[0, 105])
    return figure


def hardest_figure(table: pd.DataFrame) -> go.Figure:
    """Horizontal bars: mean percentage of the hardest grade cells (from :func:`hardest_questions`)."""
    title = "Hardest questions"
    if table.empty:
        return _empty_figure(title)
    labels = [f"{a} / {g}" for a, g in zip(table["assignment"], table["grade_id"], strict=True)]
    figure = go.Figure(
        go.Bar(x=table["mean_pct"], y=labels, orientation="h"),
        layout={**_LAYOUT, "title": title},
    )
    figure.update_xaxes(title="mean score of those who answered (%)", range=[0, 100])
    figure.update_yaxes(autorange="reversed")
    return figure


@dataclass
class ClassReport:
    """Everything the instructor dashboard shows, from one read of the gradebook.

    Build it with :meth:`load`. When there is no gradebook (or no graded submission yet)
    ``ready`` is false, ``status`` says what to do, tables are empty and figures say
    "No grades yet", so the dashboard runs top to bottom either way.
    """

    source: str
    status: str
    cells: pd.DataFrame

    @classmethod
    def load(cls, source: str | os.PathLike[str] | None = None) -> ClassReport:
        from messagelab.instructor.nbgrader import shown_url

        _charts_that_survive_export()
        read = default_source() if source is None else os.fspath(source)
        where = shown_url(read)
        try:
            cells = cell_grades(read)
        except NoGradebook as missing:
            return cls(where, str(missing), _empty_cells())
        if cells.empty:
            status = (
                f"No grades yet: {where} has no graded submissions. Collect submissions, then "
                "run make autograde ASSIGNMENT=<id>."
            )
            return cls(where, status, cells)
        grades = module_grades(cells)
        assignments = _counted_assignments(cells)
        status = (
            f"Gradebook {where}: {len(grades)} students, {len(assignments)} assignments counted "
            f"({', '.join(assignments)}). Weights: {grades.attrs['weights_note']}."
        )
        if cells["pending"].any():
            status += f" {pending_by_student(cells)}."
        return cls(where, status, cells)

    @property
    def ready(self) -> bool:
        """Whether there are grades to show."""
        return not self.cells.empty

    def grades(self) -> pd.DataFrame:
        """Every student's module grade (see :func:`module_grades`)."""
        return module_grades(self.cells)

    def completion(self) -> pd.DataFrame:
        return completion(self.cells)

    def completion_figure(self) -> go.Figure:
        return completion_figure(self.completion())

    def letters(self) -> pd.DataFrame:
        return letter_counts(self.grades())

    def letters_figure(self) -> go.Figure:
        return letter_figure(self.letters())

    def scores_figure(self) -> go.Figure:
        return score_figure(self.grades())

    def criteria(self) -> pd.DataFrame:
        return criterion_averages(self.grades())

    def criteria_figure(self) -> go.Figure:
        return criterion_figure(self.criteria())

    def hardest(self, n: int = 5) -> pd.DataFrame:
        return hardest_questions(self.cells, n)

    def hardest_figure(self, n: int = 5) -> go.Figure:
        return hardest_figure(self.hardest(n))

    def at_risk(self) -> pd.DataFrame:
        return students_at_risk(self.grades())

    def success(self) -> pd.DataFrame:
        return success_metrics(self.cells)

    def success_figure(self) -> go.Figure:
        return success_figure(self.success())

    def students_success(self) -> pd.DataFrame:
        return student_success(self.cells)


# ---------------------------------------------------------------------------
# Writing grades (as the formgrader does) and a demo class
# ---------------------------------------------------------------------------


def set_manual_score(
    gradebook: Gradebook, assignment: str, notebook: str, grade_id: str, student: str, score: float | None
) -> None:
    """Grade one answer by hand, exactly as the formgrader's grade box does.

    A manual score overrides the autograder's; ``None`` clears it (the cell then needs a
    manual grade again unless it has an auto score).
    """
    grade = gradebook.find_grade(grade_id, notebook, assignment, student)
    grade.manual_score = score
    grade.needs_manual_grade = score is None and grade.auto_score is None
    gradebook.db.commit()


# How hard each demo question is: ease below 1 makes a question harder for everyone.
_DEMO_EASE = {"arch-visibility-timeout": 0.9, "arch-queue-design": 0.7, "sys-monitoring-alarms": 0.85,
              "arch-rationale": 0.95, "biz-impact": 0.9, "biz-roadmap": 0.8, "sys-risks": 0.9}

# (grade_id, cell type, points, ease). Exercise 01's cells come from its assignment module; the
# second assignment is made up, so the demo shows a class with two.
_DEMO_CELLS: dict[str, tuple[tuple[str, str, float, float], ...]] = {
    ex01.ID: tuple((grade_id, kind, points, _DEMO_EASE.get(grade_id, 1.0))
                   for grade_id, (kind, points) in ex01.GRADES.items()),
    "ex02-event-driven-microservices": (
        ("arch-saga-design", "code", 4, 0.95),
        ("sys-idempotency", "code", 2, 0.65),
        ("arch-diagram", "markdown", 2, 1.0),
        ("sys-failure-modes", "markdown", 2, 0.85),
        ("biz-impact", "markdown", 2, 0.9),
        ("comm-summary", "markdown", 2, 1.0),
    ),
}

# (student id, first name, last name, level 0–1, assignments not submitted)
_DEMO_STUDENTS: tuple[tuple[str, str, str, float, tuple[str, ...]], ...] = (
    ("ada", "Ada", "Okafor", 1.0, ()),
    ("ben", "Ben", "Schulz", 0.92, ()),
    ("chloe", "Chloe", "Martin", 0.8, ()),
    ("dev", "Dev", "Patel", 0.62, ()),
    ("eve", "Eve", "Lindqvist", 1.0, ("ex02-event-driven-microservices",)),
    ("finn", "Finn", "O'Brien", 0.74, ()),
    ("gus", "Gus", "Moreau", 0.45, ()),
    ("hana", "Hana", "Sato", 0.86, ()),
)


def _demo_score(cell_type: str, points: float, level: float, ease: float) -> float:
    """Code cells pass or fail as a test does; written answers earn half points."""
    mastery = min(1.0, level * ease)
    if cell_type == "code":
        return float(points) if mastery >= 0.6 else 0.0
    return round(points * mastery * 2) / 2


def build_demo(path: str | os.PathLike[str], course_id: str = "messaging-eda") -> Path:
    """Write a small, deterministic demo gradebook to ``path`` and return it.

    Eight students, two assignments (Exercise 01's real grade cells and a stand-in for
    Exercise 02), code cells scored by the "autograder", written answers graded "by
    hand", one student who did not submit Exercise 02. Point the dashboard at it with
    ``MESSAGELAB_GRADEBOOK=<path>`` to see every chart filled in.

    Raises:
        FileExistsError: if ``path`` exists (a real gradebook is never overwritten).
    """
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    from messagelab.instructor.nbgrader import interpreter_bin_on_path

    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; build_demo never overwrites a gradebook")
    path.parent.mkdir(parents=True, exist_ok=True)
    # A new gradebook asks nbgrader's `alembic` command for its schema version. nbgrader's
    # add_submission makes SQLAlchemy warn about its own autoflush; the rows are written.
    with (
        warnings.catch_warnings(),
        interpreter_bin_on_path(),
        Gradebook(f"sqlite:///{path.resolve()}", course_id=course_id) as gradebook,
    ):
        warnings.simplefilter("ignore", SAWarning)
        for assignment, cells in _DEMO_CELLS.items():
            gradebook.add_assignment(assignment)
            gradebook.add_notebook(assignment, assignment)
            for grade_id, cell_type, points, _ease in cells:
                gradebook.add_grade_cell(grade_id, assignment, assignment, max_score=points, cell_type=cell_type)
        for student, first, last, level, skipped in _DEMO_STUDENTS:
            gradebook.add_student(student, first_name=first, last_name=last)
            for assignment, cells in _DEMO_CELLS.items():
                if assignment in skipped:
                    continue
                gradebook.add_submission(assignment, student)
                for grade_id, cell_type, points, ease in cells:
                    grade = gradebook.find_grade(grade_id, assignment, assignment, student)
                    score = _demo_score(cell_type, points, level, ease)
                    if cell_type == "code":
                        grade.auto_score = score
                    else:
                        grade.manual_score = score
                    grade.needs_manual_grade = False
        gradebook.db.commit()
    return path
