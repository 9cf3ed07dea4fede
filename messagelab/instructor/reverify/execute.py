"""nbgrader's Execute step, with every re-verifiable test cell judged outside the kernel.

One execution of the submission serves both nbgrader's grade and re-verification::

    nbgrader autograde (sanitize: restore locked cells, put back deleted test cells, dedupe)
        │
        ▼  VerifiedExecute, in the student's kernel
    student cells run as usual; at each test cell the kernel only prints a snapshot of the
    answers the cell reads (plain data) — the test's code, hidden tests included, never runs
    there
        │
        ▼  the clean process (checks.py): setup, then every test cell on the plain values
    each test cell's outputs become the clean verdict: its ✓ line, partial credit as a
    result, or the reason as an error ──► nbgrader's SaveAutoGrades scores those outputs

A kernel that dies or hangs past interruption stops the run: the test cells before it keep
their verdicts and those after it fail with the reason, so a crash costs only the cells it
affected. A test cell whose answer is code (a function or class the student writes) is
judged in the clean process too: the code itself runs in a sandboxed process of its own,
holding only the cells that define it, and hands back plain values (code.py).

The worker that runs nbgrader (:mod:`messagelab.instructor.autograde`) sets the job with
:func:`start_job` before each submission; without a job this step refuses to run, so it can
never fall back to the kernel's own verdict.
"""

from __future__ import annotations

import re
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import nbformat
from nbgrader.preprocessors import Execute

from messagelab.instructor.kernels import Warm, preload_for, restore_all, sandboxed_kernel_manager
from messagelab.instructor.reverify.checks import CheckServer, CheckSetupError
from messagelab.instructor.reverify.code import CodeRunner, student_slice
from messagelab.instructor.reverify.plain import MAX_SNAPSHOT_CHARS, NotPlain, decode, parse_snapshot, snapshot_source
from messagelab.instructor.reverify.plan import Plan, TestCell, is_test, nbgrader_meta
from messagelab.instructor.reverify.settings import Settings
from messagelab.instructor.reverify.verdict import Verdict
from messagelab.instructor.sandbox import Sandbox


@dataclass
class Job:
    """One submission's re-verification: the plans of its notebooks, and what came of each."""

    plans: Mapping[str, Plan]
    settings: Settings
    nonce: str = field(default_factory=lambda: "@@messagelab-snapshot-" + secrets.token_hex(16) + "@@")
    verdicts: dict[str, list[Verdict]] = field(default_factory=dict)
    #: Why the kernel stopped early, per notebook (absent: it ran to the end).
    stopped: dict[str, str] = field(default_factory=dict)
    #: Why re-verification itself could not run (the grading machine's problem), or None.
    error: str | None = None
    #: Where the student's kernel and the clean checks run (None: unconfined, as plain nbgrader).
    sandbox: Sandbox | None = None
    #: The worker's folder for warm kernels (:mod:`messagelab.instructor.kernels`), or None: cold.
    kernel_home: str | None = None


_job: Job | None = None

#: Whether a kernel starts in an empty folder (probed once per process, when one did not).
_kernel_starts_here: bool | None = None

#: This process's check servers, one per notebook setup and scoring rule, reused from
#: submission to submission.
_servers: dict[tuple[str, float, str | None, Sandbox | None], CheckServer] = {}


def check_server(plan: Plan, settings: Settings, sandbox: Sandbox | None = None) -> CheckServer:
    """The running check server for ``plan``'s setup, started if there is none (or it died).

    Servers are keyed by what a server runs and how it scores (the setup, the cell timeout,
    the ignore pattern), not by the whole ``settings``: each student's scratch course has a
    gradebook of its own, which must not start a new server per student.
    """
    key = (plan.setup, settings.cell_timeout_s, settings.ignore_pattern, sandbox)
    server = _servers.get(key)
    if server is None or not server.alive():
        if server is not None:
            server.close()
        server = _servers[key] = CheckServer(plan, settings, sandbox.for_checks() if sandbox else None)
    return server


def close_servers() -> None:
    """Stop every check server of this process."""
    while _servers:
        _servers.popitem()[1].close()


def start_job(job: Job) -> Job:
    """Make ``job`` the one the next nbgrader run in this process re-verifies."""
    global _job
    _job = job
    return job


def end_job() -> None:
    global _job
    _job = None


class KernelUnavailable(RuntimeError):
    """No kernel starts even in an empty folder: the grading machine is broken, not the submission."""


class VerifiedExecute(Execute):
    """``nbgrader.preprocessors.Execute`` with test cells judged by the clean process."""

    def preprocess(self, nb: Any, resources: Any = None, km: Any = None) -> tuple[Any, Any]:
        job = _job
        if job is None:
            raise RuntimeError("VerifiedExecute runs only inside messagelab's autograde workers (no job set)")
        if job.sandbox is not None:
            warm = Warm(job.kernel_home, preload_for(job.plans.values())) if job.kernel_home else None
            self.kernel_manager_class = sandboxed_kernel_manager(job.sandbox, warm)
        name = (resources or {}).get("unique_key", "")
        plan = job.plans.get(name)
        if plan is None or not plan.tests:
            try:
                return super().preprocess(nb, resources, km)
            finally:
                restore_all()
        self._plan, self._nonce, self._job = plan, job.nonce, job
        self._values: dict[str, dict[str, Any]] = {}
        self._failures: dict[str, str] = {}
        self._ran_cells = 0
        stopped: str | None = None
        try:
            checks = check_server(plan, job.settings, job.sandbox)  # a new one imports while the kernel starts
            try:
                super().preprocess(nb, resources, km)
            except KeyboardInterrupt:
                raise
            except Exception as error:  # noqa: BLE001 - the student's kernel stopped; say why
                stopped = self._why_stopped(error, plan, job)
            finally:
                restore_all()  # a warm kernel's folder is back and nothing of its is left running
            verdicts = self._judge(nb, plan, checks, stopped)
        except (KernelUnavailable, CheckSetupError) as error:
            job.error = f"re-verification could not run: {error}"
            raise  # nbgrader fails this notebook: no score is taken from the kernel
        if stopped:
            job.stopped[name] = stopped
        job.verdicts[name] = verdicts
        return nb, resources

    def preprocess_cell(self, cell: Any, resources: Any, index: int) -> tuple[Any, Any]:
        test = self._plan.test(nbgrader_meta(cell).get("grade_id", "")) if is_test(cell) else None
        self._ran_cells += 1
        if test is None:
            return super().preprocess_cell(cell, resources, index)
        plain = [name for name in test.answers if name not in test.code_answers]
        probe = nbformat.v4.new_code_cell(snapshot_source(self._nonce, test.grade_id, plain))
        try:
            self.execute_cell(probe, index, store_history=False)
        finally:
            self.nb.cells[index] = cell  # nbclient stores the cell it ran at its index: put the test back
        self._read_snapshot(test, probe)
        cell.outputs = []
        return cell, self.resources

    # --- reading what the kernel printed ------------------------------------------------------
    def _read_snapshot(self, test: TestCell, probe: Any) -> None:
        text = "".join(str(out.get("text", "")) for out in probe.outputs
                       if out.get("output_type") == "stream" and out.get("name") == "stdout")
        if len(text) > MAX_SNAPSHOT_CHARS:
            self._failures[test.grade_id] = "its answers are too large to check"
            return
        found = [line[len(self._nonce):] for line in text.splitlines() if line.startswith(self._nonce)]
        if not found:
            errors = [out.get("ename", "") for out in probe.outputs if out.get("output_type") == "error"]
            self._failures[test.grade_id] = (f"the snapshot of its answers failed ({errors[0]})" if errors
                                            else "the snapshot of its answers printed nothing")
            return
        try:
            data = parse_snapshot(found[-1])
        except (ValueError, NotPlain) as error:
            self._failures[test.grade_id] = f"its answers could not be read ({error})"
            return
        if data.get("grade_id") != test.grade_id:
            self._failures[test.grade_id] = "its snapshot is for another cell"
            return
        self._values[test.grade_id] = data["values"]
        self._failures.pop(test.grade_id, None)

    def _why_stopped(self, error: Exception, plan: Plan, job: Job) -> str:
        from nbclient.exceptions import CellTimeoutError, DeadKernelError

        if isinstance(error, DeadKernelError):
            return "the notebook's kernel died (it exited or crashed) before this test cell"
        if isinstance(error, CellTimeoutError):
            return f"a cell ran past {job.settings.cell_timeout_s:g} s and could not be interrupted"
        if self._ran_cells == 0:
            if not kernel_starts(plan, job.settings, self.kernel_manager_class):
                raise KernelUnavailable(f"no {plan.kernel_name!r} kernel could start: {error}") from error
            return "the notebook's kernel could not start in the submission's folder"
        return f"the notebook's kernel stopped answering ({type(error).__name__}) before this test cell"

    # --- the verdicts -------------------------------------------------------------------------
    def _judge(self, nb: Any, plan: Plan, checks: CheckServer, stopped: str | None) -> list[Verdict]:
        verdicts: dict[str, Verdict] = {}
        to_check = []
        for test in plan.tests:
            values = self._values.get(test.grade_id)
            if values is None:
                why = self._failures.get(test.grade_id) or stopped or "the notebook has no such test cell"
                verdicts[test.grade_id] = Verdict(plan.notebook, test.grade_id, False, why, test.points, 0.0)
                continue
            problem = None
            plain = [name for name in test.answers if name not in test.code_answers]
            for name in plain:
                tree = values.get(name, {"missing": True})
                if tree == {"missing": True}:
                    continue  # the check itself fails with a NameError, as in the notebook
                try:
                    decode(tree)
                except NotPlain as error:
                    problem = f"{name} is not plain data: {error}"
                    break
            if problem:
                verdicts[test.grade_id] = Verdict(plan.notebook, test.grade_id, False, problem, test.points, 0.0)
            else:
                to_check.append({"grade_id": test.grade_id, "source": test.source, "points": test.points,
                                 "values": {n: values.get(n, {"missing": True}) for n in plain},
                                 "code": list(test.code_answers)})
        results = self._check(nb, checks, to_check) if to_check else {}
        shown: dict[str, str] = {}
        for cell in to_check:
            result = results[cell["grade_id"]]
            verdicts[cell["grade_id"]] = Verdict(plan.notebook, cell["grade_id"], result.passed, result.reason,
                                                 cell["points"], result.earned)
            shown[cell["grade_id"]] = result.stdout
        for cell in nb.cells:
            grade_id = nbgrader_meta(cell).get("grade_id", "")
            verdict = verdicts.get(grade_id)
            if is_test(cell) and verdict is not None and verdict.passed is not None:
                cell.outputs = _outputs(verdict, shown.get(grade_id, ""))
        return [verdicts[test.grade_id] for test in plan.tests]


    def _check(self, nb: Any, checks: CheckServer, cells: list[dict[str, Any]]) -> dict[str, Any]:
        """The clean verdicts of ``cells``; the student's code, if they read any, runs in a process of its own."""
        names = sorted({name for cell in cells for name in cell["code"]})
        if not names:
            return checks.run(cells)
        runner = CodeRunner(student_slice(nb.cells, names), timeout_s=self._job.settings.cell_timeout_s,
                            sandbox=self._job.sandbox)
        try:
            return checks.run(cells, runner.call)
        finally:
            runner.close()


def _outputs(verdict: Verdict, stdout: str) -> list[Any]:
    """A test cell's outputs that make nbgrader score it as the clean process did."""
    outputs = []
    if stdout:
        outputs.append(nbformat.v4.new_output("stream", name="stdout", text=stdout))
    if not verdict.passed:
        ename, _, evalue = verdict.reason.partition(": ")
        bare_error = not evalue and re.fullmatch(r"[\w.]*(Error|Exception|Interrupt|Exit)", ename)
        if not (evalue or bare_error) or not ename.replace(".", "").isidentifier():
            ename, evalue = "GradingFailed", verdict.reason
        outputs.append(nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                              traceback=[f"{ename}: {evalue}"]))
    elif verdict.earned is not None and verdict.earned < verdict.points:
        outputs.append(nbformat.v4.new_output("execute_result", data={"text/plain": f"{verdict.earned:g}"},
                                              execution_count=None))
    return outputs


def kernel_starts(plan: Plan, settings: Settings, manager_class: Any = None) -> bool:
    """Whether a kernel starts in an empty folder: tells a broken grader from a hostile folder."""
    global _kernel_starts_here
    if _kernel_starts_here is None:
        from nbclient import NotebookClient

        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
        with tempfile.TemporaryDirectory(prefix="messagelab-probe-") as empty:
            more = {"kernel_manager_class": manager_class} if manager_class is not None else {}
            client = NotebookClient(nb, kernel_name=plan.kernel_name, timeout=int(settings.cell_timeout_s),
                                    extra_arguments=list(settings.kernel_arguments), **more,
                                    resources={"metadata": {"path": empty}})
            try:
                client.execute()
                _kernel_starts_here = True
            except Exception:  # noqa: BLE001 - any failure means: no kernel here
                return False
    return _kernel_starts_here
