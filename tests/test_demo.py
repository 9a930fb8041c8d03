"""The demo company as a workspace: every source in, catalogued, clean where it should be."""
from __future__ import annotations

from pathlib import Path

import pytest

from cdp_core import catalog
from cdp_core.demo import build_demo
from cdp_core.workspace import Workspace


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    build_demo(path, n_people=1_500)
    with Workspace.open(path) as ws:
        yield ws


def test_every_source_is_ingested_with_its_metadata(demo: Workspace) -> None:
    overview = catalog.source_overview(demo.cursor()).set_index("source")
    assert len(overview) == 9
    assert overview.loc["Store loyalty cards", "collection_mode"] == "batch"
    assert overview.loc["Newsletter subscribers", "collection_mode"] == "stream"
    events = overview[overview["kind"] != "profiles"]
    assert events["profile_source"].notna().all()
    assert overview.loc["Store receipts", "profile_source"] == "Store loyalty cards"


def test_ground_truth_covers_every_profile_record_and_is_not_a_source(demo: Workspace) -> None:
    cur = demo.cursor()
    truth = cur.execute("SELECT count(*) FROM demo.ground_truth").fetchone()[0]
    profiles = catalog.source_overview(cur).query("kind == 'profiles'")["rows"].sum()
    assert truth == profiles
    assert all("person" not in c.lower()
               for s in catalog.all_sources(cur)
               for c in catalog.column_catalogue(cur, s.source_id)["column"])


def test_demo_phones_and_dates_standardise_cleanly(demo: Workspace) -> None:
    cur = demo.cursor()
    rejected, non_empty = cur.execute(
        "SELECT sum(rejected), sum(non_empty) FROM meta.std_stats "
        "WHERE field IN ('phone', 'birth_date', 'email', 'postcode')").fetchone()
    assert non_empty > 5_000
    assert rejected / non_empty < 0.01  # only the planted junk (0000000000 and the like)


def test_demo_workspace_is_built_atomically(tmp_path: Path) -> None:
    target = tmp_path / "demo.duckdb"
    build_demo(target, n_people=300)
    assert target.exists()
    assert not list(tmp_path.glob(".*building*"))
