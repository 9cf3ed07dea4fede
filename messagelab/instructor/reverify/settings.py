"""The nbgrader settings that decide how a notebook runs and how a test cell scores."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from messagelab.course.root import CONFIG_NAME

#: nbgrader's own default when the course sets no ``Execute.timeout``.
DEFAULT_CELL_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Settings:
    """The nbgrader settings that decide how a notebook runs and how a test cell scores."""

    cell_timeout_s: float
    interrupt_on_timeout: bool
    kernel_arguments: tuple[str, ...]
    ignore_pattern: str | None


def settings(course_root: Path) -> Settings:
    """The course's autograding settings, from ``course_root/nbgrader_config.py``.

    Only that file is read (not ``~/.jupyter``): the course's settings are the ones that
    travel with it. A course with no cell timeout gets a generous one here (20 × nbgrader's
    default), so a looping submission still ends.
    """
    from traitlets.config.loader import PyFileConfigLoader

    root = Path(course_root).resolve()
    config = PyFileConfigLoader(CONFIG_NAME, path=str(root)).load_config() if (root / CONFIG_NAME).is_file() else {}
    execute = config.get("Execute", {})
    ignore = config.get("IgnorePattern", {})
    timeout = execute.get("timeout", DEFAULT_CELL_TIMEOUT_S)
    return Settings(
        cell_timeout_s=float(timeout) if timeout else float(DEFAULT_CELL_TIMEOUT_S) * 20,
        interrupt_on_timeout=bool(execute.get("interrupt_on_timeout", True)),
        kernel_arguments=tuple(execute.get("extra_arguments", ())),
        ignore_pattern=(ignore.get("pattern") or None) if ignore.get("enabled", False) else None,
    )


