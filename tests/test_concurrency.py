"""Two browser sessions on one workspace at once: one re-runs matching while the other builds
and saves a segment. Neither crashes, both results land, and the workspace stays consistent."""
from __future__ import annotations

from pathlib import Path

from cdp_core import segments
from cdp_core.demo import build_demo
from cdp_core.workspace import Workspace
from tests.browser import ROOT, chromium, streamlit_app
from tests.test_cli import cli

ARTIFACTS = ROOT / "tests" / "artifacts"


def test_matching_and_segment_building_at_once(tmp_path: Path) -> None:
    workspace = tmp_path / "demo.duckdb"
    build_demo(workspace, n_people=800, unify=True)
    with Workspace.open(workspace, read_only=True) as ws:
        runs_before = ws.cursor().execute("SELECT count(*) FROM meta.match_runs").fetchone()[0]
    with streamlit_app(workspace) as url, chromium() as browser:
        matcher = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        builder = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        matcher.goto(f"{url}/matching_run")
        builder.goto(f"{url}/segments")
        matcher.get_by_role("heading", name="Matching run").wait_for(timeout=120_000)
        builder.get_by_role("heading", name="Segment builder").wait_for(timeout=120_000)
        matcher.get_by_role("button", name="Predict and cluster").click()  # runs on the server
        builder.get_by_role("button", name="Event condition").click()
        builder.get_by_text("People in the segment").wait_for(timeout=120_000)
        builder.get_by_label("Name").fill("Built during matching")
        builder.get_by_role("button", name="Save segment").click()
        builder.get_by_text("Segment Built during matching saved.").wait_for(timeout=120_000)
        matcher.get_by_text("People (clusters)").wait_for(timeout=180_000)
        other_process = cli("list", workspace, "segments")  # the app holds the file
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        builder.screenshot(path=ARTIFACTS / "concurrent_segment.png", full_page=True)
        matcher.screenshot(path=ARTIFACTS / "concurrent_matching.png", full_page=True)
        for tab in (matcher, builder):
            assert tab.locator("[data-testid='stException']").count() == 0
    assert other_process.returncode == 2
    assert "open elsewhere" in other_process.stderr and "Traceback" not in other_process.stderr
    assert cli("check", workspace).returncode == 0
    with Workspace.open(workspace, read_only=True) as ws:
        cur = ws.cursor()
        assert cur.execute("SELECT count(*) FROM meta.match_runs").fetchone()[0] == runs_before + 1
        saved = segments.saved(cur).set_index("name").loc["Built during matching"]
        assert saved["size"] > 0
