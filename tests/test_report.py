"""The workshop pack and the use-case list from the command line, on the demo company: every
sheet filled and formatted for people, numbers kept as numbers, nothing run as a formula, and
bad input refused in one line without touching anything."""
from __future__ import annotations

import datetime as dt
import re
import shutil
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from cdp_core import i18n, kpi, report, use_cases
from cdp_core.workspace import Workspace
from tests.test_cli import cli

SHEETS = ["Summary", "Use cases", "Priorities", "Roadmap", "KPIs", "Lift", "ROI", "Departments"]
LIBRARY = use_cases.load_library()
NUMBER_AS_TEXT = re.compile(r"^[-€\s]*\d[\d,.\s]*[%€]?$")


@pytest.fixture
def demo(unified_demo: Path, tmp_path: Path) -> Path:
    path = tmp_path / "demo.duckdb"
    shutil.copyfile(unified_demo, path)
    return path


@pytest.fixture
def pack(demo: Path, tmp_path: Path) -> Path:
    """The pack written by the command line, the workspace checked unchanged."""
    before = demo.read_bytes()
    out = tmp_path / "pack.xlsx"
    done = cli("report", demo, out)
    assert done.returncode == 0, done.stderr
    assert str(out) in done.stdout
    assert demo.read_bytes() == before
    return out


def _rows(sheet: Worksheet) -> list[dict[str, object]]:
    """The sheet's first table as dictionaries keyed by header."""
    headers = [c.value for c in sheet[1]]
    rows = []
    for values in sheet.iter_rows(min_row=2, values_only=True):
        if all(v is None for v in values):
            break
        rows.append(dict(zip(headers, values, strict=True)))
    return rows


def test_every_sheet_is_filled_and_formatted(pack: Path) -> None:
    book = load_workbook(pack)
    assert book.sheetnames == SHEETS
    for sheet in book.worksheets:
        assert sheet.max_row >= 2, sheet.title
        assert sheet.freeze_panes == "A2", sheet.title
        header = [c for c in sheet[1] if c.value is not None]
        assert header and all(c.font.bold and c.fill.fgColor.rgb.endswith("1F4E78")
                              for c in header), sheet.title
        assert all(sheet.column_dimensions[c.column_letter].width >= 8 for c in header)
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula"
                if isinstance(cell.value, str) and cell.row > 1:
                    assert not NUMBER_AS_TEXT.match(cell.value), \
                        f"{sheet.title}!{cell.coordinate} holds a number as text"
                if cell.number_format != "General" and cell.value is not None:
                    assert isinstance(cell.value, int | float | dt.date), \
                        f"{sheet.title}!{cell.coordinate}"
    listed = _rows(book["Use cases"])
    assert len(listed) == len(LIBRARY) >= 15  # the library, since none is installed yet
    assert {r["Use case"] for r in listed} == {u.name for u in LIBRARY}
    assert all(0 <= r["Data readiness"] <= 1 for r in listed)
    assert book["Use cases"]["G2"].number_format == "0.0%"
    assert book["Use cases"]["J2"].number_format == '"€"#,##0'
    summary = {r["Figure"]: r["Value"] for r in _rows(book["Summary"])}
    assert summary["Use cases"] == len(listed)
    assert isinstance(summary["Data as of"], dt.datetime)


def test_priorities_roadmap_and_kpis(pack: Path) -> None:
    book = load_workbook(pack)
    ranked = _rows(book["Priorities"])
    assert [r["Rank"] for r in ranked] == list(range(1, len(LIBRARY) + 1))
    assert {r["Measured or estimated"] for r in ranked} <= {"Measured", "Estimated"}
    assert all(0 <= r[h] <= 1 for r in ranked for h in ("Value (0–1)", "Complexity (0–1)"))
    roadmap = _rows(book["Roadmap"])
    assert len(roadmap) == len(LIBRARY)
    assert all(r["Build starts"] < r["Goes live"] for r in roadmap)
    assert {r["Wave"] for r in roadmap} <= {i18n.t(f"roadmap.wave.{w}") for w in (1, 2, 3)}
    measures = _rows(book["KPIs"])
    assert len(measures) == sum(len(u.kpis) for u in LIBRARY)
    computed = [r for r in measures if r["Value computed from the data today"] is not None]
    assert computed and all(isinstance(r["Target"], int | float) for r in measures)


def test_lift_per_campaign_matches_the_control_groups(pack: Path, demo: Path) -> None:
    book = load_workbook(pack)
    rows = _rows(book["Lift"])
    with Workspace.open(demo, read_only=True) as ws:
        listed = kpi.campaigns(ws.cursor())
        first = kpi.campaign_lift(ws.cursor(), rows[0]["Campaign"])
    assert [r["Campaign"] for r in rows] == listed.loc[listed["has_control"], "campaign"].tolist()
    for row in rows:
        assert row["Uplift, 95% low"] <= row["Uplift (points)"] <= row["Uplift, 95% high"]
        assert 0 <= row["p-value"] <= 1
        assert row["Conclusive"] in ("Yes", "No")
        assert (row["Why not conclusive"] is None) == (row["Conclusive"] == "Yes")
    assert rows[0]["Customers in the control group"] == first.n_control
    assert rows[0]["Conversion rate, targeted"] == pytest.approx(first.rate_treated)


def test_roi_sheet_holds_the_cash_curve_and_its_chart(pack: Path) -> None:
    book = load_workbook(pack)
    sheet = book["ROI"]
    per_use_case = _rows(sheet)
    assert len(per_use_case) == len(LIBRARY)
    origins = {r["Origin"] for r in per_use_case}
    assert "Estimated" in origins and any(o.startswith("Measured on") for o in origins)
    title = next(c for c in sheet["A"] if c.value and str(c.value).startswith("Cumulative cash"))
    flows = [row for row in sheet.iter_rows(min_row=title.row + 2, max_col=5, values_only=True)
             if row[0] is not None]
    assert [month for month, *_ in flows] == list(range(3 * 12 + 1))
    running = 0.0
    for _, benefit, cost, net, cumulative in flows:
        assert net == pytest.approx(benefit - cost)
        running += net
        assert cumulative == pytest.approx(running)
    with zipfile.ZipFile(pack) as archive:
        charts = [n for n in archive.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 1
        assert b"lineChart" in archive.read(charts[0])
    departments = _rows(book["Departments"])
    assert {"Marketing", "E-commerce"} <= {r["Department"] for r in departments}
    for row in departments:
        assert row["Net over 3 years"] == pytest.approx(row["Benefit over 3 years"]
                                                        - row["Cost over 3 years"])


def test_french_pack_and_formula_neutralised(demo: Path, tmp_path: Path) -> None:
    trap = replace(LIBRARY[0], name="=HYPERLINK(\"http://x\")", name_fr="+1+1")
    with Workspace.open(demo) as ws:
        use_cases.install_library(ws)
        use_cases.save_use_case(ws, trap, by="test")
        out = report.write_workshop_pack(ws, tmp_path / "dossier.xlsx", language="fr")
        english = report.write_workshop_pack(ws.cursor(), tmp_path / "pack.xlsx")
    book = load_workbook(out)
    assert book.sheetnames[:3] == ["Synthèse", "Cas d'usage", "Priorités"]
    assert book["Cas d'usage"]["A1"].value == "Cas d'usage"
    names = [r["Cas d'usage"] for r in _rows(book["Cas d'usage"])]
    assert "'+1+1" in names
    assert "'=HYPERLINK(\"http://x\")" in [r["Use case"]
                                          for r in _rows(load_workbook(english)["Use cases"])]


def test_without_traits_the_lift_sheet_says_why(matched_demo: Path, tmp_path: Path) -> None:
    path = tmp_path / "matched.duckdb"
    shutil.copyfile(matched_demo, path)
    done = cli("report", path, tmp_path / "pack.xlsx")
    assert done.returncode == 0, done.stderr
    book = load_workbook(tmp_path / "pack.xlsx")
    assert book["Lift"]["A2"].value == i18n.t("report.lift.no_events")
    assert len(_rows(book["Use cases"])) == len(LIBRARY)


def test_list_use_cases(demo: Path) -> None:
    done = cli("list", demo, "use-cases")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [u.name for u in LIBRARY]  # one name a line, by id
    assert len(done.stdout.splitlines()) >= 15
    renamed = replace(LIBRARY[0], name="Cart reminder, renamed")
    with Workspace.open(demo) as ws:
        use_cases.install_library(ws)
        use_cases.save_use_case(ws, renamed, by="test")
    assert "Cart reminder, renamed" in cli("list", demo, "use-cases").stdout.splitlines()


@pytest.mark.parametrize(("output", "workspace", "message"), [
    ("pack.csv", "demo", "ending in .xlsx"),
    ("pack.xlsx", "missing", "no such workspace"),
])
def test_bad_input_one_line_nothing_changed(demo: Path, tmp_path: Path, output: str,
                                           workspace: str, message: str) -> None:
    before = demo.read_bytes()
    target = demo if workspace == "demo" else tmp_path / "missing.duckdb"
    done = cli("report", target, tmp_path / output)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
    assert message in done.stderr
    assert not (tmp_path / output).exists()
    assert not (tmp_path / "missing.duckdb").exists()
    assert demo.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.duckdb"]
