"""The FHIRPath parser and the ViewDefinition compiler: what they refuse, and why."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medmine.fhir.views import (
    ViewDefinitionError,
    ViewNotSupportedError,
    compile_view,
    parse_fhirpath,
    run_view,
    validate_view,
)

PATIENTS = [
    {
        "resourceType": "Patient",
        "id": "p1",
        "active": True,
        "birthDate": "1970-06-02",
        "name": [{"use": "official", "family": "Ng", "given": ["Ada", "B"]}],
    },
    {"resourceType": "Patient", "id": "p2", "name": [{"family": "Li"}, {"family": "Lee"}]},
    {"resourceType": "Observation", "id": "o1", "valueQuantity": {"value": 7.5}},
]


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    c.execute("CREATE TABLE resources (resource VARCHAR)")
    c.executemany("INSERT INTO resources VALUES (?)", [(json.dumps(r),) for r in PATIENTS])
    return c


def view(*columns: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"resource": "Patient", "select": [{"column": list(columns)}], **extra}


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("", "empty expression"),
        ("@@", "unexpected character '@'"),
        ("name..family", "expected a name after '.'"),
        ("name.where(use = 'official'", "expected ')'"),
        ("name[0", "expected ']'"),
        ("name family", "unexpected 'family'"),
        ("'unterminated", "unexpected character"),
        ("$index", "$index is not supported"),
    ],
)
def test_refuses_bad_fhirpath_with_the_reason(path: str, reason: str) -> None:
    with pytest.raises(ViewDefinitionError, match=re.escape(reason)):
        parse_fhirpath(path)


def test_parses_precedence_and_postfix() -> None:
    node = parse_fhirpath("a.b = 'x' and c[0].exists() or not_here")
    assert (node.kind, node.name) == ("binop", "or")
    assert node.args[0].name == "and"
    assert node.args[0].args[1].kind == "call"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab.()[]'=<>0 %@$`,|+-", max_size=20))
def test_parser_raises_only_its_own_error_on_any_text(text: str) -> None:
    with contextlib.suppress(ViewDefinitionError):
        parse_fhirpath(text)


@pytest.mark.parametrize(
    ("bad_view", "reason"),
    [
        ({}, "resource: is required"),
        ({"resource": "Patient"}, "select: is required"),
        (view({"name": "id", "path": "id"}, {"name": "id", "path": "gender"}), "used twice"),
        (view({"name": "my id", "path": "id"}), "letters, digits and _"),
        (view({"name": "id", "path": 3}), "must be a FHIRPath string"),
        (
            view({"name": "id", "path": "id", "collection": "yes"}),
            "collection must be true or false",
        ),
        (
            {"resource": "Patient", "select": [{"forEach": "name", "forEachOrNull": "name"}]},
            "one of forEach, forEachOrNull, repeat",
        ),
        ({"resource": "Patient", "select": [{"columns": []}]}, "unknown key"),
        (view({"name": "id", "path": "id"}, where=[{"path": "(("}]), "where\\[0\\]|FHIRPath"),
        (
            view({"name": "id", "path": "id"}, constant=[{"name": "c", "valueString": 1}]),
            "wrong type",
        ),
    ],
)
def test_refuses_invalid_views_with_the_reason(bad_view: Any, reason: str) -> None:
    with pytest.raises(ViewDefinitionError, match=reason):
        validate_view(bad_view)


@pytest.mark.parametrize(
    "path",
    ["(1 >= active.exists()) & 'x'", "(false < 2.5) + true", "'a' * 'b'", "2.5 = 'x'", "1 & 'x'"],
)
def test_refuses_operators_on_operands_of_the_wrong_type(path: str) -> None:
    with pytest.raises(ViewDefinitionError, match="cannot take"):
        compile_view(view({"name": "x", "path": path}))


def test_refuses_undefined_constant() -> None:
    with pytest.raises(ViewDefinitionError, match="%nope"):
        compile_view(view({"name": "x", "path": "gender = %nope"}))


@pytest.mark.parametrize(
    ("path", "construct"),
    [
        ("name.distinct()", "distinct()"),
        ("name is HumanName", "'is'"),
    ],
)
def test_names_the_construct_it_does_not_compile(path: str, construct: str) -> None:
    with pytest.raises(ViewNotSupportedError, match=re.escape(construct)):
        compile_view(view({"name": "x", "path": path}))


def test_compiles_to_one_statement(con: duckdb.DuckDBPyConnection) -> None:
    compiled = compile_view(
        {
            "resource": "Patient",
            "select": [
                {"column": [{"name": "id", "path": "getResourceKey()"}]},
                {"forEachOrNull": "name", "column": [{"name": "family", "path": "family"}]},
            ],
        }
    )
    assert len(con.extract_statements(compiled.sql)) == 1
    rows = sorted(con.sql(compiled.sql).fetchall())
    assert rows == [('"p1"', '"Ng"'), ('"p2"', '"Lee"'), ('"p2"', '"Li"')]


def test_typed_columns_take_their_sql_type(con: duckdb.DuckDBPyConnection) -> None:
    v = view(
        {"name": "id", "path": "id", "type": "id"},
        {"name": "active", "path": "active", "type": "boolean"},
        {"name": "n_given", "path": "name.given.count()", "type": "integer"},
        {"name": "given", "path": "name.given", "type": "string", "collection": True},
        {"name": "birth", "path": "birthDate", "type": "date"},
        where=[{"path": "id = 'p1'"}],
    )
    rel = run_view(con, v, typed=True)
    assert rel.fetchall() == [("p1", True, 2, '["Ada","B"]', "1970-06-02")]
    assert [str(t) for t in rel.types][:3] == ["VARCHAR", "BOOLEAN", "BIGINT"]


def test_several_values_in_a_single_column_is_an_error_not_a_guess(
    con: duckdb.DuckDBPyConnection,
) -> None:
    with pytest.raises(duckdb.InvalidInputException, match="several values"):
        run_view(con, view({"name": "family", "path": "name.family"})).fetchall()


def test_oftype_on_a_plain_element_is_an_error_not_an_empty_result(
    con: duckdb.DuckDBPyConnection,
) -> None:
    v = view({"name": "x", "path": "name.ofType(HumanName).family", "collection": True})
    with pytest.raises(duckdb.InvalidInputException, match="not a choice element"):
        run_view(con, v).fetchall()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("name.family = 'Li'", {"p1": False, "p2": False}),
        ("name.family != 'Li'", {"p1": True, "p2": True}),
        ("name.family = 'Ng'", {"p1": True, "p2": False}),
        ("name.given.first() = name.given[0]", {"p1": True, "p2": None}),
    ],
)
def test_equality_on_collections_compares_whole_collections(
    con: duckdb.DuckDBPyConnection, path: str, expected: dict[str, bool | None]
) -> None:
    v = view(
        {"name": "id", "path": "id", "type": "id"}, {"name": "b", "path": path, "type": "boolean"}
    )
    assert dict(run_view(con, v, typed=True).fetchall()) == expected


def test_ordering_a_collection_is_an_error(con: duckdb.DuckDBPyConnection) -> None:
    v = view({"name": "b", "path": "name.family < 'M'"})
    with pytest.raises(duckdb.InvalidInputException, match="single values"):
        run_view(con, v).fetchall()


def test_where_must_give_a_boolean(con: duckdb.DuckDBPyConnection) -> None:
    v = view({"name": "id", "path": "id"}, where=[{"path": "name.family"}])
    with pytest.raises(duckdb.InvalidInputException, match="not a boolean"):
        run_view(con, v).fetchall()


def test_repeat_deeper_than_the_unrolled_depth_is_an_error(con: duckdb.DuckDBPyConnection) -> None:
    item: dict[str, Any] = {"linkId": "leaf"}
    for depth in range(12):
        item = {"linkId": f"l{depth}", "item": [item]}
    con.execute(
        "INSERT INTO resources VALUES (?)",
        [json.dumps({"resourceType": "QuestionnaireResponse", "id": "q", "item": [item]})],
    )
    v = {
        "resource": "QuestionnaireResponse",
        "select": [{"repeat": ["item"], "column": [{"name": "link", "path": "linkId"}]}],
    }
    with pytest.raises(duckdb.InvalidInputException, match="repeat nests deeper"):
        run_view(con, v).fetchall()


def test_for_each_or_null_keeps_a_null_row_when_a_nested_for_each_is_empty(
    con: duckdb.DuckDBPyConnection,
) -> None:
    v = {
        "resource": "Patient",
        "select": [
            {"column": [{"name": "id", "path": "id"}]},
            {
                "forEachOrNull": "contact",
                "select": [{"forEach": "telecom", "column": [{"name": "tel", "path": "value"}]}],
            },
        ],
    }
    assert sorted(run_view(con, v, typed=True).fetchall()) == [("p1", None), ("p2", None)]


_STEPS = st.sampled_from(
    ["name", "given", "family", "use", "active", "id", "birthDate", "value", "extension"]
)
_FUNCS = st.sampled_from(
    ["first()", "last()", "exists()", "empty()", "count()", "not()", "join(',')",
     "getResourceKey()", "getReferenceKey()", "ofType(string)", "where(use = 'official')",
     "extension('u')", "lowBoundary()"]
)  # fmt: skip
_LITERALS = st.sampled_from(["'Ng'", "1", "2.5", "true", "@2020-01", "%rowIndex"])


@st.composite
def _paths(draw: Any, depth: int = 0) -> str:
    kind = draw(st.integers(0, 3 if depth < 2 else 1))
    if kind == 0:
        return draw(_LITERALS)
    if kind == 1:
        parts = draw(st.lists(st.one_of(_STEPS, _FUNCS), min_size=1, max_size=4))
        path = ".".join(p for p in parts if p)
        return path + (f"[{draw(st.integers(0, 2))}]" if draw(st.booleans()) else "")
    op = draw(st.sampled_from(["=", "!=", "<", ">=", "and", "or", "+", "-", "*", "&", "implies"]))
    return f"({draw(_paths(depth + 1))} {op} {draw(_paths(depth + 1))})"


@settings(max_examples=120, deadline=None)
@given(_paths())
def test_any_compiled_path_binds_in_duckdb(path: str) -> None:
    """A path compiles to SQL DuckDB accepts, or is refused; never a binder error."""
    c = duckdb.connect()
    c.execute("CREATE TABLE resources (resource VARCHAR)")
    c.executemany("INSERT INTO resources VALUES (?)", [(json.dumps(r),) for r in PATIENTS])
    v = view({"name": "x", "path": path, "collection": True})
    try:
        sql = compile_view(v).sql
    except (ViewDefinitionError, ViewNotSupportedError):
        return
    # A run-time refusal raised by the statement itself (error()) is allowed.
    with contextlib.suppress(duckdb.InvalidInputException):
        c.sql(sql).fetchall()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("birthDate.lowBoundary()", ["1970-06-02"]),
        ("name.given.lowBoundary()", []),
        ("name.family.highBoundary()", []),
    ],
)
def test_boundaries_of_values_that_are_not_dates_or_numbers_are_empty(
    con: duckdb.DuckDBPyConnection, path: str, expected: list[str]
) -> None:
    v = view({"name": "b", "path": path, "collection": True}, where=[{"path": "id = 'p1'"}])
    assert [json.loads(r[0]) for r in run_view(con, v).fetchall()] == [expected]


def test_only_rows_of_the_view_resource_type(con: duckdb.DuckDBPyConnection) -> None:
    v = {"resource": "Observation", "select": [{"column": [{"name": "id", "path": "id"}]}]}
    assert run_view(con, v, typed=True).fetchall() == [("o1",)]
