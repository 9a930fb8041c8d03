"""Matching run: train the model, read its evidence, predict and cluster at a threshold."""
from __future__ import annotations

import streamlit as st

from cdp_core import i18n, matching, model_evidence
from cdp_core.errors import WorkbenchError
from ui import widgets
from ui.state import language, tr, workspace

ws = workspace()
st.title(tr("run.title"))
cur = ws.cursor()
settings = matching.load_settings(cur)
if settings is None:
    st.info(tr("run.no_settings"))
    st.page_link("app_pages/matching.py", label=tr("nav.matching"), icon=":material/tune:")
    st.stop()


def progress_bar() -> matching.Progress:
    """A Streamlit progress bar as a progress callback."""
    bar = st.progress(0.0)
    return lambda fraction, message: bar.progress(min(1.0, fraction), text=message)


if st.button(tr("run.train"), type="primary", help=tr("run.train_help")):
    try:
        with ws.transaction() as tx:
            matching.build_match_input(tx, settings)
        labels = matching.saved_labels(cur)
        matching.train(ws, settings, labels if len(labels) else None, progress=progress_bar())
    except WorkbenchError as exc:
        st.error(str(exc))

try:
    model = matching.load_model(cur)
except WorkbenchError:
    st.info(tr("run.no_model"))
    st.stop()

lang = language()
st.caption(tr("run.model", id=model.model_id, labels=tr("run.with_labels")
              if model.trained_with_labels else tr("run.without_labels")))
if model.notes:
    with st.expander(tr("run.notes", n=len(model.notes))):
        st.markdown("\n".join(f"- {note}" for note in model.notes))

st.subheader(tr("run.predict_title"))
threshold = st.slider(tr("review.threshold"), 0.05, 0.99, float(model.threshold), 0.01)
left, right = st.columns(2)
try:
    if left.button(tr("run.predict"), type="primary"):
        matching.predict(ws, model, threshold, progress=progress_bar())
    if right.button(tr("run.recluster"), help=tr("run.recluster_help")):
        matching.recluster(ws, threshold)
except WorkbenchError as exc:
    st.error(str(exc))
last = matching.last_run(cur)
if last is not None:
    widgets.metric_tiles([
        (tr("run.records"), i18n.fmt_number(last.records, lang)),
        (tr("run.links"), i18n.fmt_number(last.pairs, lang)),
        (tr("run.people"), i18n.fmt_number(last.clusters, lang)),
        (tr("run.threshold_used"), i18n.fmt_number(last.threshold, lang, 2))])

st.subheader(tr("run.evidence"))
evidence = model_evidence.weights_table(model.splink_model)
weights, parameters = st.tabs([tr("run.weights"), tr("run.m_u")])
with weights:
    st.caption(tr("run.weights_help"))
    st.plotly_chart(widgets.match_weights_figure(evidence), width="stretch")
with parameters:
    st.caption(tr("run.m_u_help"))
    st.plotly_chart(widgets.m_u_figure(evidence), width="stretch")
st.download_button(tr("run.download_model"), model.to_json(), file_name="matching_model.json",
                   icon=":material/download:")
