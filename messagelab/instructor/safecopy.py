"""Copying a folder a student controls: regular files and folders only, never through a link.

A submission (or a folder a student's kernel wrote into) can hold a symbolic link to
``/dev/zero`` or to the gradebook, a FIFO that blocks whoever opens it, or a device node.
``shutil.copytree`` follows links and opens FIFOs. :func:`copy_tree` copies regular files
and folders only, opening each file without following a link and checking it is regular
before reading it, and returns what it left out, with the reason.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterable
from pathlib import Path

#: Bytes one copied tree may hold; files past it are left out.
MAX_TREE_BYTES = 1024 * 2**20

_CHUNK = 1024 * 1024


def _size(count: int) -> str:
    return f"{count // 2**20} MB" if count >= 2**20 else f"{count} bytes"


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def copy_tree(source: Path | str, dest: Path | str, *, ignore: Iterable[str] = (),
              max_bytes: int = MAX_TREE_BYTES) -> list[str]:
    """Copy ``source`` into ``dest`` (created); return one line per entry left out, and why.

    ``ignore`` holds glob patterns matched against each entry's name (as
    ``shutil.ignore_patterns``). Permission bits are kept, without set-user/group-id bits.
    """
    source, dest = Path(source), Path(dest)
    patterns = tuple(ignore)
    skipped: list[str] = []
    total = 0
    top = os.lstat(source)
    if not stat.S_ISDIR(top.st_mode):
        raise NotADirectoryError(f"{source} is {_kind(top.st_mode)}, not a folder")
    dest.mkdir(parents=True, exist_ok=True)
    for folder, dirs, files in os.walk(source, followlinks=False):
        here = Path(folder)
        relative = here.relative_to(source)
        for name in sorted(dirs + files):
            if any(fnmatch.fnmatch(name, pattern) for pattern in patterns):
                if name in dirs:
                    dirs.remove(name)
                continue
            path = here / name
            shown = str(relative / name)
            info = os.lstat(path)
            if stat.S_ISDIR(info.st_mode):
                (dest / relative / name).mkdir(exist_ok=True)
                continue
            if name in dirs:
                dirs.remove(name)  # a link to a folder: os.walk lists it among the folders
            if not stat.S_ISREG(info.st_mode):
                skipped.append(f"{shown} ({_kind(info.st_mode)})")
                continue
            if total + info.st_size > max_bytes:
                skipped.append(f"{shown} (the folder is over {_size(max_bytes)})")
                continue
            copied = _copy_file(path, dest / relative / name, max_bytes - total)
            if copied is None:
                skipped.append(f"{shown} (changed while it was copied)")
                continue
            total += copied
    return skipped


def _copy_file(source: Path, dest: Path, budget: int) -> int | None:
    """Copy one regular file, opened without following links: its size, or None when it is
    not a regular file (any more) or grew past ``budget`` bytes while it was read."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(source, flags)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as reader:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        written = 0
        mode = stat.S_IMODE(info.st_mode) & 0o777 | 0o600
        out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), mode)
        with os.fdopen(out, "wb") as writer:
            while chunk := reader.read(_CHUNK):
                written += len(chunk)
                if written > budget:
                    break
                writer.write(chunk)
        if written > budget:
            dest.unlink()
            return None
        return written
