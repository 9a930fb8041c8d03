"""Profiling of customer-data tables stored in a DuckDB workspace.

Two levels of detail:

* ``quick_profile``: one row per column, computed in SQL (``SUMMARIZE`` plus one statement for
  the rest), instant at any size. ``value_distribution`` and ``length_histogram`` feed the
  charts of one column; ``compare_profiles`` checks a refreshed source against its previous
  version.
* ``full_report_html``: the data-profiling HTML report on a sample, self-contained and
  working offline.

``table`` arguments are relation names that are ALREADY quoted (``raw."s1_v2"``); ``column``
arguments are raw column names, quoted here. Nothing in this module logs data values.
"""
from __future__ import annotations

import contextlib
import io
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from cdp_core.sqlutil import quote_ident
from cdp_core.workspace import Workspace

ProgressCallback = Callable[[float, str], None]

_PROFILE_COLUMNS = (
    "column", "type", "rows", "non_null", "null_pct", "distinct", "distinct_pct", "min", "max",
    "mean", "top_value", "top_count", "min_length", "max_length", "example",
)
_COMPARE_COLUMNS = (
    "column", "status", "type_a", "type_b", "rows_a", "rows_b",
    "null_pct_a", "null_pct_b", "distinct_a", "distinct_b",
)

_NUMERIC_TYPES = frozenset({
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
    "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE",
})
# Besides numbers and ENUMs, the types handed to pandas as they are for the full report; any
# other (nested, UUID, BLOB, TIME...) is cast to VARCHAR: the library sees plain hashable text.
_REPORT_NATIVE_TYPES = frozenset({
    "BOOLEAN", "DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS",
    "TIMESTAMP WITH TIME ZONE", "VARCHAR",
})
# Fields computed per column by the one statement of _column_stats_sql, in its order.
_STAT_FIELDS = ("non_null", "top_value", "top_count", "min_length", "max_length", "example")
# A text column is shown as categorical in the full report under the library's own thresholds.
_CATEGORY_MAX_DISTINCT = 50
_CATEGORY_MAX_RATIO = 0.5
_SAMPLE_SEED = 42
# The library keeps global matplotlib state: one report at a time per process.
_REPORT_LOCK = threading.Lock()


@dataclass(frozen=True)
class FullReport:
    """A full HTML profiling report and how it was sampled."""

    html: str  # self-contained HTML: assets inlined, works offline
    rows_total: int
    rows_sampled: int
    minimal: bool


# --- SQL builders (pure) --------------------------------------------------------------------

def _is_numeric(type_name: str) -> bool:
    """Tell whether a DuckDB type name is numeric.

    Example:
        >>> _is_numeric("DECIMAL(10,2)"), _is_numeric("VARCHAR")
        (True, False)
    """
    return type_name in _NUMERIC_TYPES or type_name.startswith("DECIMAL")


def _is_native_in_report(type_name: str) -> bool:
    """Tell whether a column goes to the full report with its own type rather than as text."""
    return (
        _is_numeric(type_name) or type_name.startswith("ENUM") or type_name in _REPORT_NATIVE_TYPES
    )


def _summarize_sql(table: str) -> str:
    return f"SUMMARIZE {table}"


def _describe_sql(table: str) -> str:
    return f"SELECT column_name, column_type FROM (DESCRIBE {table})"  # noqa: S608


def _count_sql(table: str) -> str:
    return f"SELECT count(*) FROM {table}"  # noqa: S608


def _column_stat_exprs(index: int, name: str, type_name: str) -> tuple[str, ...]:
    """Aggregates of one column, in the order of ``_STAT_FIELDS``; ``top_{index}`` is its top."""
    col, top = quote_ident(name), f"top_{index}"
    length = (
        (f"min(length({col}))", f"max(length({col}))")
        if type_name == "VARCHAR" else ("NULL", "NULL")
    )
    return (
        f"count({col})",
        f"CAST(any_value({top}) AS VARCHAR)",
        f"coalesce(count_if({col} = {top}), 0)",
        *length,
        f"CAST(any_value({col}) AS VARCHAR)",
    )


def _column_stats_sql(table: str, columns: Sequence[tuple[str, str]]) -> str:
    """One statement, two scans: approximate top values, then counts, lengths and an example.

    Example:
        >>> print(_column_stats_sql("t", [("a", "INTEGER")]))
        WITH tops AS (SELECT approx_top_k("a", 1)[1] AS top_0 FROM t)
        SELECT count("a"), CAST(any_value(top_0) AS VARCHAR), coalesce(count_if("a" = top_0), 0), NULL, NULL, CAST(any_value("a") AS VARCHAR)
        FROM t CROSS JOIN tops
    """  # noqa: E501
    tops = ", ".join(
        f"approx_top_k({quote_ident(name)}, 1)[1] AS top_{i}" for i, (name, _) in enumerate(columns)
    )
    stats = ", ".join(
        expr for i, (name, type_name) in enumerate(columns)
        for expr in _column_stat_exprs(i, name, type_name)
    )
    return (
        f"WITH tops AS (SELECT {tops} FROM {table})\n"  # noqa: S608
        f"SELECT {stats}\n"
        f"FROM {table} CROSS JOIN tops"
    )


def _value_distribution_sql(table: str, column: str) -> str:
    """Top values of a column as text (NULL kept), most frequent first; takes the limit."""
    col = quote_ident(column)
    return (
        f"SELECT CAST({col} AS VARCHAR) AS value, count(*) AS count, "  # noqa: S608
        f"100.0 * count(*) / sum(count(*)) OVER () AS pct "
        f"FROM {table} GROUP BY {col} ORDER BY 2 DESC, {col} NULLS LAST LIMIT ?"
    )


def _length_histogram_sql(table: str, column: str) -> str:
    """Equal-width bins of text lengths, empty bins included; takes the number of bins."""
    col = quote_ident(column)
    return f"""
WITH lengths AS (
    SELECT length(CAST({col} AS VARCHAR)) AS len FROM {table} WHERE {col} IS NOT NULL
), bounds AS (
    SELECT min(len) AS lo, max(len) AS hi, count(*) AS n,
           CAST(ceil((max(len) - min(len) + 1) / ?) AS BIGINT) AS width
    FROM lengths HAVING count(*) > 0
), counts AS (
    SELECT (len - lo) // width AS bin, count(*) AS count FROM lengths, bounds GROUP BY bin
)
SELECT lo + bin * width AS length_from, least(hi, lo + bin * width + width - 1) AS length_to,
       coalesce(count, 0) AS count, 100.0 * coalesce(count, 0) / n AS pct
FROM bounds, range((hi - lo) // width + 1) AS r(bin) LEFT JOIN counts USING (bin)
ORDER BY bin"""  # noqa: S608


def _sample_sql(table: str, columns: Sequence[tuple[str, str]], sample_rows: int | None) -> str:
    """Rows for the full report: reservoir sample of ``sample_rows`` rows, or all when None.

    Example:
        >>> _sample_sql("t", [("id", "UUID"), ("n", "INTEGER")], 10)
        'SELECT CAST("id" AS VARCHAR) AS "id", "n" FROM t USING SAMPLE reservoir(10 ROWS) REPEATABLE (42)'
    """  # noqa: E501
    projection = ", ".join(
        quote_ident(name) if _is_native_in_report(type_name)
        else f"CAST({quote_ident(name)} AS VARCHAR) AS {quote_ident(name)}"
        for name, type_name in columns
    )
    # DuckDB accepts only constants in a sample clause: an int() is the one value written here.
    sampling = (
        f" USING SAMPLE reservoir({int(sample_rows)} ROWS) REPEATABLE ({_SAMPLE_SEED})"
        if sample_rows is not None else ""
    )
    return f"SELECT {projection} FROM {table}{sampling}"  # noqa: S608


def _run(
    cur: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None
) -> duckdb.DuckDBPyConnection:
    """Execute one statement of this module: the single place where its SQL reaches DuckDB."""
    return cur.execute(sql, params)


# --- Quick profile ----------------------------------------------------------------------------

def _pct(part: pd.Series, whole: pd.Series) -> pd.Series:
    """Percentage of ``part`` in ``whole``, NaN where ``whole`` is 0."""
    return 100.0 * part / whole.where(whole > 0)


def quick_profile(cur: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    """Profile every column of a table in SQL: one row per column, in table order.

    ``min``, ``max``, ``top_value`` and ``example`` are text as DuckDB renders them; ``distinct``
    is approximate (HyperLogLog) and so is the choice of ``top_value`` when counts are close, but
    ``top_count`` is its exact count. Percentages are NaN for an empty table; ``distinct_pct``
    is relative to the non-null values (100 means a key). Lengths are for VARCHAR columns only.

    Example:
        >>> con = duckdb.connect()
        >>> _ = con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('a'), ('a'), (NULL)) v(x)")
        >>> quick_profile(con, "t")[["column", "null_pct", "top_value", "top_count"]].to_dict("records")
        [{'column': 'x', 'null_pct': 33.333333333333336, 'top_value': 'a', 'top_count': 2}]
    """  # noqa: E501
    summary = _run(cur, _summarize_sql(table)).df()
    columns = list(zip(summary["column_name"], summary["column_type"], strict=True))
    values = _run(cur, _column_stats_sql(table, columns)).fetchone()
    width = len(_STAT_FIELDS)
    stats = pd.DataFrame(
        [values[i:i + width] for i in range(0, len(values), width)], columns=list(_STAT_FIELDS)
    )
    rows = summary["count"].astype("int64")
    non_null = stats["non_null"].astype("int64")
    distinct = summary["approx_unique"].astype("int64").clip(upper=non_null)
    numeric = summary["column_type"].map(_is_numeric).astype(bool)
    profile = pd.DataFrame({
        "column": summary["column_name"],
        "type": summary["column_type"],
        "rows": rows,
        "non_null": non_null,
        "null_pct": _pct(rows - non_null, rows),
        "distinct": distinct,
        "distinct_pct": _pct(distinct, non_null),
        "min": summary["min"],
        "max": summary["max"],
        "mean": pd.to_numeric(summary["avg"].where(numeric), errors="coerce").astype(float),
        "top_value": stats["top_value"],
        "top_count": stats["top_count"].astype("int64"),
        "min_length": stats["min_length"].astype("Int64"),
        "max_length": stats["max_length"].astype("Int64"),
        "example": stats["example"],
    })
    return profile[list(_PROFILE_COLUMNS)]


def value_distribution(
    cur: duckdb.DuckDBPyConnection, table: str, column: str, limit: int = 20
) -> pd.DataFrame:
    """Most frequent values of a column: ``value`` (text, NULL as None), ``count``, ``pct``.

    ``pct`` is relative to all rows, NULLs included.

    Example:
        >>> con = duckdb.connect()
        >>> _ = con.execute("CREATE TABLE t AS SELECT * FROM (VALUES (1), (1), (NULL)) v(x)")
        >>> value_distribution(con, "t", "x")["value"].tolist()
        ['1', None]
    """
    return _run(cur, _value_distribution_sql(table, column), [limit]).df()


def length_histogram(
    cur: duckdb.DuckDBPyConnection, table: str, column: str, bins: int = 20
) -> pd.DataFrame:
    """Histogram of the text lengths of a column's non-null values, for charts.

    Columns ``length_from``, ``length_to`` (inclusive bounds), ``count``, ``pct`` (of non-null
    values). At most ``bins`` equal-width bins from the shortest to the longest length, empty
    bins included; one bin per length when there are no more distinct lengths than ``bins``.
    No rows when the column has no value.

    Example:
        >>> con = duckdb.connect()
        >>> _ = con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('ab'), ('abcd')) v(x)")
        >>> length_histogram(con, "t", "x")[["length_from", "count"]].values.tolist()
        [[2, 1], [3, 0], [4, 1]]
    """
    if bins < 1:
        raise ValueError("bins must be at least 1")
    return _run(cur, _length_histogram_sql(table, column), [bins]).df()


def compare_profiles(cur: duckdb.DuckDBPyConnection, table_a: str, table_b: str) -> pd.DataFrame:
    """Compare two versions of a source (A before, B after), one row per column of either.

    ``status`` is "added" (only in B), "removed" (only in A), "type changed" or "same"; the
    figures of a version lacking the column are missing. Columns of A come first, in order,
    then those added in B.
    """
    compared = ["type", "rows", "null_pct", "distinct"]
    a = quick_profile(cur, table_a).set_index("column")[compared]
    b = quick_profile(cur, table_b).set_index("column")[compared]
    order = [*a.index, *b.index.difference(a.index, sort=False)]
    both = a.add_suffix("_a").join(b.add_suffix("_b"), how="outer").reindex(order)
    both["status"] = np.select(
        [both["type_a"].isna(), both["type_b"].isna(), both["type_a"] != both["type_b"]],
        ["added", "removed", "type changed"],
        default="same",
    )
    for name in ("rows_a", "rows_b", "distinct_a", "distinct_b"):
        both[name] = both[name].astype("Int64")
    return both.rename_axis("column").reset_index()[list(_COMPARE_COLUMNS)]


# --- Full report --------------------------------------------------------------------------------

def _as_categories(sample: pd.DataFrame, text_columns: Iterable[str]) -> pd.DataFrame:
    """Mark low-cardinality text columns as pandas categories (in place), so that the report,
    which does not infer types here, shows them as categorical rather than free text."""
    for name in text_columns:
        values = sample[name].dropna()
        distinct = values.nunique()
        if 1 <= distinct <= _CATEGORY_MAX_DISTINCT and distinct < _CATEGORY_MAX_RATIO * len(values):
            sample[name] = sample[name].astype("category")
    return sample


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence warnings and the tqdm bars (written to stderr) while the library runs.

    Warnings are dropped whatever their category: some quote data values.
    """
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def _ignore_progress(fraction: float, message: str) -> None:
    """Progress callback used when the caller gives none."""


def full_report_html(
    cur: duckdb.DuckDBPyConnection,
    table: str,
    title: str,
    *,
    sample_rows: int = 10_000,
    minimal_above: int = 5_000,
    progress: ProgressCallback | None = None,
) -> FullReport:
    """Build the data-profiling HTML report of a table, on a sample.

    Tables larger than ``sample_rows`` are reservoir-sampled in DuckDB (repeatable); samples
    larger than ``minimal_above`` rows get the library's minimal mode. Column types come from
    DuckDB (no guessing: postcodes stored as text stay text); low-cardinality text columns are
    shown as categorical. The HTML inlines its scripts, styles and images: it works offline.
    ``progress`` receives increasing fractions from 0 to 1.0 with a short message. Reports are
    built one at a time per process (the library's plotting is not thread-safe).

    Example:
        >>> report = full_report_html(cur, 'raw."s1_v2"', "Source 1, version 2")  # doctest: +SKIP
        >>> report.minimal, report.rows_sampled  # doctest: +SKIP
        (True, 10000)

    Raises:
        ValueError: the table is empty, or ``sample_rows`` is below 1.
    """
    notify = progress or _ignore_progress
    if sample_rows < 1:
        raise ValueError("sample_rows must be at least 1")
    notify(0.0, "Counting rows")
    rows_total = _run(cur, _count_sql(table)).fetchone()[0]
    if rows_total == 0:
        raise ValueError("the table is empty: there is nothing to report on")
    sampled = rows_total > sample_rows
    notify(0.05, f"Sampling {sample_rows:,} of {rows_total:,} rows" if sampled
           else f"Reading {rows_total:,} rows")
    columns = _run(cur, _describe_sql(table)).fetchall()
    sample = _run(cur, _sample_sql(table, columns, sample_rows if sampled else None)).df()
    _as_categories(sample, [name for name, type_name in columns if type_name == "VARCHAR"])
    minimal = len(sample) > minimal_above
    with _REPORT_LOCK, _quiet():
        notify(0.1, "Loading the profiling library")
        from data_profiling import ProfileReport

        profile = ProfileReport(
            sample,
            title=title,
            minimal=minimal,
            infer_dtypes=False,
            progress_bar=False,
            html={"inline": True, "use_local_assets": True},
        )
        notify(0.2, "Profiling the columns")
        profile.get_description()
        notify(0.6, "Building the report")
        _ = profile.report
        notify(0.9, "Rendering the HTML")
        html = profile.to_html()
    notify(1.0, "Done")
    return FullReport(html=html, rows_total=rows_total, rows_sampled=len(sample), minimal=minimal)


def save_report(ws: Workspace, source_id: int, version: int, report: FullReport) -> None:
    """Keep a version's full report in the workspace (one per version, the latest wins)."""
    with ws.transaction() as cur:
        cur.execute("DELETE FROM meta.profile_reports WHERE source_id = ? AND version = ?",
                    [source_id, version])
        cur.execute("INSERT INTO meta.profile_reports (source_id, version, rows_total, "
                    "rows_sampled, minimal, html) VALUES (?, ?, ?, ?, ?, ?)",
                    [source_id, version, report.rows_total, report.rows_sampled, report.minimal,
                     report.html])


def stored_report(cur: duckdb.DuckDBPyConnection, source_id: int, version: int) -> str | None:
    """The HTML of a version's stored full report, if one was built."""
    row = cur.execute("SELECT html FROM meta.profile_reports WHERE source_id = ? AND version = ?",
                      [source_id, version]).fetchone()
    return row[0] if row else None
