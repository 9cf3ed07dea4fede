"""Every user is jovyan: the Kubernetes identity case, on a real JupyterHub.

On Zero to JupyterHub every single-user server runs as the OS user ``jovyan``, each in a
home volume of its own, all sharing one exchange volume; nbgrader 0.9 then takes the student
id from ``JUPYTERHUB_USER``, which the hub sets in each server's environment. This hub
reproduces that: the one-machine config (deploy/one-machine/jupyterhub_config.py) with a
spawner that starts every hub user's server as the system user ``jovyan`` with
``HOME=<homes>/<hub user>``, and the instructor working as ``jovyan`` too, with
``JUPYTERHUB_USER=instructor``.

What works: each submission carries its hub user's id, collect files it under that id,
`make autograde` scores each student, and each student's Fetch Feedback brings back their
own report (nbgrader finds it through the submission cache in the student's own home).
What the course fixes in its config: collect's check that a submission's owner is the
student it names flags every submission (all are jovyan's), so the course's
nbgrader_config.py turns it off when it runs as jovyan.
What nobody can fix in the config, and deploy/README.md says: every file in the exchange
belongs to jovyan, so any student can list and read everyone's submissions and feedback, and
a student who sets ``JUPYTERHUB_USER`` in a terminal submits under another student's name.
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import hubserver as hs
import nbformat
import pytest
from nbchecks import ROOT
from test_cycle import AUTO, BOB_RATIONALE, FEEDBACK, cycle_answers, fill
from test_hub import COURSE_ID, DEMO, _can_run_hub

from messagelab.instructor import nbgrader as admin

pytestmark = [pytest.mark.slow, pytest.mark.hub]

# The hub users, and whose answers from test_cycle each gives.
LIKE = {"dora": "alice", "eli": "bob", "finn": "carol"}

EVERYONE_IS_JOVYAN = '''
# As on Kubernetes: every server runs as the OS user jovyan, in a home of its own.
import os

from jupyterhub.spawner import LocalProcessSpawner, set_user_setuid

HOMES = {homes!r}


class EveryoneIsJovyan(LocalProcessSpawner):
    def make_preexec_fn(self, name):
        become = set_user_setuid("jovyan", chdir=False)
        home = f"{{HOMES}}/{{self.user.name}}"

        def preexec():
            become()
            os.chdir(home)

        return preexec

    def user_env(self, env):
        env.update(USER="jovyan", HOME=f"{{HOMES}}/{{self.user.name}}", SHELL="/bin/bash")
        return env


c.JupyterHub.spawner_class = EveryoneIsJovyan
c.Spawner.notebook_dir = HOMES + "/{{username}}"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
'''


@dataclass
class JovyanClass:
    hub: hs.Hub
    bin: Path
    exchange: Path
    homes: Path
    course: Path
    env: dict[str, str]
    terminal: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def run(self, hub_user: str, *argv: str, cwd: Path | None = None, check: bool = True) -> str:
        """``argv`` in ``hub_user``'s terminal: OS user jovyan, their home, their JUPYTERHUB_USER."""
        home = self.homes / hub_user
        env = {**self.env, "HOME": str(home), "USER": "jovyan", "JUPYTERHUB_USER": hub_user,
               "JUPYTER_CONFIG_PATH": hs.config_path(hub_user)}
        done = hs.as_user("jovyan", self.bin, *argv, cwd=str(cwd or home), env=env)
        shown = f"{hub_user}$ {' '.join(argv)} exited {done.returncode}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        assert done.returncode == 0 or not check, shown
        return done.stdout + done.stderr


@pytest.fixture(scope="module")
def jovyan_class() -> Iterator[JovyanClass]:
    _can_run_hub()
    folder = Path(tempfile.mkdtemp(prefix="messagelab-jovyan-", dir="/tmp"))
    folder.chmod(0o755)
    hub = None
    try:
        started = time.monotonic()
        hs.add_users(["jovyan"], [], secrets.token_hex(8))
        homes = folder / "homes"
        for name in ("instructor", *LIKE):
            (homes / name).mkdir(parents=True)
        exchange = folder / "exchange"
        exchange.mkdir()
        for path in (homes, *homes.iterdir(), exchange):
            shutil.chown(path, "jovyan", "jovyan")
        bin = hs.shared_environment(folder / "env")
        env = {"MESSAGELAB_EXCHANGE": str(exchange)}

        course = hs.instructor_course(homes / "instructor" / "messaging-eda", "jovyan", bin)

        hub = hs.start(folder / "hub", bin, env, EVERYONE_IS_JOVYAN.format(homes=str(homes)))
        klass = JovyanClass(hub, bin, exchange, homes, course, env)
        servers = {student: hub.spawn(student) for student in LIKE}
        klass.seconds["hub up, 3 servers started"] = time.monotonic() - started

        klass.run("instructor", "make", "release", cwd=course)
        klass.run("instructor", "nbgrader", "release_assignment", DEMO, cwd=course)
        answers = cycle_answers(course)
        for student, like in LIKE.items():
            server = servers[student]
            server.post("assignments/fetch", {"assignment_id": DEMO, "course_id": COURSE_ID})
            path = f"{DEMO}/demo.ipynb"
            server.put_notebook(path, fill(server.notebook(path), answers[like]))
            assert server.post("assignments/submit", {"assignment_id": DEMO, "course_id": COURSE_ID})["success"]

        # Without the course's fix, collect's owner check flags every submission.
        klass.terminal["collect, owner check on"] = klass.run(
            "instructor", "nbgrader", "collect", DEMO, "--ExchangeCollect.check_owner=True", cwd=course)
        klass.terminal["collect"] = klass.run("instructor", "nbgrader", "collect", DEMO, "--update", cwd=course)
        klass.terminal["autograde"] = klass.run("instructor", "make", "autograde", f"ASSIGNMENT={DEMO}", cwd=course)
        klass.run("instructor", "nbgrader", "generate_feedback", DEMO, cwd=course)
        klass.run("instructor", "nbgrader", "release_feedback", DEMO, cwd=course)
        for student in LIKE:
            servers[student].post("assignments/fetch_feedback", {"assignment_id": DEMO, "course_id": COURSE_ID})
        klass.seconds["release to feedback"] = time.monotonic() - started - klass.seconds["hub up, 3 servers started"]
        (ROOT / "build").mkdir(exist_ok=True)
        (ROOT / "build" / "hub-jovyan-timing.json").write_text(json.dumps(klass.seconds, indent=1))
        yield klass
    finally:
        if hub is not None:
            hs.stop(hub)
        hs.remove_users(["jovyan"])
        shutil.rmtree(folder, ignore_errors=True)


def test_each_submission_carries_its_hub_users_id(jovyan_class: JovyanClass) -> None:
    inbound = jovyan_class.exchange / COURSE_ID / "inbound"
    assert sorted(path.name.split("+")[0] for path in inbound.iterdir()) == sorted(LIKE)
    assert {path.owner() for path in inbound.iterdir()} == {"jovyan"}
    assert sorted(p.name for p in (jovyan_class.course / "submitted").iterdir()) == sorted(LIKE)


def test_the_owner_check_means_nothing_and_the_course_turns_it_off(jovyan_class: JovyanClass) -> None:
    flagged = jovyan_class.terminal["collect, owner check on"]
    for student in LIKE:
        assert f"claims to be submitted by {student} but is owned by jovyan; cheating attempt?" in flagged
    assert "cheating attempt" not in jovyan_class.terminal["collect"]


def test_make_autograde_scores_each_student(jovyan_class: JovyanClass) -> None:
    for student, like in LIKE.items():
        scores = {g.grade_id: g.auto_score for g in admin.grades(DEMO, student, jovyan_class.course)}
        assert scores == AUTO[like], student


def test_each_student_fetches_their_own_feedback(jovyan_class: JovyanClass) -> None:
    for student, like in LIKE.items():
        (report,) = (jovyan_class.homes / student / DEMO / "feedback").glob("*/demo.html")
        html = " ".join(report.read_text().split())
        # Without the manual grade of test_cycle, the headline shows the automatic points only.
        assert FEEDBACK[like].split(" (Score")[0] in html and (BOB_RATIONALE in html) == (like == "bob"), student


def test_any_student_can_read_everyones_submissions_and_feedback(jovyan_class: JovyanClass) -> None:
    course_exchange = jovyan_class.exchange / COURSE_ID
    listing = jovyan_class.run("eli", "python", "-c", (
        "import glob, os\n"
        f"print(sorted(os.listdir({str(course_exchange / 'inbound')!r})))\n"
        f"print(len(glob.glob({str(course_exchange / 'feedback' / '*.html')!r})))\n"
        f"print(open(glob.glob({str(course_exchange / 'inbound' / 'dora+*' / 'demo.ipynb')!r})[0]).read()[:10])"))
    assert "dora+demo+" in listing and "finn+demo+" in listing
    assert "\n3\n" in listing, "eli lists all three feedback reports"


def test_a_student_can_submit_under_another_students_name(jovyan_class: JovyanClass) -> None:
    klass = jovyan_class
    klass.run("eli", "env", "JUPYTERHUB_USER=dora", "nbgrader", "submit", DEMO)
    klass.run("instructor", "nbgrader", "collect", DEMO, "--update", cwd=klass.course)
    collected = nbformat.read(klass.course / "submitted" / "dora" / DEMO / "demo.ipynb", as_version=4)
    assert any(BOB_RATIONALE in cell.source for cell in collected.cells), "dora's submission is now eli's notebook"
