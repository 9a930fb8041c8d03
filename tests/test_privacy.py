"""GDPR: subject access holds everything about a person; erasure leaves no trace, touches nobody
else, keeps the workspace consistent, and is all or nothing."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from cdp_core import catalog, customer360, exports, ingest, matching, privacy
from cdp_core.demo import demo_files_dir
from cdp_core.errors import InputError
from cdp_core.workspace import Workspace
from tests.conftest import ROOT, snapshot


def _person_with_events(ws: Workspace, source: str | None = None) -> str:
    """A person held by several sources, with events, whose e-mail, phone and name nobody
    else has (so a scan for them is a scan for this person only)."""
    cur = ws.cursor()
    candidates = cur.execute("""
        WITH mine AS (SELECT c.cluster_id, r.* FROM match.clusters c
                      JOIN match.records r USING (unique_id)),
        shared AS (SELECT value FROM (
            SELECT cluster_id, unnest([email, phone, full_name]) AS value FROM mine)
            WHERE value IS NOT NULL GROUP BY value HAVING count(DISTINCT cluster_id) > 1
            UNION ALL SELECT value FROM meta.blocked_values)
        SELECT cluster_id FROM mine GROUP BY cluster_id
        HAVING count(DISTINCT source_id) >= 3 AND count(email) > 0 AND count(phone) > 0
           AND count(last_name) > 0 AND bool_or(source_dataset = coalesce(?, source_dataset))
           AND NOT bool_or(email IN (SELECT value FROM shared)
                           OR phone IN (SELECT value FROM shared)
                           OR full_name IN (SELECT value FROM shared))
        ORDER BY count(*) DESC, cluster_id LIMIT 20""", [source]).fetchall()
    return next(person for (person,) in candidates
                if len(customer360.timeline(cur, person)["kind"].unique()) >= 2)


def _traces(ws: Workspace, person_id: str) -> set[str]:
    """The person's e-mails, phones (standardised and as received) and full names."""
    records = customer360.person_records(ws.cursor(), person_id)
    values = set(records["email"].dropna()) | set(records["phone"].dropna())
    values |= {f"{f} {la}" for f, la in zip(records["first_name"], records["last_name"],
                                            strict=True) if f and la}
    received = privacy.subject_access(ws.cursor(), person_id)["records_received"]
    for column in ("email", "telephone", "tel"):
        if column in received:
            values |= set(received[column].dropna())
    return {value for value in values if len(value) >= 6}


def _cells_holding(ws: Workspace, needles: set[str]) -> list[str]:
    """'schema.table.column' of every text cell of the workspace containing a needle."""
    cur = ws.cursor()
    columns = cur.execute("""SELECT schema_name, table_name, column_name FROM duckdb_columns()
        WHERE database_name = current_database() AND data_type = 'VARCHAR'""").fetchall()
    found = []
    for schema, table, column in columns:
        held = cur.execute(
            f'SELECT count(*) FROM "{schema}"."{table}" WHERE '  # noqa: S608
            f'list_bool_or(list_transform(?, lambda n: contains(lower("{column}"), lower(n))))',
            [sorted(needles)]).fetchone()[0]
        if held:
            found.append(f"{schema}.{table}.{column}")
    return found


def _rows_of(ws: Workspace, person_id: str) -> dict[str, int]:
    """How many rows of each raw and standardised table are the person's, counted apart
    from the erasure code: profile rows by record id, event rows by customer reference."""
    cur = ws.cursor()
    mine = cur.execute("SELECT source, record_id FROM match.clusters WHERE cluster_id = ?",
                       [person_id]).df()
    counts = {}
    for source in catalog.all_sources(cur):
        owner = source.name if source.kind == "profiles" else source.profile_source
        ids = set(mine.loc[mine["source"] == owner, "record_id"])
        column = "record_id" if source.kind == "profiles" else "customer_ref"
        for (version,) in cur.execute("SELECT version FROM meta.source_versions "
                                      "WHERE source_id = ?", [source.source_id]).fetchall():
            raw_table, std_table = catalog.table_names(source.source_id, version)
            frame = cur.execute(f"SELECT {column} FROM {std_table}").df()  # noqa: S608
            held = int(frame[column].isin(ids).sum())
            for table in (raw_table, std_table):
                counts[table.replace('"', "")] = held
    return counts


@pytest.fixture
def demo_with_extras(matched_ws: Workspace, matched_demo: Path) -> Workspace:
    """The matched demo with a second version of the loyalty cards, a segment, a profiling
    report and a reviewer's decision, so that every kind of copy is there to erase."""
    loyalty = demo_files_dir(matched_demo) / "cartes_fidelite.csv"
    ingest.ingest_file(matched_ws, loyalty, "Store loyalty cards")
    customer360.prepare_search(matched_ws)
    person = _person_with_events(matched_ws, "Store loyalty cards")
    uids = customer360.person_unique_ids(matched_ws.cursor(), person)
    with matched_ws.transaction() as cur:
        cur.execute("CREATE SCHEMA IF NOT EXISTS segments")
        cur.execute("CREATE TABLE segments.vip AS SELECT cluster_id AS person_id, "
                    "count(*) AS records FROM match.clusters GROUP BY cluster_id")
        cur.execute("INSERT INTO meta.profile_reports (source_id, version, html) "
                    "SELECT source_id, 1, 'sample values' FROM meta.sources")
        cur.execute("INSERT INTO meta.cluster_decisions (decision_id, kind, records, cluster_id) "
                    "VALUES (1, 'confirm', ?, ?), (2, 'never_merge', ?, 'Cother')",
                    [uids, person, [uids[0], "9:someone-else"]])
        cur.execute("INSERT INTO meta.match_labels (unique_id_l, unique_id_r, label) "
                    "VALUES (?, ?, 'match')", [uids[0], uids[1]])
    return matched_ws


def test_erasure_leaves_no_trace_and_touches_nobody_else(demo_with_extras: Workspace,
                                                          tmp_path: Path) -> None:
    ws = demo_with_extras
    person = _person_with_events(ws, "Store loyalty cards")
    traces = _traces(ws, person)
    assert any("@" in t for t in traces) and any(t.startswith("+33") for t in traces)
    assert _cells_holding(ws, traces), "the scan finds the person before erasure"
    expected = _rows_of(ws, person)
    assert sum(expected.values()) > 0
    assert len(customer360.timeline(ws.cursor(), person)) > 0, "events held"
    members = len(customer360.person_unique_ids(ws.cursor(), person))
    before = snapshot(ws)

    result = privacy.erase(ws, person, "subject_request")

    assert _cells_holding(ws, traces) == []
    after = snapshot(ws)
    for table, rows in expected.items():
        assert before[table] - after[table] == rows, table
    assert before["match.clusters"] - after["match.clusters"] == members
    assert before["segments.vip"] - after["segments.vip"] == 1
    assert after["meta.profile_reports"] < before["meta.profile_reports"]
    assert before["meta.cluster_decisions"] - after["meta.cluster_decisions"] == 1
    for table in ("meta.sources", "meta.mappings", "meta.source_versions", "meta.match_runs"):
        assert after[table] == before[table], table
    assert after["meta.audit_log"] == before["meta.audit_log"] + 1
    cur = ws.cursor()
    left = cur.execute("SELECT records, cluster_id FROM meta.cluster_decisions").fetchall()
    assert left == [(["9:someone-else"], "Cother")]
    assert customer360.search(cur, person).empty
    assert catalog.consistency_problems(cur) == []

    logged = privacy.audit_log(cur, ["erasure"])
    assert len(logged) == 1 and result.erasure_id in logged["detail"][0]
    assert "reason=subject_request" in logged["detail"][0]
    detail = logged["detail"][0].lower()
    assert person.lower() not in detail
    assert not any(trace.lower() in detail for trace in traces)
    profile_tables = {f"std.s{s.source_id}_" for s in catalog.all_sources(cur)
                      if s.kind == "profiles"}
    assert result.counts["records"] == sum(
        n for t, n in expected.items() if t[:t.index("_") + 1] in profile_tables)

    ws.close()
    copy = tmp_path / "erased.duckdb"
    shutil.copyfile(ws.path, copy)
    checked = subprocess.run([sys.executable, "-m", "cdp_core", "check", str(copy)], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize("step", ["_adjust_run_counts", "_erase_decisions", "_erase_derived"])
def test_a_failure_mid_erasure_changes_nothing(demo_with_extras: Workspace, step: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    ws = demo_with_extras
    person = _person_with_events(ws)
    before = snapshot(ws)

    def broken(*_args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(privacy, step, broken)
    with pytest.raises(RuntimeError):
        privacy.erase(ws, person, "consent_withdrawn")
    assert snapshot(ws) == before
    assert not customer360.search(ws.cursor(), person).empty


def test_erasure_refuses_unknown_reasons_and_people(matched_ws: Workspace) -> None:
    before = snapshot(matched_ws)
    person = _person_with_events(matched_ws)
    with pytest.raises(InputError, match="reason"):
        privacy.erase(matched_ws, person, "because I said so")
    with pytest.raises(InputError, match="no person"):
        privacy.erase(matched_ws, "C-nobody", "objection")
    assert snapshot(matched_ws) == before


def test_raw_rows_of_a_source_without_record_ids_are_found_by_position(
        matched_ws: Workspace) -> None:
    """Without a mapped record id, the id is the row number: erasing twice in that source
    still removes the right raw rows, and raw and standardised rows stay aligned."""
    newsletter = "Newsletter subscribers"
    cur = matched_ws.cursor()
    saved = catalog.saved_mapping(cur, catalog.require_source(cur, newsletter).source_id)
    ingest.remap_source(matched_ws, newsletter,
                        {f: c for f, c in saved.items() if f != "record_id"})
    matching.run_match(matched_ws)
    source = catalog.require_source(matched_ws.cursor(), newsletter)
    raw_table, std_table = catalog.table_names(source.source_id, 1)
    aligned = (f"SELECT count(*) FILTER (WHERE lower(trim(r.email)) IS DISTINCT FROM s.email "  # noqa: S608
               "AND s.email IS NOT NULL), count(*) FROM (SELECT email, row_number() OVER "
               f"(ORDER BY rowid) AS pos FROM {raw_table}) r JOIN (SELECT email, row_number() "
               f"OVER (ORDER BY rowid) AS pos FROM {std_table}) s USING (pos)")
    for _ in range(2):
        person = _person_with_events(matched_ws, newsletter)
        emails = set(customer360.person_records(matched_ws.cursor(), person)["email"].dropna())
        rows = matched_ws.cursor().execute(f"SELECT count(*) FROM {raw_table}").fetchone()[0]  # noqa: S608
        result = privacy.erase(matched_ws, person, "objection")
        cur = matched_ws.cursor()
        assert result.counts["records"] > 0
        left = cur.execute(f"SELECT count(*) FROM {raw_table} "  # noqa: S608
                           "WHERE list_contains(?, lower(trim(email)))",
                           [sorted(emails)]).fetchone()[0]
        assert left == 0
        mismatched, total = cur.execute(aligned).fetchone()
        assert mismatched == 0 and total < rows
        assert catalog.consistency_problems(cur) == []


def test_subject_access_holds_every_record_and_event(matched_ws: Workspace,
                                                     tmp_path: Path) -> None:
    person = _person_with_events(matched_ws)
    cur = matched_ws.cursor()
    records = customer360.person_records(cur, person)
    events = customer360.timeline(cur, person)
    parts = privacy.subject_access(cur, person)
    assert sorted(parts["records"]["record_id"]) == sorted(records["record_id"])
    assert len(parts["records_received"]) == len(records)
    assert sorted(parts["events"]["event_id"]) == sorted(events["event_id"])
    assert len(parts["events_received"]) == len(events)
    own = set(customer360.person_unique_ids(cur, person))
    for column in ("unique_id_l", "unique_id_r"):
        assert set(parts["matching"][column].dropna()) <= own, "no other person's record id"

    with matched_ws.transaction() as tx:  # a customer who typed a formula as their city
        tx.execute("UPDATE std.s1_v1 SET city = '=HYPERLINK(\"http://x\")' "
                   "WHERE list_contains(?, record_id)", [list(parts["records"]["record_id"])])
    workbook = privacy.write_subject_access(matched_ws, person, tmp_path / "access.xlsx")
    sheets = openpyxl.load_workbook(workbook)
    assert {"records", "records_received", "events", "events_received"} <= set(
        sheets.sheetnames)
    texts = [cell.value for sheet in sheets for row in sheet.iter_rows() for cell in row
             if isinstance(cell.value, str)]
    formulas = [t for t in texts if t.startswith(("=", "+", "-", "@"))]
    assert formulas and all(exports.neutralise(t) == t for t in formulas), "bare numbers only"
    assert "'=HYPERLINK(\"http://x\")" in texts
    assert any(t.startswith("+33") for t in texts), "E.164 phones are kept as they are"
    assert sheets["records"].max_row - 1 == len(records)

    document = json.loads(privacy.write_subject_access(
        matched_ws, person, tmp_path / "access.json").read_text(encoding="utf-8"))
    assert len(document["events"]) == len(events)
    logged = privacy.audit_log(matched_ws.cursor(), ["subject access export"])
    assert len(logged) == 2 and person not in " ".join(logged["detail"])
    with pytest.raises(InputError):
        privacy.write_subject_access(matched_ws, person, tmp_path / "access.pdf")
    assert not list(tmp_path.glob(".tmp_*")), "no temporary file left behind"


def test_pages_find_show_and_erase_a_person(matched_ws: Workspace,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    person = _person_with_events(matched_ws)
    email = customer360.person_records(matched_ws.cursor(), person)["email"].dropna().iloc[0]
    matched_ws.close()
    monkeypatch.setenv("CDP_WORKSPACE", str(matched_ws.path))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.run()
    app.switch_page("app_pages/customer360.py").run()
    app.text_input[0].set_value(email).run()
    assert not app.exception, app.exception
    assert app.subheader, "the person's card is shown"
    assert len(app.dataframe) >= 3, "results, source records and events"
    app.switch_page("app_pages/privacy.py").run()
    app.text_input[0].set_value(person).run()
    app.selectbox[0].set_value("objection").run()
    app.checkbox[0].check().run()
    next(b for b in app.button if b.label == "Erase this person").click().run()
    assert not app.exception, app.exception
    assert app.success and "Erased" in app.success[0].value
    app.text_input[0].set_value(f"{person} ").run()
    assert any("Nobody matches" in info.value for info in app.info), "the person is gone"
