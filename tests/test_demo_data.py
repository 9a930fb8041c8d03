"""Tests of the demo company generator, checked the way a user would: by reading the files back."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from cdp_core.demo_data import GROUND_TRUTH_FILE, REFERENCE_DATE, DemoSource, generate_demo_files

N_PEOPLE = 4_000
PROFILE_FIELDS = {"record_id", "first_name", "last_name", "full_name", "email", "phone",
                  "birth_date", "civility", "street", "postcode", "city", "country",
                  "consent_email", "consent_sms", "created_at", "updated_at"}
EVENT_FIELDS = {"event_id", "customer_ref", "event_at", "amount", "channel"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[DemoSource]]:
    """One generated company shared by the read-only tests, to keep the suite fast."""
    out = tmp_path_factory.mktemp("demo")
    return out, generate_demo_files(out, n_people=N_PEOPLE, seed=7)


def read(out: Path, source: DemoSource) -> pd.DataFrame:
    """Read a source file as text, honouring its format (xlsx sheet, latin-1 with ';', csv)."""
    path = out / source.file
    if source.sheet:
        return pd.read_excel(path, sheet_name=source.sheet, dtype=str).fillna("")
    if source.file == "cartes_fidelite.csv":
        return pd.read_csv(path, sep=";", encoding="latin-1", dtype=str, keep_default_na=False)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def by_name(sources: list[DemoSource]) -> dict[str, DemoSource]:
    """Index the manifest by source name, as the app shows it."""
    return {s.name: s for s in sources}


def with_truth(out: Path, source: DemoSource) -> pd.DataFrame:
    """A profile file joined to the true person of each record."""
    truth = pd.read_csv(out / GROUND_TRUTH_FILE, dtype=str)
    truth = truth[truth["source"] == source.name]
    return read(out, source).merge(truth, left_on=source.mapping["record_id"],
                                   right_on="record_id", validate="one_to_one")


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    runs = {name: tmp_path / name for name in ("a", "b", "other")}
    for name, out in runs.items():
        generate_demo_files(out, n_people=400, seed=8 if name == "other" else 3)
    files = sorted(p.name for p in runs["a"].iterdir())
    assert len(files) == 10
    for file in files:
        assert (runs["a"] / file).read_bytes() == (runs["b"] / file).read_bytes(), file
        assert (runs["a"] / file).read_bytes() != (runs["other"] / file).read_bytes(), file


def test_manifest_lists_profiles_first_and_uses_canonical_fields(demo: tuple) -> None:
    out, sources = demo
    kinds = [s.kind for s in sources]
    assert kinds[:4] == ["profiles"] * 4
    assert sorted(kinds[4:]) == ["campaign_sends", "carts", "contacts", "orders", "orders"]
    profiles = {s.name for s in sources[:4]}
    assert GROUND_TRUTH_FILE not in {s.file for s in sources}
    for source in sources:
        assert (out / source.file).is_file()
        assert source.collection_mode in {"batch", "interactive", "stream"}
        if source.kind == "profiles":
            assert set(source.mapping) <= PROFILE_FIELDS and "record_id" in source.mapping
            assert source.profile_source is None
        else:
            assert set(source.mapping) <= EVENT_FIELDS
            assert {"event_id", "customer_ref", "event_at"} <= set(source.mapping)
            assert source.profile_source in profiles


def test_every_mapped_column_exists_in_its_file(demo: tuple) -> None:
    out, sources = demo
    for source in sources:
        missing = set(source.mapping.values()) - set(read(out, source).columns)
        assert not missing, (source.name, missing)


def test_loyalty_file_is_latin1_with_semicolons_french_dates_and_accents(demo: tuple) -> None:
    out, sources = demo
    source = by_name(sources)["Store loyalty cards"]
    raw = (out / source.file).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    header = raw.decode("latin-1").splitlines()[0]
    assert header.split(";")[:3] == ["num_carte", "CIVILITE", "NOM"]
    cards = read(out, source)
    births = cards["date_naiss"][cards["date_naiss"] != ""]
    assert births.str.fullmatch(r"\d{2}/\d{2}/\d{4}").all()
    assert (births.str[:2].astype(int) > 12).any()  # day first, not month first
    names = " ".join(cards["NOM"]) + " " + " ".join(cards["Prenom"])
    assert {"é", "è", "ç", "ï"} <= set(names.lower())
    assert (cards["cp"].str.len() == 4).any()  # leading zero lost, e.g. 6000 for 06000
    assert (cards["tel"] == "0000000000").any()


def test_call_centre_workbook_has_notes_and_data_sheets(demo: tuple) -> None:
    out, sources = demo
    source = by_name(sources)["Call-centre contacts"]
    workbook = load_workbook(out / source.file, read_only=True)
    assert workbook.sheetnames == ["Lisez-moi", source.sheet]
    rows = workbook[source.sheet].iter_rows(values_only=True)
    header = next(rows)
    assert set(source.mapping.values()) <= set(header)
    first = dict(zip(header, next(rows), strict=True))
    workbook.close()
    assert isinstance(first["ref_contact"], str)
    contacts = read(out, source)
    births = contacts["date_naissance"][contacts["date_naissance"] != ""]
    assert births.str.fullmatch(r"\d{8}").all()
    assert (contacts["email"] == "").mean() > 0.4  # e-mail often left empty
    upper_first = contacts["nom_complet"].str.match(r"^[A-Z' -]{2,} [A-Z][a-z]")
    assert 0.2 < upper_first.mean() < 0.8  # both "DUPONT Jean" and "Jean Dupont"


def test_event_references_exist_in_their_profile_source(demo: tuple) -> None:
    out, sources = demo
    names = by_name(sources)
    for source in sources[4:]:
        profile = names[source.profile_source]
        known = set(read(out, profile)[profile.mapping["record_id"]])
        refs = read(out, source)[source.mapping["customer_ref"]]
        assert len(refs) > 0 and set(refs) <= known, source.name


def test_events_lie_in_the_two_years_before_the_reference_date(demo: tuple) -> None:
    out, sources = demo
    end = pd.Timestamp(REFERENCE_DATE)
    for source in sources[4:]:
        at = pd.to_datetime(read(out, source)[source.mapping["event_at"]])
        assert at.max() < end and at.min() >= end - pd.Timedelta(days=731), source.name
    carts = read(out, by_name(sources)["Web carts"])
    recent = pd.to_datetime(carts["date_panier"]) >= end - pd.Timedelta(hours=48)
    assert set(carts["statut"]) == {"converted", "abandoned"}
    assert (recent & (carts["statut"] == "abandoned")).sum() > 10


def test_ground_truth_covers_every_profile_record_once(demo: tuple) -> None:
    out, sources = demo
    truth = pd.read_csv(out / GROUND_TRUTH_FILE, dtype=str)
    assert list(truth.columns) == ["source", "record_id", "person_id"]
    assert not truth.duplicated(["source", "record_id"]).any()
    assert set(truth["source"]) == {s.name for s in sources[:4]}
    for source in sources[:4]:
        ids = read(out, source)[source.mapping["record_id"]]
        assert sorted(ids) == sorted(truth.loc[truth["source"] == source.name, "record_id"])
    sources_per_person = truth.groupby("person_id")["source"].nunique()
    assert (sources_per_person >= 2).mean() > 0.3
    assert (sources_per_person == 4).any()
    assert truth["person_id"].nunique() > 0.95 * N_PEOPLE


def test_web_shop_has_duplicate_accounts_shared_mailboxes_and_twins(demo: tuple) -> None:
    out, sources = demo
    web = with_truth(out, by_name(sources)["Web shop accounts"])
    accounts = web.groupby("person_id").size()
    assert 0.01 < (accounts > 1).mean() < 0.06
    assert web["email"].str.contains(r"\+promo@").any()
    assert (web["email"] == "test@test.com").sum() >= 3
    persons_per_email = web.groupby(web["email"].str.lower())["person_id"].nunique()
    assert (persons_per_email > 1).sum() > 10  # family mailboxes: two people, one address
    known = web[web["date_naissance"] != ""]
    twins = known.groupby([known["nom"].str.upper(), "date_naissance", "adresse"]).agg(
        people=("person_id", "nunique"), firsts=("prenom", "nunique"))
    assert ((twins["people"] > 1) & (twins["firsts"] > 1)).any()


def test_phones_come_in_five_formats(demo: tuple) -> None:
    out, sources = demo
    phones = read(out, by_name(sources)["Web shop accounts"])["telephone"]
    patterns = [r"0\d( \d\d){4}", r"0\d{9}", r"\+33 \d( \d\d){4}", r"33\d{9}", r"0\d(\.\d\d){4}"]
    for pattern in patterns:
        assert phones.str.fullmatch(pattern).any(), pattern
    assert 0.05 < (phones == "").mean() < 0.25


def test_same_people_appear_differently_across_sources(demo: tuple) -> None:
    out, sources = demo
    names = by_name(sources)
    both = with_truth(out, names["Web shop accounts"]).merge(
        with_truth(out, names["Store loyalty cards"]), on="person_id")
    other_name = both["nom"].str.upper() != both["NOM"].str.upper()
    assert 0.02 < other_name.mean() < 0.4  # married names, typos, dropped accents
    located = both[(both["ville_x"] != "") & (both["ville_y"] != "")]
    assert (located["ville_x"].str.upper() != located["ville_y"].str.upper()).any()  # movers


def test_campaign_control_group_is_random_tenth_and_treatment_converts_more(demo: tuple) -> None:
    out, sources = demo
    sends = read(out, by_name(sources)["Campaign sends"])
    assert set(sends["groupe"]) == {"traitement", "temoin"}
    control = sends["groupe"] == "temoin"
    assert 0.07 < control.mean() < 0.13
    responded = sends["a_repondu"].astype(int)
    assert responded[~control].mean() > 1.5 * responded[control].mean()
    revenue = sends["ca_genere"].astype(float)
    assert revenue[~control].mean() > revenue[control].mean()
    assert (revenue[responded == 0] == 0).all()


def test_file_sizes_scale_with_the_number_of_people(demo: tuple, tmp_path: Path) -> None:
    out, sources = demo
    small = generate_demo_files(tmp_path, n_people=N_PEOPLE // 10, seed=7)
    for big, little in zip(sources, small, strict=True):
        ratio = len(read(out, big)) / len(read(tmp_path, little))
        assert 7 < ratio < 13, (big.name, ratio)


def test_without_events_only_profiles_are_written(tmp_path: Path) -> None:
    sources = generate_demo_files(tmp_path, n_people=300, with_events=False)
    assert [s.kind for s in sources] == ["profiles"] * 4
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [s.file for s in sources] + [GROUND_TRUTH_FILE])
    assert re.fullmatch(r"W\d{6}", read(tmp_path, sources[0])["id_client"].iloc[0])
