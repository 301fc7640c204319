"""Plotly figures on pages: long category labels shortened so they never squash the plot.

Covariate names such as ``condition:4112343 Acute viral pharyngitis (disorder) [-365,-1]``
make Plotly widen the margin until the bars have no room. `tidy_labels` keeps the data as
they are (so hovering a bar still shows the full label) and only sets shorter tick texts:
labels on a vertical (y) category axis are cut with ``…`` (keeping a trailing window such as
``[-365,-1]``); on a horizontal (x) axis a few categories are wrapped onto at most three
lines, many are cut and angled. Long titles are wrapped too. The figure of the result is
never changed: a copy is.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

#: Characters kept of a label on a vertical (y) category axis.
Y_LABEL_CHARS = 42
#: Characters per line and lines kept of a label on a horizontal (x) category axis.
X_LINE_CHARS = 16
X_LINES = 3
#: Above this many categories an x axis is angled and its labels cut instead of wrapped.
X_WRAP_MAX = 6
X_ANGLED_CHARS = 24
#: Title length above which it is wrapped.
TITLE_CHARS = 90


_WINDOW = re.compile(r"^(.*?)(\s\[[^\]]{1,20}\])$")


def shorten(label: str, width: int = Y_LABEL_CHARS) -> str:
    """`label` cut to `width` characters with an ellipsis when longer.

    A trailing time window such as ``[-365,-1]`` is kept: the name is cut before it.

    >>> shorten("condition:4230399 Closed fracture of hip [-365,-1]", 30)
    'condition:4230399 C… [-365,-1]'
    """
    if len(label) <= width:
        return label
    m = _WINDOW.match(label)
    if m and len(m.group(2)) < width - 8:
        head, tail = m.groups()
        return head[: width - len(tail) - 1].rstrip() + "…" + tail
    return label[: width - 1].rstrip() + "…"


def wrap(label: str, width: int = X_LINE_CHARS, lines: int = X_LINES) -> str:
    """`label` wrapped onto at most `lines` lines of `width` characters (``<br>`` breaks)."""
    parts = textwrap.wrap(label, width, break_long_words=True) or [label]
    if len(parts) > lines:
        parts = parts[:lines]
        parts[-1] = shorten(parts[-1] + " …", width)
    return "<br>".join(parts)


def _categories(values: Any) -> list[str] | None:
    if values is None:
        return None
    vals = list(values)
    if not vals or not all(isinstance(v, str) for v in vals):
        return None
    return list(dict.fromkeys(vals))


def _axis_names(trace: Any) -> tuple[str, str]:
    x = getattr(trace, "xaxis", None) or "x"
    y = getattr(trace, "yaxis", None) or "y"
    return "xaxis" + x[1:], "yaxis" + y[1:]


def tidy_labels(fig: Any) -> Any:
    """A copy of Plotly figure `fig` whose long category tick labels and title are shortened.

    >>> import plotly.graph_objects as go
    >>> f = tidy_labels(go.Figure(go.Bar(x=[1], y=["a" * 80], orientation="h")))
    >>> f.layout.yaxis.ticktext[0].endswith("…"), f.data[0].y[0] == "a" * 80
    (True, True)
    """
    import plotly.graph_objects as go

    out = go.Figure(fig)
    labels: dict[str, list[str]] = {}
    for trace in out.data:
        xaxis, yaxis = _axis_names(trace)
        pairs = ((xaxis, getattr(trace, "x", None)), (yaxis, getattr(trace, "y", None)))
        for axis, values in pairs:
            cats = _categories(values)
            if cats:
                labels.setdefault(axis, [])
                labels[axis] += [c for c in cats if c not in labels[axis]]
    for axis, cats in labels.items():
        longest = max(len(c) for c in cats)
        if axis.startswith("y") and longest > Y_LABEL_CHARS:
            text = [shorten(c) for c in cats]
        elif axis.startswith("x") and longest > X_LINE_CHARS and len(cats) > X_WRAP_MAX:
            text = [shorten(c, X_ANGLED_CHARS) for c in cats]
            out.layout[axis].tickangle = -45
        elif axis.startswith("x") and longest > X_LINE_CHARS:
            text = [wrap(c) for c in cats]
        else:
            continue
        out.layout[axis].update(tickmode="array", tickvals=cats, ticktext=text, automargin=True)
        if axis.startswith("y"):
            out.layout.margin.l = None  # a fixed margin sized for long labels: automargin
    _wrap_title(out)
    return out


def _wrap_title(fig: Any) -> None:
    title = fig.layout.title.text
    if not title or len(title) <= TITLE_CHARS or "<br>" in title:
        return
    fig.layout.title.text = "<br>".join(textwrap.wrap(title, TITLE_CHARS))
    top = fig.layout.margin.t
    fig.layout.margin.t = max(top or 0, 80)


def figure_html(fig: Any) -> str:
    """Render a Plotly figure as an HTML fragment (the page loads plotly.js once)."""
    return tidy_labels(fig).to_html(
        full_html=False, include_plotlyjs=False, config={"responsive": True}
    )
