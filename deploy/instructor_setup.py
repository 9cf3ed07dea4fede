#!/usr/bin/env python3
"""Set up an instructor's server before it starts: the course and its nbgrader settings.

deploy/Dockerfile installs this file as ``/usr/local/bin/before-notebook.d/50-messagelab-instructor``,
so the image's ``start.sh`` runs it in every single-user container, as jovyan, with the home
volume mounted, just before the server starts. In a student's container it does nothing.
In a container the hub marked as an instructor's (``MESSAGELAB_INSTRUCTOR=1``, set by the
``hub.extraConfig`` hook of deploy/values.yaml for the users named as instructors) it does
what step 5 of the README's "Set up once: on a JupyterHub with one instructor" asks: the
course in the instructor's home and the settings file that points the formgrader at it:

1. clones the course repository (``MESSAGELAB_COURSE_REPO``) into ``~/messaging-eda``
   (``MESSAGELAB_COURSE_DIR`` names another folder), the first time only: later starts
   never pull over the instructor's work;
2. writes ``~/.jupyter/nbgrader_config.py`` loading the course's ``nbgrader_config.py``, so
   the formgrader, started in the home folder, shows the course; an existing file is kept.
   The course's config reads ``MESSAGELAB_EXCHANGE`` for the exchange, so it names the
   hub's shared exchange without a line here.

The instructor tools need no step: the hub's hook sets the server's ``JUPYTER_CONFIG_PATH``
to the course's Jupyter config without its ``students/`` folder, the one that switches the
formgrader and create-assignment tools off (deploy/README.md).

A step that fails is reported on the pod's log and the server starts all the same.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

#: The folder in the instructor's home the course is cloned into (README step 5).
COURSE_FOLDER = "messaging-eda"

#: Seconds the clone may take: the hub gives a pod 300 s to start (singleuser.startTimeout).
CLONE_TIMEOUT_S = 120

Runner = Callable[[Sequence[str]], int]


def run_command(command: Sequence[str]) -> int:
    """Run ``command`` with no prompt for credentials; print its output on the pod's log.

    The course repository's URL, which may hold a token, is blanked out of the output.
    """
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0")
    try:
        result = subprocess.run(
            list(command), env=env, timeout=CLONE_TIMEOUT_S, check=False, capture_output=True, text=True
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        print(f"messagelab instructor set-up: {command[0]} failed: {type(error).__name__}", file=sys.stderr)
        return 1
    output = result.stdout + result.stderr
    secret = os.environ.get("MESSAGELAB_COURSE_REPO")
    if secret:
        output = output.replace(secret, "<MESSAGELAB_COURSE_REPO>")
    if output.strip():
        print(output.rstrip(), file=sys.stderr)
    return result.returncode


def user_config(course: Path) -> str:
    """The instructor's ``~/.jupyter/nbgrader_config.py``: the course's settings, loaded."""
    return (
        f'"""nbgrader settings of this instructor\'s server: those of the course in {course}."""\n'
        "\n"
        "c = get_config()  # noqa: F821\n"
        f'load_subconfig("{course / "nbgrader_config.py"}")  # noqa: F821\n'
    )


def setup(
    env: Mapping[str, str], home: Path, run: Runner = run_command, say: Callable[[str], None] = print
) -> list[str]:
    """Set up the instructor's server; return what was done (nothing for a student's)."""
    if env.get("MESSAGELAB_INSTRUCTOR") != "1":
        return []
    done: list[str] = []
    course = Path(env.get("MESSAGELAB_COURSE_DIR") or home / COURSE_FOLDER)
    repo = env.get("MESSAGELAB_COURSE_REPO", "")
    if course.exists():
        say(f"messagelab instructor set-up: {course} exists, left as it is")
    elif not repo:
        say(f"messagelab instructor set-up: no MESSAGELAB_COURSE_REPO; clone the course into {course} yourself")
    elif run(["git", "clone", "--quiet", repo, str(course)]) == 0:
        done.append(f"cloned the course into {course}")
    else:
        say("messagelab instructor set-up: cloning MESSAGELAB_COURSE_REPO failed (git's message is above)")
    config = home / ".jupyter" / "nbgrader_config.py"
    if config.exists():
        say(f"messagelab instructor set-up: {config} exists, left as it is")
    else:
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(user_config(course))
        done.append(f"wrote {config}")
    return done


def main() -> int:
    for line in setup(os.environ, Path.home()):
        print(f"messagelab instructor set-up: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
