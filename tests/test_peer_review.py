"""Peer design review: only design values are shared, checked as graders check them, run side by side."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from nbchecks import CELL_TIMEOUT_S, ROOT, normal_run_environment
from nbclient import NotebookClient

from messagelab.assignments import ex01
from messagelab.course import review

EX01 = "ex01-message-queues"
NOTEBOOK = ROOT / "notebooks" / "peer-review.ipynb"
GOOD = {"queue_type": "standard", "consumers": 30, "visibility_timeout_s": 8.0, "max_receive_count": 5,
        "receive_batch_size": 1, "wait_time_s": 20.0, "idempotent_consumer": True}
#: Too few consumers for the peak, and charged twice for duplicates.
WEAK = dict(GOOD, consumers=8, idempotent_consumer=False)


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    folder = tmp_path / "shared"
    review.share(EX01, "Alice", GOOD, folder)
    review.share(EX01, "Bob K.", WEAK, folder)
    return folder


def test_a_shared_file_holds_the_design_values_and_nothing_else(shared: Path) -> None:
    body = json.loads((shared / EX01 / "alice.json").read_text())
    assert set(body) == {"assignment", "author", "design", "shared_at"}
    assert body["design"] == GOOD and body["author"] == "Alice"


def test_sharing_again_replaces_the_authors_design(shared: Path) -> None:
    review.share(EX01, "Alice", dict(GOOD, consumers=31), shared)
    designs, skipped = review.load(EX01, shared)
    assert [(d.author, d.design["consumers"]) for d in designs] == [("Alice", 31), ("Bob K.", 8)]
    assert skipped == []


@pytest.mark.parametrize(("author", "design", "message"), [
    ("", GOOD, "author = ''"),
    ("../../etc", GOOD, "author = '../../etc'"),
    ("Mallory", dict(GOOD, consumers=-1), "consumers = -1 is not allowed"),
    ("Mallory", dict(GOOD, solution="x"), "'solution' is not a design setting here"),
    ("Mallory", dict(GOOD, consumers=float("inf")), "consumers = inf"),
    ("Mallory", dict(GOOD, consumers=[30]), "consumers must be a plain number"),
    ("Mallory", [GOOD], "the design must be a dict of settings"),
    ("Mallory", {k: v for k, v in GOOD.items() if k != "consumers"}, "leaves out consumers"),
])
def test_a_design_is_checked_as_the_graders_check_it(tmp_path: Path, author: str, design: object,
                                                    message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(")):
        review.share(EX01, author, design, tmp_path)
    assert not list(tmp_path.rglob("*.json"))


def test_a_file_that_is_not_a_valid_design_is_skipped_with_the_reason(shared: Path) -> None:
    folder = shared / EX01
    (folder / "junk.json").write_text("{not json")
    (folder / "other.json").write_text(json.dumps({"assignment": "ex02-event-driven-microservices",
                                                   "author": "Eve", "design": GOOD}))
    (folder / "tampered.json").write_text(json.dumps({"assignment": EX01, "author": "Trent",
                                                      "design": dict(GOOD, consumers=10**9)}))
    (folder / "dup.json").write_text(json.dumps({"assignment": EX01, "author": "Alice", "design": GOOD}))
    (folder / "huge.json").write_text(" " * (review.MAX_FILE_BYTES + 1))
    os.symlink("/etc/passwd", folder / "link.json")
    designs, skipped = review.load(EX01, shared)
    assert [d.author for d in designs] == ["Alice", "Bob K."]
    reasons = dict(line.split(": ", 1) for line in skipped)
    assert set(reasons) == {"junk.json", "other.json", "tampered.json", "dup.json", "huge.json", "link.json"}
    assert "a second design by Alice" in reasons["dup.json"] and "consumers" in reasons["tampered.json"]


def test_compare_runs_each_design_as_its_test_cell_does(shared: Path) -> None:
    designs, _ = review.load(EX01, shared)
    table = review.compare(designs)
    assert list(table.columns) == ["Alice", "Bob K."]
    assert list(table.index) == [t.describe() for t in ex01.SCENARIO.targets] + ["every target met"]
    assert table.loc["every target met"].tolist() == ["yes", "no"]
    assert ex01.evaluate_design(GOOD).passed and not ex01.evaluate_design(WEAK).passed  # the same verdicts
    assert table.loc["customers charged twice ≤ 0 orders", "Bob K."].endswith("✗")
    figure = review.compare_figure(designs)
    assert [bar.name for bar in figure.data] == ["Alice", "Bob K."]
    assert all(y <= 1 for y in figure.data[0].y)  # every bar of the passing design at or under 1
    assert max(figure.data[1].y) == review.FIGURE_CAP  # 34 customers charged twice: drawn at the cap
    assert "34 orders" in figure.data[1].text


def test_variants_are_the_scenarios_and_an_unknown_one_names_them(shared: Path) -> None:
    designs, _ = review.load(EX01, shared)
    assert review.variants(EX01) == list(ex01.SCENARIO.variants)
    incident = review.compare(designs, "incident")
    assert incident.loc["every target met", "Alice"] == ("yes" if ex01.evaluate_design(
        GOOD, **ex01.SCENARIO.variants["incident"]).passed else "no")
    with pytest.raises(KeyError, match="incident, poison_burst"):
        review.compare(designs, "meteor")


def test_rubric_lists_the_hand_graded_cells_with_their_criterion() -> None:
    table = review.rubric_frame(EX01)
    written = {gid: points for gid, (kind, points) in ex01.GRADES.items() if kind == "markdown"}
    assert dict(zip(table["graded cell"], table["points"], strict=True)) == written
    assert table.loc[table["graded cell"] == "biz-impact", "criterion"].item() == "Business Alignment"


def test_the_shared_folder_is_the_variable_then_course_toml_then_the_workspace(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    monkeypatch.delenv("MESSAGELAB_SHARED", raising=False)
    monkeypatch.delenv("MESSAGELAB_WORKSPACE", raising=False)
    assert review.shared_folder(tmp_path) == tmp_path / "work" / "shared"
    (tmp_path / "course.toml").write_text('[peer_review]\nfolder = "class/designs"\n')
    assert review.shared_folder(tmp_path) == tmp_path / "class" / "designs"
    monkeypatch.setenv("MESSAGELAB_SHARED", str(tmp_path / "hub"))
    assert review.shared_folder(tmp_path) == tmp_path / "hub"


@pytest.mark.slow
def test_the_notebook_runs_two_shared_ex01_designs_side_by_side(shared: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESSAGELAB_SHARED", str(shared))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    with normal_run_environment():
        NotebookClient(nb, kernel_name="python3", timeout=CELL_TIMEOUT_S,
                       resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error" or o.get("name") == "stderr"]
    text = "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "2 shared designs: Alice, Bob K." in text
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("every target met" in h and "Alice" in h and "Bob K." in h for h in html)
    assert sum("every target met" in h for h in html) == 1 + len(ex01.SCENARIO.variants)
    assert any("application/vnd.plotly.v1+json" in o.get("data", {}) for o in outputs)
    assert list((shared / EX01).glob("*.json")) and not list(Path(NOTEBOOK.parent).glob("*.json"))


def test_a_streaming_design_with_its_record_key_is_reviewed_under_its_own_variants(tmp_path: Path) -> None:
    """Exercise 03's design holds a record key (not a config field), and each of its variants is
    judged by the targets the exercise holds it to: the failure by what it loses and refuses."""
    from messagelab.assignments import ex03

    assignment = ex03.ID
    durable = {"key": "sensor id", "partitions": 20, "consumers": 20, "brokers": 3, "replication_factor": 3,
               "min_insync_replicas": 2, "acks": "all", "enable_idempotence": True, "linger_ms": 5.0,
               "batch_size_bytes": 16_384, "compression": "zstd"}
    review.share(assignment, "Alice", durable, tmp_path)
    review.share(assignment, "Bob", {**durable, "acks": "1", "enable_idempotence": False}, tmp_path)
    designs, skipped = review.load(assignment, tmp_path)
    assert skipped == [] and review.design_frame(designs).loc["key"].tolist() == ["sensor id", "sensor id"]
    failure = review.compare(designs, "broker_failure")
    assert list(failure.index[:-1]) == [t.describe() for t in ex03.FAILURE_TARGETS]
    assert failure.loc["every target met"].tolist() == ["yes", "no"]  # acks=1 loses what its leader held
    assert review.compare_figure(designs, "broker_failure").data
    with pytest.raises(ValueError, match="key"):
        review.share(assignment, "Carol", {**durable, "key": "device"}, tmp_path)
