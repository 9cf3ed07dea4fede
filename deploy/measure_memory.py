"""How much memory a student's server needs: each assignment run top to bottom, measured.

For every assignment the catalogue has released (``release/<id>/<id>.ipynb`` exists), the
student notebook runs top to bottom in a fresh kernel, as a student who presses *Run All*
on the notebook they fetched. Unanswered cells raise ``NotImplementedError`` and the tests
after them fail: the run goes on (``allow_errors``), as it does in JupyterLab. The
instructor notebook (``source/<id>/<id>.ipynb``), every answer filled in, runs the same
way: it stands for a student's finished notebook, which computes everything the
unanswered release skips.

The kernel's peak resident memory is the larger of its ``VmHWM`` (the kernel's own
high-water mark, read from ``/proc`` after every cell, before the kernel shuts down) and
the largest total of the kernel and any child processes, polled every 50 ms. An idle
JupyterLab server, the other process in a student's pod, is measured once after it has
served the JupyterLab page and its settings.

Run from the repository root (it takes a few minutes; Linux only, for ``/proc``)::

    .venv/bin/python deploy/measure_memory.py

It prints a Markdown table (deploy/README.md holds the last one) and a summary.
``singleuser.memory`` in deploy/values.yaml is sized from it.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
POLL_S = 0.05
MB = 1024 * 1024


def vm_hwm(pid: int) -> int:
    """The process's peak resident set size in bytes (``VmHWM``), 0 if it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024  # reported in kB
    return 0


class PeakPoller:
    """Polls a process and its descendants every ``POLL_S`` seconds; keeps the largest total RSS."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, pid: int) -> None:
        self._thread = threading.Thread(target=self._run, args=(pid,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self, pid: int) -> None:
        try:
            process = psutil.Process(pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            try:
                total = process.memory_info().rss
                for child in process.children(recursive=True):
                    try:
                        total += child.memory_info().rss
                    except psutil.NoSuchProcess:
                        pass
            except psutil.NoSuchProcess:
                return
            self.peak = max(self.peak, total)
            self._stop.wait(POLL_S)


@dataclass(frozen=True)
class Run:
    assignment: str
    notebook: str  # "release" or "source"
    peak_bytes: int
    seconds: float
    errors: Counter

    @property
    def peak_mb(self) -> int:
        return round(self.peak_bytes / MB)

    def errors_text(self) -> str:
        if not self.errors:
            return "none"
        return ", ".join(f"{name} ×{count}" for name, count in sorted(self.errors.items()))


def run_notebook(assignment: str, kind: str, path: Path, cell_timeout: int) -> Run:
    """Run ``path`` top to bottom in a fresh kernel, in a scratch folder; measure its peak RSS."""
    nb = nbformat.read(path, as_version=4)
    poller = PeakPoller()
    hwm = 0
    pid = 0
    saved = {name: os.environ.get(name) for name in ("NBGRADER_EXECUTION", "MESSAGELAB_WORKSPACE")}
    with tempfile.TemporaryDirectory() as scratch:
        # A plain run, as a student's: not under nbgrader, and the course home's copies
        # of the assignments go to the scratch folder, not the repository's work/.
        os.environ.pop("NBGRADER_EXECUTION", None)
        os.environ["MESSAGELAB_WORKSPACE"] = str(Path(scratch) / "work")
        shutil.copy(path, Path(scratch) / path.name)
        client = NotebookClient(
            nb,
            kernel_name="python3",
            timeout=cell_timeout,
            allow_errors=True,
            resources={"metadata": {"path": scratch}},
        )

        def started(**_: object) -> None:
            nonlocal pid
            pid = client.km.provisioner.process.pid
            poller.start(pid)

        def cell_done(**_: object) -> None:
            nonlocal hwm
            hwm = max(hwm, vm_hwm(pid))

        client.on_notebook_start = started
        client.on_cell_executed = cell_done
        began = time.monotonic()
        try:
            client.execute()
        finally:
            poller.stop()
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        seconds = time.monotonic() - began
    errors = Counter(
        output.ename for cell in nb.cells for output in cell.get("outputs", []) if output.output_type == "error"
    )
    return Run(assignment, kind, max(hwm, poller.peak), seconds, errors)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure_lab_server(timeout: float = 120) -> int:
    """Peak RSS (bytes) of a JupyterLab server that has started and served its page and settings."""
    port, token = _free_port(), secrets.token_hex(16)
    with tempfile.TemporaryDirectory() as root:
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            f"--ServerApp.port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
        ]
        if os.geteuid() == 0:
            command.append("--allow-root")
        env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(Path(root) / ".runtime"))
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + timeout
            while True:
                try:
                    urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5).read()
                    break
                except (urllib.error.URLError, ConnectionError):
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("the JupyterLab server did not start") from None
                    time.sleep(0.5)
            for page in ("/lab", "/lab/api/settings", "/api/contents", "/api/kernelspecs"):
                urllib.request.urlopen(f"{base}{page}?token={token}", timeout=60).read()
            time.sleep(2)
            return max(vm_hwm(server.pid), psutil.Process(server.pid).memory_info().rss)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def released_assignments() -> list[str]:
    """Ids of the catalogue's assignments that have a student notebook in release/."""
    from messagelab.course import ASSIGNMENTS, release_path

    return [a.id for a in ASSIGNMENTS if release_path(a, ROOT).is_file()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell-timeout", type=int, default=600, help="seconds one cell may run (default 600)")
    parser.add_argument("--no-source", action="store_true", help="run only the student notebooks")
    parser.add_argument("--no-server", action="store_true", help="do not measure a JupyterLab server")
    args = parser.parse_args(argv)

    from messagelab.course import release_path, source_path

    print("| assignment | notebook | kernel peak RSS (MB) | run (s) | error outputs |")
    print("| --- | --- | ---: | ---: | --- |")
    runs: list[Run] = []
    for assignment in released_assignments():
        paths = [("release", release_path(assignment, ROOT))]
        if not args.no_source and source_path(assignment, ROOT).is_file():
            paths.append(("source", source_path(assignment, ROOT)))
        for kind, path in paths:
            run = run_notebook(assignment, kind, path, args.cell_timeout)
            runs.append(run)
            print(
                f"| {run.assignment} | {run.notebook} | {run.peak_mb} | {run.seconds:.0f} | {run.errors_text()} |",
                flush=True,
            )
    print()
    for kind in ("release", "source"):
        peaks = [run.peak_mb for run in runs if run.notebook == kind]
        if peaks:
            print(f"{kind}: median {statistics.median(peaks):.0f} MB, max {max(peaks)} MB over {len(peaks)} notebooks")
    if not args.no_server:
        print(f"JupyterLab server (started, page and settings served): {round(measure_lab_server() / MB)} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
