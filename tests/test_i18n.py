"""Both catalogues hold every key the interface uses; numbers read the French way in French."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from cdp_core import i18n
from tests.conftest import ROOT

_LITERAL_KEY = re.compile(r"""\btr\(\s*["']([a-z_]+\.[a-z_.]+)["']""")


def _used_keys() -> set[str]:
    sources = [*ROOT.glob("app_pages/*.py"), *ROOT.glob("ui/*.py")]
    return {key for path in sources for key in _LITERAL_KEY.findall(path.read_text())}


def test_catalogues_have_the_same_keys() -> None:
    assert set(i18n.catalogue("en")) == set(i18n.catalogue("fr"))


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_key_used_by_the_pages_is_translated(language: str) -> None:
    used = _used_keys()
    assert used, "no translated text found in the pages"
    assert used - set(i18n.catalogue(language)) == set()


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_placeholders_agree_between_languages(language: str) -> None:
    english = i18n.catalogue("en")
    for key, text in i18n.catalogue(language).items():
        assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}", english[key])), key


def test_french_formats() -> None:
    assert i18n.fmt_money(1234.5, "fr") == "1\u202f234,50\u00a0€"
    assert i18n.fmt_number(0.5, "fr", 2) == "0,50"
    assert i18n.fmt_date(dt.date(2026, 11, 26), "fr") == "26/11/2026"
    assert i18n.t("nav.catalogue", "fr") == "Catalogue et profilage"


def test_english_formats_and_missing_values() -> None:
    assert i18n.fmt_money(-12, "en") == "-€12.00"
    assert i18n.fmt_pct(0.5) == "50.0%"
    assert i18n.fmt_number(None) == "—"
    assert i18n.t("sources.ingested", "en", name="Web", version=2, rows=10) == (
        "Web: version 2 ingested, 10 rows.")
