"""Customer 360: a person is found by name, e-mail, phone or ids, and seen with all records and
events."""
from __future__ import annotations

import unicodedata

import pandas as pd
import pytest

from cdp_core import catalog, customer360
from cdp_core.workspace import Workspace


def _person(ws: Workspace) -> dict[str, object]:
    """A true person of the demo held by several sources, with e-mail, phone and both names,
    whom matching put in one cluster."""
    cur = ws.cursor()
    person_id, truth = cur.execute("""
        SELECT c.cluster_id, g.person_id FROM demo.ground_truth g
        JOIN match.clusters c USING (source, record_id)
        JOIN match.records r USING (unique_id)
        GROUP BY c.cluster_id, g.person_id
        HAVING count(DISTINCT r.source_id) >= 3 AND count(*) FILTER (WHERE r.email_key
               IS NOT NULL AND r.phone IS NOT NULL AND r.last_name IS NOT NULL) > 0
           AND count(*) = (SELECT count(*) FROM match.clusters x WHERE x.cluster_id = c.cluster_id)
        ORDER BY c.cluster_id LIMIT 1""").fetchone()
    record = cur.execute("""
        SELECT r.record_id, r.first_name, r.last_name, r.email, r.phone
        FROM match.clusters c JOIN match.records r USING (unique_id)
        WHERE c.cluster_id = ? AND r.email_key IS NOT NULL AND r.phone IS NOT NULL
          AND r.last_name IS NOT NULL ORDER BY r.unique_id LIMIT 1""", [person_id]).fetchone()
    keys = ("record_id", "first_name", "last_name", "email", "phone")
    return {"person_id": person_id, "truth": truth, **dict(zip(keys, record, strict=True))}


@pytest.fixture(params=["index", "scan"])
def searched_ws(request: pytest.FixtureRequest, matched_ws: Workspace) -> Workspace:
    """The matched demo, searched through the index or by reading the match input."""
    if request.param == "index":
        assert customer360.prepare_search(matched_ws)
        assert not customer360.prepare_search(matched_ws), "a current index is not rebuilt"
    return matched_ws


def test_every_kind_of_query_finds_the_person(searched_ws: Workspace) -> None:
    person = _person(searched_ws)
    phone = str(person["phone"])
    national = "0" + phone[3:]  # +33612345678 -> 0612345678
    queries = {
        "name": f"  {str(person['last_name']).upper()} ",
        "first and last name": f"{person['first_name']} {person['last_name']}",
        "last then first, lower case": f"{person['last_name']} {person['first_name']}".lower(),
        "name prefixes": f"{str(person['first_name'])[:3]} {str(person['last_name'])[:4]}",
        "email in capitals": str(person["email"]).upper(),
        "phone, French spacing": " ".join(national[i:i + 2] for i in range(0, 10, 2)),
        "phone, international": f"+33 {phone[3]} {phone[4:6]} {phone[6:8]} {phone[8:]}",
        "phone, dots": ".".join(national[i:i + 2] for i in range(0, 10, 2)),
        "person id": str(person["person_id"]),
        "record id": str(person["record_id"]),
    }
    cur = searched_ws.cursor()
    for label, query in queries.items():
        found = customer360.search(cur, query, limit=50)
        assert person["person_id"] in found["person_id"].tolist(), label
        assert list(found.columns) == list(customer360.SEARCH_COLUMNS)
        assert found["person_id"].is_unique, label
    by_phone = customer360.search(cur, queries["phone, French spacing"])
    assert by_phone.iloc[0]["matched_on"] == "phone"
    assert by_phone.iloc[0]["records"] >= 3


def test_accents_and_case_are_ignored(searched_ws: Workspace) -> None:
    cur = searched_ws.cursor()
    person_id, first, last = cur.execute("""SELECT c.cluster_id, r.first_name, r.last_name
        FROM match.records r JOIN match.clusters c USING (unique_id)
        WHERE r.first_name <> strip_accents(r.first_name) AND r.last_name IS NOT NULL
        ORDER BY r.unique_id LIMIT 1""").fetchone()
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", f"{first} {last}")
                    if not unicodedata.combining(ch))
    assert plain != f"{first} {last}"
    for query in (plain.upper(), f"{first.upper()} {last.lower()}"):
        assert person_id in customer360.search(cur, query, limit=50)["person_id"].tolist()


@pytest.mark.parametrize("query", [
    "'", "\"; DROP TABLE match.records; --", "%", "_", "%%", "a%b_c", "' OR 1=1 --",
    "SELECT * FROM meta.sources", "\\", "🙂", "x" * 500, "@", "+", "00",
])
def test_hostile_queries_are_just_text(searched_ws: Workspace, query: str) -> None:
    cur = searched_ws.cursor()
    records = cur.execute("SELECT count(*) FROM match.records").fetchone()[0]
    found = customer360.search(cur, query)
    assert list(found.columns) == list(customer360.SEARCH_COLUMNS)
    if query in ("%", "_", "%%", "'", "\\", "@", "+", "00"):
        assert found.empty, "a wildcard or punctuation matches nobody"
    assert cur.execute("SELECT count(*) FROM match.records").fetchone()[0] == records


def test_blank_query_finds_nobody(matched_ws: Workspace) -> None:
    assert customer360.search(matched_ws.cursor(), "   ").empty
    assert customer360.search(matched_ws.cursor(), "").empty


def test_a_stale_index_is_not_used(matched_ws: Workspace) -> None:
    customer360.prepare_search(matched_ws)
    person = _person(matched_ws)
    with matched_ws.transaction() as cur:  # a later matching run replaced the clusters
        cur.execute("UPDATE match.clusters SET cluster_id = 'Cnew' WHERE cluster_id = ?",
                    [person["person_id"]])
        cur.execute("INSERT INTO meta.match_runs (run_id, started_at) "
                    "SELECT max(run_id) + 1, current_timestamp FROM meta.match_runs")
    found = customer360.search(matched_ws.cursor(), str(person["email"]))
    assert "Cnew" in found["person_id"].tolist()
    assert person["person_id"] not in found["person_id"].tolist()


def test_person_records_are_every_record_of_the_cluster(matched_ws: Workspace) -> None:
    person = _person(matched_ws)
    cur = matched_ws.cursor()
    records = customer360.person_records(cur, str(person["person_id"]))
    expected = cur.execute("SELECT source, record_id FROM match.clusters WHERE cluster_id = ?",
                           [person["person_id"]]).df()
    assert sorted(zip(records["source"], records["record_id"], strict=True)) == sorted(
        zip(expected["source"], expected["record_id"], strict=True))
    assert {"email", "phone", "first_name", "birth_date"} <= set(records.columns)
    side = customer360.records_side_by_side(records)
    assert side.shape[1] == len(records)
    assert "email_key" not in side.index
    for field in side.attrs["differs"]:
        assert side.loc[field].dropna().astype(str).nunique() > 1


def test_timeline_counts_equal_a_pandas_computation(matched_ws: Workspace) -> None:
    person = _person(matched_ws)
    cur = matched_ws.cursor()
    clusters = cur.execute("SELECT source, record_id, cluster_id FROM match.clusters").df()
    mine = clusters[clusters["cluster_id"] == person["person_id"]]
    expected: dict[str, int] = {}
    for source in catalog.all_sources(cur):
        if source.kind == "profiles":
            continue
        _, std_table = catalog.table_names(source.source_id,
                                           catalog.current_version(cur, source.source_id))
        events = cur.execute(f"SELECT customer_ref FROM {std_table}").df()  # noqa: S608
        refs = set(mine.loc[mine["source"] == source.profile_source, "record_id"])
        count = int(events["customer_ref"].isin(refs).sum())
        if count:
            expected[source.name] = count
    events = customer360.timeline(cur, str(person["person_id"]))
    assert expected, "the chosen person has events"
    assert events["source"].value_counts().to_dict() == expected
    times = events["event_at"].dropna()
    assert times.is_monotonic_decreasing
    assert set(events["kind"]) <= {"orders", "carts", "contacts", "campaign_sends"}
    sends = events[events["kind"] == "campaign_sends"]
    if len(sends):
        assert sends["detail"].str.contains(":").all(), "a campaign send says which campaign"
    summary = customer360.timeline_summary(events)
    orders = events[events["kind"] == "orders"]
    assert summary["orders"] == len(orders)
    assert summary["revenue"] == pytest.approx(float(orders["amount"].sum()))


def test_nothing_to_show_before_matching(ws: Workspace) -> None:
    cur = ws.cursor()
    assert not customer360.has_people(cur)
    assert customer360.search(cur, "dupont").empty
    assert customer360.timeline(cur, "C1").empty
    assert isinstance(customer360.person_records(cur, "C1"), pd.DataFrame)
    assert not customer360.prepare_search(ws)
