"""Form pieces the Sources page composes: saved uploads, the mapping editor, metadata."""
from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from cdp_core import catalog, ingest, mapping
from ui.state import UPLOADS, tr

_NONE = ""


def save_upload(uploaded: UploadedFile) -> Path:
    """Keep an uploaded file on disk (once per content) so DuckDB can stream it."""
    saved: dict[str, str] = st.session_state.setdefault(UPLOADS, {})
    digest = hashlib.sha256(uploaded.getbuffer()).hexdigest()[:16]
    if digest not in saved or not Path(saved[digest]).exists():
        folder = Path(tempfile.mkdtemp(prefix="cdp_upload_"))
        target = folder / Path(uploaded.name).name
        target.write_bytes(uploaded.getbuffer())
        saved[digest] = str(target)
    return Path(saved[digest])


def mapping_editor(kind: str, columns: list[str], proposed: list[mapping.FieldMatch],
                   key: str) -> dict[str, str]:
    """One row per canonical field with the column chosen for it; returns the user's mapping."""
    by_field = {m.field: m for m in proposed}
    frame = pd.DataFrame({
        "field": list(mapping.fields_for(kind)),
        "column": [by_field[f].column if f in by_field else _NONE
                   for f in mapping.fields_for(kind)],
        "found_by": [tr(f"origin.{by_field[f].origin}") if f in by_field else ""
                     for f in mapping.fields_for(kind)],
        "confidence": [by_field[f].confidence if f in by_field else None
                       for f in mapping.fields_for(kind)],
    })
    edited = st.data_editor(
        frame, key=key, hide_index=True, width="stretch", disabled=["field", "found_by",
                                                                    "confidence"],
        column_config={
            "field": st.column_config.TextColumn(tr("col.field")),
            "column": st.column_config.SelectboxColumn(tr("col.column"),
                                                       options=[_NONE, *columns]),
            "found_by": st.column_config.TextColumn(tr("col.found_by")),
            "confidence": st.column_config.ProgressColumn(tr("col.confidence"), min_value=0,
                                                          max_value=1, format="percent"),
        })
    return {row.field: row.column for row in edited.itertuples() if row.column}


def source_meta_inputs(kind: str, profile_sources: list[str], key: str,
                       current: catalog.SourceInfo | None = None) -> ingest.SourceMeta:
    """Department, collection mode, cadence, description (and for events, the profile source).

    With ``current``, the fields start from the source's saved values.
    """
    left, right = st.columns(2)
    department = left.text_input(tr("sources.department"), key=f"{key}_dept",
                                 value=current.department or "" if current else "")
    modes = list(ingest.COLLECTION_MODES)
    saved_mode = current.collection_mode if current else None
    mode = right.selectbox(tr("sources.collection_mode"), modes,
                           index=modes.index(saved_mode) if saved_mode in modes else 0,
                           format_func=lambda m: tr(f"mode.{m}"), key=f"{key}_mode")
    cadence = left.text_input(tr("sources.cadence"), key=f"{key}_cadence",
                              value=current.refresh_cadence or "" if current else "")
    profile_source = None
    if kind != mapping.PROFILE_KIND and profile_sources:
        choices = [None, *profile_sources]
        saved = current.profile_source if current else None
        profile_source = right.selectbox(tr("sources.profile_source"), choices,
                                         index=choices.index(saved) if saved in choices else 0,
                                         format_func=lambda s: s or tr("sources.guess"),
                                         key=f"{key}_profile")
    description = st.text_area(tr("sources.description"), key=f"{key}_description", height=68,
                               value=current.description or "" if current else "")
    return ingest.SourceMeta(kind=kind, department=department or None, collection_mode=mode,
                             refresh_cadence=cadence or None, description=description or None,
                             profile_source=profile_source)
