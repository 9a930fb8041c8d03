"""Customer 360: find a customer, then see their profile, every source record and their history."""
from __future__ import annotations

import plotly.express as px
import streamlit as st

from cdp_core import customer360, i18n
from ui import widgets
from ui.people import pick_person
from ui.state import language, tr, workspace

ws = workspace()
st.title(tr("c360.title"))
cur = ws.cursor()
if not customer360.has_people(cur):
    st.info(tr("c360.no_people"))
    st.stop()
with st.spinner(tr("c360.indexing")):
    customer360.prepare_search(ws)
person = pick_person()
if person is None:
    st.stop()

lang = language()
records = customer360.person_records(cur, person)
events = customer360.timeline(cur, person)
card = customer360.profile_card(cur, person, records)
summary = customer360.timeline_summary(events)


def shown(value: object) -> str:
    """A value as the page shows it, in the user's language."""
    return i18n.fmt_value(value, lang)


with st.container(border=True):
    st.subheader(card["full_name"] or tr("c360.no_name"))
    st.caption(tr("c360.from_golden" if card["golden"] else "c360.from_records",
                  n=len(records), person=person))
    details = st.columns(3)
    for column, name in zip(details, ("email", "phone", "city"), strict=True):
        column.markdown(f"**{tr(f'c360.field.{name}')}**  \n{shown(card[name])}")
    badges = []
    for name in ("consent_email", "consent_sms"):
        state = "unknown" if card[name] is None else "yes" if card[name] else "no"
        colour = {"yes": "green", "no": "red", "unknown": "gray"}[state]
        badges.append(f":{colour}-badge[{tr(f'c360.{name}_{state}')}]")
    st.markdown(" ".join(badges))

widgets.metric_tiles([
    (tr("c360.orders"), i18n.fmt_number(summary["orders"], lang)),
    (tr("c360.revenue"), i18n.fmt_money(summary["revenue"], lang, 0)),
    (tr("c360.last_order"), shown(summary["last_order"])),
    (tr("c360.carts"), i18n.fmt_number(summary["carts"], lang)),
    (tr("c360.contacts"), i18n.fmt_number(summary["contacts"], lang)),
    (tr("c360.campaign_sends"), i18n.fmt_number(summary["campaign_sends"], lang))], per_row=3)

st.subheader(tr("c360.records", n=len(records)))
side = customer360.records_side_by_side(records)
differs = set(side.attrs["differs"])
table = side.map(shown)
table.index = [tr(f"c360.field.{f}") for f in side.index]
marked = {tr(f"c360.field.{f}") for f in differs}
st.dataframe(table.style.apply(lambda row: ["background-color: #fdae6133" if row.name in marked
                                            else ""] * len(row), axis=1),
             width="stretch", height=38 + 35 * len(table))
st.caption(tr("c360.differs"))

st.subheader(tr("c360.timeline", n=len(events)))
if events.empty:
    st.info(tr("c360.no_events"))
    st.stop()
plotted = events.assign(
    kind=events["kind"].map(lambda k: tr(f"kind.{k}")),
    size=events["amount"].fillna(0).clip(lower=0) + 8,
    amount=events["amount"].map(lambda a: i18n.fmt_money(a, lang)),
    detail=events["detail"].fillna(""))
figure = px.scatter(plotted, x="event_at", y="kind", color="source", size="size", size_max=28,
                    hover_data={"amount": True, "channel": True, "detail": True, "size": False,
                                "kind": False},
                    labels={"event_at": "", "kind": "", "source": tr("c360.col.source"),
                            "amount": tr("c360.col.amount"), "channel": tr("c360.col.channel"),
                            "detail": tr("c360.col.detail")})
figure.update_layout(height=120 + 60 * plotted["kind"].nunique(), margin=dict(l=0, r=0, t=10, b=0),
                     legend=dict(orientation="h", y=-0.25))
st.plotly_chart(figure, width="stretch")
listed = events.fillna({"channel": "—", "detail": "—"}).assign(
                       kind=events["kind"].map(lambda k: tr(f"kind.{k}")),
                       event_at=events["event_at"].dt.strftime("%Y-%m-%d %H:%M"),
                       amount=events["amount"].map(lambda a: i18n.fmt_money(a, lang)))
st.dataframe(listed, hide_index=True, width="stretch", column_config={
    c: st.column_config.TextColumn(tr(f"c360.col.{c}")) for c in listed.columns})
