"""Privacy & audit: a person's subject access file, their erasure, and the audit log."""
from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from cdp_core import customer360, i18n, privacy
from cdp_core.errors import WorkbenchError
from ui.people import pick_person
from ui.state import ACCESS_FILE, language, tr, workspace

ws = workspace()
st.title(tr("privacy.title"))
st.caption(tr("privacy.caption"))
cur = ws.cursor()


def access_file(person_id: str, suffix: str) -> bytes:
    """The subject access file's bytes (written, audited, then read back)."""
    with tempfile.TemporaryDirectory(prefix="cdp_access_") as folder:
        return privacy.write_subject_access(ws, person_id, Path(folder) / f"a{suffix}").read_bytes()


if not customer360.has_people(cur):
    st.info(tr("privacy.no_people"))
else:
    customer360.prepare_search(ws)
    person = pick_person()
    if person is not None:
        access, erasure = st.columns(2)
        with access.container(border=True):
            st.subheader(tr("privacy.access"))
            st.caption(tr("privacy.access_help"))
            suffix = st.radio(tr("privacy.format"), privacy.ACCESS_FORMATS, horizontal=True,
                              format_func=lambda s: tr(f"privacy.format_{s[1:]}"))
            if st.button(tr("privacy.prepare"), icon=":material/folder_zip:"):
                st.session_state[ACCESS_FILE] = (person, suffix, access_file(person, suffix))
            ready = st.session_state.get(ACCESS_FILE)
            if ready and ready[0] == person and ready[1] == suffix:
                st.download_button(tr("privacy.download"), ready[2], type="primary",
                                   file_name=f"subject_access_{person}{suffix}",
                                   icon=":material/download:")
        with erasure.container(border=True):
            st.subheader(tr("privacy.erase"))
            st.caption(tr("privacy.erase_help"))
            reason = st.selectbox(tr("privacy.reason"), privacy.ERASURE_REASONS, index=None,
                                  format_func=lambda r: tr(f"privacy.reason_{r}"),
                                  placeholder=tr("privacy.reason_pick"))
            sure = st.checkbox(tr("privacy.confirm", person=person))
            if st.button(tr("privacy.erase_button"), type="primary", icon=":material/delete:",
                         disabled=not (reason and sure)):
                try:
                    result = privacy.erase(ws, person, reason)
                except WorkbenchError as exc:
                    st.error(str(exc))
                else:
                    st.session_state.pop(ACCESS_FILE, None)
                    st.success(tr("privacy.erased", id=result.erasure_id,
                                  records=result.counts.get("records", 0),
                                  events=result.counts.get("events", 0)))

st.subheader(tr("privacy.audit"))
actions = st.multiselect(tr("privacy.actions"), privacy.audit_actions(cur),
                         placeholder=tr("privacy.all_actions"))
log = privacy.audit_log(cur, actions or None)
if log.empty:
    st.info(tr("privacy.no_log"))
else:
    log["logged_at"] = log["logged_at"].map(
        lambda t: f"{i18n.fmt_date(t, language())} {t:%H:%M:%S}")
    st.dataframe(log, hide_index=True, width="stretch", column_config={
        c: st.column_config.TextColumn(tr(f"privacy.col.{c}")) for c in log.columns})
