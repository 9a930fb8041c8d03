"""Screenshots for the README tour, taken from the real app in Debian's Chromium.

Run from the repository root: python -m docs.make_screenshots [--people 20000]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from cdp_core.demo import build_demo
from cdp_core.workspace import Workspace
from tests.browser import chromium, streamlit_app

OUT = Path(__file__).resolve().parent / "img"
SEGMENT = "Abandoned cart – last 48 h"  # a library segment with two event conditions
SHOTS = [  # (file, url path, heading to wait for, what to do before the shot)
    ("overview.png", "", "Customer data at a glance", None),
    ("catalogue.png", "catalogue", "Catalogue & profiling", None),
    ("standardisation.png", "catalogue", "Catalogue & profiling", "tab:Standardisation"),
    ("clusters.png", "clusters", "Review queue", None),
    ("golden.png", "golden", "What unification adds", None),
    ("customer360.png", "customer360", "Customer 360", "search"),
    ("traits.png", "traits", "Computed traits", None),
    ("segments.png", "segments", "Segment builder", f"pick:{SEGMENT}"),
    ("audiences.png", "audiences", "Overlap between segments", None),
    ("roadmap.png", "roadmap", "Roadmap", None),
    ("kpi_roi.png", "kpi_roi", "KPI & ROI", None),
    ("workshop.png", "workshop", "Workshop", None),
]


def best_known_customer(workspace: Path) -> str:
    """The e-mail of the customer with the most records and orders: a rich 360° view."""
    with Workspace.open(workspace, read_only=True) as ws:
        return ws.cursor().execute(
            "SELECT email FROM golden.profiles WHERE email IS NOT NULL AND last_name IS NOT "
            "NULL ORDER BY record_count DESC, orders DESC, carts DESC, person_id LIMIT 1"
        ).fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=20_000)
    args = parser.parse_args()
    workspace = Path(tempfile.mkdtemp(prefix="tour_")) / "demo.duckdb"
    build_demo(workspace, n_people=args.people, unify=True)
    customer = best_known_customer(workspace)
    OUT.mkdir(parents=True, exist_ok=True)
    with streamlit_app(workspace) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 950})
        for name, path, heading, action in SHOTS:
            page.goto(f"{url}/{path}")
            page.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
            kind, _, detail = (action or "").partition(":")
            if kind == "tab":
                page.get_by_role("tab", name=detail).click()
            elif kind == "search":
                box = page.get_by_label("Find a customer")
                box.fill(customer)
                box.press("Enter")
            elif kind == "pick":
                page.locator("[data-testid='stSelectbox']").first.click()
                page.get_by_role("option", name=detail, exact=True).click()
                page.get_by_text("People in the segment").wait_for(timeout=60_000)
            if kind != "pick":
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
