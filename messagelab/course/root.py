"""Where the course is: the one function every part of the package asks."""

from __future__ import annotations

import os
from pathlib import Path

#: Set to a folder to name the course root outright (a hub image, a copied course).
ENV_VAR = "MESSAGELAB_COURSE_ROOT"

CONFIG_NAME = "nbgrader_config.py"


def _marks_root(folder: Path) -> bool:
    return (folder / CONFIG_NAME).is_file() or (folder / "pyproject.toml").is_file()


def course_root() -> Path:
    """The course's root folder: where ``nbgrader_config.py``, ``source/`` and ``release/`` are.

    ``$MESSAGELAB_COURSE_ROOT`` when set; otherwise the first folder holding
    ``nbgrader_config.py`` or ``pyproject.toml``, searching upwards from the current folder
    (a learner's copy in ``work/`` finds the course above it), then from this package's
    location (an editable install of the repository).

    Raises:
        FileNotFoundError: if no such folder is found.
    """
    named = os.environ.get(ENV_VAR)
    if named:
        return Path(named).resolve()
    starts = (Path.cwd().resolve(), Path(__file__).resolve().parent)
    for start in starts:
        for folder in (start, *start.parents):
            if _marks_root(folder):
                return folder
    raise FileNotFoundError(
        f"no folder holding {CONFIG_NAME} or pyproject.toml above " + " or ".join(str(s) for s in starts)
    )
