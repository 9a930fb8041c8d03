"""Segments on the demo company: sizes, saving, memberships, overlap and consented exports,
each checked against pandas over the tables read back (golden.profiles, .traits, .events)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from cdp_core import catalog, segments, traits
from cdp_core.errors import InputError
from cdp_core.segments import PressureRule, Segment
from cdp_core.workspace import Workspace
from tests.conftest import snapshot

DAY = pd.Timedelta(days=1)
BIG_RECENT_ORDER = {"event": "orders", "did": True, "within_days": 30, "amount_gt": 50}
# Spent over 50 € in one order in the last 30 days, or ordered twice in 90 days; and can be
# written to (e-mail consent) or lives somewhere known.
NESTED = {"all": [
    {"any": [BIG_RECENT_ORDER,
             {"event": "orders", "at_least": 2, "within_days": 90}]},
    {"any": [{"field": "consent_email", "op": "eq", "value": True},
             {"not": {"field": "city", "op": "is_empty"}}]},
]}


@pytest.fixture
def demo(unified_ws: Workspace) -> Workspace:
    """The unified demo, a private copy for each test."""
    return unified_ws


def _base(workspace: Workspace) -> pd.DataFrame:
    """Profiles with their traits, as pandas joins them."""
    cur = workspace.cursor()
    profiles = cur.execute("SELECT * FROM golden.profiles").df()
    traits = cur.execute("SELECT * FROM golden.traits").df()
    return profiles.merge(traits, on="person_id", how="left")


def _events(workspace: Workspace) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Every event with its person, and the data's "today": the latest event."""
    events = workspace.cursor().execute("SELECT person_id, kind, channel_group, event_at, "
                                        "amount FROM golden.events").df()
    return events, events["event_at"].max()


def _filled(column: pd.Series) -> pd.Series:
    return column.fillna("").astype(str).str.strip() != ""


def _yes(column: pd.Series) -> pd.Series:
    return column.fillna(False).astype(bool)


def _reachable(base: pd.DataFrame, channel: str) -> set[str]:
    consent, contact = {"email": ("consent_email", "email"), "sms": ("consent_sms", "phone"),
                        "ads": ("consent_email", "email")}[channel]
    return set(base.loc[_yes(base[consent]) & _filled(base[contact]), "person_id"])


def _event_people(events: pd.DataFrame, reference: Any, kind: str, at_least: int = 1,
                  within_days: int | None = None, amount_gt: float | None = None) -> set[str]:
    """People with at least ``at_least`` events passing the filters, in pandas."""
    chosen = events[events["kind"] == kind]
    if within_days:
        chosen = chosen[chosen["event_at"] > reference - within_days * DAY]
    if amount_gt is not None:
        chosen = chosen[chosen["amount"] > amount_gt]
    counts = chosen.groupby("person_id").size()
    return set(counts[counts >= at_least].index)


def _nested_members(workspace: Workspace) -> set[str]:
    base, (events, reference) = _base(workspace), _events(workspace)
    buyers = (_event_people(events, reference, "orders", within_days=30, amount_gt=50)
              | _event_people(events, reference, "orders", at_least=2, within_days=90))
    contactable = set(base.loc[_yes(base["consent_email"]) | _filled(base["city"]),
                               "person_id"])
    return buyers & contactable


def _members(workspace: Workspace, name: str) -> set[str]:
    segment_id = workspace.cursor().execute("SELECT segment_id FROM meta.segments WHERE name = ?",
                                            [name]).fetchone()[0]
    return {row[0] for row in workspace.cursor().execute(
        "SELECT person_id FROM segments.members WHERE segment_id = ?", [segment_id]).fetchall()}


# --------------------------------------------------------------------------- sizing


def test_size_share_and_reach_of_a_nested_segment_with_an_event_condition(
        demo: Workspace) -> None:
    base = _base(demo)
    expected = _nested_members(demo)
    assert 10 < len(expected) < len(base)  # the demo makes this a real choice
    size = segments.size(demo.cursor(), NESTED)
    assert size.members == len(expected)
    assert size.base == len(base)
    assert size.share == pytest.approx(len(expected) / len(base))
    assert size.reachable_email == len(expected & _reachable(base, "email"))
    assert size.reachable_sms == len(expected & _reachable(base, "sms"))


def test_did_and_did_not_with_counts_split_the_base(demo: Workspace) -> None:
    base, (events, reference) = _base(demo), _events(demo)
    everyone = set(base["person_id"])
    for at_least in (1, 2, 3):
        rule = {**BIG_RECENT_ORDER, "within_days": 365, "at_least": at_least}
        did = _event_people(events, reference, "orders", at_least, 365, 50) & everyone
        assert segments.size(demo.cursor(), rule).members == len(did)
        assert (segments.size(demo.cursor(), {**rule, "did": False}).members
                == len(everyone - did))


def test_preview_shows_the_biggest_spenders_among_the_members(demo: Workspace) -> None:
    frame = segments.preview(demo.cursor(), NESTED, limit=10)
    assert list(frame.columns) == [c for c in segments.PREVIEW_FIELDS
                                   if c != "purchase_propensity"]  # no scores table yet
    base = _base(demo)
    members = base[base["person_id"].isin(_nested_members(demo))]
    expected = members.sort_values(["revenue", "person_id"], ascending=[False, True]).head(10)
    assert frame["person_id"].tolist() == expected["person_id"].tolist()
    assert frame["revenue"].tolist() == pytest.approx(expected["revenue"].tolist())


def test_explain_sizes_each_top_condition_alone(demo: Workspace) -> None:
    base, (events, reference) = _base(demo), _events(demo)
    rule = {"all": [BIG_RECENT_ORDER, {"field": "city", "op": "eq", "value": "Lyon"},
                    {"field": "revenue", "op": "gt", "value": 10**9}]}
    table = segments.explain(demo.cursor(), rule)
    assert table["people"].tolist() == [
        len(_event_people(events, reference, "orders", within_days=30, amount_gt=50)),
        int((base["city"] == "Lyon").sum()), 0]
    assert table["condition"].str.len().gt(0).all()
    assert "Lyon" in table["condition"][1]


def test_a_wrong_rule_is_a_clear_message_and_saves_nothing(demo: Workspace) -> None:
    before = snapshot(demo)
    for rule in ({"all": []}, {"field": "shoe_size", "op": "gt", "value": 42},
                 {"field": "revenue", "op": "between", "value": [100, 1]},
                 {"segment": "Nobody saved me"}):
        with pytest.raises(InputError):
            segments.size(demo.cursor(), rule)
        with pytest.raises(InputError):
            segments.save(demo, Segment("Broken", rule))
    with pytest.raises(InputError):
        segments.save(demo, Segment("Bad channel", {"field": "city", "op": "is_empty"},
                                    channel="fax"))
    assert snapshot(demo) == before


# --------------------------------------------------------------------------- saving


def _std_table(cur: Any, source: str) -> str:
    source_id = cur.execute("SELECT source_id FROM meta.sources WHERE name = ?",
                            [source]).fetchone()[0]
    return catalog.table_names(source_id, catalog.current_version(cur, source_id))[1]


def test_dynamic_segments_follow_the_data_static_ones_keep_their_snapshot(
        demo: Workspace) -> None:
    lyon = {"field": "city", "op": "eq", "value": "Lyon"}
    loyal = {"field": "orders_365d", "op": "ge", "value": 3}
    for name, rule, mode in (("Lyon now", lyon, "dynamic"), ("Lyon then", lyon, "static"),
                             ("Loyal now", loyal, "dynamic"), ("Loyal then", loyal, "static")):
        segments.save(demo, Segment(name, rule, mode=mode), by="test")
    base = _base(demo)
    lyon_before = set(base.loc[base["city"] == "Lyon", "person_id"])
    loyal_before = set(base.loc[base["orders_365d"] >= 3, "person_id"])
    assert _members(demo, "Lyon now") == _members(demo, "Lyon then") == lyon_before
    assert _members(demo, "Loyal now") == _members(demo, "Loyal then") == loyal_before

    # New data: five people move to Lyon, and every store receipt arrives a second time.
    movers = sorted(set(base["person_id"]) - lyon_before)[:5]
    with demo.transaction() as cur:
        cur.execute("UPDATE golden.profiles SET city = 'Lyon' WHERE list_contains(?, person_id)",
                    [movers])
        receipts = _std_table(cur, "Store receipts")
        cur.execute(f"INSERT INTO {receipts} SELECT * REPLACE (event_id || '-bis' AS event_id) "  # noqa: S608
                    f"FROM {receipts}")
    traits.refresh(demo)
    after = _base(demo)
    loyal_after = set(after.loc[after["orders_365d"] >= 3, "person_id"])
    assert loyal_after > loyal_before
    assert segments.refresh(demo) == 2
    assert _members(demo, "Lyon now") == lyon_before | set(movers)
    assert _members(demo, "Loyal now") == loyal_after
    assert _members(demo, "Lyon then") == lyon_before
    assert _members(demo, "Loyal then") == loyal_before
    assert segments.refresh(demo, "Lyon then") == 0
    with pytest.raises(InputError):
        segments.refresh(demo, "Lyon later")

    history = segments.history(demo.cursor(), ["Lyon now", "Lyon then"])
    assert history.groupby("name")["size"].apply(list).to_dict() == {
        "Lyon now": [len(lyon_before), len(lyon_before) + 5], "Lyon then": [len(lyon_before)]}
    saved = segments.saved(demo.cursor()).set_index("name")
    assert saved.loc["Lyon now", "size"] == len(lyon_before) + 5
    assert saved.loc["Lyon then", "size"] == len(lyon_before)
    assert saved.loc["Loyal now", "size"] == len(loyal_after)
    assert saved.loc["Lyon now", "mode"] == "dynamic"


def test_saving_again_replaces_the_segment(demo: Workspace) -> None:
    segments.save(demo, Segment("Paris", {"field": "city", "op": "eq", "value": "Paris"}))
    segments.save(demo, Segment("Paris", {"field": "city", "op": "eq", "value": "Lyon"},
                                description="moved"))
    base = _base(demo)
    assert segments.names(demo.cursor()).count("Paris") == 1
    assert segments.get(demo.cursor(), "Paris").description == "moved"
    assert _members(demo, "Paris") == set(base.loc[base["city"] == "Lyon", "person_id"])


def test_member_and_not_member_of_a_saved_segment(demo: Workspace) -> None:
    hostile = "Clients' \"VIP\"; DROP TABLE golden.profiles; --"
    segments.save(demo, Segment(hostile, NESTED, mode="static"))
    inside = _nested_members(demo)
    base = _base(demo)
    everyone = set(base["person_id"])
    cur = demo.cursor()
    assert segments.size(cur, {"segment": hostile}).members == len(inside)
    assert segments.size(cur, {"segment": hostile, "member": False}).members == len(
        everyone - inside)
    consented = set(base.loc[_yes(base["consent_sms"]), "person_id"])
    both = {"all": [{"segment": hostile}, {"field": "consent_sms", "op": "eq", "value": True}]}
    assert segments.size(cur, both).members == len(inside & consented)
    segments.save(demo, Segment("Built on it", {"not": {"segment": hostile}}))
    assert _members(demo, "Built on it") == everyone - inside
    assert segments.get(cur, hostile).name == hostile


def test_a_segment_in_use_cannot_be_deleted(demo: Workspace) -> None:
    segments.save(demo, Segment("Base", {"field": "orders", "op": "ge", "value": 1}))
    segments.save(demo, Segment("Built", {"all": [{"segment": "Base"},
                                                  {"field": "city", "op": "not_empty"}]}))
    before = snapshot(demo)
    with pytest.raises(InputError, match="'Built'"):
        segments.delete(demo, "Base")
    assert snapshot(demo) == before
    segments.delete(demo, "Built")
    segments.delete(demo, "Base")
    cur = demo.cursor()
    assert segments.names(cur) == []
    assert cur.execute("SELECT count(*) FROM segments.members").fetchone()[0] == 0
    assert cur.execute("SELECT count(*) FROM meta.segment_sizes").fetchone()[0] == 0
    with pytest.raises(InputError):
        segments.delete(demo, "Base")


def test_a_circle_of_memberships_is_refused_and_saves_nothing(demo: Workspace) -> None:
    segments.save(demo, Segment("A", {"field": "city", "op": "eq", "value": "Lyon"}))
    segments.save(demo, Segment("B", {"all": [{"segment": "A"},
                                              {"field": "orders", "op": "ge", "value": 1}]}))
    before = snapshot(demo)
    with pytest.raises(InputError, match="circle"):
        segments.save(demo, Segment("A", {"not": {"segment": "B"}}))
    with pytest.raises(InputError, match="circle"):
        segments.save(demo, Segment("A", {"any": [{"segment": "A"}, {"segment": "B"}]}))
    assert snapshot(demo) == before
    assert segments.get(demo.cursor(), "A").rule == {"field": "city", "op": "eq",
                                                     "value": "Lyon"}
    assert segments.refresh(demo) == 2


def test_overlap_matrix_is_the_set_intersections(demo: Workspace) -> None:
    rules = {"Lyon or Paris": {"field": "city", "op": "in", "value": ["Lyon", "Paris"]},
             "Buyers": {"field": "orders", "op": "ge", "value": 1},
             "Recent big order": BIG_RECENT_ORDER,
             "Nobody": {"field": "revenue", "op": "gt", "value": 10**9}}
    for name, rule in rules.items():
        segments.save(demo, Segment(name, rule, mode="static"))
    members = {name: _members(demo, name) for name in rules}
    matrix = segments.overlap(demo.cursor(), list(rules))
    assert len(matrix) == len(rules) ** 2
    for row in matrix.itertuples():
        both = len(members[row.row] & members[row.column])
        assert row.people == both, (row.row, row.column)
        own = len(members[row.row])
        assert row.share == pytest.approx(both / own if own else 0.0)
    diagonal = matrix[matrix["row"] == matrix["column"]].set_index("row")["people"]
    assert diagonal.to_dict() == {name: len(people) for name, people in members.items()}


# --------------------------------------------------------------------------- exports

INJECTIONS = ('=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)")


@pytest.fixture
def audience(demo: Workspace) -> tuple[Workspace, set[str]]:
    """A static segment of buyers, four of whom (e-mail consent and address held) carry a
    spreadsheet formula in their first name."""
    base = _base(demo)
    buyers = base[base["orders"] > 0]
    targets = sorted(set(buyers["person_id"]) & _reachable(base, "email"))[:len(INJECTIONS)]
    with demo.transaction() as cur:
        for person_id, formula in zip(targets, INJECTIONS, strict=True):
            cur.execute("UPDATE golden.profiles SET first_name = ? WHERE person_id = ?",
                        [formula, person_id])
    traits.refresh(demo)  # segments read the profiles as of the last refresh
    segments.save(demo, Segment("Buyers", {"field": "orders", "op": "gt", "value": 0},
                                channel="email", mode="static"))
    return demo, set(buyers["person_id"])


def _export_counts(workspace: Workspace) -> tuple[int, int]:
    cur = workspace.cursor()
    return (cur.execute("SELECT count(*) FROM meta.segment_exports").fetchone()[0],
            cur.execute("SELECT count(*) FROM meta.audit_log WHERE action = 'segment export'"
                        ).fetchone()[0])


@pytest.mark.parametrize("channel", ["email", "sms", "ads"])
def test_an_export_keeps_only_consented_people_with_a_contact(
        audience: tuple[Workspace, set[str]], tmp_path: Path, channel: str) -> None:
    demo, buyers = audience
    base = _base(demo)
    result = segments.export(demo, "Buyers", tmp_path / "out.csv", channel=channel,
                             pressure=PressureRule(enabled=False))
    written = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    expected = buyers & _reachable(base, channel)
    assert set(written["person_id"]) == expected
    assert (result.rows, result.members) == (len(expected), len(buyers))
    assert result.excluded_consent == len(buyers - expected)
    assert result.excluded_pressure == 0


def test_ads_exports_hash_emails_and_phones_and_hold_no_raw_contact(
        audience: tuple[Workspace, set[str]], tmp_path: Path) -> None:
    demo, buyers = audience
    base = _base(demo).set_index("person_id")
    segments.export(demo, "Buyers", tmp_path / "ads.csv", channel="ads",
                    pressure=PressureRule(enabled=False))
    written = pd.read_csv(tmp_path / "ads.csv", dtype=str, keep_default_na=False)
    assert list(written.columns) == ["person_id", "email_sha256", "phone_sha256"]
    for row in written.itertuples():
        email = base.loc[row.person_id, "email"]
        assert row.email_sha256 == hashlib.sha256(email.strip().lower().encode()).hexdigest()
        phone = base.loc[row.person_id, "phone"]
        assert row.phone_sha256 == (hashlib.sha256(phone.strip().lower().encode()).hexdigest()
                                    if isinstance(phone, str) else "")
    text = (tmp_path / "ads.csv").read_text(encoding="utf-8")
    assert "@" not in text
    assert not any(email in text for email in base["email"].dropna())


def test_hashed_email_export_on_request(audience: tuple[Workspace, set[str]],
                                        tmp_path: Path) -> None:
    demo, _ = audience
    result = segments.export(demo, "Buyers", tmp_path / "hashed.parquet", channel="email",
                             hashed=True, columns=["person_id", "email", "city"],
                             pressure=PressureRule(enabled=False))
    written = pd.read_parquet(tmp_path / "hashed.parquet")
    assert list(written.columns) == result.columns == ["person_id", "email_sha256", "city"]
    assert not written["email_sha256"].str.contains("@").any()
    assert demo.cursor().execute("SELECT hashed FROM meta.segment_exports").fetchone()[0]


def test_formulas_are_neutralised_in_csv_and_xlsx_but_kept_in_parquet(
        audience: tuple[Workspace, set[str]], tmp_path: Path) -> None:
    demo, _ = audience
    for suffix in (".csv", ".xlsx", ".parquet"):
        segments.export(demo, "Buyers", tmp_path / f"out{suffix}",
                        pressure=PressureRule(enabled=False))
    csv = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    parquet = pd.read_parquet(tmp_path / "out.parquet")
    book = openpyxl.load_workbook(tmp_path / "out.xlsx")
    cells = [cell for row in book.active.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    xlsx_values = {cell.value for cell in cells}
    for formula in INJECTIONS:
        assert ("'" + formula) in set(csv["first_name"])
        assert ("'" + formula) in xlsx_values
        assert formula in set(parquet["first_name"])
    assert not csv["first_name"].str.startswith(("=", "+", "-", "@")).any()
    assert len(csv) == len(parquet) == book.active.max_row - 1


def test_marketing_pressure_leaves_out_people_recently_sent_campaigns(
        audience: tuple[Workspace, set[str]], tmp_path: Path) -> None:
    demo, buyers = audience
    base, (events, reference) = _base(demo), _events(demo)
    segments.save_pressure_rule(demo, PressureRule(max_messages=1, period_days=3650))
    assert segments.pressure_rule(demo.cursor()) == PressureRule(1, 3650)
    result = segments.export(demo, "Buyers", tmp_path / "out.xlsx")
    consented = buyers & _reachable(base, "email")
    solicited = _event_people(events, reference, "campaign_sends", within_days=3650)
    assert 0 < len(consented & solicited) < len(consented)
    assert result.excluded_pressure == len(consented & solicited)
    written = pd.read_excel(tmp_path / "out.xlsx", dtype=str)
    assert set(written["person_id"]) == consented - solicited
    # a looser rule given for one export wins over the saved one
    loose = segments.export(demo, "Buyers", tmp_path / "loose.csv",
                            pressure=PressureRule(max_messages=10**6, period_days=1))
    assert (loose.excluded_pressure, loose.rows) == (0, len(consented))


def test_exporting_a_dynamic_segment_refreshes_it_first(demo: Workspace,
                                                      tmp_path: Path) -> None:
    segments.save(demo, Segment("Nice", {"field": "city", "op": "eq", "value": "Nice"},
                                channel="store"))
    base = _base(demo)
    movers = sorted(base.loc[base["city"] != "Nice", "person_id"])[:3]
    with demo.transaction() as cur:
        cur.execute("UPDATE golden.profiles SET city = 'Nice' WHERE list_contains(?, person_id)",
                    [movers])
    traits.refresh(demo)
    result = segments.export(demo, "Nice", tmp_path / "nice.csv")
    written = pd.read_csv(tmp_path / "nice.csv", dtype=str, keep_default_na=False)
    expected = set(base.loc[base["city"] == "Nice", "person_id"]) | set(movers)
    assert set(written["person_id"]) == expected  # the store channel needs no consent
    assert result.excluded_consent == 0


def test_each_export_is_logged_once_without_personal_data(
        audience: tuple[Workspace, set[str]], tmp_path: Path) -> None:
    demo, _ = audience
    base = _base(demo)
    exports_before, audits_before = _export_counts(demo)
    result = segments.export(demo, "Buyers", tmp_path / "out.csv", by="analyst")
    assert _export_counts(demo) == (exports_before + 1, audits_before + 1)
    log = segments.exports_log(demo.cursor()).iloc[0]
    assert (log["name"], log["channel"], log["file_format"], log["rows"]) == (
        "Buyers", "email", "csv", result.rows)
    details = " ".join(row[0] for row in demo.cursor().execute(
        "SELECT detail FROM meta.audit_log WHERE detail IS NOT NULL").fetchall())
    people_values = [str(v) for column in ("first_name", "last_name", "email", "phone")
                     for v in base[column].dropna() if len(str(v)) > 3]
    assert not [value for value in people_values if value in details]
    assert "@" not in details


@pytest.mark.parametrize(("name", "file_name"), [
    ("Nobody knows me", "out.csv"),
    ("Buyers", "out.json"),
    ("Buyers", "out"),
    ("Buyers'; DROP TABLE meta.segments; --", "out.xlsx"),
])
def test_an_unknown_segment_or_format_writes_nothing(
        audience: tuple[Workspace, set[str]], tmp_path: Path, name: str,
        file_name: str) -> None:
    demo, _ = audience
    folder = tmp_path / "exports"
    folder.mkdir()
    before = snapshot(demo)
    with pytest.raises(InputError):
        segments.export(demo, name, folder / file_name)
    assert list(folder.iterdir()) == []
    assert snapshot(demo) == before


def test_the_saved_rule_round_trips_as_json(demo: Workspace) -> None:
    """What the page stores is what it gets back, hostile text and nesting included."""
    rule = {"any": [{"field": "first_name", "op": "in", "value": ["Zoë", "O'Brien", "😀"]},
                    {"not": {"event": "carts", "where": {"property": "statut",
                                                         "equals": "abandoned"}}}]}
    segments.save(demo, Segment("Round trip", rule, description="d'été; --",
                                channel="sms", mode="static", use_case="abandoned_cart"))
    stored = segments.get(demo.cursor(), "Round trip")
    assert stored == Segment("Round trip", rule, "d'été; --", "sms", "static", "abandoned_cart")
    assert json.loads(demo.cursor().execute("SELECT rule FROM meta.segments").fetchone()[0]) == rule


def test_a_name_that_is_not_valid_text_is_an_input_error(demo: Workspace,
                                                          tmp_path: Path) -> None:
    name = "VIP \ud800"
    before = snapshot(demo)
    with pytest.raises(InputError):
        segments.save(demo, Segment(name, {"field": "orders", "op": "gt", "value": 0}))
    for call in (lambda: segments.get(demo.cursor(), name),
                 lambda: segments.delete(demo, name),
                 lambda: segments.export(demo, name, tmp_path / "out.csv"),
                 lambda: segments.overlap(demo.cursor(), [name])):
        with pytest.raises(InputError):
            call()
    assert snapshot(demo) == before
