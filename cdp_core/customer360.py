"""Customer 360: find a person from anything a customer service agent may hold, then see them whole.

A person is a cluster of matched profile records (``person_id`` = ``cluster_id``). Search reads
every source record of the match input, so an old e-mail kept by one source still finds the
person; it compares the query with the precomputed keys of the standardisation (same
normalisation, equality or prefix only), so it stays fast at millions of records. The person's
source records come from the standardised tables of the current versions and the timeline from
every event source whose customer reference points at one of those records.

Example:
    >>> query_kinds("06 12 34 56 78"), query_kinds("Jean Dupont")
    (('record_id', 'phone'), ('record_id', 'name'))
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import duckdb
import pandas as pd

from cdp_core import catalog, mapping
from cdp_core.sqlutil import quote_ident
from cdp_core.standardize import (
    email_key_sql,
    email_sql,
    name_key_sql,
    output_columns,
    phone_e164,
    phone_fast_e164_sql,
    phone_preclean_sql,
)
from cdp_core.workspace import CATALOG, Workspace

__all__ = [
    "CARD_FIELDS", "MATCH_KINDS", "RECORD_FIELDS", "SEARCH_COLUMNS", "SEARCH_KEYS",
    "SEARCH_PEOPLE", "TIMELINE_COLUMNS", "follow_clusters", "golden_profile", "has_people",
    "index_is_current", "person_records",
    "person_unique_ids", "prepare_search", "profile_card", "records_side_by_side", "search",
    "timeline", "timeline_summary",
]

# What a search hit matched, strongest first: its rank is its position.
MATCH_KINDS = ("person_id", "record_id", "email", "phone", "name")
SEARCH_COLUMNS = ("person_id", "name", "email", "phone", "city", "records", "sources",
                  "matched_on")
# The standardised profile fields a person sees (matching keys left out).
RECORD_FIELDS = tuple(c for c in output_columns() if not c.endswith("_key"))
TIMELINE_COLUMNS = ("event_at", "kind", "source", "channel", "amount", "detail", "event_id")
_PHONE_TEXT = re.compile(r"^[\d\s().+/-]+$")
_MIN_PHONE_DIGITS = 6
_MAX_NAME_TOKENS = 4


def _table_exists(cur: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(cur.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = ? "
                            "AND schema_name = ? AND table_name = ?",
                            [CATALOG, schema, table]).fetchone()[0])


def has_people(cur: duckdb.DuckDBPyConnection) -> bool:
    """Whether matching has run, so people (clusters) exist to search and show."""
    return _table_exists(cur, "match", "clusters") and _table_exists(cur, "match", "records")


def _one_value(cur: duckdb.DuckDBPyConnection, build: Callable[[str], str], text: str) -> Any:
    """The standardisation's own SQL rule applied to one value (passed as a parameter)."""
    return cur.execute(f"SELECT {build('q')} FROM (SELECT CAST(? AS VARCHAR) AS q)",  # noqa: S608
                       [text]).fetchone()[0]


# The search index: every record with its person and display values, sorted by person; and
# one row per searchable value of each record (its record id, e-mail key, phone and every word
# of its name keys), sorted by value. Sorted tables let equality and prefix lookups read one or
# two row groups instead of scanning the match input. A person's rows leave both on erasure
# like any table with a ``unique_id``.
SEARCH_PEOPLE = "match.search_people"
SEARCH_KEYS = "match.search_keys"
_PEOPLE_SQL = """
    SELECT c.cluster_id, r.unique_id, r.source_id, r.full_name, r.last_name, r.email, r.phone,
           r.city FROM match.records r JOIN match.clusters c USING (unique_id)
"""
_KEYS_SQL = """
    SELECT k.key, k.kind, k.unique_id, p.cluster_id FROM (
        SELECT record_id AS key, 'record_id' AS kind, unique_id FROM match.records
        WHERE record_id IS NOT NULL
        UNION ALL SELECT email_key, 'email', unique_id FROM match.records
        WHERE email_key IS NOT NULL
        UNION ALL SELECT phone, 'phone', unique_id FROM match.records WHERE phone IS NOT NULL
        UNION ALL SELECT DISTINCT word, 'name', unique_id FROM (
            SELECT unnest(string_split(concat_ws(' ', first_name_key, last_name_key), ' '))
                   AS word, unique_id FROM match.records) WHERE word <> ''
    ) k JOIN ({people}) p USING (unique_id)
"""
_AFTER_PREFIX = "\U0010ffff"  # sorts after any key starting with the prefix


def _clusters_state(cur: duckdb.DuckDBPyConnection) -> str:
    """What the clusters on file follow from: the last matching run and reviewers' decisions
    since (a decision or its undo re-partitions clusters between runs)."""
    run, decisions, undone = cur.execute(
        "SELECT (SELECT coalesce(max(run_id), 0) FROM meta.match_runs), count(*), "
        "count(*) FILTER (WHERE NOT active) FROM meta.cluster_decisions").fetchone()
    return f"run {run} decisions {decisions} undone {undone}"


def _index_is_current(cur: duckdb.DuckDBPyConnection) -> bool:
    """The index exists and was built from the clusters on file."""
    comments = dict(cur.execute(
        "SELECT table_name, comment FROM duckdb_tables() WHERE database_name = ? "
        "AND schema_name = 'match' AND table_name IN ('search_people', 'search_keys')",
        [CATALOG]).fetchall())
    state = _clusters_state(cur)
    return len(comments) == 2 and all(comment == state for comment in comments.values())


def index_is_current(cur: duckdb.DuckDBPyConnection) -> bool:
    """Whether the search index reflects the clusters on file (read it before a change)."""
    return _index_is_current(cur)


def follow_clusters(cur: duckdb.DuckDBPyConnection, unique_ids: list[str]) -> None:
    """Keep a current index current after a reviewer's decision moved these records between
    clusters: their rows take their new person id and the index its new state. Run inside
    the decision's transaction, and only if `index_is_current` was true before it."""
    for table in (SEARCH_PEOPLE, SEARCH_KEYS):
        cur.execute(f"UPDATE {table} SET cluster_id = c.cluster_id FROM match.clusters c "  # noqa: S608
                    f"WHERE {table}.unique_id = c.unique_id AND list_contains(?, c.unique_id)",
                    [unique_ids])
        # The state is built from integers only; COMMENT takes no parameters.
        cur.execute(f"COMMENT ON TABLE {table} IS '{_clusters_state(cur)}'")


def prepare_search(ws: Workspace) -> bool:
    """Build the search index after matching or a reviewer's decision (about 15 s per million
    records on two cores).

    Searching works without it, reading the match input directly; the index makes it fast.

    Returns:
        Whether the index was (re)built.
    """
    cur = ws.cursor()
    if not has_people(cur) or _index_is_current(cur):
        return False
    with ws.transaction() as tx:
        state = _clusters_state(tx)
        tx.execute(f"CREATE OR REPLACE TABLE {SEARCH_PEOPLE} AS {_PEOPLE_SQL} "  # noqa: S608
                   "ORDER BY cluster_id, unique_id")
        keys = _KEYS_SQL.format(people=f"SELECT * FROM {SEARCH_PEOPLE}")  # noqa: S608
        tx.execute(f"CREATE OR REPLACE TABLE {SEARCH_KEYS} AS {keys} ORDER BY key, kind")  # noqa: S608
        for table in (SEARCH_PEOPLE, SEARCH_KEYS):
            # The state is built from integers only; COMMENT takes no parameters.
            tx.execute(f"COMMENT ON TABLE {table} IS '{state}'")
    return True


def _phone_of(cur: duckdb.DuckDBPyConnection, text: str) -> str | None:
    """E.164 form of a phone however it is written ('06 12 34 56 78', '+33 6 12...'), or None."""
    if not _PHONE_TEXT.match(text) or sum(ch.isdigit() for ch in text) < _MIN_PHONE_DIGITS:
        return None
    cleaned = _one_value(cur, phone_preclean_sql, text)
    if cleaned is None:
        return None
    return _one_value(cur, phone_fast_e164_sql, cleaned) or phone_e164(cleaned)


def _hits_sql(cur: duckdb.DuckDBPyConnection, text: str) -> tuple[str, list[Any]]:
    """SELECT cluster_id, rank of the records the text finds in the relation ``keys``; rank is
    the position in `MATCH_KINDS` of the way it matched."""
    parts = ["SELECT cluster_id, 1 AS rank FROM keys WHERE kind = 'record_id' AND key = ?"]
    params: list[Any] = [text]
    email = _one_value(cur, lambda q: email_key_sql(email_sql(q)), text) if "@" in text else None
    if email:
        parts.append("SELECT cluster_id, 2 FROM keys WHERE kind = 'email' AND key = ?")
        params.append(email)
    phone = _phone_of(cur, text)
    if phone:
        parts.append("SELECT cluster_id, 3 FROM keys WHERE kind = 'phone' AND key = ?")
        params.append(phone)
    name_key = None if email else _one_value(cur, name_key_sql, text)
    tokens = list(dict.fromkeys(t for t in (name_key or "").split()
                                if any(ch.isalpha() for ch in t)))[:_MAX_NAME_TOKENS]
    if tokens:
        # Each word of the query starts a word of the same record's first or last name.
        starts = "(key >= ? AND key < ?)"
        bounds = [b for t in tokens for b in (t, t + _AFTER_PREFIX)]
        parts.append(
            "SELECT any_value(cluster_id), 4 FROM keys WHERE kind = 'name' "  # noqa: S608
            f"AND ({' OR '.join([starts] * len(tokens))}) GROUP BY unique_id "
            f"HAVING {' AND '.join([f'bool_or{starts}'] * len(tokens))}")
        params += bounds + bounds
    return " UNION ALL ".join(parts), params


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=object) for column in columns})


def search(cur: duckdb.DuckDBPyConnection, query: str, limit: int = 20) -> pd.DataFrame:
    """People whose records match a name, e-mail, phone, person id or source record id.

    Names match word by word on prefixes of the name keys ("jean dup" finds Jean-Pierre
    Dupont), e-mails exactly (case and ``+tags`` ignored), phones on their E.164 form however
    they are written. Uses the index of `prepare_search` when it is current.

    Returns:
        One row per person, best matches first: person_id, a display name, email, phone and
        city (their most frequent values), the numbers of records and sources, and
        ``matched_on`` (one of `MATCH_KINDS`, the strongest way the person matched). Empty
        for a blank query or before matching.
    """
    text = (query or "").strip()
    if not text or not has_people(cur):
        return _empty(SEARCH_COLUMNS)
    if _index_is_current(cur):
        people = f"SELECT * FROM {SEARCH_PEOPLE}"  # noqa: S608
        keys = f"SELECT * FROM {SEARCH_KEYS}"  # noqa: S608
    else:
        people, keys = _PEOPLE_SQL, _KEYS_SQL.format(people=_PEOPLE_SQL)
    hits, params = _hits_sql(cur, text)
    best = cur.execute(
        f"WITH keys AS ({keys}), hits AS ({hits}), "  # noqa: S608
        f"found AS (SELECT * FROM hits UNION ALL "
        f"SELECT cluster_id, 0 FROM ({people}) WHERE cluster_id = ?) "
        "SELECT cluster_id, min(rank) AS rank, count(*) AS hits FROM found "
        "GROUP BY cluster_id ORDER BY rank, hits DESC, cluster_id LIMIT ?",
        [*params, text, int(limit)]).fetchall()
    if not best:
        return _empty(SEARCH_COLUMNS)
    # The chosen people's rows, read by an IN list of constants: the sorted index then reads
    # only their row groups.
    ranked = pd.DataFrame(best, columns=["person_id", "rank", "hits"])
    marks = ", ".join("?" * len(best))
    shown = cur.execute(
        "SELECT cluster_id AS person_id, "  # noqa: S608
        "coalesce(mode(full_name) FILTER (WHERE last_name IS NOT NULL), mode(full_name)) "
        "AS name, mode(email) AS email, mode(phone) AS phone, mode(city) AS city, "
        "count(*) AS records, count(DISTINCT source_id) AS sources "
        f"FROM ({people}) WHERE cluster_id IN ({marks}) GROUP BY cluster_id",
        list(ranked["person_id"])).df()
    found = ranked.merge(shown, on="person_id").sort_values(
        ["rank", "hits", "name", "person_id"], ascending=[True, False, True, True])
    found["matched_on"] = [MATCH_KINDS[rank] for rank in found["rank"]]
    return found[list(SEARCH_COLUMNS)].reset_index(drop=True)


def person_unique_ids(cur: duckdb.DuckDBPyConnection, person_id: str) -> list[str]:
    """The unique ids ('<source_id>:<record_id>') of the person's matched records."""
    return [row[0] for row in cur.execute(
        "SELECT unique_id FROM match.clusters WHERE cluster_id = ? ORDER BY unique_id",
        [person_id]).fetchall()]


def _union(frames_sql: list[tuple[str, list[Any]]], order: str) -> str:
    return " UNION ALL BY NAME ".join(f"({sql})" for sql, _ in frames_sql) + f" ORDER BY {order}"


def _run_union(cur: duckdb.DuckDBPyConnection, selects: list[tuple[str, list[Any]]],
               order: str, columns: tuple[str, ...]) -> pd.DataFrame:
    if not selects:
        return _empty(columns)
    frame = cur.execute(_union(selects, order), [p for _, ps in selects for p in ps]).df()
    return frame[[c for c in columns if c in frame.columns]]


def _std_columns(cur: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [row[0] for row in cur.execute(f"DESCRIBE {table}").fetchall()]


_OF_PERSON = ("IN (SELECT record_id FROM match.clusters WHERE cluster_id = ? "
              "AND source = ?)")


def person_records(cur: duckdb.DuckDBPyConnection, person_id: str) -> pd.DataFrame:
    """Every standardised profile record behind the person, in the current versions.

    Returns:
        source, record_id and the canonical fields (`RECORD_FIELDS`), by source then record.
    """
    if not has_people(cur):
        return _empty(RECORD_FIELDS)
    selects = []
    for source in catalog.all_sources(cur):
        if source.kind != mapping.PROFILE_KIND:
            continue
        _, std_table = catalog.table_names(source.source_id,
                                           catalog.current_version(cur, source.source_id))
        present = set(_std_columns(cur, std_table))
        picked = ", ".join(quote_ident(c) for c in RECORD_FIELDS if c in present)
        selects.append((f"SELECT {picked} FROM {std_table} "  # noqa: S608
                        f"WHERE record_id {_OF_PERSON}", [person_id, source.name]))
    return _run_union(cur, selects, "source, record_id", RECORD_FIELDS)


def _detail_sql(extras: list[str]) -> tuple[str, list[Any]]:
    """'name: value · name: value' of the extra columns; the names travel as parameters."""
    if not extras:
        return "CAST(NULL AS VARCHAR)", []
    parts = [f"CASE WHEN {quote_ident(c)} IS NOT NULL THEN ? || ': ' || "
             f"CAST({quote_ident(c)} AS VARCHAR) END" for c in extras]
    return f"NULLIF(concat_ws(' · ', {', '.join(parts)}), '')", list(extras)


def timeline(cur: duckdb.DuckDBPyConnection, person_id: str) -> pd.DataFrame:
    """Every event of the person across the event sources' current versions, newest first.

    An event belongs to the person when its ``customer_ref`` is the record id of one of their
    records in the event source's profile source.

    Returns:
        event_at, kind (orders, carts, contacts, campaign_sends), source, channel, amount,
        detail (the source's extra columns as 'name: value', e.g. a campaign and its group)
        and event_id.
    """
    if not has_people(cur):
        return _empty(TIMELINE_COLUMNS)
    base = set(output_columns(events=True))
    selects = []
    for source in catalog.all_sources(cur):
        if source.kind == mapping.PROFILE_KIND or not source.profile_source:
            continue
        _, std_table = catalog.table_names(source.source_id,
                                           catalog.current_version(cur, source.source_id))
        extras = [c for c in _std_columns(cur, std_table) if c not in base]
        detail, detail_params = _detail_sql(extras)
        selects.append((
            f"SELECT event_at, CAST(? AS VARCHAR) AS kind, source, channel, amount, "  # noqa: S608
            f"{detail} AS detail, event_id FROM {std_table} WHERE customer_ref {_OF_PERSON}",
            [source.kind, *detail_params, person_id, source.profile_source]))
    return _run_union(cur, selects, "event_at DESC NULLS LAST, source, event_id",
                      TIMELINE_COLUMNS)


def timeline_summary(events: pd.DataFrame) -> dict[str, Any]:
    """The figures a marketer reads first: orders, revenue, last order, carts, contacts with
    customer service and campaign messages received."""
    orders = events[events["kind"] == "orders"]
    counts = events["kind"].value_counts()
    return {
        "orders": len(orders),
        "revenue": float(orders["amount"].sum()) if len(orders) else 0.0,
        "last_order": orders["event_at"].max() if len(orders) else None,
        **{kind: int(counts.get(kind, 0)) for kind in ("carts", "contacts", "campaign_sends")},
    }


def records_side_by_side(records: pd.DataFrame) -> pd.DataFrame:
    """Fields as rows (the source first), one column per source record, for comparison.

    Columns are named by record id (by ``source:record id`` where two sources share one), so
    six records still fit a screen. Fields no record fills are left out; ``attrs['differs']``
    lists the fields whose filled values disagree between records.
    """
    fields = [c for c in RECORD_FIELDS if c != "record_id" and c in records]
    table = records[fields].astype(object).where(records[fields].notna(), None).T
    shared = records["record_id"].duplicated(keep=False)
    table.columns = [f"{s}:{r}" if both else r for s, r, both in zip(
        records["source"], records["record_id"], shared, strict=True)]
    table = table[table.notna().any(axis=1)]
    texts = table.drop(index="source").map(lambda v: None if v is None else str(v))
    table.attrs["differs"] = [f for f in texts.index if texts.loc[f].dropna().nunique() > 1]
    return table


def golden_profile(cur: duckdb.DuckDBPyConnection, person_id: str) -> dict[str, Any] | None:
    """The person's golden record when unified profiles are built, else None."""
    if not _table_exists(cur, "golden", "profiles"):
        return None
    # Imported here: golden profiles are optional, and the page works from the source records
    # until they are built.
    from cdp_core import golden

    return golden.profile_of(cur, person_id)


CARD_FIELDS = ("full_name", "email", "phone", "city", "consent_email", "consent_sms")


def profile_card(cur: duckdb.DuckDBPyConnection, person_id: str,
                 records: pd.DataFrame | None = None) -> dict[str, Any]:
    """The values to head the person's page: the golden record's when built, else (and for
    any field it lacks) the most frequent value of their source records.

    Returns:
        `CARD_FIELDS` plus ``golden``: whether a golden record was found.
    """
    held = person_records(cur, person_id) if records is None else records
    golden = golden_profile(cur, person_id) or {}
    card: dict[str, Any] = {"golden": bool(golden)}
    for name in CARD_FIELDS:
        values = held[name].dropna() if name in held else pd.Series(dtype=object)
        fallback = values.mode().iloc[0] if len(values) else None
        card[name] = fallback if golden.get(name) is None else golden[name]
    return card
