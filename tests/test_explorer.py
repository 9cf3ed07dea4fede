"""The queue explorer: controls drive the model, the figure and the summary follow."""

import subprocess
import sys

import pytest

from messagelab.assignments.ex01 import LATENCY_TARGET_S
from messagelab.assignments.ex01 import SCENARIO as BLACK_FRIDAY
from messagelab.explore import grading
from messagelab.queues.explorer import QueueExplorer, summary_frame


@pytest.fixture(scope="module")
def explorer():
    return QueueExplorer(BLACK_FRIDAY.config, latency_target_s=LATENCY_TARGET_S)


def test_controls_update_on_release_only(explorer):
    sliders = [w for w in explorer.controls.values() if hasattr(w, "continuous_update")]
    assert sliders and all(w.continuous_update is False for w in sliders)


def test_moving_a_slider_redraws_the_figure_and_the_summary(explorer):
    before_depth = tuple(explorer.figure.data[0].y)
    before_text = explorer.summary.value
    explorer.controls["consumers"].value = 30
    assert explorer.last_result.config.consumers == 30
    assert tuple(explorer.figure.data[0].y) != before_depth
    assert "With 30 consumers" in explorer.summary.value and explorer.summary.value != before_text
    # The figure shows what the result says: the visible-depth trace is the time series.
    assert max(explorer.figure.data[0].y) == explorer.last_result.summary["max_visible"]


def test_no_dlq_is_a_choice_of_the_receive_count_control(explorer):
    control = explorer.controls["max_receive_count"]
    assert control._options_labels[0] == "no DLQ"  # a design dict says None; so does the config
    explorer.set(max_receive_count=None, poison_rate=0.01)
    assert explorer.last_result.config.max_receive_count is None
    assert explorer.last_result.summary["dead_lettered"] == 0
    explorer.set(max_receive_count=3)
    assert explorer.last_result.summary["dead_lettered"] > 0


def test_invalid_setting_shows_the_config_error_not_a_traceback(explorer):
    explorer.set(queue_type="standard")
    result = explorer.last_result
    explorer.base = explorer.base.replace(spike_multiplier=1.0)
    explorer.controls["failure_rate"].max = 1.0
    explorer.set(failure_rate=0.99)
    assert "Not a valid setting" in explorer.summary.value and "failure_rate" in explorer.summary.value
    assert explorer.last_result is result  # the chart keeps the last valid run


def test_summary_table_has_units(explorer):
    table = summary_frame(explorer.last_result)
    assert "cost per day" in table.index and table.loc["cost per day", "value"].startswith("$")


def test_no_ui_while_nbgrader_grades(monkeypatch, capsys, explorer):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert grading()
    explorer._ipython_display_()
    assert "not drawn while the notebook is graded" in capsys.readouterr().out


def test_explorer_builds_nothing_while_nbgrader_grades(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    inert = QueueExplorer(BLACK_FRIDAY.config)
    assert inert.controls == {} and inert.last_result is None and not hasattr(inert, "figure")


def test_the_chart_takes_the_notebooks_width(explorer):
    assert explorer.figure.layout.autosize is True and explorer.figure.layout.width is None


def test_a_kernels_first_chart_does_not_build_jsonschemas_iri_parsers() -> None:
    """Importing messagelab first keeps rfc3987-syntax's 2 s of grammar building out of a kernel.

    jsonschema (reached through plotly's renderers and nbformat) still validates notebooks.
    """
    probe = ("import sys, messagelab, plotly.graph_objects as go, nbformat\n"
             "go.FigureWidget()\n"
             "nbformat.validate(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')]))\n"
             "try:\n"
             "    nbformat.validate({'nbformat': 4})\n"
             "except nbformat.ValidationError:\n"
             "    print('invalid caught')\n"
             "print(sys.modules.get('rfc3987_syntax'), 'jsonschema' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split("\n")[:2] == ["invalid caught", "None True"], out.stdout + out.stderr


def test_one_update_sends_every_touched_trace_each_property_the_batch_changes():
    """A batch that changes ``x`` of one trace and the colour of another sends no placeholder to the chart."""
    import plotly.graph_objects as go
    from plotly.basedatatypes import Undefined

    from messagelab.explore import one_update

    figure = go.FigureWidget([go.Scatter(x=[1, 2], y=[1, 2], marker=dict(color="red")),
                              go.Scatter(x=[1, 2], y=[2, 1], marker=dict(color="blue"))])
    sent = []
    figure._send_update_msg = lambda restyle_data, relayout_data, trace_indexes=None, source_view_id=None: (
        sent.append((restyle_data, trace_indexes)))
    with one_update(figure):
        figure.data[0].x = [3, 4]
        figure.data[1].marker.color = "green"
    ((restyle, traces),) = sent
    assert traces == [0, 1]
    assert restyle == {"x": [[3, 4], (1, 2)], "marker.color": ["red", "green"]}
    assert not any(value is Undefined for values in restyle.values() for value in values)


def test_one_update_leaves_out_what_another_kind_of_trace_does_not_have():
    import plotly.graph_objects as go

    from messagelab.explore import one_update

    figure = go.FigureWidget([go.Bar(x=["a"], y=[1]), go.Heatmap(z=[[1]])])
    sent = []
    figure._send_update_msg = lambda restyle_data, relayout_data, trace_indexes=None, source_view_id=None: (
        sent.append(restyle_data))
    with one_update(figure):
        figure.data[0].y = [2]
        figure.data[1].z = [[3]]
    ((restyle,),) = [sent]
    assert restyle["y"] == [[2], None] and restyle["z"][1] == [[3]]   # a bar has no z: left as the batch had it
