"""The three descriptions of the environment agree.

pyproject.toml states the ranges, constraints.txt pins the tested versions and
environment.yml rebuilds the same environment for conda, Binder and hub images.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def pyproject_requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return list(project["dependencies"]) + list(project["optional-dependencies"]["test"])


def environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def environment_pip() -> list[str]:
    for entry in environment()["dependencies"]:
        if isinstance(entry, dict) and "pip" in entry:
            return [str(line) for line in entry["pip"]]
    raise AssertionError("environment.yml has no pip: section")


def constraints() -> dict[str, Version]:
    pins = {}
    for raw in (ROOT / "constraints.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        (specifier,) = requirement.specifier  # a pin is exactly one ==
        assert specifier.operator == "==", f"constraints.txt: {line!r} is not an exact pin"
        pins[canonicalize_name(requirement.name)] = Version(specifier.version)
    return pins


def test_environment_yml_lists_the_pyproject_requirements() -> None:
    pip = environment_pip()
    assert "-e ." in pip, "environment.yml must install the course package itself (-e .)"
    listed = [line for line in pip if not line.startswith("-")]
    wanted = pyproject_requirements()
    only_yml = sorted(set(listed) - set(wanted))
    only_toml = sorted(set(wanted) - set(listed))
    assert not only_yml and not only_toml, (
        "environment.yml and pyproject.toml disagree (update environment.yml):\n"
        f"  only in environment.yml: {only_yml}\n"
        f"  only in pyproject.toml ([project].dependencies + test extra): {only_toml}"
    )
    assert len(listed) == len(set(listed)), "environment.yml lists a requirement twice"


def test_environment_yml_python_matches_the_tested_python() -> None:
    deps = environment()["dependencies"]
    assert "python=3.11" in deps, f"environment.yml must pin python=3.11, has {deps}"
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    from packaging.specifiers import SpecifierSet

    assert Version("3.11") in SpecifierSet(requires)


def test_every_requirement_is_pinned_within_its_range() -> None:
    pins = constraints()
    problems = []
    for line in pyproject_requirements():
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        if name not in pins:
            problems.append(f"{requirement.name}: not pinned in constraints.txt")
        elif not requirement.specifier.contains(pins[name], prereleases=True):
            problems.append(
                f"{requirement.name}: constraints.txt pins {pins[name]}, outside pyproject's {requirement.specifier}"
            )
    assert not problems, "run `make lock` or fix the ranges:\n" + "\n".join(problems)


def test_constraints_pin_each_package_once() -> None:
    names = [
        canonicalize_name(Requirement(line.split("#", 1)[0]).name)
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line.split("#", 1)[0].strip()
    ]
    assert len(names) == len(set(names)), "constraints.txt pins a package twice"
    assert "messagelab" not in names, "constraints.txt must not pin the course package itself"
