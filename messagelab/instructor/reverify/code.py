"""Code answers: a student's functions and classes, run in a sandboxed process of their own.

A test cell that reads code the student wrote cannot be checked on a snapshot of plain
values. Its check still runs in the clean process (checks.py), with the code bound to a
:class:`messagelab.grading.code.Remote`; each call is sent here::

    clean check process ── call (plain arguments) ──► worker ──► code process (sandboxed)
            ▲                                                     the student's cells that
            └──────────────── plain value or error ◄──────────── define the code, nothing else

The code process runs only the *slice* of the submission that defines the answers — the
statements binding them and, walking back, those binding what they use (imports, helpers,
constants) — never the explorers, displays or checks of the notebook. It starts in an empty
folder, confined as the student's kernel is, and each call has the cell timeout; a call that
overruns, or a process that dies, fails its check with the reason.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from messagelab.grading.code import resolve
from messagelab.instructor.reverify.lines import LineReader
from messagelab.instructor.reverify.plain import NotPlain, decode, encode
from messagelab.instructor.reverify.plan import _loaded_names, _python, _stored_names, is_test
from messagelab.instructor.sandbox import Sandbox, kill_tree

#: Seconds the code process may take to run the student's slice.
STARTUP_TIMEOUT_S = 60.0

_PACKAGE_PARENT = Path(__file__).resolve().parents[3]

_CODE_SERVER = (
    "import sys; sys.path.insert(0, {path!r}); "
    "from messagelab.instructor.reverify.code import serve; "
    "raise SystemExit(serve())"
)


def student_slice(cells: Iterable[Mapping[str, Any]], names: Sequence[str]) -> str:
    """The statements of a submission's code cells that define ``names``, with what they need.

    Test cells are left out (the instructor's, restored by nbgrader). A statement is taken
    when it binds a needed name; what it reads is then needed too. Expression statements
    (displays, calls for their effect) bind nothing and are never taken.
    """
    statements: list[ast.stmt] = []
    for cell in cells:
        if cell.get("cell_type") != "code" or is_test(cell):
            continue
        try:
            statements.extend(ast.parse(_python(str(cell.get("source", "")))).body)
        except SyntaxError:
            continue  # a cell that does not parse defines nothing; a missing name says so
    needed, chosen = set(names), []
    for statement in reversed(statements):
        if _stored_names(statement) & needed:
            chosen.append(statement)
            needed |= _loaded_names(statement)
    return "\n".join(ast.unparse(statement) for statement in reversed(chosen))


class CodeRunner:
    """One submission's code process, started at the first call and stopped by :meth:`close`."""

    def __init__(self, source: str, *, timeout_s: float, sandbox: Sandbox | None = None) -> None:
        self.source, self.timeout_s, self.sandbox = source, timeout_s, sandbox
        self.process: subprocess.Popen[str] | None = None
        self._folder: Path | None = None
        self._broken: str | None = None

    def call(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The reply to one call: ``{"value": tree}`` or ``{"error": why, "type": name}``."""
        if self._broken:
            return {"error": self._broken, "type": ""}
        if self.process is None:
            self._start()
            if self._broken:
                return {"error": self._broken, "type": ""}
        reply = self._exchange(dict(request), self.timeout_s + 5)
        if reply is None:
            self._stop()
            self._broken = f"the student's code ran past {self.timeout_s:g} s or stopped"
            return {"error": self._broken, "type": ""}
        return reply

    def _start(self) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="messagelab-code-"))
        env = dict(os.environ, NBGRADER_EXECUTION="autograde")
        command = [sys.executable, "-I", "-c", _CODE_SERVER.format(path=str(_PACKAGE_PARENT))]
        if self.sandbox is not None:
            self.sandbox.hand_over(self._folder)
            command = self.sandbox.command(command, cwd=str(self._folder), env=env)
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, cwd=self._folder, env=env, text=True)
        assert self.process.stdout is not None
        self._lines = LineReader(self.process.stdout.fileno())
        ready = self._exchange({"source": self.source, "timeout": self.timeout_s}, STARTUP_TIMEOUT_S)
        if ready is None or ready.get("ready") is not True:
            why = (ready or {}).get("reason") or "its process did not start"
            self._stop()
            self._broken = f"the student's code could not be run: {why}"

    def _exchange(self, message: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        process = self.process
        if process is None or process.stdin is None or process.stdout is None:
            return None
        try:
            process.stdin.write(json.dumps(message) + "\n")
            process.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            return None
        line = self._lines.next(timeout)
        try:
            answer = json.loads(line) if line else None
        except ValueError:
            return None
        return answer if isinstance(answer, dict) else None

    def _stop(self) -> None:
        if self.process is not None:
            kill_tree(self.process)
            for stream in (self.process.stdin, self.process.stdout):
                try:
                    if stream is not None:
                        stream.close()
                except OSError:
                    pass
            self.process = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def close(self) -> None:
        self._stop()


class CodeError(RuntimeError):
    """The student's code failed in a way that has no exception class the check knows."""


class Remote:
    """A student's function or class, living in another process: calls go there, plain values come back.

    It is what the clean check process binds a code answer's name to; :func:`messagelab.grading.code.drive`
    sends a driver's cases through it (``runs_elsewhere``).

    ``call`` sends one request (``{"name", "driver", "args", "kwargs"}``, arguments as plain
    trees) and returns the reply: ``{"value": tree}`` or ``{"error": message, "type": name}``.
    """

    runs_elsewhere = True

    def __init__(self, name: str, call: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self.name, self._call = name, call

    def __repr__(self) -> str:
        return f"<{self.name}, the student's code>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._request(None, args, kwargs)

    def drive(self, driver: str, cases: list[Any]) -> list[Any]:
        return self._request(driver, (cases,), {})

    def _request(self, driver: str | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        reply = self._call({"name": self.name, "driver": driver, "args": encode(list(args), "arguments"),
                            "kwargs": encode(kwargs, "arguments")})
        if "error" in reply:
            raise _exception(str(reply.get("type", "")), str(reply["error"]))
        try:
            return decode(reply.get("value"))
        except NotPlain as error:
            raise CodeError(f"{self.name} gave back something that is not plain data: {error}") from None


def _exception(kind: str, message: str) -> BaseException:
    """The error the student's code raised, as its own class when that is a built-in or ``messagelab``'s."""
    import builtins

    module, _, name = kind.partition(":")
    try:
        found = getattr(builtins, name) if module == "builtins" else resolve(kind)
    except (ValueError, ImportError, AttributeError):
        found = None
    if isinstance(found, type) and issubclass(found, Exception):
        try:
            return found(message)
        except Exception:  # noqa: BLE001 - a class that needs other arguments
            pass
    return CodeError(message)


class _CallTimeout(BaseException):
    """A call that ran past its time (a BaseException, so ``except Exception`` in student code lets it by)."""


def serve() -> int:
    """The code process: run the student's slice, then answer calls one line at a time."""
    import builtins
    import contextlib
    import io
    import signal

    control = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # the student's prints must not garble the replies

    def say(message: dict[str, Any]) -> None:
        try:
            text = json.dumps(message, allow_nan=False)
        except (TypeError, ValueError) as error:
            text = json.dumps({"error": f"its result could not be sent ({error})", "type": ""})
        control.write(text + "\n")

    def on_alarm(signum: int, frame: Any) -> None:
        raise _CallTimeout()

    signal.signal(signal.SIGALRM, on_alarm)
    job = json.loads(sys.stdin.readline())
    timeout = float(job["timeout"])
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            exec(compile(job["source"], "<student code>", "exec"), namespace)
    except _CallTimeout:
        say({"ready": False, "reason": f"its cells ran past {timeout:g} s"})
        return 1
    except BaseException as error:  # noqa: BLE001 - the student's code failed: reported, never raised
        say({"ready": False, "reason": f"{type(error).__name__}: {error}"})
        return 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    say({"ready": True})
    for line in sys.stdin:
        request = json.loads(line)
        try:
            signal.setitimer(signal.ITIMER_REAL, timeout)
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                if request["name"] not in namespace:
                    raise NameError(f"name {request['name']!r} is not defined")
                code = namespace[request["name"]]
                args, kwargs = decode(request["args"]), decode(request["kwargs"])
                if request.get("driver"):
                    run = resolve(request["driver"])
                    value = [run(code, case) for case in args[0]]  # the driver, on every case
                else:
                    value = code(*args, **kwargs)
                tree = encode(value, request["name"] + "'s result")
            signal.setitimer(signal.ITIMER_REAL, 0)
            say({"value": tree})
        except _CallTimeout:
            say({"error": f"{request.get('name')} ran past {timeout:g} s", "type": ""})
        except BaseException as error:  # noqa: BLE001 - the student's code raised: the check sees it
            signal.setitimer(signal.ITIMER_REAL, 0)
            kind = f"{type(error).__module__}:{type(error).__qualname__}"
            say({"error": str(error), "type": kind})
    return 0
