"""Student releases: generate ``release/`` from ``source/``, and check the two are in sync.

``release/`` is committed, so a learner without nbgrader has the student notebooks; the
check regenerates every release in a throw-away course and compares cell by cell.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import nbformat

from messagelab.instructor.nbgrader import IGNORED_NAMES, assignment_ids, generate_every, make_course, root_or_default


def release(root: Path | None = None, ids: Iterable[str] | None = None) -> list[Path]:
    """Regenerate ``release/<id>`` for every assignment in ``source/`` (or the ones given)."""
    root = root_or_default(root)
    return generate_every(selected_ids(root, ids), root)


def generate_into(dest: Path, ids: Iterable[str] | None = None, *, source_root: Path | None = None) -> Path:
    """Generate releases in a fresh course at ``dest``; return its ``release`` folder.

    Compare the result with the committed ``release/`` to check the two are in sync.
    """
    course = make_course(dest, ids, source_root=source_root)
    release(course, ids)
    return course / "release"


def _cell_label(index: int, cell: nbformat.NotebookNode) -> str:
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"cell {index}" + (f" ({grade_id})" if grade_id else "")


def _first_difference(a: str, b: str) -> str:
    a_lines, b_lines = a.splitlines(), b.splitlines()
    for number, (left, right) in enumerate(zip(a_lines, b_lines, strict=False), start=1):
        if left != right:
            return f"line {number}: expected {left!r}, found {right!r}"
    return f"expected {len(a_lines)} lines, found {len(b_lines)}"


def notebook_differences(expected: Path, actual: Path) -> list[str]:
    """How ``actual`` differs from ``expected`` in cell types, sources and nbgrader metadata."""
    want = nbformat.read(expected, as_version=4)
    got = nbformat.read(actual, as_version=4)
    problems = []
    if len(want.cells) != len(got.cells):
        problems.append(f"has {len(got.cells)} cells, expected {len(want.cells)}")
    for index, (a, b) in enumerate(zip(want.cells, got.cells, strict=False)):
        label = _cell_label(index, a)
        if a.cell_type != b.cell_type:
            problems.append(f"{label}: is {b.cell_type}, expected {a.cell_type}")
        if a.source != b.source:
            problems.append(f"{label}: source differs, {_first_difference(a.source, b.source)}")
        meta_a = a.get("metadata", {}).get("nbgrader")
        meta_b = b.get("metadata", {}).get("nbgrader")
        if meta_a != meta_b:
            problems.append(f"{label}: nbgrader metadata differs: expected {meta_a}, found {meta_b}")
    return problems


def release_differences(expected: Path, actual: Path) -> list[str]:
    """Differences between two release folders of one assignment, one line per problem.

    Notebooks are compared cell by cell (type, source, nbgrader metadata); other files
    byte for byte. An empty list means the two are in sync.
    """
    expected, actual = Path(expected), Path(actual)
    if not actual.is_dir():
        return [f"{actual} is missing"]

    def files(folder: Path) -> set[str]:
        return {
            str(path.relative_to(folder))
            for path in folder.rglob("*")
            if path.is_file() and not IGNORED_NAMES.intersection(path.parts)
        }

    want, got = files(expected), files(actual)
    problems = [f"{name}: missing" for name in sorted(want - got)]
    problems += [f"{name}: not generated from source (stale?)" for name in sorted(got - want)]
    for name in sorted(want & got):
        if name.endswith(".ipynb"):
            problems += [f"{name} {problem}" for problem in notebook_differences(expected / name, actual / name)]
        elif (expected / name).read_bytes() != (actual / name).read_bytes():
            problems.append(f"{name}: content differs")
    return problems


def check_release(workdir: Path, ids: Iterable[str] | None = None, root: Path | None = None) -> dict[str, list[str]]:
    """Generate into ``workdir`` and compare with ``root/release``; problems per assignment."""
    root = root_or_default(root)
    ids = selected_ids(root, ids)
    generated = generate_into(workdir, ids, source_root=root)
    return {
        assignment: release_differences(generated / assignment, Path(root) / "release" / assignment)
        for assignment in ids
    }


def orphaned_releases(root: Path | None = None) -> list[str]:
    """Folders in ``release/`` with no assignment in ``source/`` to generate them from."""
    root = root_or_default(root)
    release_dir = root / "release"
    if not release_dir.is_dir():
        return []
    sources = set(assignment_ids(root))
    return sorted(
        folder.name
        for folder in release_dir.iterdir()
        if folder.is_dir() and not folder.name.startswith(".") and folder.name not in sources
    )


def selected_ids(root: Path, ids: Iterable[str] | None) -> list[str]:
    return assignment_ids(root) if ids is None else list(ids)
