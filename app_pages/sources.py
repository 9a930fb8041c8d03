"""Sources: upload a file, check its preview and mapping, ingest it; manage versions."""
from __future__ import annotations

import streamlit as st

from cdp_core import catalog, ingest, mapping
from cdp_core.errors import WorkbenchError
from ui import forms, widgets
from ui.state import selected_source, tr, workspace

ws = workspace()
st.title(tr("sources.title"))
add_tab, manage_tab = st.tabs([tr("sources.add"), tr("sources.manage")])
known = catalog.all_sources(ws.cursor())
profile_names = [s.name for s in known if s.kind == mapping.PROFILE_KIND]

with add_tab:
    uploaded = st.file_uploader(tr("sources.upload"),
                                type=["csv", "txt", "tsv", "xlsx", "parquet", "jsonl", "json"])
    if uploaded is not None:
        path = forms.save_upload(uploaded)
        try:
            sheets = ingest.list_sheets(path) if path.suffix.lower() == ".xlsx" else []
            sheet = st.selectbox(tr("sources.sheet"), sheets) if len(sheets) > 1 else None
            first = ingest.preview_file(path, sheet=sheet)
            kind = st.selectbox(tr("sources.kind"), mapping.SOURCE_KINDS,
                                index=mapping.SOURCE_KINDS.index(first.kind),
                                format_func=lambda k: tr(f"kind.{k}"))
            preview = first if kind == first.kind else ingest.preview_file(path, sheet=sheet,
                                                                           kind=kind)
        except WorkbenchError as exc:
            st.error(str(exc))
            st.stop()
        st.caption(" · ".join(preview.notes))
        st.dataframe(preview.rows, hide_index=True, width="stretch", height=240)
        name = st.text_input(tr("sources.name"), value=path.stem.replace("_", " ").capitalize())
        meta = forms.source_meta_inputs(kind, profile_names, key="new")
        st.subheader(tr("sources.mapping"))
        st.caption(tr("sources.mapping_help"))
        chosen = forms.mapping_editor(kind, preview.columns, preview.proposed,
                                      key=f"map_{path.name}_{kind}")
        if st.button(tr("sources.ingest"), type="primary"):
            bar = st.progress(0.0)
            try:
                result = ingest.ingest_file(ws, path, name, meta=meta, mapping_override=chosen,
                                            sheet=preview.sheet,
                                            progress=lambda f, m: bar.progress(f, text=m))
            except WorkbenchError as exc:
                st.error(str(exc))
            else:
                st.success(tr("sources.ingested", name=result.source, version=result.version,
                              rows=result.rows))
                st.session_state["selected_source"] = result.source

with manage_tab:
    name = selected_source([s.name for s in known])
    if name is None:
        st.info(tr("overview.empty"))
        st.stop()
    cur = ws.cursor()
    source = catalog.require_source(cur, name)
    with st.expander(f"{tr(f'kind.{source.kind}')} · {source.department or '—'} · "
                     f"{tr(f'mode.{source.collection_mode}')}"):
        edited_meta = forms.source_meta_inputs(source.kind, profile_names, f"meta_{name}", source)
        if st.button(tr("sources.save_meta")):
            changes = {k: v for k, v in edited_meta.__dict__.items() if k != "kind"}
            try:
                catalog.edit_source(ws, name, **changes)
                st.success(tr("sources.saved_meta"))
            except WorkbenchError as exc:
                st.error(str(exc))
    history = catalog.versions(cur, source.source_id)
    st.subheader(tr("sources.versions"))
    widgets.scored_table(history, width="stretch")
    if len(history) > 1:
        newest, previous = int(history["version"].iloc[0]), int(history["version"].iloc[1])
        changes = catalog.compare_versions(cur, source.source_id, previous, newest)
        st.info(tr("sources.changes", before=previous, after=newest,
                   rows_before=changes.rows_before, rows_after=changes.rows_after,
                   added=", ".join(changes.added) or "—",
                   removed=", ".join(changes.removed) or "—"))
        old = st.selectbox(tr("sources.drop_version"), history["version"].iloc[1:].tolist())
        if st.button(tr("sources.drop")):
            catalog.drop_version(ws, name, int(old))
            st.rerun()
    st.subheader(tr("sources.mapping"))
    saved = catalog.mapping_details(cur, source.source_id)
    matches = [mapping.FieldMatch(r.field, r.column_name, r.origin, r.confidence)
               for r in saved.itertuples()]
    columns = catalog.column_catalogue(cur, source.source_id)["column"].tolist()
    edited = forms.mapping_editor(source.kind, columns, matches, key=f"remap_{name}")
    left, right = st.columns(2)
    if left.button(tr("sources.apply_mapping")):
        try:
            ingest.remap_source(ws, name, edited)
            st.success(tr("sources.remapped"))
        except WorkbenchError as exc:
            st.error(str(exc))
    right.download_button(tr("sources.download_mapping"), mapping.mapping_to_yaml(
        catalog.saved_mapping(cur, source.source_id)), file_name=f"{name}.yaml")
    imported = st.file_uploader(tr("sources.import_mapping"), type=["yaml", "yml"])
    if imported is not None and st.button(tr("sources.apply_imported")):
        try:
            ingest.remap_source(ws, name, mapping.parse_mapping_yaml(
                imported.getvalue().decode("utf-8", errors="replace"), imported.name))
            st.success(tr("sources.remapped"))
        except WorkbenchError as exc:
            st.error(str(exc))
