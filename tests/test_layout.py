"""The package's layout, as the README draws it: who may import whom, and no import cycles.

Read from the source (``ast``), not by importing, so that a lazy import inside a function
counts as a dependency too; only module-level imports can form a cycle at import time.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "messagelab"

#: Simulation domains: each imports only what every domain shares, so each is deletable alone.
DOMAINS = ("queues", "microservices", "streaming", "eventstore", "resilience", "multiregion")
#: What a domain may import from the package besides itself.
SHARED = ("messagelab.sim", "messagelab.explore")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, *, top_level_only: bool = False) -> Iterator[str]:
    """The ``messagelab`` modules ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.split(".")[0] == "messagelab")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            if base.split(".")[0] == "messagelab":
                yield base


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_the_domains_listed_are_the_domain_packages() -> None:
    for domain in DOMAINS:
        assert (PACKAGE / domain / "__init__.py").is_file(), f"messagelab/{domain}/ is not a package"


@pytest.mark.parametrize("domain", DOMAINS)
def test_a_domain_imports_only_what_every_domain_shares(domain: str) -> None:
    own = f"messagelab.{domain}"
    wrong = sorted(
        f"{name} imports {target}"
        for name, path in modules().items() if within(name, own)
        for target in imports(path)
        if not within(target, own) and not any(within(target, shared) for shared in SHARED)
    )
    assert not wrong, "\n".join(wrong)


def test_the_shared_simulation_core_imports_no_domain_and_no_course_code() -> None:
    wrong = sorted(f"{name} imports {target}" for name, path in modules().items() if within(name, "messagelab.sim")
                   for target in imports(path) if not within(target, "messagelab.sim"))
    assert not wrong, "\n".join(wrong)


def test_nothing_a_student_imports_depends_on_the_instructor_platform() -> None:
    student_side = ("messagelab.sim", "messagelab.explore", "messagelab.grading", "messagelab.assignments",
                    *(f"messagelab.{d}" for d in DOMAINS))
    wrong = sorted(f"{name} imports {target}" for name, path in modules().items()
                   if any(within(name, s) for s in student_side)
                   for target in imports(path) if within(target, "messagelab.instructor"))
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles_at_module_level() -> None:
    known = modules()

    def resolve(target: str) -> str | None:
        while target and target not in known:
            target = target.rpartition(".")[0]
        return target or None

    graph = {name: {t for t in map(resolve, imports(path, top_level_only=True)) if t and t != name}
             for name, path in known.items()}
    cycles, state = [], {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join([*trail[trail.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)
