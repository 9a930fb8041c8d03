"""Widgets of the Use cases page: the library table, a use case's sheet and readiness, and the
form that adds or edits a use case without typing YAML."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from cdp_core import catalog, i18n, mapping, segments, use_cases
from cdp_core.errors import WorkbenchError
from cdp_core.use_cases import Kpi, TrackedUseCase, UseCase
from cdp_core.workspace import Workspace
from ui.state import USE_CASE_TABLE, language, tr

_STATUS_COLOUR = {"present": "#1a985033", "poor": "#fdae6166", "missing": "#d7302744"}
_KPI_COLUMNS = ("id", "label", "label_fr", "formula", "unit", "target", "direction", "computed")


def labelled(group: str) -> Callable[[Any], str]:
    """A format_func showing a code (family, channel...) as words: tr('usecase.<group>.<code>')."""
    return lambda code: tr(f"usecase.{group}.{code}")


def department(name: str) -> str:
    """A department in the reader's language."""
    return use_cases.department_label(name, language())


def _money(value: float) -> str:
    return i18n.fmt_money(value, language(), 0)


def library_table(overview: pd.DataFrame) -> str | None:
    """The use cases as a table (one click selects one); returns the selected id."""
    lang = language()
    shown = pd.DataFrame({
        "name": overview["name_fr" if lang == "fr" else "name"],
        "family": overview["family"].map(labelled("family")),
        "owner": overview["owner"].map(department),
        "status": overview["status"].map(labelled("status")),
        "readiness": (overview["readiness"] * 100).round(),
        "benefit": overview["benefit"].map(_money),
        "roi": overview["roi"].map(lambda v: i18n.fmt_pct(v, lang, 0)),
        "exploitation_level": overview["exploitation_level"].map(labelled("level")),
        "occurrence": overview["occurrence"].map(labelled("occurrence")),
    })
    config: dict[str, Any] = {c: st.column_config.TextColumn(tr(f"usecase.col.{c}"))
                              for c in shown.columns}
    config["readiness"] = st.column_config.ProgressColumn(
        tr("usecase.col.readiness"), min_value=0, max_value=100, format="%d %%")
    for column in ("benefit", "roi"):
        config[column] = st.column_config.TextColumn(tr(f"usecase.col.{column}"),
                                                     alignment="right")
    picked = st.dataframe(shown, hide_index=True, width="stretch", key=USE_CASE_TABLE,
                          column_config=config, on_select="rerun", selection_mode="single-row",
                          height=36 * (len(shown) + 1) + 3)
    rows = picked.selection.rows
    if overview.empty:
        return None
    return overview.iloc[rows[0] if rows else 0]["use_case_id"]


def _target(kpi: Kpi) -> str:
    lang = language()
    return {"share": lambda v: i18n.fmt_pct(v, lang, 1), "euros": _money,
            "seconds": lambda v: f"{i18n.fmt_number(v, lang)} s",
            "ratio": lambda v: i18n.fmt_number(v, lang, 1),
            "count": lambda v: i18n.fmt_number(v, lang)}[kpi.unit](kpi.target)


def sheet(use_case: UseCase) -> None:
    """What the use case is for, who shares it, how it is measured and which segments it uses."""
    lang = language()
    st.markdown(f"**{use_case.name_in(lang)}** — {use_case.goal_in(lang)}")
    st.caption(tr("usecase.shared_by", departments=", ".join(map(department,
                                                                    use_case.departments)),
                  channels=", ".join(map(labelled("channel"), use_case.channels))))
    for column, (label, value) in zip(st.columns(4), (
            (tr("usecase.benefit"), _money(use_case.benefit_per_year)),
            (tr("usecase.one_off"), _money(use_case.one_off_cost)),
            (tr("usecase.yearly"), _money(use_case.yearly_cost)),
            (tr("usecase.roi"), i18n.fmt_pct(use_case.roi, lang, 0))), strict=True):
        column.metric(label, value)
    st.caption(tr("usecase.assumption", text=use_case.benefit_assumption))
    if use_case.campaign:
        st.caption(tr("usecase.measured_by", campaign=use_case.campaign))
    kpis = pd.DataFrame({
        "kpi": [k.label_in(lang) for k in use_case.kpis],
        "formula": [k.formula for k in use_case.kpis],
        "target": [_target(k) for k in use_case.kpis],
        "direction": [tr(f"usecase.direction.{k.direction}") for k in use_case.kpis],
        "computed": [tr("common.yes" if k.computed else "common.no") for k in use_case.kpis]})
    _table(kpis)
    if use_case.segments:
        _table(pd.DataFrame({
            "segment": [s.name for s in use_case.segments],
            "channel": [tr(f"usecase.channel.{s.channel}") for s in use_case.segments],
            "description": [s.description for s in use_case.segments],
            "rule": [segments.describe(s.rule) for s in use_case.segments]}))


def _table(frame: pd.DataFrame, styled: object = None) -> None:
    config = {c: st.column_config.TextColumn(tr(f"usecase.col.{c}")) for c in frame.columns}
    if "reason" in config:
        config["reason"] = st.column_config.TextColumn(tr("usecase.col.reason"), width="large")
    st.dataframe(frame if styled is None else styled, hide_index=True, width="stretch",
                 column_config=config)


def readiness_view(ready: use_cases.Readiness) -> None:
    """The readiness score, counts per status and every item with its reason."""
    lang = language()
    counts = [(tr("usecase.readiness"), i18n.fmt_pct(ready.score, lang, 0))] + [
        (tr(f"usecase.ready.{s}").capitalize(), str(ready.count(s)))
        for s in ("present", "poor", "missing")]
    for column, (label, value) in zip(st.columns(4), counts, strict=True):
        column.metric(label, value)
    frame = ready.frame(lang)
    frame["item"] = [tr(f"field.{n}") if k == "field" else tr(f"kind.{n}") if k == "event"
                     else n for k, n in zip(frame["kind"], frame["item"], strict=True)]
    frame["kind"] = frame["kind"].map(labelled("kind"))
    colours = [f"background-color: {_STATUS_COLOUR[s]}" for s in frame["status"]]
    frame["status"] = frame["status"].map(labelled("ready"))
    _table(frame, frame.style.apply(lambda _: colours, subset=["status"]))


def _kpi_frame(current: UseCase | None) -> pd.DataFrame:
    rows = [{c: getattr(k, c) for c in _KPI_COLUMNS} for k in (current.kpis if current else ())]
    return pd.DataFrame(rows, columns=list(_KPI_COLUMNS))


def _clean(value: object) -> object:
    """Empty cells of the editors (NaN, None, '') as None."""
    return None if value is None or value == "" or (isinstance(value, float)
                                                    and value != value) else value


def use_case_form(cur: duckdb.DuckDBPyConnection, current: UseCase | None, key: str,
                  trait_options: list[str]) -> dict[str, Any] | None:
    """Every part of a use case as widgets; returns its document when the user saves."""
    was: Any = current or UseCase("", "", "", "acquisition", "", "", "Marketing", ("Marketing",),
                                  ("email",), (), use_cases.DataNeeds(), 1, "monthly", (), 0.0,
                                  "", 0.0, 0.0)
    needs = was.data_needs
    with st.form(key):
        left, right = st.columns(2)
        use_case_id = left.text_input(tr("usecase.form.id"), was.id, disabled=current is not None,
                                      help=tr("usecase.form.id_help"))
        family = right.selectbox(tr("usecase.col.family"), use_cases.FAMILIES,
                                 use_cases.FAMILIES.index(was.family),
                                 format_func=labelled("family"))
        name = left.text_input(tr("usecase.form.name"), was.name)
        name_fr = right.text_input(tr("usecase.form.name_fr"), was.name_fr)
        goal = left.text_area(tr("usecase.form.goal"), was.goal, height=90)
        goal_fr = right.text_area(tr("usecase.form.goal_fr"), was.goal_fr, height=90)
        owner = left.selectbox(tr("usecase.col.owner"), use_cases.DEPARTMENTS,
                               use_cases.DEPARTMENTS.index(was.owner), format_func=department)
        shared = right.multiselect(tr("usecase.form.departments"), use_cases.DEPARTMENTS,
                                   was.departments, format_func=department)
        channels = left.multiselect(tr("usecase.form.channels"), use_cases.CHANNELS, was.channels,
                                    format_func=labelled("channel"))
        occurrence = right.selectbox(tr("usecase.col.occurrence"), use_cases.OCCURRENCES,
                                     use_cases.OCCURRENCES.index(was.occurrence),
                                     format_func=labelled("occurrence"))
        level = left.select_slider(tr("usecase.col.exploitation_level"), use_cases.LEVELS,
                                   was.exploitation_level, format_func=labelled("level"))
        campaign = right.text_input(tr("usecase.form.campaign"), was.campaign or "",
                                    help=tr("usecase.form.campaign_help"))
        money = st.columns(3)
        benefit = money[0].number_input(tr("usecase.form.benefit"), 0.0, value=float(
            was.benefit_per_year), step=1000.0, format="%.0f")
        one_off = money[1].number_input(tr("usecase.form.one_off"), 0.0, value=float(
            was.one_off_cost), step=1000.0, format="%.0f")
        yearly = money[2].number_input(tr("usecase.form.yearly"), 0.0, value=float(
            was.yearly_cost), step=1000.0, format="%.0f")
        assumption = st.text_input(tr("usecase.form.assumption"), was.benefit_assumption)
        data = [*st.columns(2), *st.columns(2)]
        fields = data[0].multiselect(tr("usecase.form.fields"), mapping.PROFILE_FIELDS,
                                     needs.fields, format_func=lambda f: tr(f"field.{f}"),
                                     placeholder=tr("usecase.form.none"))
        chosen_traits = data[1].multiselect(tr("usecase.form.traits"), sorted(
            {*trait_options, *needs.traits}), needs.traits, placeholder=tr("usecase.form.none"))
        scores = data[2].multiselect(tr("usecase.form.scores"), use_cases.SCORES, needs.scores,
                                     format_func=labelled("score"),
                                     placeholder=tr("usecase.form.none"))
        events = data[3].multiselect(tr("usecase.form.events"), mapping.EVENT_KINDS,
                                     needs.events, format_func=lambda k: tr(f"kind.{k}"),
                                     placeholder=tr("usecase.form.none"))
        st.markdown(f"**{tr('usecase.form.kpis')}**")
        kpis = st.data_editor(_kpi_frame(current), num_rows="dynamic", width="stretch",
                              key=f"{key}_kpis", column_config=_kpi_columns())
        st.markdown(f"**{tr('usecase.form.segments')}**")
        kept = st.data_editor(pd.DataFrame(
            [{"name": s.name, "description": s.description, "channel": s.channel,
              "mode": s.mode, "rule": json.dumps(s.rule, ensure_ascii=False)}
             for s in was.segments], columns=["name", "description", "channel", "mode", "rule"]),
            num_rows="delete", width="stretch", key=f"{key}_segments", disabled=["rule"],
            column_config=_segment_columns())
        attach = st.multiselect(tr("usecase.form.attach"), segments.names(cur),
                                help=tr("usecase.form.attach_help"))
        if not st.form_submit_button(tr("usecase.form.save"), type="primary",
                                     icon=":material/save:"):
            return None
    rows = [{k: _clean(v) for k, v in row.items()} for row in kpis.to_dict("records")]
    attached = [segments.get(cur, n) for n in attach]
    return {
        "id": use_case_id.strip(), "name": name, "name_fr": name_fr, "family": family,
        "goal": goal, "goal_fr": goal_fr, "owner": owner,
        "departments": [owner, *(d for d in shared if d != owner)], "channels": channels,
        "segments": [{**{k: _clean(v) for k, v in s.items()}, "rule": json.loads(s["rule"])}
                     for s in kept.to_dict("records") if s.get("rule")]
        + [{"name": s.name, "description": s.description or s.name, "channel": s.channel,
            "mode": s.mode, "rule": s.rule} for s in attached],
        "data_needs": {"fields": fields, "traits": chosen_traits, "scores": scores,
                       "events": events},
        "exploitation_level": level, "occurrence": occurrence,
        "kpis": [{k: v for k, v in row.items() if v is not None} for row in rows
                 if any(v is not None for v in row.values())],
        "benefit": {"per_year": benefit, "assumption": assumption},
        "costs": {"one_off": one_off, "yearly": yearly},
        **({"campaign": campaign.strip()} if campaign.strip() else {}),
    }


def _kpi_columns() -> dict[str, Any]:
    config: dict[str, Any] = {c: st.column_config.TextColumn(tr(f"usecase.kpi.{c}"))
                              for c in _KPI_COLUMNS}
    config["target"] = st.column_config.NumberColumn(tr("usecase.kpi.target"),
                                                     help=tr("usecase.kpi.target_help"))
    for column, options in (("unit", use_cases.KPI_UNITS), ("direction", use_cases.DIRECTIONS),
                            ("computed", use_cases.COMPUTED_KPIS)):
        config[column] = st.column_config.SelectboxColumn(tr(f"usecase.kpi.{column}"),
                                                          options=list(options))
    return config


def _segment_columns() -> dict[str, Any]:
    return {
        "name": st.column_config.TextColumn(tr("usecase.col.segment")),
        "description": st.column_config.TextColumn(tr("usecase.col.description")),
        "channel": st.column_config.SelectboxColumn(tr("usecase.col.channel"),
                                                    options=list(use_cases.SEGMENT_CHANNELS)),
        "mode": st.column_config.SelectboxColumn(tr("usecase.col.mode"),
                                                 options=list(use_cases.SEGMENT_MODES)),
        "rule": st.column_config.TextColumn(tr("usecase.col.rule")),
    }


def installed_use_cases(ws: Workspace) -> list[TrackedUseCase]:
    """The workspace's use cases, the library's missing ones installed first (no write when
    none is missing); a hint when there is no source yet to judge readiness against."""
    try:
        use_cases.install_library(ws)
    except WorkbenchError as exc:
        st.error(str(exc))
    cur = ws.cursor()
    if not catalog.all_sources(cur):
        st.info(tr("usecase.no_sources"))
    return use_cases.workspace_use_cases(cur)
