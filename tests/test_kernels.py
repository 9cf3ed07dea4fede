"""Warm kernels: forked from one zygote per worker, and still one student at a time.

Each test drives real kernels through the kernel manager nbgrader's Execute step uses
(:func:`messagelab.instructor.kernels.sandboxed_kernel_manager`), inside the real sandbox.
The hostile corpus (``test_hostile.py``) runs the same kernels end to end.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbchecks import ROOT, require_sandbox
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from messagelab.instructor import kernels
from messagelab.instructor.reverify.plan import plan
from messagelab.instructor.sandbox import Sandbox, find_sandbox

EX01 = ROOT / "source" / "ex01-message-queues" / "ex01-message-queues.ipynb"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    require_sandbox()
    box, _ = find_sandbox("require")
    assert box is not None
    yield box
    kernels.close_zygotes()


def run(manager: type, folder: Path, *cells: str) -> list[str]:
    """Each cell's stdout, run in one kernel started by ``manager`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in cells])
    NotebookClient(nb, kernel_name="python3", timeout=60, kernel_manager_class=manager,
                   resources={"metadata": {"path": str(folder)}}).execute()
    return ["".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout").strip()
            for cell in nb.cells]


def test_plan_lists_the_notebooks_imports() -> None:
    imports = plan(EX01).imports
    assert {"messagelab.assignments", "messagelab.assignments.ex01", "messagelab.queues.explorer"} <= set(imports)


def test_zygote_imports_ahead_only_what_does_not_ask_for_a_kernel(sandbox: Sandbox, tmp_path: Path) -> None:
    warm = kernels.Warm(str(tmp_path / "home"), kernels.preload_for([plan(EX01)]))
    zygote = kernels.zygote_for(sandbox, warm)
    assert zygote.ensure()
    assert {"ipykernel.kernelapp", "messagelab.assignments.ex01"} <= set(zygote.loaded)
    # The explorer imports ipywidgets and plotly, which ask IPython at import whether they
    # run in a kernel (comm targets, the default renderer): they import in the kernel.
    assert "asks IPython" in zygote.skipped["messagelab.queues.explorer"]


def test_a_warm_kernel_is_what_a_cold_one_is(sandbox: Sandbox, tmp_path: Path) -> None:
    warm = kernels.Warm(str(tmp_path / "home"), kernels.preload_for([plan(EX01)]))
    probe = ("import os, random, sys, plotly.io as pio, ipywidgets\n"
             "from IPython import get_ipython\n"
             "print(json.dumps({'ppid': os.getppid(), 'renderer': pio.renderers.default, "
             "'comm': 'jupyter.widget' in get_ipython().kernel.comm_manager.targets, "
             "'path0': sys.path.index('') >= 0, 'home': os.environ['HOME'], "
             "'here': sorted(os.listdir('.')), 'rand': random.random()}))")
    shown = {}
    for how, manager in (("cold", kernels.sandboxed_kernel_manager(sandbox)),
                         ("warm", kernels.sandboxed_kernel_manager(sandbox, warm))):
        folder = tmp_path / how / "submission"
        folder.mkdir(parents=True)
        (folder / "orders.csv").write_text("id\n1\n")
        out = run(manager, folder, "import json", probe, "open('written.txt', 'w').write('kept')")
        shown[how] = json.loads(out[1])
        assert (folder / "written.txt").read_text() == "kept", how  # the folder came back, with its work
    second = json.loads(run(kernels.sandboxed_kernel_manager(sandbox, warm), tmp_path / "again", "import json",
                            probe)[1])
    assert second["rand"] != shown["warm"]["rand"]  # each warm kernel reseeds
    for key in ("ppid", "renderer", "comm", "path0", "home", "here"):
        assert shown["warm"][key] == shown["cold"][key], key
    assert shown["warm"]["ppid"] == 1 and shown["warm"]["comm"]


def test_nothing_of_one_student_reaches_the_next(sandbox: Sandbox, tmp_path: Path) -> None:
    manager = kernels.sandboxed_kernel_manager(sandbox, kernels.Warm(str(tmp_path / "home"), kernels.KERNEL_MODULES))
    plant = (
        "import os, pathlib, subprocess\n"
        "subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
        "pathlib.Path('/tmp/planted').write_text('x')\n"
        "startup = pathlib.Path(os.environ['IPYTHONDIR'], 'profile_default', 'startup')\n"
        "startup.mkdir(parents=True, exist_ok=True)\n"
        "(startup / '00-rig.py').write_text('RIGGED = True')\n"
        "zygote = next(int(p) for p in os.listdir('/proc') if p.isdigit() and "
        "b'serve_zygote' in open(f'/proc/{p}/cmdline', 'rb').read())\n"
        "try:\n"
        "    open(f'/proc/{zygote}/mem', 'rb').read(1)\n"
        "    print('read the zygote')\n"
        "except OSError as error:\n"
        "    print(type(error).__name__)"
    )
    assert run(manager, tmp_path / "alice", plant) == ["PermissionError"]
    look = ("import os\n"
            "others = [p for p in os.listdir('/proc') if p.isdigit() and "
            "b'sleep' in open(f'/proc/{p}/cmdline', 'rb').read()]\n"
            "print(os.path.exists('/tmp/planted'), 'RIGGED' in globals(), others, "
            "len(os.listdir(os.path.dirname(os.getcwd()))))")
    assert run(manager, tmp_path / "bob", look) == ["False False [] 1"]


def test_a_kernel_that_kills_its_zygote_costs_only_itself(sandbox: Sandbox, tmp_path: Path) -> None:
    manager = kernels.sandboxed_kernel_manager(sandbox, kernels.Warm(str(tmp_path / "home"), kernels.KERNEL_MODULES))
    killer = ("import os, signal\n"
              "for p in os.listdir('/proc'):\n"
              "    if p.isdigit() and int(p) not in (1, os.getpid()):\n"
              "        os.kill(int(p), signal.SIGKILL)\n"
              "import time; time.sleep(5)")
    with pytest.raises(DeadKernelError):
        run(manager, tmp_path / "mallory", killer)
    assert (tmp_path / "mallory").is_dir()  # her folder is back where nbgrader left it
    assert run(manager, tmp_path / "bob", "print(6 * 7)") == ["42"]


def test_one_zygote_serves_every_kernel_of_a_worker(sandbox: Sandbox, tmp_path: Path) -> None:
    warm = kernels.Warm(str(tmp_path / "home"), kernels.KERNEL_MODULES)
    manager = kernels.sandboxed_kernel_manager(sandbox, warm)
    zygote = kernels.zygote_for(sandbox, warm)
    assert run(manager, tmp_path / "alice", "print(1)") == ["1"]
    first = zygote.proc.pid if zygote.proc else None
    assert first is not None and zygote.alive()
    assert run(manager, tmp_path / "bob", "print(2)") == ["2"]
    # A kernel that ends (shut down by nbclient) leaves the zygote running for the next one:
    # restarting it per student would pay the imports a warm kernel exists to avoid.
    assert zygote.alive() and zygote.proc is not None and zygote.proc.pid == first
    # Its exit status is read from inside the sandbox (not "killed before it could say").
    folder = tempfile.mkdtemp(dir=zygote.sockets)  # where the sandbox lets a kernel write, as in use
    sandbox.hand_over(folder)
    process = zygote.start_kernel(["--no-such-option"], folder, {}, folder)
    assert process.wait(timeout=30) == 2  # what ipykernel exits with on an unknown option
    assert zygote.alive() and zygote.proc is not None and zygote.proc.pid == first


def test_a_zygote_that_stops_answering_costs_no_student_their_kernel(sandbox: Sandbox, tmp_path: Path) -> None:
    import psutil

    warm = kernels.Warm(str(tmp_path / "home"), kernels.KERNEL_MODULES)
    manager = kernels.sandboxed_kernel_manager(sandbox, warm)
    zygote = kernels.zygote_for(sandbox, warm)
    assert run(manager, tmp_path / "alice", "print(1)") == ["1"]
    assert zygote.proc is not None
    first = zygote.proc.pid
    # What a notebook that stops every process it can see leaves behind: a zygote that is
    # alive (so ensure() keeps it) but answers nothing, so the fork request times out.
    served = [p for p in psutil.Process(first).children(recursive=True) if "serve_zygote" in " ".join(p.cmdline())]
    assert served, "the zygote's own process"
    for process in served:
        process.suspend()
    zygote.timeout_s = 2.0
    folder = tmp_path / "bob"
    folder.mkdir()
    (folder / "orders.csv").write_text("id\n1\n")
    out = run(manager, folder, "import os; print(os.getppid(), sorted(os.listdir('.')))",
              "open('written.txt', 'w').write('kept')")
    assert out[0] == "1 ['orders.csv']"  # a cold kernel, in its own sandbox, in bob's folder
    assert (folder / "written.txt").read_text() == "kept"
    assert not zygote.alive() or zygote.proc.pid != first  # the stopped zygote was killed
    assert not psutil.pid_exists(served[0].pid) or psutil.Process(served[0].pid).status() == psutil.STATUS_ZOMBIE
    assert run(manager, tmp_path / "carol", "print(3)") == ["3"]  # and the next kernel is warm again
    assert zygote.alive() and zygote.proc is not None and zygote.proc.pid != first
