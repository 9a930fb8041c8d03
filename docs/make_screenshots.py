"""Screenshots for the README tour, taken from the real app in Debian's Chromium.

Run from the repository root: python -m docs.make_screenshots [--people 20000]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from cdp_core.demo import build_demo
from tests.browser import chromium, streamlit_app

OUT = Path(__file__).resolve().parent / "img"
SHOTS = [  # (file, url path, heading to wait for, tab to open or None)
    ("overview.png", "", "Customer data at a glance", None),
    ("catalogue.png", "catalogue", "Catalogue & profiling", None),
    ("standardisation.png", "catalogue", "Catalogue & profiling", "Standardisation"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=20_000)
    args = parser.parse_args()
    workspace = Path(tempfile.mkdtemp(prefix="tour_")) / "demo.duckdb"
    build_demo(workspace, n_people=args.people)
    OUT.mkdir(parents=True, exist_ok=True)
    with streamlit_app(workspace) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 950})
        for name, path, heading, tab in SHOTS:
            page.goto(f"{url}/{path}")
            page.get_by_role("heading", name=heading).wait_for(timeout=60_000)
            if tab:
                page.get_by_role("tab", name=tab).click()
            page.locator(".js-plotly-plot:visible").first.wait_for(timeout=60_000)
            page.wait_for_timeout(1_500)
            page.screenshot(path=OUT / name)
        page.goto(url)
        page.get_by_role("heading", name="Customer data at a glance").wait_for(timeout=60_000)
        page.get_by_text("Français").click()
        page.get_by_role("heading", name="Les données clients en un coup d'œil").wait_for()
        page.locator(".js-plotly-plot:visible").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1_500)
        page.screenshot(path=OUT / "overview_fr.png")


if __name__ == "__main__":
    main()
