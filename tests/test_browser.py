"""An explorer works in a real browser: moving its slider redraws its chart.

JupyterLab runs on a free local port with its own config, data and runtime folders (so
nothing on the machine leaks in) and the course environment's Python as kernel.
Headless Chromium opens a notebook, runs every cell, presses ArrowRight on the first
slider and waits until the plotly chart's data change. Then it times slider → chart:
ten more moves, ArrowLeft and ArrowRight in turn, each timed inside the page with
``performance.now()`` from the key press to the moment the chart's new trace data are in
the page; the first is a warm-up. p50/p95 of the rest go to build/browser-timing.json,
which benchmarks/bench_explorers.py prints beside the Python-side update time and judges
against DESIGN.md's budget of 250 ms. Screenshots of the explorer before, after the
first presses and after the timed moves go to build/screenshots/ (and, when a check
fails, a screenshot of the page and the server's log).

Chromium comes from Debian (`apt-get install chromium`, as .ci/run does); without it the
test is skipped on a laptop and fails in CI.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from available import AVAILABLE, COURSE
from nbchecks import FIXTURES, ROOT, rel

from messagelab import course

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "build" / "screenshots"
IN_CI = bool(os.environ.get("CI"))

SERVER_START_S = 90
NOTEBOOK_OPEN_S = 90
RUN_ALL_S = 180
RUN_ALL_START_S = 30
SLIDER_UPDATE_S = 30
ARROW_PRESSES = 3

#: Timed slider moves after the first presses: ArrowLeft, ArrowRight, ... (so the slider
#: steps between two values it has already passed through and ends where it started).
TIMED_MOVES = 10
#: The first timed move is a warm-up, left out of the percentiles (it can pay for
#: first-use costs in the kernel, the comm and plotly's redraw path).
WARMUP_MOVES = 1
#: DESIGN.md: in headless Chromium, slider → chart repainted ≤ 250 ms p95.
REPAINT_BUDGET_MS = 250.0
BROWSER_TIMING = ROOT / "build" / "browser-timing.json"


@dataclass(frozen=True)
class Case:
    name: str
    folder: Path  # copied whole, so files beside the notebook come along
    notebook: str
    #: What the explorer must show after the key presses, when it is known exactly.
    final: Callable[[dict], bool] | None = None


def fixture_final(state: dict) -> bool:
    """1 consumer + 3 steps = 4 consumers: 12 msg/s for 10 msg/s arriving, no backlog."""
    trace = json.loads(state["data"])[0]
    return state["readout"] == "4" and trace["y"] == [0] * len(trace["x"])


#: The fixture, then every available assignment's release as a student opens it.
CASES = [pytest.param(Case("fixture", FIXTURES, "browser_demo.ipynb", fixture_final), id="fixture")] + [
    pytest.param(Case(assignment_id, course.release_path(assignment_id, COURSE).parent,
                      course.release_path(assignment_id, COURSE).name), id=assignment_id)
    for assignment_id in AVAILABLE
]


def require(condition: bool, reason: str) -> None:
    """Skip when something the test needs is missing on a laptop; fail when it is in CI."""
    if not condition:
        if IN_CI:
            pytest.fail(f"{reason} (required when CI is set)")
        pytest.skip(reason)


# ---------------------------------------------------------------------------
# JupyterLab, isolated
# ---------------------------------------------------------------------------


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    log: Path
    process: subprocess.Popen


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))


@pytest.fixture(scope="module")
def chromium() -> Path:
    require(CHROMIUM.exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
def lab(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    home = tmp_path_factory.mktemp("jupyter")
    config, data, runtime, served = (home / d for d in ("config", "data", "runtime", "served"))
    for folder in (config, data, runtime, served):
        folder.mkdir()
    # The news popup would cover the page; update checks need the network.
    settings = config / "lab/user-settings/@jupyterlab/apputils-extension"
    write_json(
        settings / "notification.jupyterlab-settings",
        {"fetchNews": "false", "checkForUpdates": False},
    )
    # The kernel is this environment's Python, where messagelab is installed.
    write_json(
        data / "kernels/python3/kernel.json",
        {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (course)",
            "language": "python",
        },
    )
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_DATA_DIR=str(data),
        JUPYTER_RUNTIME_DIR=str(runtime),
        PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    )
    env.pop("NBGRADER_EXECUTION", None)
    port, token = free_port(), secrets.token_hex(16)
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={served}",
        f"--IdentityProvider.token={token}",
        "--LabApp.expose_app_in_browser=True",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = home / "server.log"
    with log.open("w") as log_file:
        process = subprocess.Popen(
            command,
            cwd=served,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = Lab(f"http://127.0.0.1:{port}", token, served, log, process)
    try:
        wait_for_server(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_server(server: Lab) -> None:
    deadline = time.monotonic() + SERVER_START_S
    request = urllib.request.Request(f"{server.url}/api/status", headers={"Authorization": f"token {server.token}"})
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"JupyterLab exited early:\n{server.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"JupyterLab not up after {SERVER_START_S} s:\n{server.log.read_text()}")


# ---------------------------------------------------------------------------
# What the browser reads
# ---------------------------------------------------------------------------

# The open notebook's panel id, once it is the current tab and its kernel is idle.
NOTEBOOK_READY_JS = """(path) => {
    const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    if (!widget || !widget.context || widget.context.path !== path) return null;
    const session = widget.sessionContext && widget.sessionContext.session;
    const kernel = session && session.kernel;
    return kernel && kernel.status === 'idle' ? widget.id : null;
}"""

RUN_ALL_JS = "() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }"

# The explorer is the panel's first slider and the chart in the same cell's output (or,
# if that cell has none, the first chart after the slider). Shared by the functions below.
FIND_EXPLORER_JS = """
    const findExplorer = (panelId) => {
        const panel = document.getElementById(panelId);
        const slider = panel && panel.querySelector('.widget-slider');
        if (!slider) return null;
        const cell = slider.closest('.jp-Cell');
        let plot = cell && cell.querySelector('.js-plotly-plot');
        if (!plot) {
            plot = [...panel.querySelectorAll('.js-plotly-plot')].find(
                (p) => slider.compareDocumentPosition(p) & Node.DOCUMENT_POSITION_FOLLOWING);
        }
        if (!plot || !plot.data || plot.data.length === 0) return null;
        return {panel, cell, slider, plot};
    };
    // The chart's trace data as JSON: what changes when the kernel sends a new figure.
    const traceData = (plot) => {
        const plain = (v) => (ArrayBuffer.isView(v) ? Array.from(v) : v);
        return JSON.stringify(plot.data.map((t) => {
            const out = {};
            for (const key of ['type', 'name', 'x', 'y', 'z', 'values', 'labels', 'text']) {
                if (t[key] !== undefined) out[key] = plain(t[key]);
            }
            return out;
        }));
    };
    const readoutOf = (slider) => {
        const readout = slider.querySelector('.widget-readout');
        return readout ? readout.textContent.trim() : null;
    };
"""

EXPLORER_JS = (
    "(panelId) => {"
    + FIND_EXPLORER_JS
    + """
    const found = findExplorer(panelId);
    if (!found) return null;
    return {data: traceData(found.plot), readout: readoutOf(found.slider)};
}"""
)

# Arms a probe for one slider move and returns at once; the caller then presses the key
# and awaits ``window.__sliderProbe``. All times are the page's own performance.now(): from
# the keydown (caught on window in the capture phase, before the slider sees it) to the
# first moment the chart's trace data differ from those before the press (checked on every
# DOM mutation in the explorer's cell and on every animation frame), and to the end of the
# next frame after that (requestAnimationFrame, then a task: the frame has been painted).
ARM_MOVE_JS = (
    "([panelId, timeoutMs]) => {"
    + FIND_EXPLORER_JS
    + """
    const found = findExplorer(panelId);
    if (!found) throw new Error('no explorer to time');
    const before = traceData(found.plot);
    const readoutBefore = readoutOf(found.slider);
    let pressedAt = null, dataAt = null, done = false;
    window.__sliderProbe = new Promise((resolve) => {
        const onKey = () => { if (pressedAt === null) pressedAt = performance.now(); };
        const observer = new MutationObserver(() => check());
        const finish = (result) => {
            if (done) return;
            done = true;
            observer.disconnect();
            window.removeEventListener('keydown', onKey, true);
            clearTimeout(timer);
            resolve(Object.assign({readout_before: readoutBefore}, result));
        };
        const check = () => {
            if (pressedAt === null || dataAt !== null || done) return;
            const now = findExplorer(panelId);
            if (!now || traceData(now.plot) === before) return;
            dataAt = performance.now();
            requestAnimationFrame(() => setTimeout(() => finish({
                data_ms: dataAt - pressedAt,
                frame_ms: performance.now() - pressedAt,
                readout: readoutOf(now.slider),
            }), 0));
        };
        const poll = () => { if (!done) { check(); requestAnimationFrame(poll); } };
        const timer = setTimeout(() => finish({
            timeout: true,
            pressed: pressedAt !== null,
            data_ms: dataAt === null ? null : dataAt - pressedAt,
        }), timeoutMs);
        window.addEventListener('keydown', onKey, true);
        observer.observe(found.cell || found.panel,
                         {subtree: true, childList: true, attributes: true, characterData: true});
        requestAnimationFrame(poll);
    });
    return readoutBefore;
}"""
)

# The kernel has finished handling the last move (the update, figure and summary sent).
KERNEL_IDLE_JS = """(panelId) => {
    const widget = window.jupyterapp.shell.currentWidget;
    const session = widget && widget.id === panelId && widget.sessionContext.session;
    return Boolean(session && session.kernel && session.kernel.status === 'idle');
}"""


def explorer_state(page, panel_id: str) -> dict | None:
    return page.evaluate(EXPLORER_JS, panel_id)


def wait_for(page, predicate, timeout_s: float, what: str, diagnose=None):
    """Poll ``predicate()`` until it returns something truthy, or fail saying ``what``.

    ``diagnose()``, if given, says what the page shows at the time of a failure: it is part
    of the message, so a failure on a CI machine explains itself.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            seen = f"; the page shows: {diagnose()}" if diagnose is not None else ""
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}{seen}")
        page.wait_for_timeout(100)


# What a notebook panel shows: its kernel's status, how far its cells have run, the first
# error output, and how many sliders and charts (with data) are in the page.
NOTEBOOK_STATE_JS = """(panelId) => {
    const widget = [...window.jupyterapp.shell.widgets('main')].find((w) => w.id === panelId);
    if (!widget) return {panel: 'closed'};
    const session = widget.sessionContext && widget.sessionContext.session;
    const cells = widget.content.widgets.filter((c) => c.model.type === 'code');
    let error = null;
    for (const cell of cells) {
        const outputs = cell.model.outputs.toJSON();
        const failed = outputs.find((o) => o.output_type === 'error');
        if (failed) { error = `${failed.ename}: ${failed.evalue}`.slice(0, 300); break; }
    }
    const panel = document.getElementById(panelId);
    const plots = panel ? [...panel.querySelectorAll('.js-plotly-plot')] : [];
    return {
        kernel: session && session.kernel ? session.kernel.status : 'none',
        code_cells: cells.length,
        executed: cells.filter((c) => c.model.executionCount !== null).length,
        running: cells.filter((c) => c.model.executionState === 'running').length,
        first_error: error,
        sliders: panel ? panel.querySelectorAll('.widget-slider').length : 0,
        widget_views: panel ? panel.querySelectorAll('.jupyter-widgets').length : 0,
        plots: plots.length,
        plots_with_data: plots.filter((p) => p.data && p.data.length > 0).length,
    };
}"""


def notebook_state(page, panel_id: str) -> dict:
    return page.evaluate(NOTEBOOK_STATE_JS, panel_id)


def run_all(page, panel_id: str) -> None:
    """Run every cell, as the Run menu does; again if JupyterLab let the first request drop.

    A request that starts no cell within RUN_ALL_START_S (the kernel idle, no cell run or
    queued) is repeated once, and said so on the test's output.
    """
    page.evaluate(RUN_ALL_JS)
    started = lambda: (s := notebook_state(page, panel_id)) and (s.get("executed") or s.get("running"))  # noqa: E731
    try:
        wait_for(page, started, RUN_ALL_START_S, "a cell to start")
    except AssertionError:
        print(f"\nrun-all started no cell in {RUN_ALL_START_S} s "
              f"({notebook_state(page, panel_id)}); running all cells again")
        page.evaluate(RUN_ALL_JS)


def settled(read, condition, quiet_s: float = 1.0):
    """A predicate: true once ``read()`` meets ``condition`` and stays equal for ``quiet_s``."""
    last = {"value": None, "since": 0.0}

    def predicate():
        value = read()
        now = time.monotonic()
        if value != last["value"]:
            last["value"], last["since"] = value, now
            return None
        if value and condition(value) and now - last["since"] >= quiet_s:
            return value
        return None

    return predicate


def screenshot_explorer(page, panel_id: str, path: Path) -> None:
    """The output holding the first slider: the explorer, without the code above it."""
    panel = page.locator(f"[id='{panel_id}']")
    explorer = panel.locator(".jp-Cell-outputArea", has=page.locator(".widget-slider")).first
    explorer.scroll_into_view_if_needed()
    explorer.screenshot(path=str(path))


# ---------------------------------------------------------------------------
# Timing slider → chart
# ---------------------------------------------------------------------------


def time_slider_moves(page, panel_id: str, moves: int) -> list[dict]:
    """Move the first slider ``moves`` times, ArrowLeft first, and time each move in the page.

    Each move: arm the probe (it snapshots the chart's data), press the key, await the
    probe (new data in the page, then the next frame), then wait for the kernel to go idle
    so the next move starts from a quiet kernel and page. Returns the probe's results.
    """
    handle = page.locator(f"[id='{panel_id}'] .widget-slider .noUi-handle").first
    results = []
    for i in range(moves):
        key = "ArrowLeft" if i % 2 == 0 else "ArrowRight"
        handle.focus()
        page.evaluate(ARM_MOVE_JS, [panel_id, SLIDER_UPDATE_S * 1000])
        page.keyboard.press(key)
        result = page.evaluate("() => window.__sliderProbe")
        if result.get("timeout"):
            raise AssertionError(
                f"move {i + 1} ({key}): no new chart data within {SLIDER_UPDATE_S} s "
                f"(key press seen by the page: {result['pressed']}; readout "
                f"{result['readout_before']!r})"
            )
        page.wait_for_function(KERNEL_IDLE_JS, arg=panel_id, timeout=SLIDER_UPDATE_S * 1000)
        results.append(dict(result, key=key))
    return results


def timing_summary(case: Case, moves: list[dict], chromium_version: str) -> dict:
    """One notebook's entry in build/browser-timing.json."""
    # The first WARMUP_MOVES moves are warm-up: recorded, but not in the percentiles.
    warmup, timed = moves[:WARMUP_MOVES], moves[WARMUP_MOVES:]
    # performance.now() is coarsened to 0.1 ms in Chromium; keep no more digits than that.
    samples = [round(m["data_ms"], 1) for m in timed]
    frames = [round(m["frame_ms"], 1) for m in timed]
    p50, p95 = (float(np.percentile(samples, q)) for q in (50, 95))
    return {
        "notebook": rel(case.folder / case.notebook),
        "measured": "key press on the first slider -> the plotly chart's new trace data in "
                    "the page (performance.now() in the page); frame_* = to the end of the "
                    "next frame after that",
        "moves": len(timed),
        "warmup_moves": len(warmup),
        "keys": "ArrowLeft, ArrowRight alternately",
        "p50_ms": round(p50, 1),
        "p95_ms": round(p95, 1),
        "max_ms": max(samples),
        "samples_ms": samples,
        "warmup_ms": [round(m["data_ms"], 1) for m in warmup],
        "frame_p50_ms": round(float(np.percentile(frames, 50)), 1),
        "frame_p95_ms": round(float(np.percentile(frames, 95)), 1),
        "frame_samples_ms": frames,
        "readouts": [m["readout"] for m in moves],
        "budget_ms": REPAINT_BUDGET_MS,
        "passed": p95 <= REPAINT_BUDGET_MS,
        "chromium": chromium_version,
        "cpus": os.cpu_count(),
        "measured_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def record_timing(name: str, entry: dict, path: Path | None = None) -> None:
    """Add (or replace) one notebook's entry in ``path`` (BROWSER_TIMING), keeping the others."""
    path = BROWSER_TIMING if path is None else path
    try:
        existing = json.loads(path.read_text())
        notebooks = existing["notebooks"] if isinstance(existing.get("notebooks"), dict) else {}
    except (OSError, ValueError, AttributeError):
        notebooks = {}
    notebooks[name] = entry
    write_json(path, {
        "written_by": "tests/test_browser.py (make test, or pytest tests/test_browser.py)",
        "budget_ms": REPAINT_BUDGET_MS,
        "notebooks": notebooks,
    })


# ---------------------------------------------------------------------------
# The test
# ---------------------------------------------------------------------------


@dataclass
class Browser:
    """One Chromium page with JupyterLab loaded, shared by every case of the module."""

    page: Any
    version: str


APP_READY_JS = """async () => {
    const app = window.jupyterapp;
    if (!app || !app.commands.hasCommand('docmanager:open')) return false;
    await app.restored;
    return true;
}"""

def app_ready(page) -> bool:
    """Whether JupyterLab has started and restored its workspace in ``page``.

    ``?reset`` makes JupyterLab load the page again once it has reset the workspace; a
    check running at that moment loses its page ("Resulting promise was garbage collected",
    "Execution context was destroyed") and simply counts as not ready yet.
    """
    from playwright.sync_api import Error

    try:
        return bool(page.evaluate(APP_READY_JS))
    except Error as lost:
        if "garbage collected" in str(lost) or "context was destroyed" in str(lost):
            return False
        raise


OPEN_JS = """async (path) => {
    await window.jupyterapp.commands.execute('docmanager:open', {path, factory: 'Notebook'});
    return true;
}"""

# Shut the notebook's kernel down and drop its tab without the "save your changes?" dialog.
CLOSE_JS = """async (panelId) => {
    const widget = [...window.jupyterapp.shell.widgets('main')].find((w) => w.id === panelId);
    if (!widget) return false;
    await widget.sessionContext.shutdown();
    widget.dispose();
    return true;
}"""


@pytest.fixture(scope="module")
def browser(lab: Lab) -> Iterator[Browser]:
    """Chromium and JupyterLab's page, started once: each case opens its notebook in it."""
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
    try:
        page = chromium.new_page(viewport={"width": 1400, "height": 1800})
        page.goto(f"{lab.url}/lab/workspaces/tests?reset&token={lab.token}", wait_until="domcontentloaded",
                  timeout=NOTEBOOK_OPEN_S * 1000)
        wait_for(page, lambda: app_ready(page), NOTEBOOK_OPEN_S, "JupyterLab to start in the page")
        yield Browser(page, chromium.version)
    finally:
        chromium.close()
        playwright.stop()


@contextlib.contextmanager
def opened(browser: Browser, lab: Lab, path: str, prefix: Path) -> Iterator[str]:
    """Open ``path`` (relative to the served folder) with an idle kernel; its panel id.

    On a failure, a screenshot of the page and the server's log go beside ``prefix``; the
    notebook is closed and its kernel shut down either way.
    """
    page = browser.page
    panel = None
    try:
        page.evaluate(OPEN_JS, path)
        panel = wait_for(page, lambda: page.evaluate(NOTEBOOK_READY_JS, path), NOTEBOOK_OPEN_S,
                         "the notebook to open with an idle kernel")
        yield panel
    except Exception:
        page.screenshot(path=f"{prefix}-failure.png", full_page=True)
        shutil.copy(lab.log, f"{prefix}-server.log")
        raise
    finally:
        if panel is not None:
            page.evaluate(CLOSE_JS, panel)


@pytest.mark.parametrize("case", CASES)
def test_slider_redraws_the_chart(case: Case, lab: Lab, browser: Browser) -> None:
    require(
        (case.folder / case.notebook).is_file(),
        f"{rel(case.folder / case.notebook)} does not exist yet",
    )
    target = lab.root / case.name
    shutil.copytree(case.folder, target, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    prefix = SCREENSHOTS / f"explorer-{case.name}"
    page = browser.page

    with opened(browser, lab, f"{case.name}/{case.notebook}", prefix) as panel:
        run_all(page, panel)
        before = wait_for(
            page,
            lambda: explorer_state(page, panel),
            RUN_ALL_S,
            "a slider and its chart after running all cells",
            diagnose=lambda: notebook_state(page, panel),
        )
        screenshot_explorer(page, panel, Path(f"{prefix}-before.png"))

        handle = page.locator(f"[id='{panel}'] .widget-slider .noUi-handle").first
        handle.focus()
        for _ in range(ARROW_PRESSES):
            page.keyboard.press("ArrowRight")

        # A redraw per key press arrives in turn: wait for the last one, i.e. for
        # a chart that differs from the start and has stopped changing.
        after = wait_for(
            page,
            settled(lambda: explorer_state(page, panel), lambda s: s["data"] != before["data"]),
            SLIDER_UPDATE_S,
            "the chart to redraw and settle",
            diagnose=lambda: notebook_state(page, panel),
        )
        if case.final is not None:
            after = wait_for(
                page,
                lambda: (state := explorer_state(page, panel)) and case.final(state) and state,
                SLIDER_UPDATE_S,
                "the chart to show the final slider value",
            )
        screenshot_explorer(page, panel, Path(f"{prefix}-after.png"))

        # ArrowLeft first: the slider has just gone up ARROW_PRESSES steps, so
        # every move is a real step, and an even count ends where it started.
        moves = time_slider_moves(page, panel, TIMED_MOVES)
        timed = explorer_state(page, panel)
        screenshot_explorer(page, panel, Path(f"{prefix}-timed.png"))
    chromium_version = browser.version

    assert after["data"] != before["data"]
    assert after["readout"] != before["readout"], "the slider did not move"

    stuck = [m for m in moves if m["readout"] == m["readout_before"]]
    assert not stuck, f"a timed key press did not move the slider: {stuck}"
    if case.final is not None:
        assert case.final(timed), "after the timed moves the explorer is not back where it was"
    entry = timing_summary(case, moves, chromium_version)
    record_timing(case.name, entry)
    print(
        f"\n{case.name}: slider -> new chart data in the page, {entry['moves']} moves after "
        f"{entry['warmup_moves']} warm-up: p50 {entry['p50_ms']:.1f} ms, p95 {entry['p95_ms']:.1f} ms "
        f"(next frame p95 {entry['frame_p95_ms']:.1f} ms; samples "
        f"{', '.join(f'{x:.0f}' for x in entry['samples_ms'])}; Chromium {chromium_version}) "
        f"-> {BROWSER_TIMING.relative_to(ROOT)}"
    )
    # The budget is judged by the benchmark (benchmarks/bench_explorers.py reports it against
    # 250 ms), not by a timed test: a loaded CI machine must not fail the suite. A move that
    # takes seconds is a defect, though: the chart did not follow the slider in time.
    assert entry["p95_ms"] <= 10 * REPAINT_BUDGET_MS, f"slider -> chart p95 {entry['p95_ms']:.0f} ms"


# ---------------------------------------------------------------------------
# The course home
# ---------------------------------------------------------------------------

#: What the home's path tables render as: for each table, its caption line and its rows' text.
PATH_TABLES_JS = """(panelId) => {
    const panel = document.getElementById(panelId);
    if (!panel) return null;
    const tables = [...panel.querySelectorAll('.jp-RenderedMarkdown table')].filter(
        (t) => t.querySelector('th') && t.querySelector('th').textContent.trim() === 'Week');
    return tables.map((t) => ({
        caption: (t.previousElementSibling || {}).textContent || '',
        rows: [...t.querySelectorAll('tbody tr')].map((r) => r.textContent.replace(/\\s+/g, ' ').trim()),
        links: [...t.querySelectorAll('a')].map((a) => a.textContent.trim()),
    }));
}"""


def test_course_home_shows_the_three_learning_paths_week_by_week(lab: Lab, browser: Browser) -> None:
    target = lab.root / "course"
    target.mkdir()
    for name in ("nbgrader_config.py", "course.toml"):
        shutil.copy2(ROOT / name, target / name)
    for folder in ("notebooks", "release"):
        shutil.copytree(ROOT / folder, target / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.page
    with opened(browser, lab, "course/notebooks/course-home.ipynb", SCREENSHOTS / "course-home") as panel:
        run_all(page, panel)
        tables = wait_for(page, lambda: (t := page.evaluate(PATH_TABLES_JS, panel)) and len(t) == 3 and t,
                          RUN_ALL_S, "three week-by-week path tables",
                          diagnose=lambda: notebook_state(page, panel))
        cell = page.locator(f"[id='{panel}'] .jp-Cell", has=page.locator("table th:text-is('Week')")).first
        cell.scroll_into_view_if_needed()
        cell.screenshot(path=str(SCREENSHOTS / "course-home-paths.png"))
    for table, (name, learning_path) in zip(tables, course.LEARNING_PATHS.items(), strict=True):
        assert table["caption"].startswith(name.capitalize()), table["caption"]
        assert len(table["rows"]) == len(learning_path.weeks), name
        for row, week in zip(table["rows"], learning_path.weeks, strict=True):
            assert row.startswith(str(week.number)) and row.endswith(course.duration_label(week.duration_min))
    released = [f"{a.label}: {a.title}" for a in course.ASSIGNMENTS if course.status(a, ROOT) == "available"]
    assert released and all(title in tables[0]["links"] for title in released)
    assert "Innovation project" in tables[2]["links"] and "Peer mentoring" in tables[2]["links"]
