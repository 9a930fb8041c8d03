"""The KPI & ROI page on the demo company: campaign lift, a KPI entered by hand, ROI figures and
the department split."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cdp_core import i18n, kpi, use_cases
from cdp_core.workspace import Workspace
from tests.conftest import ROOT
from ui.kpi_charts import fmt_kpi

PAGE = str(ROOT / "app_pages" / "kpi_roi.py")


@pytest.fixture
def demo(unified_demo: Path, tmp_path: Path) -> Path:
    path = tmp_path / "demo.duckdb"
    shutil.copyfile(unified_demo, path)
    return path


def _page(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("CDP_WORKSPACE", str(workspace))
    app = AppTest.from_file(PAGE, default_timeout=120)
    app.run()
    assert not app.exception, app.exception
    return app


def _metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def _number(app: AppTest, label: str) -> object:
    return next(n for n in app.number_input if n.label == label)


def test_campaign_lift_reads_the_control_groups(demo: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    with Workspace.open(demo, read_only=True) as ws:
        pooled = kpi.campaign_lift(ws.cursor())
        names = kpi.campaigns(ws.cursor())["campaign"].tolist()
    app = _page(demo, monkeypatch)
    assert app.title[0].value == "KPI & ROI"
    assert [t.label for t in app.tabs] == ["Campaign lift", "KPI trends", "Return on investment",
                                          "By department"]
    campaign = app.selectbox(key="kpi_campaign")
    assert campaign.options == ["All campaigns together", *names]
    assert _metric(app, "Conversion, targeted") == i18n.fmt_pct(pooled.rate_treated)
    groups = app.dataframe[0].value
    assert groups["people"].tolist() == [i18n.fmt_number(pooled.n_treated),
                                         i18n.fmt_number(pooled.n_control)]
    campaign.select(names[0]).run()  # one campaign of a 600-people demo: too few to conclude
    assert not app.exception, app.exception
    assert any("Not conclusive yet" in w.value and "fewer than 100" in w.value
               for w in app.warning)


def test_a_value_entered_by_hand_joins_the_history(demo: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    app = _page(demo, monkeypatch)
    app.selectbox(key="kpi_use_case").select("call_centre_enrichment").run()
    measure = next(k for k in use_cases.load_file(
        ROOT / "use_cases" / "call_centre_enrichment.yaml").kpis if not k.computed)
    app.selectbox(key="kpi_pick").select(measure.id).run()
    _number(app, "Value" + (" (%)" if measure.unit == "share" else "")).set_value(42.5)
    next(t for t in app.text_input if t.label == "Note").input("pilot survey")
    next(b for b in app.button if b.label == "Record the value").click().run()
    assert not app.exception, app.exception
    shown = app.dataframe[1].value  # after the lift groups: the KPI's history
    assert shown["note"].tolist() == ["pilot survey"]
    assert shown["origin"].tolist() == ["Entered by hand"]
    assert shown["value"].tolist() == [fmt_kpi(42.5 / (100 if measure.unit == "share" else 1),
                                               measure.unit)]


def test_backfill_draws_a_trend(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _page(demo, monkeypatch)
    app.selectbox(key="kpi_use_case").select("call_centre_enrichment").run()
    app.selectbox(key="kpi_pick").select("handling_time").run()
    next(b for b in app.button if b.label.startswith("Compute the last 12 months")).click().run()
    assert not app.exception, app.exception
    history = app.dataframe[1].value  # 12 month ends and the reference date
    assert len(history) == 13
    assert set(history["origin"]) == {"Computed from the data"}


def test_roi_follows_the_platform_costs(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _page(demo, monkeypatch)
    npv_label = "NPV over 3 years at 8.0%"
    before = _metric(app, npv_label)
    _number(app, "Implementation, one-off (€)").set_value(200_000.0).run()
    after = _metric(app, npv_label)

    def euros(text: str) -> float:
        return float(text.replace("€", "").replace(",", ""))

    # Year-0 spending is not discounted: 100 k€ more implementation is 100 k€ less NPV.
    assert euros(before) - euros(after) == pytest.approx(100_000, abs=1)
    assert any(m.label == "Pays back" for m in app.metric)
    origins = app.dataframe[-2].value["origin"].tolist()  # the business case's use cases
    assert "Estimated" in origins
    assert any(o.startswith("Measured on") for o in origins)


def test_custom_shares_must_add_up(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _page(demo, monkeypatch)
    split = next(r for r in app.radio if r.label == "Share the platform's costs")
    split.set_value("custom").run()
    _number(app, "Marketing (%)").set_value(90.0).run()
    assert any("must be positive and add up to 100" in e.value for e in app.error)
    split = next(r for r in app.radio if r.label == "Share the platform's costs")
    split.set_value("equal").run()
    shared = app.dataframe[-1].value
    assert "Marketing" in shared["department"].tolist()


def test_empty_workspace_explains_what_to_do(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    Workspace.open(tmp_path / "empty.duckdb").close()
    app = _page(tmp_path / "empty.duckdb", monkeypatch)
    assert i18n.t("kpi.lift.no_events") in [i.value for i in app.info]
