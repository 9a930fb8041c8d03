"""The use-case library: its files, their schema, the workspace copy, data readiness and the
roadmap's prioritisation."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from pathlib import Path

import openpyxl
import pytest

from cdp_core import demo_data, golden, kpi, segments, traits, use_cases
from cdp_core.errors import InputError
from cdp_core.use_cases import DataNeeds, UseCase
from cdp_core.workspace import Workspace
from tests.conftest import ROOT

LIBRARY = sorted((ROOT / "use_cases").glob("*.yaml"))
# Columns the demo gets later than a profile build and a trait refresh: model scores and the
# traits the demo declares.
LATER_COLUMNS = {*use_cases.SCORES, "favourite_store", "stores_visited", "main_call_reason",
                 "avg_handling_time_s", "campaign_responses_365d"}


def _library() -> list[UseCase]:
    return use_cases.load_library(ROOT / "use_cases")


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_every_file_validates_and_writes_back_identically(path: Path) -> None:
    use_case = use_cases.load_file(path)
    text = use_cases.to_yaml(use_case)
    assert text == path.read_text(encoding="utf-8")  # saving an unedited file changes nothing
    assert use_cases.parse_yaml(text, path.name) == use_case


def test_library_spans_every_family_with_unique_segment_names() -> None:
    library = _library()
    assert len(library) >= 15
    assert {u.family for u in library} == set(use_cases.FAMILIES)
    names = [s.name for u in library for s in u.segments]
    assert len(names) == len(set(names))
    assert all(u.segments and u.kpis and u.benefit_per_year > 0 for u in library)
    call_centre = next(u for u in library if u.family == "call_centre")
    assert any(k.computed == "handling_time" and k.direction == "down" for k in call_centre.kpis)


def test_computed_kpis_and_campaigns_are_those_the_workspace_knows() -> None:
    campaigns = {c[0] for c in demo_data._CAMPAIGNS}
    library = _library()
    for use_case in library:
        for item in use_case.kpis:
            if item.computed:
                assert kpi.KPIS[item.computed].unit == item.unit, (use_case.id, item.id)
        assert use_case.campaign is None or use_case.campaign in campaigns
    assert sum(u.campaign is not None for u in library) >= 3


def _rule_fields(node: object) -> set[str]:
    if isinstance(node, dict):
        found = {node["field"]} if "field" in node else set()
        return found | {f for value in node.values() for f in _rule_fields(value)}
    if isinstance(node, list):
        return {f for item in node for f in _rule_fields(item)}
    return set()


def test_segments_activate_on_the_demo(matched_ws: Workspace) -> None:
    golden.build(matched_ws)
    traits.refresh(matched_ws)
    cur = matched_ws.cursor()
    known = set(segments.fields(cur))
    activated = 0
    for use_case in _library():
        for segment in use_case.segments:
            missing = _rule_fields(segment.rule) - known
            assert missing <= LATER_COLUMNS, (segment.name, missing)
            if not missing:
                size = segments.size(cur, segment.rule)
                assert 0 <= size.members <= size.base
                activated += 1
    assert activated >= 18


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("  target: 0.12\n", "  target: high\n", "kpis[0].target"),
    ("family: conversion\n", "family: promotions\n", "family: 'promotions' is not allowed"),
    ("occurrence: real_time\n", "", "occurrence: this key is missing"),
    ("owner: E-commerce\n", "owner: E-commerce\nbudget: 3\n", "budget: unknown key"),
    ("channels: [email, web]\n", "channels: [email, fax]\n", "channels[1]"),
    ("  unit: share\n  target: 0.12\n", "  unit: share\n  target: 12\n",
     "a share is written between 0 and 1"),
    ("id: abandoned_cart_relaunch\n", "id: cart_relaunch\n", "differs from the file name"),
])
def test_a_broken_file_names_itself_and_the_key(tmp_path: Path, old: str, new: str,
                                                expected: str) -> None:
    text = (ROOT / "use_cases" / "abandoned_cart_relaunch.yaml").read_text(encoding="utf-8")
    assert old in text
    _write(tmp_path, "abandoned_cart_relaunch", text.replace(old, new, 1))
    with pytest.raises(InputError) as error:
        use_cases.load_library(tmp_path)
    assert "abandoned_cart_relaunch.yaml" in str(error.value)
    assert expected in str(error.value)


def test_a_rule_must_be_a_tree_and_segment_names_unique(tmp_path: Path) -> None:
    source = ROOT / "use_cases" / "birthday_offer.yaml"
    text = source.read_text(encoding="utf-8")
    start = text.index("  rule:\n")
    end = text.index("data_needs:")
    _write(tmp_path, "birthday_offer", text[:start] + "  rule: birthday soon\n" + text[end:])
    with pytest.raises(InputError, match=r"birthday_offer.yaml: segments\[0\].rule"):
        use_cases.load_library(tmp_path)
    shutil.copy(source, tmp_path / "birthday_offer.yaml")
    _write(tmp_path, "birthday_copy", text.replace("id: birthday_offer", "id: birthday_copy"))
    with pytest.raises(InputError, match="Birthday in the next 7 days.*rename"):
        use_cases.load_library(tmp_path)


def test_workspace_copy_keeps_edits_status_and_saves_back_to_yaml(ws: Workspace,
                                                                 tmp_path: Path) -> None:
    assert use_cases.install_library(ws) == len(LIBRARY)
    assert use_cases.install_library(ws) == 0
    held = {e.use_case.id: e for e in use_cases.workspace_use_cases(ws.cursor())}
    original = held["birthday_offer"].use_case
    assert held["birthday_offer"].status == "idea"
    edited = dataclasses.replace(original, name="Birthday voucher", benefit_per_year=80_500.0)
    use_cases.save_use_case(ws, edited, "ana")
    with pytest.raises(InputError, match="activation date"):
        use_cases.set_status(ws, "birthday_offer", "active", None, "ana")
    activation = dt.date(2026, 3, 1)
    use_cases.set_status(ws, "birthday_offer", "active", activation, "ana")
    use_cases.install_library(ws)  # a later install never overwrites the team's edits
    again = {e.use_case.id: e for e in use_cases.workspace_use_cases(ws.cursor())}
    entry = again["birthday_offer"]
    assert (entry.use_case, entry.status, entry.activated_at) == (edited, "active", activation)
    path = use_cases.save_to_file(entry.use_case, tmp_path)
    assert path.name == "birthday_offer.yaml"
    assert use_cases.load_file(path) == edited
    assert "benefit:\n  per_year: 80500\n" in path.read_text(encoding="utf-8")
    details = [row[0] for row in ws.cursor().execute(
        "SELECT detail FROM meta.audit_log WHERE action LIKE 'use case%'").fetchall()]
    assert details and all("ana" not in d for d in details)


def _needing(use_case: UseCase, **needs: tuple[str, ...]) -> UseCase:
    return dataclasses.replace(use_case, data_needs=DataNeeds(**needs))


def test_readiness_on_the_demo_compares_needs_with_the_catalogue(matched_ws: Workspace) -> None:
    golden.build(matched_ws)
    cur = matched_ws.cursor()
    base = _library()[0]
    need = _needing(base, fields=("email", "phone", "country"), traits=("abandoned_carts_48h",
                                                                        "no_such_trait"),
                    scores=("churn_risk",), events=("orders", "carts"))
    ready = use_cases.readiness(cur, need)
    status = {(i.kind, i.name): i.status for i in ready.items}
    assert status[("field", "email")] == "present"
    assert status[("field", "phone")] == "present"
    assert status[("field", "country")] == "missing"  # no demo source maps a country
    assert status[("trait", "abandoned_carts_48h")] == "present"  # computed at the refresh
    assert status[("trait", "no_such_trait")] == "missing"
    assert status[("score", "churn_risk")] == "poor"  # the data is there, no model yet
    assert status[("event", "orders")] == status[("event", "carts")] == "present"
    assert ready.score == pytest.approx((5 + 0.5) / 8)
    email = next(i for i in ready.items if i.name == "email")
    assert "Web shop accounts" in email.reason("en") and "%" in email.reason("fr")
    filled = cur.execute("SELECT avg((consent_sms IS NOT NULL)::INT) FROM golden.profiles"
                         ).fetchone()[0]
    sms = use_cases.readiness(cur, _needing(base, fields=("consent_sms",))).items[0]
    assert sms.status == ("poor" if filled < use_cases.POOR_COMPLETENESS else "present")


def test_readiness_in_an_empty_workspace_is_nil(ws: Workspace) -> None:
    ready = use_cases.readiness(ws.cursor(), _library()[0])
    assert ready.score == 0
    assert {i.status for i in ready.items} == {"missing"}


def _case(use_case_id: str, *, benefit: float, one_off: float, yearly: float, level: int,
          channels: tuple[str, ...], fields: tuple[str, ...]) -> UseCase:
    return dataclasses.replace(
        _library()[0], id=use_case_id, benefit_per_year=benefit, one_off_cost=one_off,
        yearly_cost=yearly, exploitation_level=level, channels=channels,
        data_needs=DataNeeds(fields=fields, events=("orders",)))


def test_prioritise_puts_the_cheap_ready_case_first(matched_ws: Workspace) -> None:
    golden.build(matched_ws)
    cheap = _case("cheap_ready", benefit=50_000, one_off=5_000, yearly=5_000, level=1,
                  channels=("email",), fields=("email", "phone"))
    costly = _case("costly_unready", benefit=60_000, one_off=100_000, yearly=50_000, level=3,
                   channels=("email", "sms", "store", "ads"), fields=("country", "email"))
    ranked = use_cases.prioritise(matched_ws.cursor(), [costly, cheap])
    assert ranked["use_case_id"].tolist() == ["cheap_ready", "costly_unready"]
    first, second = ranked.iloc[0], ranked.iloc[1]
    assert first["value"] > second["value"] and first["complexity"] < second["complexity"]
    assert (first["readiness"], second["readiness"]) == (1.0, pytest.approx(2 / 3))
    assert first["roi"] == pytest.approx((50_000 - 5_000) / 10_000)
    plan = use_cases.waves(ranked, start=dt.date(2027, 1, 1))
    wave = dict(zip(plan["use_case_id"], plan["wave"], strict=True))
    assert wave == {"cheap_ready": 1, "costly_unready": 3}
    assert (plan["end"] > plan["start"]).all() and plan["start"].min().date() == dt.date(2027, 1, 1)


def test_weights_change_the_order_and_are_saved(matched_ws: Workspace) -> None:
    golden.build(matched_ws)
    cur = matched_ws.cursor()
    lucrative = _case("lucrative_complex", benefit=200_000, one_off=10_000, yearly=10_000,
                      level=3, channels=("email", "sms", "web"), fields=("email",))
    simple = _case("simple_modest", benefit=12_000, one_off=5_000, yearly=5_000, level=1,
                   channels=("email",), fields=("email",))
    only = {c: 0.0 for c in use_cases.CRITERIA}
    by_roi = use_cases.prioritise(cur, [simple, lucrative], only | {"roi": 1.0})
    by_effort = use_cases.prioritise(cur, [lucrative, simple],
                                     only | {"exploitation": 1.0, "channels": 1.0})
    assert by_roi["use_case_id"].iloc[0] == "lucrative_complex"
    assert by_effort["use_case_id"].iloc[0] == "simple_modest"
    assert use_cases.load_weights(cur) == use_cases.DEFAULT_WEIGHTS
    use_cases.save_weights(matched_ws, only | {"roi": 4.0, "readiness": 1.0})
    assert use_cases.load_weights(matched_ws.cursor()) == only | {"roi": 4.0, "readiness": 1.0}
    stored = matched_ws.cursor().execute("SELECT value FROM meta.settings WHERE key = ?",
                                         [use_cases.WEIGHTS_KEY]).fetchone()[0]
    assert json.loads(stored)["roi"] == 4.0
    for bad in (only, only | {"roi": -1.0}, {"luck": 1.0}):
        with pytest.raises(InputError):
            use_cases.save_weights(matched_ws, bad)


def test_roadmap_exports_for_people(ws: Workspace, tmp_path: Path) -> None:
    plan = use_cases.waves(use_cases.prioritise(ws.cursor(), _library()), start=dt.date(2027, 1, 1))
    assert set(plan["wave"]) <= {1, 2, 3} and len(plan) == len(LIBRARY)
    path = use_cases.write_roadmap(plan, tmp_path / "roadmap.xlsx", "fr")
    sheet = openpyxl.load_workbook(path).active
    header = [cell.value for cell in sheet[1]]
    assert header[:3] == ["Vague", "Rang", "Cas d'usage"]
    names = {row[2] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert "Relance des paniers abandonnés" in names
