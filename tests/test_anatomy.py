"""Every assignment notebook follows the course's anatomy, checked as text."""

import re

import nbformat
import pytest
from available import AVAILABLE, COURSE

from messagelab import course

SOURCES = [course.source_path(assignment_id, COURSE) for assignment_id in AVAILABLE]
SECTIONS = ["Learning objectives", "The business scenario", "Explore", "Design", "Justify",
            "Check yourself", "References"]
CRITERIA = tuple(f"{key}-" for key in course.GRADING_CRITERIA)


def headings(nb):
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                m = re.match(r"^(#{1,6})\s+(.*)", line)
                if m:
                    yield len(m.group(1)), m.group(2).strip()


@pytest.fixture(params=SOURCES, ids=lambda p: p.parent.name)
def notebook(request):
    return request.param, nbformat.read(request.param, as_version=4)


def test_one_title_then_the_sections_in_order(notebook):
    path, nb = notebook
    hs = list(headings(nb))
    assert hs[0][0] == 1 and sum(1 for level, _ in hs if level == 1) == 1, "one H1, first"
    h2 = [text for level, text in hs if level == 2]
    assert h2 == SECTIONS, f"{path.name}: H2 sections {h2} should be {SECTIONS}"
    levels = [level for level, _ in hs]
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), "no skipped heading level"


def test_title_duration_and_skills_are_the_catalogues(notebook):
    path, nb = notebook
    a = course.get(path.parent.name)
    intro = nb.cells[0].source
    assert intro.splitlines()[0] == f"# {a.label} — {a.title}"
    assert f"**Duration:** {course.duration_label(a, long=True)}" in intro
    assert f"**Level:** {a.level}" in intro
    flat = " ".join(intro.split())
    assert all(skill in flat for skill in a.skills), f"{path.name}: the intro names every skill of {a.skills}"


def test_justify_holds_the_five_parts_every_submission_carries(notebook):
    """Architecture diagram, decision rationale, business impact, roadmap and risks: each an H3
    under Justify, in that order, each answered in the hand-graded cell right after it."""
    path, nb = notebook
    start = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and "## Justify" in c.source)
    end = next(i for i, c in enumerate(nb.cells) if i > start and c.cell_type == "markdown"
               and re.search(r"^## ", c.source, re.M))
    found = []
    for i in range(start, end):
        cell = nb.cells[i]
        m = re.match(r"^### (.+)$", cell.source.splitlines()[0]) if cell.cell_type == "markdown" else None
        if m and m.group(1) in course.SUBMISSION_PARTS:
            answer = nb.cells[i + 1]
            meta = answer.metadata.get("nbgrader", {})
            assert answer.cell_type == "markdown" and meta.get("grade") and meta.get("solution"), (
                f"{path.name}: '{m.group(1)}' is not followed by a hand-graded answer cell")
            found.append(m.group(1))
    assert found == list(course.SUBMISSION_PARTS), f"{path.name}: Justify holds {found}"


def test_explore_prompts_follow_every_explorer(notebook):
    _path, nb = notebook
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "Explorer(" in cell.source:
            follow = nb.cells[i + 1]
            assert follow.cell_type == "markdown" and re.search(r"^\s*1\.", follow.source, re.M), (
                "an explorer is followed by numbered prompts saying what to notice"
            )


def test_grade_ids_name_their_criterion_and_written_answers_carry_a_rubric(notebook):
    _path, nb = notebook
    seen = set()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta:
            continue
        gid = meta["grade_id"]
        assert gid not in seen, f"duplicate grade_id {gid}"
        seen.add(gid)
        if meta.get("grade"):
            assert gid.startswith(CRITERIA), f"{gid} does not start with one of {CRITERIA}"
            assert meta["points"] > 0
        if cell.cell_type == "markdown" and meta.get("grade"):
            assert "Rubric (graders only" in cell.source and "### BEGIN SOLUTION" in cell.source
    written = [c for c in nb.cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")]
    assert any("```mermaid" in c.source for c in written), "an architecture diagram in Mermaid"


def test_test_cells_stay_thin(notebook):
    _path, nb = notebook
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code":
            logic = [line for line in cell.source.splitlines() if line.strip() and not line.lstrip().startswith("#")]
            limit = 6 if meta.get("grade") else 12
            assert len(logic) <= limit, f"cell {cell.get('id')} has {len(logic)} lines: move logic to messagelab"
