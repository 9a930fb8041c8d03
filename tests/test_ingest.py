"""Ingesting another French company's four sources, with mapping files and automatically."""
from __future__ import annotations

from pathlib import Path

import pytest

from cdp_core import catalog, mapping
from cdp_core.errors import InputError
from cdp_core.ingest import ingest_file, preview_file, remap_source
from cdp_core.workspace import Workspace
from tests.conftest import LIBRAIRIE, snapshot

FILES = {
    "Web clients": ("clients_web.csv", "clients_web.yaml"),
    "Members": ("adherents.csv", "adherents.yaml"),
    "Customer service": ("service_client.xlsx", "service_client.yaml"),
    "Newsletter": ("newsletter.csv", "newsletter.yaml"),
}


def _mapping_file(name: str) -> dict[str, str]:
    return mapping.parse_mapping_yaml((LIBRAIRIE / name).read_text(encoding="utf-8"), name)


def _std(ws: Workspace, source: str, where: str = "true") -> list[dict[str, object]]:
    cur = ws.cursor()
    found = catalog.require_source(cur, source)
    _, table = catalog.table_names(found.source_id, catalog.current_version(cur, found.source_id))
    result = cur.execute(f"SELECT * FROM {table} WHERE {where} ORDER BY record_id")  # noqa: S608
    names = [column[0] for column in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


@pytest.mark.parametrize("source", FILES)
def test_automatic_mapping_matches_the_mapping_file(source: str) -> None:
    data_file, mapping_file = FILES[source]
    preview = preview_file(LIBRAIRIE / data_file)
    assert preview.kind == "profiles"
    assert {m.field: m.column for m in preview.proposed} == _mapping_file(mapping_file)


def test_latin1_semicolon_file_with_french_dates(ws: Workspace) -> None:
    result = ingest_file(ws, LIBRAIRIE / "adherents.csv", "Members",
                         mapping_override=_mapping_file("adherents.yaml"))
    assert (result.rows, result.kind) == (4, "profiles")
    assert "encoding latin-1" in result.notes and "delimiter ';'" in result.notes
    amelie, francois, zoe, loic = _std(ws, "Members")
    assert (amelie["first_name"], amelie["last_name"]) == ("Amélie", "Poulain")
    assert (amelie["phone"], str(amelie["birth_date"])) == ("+33611223344", "1978-04-12")
    assert (amelie["civility"], francois["civility"], zoe["civility"]) == ("Mme", "M", "Mme")
    assert amelie["consent_sms"] is True and francois["consent_sms"] is False
    assert zoe["postcode"] == "01000" and zoe["phone"] is None
    assert loic["first_name"] == "Loïc" and loic["birth_date"] is None  # 31/02/1990
    stats = {(s.field, s.rule): s for s in result.stats}
    birth = next(s for (field, _), s in stats.items() if field == "birth_date")
    assert (birth.non_empty, birth.rejected) == (4, 1)


def test_excel_sheet_is_found_and_full_names_split(ws: Workspace) -> None:
    result = ingest_file(ws, LIBRAIRIE / "service_client.xlsx", "Customer service")
    assert result.rows == 3
    assert "sheet 'Appels clients' of 2" in result.notes
    rows = {row["record_id"]: row for row in _std(ws, "Customer service")}
    assert (rows["SC-1"]["first_name"], rows["SC-1"]["last_name"]) == ("Amélie", "Poulain")
    assert (rows["SC-2"]["first_name"], rows["SC-2"]["last_name"]) == ("François", "Pignon")
    assert rows["SC-3"]["last_name"] == "Le Gall"
    assert rows["SC-1"]["phone"] == "+33611223344"  # a number cell, leading 0 lost by Excel
    assert rows["SC-1"]["Motif"] == "livraison"  # unmapped columns stay as extra attributes


def test_named_sheet_and_missing_sheet(ws: Workspace) -> None:
    with pytest.raises(InputError, match="has no sheet 'Clients'; its sheets are: Notes, "
                                          "Appels clients"):
        ingest_file(ws, LIBRAIRIE / "service_client.xlsx", "CS", sheet="Clients")
    assert ingest_file(ws, LIBRAIRIE / "service_client.xlsx", "CS",
                       sheet="Appels clients").rows == 3


def test_emails_keep_display_and_matching_key(ws: Workspace) -> None:
    ingest_file(ws, LIBRAIRIE / "clients_web.csv", "Web clients")
    francois = _std(ws, "Web clients", "record_id = 'L-002'")[0]
    assert francois["email"] == "f.pignon+livres@example.fr"
    assert francois["email_key"] == "f.pignon@example.fr"
    assert francois["phone"] == "+33655443322"


def test_refresh_creates_a_version_and_keeps_the_old_one(ws: Workspace, tmp_path: Path) -> None:
    ingest_file(ws, LIBRAIRIE / "clients_web.csv", "Web clients")
    newer = tmp_path / "clients_web_v2.csv"
    lines = (LIBRAIRIE / "clients_web.csv").read_text(encoding="utf-8").splitlines()
    newer.write_text("\n".join([lines[0] + ",Fidélité", *(f"{line},gold" for line in lines[1:4])])
                     + "\n", encoding="utf-8")
    result = ingest_file(ws, newer, "Web clients")
    assert result.version == 2
    assert result.changes.added == ["Fidélité"] and result.changes.removed == []
    assert (result.changes.rows_before, result.changes.rows_after) == (5, 3)
    cur = ws.cursor()
    source = catalog.require_source(cur, "Web clients")
    assert catalog.versions(cur, source.source_id)["version"].tolist() == [2, 1]
    catalog.drop_version(ws, "Web clients", 1)
    assert catalog.versions(cur, source.source_id)["version"].tolist() == [2]
    with pytest.raises(InputError, match="only one"):
        catalog.drop_version(ws, "Web clients", 2)


def test_file_that_does_not_fit_the_source_changes_nothing(ws: Workspace) -> None:
    ingest_file(ws, LIBRAIRIE / "clients_web.csv", "Web clients")
    before = snapshot(ws)
    with pytest.raises(InputError, match="newsletter.csv does not fit source 'Web clients'"):
        ingest_file(ws, LIBRAIRIE / "newsletter.csv", "Web clients")
    assert snapshot(ws) == before


def test_source_name_with_sql_is_plain_text(ws: Workspace) -> None:
    name = "x'); DROP TABLE meta.sources; --\""
    ingest_file(ws, LIBRAIRIE / "newsletter.csv", name)
    cur = ws.cursor()
    assert [s.name for s in catalog.all_sources(cur)] == [name]


def test_event_source_kind_and_profile_source_are_detected(ws: Workspace,
                                                           tmp_path: Path) -> None:
    ingest_file(ws, LIBRAIRIE / "clients_web.csv", "Web clients")
    ingest_file(ws, LIBRAIRIE / "adherents.csv", "Members")
    orders = tmp_path / "commandes.csv"
    orders.write_text("num_commande;id_client;date_commande;montant;canal\n"
                      "C1;L-001;2024-05-02 10:00:00;12,50;WEB\n"
                      "C2;L-002;03/05/2024;1 234,56;web\n", encoding="utf-8")
    result = ingest_file(ws, orders, "Web orders")
    assert result.kind == "orders"
    cur = ws.cursor()
    assert catalog.require_source(cur, "Web orders").profile_source == "Web clients"
    found = catalog.require_source(cur, "Web orders")
    _, table = catalog.table_names(found.source_id, 1)
    amounts = cur.execute(f"SELECT amount, channel FROM {table} ORDER BY event_id").fetchall()  # noqa: S608
    assert amounts == [(12.5, "web"), (1234.56, "web")]


def test_user_corrects_the_mapping(ws: Workspace) -> None:
    ingest_file(ws, LIBRAIRIE / "newsletter.csv", "Newsletter")
    stats = remap_source(ws, "Newsletter", {"email": "adresse mail", "first_name": "prénom"})
    assert {s.field for s in stats} >= {"email", "first_name"}
    cur = ws.cursor()
    found = catalog.require_source(cur, "Newsletter")
    assert catalog.saved_mapping(cur, found.source_id) == {
        "first_name": "prénom", "email": "adresse mail"}
    rows = _std(ws, "Newsletter")
    assert all(row["created_at"] is None for row in rows)
    with pytest.raises(InputError, match="maps both"):
        remap_source(ws, "Newsletter", {"first_name": "adresse mail", "email": "adresse mail"})


def test_preview_writes_nothing(ws: Workspace) -> None:
    before = snapshot(ws)
    preview = preview_file(LIBRAIRIE / "adherents.csv")
    assert list(preview.rows.columns)[:3] == ["N° adhérent", "Civilité", "NOM"]
    assert snapshot(ws) == before


def test_demo_files_map_and_classify_themselves(tmp_path: Path) -> None:
    from cdp_core.demo_data import generate_demo_files

    for source in generate_demo_files(tmp_path, n_people=400):
        preview = preview_file(tmp_path / source.file, sheet=source.sheet)
        assert preview.kind == source.kind, source.name
        assert {m.field: m.column for m in preview.proposed} == source.mapping, source.name


OTHER_COMPANY = LIBRAIRIE.parent / "other_company"


@pytest.mark.parametrize("mapping_file", sorted(OTHER_COMPANY.glob("*.yaml")),
                         ids=lambda p: p.stem)
def test_another_companys_files_map_automatically(mapping_file: Path) -> None:
    data_file = next(p for p in OTHER_COMPANY.iterdir()
                     if p.stem == mapping_file.stem and p.suffix != ".yaml")
    preview = preview_file(data_file)
    assert preview.kind == "profiles"
    assert {m.field: m.column for m in preview.proposed} == _mapping_file_at(mapping_file)


def _mapping_file_at(path: Path) -> dict[str, str]:
    return mapping.parse_mapping_yaml(path.read_text(encoding="utf-8"), path.name)


def test_a_dropped_version_number_is_never_reused(ws: Workspace) -> None:
    for _ in range(3):
        ingest_file(ws, LIBRAIRIE / "clients_web.csv", "Web clients")
    catalog.drop_version(ws, "Web clients", 3)
    assert ingest_file(ws, LIBRAIRIE / "clients_web.csv", "Web clients").version == 4
