"""The catalogue: detected types and PII classes, quality scores, edits, the data dictionary."""
from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from cdp_core import catalog, exports
from cdp_core.errors import InputError
from cdp_core.ingest import ingest_file
from cdp_core.workspace import Workspace
from tests.conftest import LIBRAIRIE


@pytest.fixture
def members(ws: Workspace) -> Workspace:
    ingest_file(ws, LIBRAIRIE / "adherents.csv", "Members")
    return ws


def _columns(ws: Workspace) -> dict[str, dict[str, object]]:
    cur = ws.cursor()
    found = catalog.require_source(cur, "Members")
    frame = catalog.column_catalogue(cur, found.source_id)
    return {row["column"]: row for row in frame.to_dict("records")}


def test_semantic_types_and_pii_classes(members: Workspace) -> None:
    columns = _columns(members)
    assert (columns["Tél"]["semantic_type"], columns["Tél"]["pii_class"]) == (
        "phone", "direct identifier")
    assert (columns["Date naiss."]["semantic_type"], columns["Date naiss."]["pii_class"]) == (
        "birth date", "quasi-identifier")
    assert columns["Opt-in SMS"]["pii_class"] == "not personal"


def test_quality_scores_follow_the_data(members: Workspace) -> None:
    columns = _columns(members)
    assert columns["Tél"]["completeness"] == pytest.approx(3 / 4)  # Zoé has no phone
    assert columns["Date naiss."]["validity"] == pytest.approx(3 / 4)  # 31/02/1990
    assert columns["N° adhérent"]["uniqueness"] == pytest.approx(1.0)
    overview = catalog.source_overview(members.cursor()).set_index("source").loc["Members"]
    assert overview["rows"] == 4 and overview["uniqueness"] == pytest.approx(1.0)
    assert 0 < overview["completeness"] <= 1


def test_user_edits_survive_a_refresh(members: Workspace) -> None:
    catalog.edit_column(members, "Members", "Tél", description="Mobile du client",
                        owner="Direction magasins", pii_class="direct identifier")
    ingest_file(members, LIBRAIRIE / "adherents.csv", "Members")
    tel = _columns(members)["Tél"]
    assert (tel["description"], tel["owner"]) == ("Mobile du client", "Direction magasins")
    with pytest.raises(InputError, match="PII class"):
        catalog.edit_column(members, "Members", "Tél", pii_class="secret")
    with pytest.raises(InputError, match="no column 'Fax'"):
        catalog.edit_column(members, "Members", "Fax", description="x")


def test_freshness_score_decays_with_age() -> None:
    assert catalog.freshness_score(0) == 1.0
    assert catalog.freshness_score(365) == 0.0
    assert catalog.freshness_score(None) is None


def test_data_dictionary_excel_is_formula_safe(members: Workspace, tmp_path: Path) -> None:
    catalog.edit_column(members, "Members", "Ville", description="=HYPERLINK(\"http://x\")")
    out = exports.write_table(catalog.data_dictionary(members.cursor()), tmp_path / "dd.xlsx")
    sheet = openpyxl.load_workbook(out).active
    header = [cell.value for cell in sheet[1]]
    assert header[:3] == ["source", "department", "column"]
    descriptions = [row[header.index("description")] for row in sheet.iter_rows(
        min_row=2, values_only=True)]
    assert "'=HYPERLINK(\"http://x\")" in descriptions
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
