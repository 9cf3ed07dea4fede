"""A real JupyterHub on loopback for the tests, from the course's one-machine config.

:func:`add_users` creates system users (``useradd``, with a password, in the groups the
config lets in) and :func:`remove_users` deletes them with their homes; both need root.
:func:`start` runs ``jupyterhub`` from the course environment with
``deploy/one-machine/jupyterhub_config.py`` loaded first and only what a test must change
on top: loopback ports, the hub's own files in a temporary folder, and a service token the
test drives the hub's REST API with. :class:`Hub` spawns servers and hands out per-user
tokens; :class:`Server` talks to one user's own server, as JupyterLab does.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
ONE_MACHINE = ROOT / "deploy" / "one-machine" / "jupyterhub_config.py"
BIN = Path(sys.executable).parent
GROUP, INSTRUCTORS = "messaging-eda", "messaging-eda-instructors"
#: Written into each home the tests create, so a later run may remove a user an aborted run left.
MARKER = ".messagelab-hub-test"
START_S = 120
#: What ``make`` in the instructor's copy of the course needs beside the course itself.
COURSE_FILES = ("Makefile", "pyproject.toml", "constraints.txt", "README.md")


def readable_by_all(path: Path) -> bool:
    """Whether every user can run ``path``: it and each folder above it let others in."""
    real = Path(os.path.realpath(path))
    return all(os.stat(folder).st_mode & 0o001 for folder in [*real.parents, real] if folder != Path("/"))


def shared_environment(dest: Path) -> Path:
    """The course environment's ``bin`` folder, where every system user can run it.

    On a hub the environment lives in a folder every user can read (``/srv``, ``/opt``, an
    image). When this one's interpreter cannot be run by others (pyenv's Python under
    ``/root``, as on a CI machine), ``dest`` gets a copy of that very interpreter (its
    standard library, without its own site-packages) and a virtual environment on it whose
    site-packages, Jupyter data and Jupyter config are this environment's own: the same
    interpreter, packages, extensions and versions, in a folder others can read.
    """
    if readable_by_all(Path(sys.executable)):
        return BIN
    if not (dest / "bin" / "python").exists():
        _copy_interpreter(Path(sys.base_prefix), dest / "python")
        version = f"python3.{sys.version_info.minor}"
        subprocess.run([str(dest / "python" / "bin" / version), "-m", "venv", "--without-pip", str(dest)],
                       check=True, capture_output=True)
        packages = Path(sys.prefix) / "lib" / version / "site-packages"
        # addsitedir also runs the .pth files there (the course package's editable install).
        (dest / "lib" / version / "site-packages" / "course-environment.pth").write_text(
            f"import site; site.addsitedir({str(packages)!r})\n")
        for name in ("share", "etc"):
            if (Path(sys.prefix) / name).exists():
                (dest / name).symlink_to(Path(sys.prefix) / name)
        for script in BIN.iterdir():
            target = dest / "bin" / script.name
            if target.exists() or not script.is_file():
                continue
            first_line = script.read_bytes()[:300].split(b"\n", 1)[0]
            if first_line.startswith(b"#!") and str(BIN).encode() in first_line:
                target.write_text(f"#!{dest / 'bin' / 'python'}\n" + script.read_text().split("\n", 1)[1])
                target.chmod(0o755)
    for folder in [dest, *dest.parents]:
        if folder != Path("/"):
            folder.chmod(folder.stat().st_mode | 0o005)
    return dest / "bin"


def _copy_interpreter(prefix: Path, dest: Path) -> None:
    """``prefix``'s Python (binary, libpython, standard library) into ``dest``, finding its libpython there.

    The binary's RUNPATH names ``prefix/lib``; it is rewritten in place to ``$ORIGIN/../lib``
    (shorter, so the ELF string table keeps its size), as ``patchelf --set-rpath`` would.
    """
    version = f"python3.{sys.version_info.minor}"
    (dest / "bin").mkdir(parents=True)
    shutil.copytree(prefix / "lib" / version, dest / "lib" / version,
                    ignore=shutil.ignore_patterns("site-packages", "test", "idlelib", "tkinter", "ensurepip"))
    (dest / "lib" / version / "site-packages").mkdir()
    for library in (prefix / "lib").glob("libpython3*.so*"):
        shutil.copy2(library, dest / "lib" / library.name, follow_symlinks=True)
    binary = (prefix / "bin" / version).read_bytes()
    old, new = str(prefix / "lib").encode(), b"$ORIGIN/../lib"
    if old + b"\0" in binary:
        binary = binary.replace(old + b"\0", new + b"\0" * (len(old) - len(new) + 1))
    (dest / "bin" / version).write_bytes(binary)
    (dest / "bin" / version).chmod(0o755)
    for folder, _, files in os.walk(dest):
        os.chmod(folder, 0o755)
        for name in files:
            path = os.path.join(folder, name)
            os.chmod(path, os.stat(path).st_mode | 0o444)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        try:
            found = check()
        except (requests.RequestException, OSError):
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {seconds:g} s for {what}")
        time.sleep(0.25)


def _run(*argv: str, stdin: str | None = None) -> None:
    subprocess.run(argv, check=True, capture_output=True, text=True, input=stdin)


def add_users(users: Iterable[str], instructors: Iterable[str], password: str) -> None:
    """System users in the course's group (and the instructors' group), each with ``password``."""
    for group in (GROUP, INSTRUCTORS):
        subprocess.run(["groupadd", "-f", group], check=True, capture_output=True)
    teaching = set(instructors)
    for user in users:
        if _exists(user):
            if not (Path("/home") / user / MARKER).exists():
                raise RuntimeError(f"system user {user} exists and was not made by these tests: not touching it")
            remove_users([user])
        groups = GROUP + (f",{INSTRUCTORS}" if user in teaching else "")
        _run("useradd", "--create-home", "--shell", "/bin/bash", "--groups", groups, user)
        _run("chpasswd", stdin=f"{user}:{password}\n")
        (Path("/home") / user / MARKER).touch()


def remove_users(users: Iterable[str]) -> None:
    for user in users:
        if _exists(user):
            subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True)
            subprocess.run(["userdel", "--remove", user], capture_output=True)


def _exists(user: str) -> bool:
    return subprocess.run(["id", "-u", user], capture_output=True).returncode == 0


def instructor_course(dest: Path, owner: str, bin: Path, assignment: str = "demo") -> Path:
    """The instructor's copy of the course at ``dest``, owned by ``owner`` (README: "Your copy of the course").

    The fixture course's ``assignment`` with the repository's config, the Makefile and what it
    reads, and a ``.venv`` that links to the hub's environment (``bin``'s folder), which
    ``make`` takes as set up.
    """
    from nbchecks import FIXTURE_COURSE

    from messagelab.instructor import nbgrader as admin

    admin.make_course(dest, [assignment], source_root=FIXTURE_COURSE)
    for name in COURSE_FILES:
        shutil.copy2(ROOT / name, dest / name)
    (dest / ".venv").symlink_to(bin.parent)
    (bin.parent / ".installed").touch()  # the environment is set up: make does not rebuild it
    for path in [dest, *dest.rglob("*")]:
        if not path.is_symlink():
            shutil.chown(path, owner, owner)
    return dest


def config_path(user: str) -> str:
    """The ``JUPYTER_CONFIG_PATH`` the one-machine config gives ``user``'s server (and so their terminal)."""
    from types import SimpleNamespace

    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(ONE_MACHINE.name, path=str(ONE_MACHINE.parent)).load_config()
    spawner = SimpleNamespace(user=SimpleNamespace(name=user), environment=dict(config.Spawner.environment))
    config.Spawner.pre_spawn_hook(spawner)
    return spawner.environment["JUPYTER_CONFIG_PATH"]


def as_user(user: str, bin: Path, *argv: str, cwd: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """``argv`` run as system user ``user`` with the course environment ``bin`` first on PATH (their terminal)."""
    home = f"/home/{user}"
    environment = {"HOME": home, "USER": user, "LOGNAME": user, "PATH": f"{bin}:/usr/local/bin:/usr/bin:/bin",
                   "LANG": "C.UTF-8", **(env or {})}
    return subprocess.run(["runuser", "-u", user, "--", "env", "-i", *[f"{k}={v}" for k, v in environment.items()],
                           *argv], cwd=cwd or home, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


@dataclass
class Server:
    """One user's own server, reached through the hub's proxy with that user's token."""

    base: str
    token: str
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.session.headers["Authorization"] = f"token {self.token}"

    def get(self, path: str, **params: str) -> Any:
        response = self.session.get(self.base + path, params=params, timeout=120)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, data: dict[str, Any]) -> Any:
        response = self.session.post(self.base + path, data=json.dumps(data), timeout=300,
                                     headers={"Content-Type": "application/json"})
        response.raise_for_status()
        return response.json()

    def put_notebook(self, path: str, notebook: dict[str, Any]) -> None:
        """Save a notebook through the contents API, as JupyterLab saves one."""
        response = self.session.put(f"{self.base}api/contents/{path}", timeout=60,
                                    data=json.dumps({"type": "notebook", "format": "json", "content": notebook}))
        response.raise_for_status()

    def notebook(self, path: str) -> dict[str, Any]:
        return self.get(f"api/contents/{path}", content="1")["content"]


@dataclass
class Hub:
    url: str
    folder: Path
    token: str
    process: subprocess.Popen[bytes]
    log: Path

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        response = requests.request(method, f"{self.url}/hub/api{path}", timeout=120,
                                    headers={"Authorization": f"token {self.token}"},
                                    data=json.dumps(body) if body is not None else None)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response

    def spawn(self, user: str) -> Server:
        """Create ``user`` on the hub if needed, start their server, wait until it answers; a client for it."""
        if user not in {known["name"] for known in self.api("GET", "/users").json()}:
            self.api("POST", f"/users/{user}")
        self.api("POST", f"/users/{user}/server")
        wait_for(lambda: self.api("GET", f"/users/{user}").json()["servers"].get("", {}).get("ready"),
                 START_S, f"{user}'s server to start")
        token = self.api("POST", f"/users/{user}/tokens", {"note": "course tests"}).json()["token"]
        server = Server(f"{self.url}/user/{user}/", token)
        wait_for(lambda: server.get("api/status"), START_S, f"{user}'s server to answer")
        return server

    def stop_server(self, user: str) -> None:
        self.api("DELETE", f"/users/{user}/server")
        wait_for(lambda: not self.api("GET", f"/users/{user}").json()["servers"], START_S, f"{user}'s server to stop")


def start(folder: Path, bin: Path, env: dict[str, str], extra_config: str = "") -> Hub:
    """``jupyterhub`` from the course environment ``bin``, the one-machine config plus the test's loopback settings."""
    folder.mkdir(parents=True, exist_ok=True)
    port, hub_port, proxy_api = free_port(), free_port(), free_port()
    token = secrets.token_hex(32)
    config = folder / "jupyterhub_config.py"
    config.write_text(
        f"c = get_config()  # noqa: F821\n"
        f"load_subconfig({str(ONE_MACHINE)!r})  # noqa: F821\n"
        "# What a test changes: loopback ports, the hub's files here, a service to drive the REST API.\n"
        f"c.JupyterHub.bind_url = 'http://127.0.0.1:{port}'\n"
        f"c.JupyterHub.hub_bind_url = 'http://127.0.0.1:{hub_port}'\n"
        f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{proxy_api}'\n"
        f"c.ConfigurableHTTPProxy.pid_file = {str(folder / 'proxy.pid')!r}\n"
        f"c.JupyterHub.db_url = 'sqlite:///{folder / 'hub.sqlite'}'\n"
        f"c.JupyterHub.cookie_secret_file = {str(folder / 'cookie_secret')!r}\n"
        f"c.JupyterHub.pid_file = {str(folder / 'hub.pid')!r}\n"
        "c.JupyterHub.services = [{'name': 'course-tests', 'api_token': " + repr(token) + "}]\n"
        "c.JupyterHub.load_roles = [{'name': 'course-tests', 'services': ['course-tests'],\n"
        "    'scopes': ['admin:users', 'admin:servers', 'tokens', 'list:users', 'read:users']}]\n"
        "c.Spawner.start_timeout = 120\nc.Spawner.http_timeout = 120\n"
        + extra_config
    )
    log = folder / "hub.log"
    environment = {**os.environ, "PATH": f"{bin}:{os.environ.get('PATH', '/usr/bin:/bin')}", **env}
    environment.pop("JUPYTERHUB_API_TOKEN", None)
    with log.open("wb") as out:
        process = subprocess.Popen([str(bin / "jupyterhub"), "-f", str(config)], cwd=folder, env=environment,
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    hub = Hub(f"http://127.0.0.1:{port}", folder, token, process, log)
    try:
        wait_for(lambda: process.poll() is None and requests.get(f"{hub.url}/hub/api/", timeout=5).ok
                 or _died(process, log), START_S, "the hub to answer")
    except BaseException:
        stop(hub)
        raise
    return hub


def _died(process: subprocess.Popen[bytes], log: Path) -> bool:
    if process.poll() is not None:
        raise RuntimeError(f"jupyterhub exited with {process.returncode}:\n{log.read_text()[-4000:]}")
    return False


def stop(hub: Hub) -> None:
    """Stop the hub, its proxy and every server it started (one process group each)."""
    if hub.process.poll() is None:
        os.killpg(hub.process.pid, signal.SIGTERM)
        try:
            hub.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(hub.process.pid, signal.SIGKILL)
    for pid_file in (hub.folder / "proxy.pid",):
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except (OSError, ValueError):
            pass
