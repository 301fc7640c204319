from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from medmine.report.figures import tidy_labels
from medmine.report.tables import MISSING, fmt, plain_column, table_html


@pytest.mark.parametrize(
    ("column", "plain"),
    [
        ("person_id", True),
        ("id", True),
        ("provider id", True),
        ("evidence_claim_ids", True),
        ("year", True),
        ("code", True),
        ("rows", False),
        ("persons", False),
        ("idle_days", False),
        ("n_claims", False),
    ],
)
def test_identifier_columns_are_recognised_by_name(column, plain):
    assert plain_column(column) is plain


@pytest.mark.parametrize(
    ("value", "column", "text"),
    [
        (9135663261695903744, "person_id", "9135663261695903744"),
        (np.int64(20678), "claim_id", "20678"),
        (4.0, "provider_id", "4"),
        (12345, "rows", "12,345"),
        (np.int64(12345), "persons", "12,345"),
        (2019, "year", "2019"),
        (0.123456, "auroc", "0.1235"),
        (None, "rows", MISSING),
        (math.nan, "mean", MISSING),
        (pd.NA, "mean", MISSING),
        (True, "flagged", "yes"),
        (math.inf, "conviction", "inf"),
    ],
)
def test_values_are_formatted_by_column(value, column, text):
    assert fmt(value, column) == text


def test_missing_values_are_shown_as_missing_never_as_zero():
    html = table_html([{"rows removed": None, "mean": float("nan"), "n": 0}])
    assert html.count(MISSING) == 2 and ">0<" in html


def test_numeric_cells_keep_exact_values_for_sorting_and_csv():
    html = table_html([{"person_id": 9135663261695903744, "rows": 12345, "p": 0.5}])
    assert "data-value='9135663261695903744'" in html and ">9135663261695903744<" in html
    assert "data-value='12345'" in html and ">12,345<" in html
    assert "class='mm-table'" in html


def test_units_and_currency_appear_in_headers_and_filters_can_be_asked_for():
    html = table_html([{"billed": 12.5}], units={"billed": "USD"}, name="x", filters=True)
    assert "billed (USD)" in html
    assert "data-name='x'" in html and "data-filters='columns'" in html


def test_long_category_labels_are_shortened_but_hover_keeps_full_text():
    label = "condition:4112343 Acute viral pharyngitis (disorder) of the upper airway [-365,-1]"
    fig = go.Figure(go.Bar(x=[0.5, 0.2], y=[label, "age"], orientation="h"))
    fig.update_layout(margin={"l": 320})
    tidy = tidy_labels(fig)
    ticks = list(tidy.layout.yaxis.ticktext)
    assert ticks[0].endswith("… [-365,-1]") and len(ticks[0]) <= 42 and ticks[1] == "age"
    assert tidy.data[0].y[0] == label  # data (and so hover) unchanged
    assert fig.layout.yaxis.ticktext is None  # the result's figure is not changed
    assert tidy.layout.margin.l is None  # the wide fixed margin gives way to automargin
    few = go.Figure(go.Bar(x=["a category label longer than sixteen", "b"], y=[1, 2]))
    assert "<br>" in tidy_labels(few).layout.xaxis.ticktext[0]
    cats = [f"gender_source_concept_id_{i}" for i in range(10)]
    many = tidy_labels(go.Figure(go.Bar(x=cats, y=list(range(10))))).layout.xaxis
    assert many.tickangle == -45 and all(len(t) <= 24 for t in many.ticktext)


def test_long_titles_are_wrapped():
    fig = go.Figure(layout={"title": {"text": "word " * 40}})
    assert "<br>" in tidy_labels(fig).layout.title.text
