"""The Zero to JupyterHub recipe in deploy/ agrees with the course it deploys.

Nothing here builds the image or reaches a cluster (deploy/README.md says what is only
documented). These tests read the recipe's files and check them against the course: the
course's Jupyter config and how each server finds it (the same as on the one-machine hub),
the exchange, the chart's keys, the Dockerfile's install, the measured memory, the
instructors' hook and start script, and the nbgitpuller links.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tomllib
import types
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import hubserver
import pytest
import yaml
from traitlets.config import Config, PyFileConfigLoader

from messagelab.course import ASSIGNMENTS, release_path
from messagelab.instructor import links

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
#: The course's Jupyter config (nbgrader_config.py for every server, students/ for theirs).
COURSE_JUPYTER = DEPLOY / "jupyter"
STUDENT_CONFIG = COURSE_JUPYTER / "nbgrader_config.py"
#: Where deploy/Dockerfile copies COURSE_JUPYTER and deploy/values.yaml mounts its files.
IMAGE_JUPYTER = "/etc/jupyter/messaging-eda"
FORMGRADER_SERVER_EXTENSION = "nbgrader.server_extensions.formgrader"
INSTRUCTOR_LAB_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment")
#: The course environment's Python, whose sys-prefix config turns the formgrader on.
COURSE_PYTHON = ROOT / ".venv" / "bin" / "python"

#: Every key path deploy/values.yaml may use, checked against values.yaml and
#: values.schema.yaml of the jupyterhub/jupyterhub chart 4.4.0 (the zero-to-jupyterhub-k8s
#: tag 4.4.0). "*" stands for one key of the administrator's choosing; a trailing "**"
#: for anything below, where the schema allows any content (Kubernetes objects, custom:,
#: hub.extraConfig's snippets, environment variables).
CHART_KEYS = {
    "singleuser.image.name",
    "singleuser.image.tag",
    "singleuser.image.pullPolicy",
    "singleuser.memory.limit",
    "singleuser.memory.guarantee",
    "singleuser.cpu.limit",
    "singleuser.cpu.guarantee",
    "singleuser.extraFiles.*.mountPath",
    "singleuser.extraFiles.*.stringData",
    "singleuser.extraFiles.*.mode",
    "singleuser.extraEnv.**",
    "singleuser.storage.extraVolumes.**",
    "singleuser.storage.extraVolumeMounts.**",
    "hub.image.name",
    "hub.image.tag",
    "hub.db.upgrade",
    "hub.extraConfig.*",
    "custom.**",
}

#: KubeSpawner's byte suffixes (ByteSpecification): powers of 1024.
BYTE_SUFFIXES = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def values() -> dict:
    return yaml.safe_load((DEPLOY / "values.yaml").read_text())


def manifests() -> list[dict]:
    return [doc for doc in yaml.safe_load_all((DEPLOY / "exchange-pvc.yaml").read_text()) if doc]


def as_list(section: dict | list | None) -> list[dict]:
    """The chart takes extraVolumes and extraVolumeMounts as a list or as a map of name to item."""
    if section is None:
        return []
    return list(section.values()) if isinstance(section, dict) else list(section)


def students_default_exchange(monkeypatch: pytest.MonkeyPatch) -> str:
    """``Exchange.root`` of deploy/jupyter/nbgrader_config.py with ``MESSAGELAB_EXCHANGE`` unset."""
    monkeypatch.delenv("MESSAGELAB_EXCHANGE", raising=False)
    config = PyFileConfigLoader(STUDENT_CONFIG.name, path=str(STUDENT_CONFIG.parent)).load_config()
    return config.Exchange.root


def dockerfile() -> list[tuple[str, str]]:
    """deploy/Dockerfile's instructions as (INSTRUCTION, arguments), continuations joined."""
    instructions, pending = [], ""
    for raw in (DEPLOY / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending += line
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        keyword, _, rest = pending.partition(" ")
        instructions.append((keyword.upper(), " ".join(rest.split())))
        pending = ""
    return instructions


def dockerfile_runs() -> str:
    return "\n".join(args for keyword, args in dockerfile() if keyword == "RUN")


def base_image() -> str:
    defaults = {}
    for keyword, args in dockerfile():
        if keyword == "ARG" and "=" in args:
            name, _, default = args.partition("=")
            defaults[name] = default
        if keyword == "FROM":
            return re.sub(r"\$\{?(\w+)\}?", lambda m: defaults[m.group(1)], args.split()[0])
    raise AssertionError("deploy/Dockerfile has no FROM")


def environment_python() -> str:
    deps = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    (pin,) = [d for d in deps if isinstance(d, str) and d.startswith("python=")]
    return pin.removeprefix("python=")


def to_bytes(value: str | int | float) -> float:
    text = str(value)
    if text[-1] in BYTE_SUFFIXES:
        return float(text[:-1]) * BYTE_SUFFIXES[text[-1]]
    return float(text)


def measured_memory() -> tuple[dict[tuple[str, str], int], int]:
    """deploy/README.md's table: peak MB by (assignment, notebook), and the JupyterLab server's MB."""
    text = (DEPLOY / "README.md").read_text()
    peaks = {}
    for assignment, notebook, mb in re.findall(r"^\| (\S+) \| (release|source) \| (\d+) \|", text, re.M):
        peaks[(assignment, notebook)] = int(mb)
    server = re.search(r"^JupyterLab server [^:\n]*: (\d+) MB$", text, re.M)
    assert peaks and server, "deploy/README.md must hold deploy/measure_memory.py's table and server line"
    return peaks, int(server.group(1))


def released() -> list[str]:
    return [a.id for a in ASSIGNMENTS if release_path(a, ROOT).is_file()]


def in_repository(config_path: str) -> list[Path]:
    """A JUPYTER_CONFIG_PATH of the pods as folders of this repository: IMAGE_JUPYTER is COURSE_JUPYTER."""
    folders = []
    for folder in config_path.split(":"):
        assert folder == IMAGE_JUPYTER or folder.startswith(f"{IMAGE_JUPYTER}/"), (
            f"{folder} is not in {IMAGE_JUPYTER}, the course's Jupyter config in the image"
        )
        folders.append((COURSE_JUPYTER / folder.removeprefix(IMAGE_JUPYTER).lstrip("/")).resolve())
    return folders


def one_machine_config_path(name: str, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The folders of JUPYTER_CONFIG_PATH the one-machine hub (tests/test_hub.py's) gives ``name``.

    The hub's config is loaded as JupyterHub loads it; its pre_spawn_hook asks the group
    of instructors for its members, here "teacher" only.
    """
    import grp

    monkeypatch.setattr(grp, "getgrnam", lambda group: types.SimpleNamespace(gr_mem=["teacher"]))
    return [Path(folder).resolve() for folder in hubserver.config_path(name).split(os.pathsep)]


def load_instructor_setup() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("instructor_setup", DEPLOY / "instructor_setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------
# The files parse; the course's Jupyter config is the one file set every pod gets
# ---------------------------------------------------------------------------


def test_every_yaml_file_in_deploy_parses() -> None:
    found = sorted(DEPLOY.rglob("*.yaml")) + sorted(DEPLOY.rglob("*.yml"))
    assert {DEPLOY / "values.yaml", DEPLOY / "exchange-pvc.yaml"} <= set(found)
    for path in found:
        docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
        assert docs, f"{path.relative_to(ROOT)} is empty"
        assert all(isinstance(doc, dict) for doc in docs), f"{path.relative_to(ROOT)}: a document is not a mapping"


def test_values_mount_every_file_of_the_course_jupyter_config_byte_for_byte() -> None:
    """singleuser.extraFiles holds deploy/jupyter/, each file at its place under IMAGE_JUPYTER, read-only."""
    mounted = {}
    for name, entry in values()["singleuser"]["extraFiles"].items():
        (path,) = in_repository(entry["mountPath"])
        assert path.is_file(), f"extraFiles.{name} mounts {entry['mountPath']}, which is no file of deploy/jupyter/"
        assert entry.get("mode") is not None and entry["mode"] & 0o222 == 0, f"extraFiles.{name} must be read-only"
        if "stringData" in entry:
            assert entry["stringData"].encode() == path.read_bytes(), (
                f"extraFiles.{name}.stringData differs from {path.relative_to(ROOT)}: copy the file again"
            )
        else:
            assert path.suffix == ".json" and entry["data"] == json.loads(path.read_text()), (
                f"extraFiles.{name}.data differs from {path.relative_to(ROOT)}"
            )
        mounted[path] = name
    files = {p.resolve() for p in COURSE_JUPYTER.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert set(mounted) == files, f"not mounted: {sorted(str(p.relative_to(ROOT)) for p in files - set(mounted))}"


def test_the_local_hub_starts_every_server_with_the_same_nbgrader_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """deploy/one-machine/jupyterhub_config.py (tests/test_hub.py's hub) gives every server deploy/jupyter."""
    for name in ("teacher", "student"):
        folders = one_machine_config_path(name, monkeypatch)
        loaded = [folder / "nbgrader_config.py" for folder in folders if (folder / "nbgrader_config.py").is_file()]
        assert loaded == [STUDENT_CONFIG.resolve()], f"{name}'s server loads {loaded}"


def test_students_get_the_config_path_the_local_hub_gives_them(monkeypatch: pytest.MonkeyPatch) -> None:
    config_path = values()["singleuser"]["extraEnv"]["JUPYTER_CONFIG_PATH"]
    expected = one_machine_config_path("student", monkeypatch)
    assert expected == [(COURSE_JUPYTER / "students").resolve(), COURSE_JUPYTER.resolve()]
    assert in_repository(config_path) == expected


def test_instructors_get_the_config_path_the_local_hub_gives_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """hub.extraConfig's hook, on a server whose environment holds singleuser.extraEnv, as KubeSpawner's does."""
    hook = extra_config_hook(monkeypatch, {"instructors": ["teach"]})
    extra_env = values()["singleuser"]["extraEnv"]
    teacher = FakeSpawner("teach", extra_env)
    hook(teacher)
    assert in_repository(teacher.environment["JUPYTER_CONFIG_PATH"]) == one_machine_config_path("teacher", monkeypatch)
    student = FakeSpawner("a-student", extra_env)
    hook(student)
    assert student.environment["JUPYTER_CONFIG_PATH"] == extra_env["JUPYTER_CONFIG_PATH"]
    assert in_repository(student.environment["JUPYTER_CONFIG_PATH"]) == one_machine_config_path("student", monkeypatch)


#: What a server of the course environment turns on, from the config it would read.
TOOLS_SCRIPT = """
import json
from jupyter_core.paths import jupyter_config_path
from jupyter_server.extension.config import ExtensionConfigManager
from jupyterlab_server.config import get_page_config

extensions = ExtensionConfigManager(read_config_path=jupyter_config_path()).get_jpserver_extensions()
page = get_page_config([])


# jupyterlab_server hands the page a list of the names set to true (a mapping in older releases).
def names(key):
    value = page.get(key) or []
    return sorted(value if isinstance(value, list) else (name for name, on in value.items() if on))


print(json.dumps({
    "path": jupyter_config_path(),
    "formgrader": extensions.get("nbgrader.server_extensions.formgrader"),
    "disabled": names("disabledExtensions"),
    "locked": names("lockedExtensions"),
}))
"""


def instructor_tools(home: Path, config_path: list[Path] | None) -> dict:
    """The formgrader extension's setting and the disabled and locked lab plugins, for a server in ``home``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("JUPYTER")}
    env["HOME"] = str(home)
    env.pop("PYTHONUSERBASE", None)
    if config_path is not None:
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(map(str, config_path))
    python = COURSE_PYTHON if COURSE_PYTHON.is_file() else Path(sys.executable)
    result = subprocess.run(
        [str(python), "-c", TOOLS_SCRIPT], env=env, cwd=home, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_course_environment_turns_the_instructor_tools_on(tmp_path: Path) -> None:
    """Without JUPYTER_CONFIG_PATH (the image outside the hub, a self-learner) every tool is on."""
    tools = instructor_tools(tmp_path, None)
    assert tools["formgrader"] is True, "the environment's sys-prefix config no longer enables the formgrader"
    assert not set(INSTRUCTOR_LAB_PLUGINS) & set(tools["disabled"] + tools["locked"])


def test_a_students_server_has_the_instructor_tools_off_whatever_their_own_config_says(tmp_path: Path) -> None:
    # The student's own ~/.jupyter turns everything back on; the course's config ranks above it.
    own = tmp_path / ".jupyter"
    (own / "jupyter_server_config.d").mkdir(parents=True)
    (own / "jupyter_server_config.d" / "mine.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {FORMGRADER_SERVER_EXTENSION: True}}})
    )
    (own / "labconfig").mkdir()
    (own / "labconfig" / "page_config.json").write_text(
        json.dumps(
            {name: dict.fromkeys(INSTRUCTOR_LAB_PLUGINS, False) for name in ("disabledExtensions", "lockedExtensions")}
        )
    )
    folders = in_repository(values()["singleuser"]["extraEnv"]["JUPYTER_CONFIG_PATH"])
    tools = instructor_tools(tmp_path, folders)
    assert [Path(p) for p in tools["path"][: len(folders)]] == folders
    assert str(own) in tools["path"], "the student's own config is read, below the course's"
    assert tools["formgrader"] is False
    assert set(INSTRUCTOR_LAB_PLUGINS) <= set(tools["disabled"]), tools["disabled"]
    assert set(INSTRUCTOR_LAB_PLUGINS) <= set(tools["locked"]), "unlocked, JupyterLab's plugin manager re-enables them"


def test_an_instructors_server_has_the_instructor_tools_on_with_no_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = extra_config_hook(monkeypatch, {"instructors": ["teach"]})
    teacher = FakeSpawner("teach", values()["singleuser"]["extraEnv"])
    hook(teacher)
    tools = instructor_tools(tmp_path, in_repository(teacher.environment["JUPYTER_CONFIG_PATH"]))
    assert tools["formgrader"] is True
    assert not set(INSTRUCTOR_LAB_PLUGINS) & set(tools["disabled"] + tools["locked"])


# ---------------------------------------------------------------------------
# The exchange: one ReadWriteMany claim, mounted where the students' settings look
# ---------------------------------------------------------------------------


def test_exchange_is_mounted_where_the_students_config_looks(monkeypatch: pytest.MonkeyPatch) -> None:
    exchange = students_default_exchange(monkeypatch)
    singleuser = values()["singleuser"]
    mounts = [m for m in as_list(singleuser["storage"]["extraVolumeMounts"]) if m["mountPath"] == exchange]
    assert len(mounts) == 1, f"one extraVolumeMount must be at the students' exchange, {exchange}"
    volumes = {v["name"]: v for v in as_list(singleuser["storage"]["extraVolumes"])}
    assert "persistentVolumeClaim" in volumes[mounts[0]["name"]], "the exchange must be a PersistentVolumeClaim"
    # The variable every server gets names the same folder, so the instructor's settings agree.
    assert singleuser["extraEnv"]["MESSAGELAB_EXCHANGE"] == exchange


def test_the_claim_is_read_write_many_and_is_the_one_mounted() -> None:
    claims = [doc for doc in manifests() if doc["kind"] == "PersistentVolumeClaim"]
    assert len(claims) == 1
    claim = claims[0]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"], "pods on different nodes share the exchange"
    assert claim["spec"]["storageClassName"], "name a ReadWriteMany storage class"
    singleuser = values()["singleuser"]
    claimed = {
        v["name"]: v["persistentVolumeClaim"]["claimName"] for v in as_list(singleuser["storage"]["extraVolumes"])
    }
    assert set(claimed.values()) == {claim["metadata"]["name"]}


def test_the_prepare_job_creates_every_folder_the_pods_mount() -> None:
    claim = next(doc for doc in manifests() if doc["kind"] == "PersistentVolumeClaim")["metadata"]["name"]
    (job,) = [doc for doc in manifests() if doc["kind"] == "Job"]
    pod = job["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["persistentVolumeClaim"]["claimName"] == claim]
    (container,) = pod["containers"]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    commands = [shlex.split(part) for part in container["command"][-1].split("&&")]
    created = {arg for words in commands if words[:2] == ["mkdir", "-p"] for arg in words[2:]}
    opened = {words[-1] for words in commands if words[0] == "chmod" and words[1] in ("0777", "1777")}
    singleuser = values()["singleuser"]
    names = {v["name"] for v in as_list(singleuser["storage"]["extraVolumes"])}
    sub_paths = [m["subPath"] for m in as_list(singleuser["storage"]["extraVolumeMounts"]) if m["name"] in names]
    assert sub_paths
    for sub_path in sub_paths:
        folder = f"{mount['mountPath']}/{sub_path}"
        assert folder in created, f"the Job does not create {folder}"
        assert folder in opened, f"the Job does not open {folder} to every account (jovyan)"


# ---------------------------------------------------------------------------
# The chart's keys, the image, the resources
# ---------------------------------------------------------------------------


def _leaf_paths(node: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(node, dict) and node:
        return [path for key, child in node.items() for path in _leaf_paths(child, (*prefix, str(key)))]
    return [prefix]


def _allowed(path: tuple[str, ...]) -> bool:
    for pattern in CHART_KEYS:
        parts = pattern.split(".")
        if parts[-1] == "**":
            head = parts[:-1]
            if len(path) > len(head) and all(p in ("*", k) for p, k in zip(head, path, strict=False)):
                return True
        elif len(parts) == len(path) and all(p in ("*", k) for p, k in zip(parts, path, strict=True)):
            return True
    return False


def test_values_use_only_keys_the_chart_has() -> None:
    unknown = [".".join(path) for path in _leaf_paths(values()) if not _allowed(path)]
    assert not unknown, f"keys chart 4.4.0 does not have (or not checked yet): {unknown}"


def test_the_single_user_image_tag_is_pinned() -> None:
    image = values()["singleuser"]["image"]
    assert image["name"] and image["tag"] and image["tag"] != "latest"


def test_memory_limits_cover_the_measured_peaks() -> None:
    peaks, server_mb = measured_memory()
    for assignment in released():
        assert (assignment, "release") in peaks, f"measure {assignment} (deploy/measure_memory.py) and update the table"
    release = [mb for (_, notebook), mb in peaks.items() if notebook == "release"]
    typical = statistics.median(mb for (_, notebook), mb in peaks.items() if notebook == "source")
    memory = values()["singleuser"]["memory"]
    limit, guarantee = to_bytes(memory["limit"]) / 2**20, to_bytes(memory["guarantee"]) / 2**20
    largest = max(peaks.values())
    assert limit >= max(release), "the limit is below an assignment's measured peak"
    assert limit >= server_mb + 4 * largest, "the limit must hold the server and four kernels at the largest peak"
    assert server_mb + typical <= guarantee <= limit, "the guarantee must hold the server and a typical kernel"
    cpu = values()["singleuser"]["cpu"]
    assert 0 < cpu["guarantee"] <= cpu["limit"]


# ---------------------------------------------------------------------------
# The Dockerfile
# ---------------------------------------------------------------------------


def test_the_base_image_is_a_pinned_docker_stacks_image() -> None:
    image = base_image()
    match = re.fullmatch(r"quay\.io/jupyter/(base|minimal)-notebook:(.+)", image)
    assert match, f"the base must be a Jupyter Docker Stacks image, not {image}"
    # A date or a commit tag: never rebuilt, unlike latest or python-3.11.
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}|[0-9a-f]{12}", match.group(2)), f"{image} is not pinned"


def test_the_base_images_python_is_environment_yml_s() -> None:
    labels = [args for keyword, args in dockerfile() if keyword == "LABEL"]
    pinned = [m.group(1) for label in labels for m in [re.search(r'\bpython="([\d.]+)"', label)] if m]
    assert pinned == [environment_python()], (
        f"LABEL python={pinned}, environment.yml pins python={environment_python()}"
    )


def test_the_image_installs_the_course_environment_from_environment_yml() -> None:
    instructions = dockerfile()
    copies = [args.split() for keyword, args in instructions if keyword == "COPY"]
    copied = {src.rstrip("/") for words in copies for src in words[:-1] if not src.startswith("--")}
    # What the install reads: the environment, the pins, and what building "-e ." needs.
    readme = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["readme"]
    needed = {"environment.yml", "constraints.txt", "pyproject.toml", readme, "messagelab"}
    assert needed <= copied, f"not copied into the image: {sorted(needed - copied)}"
    for source in copied:
        assert (ROOT / source).exists(), f"COPY {source}: no such file in the build context"
    install = [i for i, (k, args) in enumerate(instructions) if k == "RUN" and "env update" in args]
    assert len(install) == 1, "one RUN must install the environment"
    assert re.search(r"(mamba|conda) env update --name base --file environment\.yml", instructions[install[0]][1])
    first_copy_of_the_environment = min(
        i for i, (k, args) in enumerate(instructions) if k == "COPY" and "environment.yml" in args
    )
    assert first_copy_of_the_environment < install[0]
    assert re.search(r"pip install [^&]*nbgitpuller==\d+\.\d+\.\d+", dockerfile_runs()), "pin nbgitpuller"


def test_the_image_holds_the_course_jupyter_config_and_leaves_it_off_the_config_path() -> None:
    instructions = dockerfile()
    copies = [
        [w for w in args.split() if not w.startswith("--")] for keyword, args in instructions if keyword == "COPY"
    ]
    assert ["deploy/jupyter/", f"{IMAGE_JUPYTER}/"] in copies, f"COPY deploy/jupyter/ {IMAGE_JUPYTER}/"
    # The hub sets JUPYTER_CONFIG_PATH (values.yaml); the image itself keeps every tool.
    for keyword, args in instructions:
        assert "JUPYTER_CONFIG_PATH" not in args, f"deploy/Dockerfile sets JUPYTER_CONFIG_PATH: {keyword} {args}"
    runs = dockerfile_runs()
    assert not re.search(r"jupyter (server extension|labextension) (disable|lock)", runs), (
        "the image must not switch the instructor tools off: deploy/jupyter/students/ does, for students"
    )


# ---------------------------------------------------------------------------
# The instructors: the hub's hook and the image's start script
# ---------------------------------------------------------------------------


class FakeSpawner:
    def __init__(self, name: str, environment: dict[str, str] | None = None) -> None:
        self.user = types.SimpleNamespace(name=name)
        self.environment = dict(environment or {"MESSAGELAB_EXCHANGE": "/srv/nbgrader/exchange"})
        self.mem_limit = self.mem_guarantee = self.cpu_limit = self.cpu_guarantee = None


def extra_config_hook(monkeypatch: pytest.MonkeyPatch, messagelab: dict):
    """The hook hub.extraConfig registers, its snippets run as the chart runs them.

    ``z2jh.get_config`` answers ``messagelab`` (what custom.messagelab would hold).
    """
    monkeypatch.setitem(sys.modules, "z2jh", types.SimpleNamespace(get_config=lambda key, default=None: messagelab))
    c = Config()
    for snippet in values()["hub"]["extraConfig"].values():
        exec(snippet, {"c": c})
    return c.KubeSpawner.pre_spawn_hook


def pre_spawn_hook(monkeypatch: pytest.MonkeyPatch):
    """The hook of hub.extraConfig, with values.yaml as the chart's values."""
    course = values()["custom"]["messagelab"]
    return extra_config_hook(monkeypatch, course), course


def test_the_hub_marks_only_the_instructors_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, course = pre_spawn_hook(monkeypatch)
    student = FakeSpawner("a-student")
    hook(student)
    assert student.environment == {"MESSAGELAB_EXCHANGE": "/srv/nbgrader/exchange"}
    assert student.mem_limit is None and student.cpu_limit is None

    teacher = FakeSpawner(course["instructors"][0])
    hook(teacher)
    assert teacher.environment["MESSAGELAB_INSTRUCTOR"] == "1"
    assert teacher.environment["JUPYTER_CONFIG_PATH"] == IMAGE_JUPYTER
    assert teacher.environment["MESSAGELAB_EXCHANGE"] == "/srv/nbgrader/exchange"
    secret = teacher.environment["MESSAGELAB_COURSE_REPO"]["valueFrom"]["secretKeyRef"]
    assert secret == {"name": course["courseRepo"]["secretName"], "key": course["courseRepo"]["secretKey"]}
    resources = course["instructorResources"]
    assert (teacher.mem_limit, teacher.mem_guarantee) == (
        resources["memory"]["limit"],
        resources["memory"]["guarantee"],
    )
    assert (teacher.cpu_limit, teacher.cpu_guarantee) == (resources["cpu"]["limit"], resources["cpu"]["guarantee"])


def _course_repository(folder: Path) -> Path:
    """A git repository holding the course's nbgrader_config.py, as the instructor's does."""
    folder.mkdir()
    (folder / "nbgrader_config.py").write_bytes((ROOT / "nbgrader_config.py").read_bytes())
    git = ["git", "-C", str(folder), "-c", "user.name=course", "-c", "user.email=course@example.edu"]
    subprocess.run(["git", "init", "--quiet", str(folder)], check=True)
    subprocess.run([*git, "add", "nbgrader_config.py"], check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "course"], check=True)
    return folder


def test_the_start_script_sets_up_an_instructors_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    setup = load_instructor_setup()
    repo = _course_repository(tmp_path / "origin")
    home = tmp_path / "home"
    home.mkdir()
    ran: list[list[str]] = []

    def run(command):
        ran.append(list(command))
        return subprocess.run(list(command), check=False).returncode if command[0] == "git" else 0

    env = {"MESSAGELAB_INSTRUCTOR": "1", "MESSAGELAB_COURSE_REPO": str(repo)}
    done = setup.setup(env, home, run=run, say=lambda line: None)
    course = home / setup.COURSE_FOLDER
    assert (course / "nbgrader_config.py").is_file(), done
    assert [c[:2] for c in ran] == [["git", "clone"]], "the clone is the one command: the hub turns the tools on"

    # The written settings load the clone's, which name the hub's exchange (MESSAGELAB_EXCHANGE).
    monkeypatch.setenv("MESSAGELAB_EXCHANGE", "/srv/nbgrader/exchange")
    loaded = PyFileConfigLoader("nbgrader_config.py", path=str(home / ".jupyter")).load_config()
    assert loaded.CourseDirectory.course_id == "messaging-eda"
    assert Path(loaded.CourseDirectory.root) == course.resolve()
    assert loaded.Exchange.root == "/srv/nbgrader/exchange"
    # Nothing but the course's config decides the exchange: without the variable, the course's own.
    monkeypatch.delenv("MESSAGELAB_EXCHANGE")
    loaded = PyFileConfigLoader("nbgrader_config.py", path=str(home / ".jupyter")).load_config()
    assert Path(loaded.Exchange.root) == course.resolve() / "exchange"

    # A later start keeps the instructor's work and settings.
    (course / "gradebook.db").write_text("grades")
    (home / ".jupyter" / "nbgrader_config.py").write_text("c = get_config()\n")
    ran.clear()
    again = setup.setup(env, home, run=run, say=lambda line: None)
    assert not [c for c in ran if c[0] == "git"] and (course / "gradebook.db").read_text() == "grades"
    assert (home / ".jupyter" / "nbgrader_config.py").read_text() == "c = get_config()\n"
    assert not any("cloned" in line or "wrote" in line for line in again)


def test_the_start_script_leaves_a_students_server_alone(tmp_path: Path) -> None:
    setup = load_instructor_setup()
    ran: list[list[str]] = []
    done = setup.setup({"MESSAGELAB_COURSE_REPO": "x"}, tmp_path, run=lambda c: ran.append(list(c)) or 0)
    assert done == [] and ran == [] and not any(tmp_path.iterdir())


# ---------------------------------------------------------------------------
# nbgitpuller links
# ---------------------------------------------------------------------------

HUB = "https://hub.example.edu"
STUDENTS_REPO = "https://github.com/example/messaging-eda-student"


def query(link: str) -> dict[str, str]:
    parsed = parse_qs(urlsplit(link).query, keep_blank_values=True, strict_parsing=True)
    assert all(len(v) == 1 for v in parsed.values()), parsed
    return {key: value[0] for key, value in parsed.items()}


def test_a_link_round_trips_through_urllib() -> None:
    repo = "https://user:t0k&n=1@git.example.edu/org/notes?x.git"
    link = links.nbgitpuller_link(HUB, repo, "release/ex01/ex01 draft.ipynb", branch="term/2026 spring")
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "hub.example.edu", "/hub/user-redirect/git-pull")
    assert query(link) == {
        "repo": repo,
        "branch": "term/2026 spring",
        "urlpath": "lab/tree/notes?x.git/release/ex01/ex01 draft.ipynb",
    }
    assert list(query(link)) == ["repo", "branch", "urlpath"]
    # Every reserved character of the values is percent-encoded (spaces as +, as nbgitpuller's generator).
    for pair in parts.query.split("&"):
        name, value = pair.split("=")
        assert re.fullmatch(r"[A-Za-z0-9._~+%-]*", value), f"{name} is not fully quoted: {value}"


@pytest.mark.parametrize("hub", ["https://example.edu/jupyter", "https://example.edu/jupyter/"])
def test_a_hub_with_a_base_path_keeps_it(hub: str) -> None:
    link = links.nbgitpuller_link(hub, STUDENTS_REPO, "release/a/a.ipynb")
    assert urlsplit(link).path == "/jupyter/hub/user-redirect/git-pull"
    assert query(link)["branch"] == "main"


def test_the_folder_is_named_as_nbgitpuller_names_it() -> None:
    # nbgitpuller: repo.rstrip('/').split('/')[-1], a .git suffix kept.
    assert links.repo_folder("https://host/org/notes.git") == "notes.git"
    assert links.repo_folder("https://host/org/notes/") == "notes"
    link = links.nbgitpuller_link(HUB, "https://host/org/notes.git", "release/a/a.ipynb")
    assert query(link)["urlpath"] == "lab/tree/notes.git/release/a/a.ipynb"


@pytest.mark.parametrize(
    ("hub", "repo", "path", "branch"),
    [
        ("ftp://hub.example.edu", STUDENTS_REPO, "release/a/a.ipynb", "main"),
        ("hub.example.edu", STUDENTS_REPO, "release/a/a.ipynb", "main"),
        ("https://hub.example.edu/?next=x", STUDENTS_REPO, "release/a/a.ipynb", "main"),
        (HUB, "", "release/a/a.ipynb", "main"),
        (HUB, STUDENTS_REPO, "../source/a/a.ipynb", "main"),
        (HUB, STUDENTS_REPO, "/etc/passwd", "main"),
        (HUB, STUDENTS_REPO, "release/a/a.ipynb", ""),
    ],
)
def test_a_link_that_cannot_work_is_refused(hub: str, repo: str, path: str, branch: str) -> None:
    with pytest.raises(ValueError):
        links.nbgitpuller_link(hub, repo, path, branch)


def test_release_links_open_every_released_notebook() -> None:
    found = links.release_links(HUB, STUDENTS_REPO, branch="spring")
    assert list(found) == released() and found
    for assignment_id, link in found.items():
        params = query(link)
        assert params["repo"] == STUDENTS_REPO and params["branch"] == "spring"
        prefix = f"lab/tree/{links.repo_folder(STUDENTS_REPO)}/"
        assert params["urlpath"].startswith(prefix)
        relative = params["urlpath"].removeprefix(prefix)
        assert relative == f"release/{assignment_id}/{assignment_id}.ipynb"
        assert (ROOT / relative).is_file()


def test_release_links_skip_assignments_not_released(tmp_path: Path) -> None:
    first = ASSIGNMENTS[0]
    notebook = release_path(first, tmp_path)
    notebook.parent.mkdir(parents=True)
    notebook.write_text("{}")
    assert list(links.release_links(HUB, STUDENTS_REPO, root=tmp_path)) == [first.id]


def test_the_command_line_prints_one_link_per_released_assignment(capsys: pytest.CaptureFixture[str]) -> None:
    assert links.main([HUB, STUDENTS_REPO]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == released()
    assert all(line.split("\t")[1].startswith(f"{HUB}/hub/user-redirect/git-pull?") for line in lines)
