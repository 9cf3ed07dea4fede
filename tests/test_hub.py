"""A class on a real JupyterHub: release, submit, autograde, feedback, each person as their own user.

The README's single-instructor hub (``deploy/one-machine/jupyterhub_config.py``) started on
loopback with the proxy's Python port, system users ``instructor``, ``alice``, ``bob`` and
``carol`` (PAM accounts in the course's groups, homes closed to others as the README says),
the exchange at a shared folder with mode 777, and every server started by the hub's
LocalProcessSpawner as its own user. Then, through the hub's REST API and each user's own
server (the nbgrader endpoints JupyterLab's Assignments tab calls, the formgrader's API the
instructor's buttons call, and the instructor's terminal for ``make``)::

    instructor  make release ─► formgrader: release
    students    list ─► fetch ─► answer (saved through the contents API) ─► validate ─► submit
    instructor  formgrader: collect ─► make autograde ─► manual grade (formgrader API)
                ─► generate and release feedback
    students    fetch feedback: their own report only
    instructor  make grades

alice answers with the instructor's solutions, bob in part, carol submits the notebook
untouched (tests/test_cycle.py's cases, so the same scores). A student can list neither the
submissions nor the feedback in the exchange and cannot open another's home, and in
Chromium carol logs in with her password and sees the assignment in the Assignments tab.

Needs root (system users); CI runs as root. Without root, or without Debian's python3 for
an environment others can run, it skips (and fails under CI).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import hubserver as hs
import pandas as pd
import pytest
from nbchecks import ROOT
from test_browser import CHROMIUM, CHROMIUM_FLAGS, SCREENSHOTS, require
from test_cycle import AUTO, BOB_RATIONALE, FEEDBACK, MANUAL, cycle_answers, fill

from messagelab.instructor import nbgrader as admin

pytestmark = [pytest.mark.slow, pytest.mark.hub]

COURSE_ID = "messaging-eda"
DEMO = "demo"
INSTRUCTOR = "instructor"
STUDENTS = ("alice", "bob", "carol")
PASSWORD = "course-hub-test-1"  # noqa: S105 - a throwaway account's password, removed after the test


@dataclass
class HubClass:
    hub: hs.Hub
    bin: Path
    exchange: Path
    course: Path
    env: dict[str, str]
    servers: dict[str, hs.Server] = field(default_factory=dict)
    listed: dict[str, list[dict]] = field(default_factory=dict)
    validated: dict[str, dict] = field(default_factory=dict)
    fetched_feedback: dict[str, list[dict]] = field(default_factory=dict)
    terminal: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def run(self, user: str, *argv: str, cwd: Path | None = None) -> str:
        """``argv`` in ``user``'s terminal on the hub (their OS user, the environment their server has)."""
        env = {**self.env, "JUPYTER_CONFIG_PATH": hs.config_path(user)}
        done = hs.as_user(user, self.bin, *argv, cwd=str(cwd) if cwd else None, env=env)
        shown = f"{user}$ {' '.join(argv)} exited {done.returncode}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        assert done.returncode == 0, shown
        return done.stdout + done.stderr


def _can_run_hub() -> None:
    require(os.geteuid() == 0, "the hub test creates system users: run it as root (CI does)")
    require(shutil.which("useradd") is not None and shutil.which("runuser") is not None, "useradd/runuser missing")


@pytest.fixture(scope="module")
def hub_class() -> Iterator[HubClass]:
    _can_run_hub()
    users = (INSTRUCTOR, *STUDENTS)
    folder = Path(tempfile.mkdtemp(prefix="messagelab-hub-", dir="/tmp"))
    folder.chmod(0o755)
    hub = None
    try:
        started = time.monotonic()
        hs.add_users(users, [INSTRUCTOR], PASSWORD)
        for user in users:
            os.chmod(f"/home/{user}", 0o700)  # README: homes closed to other users
        # README step 2: the exchange, a folder every account can read and write.
        exchange = folder / "srv" / "nbgrader" / "exchange"
        exchange.mkdir(parents=True)
        exchange.chmod(0o777)
        bin = hs.shared_environment(folder / "env")
        env = {"MESSAGELAB_EXCHANGE": str(exchange)}

        # README step 5: the instructor's copy of the course, in their home, with the hub's environment.
        course = hs.instructor_course(Path(f"/home/{INSTRUCTOR}/messaging-eda"), INSTRUCTOR, bin)

        hub = hs.start(folder / "hub", bin, env)
        klass = HubClass(hub, bin, exchange, course, env)
        klass.seconds["hub up"] = time.monotonic() - started

        # README step 5: the formgrader (the instructor's server has it) pointed at the course.
        klass.run(INSTRUCTOR, "mkdir", "-p", f"/home/{INSTRUCTOR}/.jupyter")
        subconfig = f"c = get_config()\\nload_subconfig({str(course / 'nbgrader_config.py')!r})\\n"
        klass.run(INSTRUCTOR, "sh", "-c", f"printf \"{subconfig}\" > /home/{INSTRUCTOR}/.jupyter/nbgrader_config.py")

        mark = time.monotonic()
        for user in users:
            klass.servers[user] = hub.spawn(user)
        klass.seconds["4 servers started"] = time.monotonic() - mark
        teacher = klass.servers[INSTRUCTOR]

        mark = time.monotonic()
        klass.terminal["release"] = klass.run(INSTRUCTOR, "make", "release", cwd=course)
        released = teacher.post(f"formgrader/api/assignment/{DEMO}/release", {})
        assert released["success"], released
        klass.seconds["instructor releases"] = time.monotonic() - mark

        mark = time.monotonic()
        answers = cycle_answers(course)
        for student in STUDENTS:
            server = klass.servers[student]
            klass.listed[student] = server.get("assignments", course_id=COURSE_ID)["value"]
            server.post("assignments/fetch", {"assignment_id": DEMO, "course_id": COURSE_ID})
            path = f"{DEMO}/demo.ipynb"
            server.put_notebook(path, fill(server.notebook(path), answers[student]))
            klass.validated[student] = server.post("assignments/validate", {"path": path})
            submitted = server.post("assignments/submit", {"assignment_id": DEMO, "course_id": COURSE_ID})
            assert submitted["success"], submitted
        klass.seconds["3 students fetch, answer, validate, submit"] = time.monotonic() - mark

        mark = time.monotonic()
        collected = teacher.post(f"formgrader/api/assignment/{DEMO}/collect", {})
        assert collected["success"], collected
        klass.terminal["autograde"] = klass.run(INSTRUCTOR, "make", "autograde", f"ASSIGNMENT={DEMO}", cwd=course)
        klass.seconds["collect + make autograde"] = time.monotonic() - mark

        mark = time.monotonic()
        for row in teacher.get(f"formgrader/api/submitted_notebooks/{DEMO}/demo"):
            if row["student"] in MANUAL:
                for grade in teacher.get("formgrader/api/grades", submission_id=row["id"]):
                    if grade["name"] == "comm-rationale":
                        response = teacher.session.put(f"{teacher.base}formgrader/api/grade/{grade['id']}",
                                                       data=json.dumps({"manual_score": MANUAL[row["student"]]}))
                        response.raise_for_status()
        for action in ("generate_feedback", "release_feedback"):
            done = teacher.post(f"formgrader/api/assignment/{DEMO}/{action}", {})
            assert done["success"], f"{action}: {done.get('log', '')[-4000:]}{done.get('error', '')[-2000:]}"
        for student in STUDENTS:
            klass.fetched_feedback[student] = klass.servers[student].post(
                "assignments/fetch_feedback", {"assignment_id": DEMO, "course_id": COURSE_ID})
        klass.terminal["grades"] = klass.run(INSTRUCTOR, "make", "grades", cwd=course)
        klass.seconds["grade by hand, feedback out and in, make grades"] = time.monotonic() - mark
        (ROOT / "build").mkdir(exist_ok=True)
        (ROOT / "build" / "hub-timing.json").write_text(json.dumps(klass.seconds, indent=1))
        yield klass
    finally:
        if hub is not None:
            hs.stop(hub)
        hs.remove_users(users)
        shutil.rmtree(folder, ignore_errors=True)


def test_only_the_instructor_has_the_formgrader(hub_class: HubClass) -> None:
    assert hub_class.servers[INSTRUCTOR].session.get(hub_class.servers[INSTRUCTOR].base + "formgrader").ok
    for student in STUDENTS:
        server = hub_class.servers[student]
        assert server.session.get(server.base + "formgrader/api/status").status_code == 404, student


def test_students_see_the_release_in_their_assignment_list(hub_class: HubClass) -> None:
    for student in STUDENTS:
        (listed,) = hub_class.listed[student]
        assert (listed["course_id"], listed["assignment_id"], listed["status"]) == (COURSE_ID, DEMO, "released")


def test_validate_runs_the_visible_tests_in_each_students_server(hub_class: HubClass) -> None:
    assert hub_class.validated["alice"]["success"], hub_class.validated["alice"]
    assert "failed" not in json.dumps(hub_class.validated["alice"]["value"]).lower()
    # carol's untouched notebook fails its visible test: validate says so before she submits.
    assert "NotImplementedError" in json.dumps(hub_class.validated["carol"]["value"])


def test_each_submission_is_owned_by_its_student(hub_class: HubClass) -> None:
    inbound = hub_class.exchange / COURSE_ID / "inbound"
    owners = {path.name.split("+")[0]: path.owner() for path in inbound.iterdir()}
    assert owners == {student: student for student in STUDENTS}
    collected = hub_class.course / "submitted"
    assert sorted(p.name for p in collected.iterdir()) == sorted(STUDENTS)


def test_make_autograde_on_the_hub_scores_each_student(hub_class: HubClass) -> None:
    printed = hub_class.terminal["autograde"]
    for student in STUDENTS:
        assert f"graded {student} (" in printed, printed
    assert "FAILED" not in printed, printed
    # Run by the instructor's own OS user, students' code still runs in the sandbox.
    assert "Students' code runs in" in printed and "NO SANDBOX" not in printed, printed
    for student, expected in AUTO.items():
        scores = {g.grade_id: g.auto_score for g in admin.grades(DEMO, student, hub_class.course)}
        assert scores == expected, student


def test_each_student_fetches_only_their_own_feedback(hub_class: HubClass) -> None:
    for student in STUDENTS:
        server = hub_class.servers[student]
        (entry,) = server.get(f"api/contents/{DEMO}/feedback")["content"]
        reports = server.get(f"api/contents/{entry['path']}")["content"]
        (report,) = [r for r in reports if r["name"].endswith(".html")]
        html = server.get(f"api/contents/{report['path']}", content="1", type="file", format="text")["content"]
        assert FEEDBACK[student] in " ".join(html.split()), student
        # Nothing of the others' answers: bob's design is in bob's report alone.
        assert (BOB_RATIONALE in html) == (student == "bob"), student


def test_no_student_can_read_another_students_work(hub_class: HubClass) -> None:
    course_exchange = hub_class.exchange / COURSE_ID
    checks = {
        "the submissions in the exchange": f"import os; os.listdir({str(course_exchange / 'inbound')!r})",
        "the feedback in the exchange": f"import os; os.listdir({str(course_exchange / 'feedback')!r})",
        "alice's notebook in her home": "open('/home/alice/demo/demo.ipynb').read()",
        "the instructor's course (solutions, gradebook)": f"open({str(hub_class.course / 'gradebook.db')!r}).read()",
    }
    for what, code in checks.items():
        tried = hs.as_user("bob", hub_class.bin, "python", "-c", code, env=hub_class.env)
        assert tried.returncode != 0 and "PermissionError" in tried.stderr, f"bob could read {what}"


def test_make_grades_on_the_hub_exports_each_students_grade(hub_class: HubClass) -> None:
    table = pd.read_csv(hub_class.course / "grades.csv", dtype=str, keep_default_na=False).set_index("student_id")
    assert table.loc[list(STUDENTS), ["demo_pct", "total_pct", "letter"]].values.tolist() == [
        ["100.00", "100.00", "A"], ["40.00", "59.38", "F"], ["0.00", "0.00", "F"]]


def test_a_student_logs_in_and_sees_the_assignment(hub_class: HubClass) -> None:
    require(CHROMIUM.exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "hub-assignments-carol.png"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        try:
            page = chromium.new_page(viewport={"width": 1400, "height": 900})
            started = time.monotonic()
            page.goto(f"{hub_class.hub.url}/hub/login", timeout=60_000)
            page.fill("input[name=username]", "carol")
            page.fill("input[name=password]", PASSWORD)
            page.click("input[type=submit], button[type=submit]")
            page.wait_for_url("**/user/carol/lab**", timeout=90_000)
            page.wait_for_selector("#jp-main-dock-panel", timeout=90_000)
            logged_in = time.monotonic() - started
            page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
            menu = page.locator(".lm-Menu").last
            menu.wait_for(timeout=30_000)
            items = menu.inner_text()
            menu.get_by_text("Assignment List", exact=True).click()
            listed = page.locator("#nbgrader-assignment-list")
            listed.get_by_text("view feedback").wait_for(timeout=60_000)
            page.screenshot(path=str(shot))
            text = listed.inner_text()
            timing = ROOT / "build" / "hub-timing.json"
            seconds = {**json.loads(timing.read_text()), "carol logs in, JupyterLab ready": logged_in,
                       "... and her Assignments tab listed": time.monotonic() - started}
            timing.write_text(json.dumps(seconds, indent=1))
        finally:
            chromium.close()
    # Her copy downloaded, her submission, and the feedback released for it.
    for section in ("Downloaded assignments", "Submitted assignments", "view feedback", COURSE_ID, DEMO):
        assert section in text, text
    # A student's Nbgrader menu has no instructor tools.
    assert "Formgrader" not in items and "Assignment List" in items, items
