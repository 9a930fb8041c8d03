"""Tests of cdp_core.profiling: what an analyst reads in a profile, on small DuckDB tables."""
from __future__ import annotations

import math
import re
import time

import duckdb
import pandas as pd
import pytest

from cdp_core.profiling import (
    FullReport,
    compare_profiles,
    full_report_html,
    length_histogram,
    quick_profile,
    value_distribution,
)
from cdp_core.sqlutil import quote_ident

HOSTILE = 'nom "client"; DROP TABLE x; --'

CUSTOMERS = """
CREATE TABLE customers AS SELECT * FROM (VALUES
    ('C1', 'Paris', DATE '1980-05-01', 10.5, '75001', 3),
    ('C2', 'Paris', DATE '1975-01-31', 20.0, '75002', NULL),
    ('C3', 'Lyon',  DATE '1990-12-24', 30.5, '69001', 1),
    ('C4', 'Paris', NULL,              NULL, '750',   2),
    ('C5', NULL,    DATE '2001-07-14', 39.0, '13001', 2),
    ('C6', 'Lyon',  DATE '1968-03-02', 0.0,  NULL,    2)
) v(customer_id, city, birth_date, spent, postcode, orders)
"""


@pytest.fixture
def cur() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(CUSTOMERS)
    return con.cursor()


def by_column(profile: pd.DataFrame) -> dict[str, dict]:
    return {row["column"]: row for row in profile.to_dict("records")}


def test_quick_profile_gives_what_an_analyst_checks(cur: duckdb.DuckDBPyConnection) -> None:
    profile = quick_profile(cur, "customers")
    assert list(profile["column"]) == [
        "customer_id", "city", "birth_date", "spent", "postcode", "orders",
    ]
    assert list(profile.columns) == [
        "column", "type", "rows", "non_null", "null_pct", "distinct", "distinct_pct", "min",
        "max", "mean", "top_value", "top_count", "min_length", "max_length", "example",
    ]
    stats = by_column(profile)
    assert set(profile["rows"]) == {6}

    city = stats["city"]
    assert (city["type"], city["non_null"], city["distinct"]) == ("VARCHAR", 5, 2)
    assert city["null_pct"] == pytest.approx(100 / 6)
    assert city["distinct_pct"] == pytest.approx(40.0)
    assert (city["top_value"], city["top_count"]) == ("Paris", 3)
    assert (city["min"], city["max"]) == ("Lyon", "Paris")
    assert math.isnan(city["mean"])

    birth = stats["birth_date"]
    assert (birth["type"], birth["min"], birth["max"]) == ("DATE", "1968-03-02", "2001-07-14")
    assert math.isnan(birth["mean"])
    assert pd.isna(birth["min_length"]) and pd.isna(birth["max_length"])

    spent = stats["spent"]
    assert float(spent["min"]) == 0.0 and float(spent["max"]) == 39.0
    assert spent["mean"] == pytest.approx(20.0)

    orders = stats["orders"]
    assert (orders["top_value"], orders["top_count"]) == ("2", 3)
    assert orders["mean"] == pytest.approx(2.0)

    postcode = stats["postcode"]
    assert (postcode["min_length"], postcode["max_length"]) == (3, 5)
    assert postcode["null_pct"] == pytest.approx(100 / 6)

    key = stats["customer_id"]
    assert (key["distinct"], key["distinct_pct"], key["null_pct"]) == (6, 100.0, 0.0)
    assert key["example"] in {f"C{i}" for i in range(1, 7)}


def test_hostile_column_name_is_profiled_safely() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE x AS SELECT 1 AS keep")
    con.execute(f"CREATE TABLE t ({quote_ident(HOSTILE)} VARCHAR, {quote_ident('a b')} INTEGER)")
    con.execute("INSERT INTO t VALUES ('ab', 1), ('ab', 2), (NULL, 2)")
    cur = con.cursor()

    stats = by_column(quick_profile(cur, "t"))
    assert stats[HOSTILE]["top_value"] == "ab" and stats[HOSTILE]["top_count"] == 2
    assert stats[HOSTILE]["null_pct"] == pytest.approx(100 / 3)
    assert stats["a b"]["max"] == "2"
    assert value_distribution(cur, "t", HOSTILE)["value"].tolist() == ["ab", None]
    assert length_histogram(cur, "t", HOSTILE)["length_from"].tolist() == [2]

    tables = {name for (name,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert tables == {"t", "x"}


def test_schema_qualified_quoted_table_name() -> None:
    con = duckdb.connect()
    con.execute('CREATE SCHEMA raw; CREATE TABLE raw."s1 v2" AS SELECT 1 AS id')
    profile = quick_profile(con.cursor(), 'raw."s1 v2"')
    assert profile["rows"].tolist() == [1]


def test_empty_table_gives_rows_zero() -> None:
    cur = duckdb.connect()
    cur.execute("CREATE TABLE e (name VARCHAR, born DATE, n INTEGER)")
    profile = quick_profile(cur, "e")
    assert profile["column"].tolist() == ["name", "born", "n"]
    assert profile["rows"].tolist() == [0, 0, 0]
    assert profile["non_null"].tolist() == [0, 0, 0]
    assert profile["top_count"].tolist() == [0, 0, 0]
    assert profile["null_pct"].isna().all() and profile["top_value"].isna().all()
    assert value_distribution(cur, "e", "name").empty
    assert length_histogram(cur, "e", "name").empty
    with pytest.raises(ValueError, match="empty"):
        full_report_html(cur, "e", "Empty")


def test_all_null_column() -> None:
    cur = duckdb.connect()
    cur.execute("CREATE TABLE t AS SELECT i AS id, NULL::VARCHAR AS fax FROM range(5) r(i)")
    fax = by_column(quick_profile(cur, "t"))["fax"]
    assert (fax["null_pct"], fax["distinct"], fax["top_count"]) == (100.0, 0, 0)
    assert fax["top_value"] is None and fax["example"] is None
    assert pd.isna(fax["min_length"]) and math.isnan(fax["distinct_pct"])


def test_wide_table() -> None:
    cur = duckdb.connect()
    columns = ", ".join(f"(i * {k})::VARCHAR AS {quote_ident(f'col {k}')}" for k in range(400))
    cur.execute(f"CREATE TABLE w AS SELECT {columns} FROM range(200) r(i)")  # noqa: S608
    started = time.perf_counter()
    profile = quick_profile(cur, "w")
    assert time.perf_counter() - started < 20
    assert profile["column"].tolist() == [f"col {k}" for k in range(400)]
    assert profile["non_null"].eq(200).all()
    assert profile.loc[0, "top_count"] == 200  # col 0 is all "0"


def test_value_distribution(cur: duckdb.DuckDBPyConnection) -> None:
    dist = value_distribution(cur, "customers", "city")
    assert list(dist.columns) == ["value", "count", "pct"]
    assert dist["value"].tolist() == ["Paris", "Lyon", None]
    assert dist["count"].tolist() == [3, 2, 1]
    assert dist["pct"].tolist() == pytest.approx([50.0, 100 / 3, 100 / 6])
    top = value_distribution(cur, "customers", "orders", limit=1)
    assert top[["value", "count"]].values.tolist() == [["2", 3]]


def test_length_histogram() -> None:
    cur = duckdb.connect()
    cur.execute(
        "CREATE TABLE t AS SELECT * FROM "
        "(VALUES ('a'), ('abc'), ('abc'), ('abcdefghij'), (NULL)) v(code)"
    )
    exact = length_histogram(cur, "t", "code")
    assert list(exact.columns) == ["length_from", "length_to", "count", "pct"]
    assert exact["length_from"].tolist() == list(range(1, 11))
    assert exact["length_to"].tolist() == list(range(1, 11))
    assert exact.set_index("length_from")["count"].to_dict() == {
        1: 1, 2: 0, 3: 2, 4: 0, 5: 0, 6: 0, 7: 0, 8: 0, 9: 0, 10: 1,
    }
    binned = length_histogram(cur, "t", "code", bins=3)
    assert binned[["length_from", "length_to", "count"]].values.tolist() == [
        [1, 4, 3], [5, 8, 0], [9, 10, 1],
    ]
    assert binned["pct"].sum() == pytest.approx(100.0)


def test_compare_profiles_flags_what_changed(cur: duckdb.DuckDBPyConnection) -> None:
    cur.execute(
        "CREATE TABLE customers_v2 AS SELECT customer_id, city, CAST(birth_date AS VARCHAR) "
        "AS birth_date, spent, orders, 'web' AS channel FROM customers "
        "UNION ALL SELECT 'C7', 'Nice', '1999-01-01', 5.0, 1, 'store'"
    )
    diff = compare_profiles(cur, "customers", "customers_v2")
    assert list(diff.columns) == [
        "column", "status", "type_a", "type_b", "rows_a", "rows_b",
        "null_pct_a", "null_pct_b", "distinct_a", "distinct_b",
    ]
    status = dict(zip(diff["column"], diff["status"], strict=True))
    assert status == {
        "customer_id": "same", "city": "same", "birth_date": "type changed", "spent": "same",
        "postcode": "removed", "orders": "same", "channel": "added",
    }
    city = diff.set_index("column").loc["city"]
    assert (city["rows_a"], city["rows_b"]) == (6, 7)
    assert (city["distinct_a"], city["distinct_b"]) == (2, 3)
    assert city["null_pct_b"] == pytest.approx(100 / 7)
    added = diff.set_index("column").loc["channel"]
    assert pd.isna(added["type_a"]) and pd.isna(added["rows_a"]) and added["rows_b"] == 7


@pytest.fixture(scope="module")
def source() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("""
        CREATE SCHEMA raw;
        CREATE TABLE raw."s1_v2" AS SELECT
            'C' || i AS customer_id,
            ['Paris', 'Lyon', 'Nice'][1 + i % 3] AS city,
            lpad((1000 + i * 37 % 90000)::VARCHAR, 5, '0') AS postcode,
            DATE '1950-01-01' + (i * 37 % 20000)::INTEGER AS birth_date,
            (i % 50)::INTEGER AS orders
        FROM range(2000) r(i)
    """)
    return con


def test_full_report_html(
    source: duckdb.DuckDBPyConnection, capsys: pytest.CaptureFixture[str], recwarn: list
) -> None:
    events: list[tuple[float, str]] = []
    report = full_report_html(
        source.cursor(), 'raw."s1_v2"', "Customers source 1",
        progress=lambda fraction, message: events.append((fraction, message)),
    )
    assert isinstance(report, FullReport)
    assert (report.rows_total, report.rows_sampled, report.minimal) == (2000, 2000, False)
    for text in ("Customers source 1", "customer_id", "city", "postcode", "birth_date", "orders"):
        assert text in report.html
    # Works offline: no script or stylesheet fetched from the network.
    assert not re.search(r"<script[^>]*\ssrc=[\"']?https?:", report.html, re.IGNORECASE)
    assert not re.search(r"<link[^>]*\shref=[\"']?https?:", report.html, re.IGNORECASE)
    assert "<script" in report.html and "<style" in report.html  # assets are inlined

    fractions = [fraction for fraction, _ in events]
    assert len(fractions) >= 4 and fractions == sorted(set(fractions))
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert all(message for _, message in events)
    assert capsys.readouterr().err == "" and len(recwarn) == 0  # no tqdm bar, no warning


def test_full_report_samples_and_goes_minimal(source: duckdb.DuckDBPyConnection) -> None:
    report = full_report_html(
        source.cursor(), 'raw."s1_v2"', "Sampled", sample_rows=500, minimal_above=100
    )
    assert (report.rows_total, report.rows_sampled, report.minimal) == (2000, 500, True)
    assert "Sampled" in report.html and "postcode" in report.html
