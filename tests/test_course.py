"""The course catalogue (messagelab.course) and the course home notebook."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import nbformat
import pytest

from messagelab import course

REPO = Path(__file__).resolve().parents[1]
HOME = REPO / "notebooks" / "course-home.ipynb"

# The folder names in source/ and release/, in module order.
EXPECTED_IDS = (
    "ex01-message-queues",
    "ex02-event-driven-microservices",
    "ex03-high-throughput-streaming",
    "ex04-event-sourcing",
    "ex05-resilience-patterns",
    "ex06-global-messaging",
    "lab1-eda-simulator",
    "lab2-kafka-tuning",
    "lab3-event-sourcing",
    "lab4-circuit-breakers",
    "setA-messaging-patterns",
    "setB-event-sourcing-cqrs",
    "setC-aws-messaging",
    "setD-performance-scalability",
    "setE-resilience-reliability",
)

PREFIX_BY_KIND = {"exercise": "ex", "lab": "lab", "set": "set"}


def _fake_root(tmp_path: Path, released: tuple[str, ...]) -> Path:
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    for assignment_id in released:
        folder = tmp_path / "release" / assignment_id
        folder.mkdir(parents=True)
        (folder / f"{assignment_id}.ipynb").write_text("{}")
    return tmp_path


# --- the catalogue ---------------------------------------------------------------------


def test_fifteen_unique_ids_in_module_order() -> None:
    ids = tuple(a.id for a in course.ASSIGNMENTS)
    assert ids == EXPECTED_IDS
    assert len(set(ids)) == 15


@pytest.mark.parametrize("folder", ["source", "release"])
def test_every_assignment_folder_is_in_the_catalogue(folder: str) -> None:
    present = {p.name for p in (REPO / folder).glob("*") if p.is_dir()} - {".ipynb_checkpoints"}
    assert present <= set(EXPECTED_IDS)


@pytest.mark.parametrize("assignment", course.ASSIGNMENTS, ids=lambda a: a.id)
def test_assignment_fields_are_consistent(assignment: course.Assignment) -> None:
    assert assignment.id.startswith(PREFIX_BY_KIND[assignment.kind] + assignment.number)
    low, high = assignment.duration_min
    assert 0 < low <= high
    assert assignment.level in ("beginner", "intermediate", "advanced")
    assert assignment.title and assignment.focus and assignment.setting
    assert assignment.skills and all(assignment.skills)
    assert (assignment.exercises > 1) == (assignment.kind == "set")
    assert assignment.scenario.endswith(".") and assignment.scenario.count(". ") == 0


def test_prerequisites_are_known_and_come_earlier_in_the_module() -> None:
    position = {a.id: i for i, a in enumerate(course.ASSIGNMENTS)}
    for a in course.ASSIGNMENTS:
        for prerequisite in a.prerequisites:
            assert position[prerequisite] < position[a.id], (a.id, prerequisite)


def test_exercise_01_tells_its_scenario() -> None:
    a = course.get("ex01-message-queues")
    assert "Black Friday" in a.scenario and "10×" in a.scenario


def test_assignment_is_frozen() -> None:
    with pytest.raises(AttributeError):
        course.get("lab2-kafka-tuning").title = "Something else"  # type: ignore[misc]


def test_get_unknown_id_lists_the_valid_ids() -> None:
    with pytest.raises(KeyError) as raised:
        course.get("ex07-nonexistent")
    message = str(raised.value)
    assert "ex07-nonexistent" in message
    assert all(assignment_id in message for assignment_id in EXPECTED_IDS)


@pytest.mark.parametrize(
    ("item", "label", "long"),
    [
        ("ex01-message-queues", "2–3 h", "2–3 hours"),
        ("ex04-event-sourcing", "4–6 h", "4–6 hours"),
        ("lab1-eda-simulator", "60 min", "60 minutes"),
        ("setA-messaging-patterns", "5–7.5 h", "5–7.5 hours"),
        ((180, 180), "3 h", "3 hours"),
        ((255, 315), "4–5.5 h", "4–5.5 hours"),
    ],
)
def test_duration_label(item: object, label: str, long: str) -> None:
    assert course.duration_label(item) == label  # type: ignore[arg-type]
    assert course.duration_label(item, long=True) == long  # type: ignore[arg-type]


# --- learning paths --------------------------------------------------------------------


def test_three_learning_paths_with_an_audience() -> None:
    assert list(course.LEARNING_PATHS) == ["beginner", "intermediate", "advanced"]
    for path in course.LEARNING_PATHS.values():
        assert path.audience.endswith(".")


@pytest.mark.parametrize("name", list(course.LEARNING_PATHS))
def test_learning_path_holds_known_ids_in_prerequisite_order(name: str) -> None:
    ids = course.LEARNING_PATHS[name].ids
    assert ids and len(set(ids)) == len(ids)
    assert set(ids) <= set(EXPECTED_IDS)
    for step, assignment_id in enumerate(ids):
        for prerequisite in course.get(assignment_id).prerequisites:
            if prerequisite in ids:
                assert ids.index(prerequisite) < step, (assignment_id, prerequisite)


def test_beginner_path_assumes_no_other_assignment() -> None:
    ids = course.LEARNING_PATHS["beginner"].ids
    for assignment_id in ids:
        assert set(course.get(assignment_id).prerequisites) <= set(ids)


def test_a_weeks_time_is_its_assignments_at_its_pace_plus_its_activities() -> None:
    beginner, advanced = course.LEARNING_PATHS["beginner"], course.LEARNING_PATHS["advanced"]
    assert beginner.weeks[0].duration_min == (120 + 60, 180 + 60)  # Exercise 01, then Lab 1
    review = advanced.weeks[0]
    core = [a.duration_min for a in course.ASSIGNMENTS if a.kind == "exercise"]
    assert review.pace < 1 and review.duration_min == (round(sum(c[0] for c in core) * review.pace),
                                                      round(sum(c[1] for c in core) * review.pace))
    last = advanced.weeks[-1]
    assert last.ids == () and last.duration_min == tuple(
        sum(course.ACTIVITIES[k].duration_min[i] for k in last.activities) for i in (0, 1))
    assert advanced.duration_min == tuple(sum(w.duration_min[i] for w in advanced.weeks) for i in (0, 1))


def test_path_frame_is_one_row_per_week(tmp_path: Path) -> None:
    root = _fake_root(tmp_path, released=("ex01-message-queues",))
    frame = course.path_frame("intermediate", root)
    assert list(frame.index) == [1, 2, 3, 4] and frame.index.name == "week"
    assert frame.loc[1, "work"] == "Exercise 01, Exercise 02 → Set A"
    assert frame.loc[1, "available"] == "1 of 3" and frame.loc[2, "available"] == "0 of 3"
    first_week = course.LEARNING_PATHS["intermediate"].weeks[0]
    assert frame.loc[1, "duration"] == course.duration_label(first_week.duration_min)


def test_path_markdown_links_what_is_available_and_names_the_rest(tmp_path: Path) -> None:
    root = _fake_root(tmp_path, released=("ex01-message-queues",))
    (root / "notebooks").mkdir()
    text = course.path_markdown("advanced", lambda a: f"../work/{a.id}.ipynb", root, root / "notebooks")
    rows = [line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == 4
    assert "[Exercise 01: Message Queue Implementation Strategy](../work/ex01-message-queues.ipynb)" in rows[0]
    assert "Exercise 02: Event-Driven Microservices Architecture *(in preparation)*" in rows[0]
    assert "(accelerated review)" in rows[0]
    assert "[Innovation project](innovation-project.md)" in rows[2]
    assert "[Peer mentoring](peer-review.ipynb) + [Advanced challenges](peer-review.ipynb)" in rows[3]


def test_path_frame_unknown_path_lists_the_paths() -> None:
    with pytest.raises(KeyError, match="beginner, intermediate, advanced"):
        course.path_frame("expert")


# --- paths on disk and status ----------------------------------------------------------


def test_source_and_release_paths(tmp_path: Path) -> None:
    a = course.get("setB-event-sourcing-cqrs")
    expected = Path("setB-event-sourcing-cqrs", "setB-event-sourcing-cqrs.ipynb")
    assert course.source_path(a, tmp_path) == tmp_path / "source" / expected
    assert course.release_path(a.id, tmp_path) == tmp_path / "release" / expected


def test_status_is_available_exactly_when_the_release_notebook_exists(tmp_path: Path) -> None:
    released = ("ex01-message-queues", "lab2-kafka-tuning")
    root = _fake_root(tmp_path, released)
    # A source notebook alone, or an empty release folder, does not make an assignment available.
    course.source_path("ex02-event-driven-microservices", root).parent.mkdir(parents=True)
    course.source_path("ex02-event-driven-microservices", root).write_text("{}")
    (root / "release" / "ex03-high-throughput-streaming").mkdir()

    for a in course.ASSIGNMENTS:
        expected = "available" if a.id in released else "in preparation"
        assert course.status(a, root) == expected, a.id

    frame = course.catalogue_frame(root)
    assert list(frame.columns) == ["id", "kind", "title", "duration", "level", "skills", "setting", "status"]
    assert tuple(frame["id"]) == EXPECTED_IDS
    assert set(frame.loc[frame["status"] == "available", "id"]) == set(released)


def test_course_root_searches_upwards_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _fake_root(tmp_path, released=())
    deep = root / "notebooks" / "sub"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert course.course_root() == root.resolve()
    assert course.status("ex01-message-queues") == "in preparation"


def test_course_root_falls_back_to_the_package_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    markers = ("nbgrader_config.py", "pyproject.toml")
    if any((p / m).is_file() for p in (tmp_path, *tmp_path.parents) for m in markers):
        pytest.skip("the temporary folder sits inside a project")
    assert course.course_root() == REPO


# --- grading ---------------------------------------------------------------------------


def test_criteria_in_order_and_weights_sum_to_100() -> None:
    assert list(course.GRADING_CRITERIA) == ["arch", "sys", "biz", "comm"]
    weights = [c.weight_percent for c in course.GRADING_CRITERIA.values()]
    assert weights == [40, 25, 20, 15]
    assert sum(weights) == 100
    assert all(c.description for c in course.GRADING_CRITERIA.values())


@pytest.mark.parametrize(
    ("score", "letter"),
    [
        (100, "A"),
        (90, "A"),
        (89.99, "B"),
        (80, "B"),
        (79.99, "C"),
        (70, "C"),
        (69.99, "D"),
        (60, "D"),
        (59.99, "F"),
        (0, "F"),
    ],
)
def test_letter_grade_boundaries(score: float, letter: str) -> None:
    assert course.letter_grade(score) == letter


@pytest.mark.parametrize("score", [-0.01, 100.01, -5, 250, math.nan, math.inf, "ninety"])
def test_letter_grade_out_of_range_raises_naming_the_value(score: object) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(score))):
        course.letter_grade(score)  # type: ignore[arg-type]


# --- the course home notebook ----------------------------------------------------------


def test_course_home_is_committed_without_outputs() -> None:
    nb = nbformat.read(HOME, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.id


def test_course_home_headings_are_one_h1_then_h2s() -> None:
    nb = nbformat.read(HOME, as_version=4)
    levels = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        # Lines inside fenced code blocks are not headings.
        text = re.sub(r"```.*?```", "", cell.source, flags=re.DOTALL)
        levels += [len(m.group(1)) for m in re.finditer(r"^(#+) ", text, flags=re.MULTILINE)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert set(levels[1:]) == {2}


@pytest.mark.slow
def test_course_home_runs_from_the_notebooks_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from nbclient import NotebookClient

    # The kernel imports this checkout's messagelab, whatever is installed.
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    )
    workspace = tmp_path / "work"
    monkeypatch.setenv("MESSAGELAB_WORKSPACE", str(workspace))
    nb = nbformat.read(HOME, as_version=4)
    client = NotebookClient(
        nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(HOME.parent)}}
    )
    client.execute()

    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"]

    # The links cell lists exactly the released assignments, each link resolving from notebooks/
    # to the learner's own copy, made by the page.
    links_cell = next(cell for cell in nb.cells if cell.get("id") == "links")
    markdown = links_cell.outputs[0]["data"]["text/markdown"]
    targets = re.findall(r"\]\(([^)]+)\)", markdown)
    released = [a for a in course.ASSIGNMENTS if course.status(a, REPO) == "available"]
    assert [Path(t).parent.name for t in targets] == [a.id for a in released]
    assert all((HOME.parent / t).resolve() == (workspace / a.id / f"{a.id}.ipynb").resolve()
               for t, a in zip(targets, released, strict=True))
    assert all((HOME.parent / target).resolve().is_file() for target in targets)


def test_course_home_states_each_kinds_working_time_from_the_catalogue() -> None:
    text = " ".join(" ".join(c.source for c in nbformat.read(HOME, as_version=4).cells).split())
    kinds = (("exercise", "core exercises"), ("lab", "interactive labs"), ("set", "comprehensive exercises"))
    for kind, words in kinds:
        spans = [a.duration_min for a in course.ASSIGNMENTS if a.kind == kind]
        low, high = min(s[0] for s in spans), max(s[1] for s in spans)
        label = (f"{low}–{high} minutes" if kind == "lab"
                 else course.duration_label((low, high), long=True))
        assert f"{words}** ({label} each" in text, (kind, label)


# --- course.toml -------------------------------------------------------------------------


def test_course_settings_default_to_nothing_set(tmp_path: Path) -> None:
    from messagelab.course import settings

    root = _fake_root(tmp_path, released=())
    assert settings.load(root) == settings.Settings()
    text = settings.help_markdown(root)
    assert text.count("not set up for this course yet") == 3
    assert "[the peer design review](peer-review.ipynb)" in text


def test_course_settings_show_the_instructors_links(tmp_path: Path) -> None:
    from messagelab.course import settings

    root = _fake_root(tmp_path, released=())
    (root / "course.toml").write_text(
        '[help]\nforum = "https://forum.example.edu/eda"\noffice_hours = "https://meet.example.edu/eda"\n'
        'office_hours_when = "Thursdays 15:00–16:00 UTC"\nchat = "mailto:eda-chat@example.edu"\n'
        '[peer_review]\nfolder = "/srv/shared/designs"\n')
    loaded = settings.load(root)
    assert loaded.peer_review_folder == "/srv/shared/designs"
    text = settings.help_markdown(root)
    assert "[open the forum](https://forum.example.edu/eda)" in text
    assert "Thursdays 15:00–16:00 UTC, [join or book](https://meet.example.edu/eda)" in text
    assert "[open the chat](mailto:eda-chat@example.edu)" in text and "not set up" not in text


@pytest.mark.parametrize(("toml", "message"), [
    ('[help]\nforum = "forum.example.edu"\n',
     "course.toml [help] forum = 'forum.example.edu' is not allowed: expected a link starting with https://"),
    ('[help]\nwiki = "https://x"\n', "[help] setting = 'wiki' is not allowed: expected one of forum, office_hours"),
    ('[helps]\n', "course.toml table = '[helps]' is not allowed: expected one of [help], [peer_review]"),
    ('[help]\nchat = 3\n', "course.toml [help] chat = 3 is not allowed: expected text in quotes"),
    ('[help\n', "expected a readable TOML file"),
])
def test_a_wrong_course_setting_says_which_and_what_is_allowed(tmp_path: Path, toml: str, message: str) -> None:
    from messagelab.course import settings
    from messagelab.sim.validation import ConfigError

    root = _fake_root(tmp_path, released=())
    (root / "course.toml").write_text(toml)
    with pytest.raises(ConfigError, match=re.escape(message)):
        settings.load(root)


def test_the_repositorys_course_toml_is_valid_and_sets_no_link() -> None:
    from messagelab.course import settings

    assert settings.load(REPO) == settings.Settings()
