"""The explorer pattern shared by every domain: controls → config → simulate → one figure.

An explorer owns a set of ipywidgets controls (``continuous_update=False``), one plotly
``FigureWidget`` updated inside ``batch_update`` and an HTML summary that states in words
what the figure shows. A setting the model rejects is shown as the ConfigError's message,
never as a traceback. While nbgrader grades a notebook (``NBGRADER_EXECUTION`` is set) an
explorer builds no user interface at all.
"""

from __future__ import annotations

import contextlib
import html
import os
import time
from collections.abc import Iterator
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go

from messagelab.sim.budget import collector_paused
from messagelab.sim.validation import ConfigError


@contextlib.contextmanager
def one_update(figure: go.FigureWidget) -> Iterator[None]:
    """``figure.batch_update()``: every change made inside reaches the chart in one message.

    A batch sends each property it changes for every trace it touches; a trace that did not
    change it gets a placeholder meaning "leave as it is", which the chart in JupyterLab
    reads as a value (plotly 7: a trace whose ``x`` another trace's change filled in vanishes,
    a colour falls back to the default). So every touched trace is sent its current value of
    every property the batch sends, which is what the placeholder meant.
    """
    with figure.batch_update():
        yield
        edits = figure._batch_trace_edits
        sent = {prop for changes in edits.values() for prop in changes}
        for index, changes in edits.items():
            trace = figure.data[index]
            for prop in sent - set(changes):
                try:
                    changes[prop] = trace[prop]
                except (KeyError, ValueError):
                    pass  # a property of another kind of trace (a heatmap's z on a bar): nothing to keep


def grading() -> bool:
    """True while nbgrader executes the notebook (autograde or validate)."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


class Explorer:
    """Base class: subclasses define ``controls``, ``make_figure``, ``compute`` and ``draw``."""

    title = ""

    def __init__(self) -> None:
        self.last_update_ms = float("nan")
        self.last_result: Any = None
        if grading():
            # No widgets, no figure, no simulation: nothing for the grader to run or store.
            self.controls = {}
            return
        self.controls: dict[str, widgets.Widget] = self.make_controls()
        self.figure: go.FigureWidget = self.make_figure()
        # The chart takes the notebook's width (plotly's own default is a fixed 700 px).
        self.figure.layout.autosize = True
        self.summary = widgets.HTML()
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.update()

    # --- to override ------------------------------------------------------------------------
    def make_controls(self) -> dict[str, widgets.Widget]:
        raise NotImplementedError

    def make_figure(self) -> go.FigureWidget:
        raise NotImplementedError

    def compute(self, values: dict[str, Any]) -> Any:
        raise NotImplementedError

    def draw(self, result: Any) -> str:
        """Update ``self.figure`` (inside a batch update) and return the summary's HTML."""
        raise NotImplementedError

    # --- machinery --------------------------------------------------------------------------
    @property
    def values(self) -> dict[str, Any]:
        return {name: control.value for name, control in self.controls.items()}

    def set(self, **values: Any) -> None:
        """Move controls programmatically (as a student would), updating once."""
        with self.hold():
            for name, value in values.items():
                self.controls[name].value = value
        self.update()

    def hold(self):
        self._holding = True
        explorer = self

        class _Hold:
            def __enter__(self):
                return explorer

            def __exit__(self, *exc):
                explorer._holding = False

        return _Hold()

    def _on_change(self, _change: dict) -> None:
        if not getattr(self, "_holding", False):
            self.update()

    def update(self) -> None:
        start = time.perf_counter()
        # One answer to a slider allocates by the ten thousand; the cycle collector waits until it is given.
        with collector_paused():
            try:
                result = self.compute(self.values)
            except ConfigError as e:
                self.summary.value = f"<p style='color:#b00020'><b>Not a valid setting:</b> {html.escape(str(e))}</p>"
                self.last_update_ms = (time.perf_counter() - start) * 1000
                return
            with one_update(self.figure):
                text = self.draw(result)
        self.last_result = result
        self.summary.value = text
        self.last_update_ms = (time.perf_counter() - start) * 1000

    def widget(self) -> widgets.Widget:
        boxes = list(self.controls.values())
        rows = [widgets.HBox(boxes[i:i + 3]) for i in range(0, len(boxes), 3)]
        head = [widgets.HTML(f"<h4>{html.escape(self.title)}</h4>")] if self.title else []
        return widgets.VBox([*head, *rows, self.figure, self.summary])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        if grading():
            print(f"({self.title or 'Explorer'}: not drawn while the notebook is graded.)")
            return
        display(self.widget())
        # plotly sizes an autosized chart when it is drawn; drawn before the page lays it out,
        # it takes plotly's 700 px. A relayout sent after the display sizes it to the page.
        self.figure.layout.autosize = False
        self.figure.layout.autosize = True


#: How every slider looks and behaves: labelled, three to a row, updating on release.
_SLIDER_STYLE = dict(continuous_update=False, style={"description_width": "initial"})
CONTROL_WIDTH = "32%"


def slider(kind: str, description: str, value: float, low: float, high: float, step: float,
           **kw: Any) -> widgets.Widget:
    """A labelled slider that updates on release (``continuous_update=False``)."""
    cls = {"int": widgets.IntSlider, "float": widgets.FloatSlider}[kind]
    return cls(value=value, min=low, max=high, step=step, description=description,
               layout=widgets.Layout(width=CONTROL_WIDTH), **_SLIDER_STYLE, **kw)


def choice(description: str, options: list[Any], value: Any) -> widgets.Widget:
    """A slider over a few named settings (``(label, value)`` pairs or plain values), like :func:`slider`."""
    return widgets.SelectionSlider(options=options, value=value, description=description,
                                   layout=widgets.Layout(width=CONTROL_WIDTH), **_SLIDER_STYLE)


LABEL_STYLE = {"description_width": "initial"}


def dropdown(description: str, options: list, value: Any) -> widgets.Dropdown:
    """A labelled drop-down list, as wide as a slider."""
    return widgets.Dropdown(options=options, value=value, description=description, style=LABEL_STYLE,
                            layout=widgets.Layout(width=CONTROL_WIDTH))


def toggle(description: str, options: list, value: Any, button_width: str = "120px") -> widgets.ToggleButtons:
    """A labelled row of buttons, one of them pressed."""
    return widgets.ToggleButtons(options=options, value=value, description=description,
                                 style={**LABEL_STYLE, "button_width": button_width})


def facts_html(sentence: str, rows: list[tuple[str, str]]) -> str:
    """An explorer's summary: a sentence, then a two-column table of named figures."""
    cells = "".join(
        f"<tr><td style='text-align:left;padding-right:2em'>{html.escape(name)}</td>"
        f"<td style='text-align:right'>{html.escape(value)}</td></tr>"
        for name, value in rows
    )
    return f"<p>{sentence}</p><table>{cells}</table>"
