"""The grading sandbox and the link-safe copy, one property at a time.

The hostile corpus (``test_hostile.py``) shows the same properties end to end, through
``make autograde``; these name each one on its own, in seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from nbchecks import require_sandbox

from messagelab.instructor.safecopy import copy_tree
from messagelab.instructor.sandbox import Limits, find_sandbox


def test_copy_tree_copies_files_and_folders_and_nothing_else(tmp_path: Path) -> None:
    source = tmp_path / "submitted"
    (source / "data").mkdir(parents=True)
    (source / "answer.ipynb").write_text("{}")
    (source / "data" / "orders.csv").write_text("id\n1\n")
    (source / "zero.bin").symlink_to("/dev/zero")
    (source / "everything").symlink_to("/")
    os.mkfifo(source / "trap.fifo")
    (source / "__pycache__").mkdir()
    skipped = copy_tree(source, tmp_path / "copy", ignore=["__pycache__"])
    copied = sorted(str(p.relative_to(tmp_path / "copy")) for p in (tmp_path / "copy").rglob("*"))
    assert copied == ["answer.ipynb", "data", "data/orders.csv"]
    assert sorted(skipped) == ["everything (a link)", "trap.fifo (a FIFO)", "zero.bin (a link)"]


def test_copy_tree_stops_at_its_byte_budget(tmp_path: Path) -> None:
    source = tmp_path / "submitted"
    source.mkdir()
    for name in ("a", "b", "c"):
        (source / name).write_bytes(b"x" * 1000)
    skipped = copy_tree(source, tmp_path / "copy", max_bytes=2500)
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == ["a", "b"]
    assert skipped == ["c (the folder is over 2500 bytes)"]


def test_copy_tree_refuses_a_link_as_its_top_folder(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(NotADirectoryError, match="a link"):
        copy_tree(tmp_path / "link", tmp_path / "copy")


def test_limits_name_the_field_and_value_they_reject() -> None:
    with pytest.raises(ValueError, match=r"Limits.processes must be a positive integer, not 0"):
        Limits(processes=0)


def test_sandbox_modes() -> None:
    assert find_sandbox("off") == (None, "the sandbox is turned off (--sandbox off)")
    with pytest.raises(ValueError, match="auto, require, off"):
        find_sandbox("sometimes")


PROBE = r"""
import json, os, socket, sys
found = {"uid": os.getuid(), "pid": os.getpid(), "cwd": os.getcwd(), "env": sorted(os.environ)}
found["sees_outside"] = os.path.exists(sys.argv[1])
try:
    open(os.path.join(sys.argv[2], "planted"), "w")
    found["writes_environment"] = True
except OSError:
    found["writes_environment"] = False
open("mine.txt", "w").write("ok")
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[3])), timeout=2)
    found["network"] = True
except OSError:
    found["network"] = False
found["processes"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
print(json.dumps(found))
"""


def test_a_sandboxed_process_sees_only_its_folder_and_no_network(tmp_path: Path) -> None:
    import json
    import socket

    require_sandbox()
    sandbox, _ = find_sandbox("require", slot=1)
    assert sandbox is not None
    secret = tmp_path / "gradebook.db"
    secret.write_text("hidden tests")
    folder = tmp_path / "student"
    folder.mkdir()
    sandbox.hand_over(folder)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    site_packages = next(p for p in sys.path if p.endswith("site-packages"))
    env = dict(os.environ, GRADER_TOKEN="do-not-leak")
    try:
        command = sandbox.command([sys.executable, "-I", "-c", PROBE, str(secret), site_packages,
                                   str(listener.getsockname()[1])], cwd=str(folder), env=env)
        run = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    finally:
        listener.close()
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout)
    assert found["cwd"] == str(folder.resolve())
    assert not found["sees_outside"]
    assert not found["writes_environment"]
    assert not found["network"]
    assert "GRADER_TOKEN" not in found["env"]
    assert found["processes"] == sorted({1, found["pid"]})  # its namespace's init and itself
    if os.geteuid() == 0:
        assert found["uid"] == sandbox.uid != 0
    assert (folder / "mine.txt").read_text() == "ok"


def test_an_environment_under_tmp_stays_visible_under_the_private_tmp(tmp_path: Path) -> None:
    """A course or environment cloned into /tmp (as CI does) is bound after /tmp is replaced."""
    import dataclasses

    require_sandbox()
    sandbox, _ = find_sandbox("require")
    assert sandbox is not None
    tool = tmp_path / "env"
    tool.mkdir()
    (tool / "hello.py").write_text("print('hello from the environment')")
    folder = tmp_path / "student"
    folder.mkdir()
    sandbox.hand_over(folder)
    boxed = dataclasses.replace(sandbox, readable=(*sandbox.readable, str(tool)))
    run = subprocess.run(boxed.command([sys.executable, "-I", str(tool / "hello.py")], cwd=str(folder)),
                         capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == "hello from the environment", run.stderr
