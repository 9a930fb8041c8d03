"""The one owner of session-state keys and of the process's workspace connection."""
from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from cdp_core import demo, golden, i18n, profiling, traits
from cdp_core.errors import WorkbenchError
from cdp_core.workspace import Workspace

LANGUAGE = "language"
SOURCE = "selected_source"
UPLOADS = "uploaded_files"
CLUSTER = "selected_cluster"
REVIEWER = "reviewer_name"
DEFAULT_WORKSPACE = Path("data/workspaces/demo.duckdb")


def workspace_path() -> Path:
    """The workspace this app serves: $CDP_WORKSPACE, else the demo company's."""
    return Path(os.environ.get("CDP_WORKSPACE", DEFAULT_WORKSPACE))


def language() -> str:
    """The language chosen in the sidebar (English until the user picks French)."""
    return st.session_state.get(LANGUAGE, i18n.DEFAULT_LANGUAGE)


def tr(key: str, **values: object) -> str:
    """User-facing text in the session's language."""
    return i18n.t(key, language(), **values)


@st.cache_resource(show_spinner=False)
def _open(path: str) -> Workspace:
    if not Path(path).exists() and Path(path).resolve() == DEFAULT_WORKSPACE.resolve():
        demo.build_demo(path, unify=True)
    return Workspace.open(path)


def workspace() -> Workspace:
    """The process-wide workspace; builds the demo company on first start."""
    path = workspace_path()
    try:
        with st.spinner(tr("app.opening", path=str(path))):
            return _open(str(path))
    except WorkbenchError as exc:
        st.error(str(exc))
        st.stop()
        raise


@st.cache_data(show_spinner=False, max_entries=64)
def quick_profile(_cur: duckdb.DuckDBPyConnection, workspace: str, table: str,
                  ingested_at: str) -> pd.DataFrame:
    """The quick profile of a raw table, computed once per version (raw tables never change).

    ``workspace``, ``table`` and ``ingested_at`` are the cache key; the cursor is not.
    """
    return profiling.quick_profile(_cur, table)


@st.cache_data(show_spinner=False, max_entries=8)
def golden_summary(_cur: duckdb.DuckDBPyConnection, workspace: str,
                   build: tuple[object, ...] | None) -> golden.GoldenSummary:
    """What unification adds, computed once per build of the profiles (seconds at a million
    people); ``workspace`` and ``build`` (its id and time) are the cache key."""
    return golden.summary(_cur)


@st.cache_data(show_spinner=False, max_entries=4)
def trait_figures(_cur: duckdb.DuckDBPyConnection, workspace: str, refresh_id: int,
                  ) -> tuple[traits.TraitSummary, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The Traits page's figures (a second at a million people), once per refresh:
    the summary, the RFM grid, people per RFM cell and per channel profile."""
    return (traits.summary(_cur), traits.rfm_grid(_cur), traits.distribution(_cur, "rfm_cell"),
            traits.distribution(_cur, "channel_profile"))


def selected_source(names: list[str]) -> str | None:
    """The source the user works on, kept across pages."""
    if not names:
        return None
    current = st.session_state.get(SOURCE)
    index = names.index(current) if current in names else 0
    chosen = st.selectbox(tr("common.source"), names, index=index)
    st.session_state[SOURCE] = chosen
    return chosen
GOLDEN_OVERRIDES = "golden_overrides"
GOLDEN_PROFILES = "golden_profiles"
PERSON_QUERY = "person_query"
PERSON_PICK = "person_pick"
ACCESS_FILE = "subject_access_file"
SEGMENT_DRAFT = "segment_draft"
SEGMENT_START = "segment_start"
EXPORT_FILE = "segment_export_file"
KPI_CAMPAIGN = "kpi_campaign"
KPI_USE_CASE = "kpi_use_case"
KPI_PICK = "kpi_pick"
ROI_USE_CASES = "roi_use_cases"
ROI_RAMP = "roi_ramp_months"
USE_CASE_TABLE = "use_case_table"
USE_CASE_FAMILIES = "use_case_families"
ROADMAP_WEIGHT = "roadmap_weight"
ROADMAP_MEASURED = "roadmap_measured"
USE_CASE_FLASH = "use_case_flash"
WORKSHOP_DEPARTMENTS = "workshop_departments"
WORKSHOP_WAVES = "workshop_waves"
