"""The instructor dashboard: its tables and figures, and the notebook run top to bottom.

The demo gradebook (messagelab.instructor.gradebook.build_demo) is a fixed class of eight students over
two assignments: mixed scores, one hard question per assignment and one student (eve) who
did not submit the second. Its module grades, in short:

    ada 96.11 A   ben 88.74 B   chloe 70.16 C   dev 40.74 F
    eve 68.92 D (missed ex02)   finn 67.55 D    gus 26.79 F   hana 83.72 B

At risk (below 60, or below 70 with a missing assignment): gus and dev by their totals, eve
by her missing assignment; chloe and finn are close but submitted everything.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbchecks import CELL_TIMEOUT_S, ROOT, normal_run_environment
from nbclient import NotebookClient

from messagelab.instructor import gradebook as gb

DASHBOARD = ROOT / "notebooks" / "instructor-dashboard.ipynb"

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return gb.build_demo(tmp_path_factory.mktemp("dashboard") / "gradebook.db")


@pytest.fixture(scope="module")
def report(demo: Path) -> gb.ClassReport:
    return gb.ClassReport.load(demo)


def run_dashboard(gradebook: Path, monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    """Run the dashboard notebook in a kernel that reads ``gradebook``; return it with outputs."""
    monkeypatch.setenv(gb.ENV_VAR, str(gradebook))
    nb = nbformat.read(DASHBOARD, as_version=4)
    client = NotebookClient(
        nb, kernel_name="python3", timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(DASHBOARD.parent)}}
    )
    with normal_run_environment():
        client.execute()  # raises on the first cell that fails
    return nb


def output_text(nb: nbformat.NotebookNode, cell_id: str) -> str:
    cell = next(c for c in nb.cells if c.get("id") == cell_id)
    parts = []
    for output in cell.outputs:
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


# ---------------------------------------------------------------------------
# The demo class and what the dashboard computes from it
# ---------------------------------------------------------------------------


def test_demo_gradebook_never_overwrites(demo: Path) -> None:
    before = demo.read_bytes()
    with pytest.raises(FileExistsError):
        gb.build_demo(demo)
    assert demo.read_bytes() == before


def test_module_grades_of_the_demo_class(report: gb.ClassReport) -> None:
    """Literal totals: the demo class is the same on every machine and every run."""
    grades = report.grades()
    assert len(grades) == 8
    assert grades["total"].to_dict() == {
        "ada": 96.11,
        "ben": 88.74,
        "chloe": 70.16,
        "dev": 40.74,
        "eve": 68.92,
        "finn": 67.55,
        "gus": 26.79,
        "hana": 83.72,
    }
    assert "".join(grades["letter"]) == "ABCFDDFB"


def test_students_at_risk_follow_the_rule(report: gb.ClassReport) -> None:
    at_risk = report.at_risk()
    assert list(at_risk.index) == ["gus", "dev", "eve"]  # lowest total first
    assert at_risk.loc["gus", "reason"] == "total below 60"
    assert at_risk.loc["eve", "reason"] == "total below 70 with 1 missing"
    assert at_risk.loc["eve", "missing_assignments"] == "ex02-event-driven-microservices"
    # Below 70 but everything submitted: not flagged.
    assert {"chloe", "finn"}.isdisjoint(at_risk.index)


def test_at_risk_rule_edges() -> None:
    grades = pd.DataFrame(
        {
            "total": [59.99, 60.0, 69.99, 69.99, 70.0],
            "letter": ["F", "D", "D", "D", "C"],
            "missing": [0, 0, 0, 1, 1],
            "missing_assignments": ["", "", "", "a2", "a2"],
        },
        index=["a", "b", "c", "d", "e"],
    )
    assert list(gb.students_at_risk(grades).index) == ["a", "d"]


def test_completion_letters_and_criteria(report: gb.ClassReport) -> None:
    completion = report.completion()
    assert completion["submitted"].to_dict() == {"ex01-message-queues": 8, "ex02-event-driven-microservices": 7}
    assert completion["completion_pct"].tolist() == [100.0, 87.5]
    assert report.letters()["students"].to_dict() == {"A": 1, "B": 2, "C": 1, "D": 2, "F": 2}
    criteria = report.criteria()
    assert list(criteria.index) == ["arch", "sys", "biz", "comm"]
    assert criteria["weight_pct"].tolist() == [40, 25, 20, 15]
    assert criteria.loc["comm", "mean_pct"] == 75.0


def test_hardest_questions_ignore_missing_submissions(report: gb.ClassReport) -> None:
    hardest = report.hardest(3)
    assert hardest[["assignment", "grade_id"]].values.tolist() == [
        ["ex02-event-driven-microservices", "sys-idempotency"],
        ["ex01-message-queues", "arch-queue-design"],
        ["ex01-message-queues", "biz-roadmap"],
    ]
    # Seven answered ex02 (eve did not submit); 1 of 7 passed the idempotency test.
    assert hardest.loc[0, ["answers", "mean_pct"]].tolist() == [7, 14.3]


def test_figures_show_the_tables(report: gb.ClassReport) -> None:
    completion = report.completion_figure()
    assert list(completion.data[0].y) == [100.0, 87.5]
    assert list(completion.data[0].text) == ["8 of 8", "7 of 8"]
    assert list(report.letters_figure().data[0].y) == [1, 2, 1, 2, 2]
    assert sorted(report.scores_figure().data[0].x) == sorted(report.grades()["total"])
    assert report.hardest_figure().data[0].y[0] == "ex02-event-driven-microservices / sys-idempotency"
    assert len(report.criteria_figure().data[0].y) == 4


def test_no_gradebook_says_what_to_do(tmp_path: Path) -> None:
    empty = gb.ClassReport.load(tmp_path / "gradebook.db")
    assert not empty.ready
    assert empty.status.startswith("No gradebook yet: run make autograde")
    assert empty.at_risk().empty and empty.completion().empty and empty.hardest().empty
    figure = empty.scores_figure()
    assert [a.text for a in figure.layout.annotations] == ["No grades yet"]
    assert not (tmp_path / "gradebook.db").exists()


def test_default_gradebook_is_the_repository_root_unless_the_variable_names_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(gb.ENV_VAR, raising=False)
    assert gb.default_source() == str(ROOT / "gradebook.db")
    monkeypatch.setenv(gb.ENV_VAR, "/srv/grades/gradebook.db")
    assert gb.default_source() == "/srv/grades/gradebook.db"


def test_success_metrics_of_the_demo_class(report: gb.ClassReport) -> None:
    """Both demo assignments are core exercises: eve missed one, so 15 of 16 were submitted."""
    students = report.students_success()
    assert students.loc["eve", "core_submitted"] == 1 and students.loc["ada", "core_submitted"] == 2
    assert set(students.index[students["on_track"]]) == {"ada", "ben", "hana"}  # totals ≥ 80, nothing missing
    assert students.loc["eve", "short_of"] == "1 core exercise not submitted; total 68.9% < 80%"
    assert students.loc["chloe", "short_of"] == "total 70.2% < 80%" and students.loc["ada", "short_of"] == ""
    metrics = report.success()
    assert metrics.loc["core exercises completed", "class_pct"] == 93.8
    assert metrics.loc["core exercises completed", "students_meeting"] == 7
    assert metrics.loc["average quality (weighted total)", "class_pct"] == round(report.grades()["total"].mean(), 1)
    assert metrics.loc["students on track", "class_pct"] == 37.5
    assert metrics.loc["students on track", "students_meeting"] == 3
    assert not metrics["met"].any()  # the demo class meets none of the targets as a class
    assert [row for row in metrics.index if row.endswith(" average")] == [
        f"{c.name} average" for c in gb.GRADING_CRITERIA.values()]
    figure = report.success_figure()
    assert list(figure.data[0].y) == list(metrics["class_pct"])
    assert list(figure.data[1].y) == list(metrics["target_pct"])


# ---------------------------------------------------------------------------
# The notebook
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_dashboard_runs_on_the_demo_class_and_lists_who_is_at_risk(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = run_dashboard(demo, monkeypatch)
    assert f"Gradebook {demo}: 8 students, 2 assignments counted" in output_text(nb, "load")
    at_risk = output_text(nb, "at-risk-table")
    flagged = {name for name in ("ada", "ben", "chloe", "dev", "eve", "finn", "gus", "hana") if name in at_risk}
    assert flagged == {"dev", "eve", "gus"}
    figures = [
        c.id for c in nb.cells for o in c.get("outputs", []) if "application/vnd.plotly.v1+json" in o.get("data", {})
    ]
    assert figures == ["success-figure", "completion-chart", "scores-chart", "letters-chart", "criteria-chart",
                       "hardest-chart"]
    success = output_text(nb, "success-table")
    assert "core exercises completed" in success and "students on track" in success


@pytest.mark.slow
def test_dashboard_without_a_gradebook_says_so_and_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = run_dashboard(tmp_path / "gradebook.db", monkeypatch)
    assert "No gradebook yet: run make autograde" in output_text(nb, "load")
    assert "No grades yet" in str(next(c for c in nb.cells if c.get("id") == "scores-chart").outputs)


def test_dashboard_is_thin_with_one_title_then_sections() -> None:
    nb = nbformat.read(DASHBOARD, as_version=4)
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    headings = [line for source in markdown for line in source.splitlines() if line.startswith("#")]
    assert headings[0].startswith("# ") and sum(h.startswith("# ") for h in headings) == 1
    assert all(h.startswith("## ") for h in headings[1:])
    long_cells = [c.id for c in nb.cells if c.cell_type == "code" and len(c.source.splitlines()) > 4]
    assert not long_cells, f"dashboard logic belongs in messagelab.instructor.gradebook: {long_cells}"
    # Every chart follows a markdown cell that says what it shows.
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "figure" in cell.source:
            previous = next(c for c in reversed(nb.cells[:index]) if c.cell_type == "markdown")
            assert "show" in previous.source, f"{cell.id}: no sentence says what the chart shows"


@pytest.mark.slow
def test_the_charts_survive_a_static_html_export(demo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from nbconvert import HTMLExporter

    nb = run_dashboard(demo, monkeypatch)
    html, _ = HTMLExporter().from_notebook_node(nb)
    # Six charts drawn by plotly.js, which is in the file itself: no network needed to view it.
    charts = sum("figure" in c.source for c in nb.cells if c.cell_type == "code")
    assert charts == 6 and html.count("Plotly.newPlot(") == charts
    assert "plotly.js v" in html and not re.search(r"<script[^>]+src=\"[^\"]*plot", html)
    (tmp_path / "dashboard.html").write_text(html)
