"""The frame around every page: language choice and the grouped navigation."""
from __future__ import annotations

import streamlit as st

from cdp_core import i18n
from ui.state import LANGUAGE, tr

_PAGES = {
    "nav.collect": [
        ("app_pages/overview.py", "nav.overview", ":material/dashboard:"),
        ("app_pages/sources.py", "nav.sources", ":material/upload_file:"),
        ("app_pages/catalogue.py", "nav.catalogue", ":material/dataset:"),
    ],
    "nav.unify": [
        ("app_pages/matching.py", "nav.matching", ":material/tune:"),
        ("app_pages/matching_run.py", "nav.matching_run", ":material/model_training:"),
        ("app_pages/review.py", "nav.review", ":material/rule:"),
        ("app_pages/clusters.py", "nav.clusters", ":material/hub:"),
        ("app_pages/golden.py", "nav.golden", ":material/person_check:"),
        ("app_pages/customer360.py", "nav.customer360", ":material/person_search:"),
        ("app_pages/privacy.py", "nav.privacy", ":material/shield_person:"),
    ],
    "nav.activate": [
        ("app_pages/traits.py", "nav.traits", ":material/insights:"),
        ("app_pages/scores.py", "nav.scores", ":material/batch_prediction:"),
        ("app_pages/segments.py", "nav.segments", ":material/filter_alt:"),
        ("app_pages/audiences.py", "nav.audiences", ":material/campaign:"),
    ],
    "nav.measure": [
        ("app_pages/use_cases.py", "nav.use_cases", ":material/lightbulb:"),
        ("app_pages/roadmap.py", "nav.roadmap", ":material/map:"),
        ("app_pages/kpi_roi.py", "nav.kpi_roi", ":material/monitoring:"),
        ("app_pages/workshop.py", "nav.workshop", ":material/co_present:"),
    ],
}


def navigation() -> st.navigation:
    """Draw the sidebar's language choice and return the app's navigation."""
    st.set_page_config(page_title="CDP Workbench", page_icon=":material/hub:", layout="wide")
    labels = {"en": "English", "fr": "Français"}
    st.sidebar.radio(tr("app.language"), i18n.LANGUAGES, key=LANGUAGE,
                     format_func=labels.__getitem__, horizontal=True)
    pages = {
        tr(group): [st.Page(path, title=tr(title), icon=icon) for path, title, icon in entries]
        for group, entries in _PAGES.items()
    }
    return st.navigation(pages, expanded=True)
