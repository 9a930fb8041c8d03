"""English and French for everything a user reads: one lookup, two catalogues, number formats.

Catalogues are ``locales/en.yaml`` and ``locales/fr.yaml`` (flat ``key: text`` with
``{placeholders}``); a test fails when a key is missing from either one.

Example:
    >>> t("nav.sources", "fr")
    'Sources'
    >>> fmt_number(1234567.891, "fr", 1), fmt_money(1234.5, "en"), fmt_pct(0.125, "fr")
    ('1\\u202f234\\u202f567,9', '€1,234.50', '12,5\\xa0%')
"""
from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

import yaml

LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"
_LOCALES = Path(__file__).with_name("locales")
_THIN_SPACE = "\u202f"
_NBSP = "\u00a0"


@cache
def catalogue(language: str) -> dict[str, str]:
    """The flat key-to-text catalogue of a language."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    with (_LOCALES / f"{language}.yaml").open(encoding="utf-8") as handle:
        return {str(key): str(value) for key, value in yaml.safe_load(handle).items()}


def t(key: str, language: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """The text for ``key`` in ``language``, with ``{placeholders}`` filled.

    A missing key shows as the key itself (and the catalogue test fails), never as a crash.
    """
    text = catalogue(language).get(key) or catalogue(DEFAULT_LANGUAGE).get(key) or key
    return text.format(**values) if values else text


def fmt_number(value: float | int | None, language: str = DEFAULT_LANGUAGE,
               decimals: int = 0) -> str:
    """A number with the language's grouping and decimal marks ('—' when missing)."""
    if value is None or value != value:  # None or NaN
        return "—"
    text = f"{value:,.{decimals}f}"
    if language == "fr":
        text = text.replace(",", _THIN_SPACE).replace(".", ",")
    return text


def fmt_money(value: float | None, language: str = DEFAULT_LANGUAGE, decimals: int = 2) -> str:
    """Euros: '€1,234.50' in English, '1 234,50 €' in French."""
    if value is None or value != value:
        return "—"
    number = fmt_number(abs(value), language, decimals)
    sign = "-" if value < 0 else ""
    return f"{sign}{number}{_NBSP}€" if language == "fr" else f"{sign}€{number}"


def fmt_pct(share: float | None, language: str = DEFAULT_LANGUAGE, decimals: int = 1) -> str:
    """A share (0.125) as a percentage: '12.5%' or '12,5 %'."""
    if share is None or share != share:
        return "—"
    number = fmt_number(share * 100, language, decimals)
    return f"{number}{_NBSP}%" if language == "fr" else f"{number}%"


def fmt_date(value: dt.date | dt.datetime | None, language: str = DEFAULT_LANGUAGE) -> str:
    """A date as the language writes it: '2026-11-26' or '26/11/2026'."""
    if value is None:
        return "—"
    day = value.date() if isinstance(value, dt.datetime) else value
    return day.strftime("%d/%m/%Y") if language == "fr" else day.isoformat()


def fmt_value(value: object, language: str = DEFAULT_LANGUAGE) -> str:
    """Any stored value as a person reads it: '—' when empty, yes/no, dates (with the time
    when there is one) and numbers in the language's way."""
    if value is None or (not isinstance(value, str | bytes | list | tuple | dict)
                         and bool(value != value)):  # NaN, NaT and pandas' NA
        return "—"
    if isinstance(value, bool):
        return t("common.yes" if value else "common.no", language)
    if isinstance(value, dt.datetime) and value.time() != dt.time():
        return f"{fmt_date(value, language)} {value:%H:%M}"
    if isinstance(value, dt.date):
        return fmt_date(value, language)
    if isinstance(value, int | float):
        return fmt_number(value, language, 0 if float(value).is_integer() else 2)
    return str(value)
