"""Every page renders in headless Chromium without an exception; screenshots are kept."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from cdp_core.demo import build_demo
from tests.browser import ROOT, chromium, settled, shot_on_failure, streamlit_app

ARTIFACTS = ROOT / "tests" / "artifacts"
PAGES = {"overview": "Customer data at a glance", "sources": "Sources",
         "catalogue": "Catalogue & profiling"}
# What each page must show once rendered: (selector, how many at least).
CONTENT = {"overview": [("[data-testid='stDataFrame']", 1), (".js-plotly-plot", 2)],
           "sources": [("[data-testid='stFileUploader']", 1)],
           "catalogue": [("[data-testid='stDataFrame']", 1), (".js-plotly-plot", 1)]}


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Page, str]]:
    workspace = tmp_path_factory.mktemp("browser") / "demo.duckdb"
    build_demo(workspace, n_people=1_000)
    with streamlit_app(workspace) as url, chromium() as browser:
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield tab, url


def test_first_visit_to_a_bookmarked_page_gets_the_whole_app(page: tuple[Page, str]) -> None:
    tab, url = page  # the server has served nothing yet: this is its first session
    tab.goto(f"{url}/catalogue")
    tab.get_by_role("heading", name="Catalogue & profiling").wait_for(timeout=60_000)
    sidebar = tab.locator("[data-testid='stSidebar']")
    sidebar.get_by_text("Collect").wait_for(timeout=30_000)
    sidebar.get_by_text("Language").wait_for(timeout=30_000)  # the app's own sidebar


@pytest.mark.parametrize(("slug", "title"), PAGES.items())
def test_page_renders_in_chromium(page: tuple[Page, str], slug: str, title: str) -> None:
    tab, url = page
    tab.goto(f"{url}/{'' if slug == 'overview' else slug}")
    tab.get_by_role("heading", name=title).first.wait_for(timeout=60_000)
    for selector, at_least in CONTENT[slug]:
        tab.locator(selector).nth(at_least - 1).wait_for(timeout=60_000)
    tab.wait_for_timeout(1_000)  # let charts finish their first paint
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=ARTIFACTS / f"page_{slug}.png", full_page=True)
    assert tab.locator("[data-testid='stException']").count() == 0


def test_upload_preview_map_and_ingest_a_latin1_file(page: tuple[Page, str]) -> None:
    tab, url = page
    tab.goto(f"{url}/sources")
    tab.locator("[data-testid='stFileUploader'] input[type='file']").first.set_input_files(
        str(ROOT / "tests" / "data" / "librairie" / "adherents.csv"))
    tab.get_by_text("encoding latin-1 · delimiter ';'").wait_for(timeout=60_000)
    name = tab.get_by_label("Source name")
    name.fill("Members")
    name.press("Enter")
    tab.get_by_role("button", name="Ingest").click()
    tab.get_by_text("Members: version 1 ingested, 4 rows.").wait_for(timeout=60_000)
    tab.screenshot(path=ARTIFACTS / "sources_ingested.png", full_page=True)
    tab.goto(f"{url}/catalogue")
    tab.get_by_role("heading", name="Catalogue & profiling").wait_for(timeout=60_000)
    assert tab.locator("[data-testid='stException']").count() == 0


def test_upload_an_excel_file_and_pick_its_sheet(page: tuple[Page, str]) -> None:
    tab, url = page
    tab.goto(f"{url}/sources")
    tab.locator("[data-testid='stFileUploader'] input[type='file']").first.set_input_files(
        str(ROOT / "tests" / "data" / "librairie" / "service_client.xlsx"))
    sheet = tab.locator("[data-testid='stSelectbox']").filter(
        has=tab.get_by_text("Sheet", exact=True))
    sheet.click()
    tab.get_by_role("option", name="Appels clients").click()  # the data, not the notes
    name = tab.get_by_label("Source name")
    name.fill("Service")
    name.press("Enter")
    tab.get_by_role("button", name="Ingest").click()
    tab.get_by_text("Service: version 1 ingested, 3 rows.").wait_for(timeout=60_000)
    tab.screenshot(path=ARTIFACTS / "sources_excel.png", full_page=True)
    assert tab.locator("[data-testid='stException']").count() == 0


def test_catalogue_tabs_and_full_report(page: tuple[Page, str]) -> None:
    tab, url = page
    tab.goto(f"{url}/catalogue")
    tab.get_by_role("heading", name="Catalogue & profiling").wait_for(timeout=60_000)
    for name, selector in (("Quick profile", ".js-plotly-plot"),
                           ("Standardisation", ".js-plotly-plot")):
        tab.get_by_role("tab", name=name).click()
        tab.locator(f"[role='tabpanel']:visible {selector}").first.wait_for(timeout=60_000)
        tab.wait_for_timeout(800)
        tab.screenshot(path=ARTIFACTS / f"catalogue_{name.lower().replace(' ', '_')}.png",
                       full_page=True)
    tab.get_by_role("tab", name="Full report").click()
    tab.get_by_role("button", name="Build the full profiling report").click()
    report = tab.frame_locator("iframe").first
    report.get_by_text("Dataset statistics").first.wait_for(timeout=120_000)
    tab.screenshot(path=ARTIFACTS / "catalogue_full_report.png", full_page=True)
    assert tab.locator("[data-testid='stException']").count() == 0


def test_train_predict_and_label_a_pair_with_the_keyboard(page: tuple[Page, str]) -> None:
    tab, url = page
    tab.goto(f"{url}/matching")
    tab.get_by_role("heading", name="Matching settings").wait_for(timeout=120_000)
    tab.get_by_text("Comparisons and rules").first.wait_for(timeout=60_000)
    tab.goto(f"{url}/matching_run")
    tab.get_by_role("heading", name="Matching run").wait_for(timeout=60_000)
    tab.get_by_role("button", name="Train the model").click()
    tab.get_by_text("Model 1, trained without labels.").wait_for(timeout=180_000)
    tab.get_by_role("button", name="Predict and cluster").click()
    tab.get_by_text("People (clusters)").wait_for(timeout=180_000)
    tab.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    tab.screenshot(path=ARTIFACTS / "matching_run.png", full_page=True)
    tab.goto(f"{url}/review")
    tab.get_by_role("heading", name="Next pair to review").wait_for(timeout=60_000)
    tab.wait_for_timeout(1_000)
    tab.keyboard.press("m")  # "same person"
    labelled = tab.locator("[data-testid='stMetricValue']").first
    labelled.filter(has_text="1").wait_for(timeout=60_000)
    tab.screenshot(path=ARTIFACTS / "review.png", full_page=True)
    assert tab.locator("[data-testid='stException']").count() == 0


def test_open_a_cluster_and_split_a_record_out(page: tuple[Page, str]) -> None:
    tab, url = page  # runs after the matching test above: the clusters exist
    tab.goto(f"{url}/clusters")
    tab.get_by_role("heading", name="Review queue").wait_for(timeout=60_000)
    tab.locator(".js-plotly-plot").nth(1).wait_for(timeout=60_000)  # sizes and the graph
    tab.wait_for_timeout(1_000)
    tab.screenshot(path=ARTIFACTS / "clusters.png", full_page=True)
    tab.get_by_label("Your name").fill("Journey test")
    tab.get_by_role("button", name="Take this record out").click()
    tab.get_by_role("tab", name="Decisions").click()
    tab.get_by_text("Record split out").first.wait_for(timeout=60_000)
    tab.screenshot(path=ARTIFACTS / "clusters_split.png", full_page=True)
    assert tab.locator("[data-testid='stException']").count() == 0


def test_build_profiles_then_find_a_customer(page: tuple[Page, str]) -> None:
    tab, url = page  # after the matching test: clusters exist, profiles not yet
    tab.goto(f"{url}/golden")
    tab.get_by_role("heading", name="Golden records").wait_for(timeout=60_000)
    tab.get_by_role("button", name="Build unified profiles").click()
    tab.get_by_role("heading", name="What unification adds").wait_for(timeout=120_000)
    tab.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    tab.wait_for_timeout(1_000)
    tab.screenshot(path=ARTIFACTS / "golden.png", full_page=True)
    tab.goto(f"{url}/customer360")
    search = tab.get_by_label("Find a customer")
    search.fill("martin")
    search.press("Enter")
    tab.locator("[data-testid='stDataFrame']").first.wait_for(timeout=60_000)
    tab.wait_for_timeout(1_000)
    tab.screenshot(path=ARTIFACTS / "customer360.png", full_page=True)
    assert tab.locator("[data-testid='stException']").count() == 0


def test_refresh_traits_build_a_nested_segment_and_export_it(page: tuple[Page, str]) -> None:
    tab, url = page  # after the golden-records test: unified profiles exist
    with shot_on_failure(tab, "segment_journey"):
        tab.goto(f"{url}/traits")
        tab.get_by_role("button", name="Refresh traits").click()
        tab.get_by_text("Traits computed for").wait_for(timeout=120_000)
        tab.goto(f"{url}/segments")
        tab.get_by_role("heading", name="Segment builder").wait_for(timeout=60_000)
        settled(tab)
        tab.get_by_role("button", name="Event condition").click()  # orders, last 30 days
        tab.get_by_text("People in the segment").wait_for(timeout=60_000)
        settled(tab)
        tab.get_by_role("button", name="Nested group").click()
        tab.get_by_text("this group is empty").wait_for(timeout=60_000)
        settled(tab)
        tab.get_by_role("button", name="Event condition").first.click()  # the nested group's
        tab.get_by_text("People in the segment").wait_for(timeout=60_000)
        settled(tab)
        events = tab.locator("[data-testid='stSelectbox']").filter(
            has=tab.get_by_text("Event", exact=True))
        events.nth(1).click()
        tab.get_by_role("option", name="Carts").click()  # ...or had a cart in the last 30 days
        settled(tab)
        tab.get_by_label("Name").fill("Journey segment")
        tab.get_by_role("button", name="Save segment").click()
        tab.get_by_text("Segment Journey segment saved.").wait_for(timeout=60_000)
        tab.screenshot(path=ARTIFACTS / "segment_builder.png", full_page=True)
        tab.goto(f"{url}/audiences")
        tab.get_by_role("heading", name="Export for activation").wait_for(timeout=60_000)
        settled(tab)
        tab.get_by_role("button", name="Export", exact=True).click()
        tab.get_by_text("people exported out of").wait_for(timeout=60_000)
        with tab.expect_download() as download:
            tab.get_by_role("button", name="Download segment_Journey_segment.xlsx").click()
        assert download.value.suggested_filename == "segment_Journey_segment.xlsx"
        tab.screenshot(path=ARTIFACTS / "audiences.png", full_page=True)
        assert tab.locator("[data-testid='stException']").count() == 0


def test_open_the_kpi_and_roi_page(page: tuple[Page, str]) -> None:
    tab, url = page  # after the traits refresh above: campaign sends reach people
    tab.goto(f"{url}/kpi_roi")
    tab.get_by_role("heading", name="KPI & ROI").first.wait_for(timeout=60_000)
    tab.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    tab.wait_for_timeout(1_000)
    tab.screenshot(path=ARTIFACTS / "kpi_roi.png", full_page=True)
    assert tab.locator("[data-testid='stException']").count() == 0
