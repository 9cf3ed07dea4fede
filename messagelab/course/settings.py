"""The course's own settings, from ``course.toml`` at the course root: help links, the peer-review folder.

Every value is checked when read; a wrong one is reported with its table, key, value and
what is allowed. A course without ``course.toml`` has no links set and keeps shared designs
in ``work/shared``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from messagelab.course.root import course_root
from messagelab.sim.validation import ConfigError

FILE = "course.toml"
LINK_PREFIXES = ("https://", "http://", "mailto:")
_KEYS = {"help": ("forum", "office_hours", "office_hours_when", "chat"), "peer_review": ("folder",)}


@dataclass(frozen=True)
class Settings:
    forum: str = ""
    office_hours: str = ""
    office_hours_when: str = ""
    chat: str = ""
    peer_review_folder: str = ""  # absolute, or empty


def load(root: str | os.PathLike[str] | None = None) -> Settings:
    """The settings of the course at ``root`` (found from the working folder by default).

    Raises:
        ConfigError: if ``course.toml`` cannot be read or holds a value that is not allowed.
    """
    here = Path(root) if root is not None else course_root()
    path = here / FILE
    if not path.is_file():
        return Settings()
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(FILE, str(path), f"a readable TOML file ({error})") from None
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise ConfigError(f"{FILE} table", f"[{unknown[0]}]", "one of " + ", ".join(f"[{t}]" for t in _KEYS))
    values: dict[str, str] = {}
    for table, keys in _KEYS.items():
        section = data.get(table, {})
        for key, value in section.items():
            if key not in keys:
                raise ConfigError(f"{FILE} [{table}] setting", key, f"one of {', '.join(keys)}")
            if not isinstance(value, str):
                raise ConfigError(f"{FILE} [{table}] {key}", value, "text in quotes")
            if table == "help" and key != "office_hours_when" and value and not value.startswith(LINK_PREFIXES):
                raise ConfigError(f"{FILE} [help] {key}", value,
                                  f"a link starting with {', '.join(LINK_PREFIXES)}, or empty")
            values[key if table == "help" else f"peer_review_{key}"] = value.strip()
    folder = values.get("peer_review_folder", "")
    if folder and not Path(folder).is_absolute():
        values["peer_review_folder"] = str(here / folder)
    return Settings(**values)


def help_markdown(root: str | os.PathLike[str] | None = None, peer_review_link: str = "peer-review.ipynb") -> str:
    """The course home's "getting help" list: the forum, office hours, chat and peer review."""
    s = load(root)
    unset = "*not set up for this course yet* (instructors: set it in `course.toml`)"

    def link(text: str, url: str) -> str:
        return f"[{text}]({url})" if url else unset

    office = link("join or book", s.office_hours)
    if s.office_hours_when:
        office = f"{s.office_hours_when}, {office}"
    return "\n".join([
        f"- **Discussion forum**, for questions whose answers help everyone: {link('open the forum', s.forum)}",
        f"- **Weekly office hours**, to talk a design through with the instructor: {office}",
        f"- **Chat channel**, for quick questions and working with classmates: {link('open the chat', s.chat)}",
        f"- **Peer review of designs**: share your design and run classmates' beside it in "
        f"[the peer design review]({peer_review_link}).",
    ])
