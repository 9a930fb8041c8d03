"""Finding a person: the search box and results table shared by Customer 360 and Privacy."""
from __future__ import annotations

import streamlit as st

from cdp_core import customer360
from ui.state import PERSON_PICK, PERSON_QUERY, tr, workspace


def pick_person() -> str | None:
    """A search box, the people it finds as a table to pick from; the person picked."""
    query = st.text_input(tr("people.search"), key=PERSON_QUERY,
                          placeholder=tr("people.placeholder"))
    if not query.strip():
        st.caption(tr("people.hint"))
        return None
    found = customer360.search(workspace().cursor(), query)
    if found.empty:
        st.info(tr("people.none", query=query.strip()))
        return None
    shown = found.assign(matched_on=found["matched_on"].map(lambda k: tr(f"people.by_{k}")))
    headers = {c: st.column_config.TextColumn(tr(f"people.col_{c}")) for c in shown.columns}
    picked = st.dataframe(shown, hide_index=True, column_config=headers, width="stretch",
                          on_select="rerun", selection_mode="single-row", key=PERSON_PICK)
    rows = picked.selection.rows
    if len(found) > 1 and not rows:
        st.caption(tr("people.pick"))
        return None
    return str(found["person_id"].iloc[rows[0] if rows else 0])
