"""Use cases: the library by family, each one's sheet and data readiness, and a form to add or
edit a use case, set its status and save it back to its YAML file."""
from __future__ import annotations

import streamlit as st

from cdp_core import i18n, traits, use_cases
from cdp_core.errors import WorkbenchError
from ui import use_case_forms as forms
from ui import widgets
from ui.state import REVIEWER, USE_CASE_FAMILIES, USE_CASE_FLASH, language, tr, workspace

ws = workspace()
st.title(tr("usecase.title"))
st.caption(tr("usecase.intro"))
if flash := st.session_state.pop(USE_CASE_FLASH, None):
    st.success(flash)
lang = language()
by = st.session_state.get(REVIEWER)
installed = forms.installed_use_cases(ws)
cur = ws.cursor()
tracked = {entry.use_case.id: entry for entry in installed}
overview = use_cases.library_overview(cur, list(tracked.values()))
if overview.empty:
    st.info(tr("usecase.empty"))
    st.stop()

widgets.metric_tiles([
    (tr("usecase.count"), i18n.fmt_number(len(overview), lang)),
    (tr("usecase.active"), i18n.fmt_number(int((overview["status"] == "active").sum()), lang)),
    (tr("usecase.total_benefit"), i18n.fmt_money(overview["benefit"].sum(), lang, 0)),
    (tr("usecase.mean_readiness"), i18n.fmt_pct(overview["readiness"].mean(), lang, 0))])

families = st.pills(tr("usecase.families"), use_cases.FAMILIES, selection_mode="multi",
                    format_func=forms.labelled("family"), key=USE_CASE_FAMILIES)
shown = overview[overview["family"].isin(families)] if families else overview
st.caption(tr("usecase.pick"))
picked = forms.library_table(shown.reset_index(drop=True))
if picked is None:
    st.info(tr("usecase.none_in_family"))
    st.stop()
entry = tracked[picked]
use_case = entry.use_case
st.subheader(use_case.name_in(lang))

sheet_tab, ready_tab, edit_tab, new_tab = st.tabs([
    tr("usecase.tab.sheet"), tr("usecase.tab.readiness"), tr("usecase.tab.edit"),
    tr("usecase.tab.new")])
with sheet_tab:
    forms.sheet(use_case)
    left, right = st.columns(2)
    status = left.selectbox(tr("usecase.col.status"), use_cases.STATUSES,
                            use_cases.STATUSES.index(entry.status),
                            format_func=forms.labelled("status"), key=f"status_{picked}")
    activated = right.date_input(tr("usecase.activated_at"), entry.activated_at,
                                 key=f"activated_{picked}", format="DD/MM/YYYY"
                                 if lang == "fr" else "YYYY-MM-DD")
    if st.button(tr("usecase.save_status"), icon=":material/flag:"):
        try:
            use_cases.set_status(ws, picked, status, activated, by)
            st.session_state[USE_CASE_FLASH] = tr("usecase.status_saved")
            st.rerun()
        except WorkbenchError as exc:
            st.error(str(exc))
    left, right = st.columns(2)
    if left.button(tr("usecase.save_yaml"), icon=":material/save_as:",
                   help=tr("usecase.save_yaml_help")):
        try:
            path = use_cases.save_to_file(use_case)
            st.success(tr("usecase.yaml_saved", path=path.name))
        except (WorkbenchError, OSError) as exc:
            st.error(str(exc))
    right.download_button(tr("usecase.download_yaml"), use_cases.to_yaml(use_case),
                          file_name=f"{use_case.id}.yaml", mime="application/x-yaml",
                          icon=":material/download:")

with ready_tab:
    st.caption(tr("usecase.readiness_help"))
    forms.readiness_view(use_cases.readiness(cur, use_case))


def _save(document: dict | None, new: bool) -> None:
    """Validate the form's use case and keep it in the workspace (its status is kept)."""
    if document is None:
        return
    try:
        edited = use_cases.from_dict(document, tr("usecase.form.where"))
        if new and edited.id in tracked:
            st.error(tr("usecase.exists", id=edited.id))
            return
        use_cases.save_use_case(ws, edited, by)
    except WorkbenchError as exc:
        st.error(str(exc))
        return
    st.session_state[USE_CASE_FLASH] = tr("usecase.saved", name=edited.name_in(lang))
    st.rerun()


trait_options = sorted({*traits.BUILT_IN_NAMES, *traits.trait_names(cur),
                        *(t.name for t in traits.declared(cur))})
with edit_tab:
    _save(forms.use_case_form(cur, use_case, f"edit_{picked}", trait_options), new=False)
with new_tab:
    st.caption(tr("usecase.new_help"))
    _save(forms.use_case_form(cur, None, "new_use_case", trait_options), new=True)
