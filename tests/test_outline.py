"""The catalogue is the module outline's (notebooks/module-outline.md), table by table.

The outline's tables and learning paths are read from the Markdown, so the test fails
when either side changes alone.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from messagelab import course

OUTLINE = Path(__file__).resolve().parents[1] / "notebooks" / "module-outline.md"
TEXT = OUTLINE.read_text()


def table(heading: str) -> list[dict[str, str]]:
    """The rows of the first Markdown table under ``## heading``, keyed by the header's cells."""
    section = TEXT.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    header, rows = cells[0], cells[2:]
    return [dict(zip(header, row, strict=True)) for row in rows]


def by_label(kind: str, number: str) -> course.Assignment:
    return next(a for a in course.ASSIGNMENTS if a.kind == kind and a.number == number)


CORE = table("Core exercises (required)")
LABS = table("Interactive labs (hands-on, real-time feedback and simulation)")
SETS = table("Comprehensive exercises (mastery level)")


def test_the_outline_lists_fifteen_assignments() -> None:
    assert (len(CORE), len(LABS), len(SETS)) == (6, 4, 5)


@pytest.mark.parametrize("row", CORE, ids=lambda r: f"ex{r['#']}")
def test_core_exercise(row: dict[str, str]) -> None:
    a = by_label("exercise", row["#"])
    assert a.title == row["Title"]
    assert a.focus == row["Focus"]
    assert course.duration_label(a) == row["Duration"]
    assert ", ".join(a.skills) == row["Skills"]
    assert a.setting == row["Scenario"]


@pytest.mark.parametrize("row", LABS, ids=lambda r: f"lab{r['Lab']}")
def test_lab(row: dict[str, str]) -> None:
    a = by_label("lab", row["Lab"])
    assert a.title == row["Title"]
    assert course.duration_label(a) == row["Duration"]


@pytest.mark.parametrize("row", SETS, ids=lambda r: f"set{r['Set']}")
def test_set(row: dict[str, str]) -> None:
    a = by_label("set", row["Set"])
    assert a.title == row["Title"]
    assert a.exercises == int(row["Exercises"])
    assert a.duration_min == (a.exercises * course.catalogue.SET_EXERCISE_MIN[0],
                              a.exercises * course.catalogue.SET_EXERCISE_MIN[1])


def test_grading_criteria() -> None:
    rows = table("Assessment")
    assert [(c.name, f"{c.weight_percent}%", c.description) for c in course.GRADING_CRITERIA.values()] == [
        (r["Criterion"], r["Weight"], r["What it rewards"]) for r in rows
    ]


def test_letter_scale() -> None:
    scale = dict(re.findall(r"\b([A-D]) (\d+)–\d+%", TEXT))
    assert {letter: course.letter_grade(int(floor)) for letter, floor in scale.items()} == {
        letter: letter for letter in scale
    }
    assert set(scale) == {"A", "B", "C", "D"} and "F < 60%" in TEXT
    assert course.letter_grade(59.99) == "F"


# --- learning paths ----------------------------------------------------------------------

KIND = {"Ex": "exercise", "Lab": "lab", "Set": "set"}
ALL = {"all core exercises": "exercise", "all labs": "lab"}
ACTIVITY = {"an innovation project": ("innovation-project",),
            "peer mentoring and advanced challenges": ("peer-mentoring", "advanced-challenges")}
NOTE = re.compile(r"\s*\(([^)]*)\)$")


def _numbers(first: str, last: str | None) -> list[str]:
    if last is None:
        return [first]
    if first.isdigit():
        return [str(n).zfill(len(first)) for n in range(int(first), int(last) + 1)]
    return [chr(c) for c in range(ord(first), ord(last) + 1)]


def parse_week(text: str) -> tuple[list[str], list[str], str]:
    """``"Ex 01–02 → Set A"`` → (assignment ids, activity keys, note)."""
    note = NOTE.search(text)
    text = NOTE.sub("", text)
    ids: list[str] = []
    activities: list[str] = []
    for part in re.split(r" → | \+ |, | and (?=an )", text.strip()):
        part = part.strip()
        if part in ALL:
            ids += [a.id for a in course.ASSIGNMENTS if a.kind == ALL[part]]
        elif part in ACTIVITY:
            activities += ACTIVITY[part]
        else:
            match = re.fullmatch(r"(Ex|Lab|Set)s? (\w+)(?:–(\w+))?", part)
            assert match, f"cannot read {part!r} in the outline"
            ids += [by_label(KIND[match[1]], n).id for n in _numbers(match[2], match[3])]
    return ids, activities, note[1] if note else ""


def outline_paths() -> dict[str, list[tuple[list[str], list[str], str]]]:
    section = TEXT.split("## Learning paths, week by week\n", 1)[1].split("\n## ", 1)[0]
    paths = {}
    for item in re.split(r"\n- ", "\n" + section.strip())[1:]:
        item = " ".join(item.split())
        name = re.match(r"\*\*(\w+)\*\*", item)[1].lower()
        weeks = re.split(r";\s*", item.split(": ", 1)[1].rstrip("."))
        parsed = []
        for number, week in enumerate(weeks, start=1):
            label, _, work = week.partition(" ")
            assert label == f"W{number}", week
            parsed.append(parse_week(work))
        paths[name] = parsed
    return paths


def test_learning_paths_are_the_outlines_weeks() -> None:
    expected = outline_paths()
    assert list(expected) == list(course.LEARNING_PATHS)
    for name, weeks in expected.items():
        path = course.LEARNING_PATHS[name]
        got = [(list(w.ids), list(w.activities), w.note) for w in path.weeks]
        assert got == weeks, name


def test_each_paths_audience_is_the_outlines() -> None:
    audiences = dict(re.findall(r"\*\*(\w+)\*\* \(([^)]*)\)", TEXT))
    for name, audience in audiences.items():
        assert audience in course.LEARNING_PATHS[name.lower()].audience, name


@pytest.mark.parametrize("name", list(course.LEARNING_PATHS))
def test_no_path_asks_for_a_prerequisite_it_has_not_taken(name: str) -> None:
    taken: set[str] = set()
    for week in course.LEARNING_PATHS[name].weeks:
        for a in week.assignments:
            missing = set(a.prerequisites) - taken
            assert not missing, f"{name} week {week.number}: {a.id} needs {sorted(missing)} first"
            taken.add(a.id)


def test_every_submission_carries_the_outlines_five_parts() -> None:
    listed = TEXT.split("Every submission carries:", 1)[1].split("\n\n", 1)[0]
    for part, words in zip(course.SUBMISSION_PARTS,
                           ("diagrams", "decision rationale", "business impact", "implementation roadmap",
                            "risk assessment"), strict=True):
        assert words in " ".join(listed.split()), part


def test_activities_point_at_what_the_course_provides() -> None:
    root = OUTLINE.parents[1]
    for activity in course.ACTIVITIES.values():
        assert (root / activity.where).is_file(), activity.where
