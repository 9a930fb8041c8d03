"""Every page renders in headless Chromium without an exception; screenshots are kept."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from cdp_core.demo import build_demo
from tests.browser import ROOT, chromium, streamlit_app

ARTIFACTS = ROOT / "tests" / "artifacts"
PAGES = {"overview": "Customer data at a glance", "sources": "Sources",
         "catalogue": "Catalogue & profiling"}


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Page, str]]:
    workspace = tmp_path_factory.mktemp("browser") / "demo.duckdb"
    build_demo(workspace, n_people=1_000)
    with streamlit_app(workspace) as url, chromium() as browser:
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield tab, url


@pytest.mark.parametrize(("slug", "title"), PAGES.items())
def test_page_renders_in_chromium(page: tuple[Page, str], slug: str, title: str) -> None:
    tab, url = page
    tab.goto(f"{url}/{'' if slug == 'overview' else slug}")
    tab.get_by_role("heading", name=title).first.wait_for(timeout=60_000)
    tab.wait_for_load_state("networkidle")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=ARTIFACTS / f"page_{slug}.png", full_page=True)
    assert tab.locator("[data-testid='stException']").count() == 0
