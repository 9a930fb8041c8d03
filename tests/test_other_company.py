"""The independent matching benchmark (benchmarks/other_company.py) and its committed fixture."""
from __future__ import annotations

import io
import re
from itertools import combinations
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from benchmarks.other_company import build, generate
from cdp_core.mapping import PROFILE_KIND, parse_mapping_yaml, validate_mapping
from tests.conftest import DATA

FIXTURE = DATA / "other_company"
PEOPLE, SEED = 600, 11
_MOBILE = re.compile(r"(6[0-24-8]|7[3-9])\d{7}")

Manifest = dict[str, dict[str, object]]


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    """The fixture's instance generated afresh, and its manifest."""
    folder = tmp_path_factory.mktemp("other_company")
    return folder, generate(folder, n_people=PEOPLE, seed=SEED)


def _cells(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every sheet's cell values, row by row."""
    book = load_workbook(path, read_only=True)
    try:
        return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}
    finally:
        book.close()


def _read(path: Path, sheet: str | None) -> pd.DataFrame:
    """A source file as text columns (empty cells missing), whatever its encoding."""
    if sheet is not None:
        return pd.read_excel(path, sheet_name=sheet, dtype=str)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    separator = ";" if ";" in text.splitlines()[0] else ","
    return pd.read_csv(io.StringIO(text), sep=separator, dtype=str, keep_default_na=False,
                       na_values=[""])


def _sources(manifest: Manifest) -> dict[str, pd.DataFrame]:
    """Each source of the committed fixture, read as text."""
    return {name: _read(FIXTURE / str(spec["file"]), None if spec["sheet"] is None
                        else str(spec["sheet"])) for name, spec in manifest.items()}


def test_fixture_is_what_the_generator_writes(regenerated: tuple[Path, Manifest]) -> None:
    folder, _ = regenerated
    names = sorted(path.name for path in FIXTURE.iterdir())
    assert names == sorted(path.name for path in folder.iterdir())
    for name in names:
        if name.endswith(".xlsx"):
            assert _cells(FIXTURE / name) == _cells(folder / name), name
        else:
            assert (FIXTURE / name).read_bytes() == (folder / name).read_bytes(), name


def test_manifest_and_mapping_files_fit_the_files(regenerated: tuple[Path, Manifest]) -> None:
    _, manifest = regenerated
    assert list(manifest) == ["eshop", "loyalty", "call_centre", "newsletter"]
    for name, frame in _sources(manifest).items():
        spec = manifest[name]
        yaml_file = FIXTURE / f"{Path(str(spec['file'])).stem}.yaml"
        mapping = parse_mapping_yaml(yaml_file.read_text(encoding="utf-8"), yaml_file.name)
        assert mapping == spec["mapping"]
        assert validate_mapping(mapping, list(frame.columns), PROFILE_KIND, name) == mapping
    assert manifest["call_centre"]["sheet"] == "Contacts"
    assert "last_name" not in manifest["call_centre"]["mapping"]  # full names only
    assert manifest["newsletter"]["mapping"]["record_id"] == manifest["newsletter"]["mapping"][
        "email"]


def test_truth_covers_every_record_exactly_once(regenerated: tuple[Path, Manifest]) -> None:
    _, manifest = regenerated
    truth = pd.read_csv(FIXTURE / "truth.csv", dtype=str)
    assert list(truth.columns) == ["source", "record_id", "person_id"]
    assert not truth.duplicated(["source", "record_id"]).any()
    assert truth.notna().all().all()
    for name, frame in _sources(manifest).items():
        ids = frame[manifest[name]["mapping"]["record_id"]]
        assert ids.notna().all() and ids.is_unique, name
        assert sorted(ids) == sorted(truth.loc[truth["source"] == name, "record_id"]), name


def test_people_appear_in_several_sources() -> None:
    truth = pd.read_csv(FIXTURE / "truth.csv", dtype=str)
    sources_per_person = truth.groupby("person_id")["source"].nunique()
    assert (sources_per_person >= 2).mean() > 0.4
    people = {name: set(group) for name, group in truth.groupby("source")["person_id"]}
    for first, second in combinations(people, 2):
        assert people[first] & people[second], (first, second)


def test_exports_have_their_own_formats(regenerated: tuple[Path, Manifest]) -> None:
    _, manifest = regenerated
    loyalty = (FIXTURE / "carte_fidelite.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        loyalty.decode("utf-8")
    text = loyalty.decode("cp1252")
    assert "’" in text and "Œ" in text and text.splitlines()[0].count(";") >= 10
    frames = _sources(manifest)
    assert frames["loyalty"]["Né(e) le"].dropna().str.fullmatch(r"\d{2}/\d{2}/\d{4}").all()
    assert frames["eshop"]["DDN"].dropna().str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    names = frames["call_centre"]["Nom complet"].dropna()
    assert names.str.fullmatch(r"[A-ZÀ-ÖØ-Þ’'\- ]{2,} \S.*").any()  # "DUPONT Marie"
    assert names.str.fullmatch(r"[A-ZÀ-Þ][a-zà-ÿ].* .*[a-zà-ÿ]").any()  # "Marie Dupont"
    assert list(frames["newsletter"].columns) == ["Adresse e-mail", "Prénom",
                                                  "Date d'inscription"]


def test_phones_are_valid_french_mobiles(regenerated: tuple[Path, Manifest]) -> None:
    _, manifest = regenerated
    formats = set()
    for name, frame in _sources(manifest).items():
        column = manifest[name]["mapping"].get("phone")
        if column is None:
            continue
        for phone in frame[column].dropna():
            formats.add(re.sub(r"\d", "9", phone))
            digits = re.sub(r"\D", "", phone)
            national = re.sub(r"^(0033|33(?=\d{9}$)|0(?=\d{9}$))", "", digits)
            assert _MOBILE.fullmatch(national), (name, phone)
    # 06 12 34 56 78, 06.12.34.56.78, +33612345678, 0033 6 12 34 56 78, 612345678, 0612345678
    assert {"99 99 99 99 99", "99.99.99.99.99", "+99999999999", "9999 9 99 99 99 99",
            "999999999", "9999999999"} <= formats


def test_traps_are_present() -> None:
    dataset = build(PEOPLE, SEED)
    stats = dataset.stats
    assert stats["records"] == len(dataset.truth)
    for trap in ("shared-mailbox person pairs (same e-mail, different people)", "twin pairs",
                 "twin pairs both in the data", "married women shown under both names",
                 "people who moved shown at both addresses",
                 "birth dates with day and month swapped", "first names as a nickname",
                 "e-shop second accounts"):
        assert stats[trap] > 0, trap
    typo_share = stats["names with a typo"] / (2 * stats["records"])
    assert 0.05 < typo_share < 0.1
