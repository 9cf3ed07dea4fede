"""Peer design review: designs classmates chose to share, run side by side and reviewed.

A learner shares a design with :func:`share`: only its values travel (the dict the design
cell holds, as the graders see it), written as JSON to the shared folder, one file per
author and assignment. No notebook is ever opened or copied. A reviewer or mentor loads
them with :func:`load`, runs them through the assignment's own scenario and seeds with
:func:`compare` (or one of the scenario's harder variants), and writes a review against the
assignment's rubric (:func:`rubric_frame`).

The shared folder is ``<workspace>/shared`` (``work/shared`` in the repository) unless
``$MESSAGELAB_SHARED`` or the ``[peer_review] folder`` of ``course.toml`` names another: on
JupyterHub, a folder every student can write to.

An assignment whose module defines ``SCENARIO``, ``VISIBLE_SEEDS``, ``design_config(design)``
and ``evaluate_design(design, seeds, **scenario_changes)`` can be reviewed this way; its
``LIST_FIELDS``, if any, name the settings that hold lists (a saga's steps), and its
``DESIGN_FIELDS``, if any, every setting a design holds (when some are not the scenario's
config fields, as a record key that stands for several). An ``evaluate_design`` that takes a
``variant`` (a name of ``SCENARIO.variants``) is given the name instead of the changes, so a
variant is judged by the targets the assignment holds it to.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from messagelab import assignments
from messagelab.course import catalogue, settings
from messagelab.course.progress import workspace
from messagelab.grading.answers import design_changes
from messagelab.grading.evaluate import worst_text
from messagelab.sim.validation import ConfigError

AUTHOR = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}")
#: A shared file larger than this is not read (a design is a few hundred bytes).
MAX_FILE_BYTES = 64 * 1024


def shared_folder(root: str | os.PathLike[str] | None = None) -> Path:
    """Where shared designs live: ``$MESSAGELAB_SHARED``, else ``course.toml``'s, else ``<workspace>/shared``."""
    named = os.environ.get("MESSAGELAB_SHARED") or settings.load(root).peer_review_folder
    return Path(named) if named else workspace(root) / "shared"


@dataclass(frozen=True)
class SharedDesign:
    """One classmate's shared design: who, which assignment, the values, when."""

    author: str
    assignment: str
    design: dict[str, Any]
    shared_at: str = ""


def _reviewable(assignment_id: str) -> ModuleType:
    catalogue.get(assignment_id)  # an unknown id says which ids exist
    module = assignments.module(assignment_id)
    for name in ("SCENARIO", "VISIBLE_SEEDS", "evaluate_design"):
        if not hasattr(module, name):
            raise ValueError(f"{assignment_id} has no design to review (its module defines no {name})")
    return module


def _check_author(author: Any) -> str:
    if not isinstance(author, str) or not AUTHOR.fullmatch(author):
        raise ConfigError("author", author, "1 to 40 letters, digits, spaces, dots, hyphens or "
                          "underscores, starting with a letter or digit")
    return author


def _plain(design: Any, assignment_id: str) -> dict[str, Any]:
    """The design's own settings as plain values, validated as the graders validate them.

    Raises ValueError with the test cell's own sentence (the setting, its value, what is allowed).
    """
    module = _reviewable(assignment_id)
    try:
        plain = design_changes(design, _fields(module), lists=getattr(module, "LIST_FIELDS", ()))
        module.design_config(plain)  # required settings and each one's range
    except AssertionError as error:
        raise ValueError(str(error)) from None
    return plain


def _file(folder: Path, assignment_id: str, author: str) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", author.lower()).strip("-")
    return folder / assignment_id / f"{slug}.json"


def share(
    assignment_id: str, author: str, design: Any, folder: str | os.PathLike[str] | None = None
) -> Path:
    """Share ``design`` under ``author``'s name; the file written (replacing the author's last one).

    Raises:
        ValueError: if the author's name or the design is not valid, naming the setting, its
            value and what is allowed (a ConfigError where one field is at fault).
    """
    plain = _plain(design, assignment_id)
    target = _file(Path(folder) if folder is not None else shared_folder(), assignment_id, _check_author(author))
    target.parent.mkdir(parents=True, exist_ok=True)
    body = {"assignment": assignment_id, "author": author, "design": plain,
            "shared_at": datetime.now(UTC).isoformat(timespec="seconds")}
    partial = target.with_suffix(".json.partial")
    partial.write_text(json.dumps(body, indent=2) + "\n")
    os.replace(partial, target)  # a reader never sees half a file
    return target


def load(
    assignment_id: str, folder: str | os.PathLike[str] | None = None
) -> tuple[list[SharedDesign], list[str]]:
    """The designs shared for ``assignment_id``, by author, and one line per file that was skipped, and why."""
    _reviewable(assignment_id)
    place = (Path(folder) if folder is not None else shared_folder()) / assignment_id
    designs: dict[str, SharedDesign] = {}
    skipped: list[str] = []
    for path in sorted(place.glob("*.json")) if place.is_dir() else []:
        try:
            if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
                raise ValueError(f"not a regular file under {MAX_FILE_BYTES // 1024} KiB")
            body = json.loads(path.read_text())
            if not isinstance(body, dict) or body.get("assignment") != assignment_id:
                raise ValueError(f"not a design of {assignment_id}")
            author = _check_author(body.get("author"))
            shared = SharedDesign(author, assignment_id, _plain(body.get("design"), assignment_id),
                                  str(body.get("shared_at", "")))
        except (OSError, ValueError, ConfigError) as error:
            skipped.append(f"{path.name}: {error}")
            continue
        if author in designs:
            skipped.append(f"{path.name}: a second design by {author}")
            continue
        designs[author] = shared
    return list(designs.values()), skipped


def design_frame(designs: list[SharedDesign]) -> pd.DataFrame:
    """The designs' settings side by side: one row per design field, one column per author."""
    if not designs:
        return pd.DataFrame()
    fields = _fields(_reviewable(designs[0].assignment))
    return pd.DataFrame({d.author: [d.design.get(f, "(default)") for f in fields] for d in designs},
                        index=pd.Index(fields, name="setting")).astype(object)


def variants(assignment_id: str) -> list[str]:
    """The scenario's harder variants a design can be run under (besides the scenario itself)."""
    return list(_reviewable(assignment_id).SCENARIO.variants)


def _runs(designs: list[SharedDesign], variant: str | None) -> list[tuple[SharedDesign, pd.DataFrame]]:
    """Each design's evaluation table under the scenario's visible seeds (or a variant's changes)."""
    if not designs:
        return []
    module = _reviewable(designs[0].assignment)
    if variant is not None and variant not in module.SCENARIO.variants:
        raise KeyError(f"variant={variant!r}; the scenario's variants: {', '.join(module.SCENARIO.variants)}")
    return [(d, _evaluation(d.assignment, json.dumps(d.design, sort_keys=True), variant)) for d in designs]


@functools.lru_cache(maxsize=256)
def _evaluation(assignment_id: str, design: str, variant: str | None) -> pd.DataFrame:
    """One design's evaluation table; the table and the chart of one design share its runs."""
    module = _reviewable(assignment_id)
    if variant is None:
        return module.evaluate_design(json.loads(design), module.VISIBLE_SEEDS).table
    if "variant" in inspect.signature(module.evaluate_design).parameters:
        return module.evaluate_design(json.loads(design), module.VISIBLE_SEEDS, variant=variant).table
    return module.evaluate_design(json.loads(design), module.VISIBLE_SEEDS, **module.SCENARIO.variants[variant]).table


def _fields(module: ModuleType) -> tuple[str, ...]:
    """Every setting a design of ``module`` holds."""
    return tuple(getattr(module, "DESIGN_FIELDS", module.SCENARIO.design_fields))


def compare(designs: list[SharedDesign], variant: str | None = None) -> pd.DataFrame:
    """Each design under the scenario's seeds (or a variant): per target, each author's worst run.

    One row per target and a last row, ``every target met``; one column per author, each cell
    the worst value over the seeds with ✓ or ✗: the runs the design's own test cell makes.

    Raises:
        KeyError: if ``variant`` is not one of the scenario's, naming them.
    """
    columns: dict[str, list[str]] = {}
    index: list[str] = []
    for shared, table in _runs(designs, variant):
        index = [*table["target"], "every target met"]
        cells = [f"{worst_text(row)} {'✓' if row['met'] else '✗'}"
                 for _, row in table.iterrows()]
        columns[shared.author] = [*cells, "yes" if bool(table["met"].all()) else "no"]
    return pd.DataFrame(columns, index=pd.Index(index, name="target (worst run)"))


#: Bars above this share of a target are drawn at it (their own value is written on them).
FIGURE_CAP = 2.0


def compare_figure(designs: list[SharedDesign], variant: str | None = None) -> go.Figure:
    """How close each design's worst run comes to each target, as a share of the target's limit.

    At most 1 meets the target; above 1 misses it. A target of zero (no order lost) shows
    0 when met and 1 plus the count when missed; a run with no value (a poison order that
    never reached the DLQ) counts as a miss. Bars are drawn up to :data:`FIGURE_CAP`, each
    labelled with its worst value, so one large miss does not flatten the others.
    """
    figure = go.Figure()
    figure.update_layout(title="Worst run against each target (at most 1 meets it)", barmode="group",
                         yaxis={"title": "worst value ÷ target", "range": [0, FIGURE_CAP * 1.08]},
                         height=440, legend_title_text="design by")
    runs = _runs(designs, variant)
    if runs:
        for shared, table in runs:
            ratios = [_ratio(row) for _, row in table.iterrows()]
            figure.add_bar(name=shared.author, x=list(table["label"]),
                           y=[min(r, FIGURE_CAP) for r in ratios],
                           text=[worst_text(row) for _, row in table.iterrows()],
                           textposition="outside", cliponaxis=False)
        figure.add_hline(y=1, line_dash="dot", annotation_text="target")
    return figure


def _ratio(row: Any) -> float:
    """A row of an evaluation table: its worst value as a share of its target's limit."""
    worst, limit = row["worst"], row["limit"]
    if row["required"]:
        return 0.0 if worst else FIGURE_CAP
    if not math.isfinite(worst):
        return math.inf
    if limit == 0:
        return 1.0 + worst if worst > 0 else 0.0
    if row["at_most"]:
        return worst / limit
    return limit / worst if worst else math.inf


def rubric_frame(assignment_id: str) -> pd.DataFrame:
    """The assignment's hand-graded parts: what each part asks, its criterion and its points."""
    module = assignments.module(assignment_id)
    rows = [
        {"graded cell": grade_id, "criterion": catalogue.GRADING_CRITERIA[catalogue.criterion_of(grade_id) or ""].name,
         "points": points}
        for grade_id, (kind, points) in module.GRADES.items() if kind == "markdown"
    ]
    return pd.DataFrame(rows, columns=["graded cell", "criterion", "points"])
