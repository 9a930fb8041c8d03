"""Survivorship rules and unified profiles: each rule keeps the value it promises, with lineage."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from cdp_core import golden
from cdp_core.errors import InputError
from cdp_core.golden import FieldRule, SurvivorshipRules
from cdp_core.ingest import ingest_file
from cdp_core.workspace import Workspace
from tests.conftest import DATA, ROOT

# One person (Jean Dupont) known in three sources, and one other person, as the files say it.
_WEB = (
    "id,civilite,prenom,nom,email,telephone,naissance,adresse,cp,ville,optin_email,creation,maj\n"
    "W1,M,Jean,Dupont,jean.dupont@example.fr,0611111111,1980-01-02,1 rue Alpha,75001,Paris,oui,"
    "2020-01-01,2023-06-01\n"
    "W2,Mme,Claire,Martin,claire.martin@example.fr,0633333333,1975-03-04,5 rue Beta,33000,"
    "Bordeaux,non,2021-01-01,2021-02-01\n")
_LOYALTY = """carte,prenom,nom,telephone,adresse,cp,ville,optin_email,optin_sms,adhesion,maj
L1,Jean-Pierre,Dupont,0622222222,22 avenue des Champs,69001,Lyon,non,oui,2018-05-05,2024-02-02
"""
_CALLS = """ref,prenom,email,telephone,ville,premier_contact
K1,Jean,jp.dupont@example.fr,0611111111,Marseille,2022-03-03
"""
_MAPPINGS = {
    "Web": {"record_id": "id", "civility": "civilite", "first_name": "prenom",
            "last_name": "nom", "email": "email", "phone": "telephone", "birth_date": "naissance",
            "street": "adresse", "postcode": "cp", "city": "ville",
            "consent_email": "optin_email", "created_at": "creation", "updated_at": "maj"},
    "Loyalty": {"record_id": "carte", "first_name": "prenom", "last_name": "nom",
                "phone": "telephone", "street": "adresse", "postcode": "cp", "city": "ville",
                "consent_email": "optin_email", "consent_sms": "optin_sms",
                "created_at": "adhesion", "updated_at": "maj"},
    "Calls": {"record_id": "ref", "first_name": "prenom", "email": "email",
              "phone": "telephone", "city": "ville", "created_at": "premier_contact"},
}
JEAN = "Cjean"


@pytest.fixture(scope="module")
def crafted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """The three sources ingested, and the clusters written directly: matching needs more than
    four records to train a model, so this unit test states who is who itself."""
    folder = tmp_path_factory.mktemp("crafted")
    ws = Workspace.open(folder / "ws.duckdb")
    for name, text in (("Web", _WEB), ("Loyalty", _LOYALTY), ("Calls", _CALLS)):
        path = folder / f"{name}.csv"
        path.write_text(text, encoding="utf-8")
        ingest_file(ws, path, name, mapping_override=_MAPPINGS[name])
    with ws.transaction() as cur:
        cur.execute("CREATE SCHEMA IF NOT EXISTS match")
        cur.execute("""CREATE TABLE match.clusters AS SELECT s.source_id || ':' || r AS unique_id,
            s.name AS source, r AS record_id, c AS cluster_id FROM (VALUES
            ('Web', 'W1', 'Cjean'), ('Loyalty', 'L1', 'Cjean'), ('Calls', 'K1', 'Cjean'),
            ('Web', 'W2', 'Cclaire')) v(n, r, c) JOIN meta.sources s ON s.name = v.n""")
        cur.execute("INSERT INTO meta.match_runs VALUES (1, current_timestamp, "
                    "current_timestamp, NULL, 0.9, 4, 2, 2)")
    yield ws
    ws.close()


def _jean(ws: Workspace, rules: SurvivorshipRules) -> dict:
    golden.build(ws, rules)
    profile = golden.profile_of(ws.cursor(), JEAN)
    assert profile is not None
    return profile


def _picked(profile: dict, field: str) -> tuple[object, str | None, str | None]:
    return profile[field], profile[f"{field}__source"], profile[f"{field}__record_id"]


def test_most_recent_takes_the_latest_updated_record(crafted: Workspace) -> None:
    jean = _jean(crafted, SurvivorshipRules(default="most_recent"))
    assert _picked(jean, "first_name") == ("Jean-Pierre", "Loyalty", "L1")  # updated 2024
    assert _picked(jean, "phone") == ("+33622222222", "Loyalty", "L1")
    # L1 has no e-mail: the next most recent record holding one wins (W1 2023 before K1 2022)
    assert _picked(jean, "email") == ("jean.dupont@example.fr", "Web", "W1")


def test_ignore_empty_off_lets_the_chosen_empty_value_win(crafted: Workspace) -> None:
    jean = _jean(crafted, SurvivorshipRules(default="most_recent", ignore_empty=False))
    assert _picked(jean, "email") == (None, "Loyalty", "L1")
    assert _picked(jean, "civility") == (None, "Loyalty", "L1")
    assert _picked(jean, "first_name") == ("Jean-Pierre", "Loyalty", "L1")


def test_most_frequent_takes_the_value_most_records_hold(crafted: Workspace) -> None:
    jean = _jean(crafted, SurvivorshipRules(default="most_frequent"))
    assert _picked(jean, "first_name") == ("Jean", "Web", "W1")  # W1 and K1; tie: source order
    assert _picked(jean, "phone") == ("+33611111111", "Web", "W1")
    priority = SurvivorshipRules(default="most_frequent", source_priority=("Calls",))
    assert _picked(_jean(crafted, priority), "first_name") == ("Jean", "Calls", "K1")


def test_source_priority_follows_the_list_and_puts_unlisted_sources_last(
        crafted: Workspace) -> None:
    rules = SurvivorshipRules(default="source_priority", source_priority=("Calls", "Loyalty"))
    jean = _jean(crafted, rules)
    assert _picked(jean, "email") == ("jp.dupont@example.fr", "Calls", "K1")
    assert _picked(jean, "last_name") == ("Dupont", "Loyalty", "L1")
    assert _picked(jean, "civility") == ("M", "Web", "W1")  # only the unlisted source has one
    per_field = SurvivorshipRules(overrides={"email": FieldRule("source_priority", ("Web",))})
    assert _picked(_jean(crafted, per_field), "email") == ("jean.dupont@example.fr", "Web", "W1")


def test_most_complete_longest_and_first_non_empty(crafted: Workspace) -> None:
    complete = _jean(crafted, SurvivorshipRules(default="most_complete"))
    assert _picked(complete, "first_name") == ("Jean", "Web", "W1")  # W1 fills 10 fields
    assert _picked(complete, "phone") == ("+33611111111", "Web", "W1")
    longest = _jean(crafted, SurvivorshipRules(default="longest"))
    assert _picked(longest, "first_name") == ("Jean-Pierre", "Loyalty", "L1")
    assert _picked(longest, "email") == ("jean.dupont@example.fr", "Web", "W1")
    first = _jean(crafted, SurvivorshipRules(default="first_non_empty"))
    assert _picked(first, "first_name") == ("Jean-Pierre", "Loyalty", "L1")  # created 2018
    assert _picked(first, "email") == ("jean.dupont@example.fr", "Web", "W1")  # 2020 < 2022


def test_consent_is_most_restrictive_and_dates_span_the_records(crafted: Workspace) -> None:
    jean = _jean(crafted, SurvivorshipRules(default="most_recent"))
    assert _picked(jean, "consent_email") == (False, "Loyalty", "L1")  # W1 yes, L1 no
    assert _picked(jean, "consent_sms") == (True, "Loyalty", "L1")  # the only one to say
    assert _picked(jean, "created_at") == (dt.datetime(2018, 5, 5), "Loyalty", "L1")
    assert _picked(jean, "updated_at") == (dt.datetime(2024, 2, 2), "Loyalty", "L1")
    claire = golden.profile_of(crafted.cursor(), "Cclaire")
    assert claire["consent_sms"] is None and claire["consent_sms__source"] is None
    assert claire["consent_email"] is False


def test_address_is_taken_as_a_block_from_one_record(crafted: Workspace) -> None:
    rules = SurvivorshipRules(default="most_recent",
                              overrides={"street": FieldRule("most_complete")})
    jean = _jean(crafted, rules)
    address = [_picked(jean, f) for f in ("street", "postcode", "city")]
    assert address == [("1 rue Alpha", "Web", "W1"), ("75001", "Web", "W1"),
                       ("Paris", "Web", "W1")]
    # With the block off each part follows its own rule: the city is the latest one (L1)
    stitched = _jean(crafted, SurvivorshipRules(
        default="most_recent", overrides={"street": FieldRule("most_complete")},
        address_as_block=False))
    assert _picked(stitched, "street") == ("1 rue Alpha", "Web", "W1")
    assert _picked(stitched, "city") == ("Lyon", "Loyalty", "L1")
    # K1 (a city only) comes first in the priority, yet the address with a street wins whole
    calls_first = _jean(crafted, SurvivorshipRules(default="source_priority",
                                                   source_priority=("Calls", "Loyalty")))
    assert [_picked(calls_first, f)[0] for f in ("street", "postcode", "city")] == [
        "22 avenue des Champs", "69001", "Lyon"]


def test_only_mapped_fields_appear(crafted: Workspace) -> None:
    golden.build(crafted, SurvivorshipRules())
    columns = set(golden.export_profiles(crafted.cursor(), lineage=True).columns)
    assert "country" not in columns and "country__source" not in columns
    assert {"civility", "consent_sms", "email__record_id"} <= columns


def test_rules_round_trip_and_are_saved_by_a_build(crafted: Workspace) -> None:
    rules = SurvivorshipRules(default="longest", source_priority=("Loyalty",),
                              overrides={"phone": FieldRule("source_priority", ("Calls", "Web")),
                                         "consent_sms": FieldRule("most_recent")},
                              ignore_empty=False, address_as_block=False)
    assert SurvivorshipRules.from_json(rules.to_json()) == rules
    golden.build(crafted, rules)
    assert golden.load_rules(crafted.cursor()) == rules


@pytest.mark.parametrize(("rules", "message"), [
    (SurvivorshipRules(default="newest"), "unknown survivorship rule 'newest'"),
    (SurvivorshipRules(overrides={"email": FieldRule("most_restrictive")}), "field 'email'"),
    (SurvivorshipRules(overrides={"shoe_size": FieldRule("longest")}), "unknown field 'shoe_size'"),
    (SurvivorshipRules(source_priority=("CRM",)), "unknown source 'CRM'"),
    (SurvivorshipRules(overrides={"phone": FieldRule("source_priority", ("Shop",))}),
     "unknown source 'Shop'"),
])
def test_bad_rules_are_refused_with_their_name(crafted: Workspace, rules: SurvivorshipRules,
                                               message: str) -> None:
    before = crafted.cursor().execute("SELECT count(*) FROM meta.golden_builds").fetchone()[0]
    with pytest.raises(InputError, match=message):
        golden.build(crafted, rules)
    assert crafted.cursor().execute("SELECT count(*) FROM meta.golden_builds").fetchone()[0] \
        == before
    with pytest.raises(InputError, match="expected shape"):
        SurvivorshipRules.from_json("[1, 2")


def test_build_needs_clusters(ws: Workspace) -> None:
    with pytest.raises(InputError, match="run matching first"):
        golden.build(ws)
    assert golden.is_stale(ws.cursor())


# --------------------------------------------------------------------------- on the demo company


def _events_by_person(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every event with its person, computed here in pandas from the std tables."""
    sources = cur.execute("SELECT source_id, name, kind, profile_source FROM meta.sources").df()
    ids = dict(zip(sources["name"], sources["source_id"], strict=True))
    clusters = cur.execute("SELECT unique_id, cluster_id FROM match.clusters").df()
    frames = []
    for row in sources[sources["kind"] != "profiles"].itertuples():
        events = cur.execute(f'SELECT * FROM std."s{row.source_id}_v1"').df()  # noqa: S608
        events["unique_id"] = f"{ids[row.profile_source]}:" + events["customer_ref"]
        events["kind"] = row.kind
        frames.append(events[["unique_id", "kind", "channel", "event_at", "amount"]])
    return pd.concat(frames).merge(clusters, on="unique_id")


def test_activity_matches_a_hand_computation(matched_ws: Workspace) -> None:
    golden.build(matched_ws)
    cur = matched_ws.cursor()
    events = _events_by_person(cur)
    orders = events[events["kind"] == "orders"]
    people = orders["cluster_id"].value_counts().index[:5].tolist() + \
        events.loc[events["kind"] == "contacts", "cluster_id"].head(3).tolist()
    latest = events["event_at"].max()
    for person in people:
        profile = golden.profile_of(cur, person)
        mine = orders[orders["cluster_id"] == person]
        for channel in ("web", "store"):
            sold = mine[mine["channel"] == channel]
            assert profile[f"orders_{channel}"] == len(sold)
            assert profile[f"revenue_{channel}"] == pytest.approx(sold["amount"].sum())
        assert profile["orders"] == len(mine)
        assert profile["revenue"] == pytest.approx(mine["amount"].sum())
        if len(mine):
            assert profile["last_purchase_at"] == mine["event_at"].max()
            assert profile["days_since_last_purchase"] == (
                latest.normalize() - mine["event_at"].max().normalize()).days
        theirs = events[events["cluster_id"] == person]
        for kind in ("carts", "contacts", "campaign_sends"):
            assert profile[kind] == (theirs["kind"] == kind).sum(), kind
    quiet = cur.execute("SELECT orders, revenue, carts, contacts, campaign_sends "
                        "FROM golden.profiles WHERE person_id NOT IN (SELECT unnest(?))",
                        [events["cluster_id"].unique().tolist()]).fetchall()
    assert quiet and all(row == (0, 0.0, 0, 0, 0) for row in quiet)


def test_rebuild_people_gives_the_rows_of_a_full_build(matched_ws: Workspace) -> None:
    golden.build(matched_ws)
    cur = matched_ws.cursor()
    kept, merged = cur.execute("SELECT person_id FROM golden.profiles WHERE source_count = 1 "
                               "ORDER BY person_id LIMIT 2").fetchall()
    split = cur.execute("SELECT person_id FROM golden.profiles WHERE record_count >= 3 "
                        "ORDER BY person_id LIMIT 1").fetchone()[0]
    with matched_ws.transaction() as tx:  # a merge of two people and a split of a third
        tx.execute("UPDATE match.clusters SET cluster_id = ? WHERE cluster_id = ?",
                   [kept[0], merged[0]])
        tx.execute("UPDATE match.clusters SET cluster_id = 'Csplit' WHERE unique_id = "
                   "(SELECT min(unique_id) FROM match.clusters WHERE cluster_id = ?)", [split])
        golden.rebuild_people(tx, [merged[0]], [kept[0], split, "Csplit"])
    partial = cur.execute("SELECT * FROM golden.profiles ORDER BY person_id").df()
    assert not golden.is_stale(cur)
    golden.build(matched_ws)
    full = cur.execute("SELECT * FROM golden.profiles ORDER BY person_id").df()
    assert merged[0] not in set(partial["person_id"]) and "Csplit" in set(partial["person_id"])
    pd.testing.assert_frame_equal(partial, full)


def test_staleness_follows_runs_and_decisions(matched_ws: Workspace) -> None:
    cur = matched_ws.cursor()
    assert golden.is_stale(cur)
    golden.build(matched_ws)
    assert not golden.is_stale(cur)
    with matched_ws.transaction() as tx:
        tx.execute("INSERT INTO meta.cluster_decisions (decision_id, kind, records, decided_at) "
                   "VALUES (1, 'split', ['1:x'], current_timestamp + INTERVAL 1 SECOND)")
    assert golden.is_stale(cur)


def test_summary_shows_what_unification_adds(matched_ws: Workspace) -> None:
    golden.build(matched_ws)
    cur = matched_ws.cursor()
    result = golden.summary(cur)
    clusters = cur.execute("SELECT count(DISTINCT cluster_id), count(*) FROM match.clusters"
                           ).fetchone()
    assert (result.people, result.records) == clusters
    assert result.duplicates_merged == clusters[1] - clusters[0]
    table = result.completeness.set_index("field")
    assert (table["golden"] >= table["best_source"] - 1e-9).all()
    assert table.loc["email", "golden"] > table.loc["email", "best_source"]


def test_export_keeps_consenting_people_and_hides_lineage(matched_ws: Workspace) -> None:
    golden.build(matched_ws)
    cur = matched_ws.cursor()
    everyone = golden.export_profiles(cur)
    assert not any(c.endswith("__source") for c in everyone.columns)
    emails = golden.export_profiles(cur, consented="email")
    assert len(emails) == (everyone["consent_email"] == True).sum() > 0  # noqa: E712
    assert emails["consent_email"].all()
    with pytest.raises(InputError, match="email or sms"):
        golden.export_profiles(cur, consented="post")


# --------------------------------------------------------------------------- command line


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cdp_core", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def test_cli_exports_one_profile_per_cluster_of_the_other_company(tmp_path: Path) -> None:
    folder, workspace = DATA / "other_company", tmp_path / "other.duckdb"
    files = {"eshop": "clients_eshop.csv", "loyalty": "carte_fidelite.csv",
             "call_centre": "service_clients.xlsx", "newsletter": "abonnes_newsletter.csv"}
    for source, name in files.items():
        sheet = ["--sheet", "Contacts"] if name.endswith(".xlsx") else []
        done = _cli("ingest", workspace, folder / name, "--source", source, "--mapping",
                    folder / f"{Path(name).stem}.yaml", *sheet)
        assert done.returncode == 0, done.stderr
    matched = _cli("match", workspace)
    assert matched.returncode == 0, matched.stderr
    assert "unified profiles" in matched.stdout
    out, clusters_out = tmp_path / "profiles.csv", tmp_path / "clusters.csv"
    assert _cli("export", workspace, "profiles", out, "--lineage").returncode == 0
    assert _cli("export", workspace, "clusters", clusters_out).returncode == 0
    profiles = pd.read_csv(out, dtype=str)
    clusters = pd.read_csv(clusters_out, dtype=str)
    assert profiles["person_id"].is_unique
    assert sorted(profiles["person_id"]) == sorted(clusters["cluster_id"].unique())
    with Workspace.open(workspace, read_only=True) as ws:
        held = ws.cursor().execute(
            "SELECT c.cluster_id, s.* FROM match.clusters c JOIN (" + " UNION ALL BY NAME ".join(  # noqa: S608
                f'SELECT {i} AS source_id, * FROM std."s{i}_v1"' for i in range(1, 5))  # noqa: S608
            + ") s ON c.unique_id = s.source_id || ':' || s.record_id").df()
    shown = profiles.set_index("person_id")
    for field in ("first_name", "last_name", "email", "phone", "birth_date", "civility",
                  "street", "consent_sms", "consent_email"):
        known = set(held.loc[held[field].notna(), "cluster_id"])
        assert shown.loc[sorted(known), field].notna().all(), field
    with_street = shown[shown["street"].notna()]
    for part in ("postcode", "city", "country"):  # one address, from one record
        assert (with_street[f"{part}__record_id"] == with_street["street__record_id"]).all()
    consented = tmp_path / "sms.xlsx"
    assert _cli("export", workspace, "profiles", consented, "--consented", "sms").returncode == 0
    assert len(pd.read_excel(consented)) == (shown["consent_sms"] == "True").sum()
    bad = _cli("export", workspace, "profiles", tmp_path / "x.csv", "--consented", "post")
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1
