"""The kernels a grading worker starts, each inside the sandbox: cold, or forked warm.

A student's notebook spends about a second of CPU before its first cell does anything:
Python starts, ``ipykernel`` imports, then the notebook imports the course's models and
pandas. Plain nbgrader pays that once per notebook per student. Inside the sandbox
(:mod:`messagelab.instructor.sandbox`) a grading worker can pay it once::

    cold   worker ──► bwrap ──► python -m ipykernel_launcher          (one sandbox per kernel)

    warm   worker ──► bwrap ──► zygote: ipykernel and the instructor notebook's imports,
                                  imported once, then nothing but waiting
                                   └─ fork, per kernel ──► IPKernelApp: the student's code
                      between two kernels: every process in the sandbox except the zygote
                      is killed, /tmp and /dev/shm are emptied, the student's folder leaves

Warm is the default wherever there is a sandbox (never without one: the zygote's reset kills
every process it may signal). What keeps students apart is what kept them apart cold:

* **Only this student's folder.** The sandbox binds one folder per worker writable; a
  notebook's folder is moved into it when its kernel starts and moved back when the kernel
  is gone and the reset is done, so no earlier or later student's files are ever there.
* **Nothing outlives the kernel.** The reset kills every other process in the sandbox's pid
  namespace (``kill(-1)``, which cannot miss one) before the folder moves back, then empties
  the private ``/tmp`` (where IPython keeps its profile) and ``/dev/shm``.
* **The zygote cannot be tampered with.** It never runs a student's code; it is
  non-dumpable, so a kernel of the same uid cannot ptrace it or write its memory; its
  commands come on a pipe only the worker holds (a forked kernel closes it). A kernel can
  still kill or stop it: the worker's next request then times out and the sandbox is killed
  whole; a kernel whose fork was that request starts cold, and the next one gets a new
  zygote, so that costs time, never another student's score.
* **The kernel is the one nbgrader would start.** Only modules whose import does not ask
  IPython whether it runs in a kernel (plotly picks its renderer that way, ipywidgets
  registers its comms) and starts no thread are imported ahead, each tried first in a
  throwaway fork; the rest import in the kernel as usual. Each kernel reseeds ``random``
  (and numpy's global generator), gets the environment a cold kernel gets, and runs
  ``ipykernel``'s own application with the kernelspec's arguments. A kernelspec that is not
  this Python's ``ipykernel`` starts cold.

``python -m messagelab.instructor autograde ... --kernels cold`` turns warm kernels off.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import importlib
import json
import os
import random
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from messagelab.instructor.sandbox import Sandbox, kill_tree

#: Imported by every warm zygote before the instructor notebook's own imports.
KERNEL_MODULES = ("ipykernel.kernelapp", "ipykernel.ipkernel")

#: Seconds a zygote may take to import everything and say it is ready.
STARTUP_TIMEOUT_S = 120.0

#: Seconds any other request to a zygote may take (a stopped zygote is replaced).
REQUEST_TIMEOUT_S = 20.0

#: Bytes of a warm kernel's own stdout/stderr (its file descriptors) kept for nbgrader's log.
MAX_KERNEL_LOG_BYTES = 2**20

KERNEL_MODES = ("warm", "cold")

_PR_SET_DUMPABLE = 4

_ZYGOTE_CODE = "from messagelab.instructor.kernels import serve_zygote; serve_zygote()"


class ZygoteError(RuntimeError):
    """The zygote did not answer (it died, stopped or overran); it has been killed."""


@dataclass(frozen=True)
class Warm:
    """Where a worker's warm kernels run (``home``: its folder, bound writable) and what they import ahead."""

    home: str
    preload: tuple[str, ...]


def preload_for(plans: Iterable[Any]) -> tuple[str, ...]:
    """What a zygote imports ahead: the kernel, then every module the instructor notebooks import."""
    names = dict.fromkeys(KERNEL_MODULES)
    for plan in plans:
        names.update(dict.fromkeys(plan.imports))
    return tuple(names)


# ---------------------------------------------------------------------------
# Inside the sandbox: the zygote
# ---------------------------------------------------------------------------


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}, {value}) failed")


_TRIAL_VERDICTS = {
    1: "it does not import",
    2: "its import asks IPython whether it runs in a kernel",
    3: "its import starts a thread",
}


def _trial(name: str) -> str | None:
    """Why ``name`` must not be imported ahead (tried in a throwaway fork), or None."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            import IPython
            import IPython.core.getipython as getipython

            asked: list[bool] = []

            def asking() -> None:
                asked.append(True)

            IPython.get_ipython = getipython.get_ipython = asking
            importlib.import_module(name)
            code = 2 if asked else 3 if threading.active_count() > 1 else 0
        except BaseException:  # noqa: BLE001 - any failure: not imported ahead
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return None if code == 0 else _TRIAL_VERDICTS.get(code, f"its trial import ended with status {code}")


def _preload(names: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    loaded, skipped = [], {}
    for name in names:
        if name not in sys.modules:
            why = _trial(name)
            if why:
                skipped[name] = why
                continue
            try:
                importlib.import_module(name)
            except BaseException as error:  # noqa: BLE001
                skipped[name] = f"{type(error).__name__}: {error}"
                continue
        loaded.append(name)
    return loaded, skipped


def _reap() -> None:
    """Collect this zygote's own finished children (the namespace's init collects the rest)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _kill_the_rest(deadline_s: float = 5.0) -> bool:
    """Kill every process in this pid namespace but this one (and init); True once none is left."""
    deadline = time.monotonic() + deadline_s
    while True:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(-1, signal.SIGKILL)
        _reap()
        try:
            os.kill(-1, 0)
        except (ProcessLookupError, PermissionError):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)


def _wipe(folder: str, keep: Sequence[str]) -> None:
    """Remove everything under ``folder`` except the paths in ``keep`` (and the way to them)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        path = entry.path
        if path in keep:
            continue
        if any(kept.startswith(path + os.sep) for kept in keep):
            _wipe(path, keep)
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        except OSError:
            pass


def _become_kernel(request: Mapping[str, Any]) -> int:
    """In the forked kernel: take the kernel's place, then run ipykernel's own application."""
    os.setsid()
    _prctl(_PR_SET_DUMPABLE, 1)
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    random.seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    import ipykernel_launcher
    from ipykernel import kernelapp

    sys.argv = [ipykernel_launcher.__file__, *request["args"]]
    kernelapp.launch_new_instance()
    return 0


def _fork_kernel(request: Mapping[str, Any], control: Sequence[int]) -> int:
    """Fork a kernel whose parent is the sandbox's init, as a cold kernel's is; its pid.

    The zygote forks a go-between that forks the kernel and exits at once, so the kernel's
    parent becomes pid 1, which nothing in the namespace can signal: a notebook that kills
    its parent (``os.kill(os.getppid(), SIGKILL)``) meets the same wall as in a cold
    sandbox. The kernel writes its exit status to ``request["status"]`` as it ends.
    """
    read_end, write_end = os.pipe()
    between = os.fork()
    if between == 0:
        os.close(read_end)
        kernel = os.fork()
        if kernel == 0:
            code = 1
            try:
                for fd in (*control, write_end):
                    os.close(fd)
                code = _become_kernel(request)
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
            except BaseException:  # noqa: BLE001 - the kernel's own failure, into its log
                traceback.print_exc()
            finally:
                with contextlib.suppress(Exception):
                    sys.stdout.flush()
                    sys.stderr.flush()
                with contextlib.suppress(Exception):
                    Path(request["status"]).write_text(str(code))
                os._exit(code)
        os.write(write_end, str(kernel).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reading:
        pid = int(reading.read() or b"0")
    os.waitpid(between, 0)
    if pid <= 0:
        raise RuntimeError("the kernel could not be forked")
    return pid


def _poll(pid: int, status: str) -> int | None:
    """None while the kernel runs; once it is gone (its parent, init, reaps it), its exit status."""
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as proc_stat:
            if proc_stat.read().rpartition(")")[2].split()[0] != "Z":
                return None
    except (ProcessLookupError, FileNotFoundError):
        pass
    try:  # written by the kernel, so read as untrusted: no link, no FIFO, a few bytes
        fd = os.open(status, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            return int(os.read(fd, 16)) if stat.S_ISREG(os.fstat(fd).st_mode) else -signal.SIGKILL
        finally:
            os.close(fd)
    except (OSError, ValueError):
        return -signal.SIGKILL  # killed before it could say


def serve_zygote() -> None:
    """The zygote's loop, inside the sandbox: JSON requests on stdin, one answer per line on stdout.

    The first line says what to import ahead and which paths a reset keeps; the answer
    lists what was loaded and what was skipped and why. Then ``start`` (fork a kernel:
    ``args``, ``cwd``, ``env``, ``log``, ``status``), ``poll`` and ``signal`` (one kernel, by ``pid``),
    and ``reset`` (kill every other process, empty /tmp and /dev/shm).
    """
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    requests = os.fdopen(os.dup(0), "r")
    quiet = os.open(os.devnull, os.O_RDWR)
    os.dup2(quiet, 0)
    os.dup2(quiet, 1)
    os.close(quiet)
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]  # as ipykernel_launcher does: the folder is not where modules come from
    _prctl(_PR_SET_DUMPABLE, 0)
    control = (answers.fileno(), requests.fileno())
    hello = json.loads(requests.readline() or "{}")
    keep = [os.path.realpath(p) for p in hello.get("keep", [])]
    loaded, skipped = _preload(hello.get("preload", []))
    gc.collect()
    gc.freeze()  # the forked kernels share these pages instead of copying them on the first collection
    answers.write(json.dumps({"ready": True, "loaded": loaded, "skipped": skipped}) + "\n")
    statuses: dict[int, str] = {}
    for line in requests:
        try:
            request = json.loads(line)
            op = request.get("op")
            if op == "start":
                pid = _fork_kernel(request, control)
                statuses[pid] = request["status"]
                answer: dict[str, Any] = {"pid": pid}
            elif op == "poll":
                pid = int(request["pid"])
                answer = {"status": _poll(pid, statuses.get(pid, ""))}
            elif op == "signal":
                pid, number = int(request["pid"]), int(request["signal"])
                try:
                    os.killpg(pid, number)
                except ProcessLookupError:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, number)
                answer = {"ok": True}
            elif op == "reset":
                ok = _kill_the_rest()
                _wipe("/tmp", keep)
                _wipe("/dev/shm", keep)
                answer = {"ok": ok}
            else:
                answer = {"error": f"unknown request {op!r}"}
        except Exception as error:  # noqa: BLE001 - say what failed; the worker decides
            answer = {"error": f"{type(error).__name__}: {error}"}
        answers.write(json.dumps(answer) + "\n")


# ---------------------------------------------------------------------------
# In the worker: the zygote's handle
# ---------------------------------------------------------------------------


class Zygote:
    """One worker's warm zygote: started on first use, restarted after it dies or is killed."""

    def __init__(self, sandbox: Sandbox, warm: Warm) -> None:
        self.sandbox = sandbox
        self.home = Path(warm.home)
        self.preload = warm.preload
        # A Unix socket's path holds at most 107 bytes: a short folder of the system's own.
        self.sockets = tempfile.mkdtemp(prefix="mlz-")
        os.chmod(self.sockets, 0o711)  # the sandbox's uid passes through to its kernel's own folder
        self.loaded: list[str] = []
        self.skipped: dict[str, str] = {}
        self.proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._moved: dict[str, str] = {}  # folder inside home -> where it came from
        self._count = 0
        self.timeout_s = REQUEST_TIMEOUT_S  # for one answer, once it is running

    # --- the process ---------------------------------------------------------------------
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def ensure(self) -> bool:
        """Whether a zygote is running, ready for a kernel (started when there was none)."""
        if self.alive():
            return True
        self.kill()
        self.home.mkdir(parents=True, exist_ok=True)
        self._empty_home()
        keep = [str(self.home), self.sockets, *self.sandbox.readable]
        command = self.sandbox.command([sys.executable, "-c", _ZYGOTE_CODE], cwd=str(self.home),
                                       writable=[self.sockets])
        with open(self.home.parent / f"{self.home.name}.log", "a") as log:
            self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                         text=True, start_new_session=True)
        try:
            hello = self._ask({"preload": list(self.preload), "keep": keep}, STARTUP_TIMEOUT_S)
        except ZygoteError:
            return False
        self.loaded, self.skipped = list(hello.get("loaded", [])), dict(hello.get("skipped", {}))
        return bool(hello.get("ready"))

    def _ask(self, message: Mapping[str, Any], timeout: float | None = None) -> dict[str, Any]:
        timeout = self.timeout_s if timeout is None else timeout
        with self._lock:
            proc = self.proc
            if proc is None or proc.stdin is None or proc.stdout is None:
                raise ZygoteError("no zygote is running")
            try:
                proc.stdin.write(json.dumps(message) + "\n")
                proc.stdin.flush()
                ready, _, _ = select.select([proc.stdout], [], [], timeout)
                line = proc.stdout.readline() if ready else ""
            except (OSError, ValueError):
                line = ""
        answer = json.loads(line) if line else None
        if not isinstance(answer, dict) or "error" in answer:
            why = answer.get("error") if isinstance(answer, dict) else "it did not answer"
            self.kill()
            raise ZygoteError(f"the warm kernel zygote failed: {why}")
        return answer

    def kill(self) -> None:
        """Kill the zygote's sandbox and everything in it."""
        proc, self.proc = self.proc, None
        if proc is not None:
            kill_tree(proc)

    def close(self) -> None:
        self.restore()
        self.kill()
        shutil.rmtree(self.sockets, ignore_errors=True)

    # --- the student's folder --------------------------------------------------------------
    def move_in(self, folder: str) -> str | None:
        """Move ``folder`` into the sandbox's writable home; its path there, or None (start cold)."""
        self._count += 1
        inside = str(self.home / f"k{self._count}")
        try:
            os.rename(folder, inside)
        except OSError:
            return None
        self._moved[inside] = folder
        return inside

    def move_out(self, inside: str) -> str:
        """Move a folder :meth:`move_in` moved back where it came from (no kernel ran in it); that path."""
        folder = self._moved.pop(inside)
        os.rename(inside, folder)
        return folder

    def restore(self) -> None:
        """End every warm kernel's turn: kill what is left in the sandbox, move the folders back.

        When the reset cannot be confirmed the whole sandbox is killed instead, so no process
        of this student's ever sees the folder again either way.
        """
        if not self._moved:
            return
        try:
            if not self._ask({"op": "reset"}).get("ok"):
                self.kill()
        except ZygoteError:
            pass  # killed already
        while self._moved:
            inside, folder = self._moved.popitem()
            with contextlib.suppress(OSError):
                if stat.S_ISDIR(os.lstat(inside).st_mode):
                    os.rename(inside, folder)
                else:  # the kernel swapped its folder for a link or a file: nothing of it comes back
                    os.mkdir(folder)
        self._empty_home()
        for entry in os.scandir(self.sockets):
            if entry.is_dir(follow_symlinks=False):
                _copy_log(os.path.join(entry.path, "kernel.log"))
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)

    def _empty_home(self) -> None:
        for entry in os.scandir(self.home):
            if entry.path not in self._moved:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)

    # --- kernels ---------------------------------------------------------------------------
    def start_kernel(self, args: Sequence[str], cwd: str, env: Mapping[str, str], folder: str) -> _WarmProcess:
        """Fork a kernel in ``cwd``; its own output and exit status go to files in ``folder``."""
        answer = self._ask({"op": "start", "args": list(args), "cwd": cwd, "env": dict(env),
                            "log": os.path.join(folder, "kernel.log"), "status": os.path.join(folder, "status")})
        return _WarmProcess(self, int(answer["pid"]))


class _WarmProcess:
    """What jupyter's provisioner holds for a forked kernel: ``subprocess.Popen``'s few methods."""

    stdin = stdout = stderr = None

    def __init__(self, zygote: Zygote, pid: int) -> None:
        self.zygote = zygote
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                self.returncode = self.zygote._ask({"op": "poll", "pid": self.pid})["status"]
            except ZygoteError:
                self.returncode = -signal.SIGKILL  # its sandbox is gone, and the kernel with it
            if self.returncode is not None:
                # Gone, shut down or died: end its turn now, since nbclient cleans up only
                # after kernels it still finds alive.
                self.zygote.restore()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout or 0)
            time.sleep(0.02)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, number: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ZygoteError):
                self.zygote._ask({"op": "signal", "pid": self.pid, "signal": int(number)})

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


#: This process's zygotes, one per (sandbox, warm): a worker keeps one for the whole batch.
_zygotes: dict[tuple[Sandbox, Warm], Zygote] = {}


def zygote_for(sandbox: Sandbox, warm: Warm) -> Zygote:
    key = (sandbox, warm)
    if key not in _zygotes:
        _zygotes[key] = Zygote(sandbox, warm)
    return _zygotes[key]


def restore_all() -> None:
    """End the turn of every warm kernel of this process (a safety net after each notebook)."""
    for zygote in _zygotes.values():
        zygote.restore()


def close_zygotes() -> None:
    while _zygotes:
        _zygotes.popitem()[1].close()


# ---------------------------------------------------------------------------
# The kernel manager nbgrader uses
# ---------------------------------------------------------------------------


def _runs_here(argv: Sequence[str]) -> bool:
    """Whether a kernelspec's command is this Python's ipykernel (what a zygote can fork)."""
    if len(argv) < 3 or list(argv[1:3]) != ["-m", "ipykernel_launcher"]:
        return False
    if argv[0] in ("python", "python3", f"python{sys.version_info.major}"):
        return True
    found, this = Path(shutil.which(argv[0]) or argv[0]).absolute(), Path(sys.executable).absolute()
    return found.parent == this.parent and found.resolve() == this.resolve()  # this environment's Python


@functools.cache
def sandboxed_kernel_manager(sandbox: Sandbox, warm: Warm | None = None) -> type:
    """A jupyter ``AsyncKernelManager`` class whose kernels start inside ``sandbox``.

    With ``warm``, kernels are forked from the worker's zygote (:class:`Zygote`); without,
    or when the zygote cannot start, does not answer the fork (stopped, hung, killed) or the
    kernelspec is another Python's, each kernel gets a bubblewrap of its own. Either way each
    kernel gets a fresh folder for its connection file and Unix sockets (the ``ipc``
    transport: the sandbox has no network). Interrupts are sent as messages, which reach the
    kernel through the sandbox; signals would stop at bubblewrap.
    """
    from jupyter_client import AsyncKernelManager
    from jupyter_client.provisioning import LocalProvisioner

    class WarmProvisioner(LocalProvisioner):  # type: ignore[misc,valid-type]
        zygote: Zygote

        async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
            manager = self.parent
            try:
                self.process = self.zygote.start_kernel(cmd[3:], kwargs["cwd"], kwargs["env"], manager._sockets)
            except ZygoteError as why:
                # The zygote died, hung or was stopped between ensure() and the fork (it has
                # been killed by now): this kernel starts cold, in a sandbox of its own, as
                # when the zygote cannot start at all. The next kernel gets a fresh zygote.
                self.log.warning("%s; this kernel starts cold", why)
                folder = self.zygote.move_out(kwargs["cwd"])
                kwargs["cwd"] = folder
                cold = sandbox.command(cmd, cwd=folder, writable=[manager._sockets], env=kwargs["env"])
                return await super().launch_kernel(cold, **kwargs)
            self.pid, self.pgid = self.process.pid, None  # signals go through the zygote
            self.cwd = kwargs["cwd"]
            return self.connection_info

    class SandboxedKernelManager(AsyncKernelManager):  # type: ignore[misc,valid-type]
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._zygote = zygote_for(sandbox, warm) if warm is not None else None
            self._sockets = tempfile.mkdtemp(prefix="k-", dir=self._zygote.sockets if self._zygote else None)
            self.transport = "ipc"
            self.connection_file = os.path.join(self._sockets, "kernel.json")
            self.ip = os.path.join(self._sockets, "ipc")

        async def _async_pre_start_kernel(self, **kw: Any) -> Any:
            cwd = kw.get("cwd") or os.getcwd()
            inside = None
            zygote = self._zygote
            if zygote is not None and self.provisioner is None and _runs_here(self.kernel_spec.argv) \
                    and zygote.ensure():
                inside = zygote.move_in(cwd)
            if inside is not None:
                assert zygote is not None
                self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
                self.provisioner = WarmProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec,
                                                   parent=self)
                self.provisioner.zygote = zygote
                kw["cwd"] = cwd = inside
            cmd, kw = await super()._async_pre_start_kernel(**kw)
            self.kernel_spec.interrupt_mode = "message"
            sandbox.hand_over(cwd, self._sockets)
            kw["cwd"] = cwd
            if inside is not None:
                kw["env"] = sandbox.environment(kw.get("env"))
                return cmd, kw
            return sandbox.command(cmd, cwd=cwd, writable=[self._sockets], env=kw.get("env")), kw

        async def _async_cleanup_resources(self, restart: bool = False) -> None:
            await super()._async_cleanup_resources(restart)
            if not restart:
                if self._zygote is not None:
                    self._zygote.restore()
                shutil.rmtree(self._sockets, ignore_errors=True)

    return SandboxedKernelManager


def _copy_log(path: str) -> None:
    """A warm kernel's own output, into this process's stderr (nbgrader's log), as a cold kernel's goes.

    Read only when it is a regular file (never through a link, never a FIFO that would block).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            data = os.read(fd, MAX_KERNEL_LOG_BYTES)
            if data:
                os.write(2, data)
    except OSError:
        pass
    finally:
        os.close(fd)
