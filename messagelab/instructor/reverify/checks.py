"""The clean process: the instructor's test cells on plain values, in a Python that ran no student code.

A ``python -I`` (isolated: no current folder, user site or PYTHON* variables on its path;
this ``messagelab`` first) in an empty folder runs the notebook's setup once; for each
submission a child forked from it runs every test cell, visible and hidden, on the
answers decoded from the student's snapshot. It
scores as nbgrader does: a cell passes when it raises nothing and writes nothing to stderr
(the course's ``IgnorePattern`` applies) within the cell timeout, and a result that reads
as a number is partial credit.
"""

from __future__ import annotations

import ast
import builtins
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from messagelab.instructor.reverify.lines import LineReader
from messagelab.instructor.reverify.plain import NotPlain, decode
from messagelab.instructor.reverify.plan import Plan
from messagelab.instructor.reverify.settings import Settings
from messagelab.instructor.sandbox import Sandbox

#: Address space of the clean check process. Checks on plain values need little; a value
#: that makes a check allocate without bound fails that check instead of the machine.
CHECK_MEMORY_LIMIT_BYTES = 4 * 2**30

#: Seconds the server may take to import the setup.
STARTUP_TIMEOUT_S = 120.0

#: Characters of a check's own output (its ✓ line) kept for the graded notebook.
MAX_STDOUT_CHARS = 10_000


class CheckSetupError(RuntimeError):
    """The check process could not run the notebook's setup: the grader's problem, not the student's."""


@dataclass(frozen=True)
class CheckResult:
    """One test cell's outcome in the clean process."""

    passed: bool
    earned: float
    reason: str
    stdout: str = ""


#: The folder holding this ``messagelab``: the clean process imports this very copy.
_PACKAGE_PARENT = Path(__file__).resolve().parents[3]

_CHECK_SERVER = (
    "import sys; sys.path.insert(0, {path!r}); "
    "from messagelab.instructor.reverify.checks import serve; "
    "raise SystemExit(serve())"
)


class CheckServer:
    """A ``python -I`` that runs the setup once, then forks a fresh child for each submission.

    It is started in an empty folder and in isolated mode (no current folder, user site or
    PYTHON* variables on its path; this ``messagelab`` first), so no file a student handed in
    can shadow a module and the checks are the grader's own. The server itself only ever
    runs the instructor's setup; each submission's checks run in a child forked from it,
    which starts with the imports done and ends when its checks are, so nothing of one
    student's values reaches another's. A grading worker keeps one server per notebook and
    reuses it from student to student; a server that dies or overruns is replaced.
    """

    def __init__(self, plan: Plan, settings: Settings, sandbox: Sandbox | None = None) -> None:
        self.plan, self.settings = plan, settings
        self._folder = Path(tempfile.mkdtemp(prefix="messagelab-checks-"))
        self.log = self._folder / "checks.log"
        env = dict(os.environ, NBGRADER_EXECUTION="autograde")
        command = [sys.executable, "-I", "-c", _CHECK_SERVER.format(path=str(_PACKAGE_PARENT))]
        if sandbox is not None:
            sandbox.hand_over(self._folder)
            command = sandbox.command(command, cwd=str(self._folder), env=env)
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                cwd=self._folder,
                env=env,
                text=True,
            )
        self._ready = False
        assert self.process.stdout is not None
        self._lines = LineReader(self.process.stdout.fileno())
        self._send({
            "setup": plan.setup,
            "timeout": settings.cell_timeout_s,
            "ignore_pattern": settings.ignore_pattern,
            "memory_limit": CHECK_MEMORY_LIMIT_BYTES,
        })

    def alive(self) -> bool:
        return self.process.poll() is None

    def _send(self, message: Any) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass  # it has stopped: reading its answer says so

    def _answer(self, timeout: float) -> dict[str, Any] | None:
        """The server's next line as a JSON object; None when it overran ``timeout`` or died.

        A line that is not a JSON object reads as ``{}`` (no answer), so it never stops the
        reading of the lines after it.
        """
        assert self.process.stdout is not None
        line = self._lines.next(timeout)
        if not line:
            return None
        try:
            answer = json.loads(line)
        except (ValueError, RecursionError):
            return {}
        return answer if isinstance(answer, dict) else {}

    def _setup(self) -> None:
        if self._ready:
            return
        answer = self._answer(STARTUP_TIMEOUT_S)
        if answer is None or answer.get("setup") != "ok":
            detail = answer.get("reason") if answer else self.log.read_text(errors="replace")[-2000:]
            self.close()
            raise CheckSetupError(f"the clean check process could not set up {self.plan.notebook}: {detail}")
        self._ready = True

    def run(self, cells: list[dict[str, Any]],
            code: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> dict[str, CheckResult]:
        """The result of each of ``cells`` (dicts of grade_id, source, points, values), by grade_id.

        Results come back on the server's own output pipe, which only the server and the
        child it forks hold, each tagged with this request's token; a check that did not
        finish (out of time or memory, or the child died) fails with that reason. A cell's
        ``code`` names are the student's code: the check calls them through ``code``
        (:class:`messagelab.instructor.reverify.code.CodeRunner`), which runs them elsewhere.
        """
        self._setup()
        token = secrets.token_hex(16)
        self._send({"cells": cells, "token": token})
        deadline = time.monotonic() + 120 + len(cells) * (self.settings.cell_timeout_s + 10)
        verdicts: dict[str, CheckResult] = {}
        wanted = {cell["grade_id"] for cell in cells}
        while True:
            answer = self._answer(deadline - time.monotonic())
            if answer is None:
                self.close()  # overran or died: the next submission gets a new server
                break
            if answer.get("done") == token:
                break
            call = answer.get("call")
            if answer.get("token") == token and isinstance(call, dict):
                reply = code(call) if code is not None else {"error": "this check has no student code", "type": ""}
                self._send({"reply": reply, "id": answer.get("id")})
                continue
            result = answer.get("result")
            if answer.get("token") != token or not isinstance(result, dict) or result.get("grade_id") not in wanted:
                continue
            try:
                verdicts.setdefault(str(result["grade_id"]), CheckResult(
                    result["passed"] is True, float(result["earned"]), str(result["reason"]),
                    str(result.get("stdout", ""))))
            except (KeyError, TypeError, ValueError):
                continue
        unfinished = CheckResult(False, 0.0, "the check did not finish (it ran out of time or memory)")
        for cell in cells:
            verdicts.setdefault(cell["grade_id"], unfinished)
        return verdicts

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        shutil.rmtree(self._folder, ignore_errors=True)


class _CheckTimeout(BaseException):
    """Raised in a check that runs past its time; a BaseException so ``except Exception`` lets it by."""


def serve() -> int:
    """The server: setup once, then for each request fork a child that runs its cells."""
    import contextlib
    import io
    import signal

    control = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray output must not garble the answers

    def say(message: dict[str, Any]) -> None:
        control.write(json.dumps(message) + "\n")

    job = json.loads(sys.stdin.readline())
    try:
        import resource

        limit = int(job["memory_limit"])
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(job["setup"], "<setup>", "exec"), namespace)
        from IPython.core.formatters import PlainTextFormatter  # noqa: F401 - for partial credit, once
    except BaseException as error:  # noqa: BLE001 - reported to the parent
        say({"setup": "error", "reason": f"{type(error).__name__}: {error}"})
        return 1
    namespace.setdefault("display", lambda *args, **kwargs: None)
    say({"setup": "ok"})

    def on_alarm(signum: int, frame: Any) -> None:
        raise _CheckTimeout()

    signal.signal(signal.SIGALRM, on_alarm)
    for line in sys.stdin:
        request = json.loads(line)
        if not isinstance(request, dict) or "token" not in request:
            continue  # a late reply to a call whose check had already run out of time
        token = request["token"]
        child = os.fork()
        if child == 0:
            code = 1
            calls = iter(range(1, 2**62))

            def call(message: dict[str, Any], token: str = token, calls: Any = calls) -> dict[str, Any]:
                number = next(calls)
                say({"token": token, "call": message, "id": number})
                for reply in sys.stdin:  # skip the late reply of a call that ran out of time
                    answer = json.loads(reply)
                    if isinstance(answer, dict) and answer.get("id") == number:
                        return answer["reply"]
                raise RuntimeError("the grader stopped answering")

            try:
                code = _run_cells(request["cells"], namespace, float(job["timeout"]), job.get("ignore_pattern"),
                                  lambda result, token=token: say({"token": token, "result": result}), call)
            finally:
                control.flush()
                os._exit(code)
        _, status = os.waitpid(child, 0)
        say({"done": token, "status": status})
    return 0


def _run_cells(cells: list[dict[str, Any]], namespace: dict[str, Any], timeout: float, pattern: str | None,
               report: Callable[[dict[str, Any]], None],
               call: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> int:
    """Each test cell on its plain values, in a forked child; ``report`` gets each one's result.

    A cell's ``code`` names are bound to :class:`~messagelab.grading.code.Remote` handles
    whose calls go through ``call`` to the student's code, wherever it runs.
    """
    import contextlib
    import io
    import signal
    import traceback

    from messagelab.instructor.reverify.code import Remote

    for cell in cells:
        for name in cell.get("code", ()):
            namespace[name] = Remote(name, call or _no_code)
        for name, tree in cell["values"].items():
            namespace.pop(name, None)
            if tree != {"missing": True}:
                try:
                    namespace[name] = decode(tree)
                except NotPlain:
                    pass  # checked by the parent already: the check then fails on the name
        err = io.StringIO()
        with tempfile.TemporaryFile() as fd_err:
            saved = os.dup(2)
            os.dup2(fd_err.fileno(), 2)
            failure, result = None, None
            out_text = io.StringIO()
            try:
                signal.setitimer(signal.ITIMER_REAL, timeout)
                with contextlib.redirect_stdout(out_text), contextlib.redirect_stderr(err):
                    result = _run_as_cell(cell["source"], namespace, f"<{cell['grade_id']}>")
            except _CheckTimeout:
                failure = f"the check ran past {timeout:g} s"
            except BaseException as error:  # noqa: BLE001 - any failure of the instructor's check
                lines = traceback.format_exception_only(type(error), error)
                failure = "".join(lines).strip()
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
            fd_err.seek(0)
            stderr = err.getvalue() + fd_err.read().decode("utf-8", "replace")
        if failure is None and stderr and not (pattern and re.search(pattern, stderr)):
            failure = "the check wrote to stderr: " + stderr.strip()[:500]
        earned = 0.0
        if failure is None:
            try:
                earned = _partial_credit(result, float(cell["points"]))
            except Exception as error:  # a result whose text cannot be shown: an error in the notebook too
                failure = f"the check's result could not be shown: {type(error).__name__}: {error}"
        report({"grade_id": cell["grade_id"], "passed": failure is None,
                "earned": earned if failure is None else 0.0, "reason": failure or "passed",
                "stdout": out_text.getvalue()[:MAX_STDOUT_CHARS]})
    return 0


def _no_code(message: dict[str, Any]) -> dict[str, Any]:
    return {"error": "the student's code is not available to this check", "type": ""}


def _run_as_cell(source: str, namespace: dict[str, Any], filename: str) -> Any:
    """Run ``source`` as IPython runs a cell; return the value of a last bare expression."""
    tree = ast.parse(source)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr) and not source.rstrip().endswith(";"):
        last = ast.Expression(tree.body.pop().value)
    exec(compile(tree, filename, "exec"), namespace)
    return eval(compile(last, filename, "eval"), namespace) if last is not None else None


def _partial_credit(result: Any, points: float) -> float:
    """nbgrader's rule: a test cell whose result reads as a number from 0 to points earns it."""
    if result is None:
        return points
    from IPython.core.formatters import PlainTextFormatter

    try:
        grade = float(PlainTextFormatter()(result))
    except ValueError:
        return points
    return min(grade, points) if grade >= 0 else points


