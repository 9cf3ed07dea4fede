"""A sandbox for every process that runs on a student's behalf while a class is graded.

nbgrader is not a sandbox: a submitted notebook is a program, and plain ``nbgrader
autograde`` runs it as the grader, with the grader's files, processes and network. Here
each kernel that runs a student's notebook, and each clean check process, starts inside
bubblewrap (``bwrap``, Debian's ``bubblewrap``)::

    worker (the grader's user) ──► bwrap: own pid, network, IPC and UTS namespaces
                                     read-only: /usr /bin /lib /etc, this Python, its
                                                environment, the messagelab package
                                     writable:  the notebook's own scratch folder, the
                                                kernel's socket folder, a small /tmp
                                     uid:       an unprivileged one, per worker slot
                                     limits:    address space, file size, processes, CPU
                                   └─► python -m ipykernel_launcher (the student's code)

So a cell cannot see or signal the grader or another student (pid namespace), reach the
network (the kernel talks to nbgrader over Unix sockets in its own folder, jupyter's
``ipc`` transport), write the environment (``.pth`` files, the package), read ``source/``,
the gradebook, the exchange or other students' folders (none of them is in its file
system), or outlive its kernel (the namespace dies with it).

As root (a grading server, CI) the sandbox drops to a real unprivileged uid,
``SANDBOX_UID_BASE`` plus the worker's slot, so two workers' kernels never share a uid or a
process limit. As another user it maps that user to ``nobody`` in a user namespace. Where
bubblewrap is missing or cannot run (a laptop without it, a container without user
namespaces), :func:`find_sandbox` says why and ``make autograde`` warns loudly and grades
as plain nbgrader does, without one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: As root, worker slot ``i``'s kernels run as uid ``SANDBOX_UID_BASE + i`` and its clean
#: check process as ``SANDBOX_UID_BASE + CHECKS_UID_OFFSET + i``: uids no account uses.
SANDBOX_UID_BASE = 64100
CHECKS_UID_OFFSET = 100

#: The system folders every sandbox reads (those that exist on this machine).
SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc")

#: Environment variables a sandboxed process keeps; every other one (tokens, credentials,
#: the grader's paths) is dropped.
KEPT_ENVIRONMENT = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONPATH", "PYTHONHASHSEED",
                    "NBGRADER_EXECUTION", "MPLBACKEND", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "MKL_NUM_THREADS", "PYDEVD_DISABLE_FILE_VALIDATION")

MODES = ("auto", "require", "off")


class SandboxUnavailable(RuntimeError):
    """``require`` was asked for and no sandbox can run here; the message says why."""


@dataclass(frozen=True)
class Limits:
    """What one sandboxed process tree may use (``prlimit``; each is a hard limit)."""

    #: Address space of each process: a runaway allocation fails with MemoryError.
    address_space_bytes: int = 4 * 2**30
    #: Largest file it may write: writing more fails (Python ignores SIGXFSZ, so with EFBIG).
    file_size_bytes: int = 256 * 2**20
    #: Processes and threads of its uid: a fork bomb fails in its own kernel.
    processes: int = 512
    #: CPU seconds of each process: a kernel spinning past this is killed.
    cpu_seconds: int = 1800
    #: Size of its private /tmp (memory-backed).
    tmp_bytes: int = 256 * 2**20

    def __post_init__(self) -> None:
        for name in ("address_space_bytes", "file_size_bytes", "processes", "cpu_seconds", "tmp_bytes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Limits.{name} must be a positive integer, not {value!r}")


@dataclass(frozen=True)
class Sandbox:
    """How to start a command confined: bubblewrap's arguments, the uid, the limits."""

    bwrap: str
    #: The real uid to run as (the grader is root), or None: a user namespace maps the
    #: grader's own uid to ``nobody``.
    uid: int | None
    #: Folders bound read-only at the same path (system, Python, environment, package).
    readable: tuple[str, ...]
    limits: Limits = field(default_factory=Limits)

    def for_checks(self) -> Sandbox:
        """The same sandbox with the uid of this slot's clean check process."""
        if self.uid is None:
            return self
        return Sandbox(self.bwrap, self.uid + CHECKS_UID_OFFSET, self.readable, self.limits)

    def command(self, argv: Sequence[str], *, cwd: str, writable: Iterable[str] = (),
                env: Mapping[str, str] | None = None) -> list[str]:
        """``argv`` wrapped: run in ``cwd`` with only ``cwd`` and ``writable`` writable."""
        folders = [os.path.realpath(p) for p in dict.fromkeys([cwd, *writable])]
        args = [self.bwrap, "--die-with-parent", "--new-session",
                "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        if self.uid is None:
            args += ["--unshare-user", "--uid", "65534", "--gid", "65534"]
        # /tmp first: a folder bound later under it (an environment in /tmp) stays visible.
        args += ["--proc", "/proc", "--dev", "/dev",
                 "--perms", "1777", "--size", str(self.limits.tmp_bytes), "--tmpfs", "/tmp"]
        made: set[str] = {"/tmp"}
        for path in self.readable:
            args += _parents(path, made) + ["--ro-bind", path, path]
        for path in SYSTEM_FOLDERS:  # /bin -> usr/bin on a merged-/usr system
            if os.path.islink(path):
                args += ["--symlink", os.readlink(path), path]
        for path in folders:
            args += _parents(path, made) + ["--bind", path, path]
        args += ["--chdir", os.path.realpath(cwd), "--clearenv"]
        for name, value in self.environment(env).items():
            args += ["--setenv", name, value]
        args.append("--")
        if self.uid is not None:
            args += [_tool("setpriv"), f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups"]
        limits = self.limits
        args += [_tool("prlimit"), f"--as={limits.address_space_bytes}", f"--fsize={limits.file_size_bytes}",
                 f"--nproc={limits.processes}", f"--cpu={limits.cpu_seconds}", "--"]
        return args + list(argv)

    @staticmethod
    def environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
        """What a sandboxed process's environment holds: the kept variables of ``env``, homes in /tmp."""
        env = os.environ if env is None else env
        kept = {name: env[name] for name in KEPT_ENVIRONMENT if name in env}
        return {**kept, "HOME": "/tmp", "TMPDIR": "/tmp", "IPYTHONDIR": "/tmp/.ipython",
                "JUPYTER_RUNTIME_DIR": "/tmp/.jupyter-runtime",
                # A kernel's parent is the namespace's init (pid 1): no parent poller, no banner.
                "JPY_PARENT_PID": "1"}

    def hand_over(self, *paths: str | Path) -> None:
        """Make ``paths`` (and what is in them, never following links) the sandbox user's.

        Only as root, where the sandbox runs as another real uid; with a user namespace the
        grader's own files are already the sandbox's.
        """
        if self.uid is None:
            return
        for path in paths:
            for place in _walk(Path(path)):
                os.lchown(place, self.uid, self.uid)

    def describe(self) -> str:
        who = f"unprivileged uid {self.uid}" if self.uid is not None else "nobody in a user namespace"
        return f"bubblewrap ({self.bwrap}), {who}, no network, only its own folder writable"


def _tool(name: str) -> str:
    """util-linux's ``name``, by its full path (the sandbox's PATH is the student's)."""
    return shutil.which(name, path="/usr/bin:/bin:/usr/sbin:/sbin") or f"/usr/bin/{name}"


def _parents(path: str, made: set[str]) -> list[str]:
    """bubblewrap arguments creating each missing parent of ``path`` as a readable folder."""
    args = []
    parts = Path(path).parts
    for depth in range(2, len(parts)):
        parent = str(Path(*parts[:depth]))
        if parent not in made:
            made.add(parent)
            args += ["--perms", "0755", "--dir", parent]
    made.add(path)
    return args


def _walk(root: Path) -> Iterable[Path]:
    yield root
    if root.is_dir() and not root.is_symlink():
        for folder, dirs, files in os.walk(root):
            for name in dirs + files:
                yield Path(folder) / name


def _environment_folders() -> tuple[str, ...]:
    """What a kernel of this environment reads: the interpreter, the environment, messagelab."""
    import messagelab

    package = Path(messagelab.__file__).resolve().parent
    places = [*SYSTEM_FOLDERS, sys.base_prefix, sys.prefix, str(Path(sys.executable).resolve().parent.parent),
              str(package)]
    places += [p for p in sys.path if p and "site-packages" in p]
    found: list[str] = []
    for place in sorted({os.path.realpath(p) for p in places if os.path.isdir(p)}, key=len):
        if not any(place == f or place.startswith(f + os.sep) for f in found):
            found.append(place)
    # An environment reached through a link (a course's .venv linking to the hub's) is bound
    # at that path too: kernels and checks are started by it.
    for alias in dict.fromkeys([os.path.abspath(sys.prefix), str(Path(os.path.abspath(sys.executable)).parent.parent)]):
        if os.path.isdir(alias) and os.path.realpath(alias) != alias and alias not in found:
            found.append(alias)
    return tuple(found)


@functools.cache
def _probe(bwrap: str, as_root: bool) -> str | None:
    """None when a sandbox runs here; otherwise what bubblewrap said."""
    sandbox = Sandbox(bwrap, SANDBOX_UID_BASE if as_root else None, _environment_folders())
    with tempfile.TemporaryDirectory(prefix="messagelab-sandbox-probe-") as folder:
        sandbox.hand_over(folder)
        command = sandbox.command([sys.executable, "-I", "-c", "import os; open('ok', 'w').write(str(os.getuid()))"],
                                  cwd=folder)
        try:
            run = subprocess.run(command, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"{type(error).__name__}: {error}"
        if run.returncode != 0 or not (Path(folder) / "ok").is_file():
            return (run.stderr.strip() or f"exit status {run.returncode}")[-300:]
    return None


def find_sandbox(mode: str = "auto", *, slot: int = 0, limits: Limits | None = None) -> tuple[Sandbox | None, str]:
    """The sandbox for worker ``slot`` and a sentence saying what it is, or None and why not.

    ``mode`` is ``auto`` (a sandbox when one runs here), ``require`` (raise
    :class:`SandboxUnavailable` when none does) or ``off`` (none, on purpose).
    """
    if mode not in MODES:
        raise ValueError(f"sandbox mode must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "off":
        return None, "the sandbox is turned off (--sandbox off)"
    why = None
    bwrap = shutil.which("bwrap")
    if sys.platform != "linux":
        why = f"bubblewrap needs Linux; this is {sys.platform}"
    elif bwrap is None:
        why = "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    elif not (os.path.exists(_tool("setpriv")) and os.path.exists(_tool("prlimit"))):
        why = "setpriv and prlimit (util-linux) are missing"
    else:
        why = _probe(bwrap, os.geteuid() == 0)
        if why:
            why = f"bubblewrap cannot run here: {why}"
    if why:
        if mode == "require":
            raise SandboxUnavailable(why)
        return None, why
    assert bwrap is not None
    uid = SANDBOX_UID_BASE + slot if os.geteuid() == 0 else None
    sandbox = Sandbox(bwrap, uid, _environment_folders(), limits or Limits())
    return sandbox, sandbox.describe()


def to_dict(sandbox: Sandbox | None) -> dict[str, Any] | None:
    """A sandbox as JSON-ready data (for a worker's job)."""
    return None if sandbox is None else dataclasses.asdict(sandbox)


def from_dict(data: Mapping[str, Any] | None) -> Sandbox | None:
    if data is None:
        return None
    return Sandbox(str(data["bwrap"]), data["uid"], tuple(data["readable"]), Limits(**data["limits"]))


def kill_tree(proc: subprocess.Popen[Any], timeout_s: float = 5.0) -> None:
    """Kill ``proc`` and every process under it; return once none of them can run any more.

    A killed grandchild whose parent died with it waits as a zombie until init reaps it,
    which can take seconds in a container: a zombie runs nothing, so it counts as gone.
    """
    import psutil

    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    for process in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + timeout_s
    for process in family:
        while time.monotonic() < deadline:
            try:
                if process.status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            time.sleep(0.005)
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
