"""Standardisation of customer profiles and events, in DuckDB SQL over whole columns.

Record linkage (Splink) and unified profiles need one spelling per value: E.164 phones, ISO
dates, lower-case e-mails, accent-free matching keys. Every rule is a small pure function that
returns a SQL expression, so the logic reads like a specification and a Spark port can mirror
it. Repetitive fields (names, cities, codes, phones) are standardised once per DISTINCT value in
a dictionary table joined back to the rows; Python only sees the distinct phone numbers that
SQL, using phonenumbers' own French patterns, cannot decide. A million rows take seconds.

Each rule is counted (:class:`RuleStat`): how many non-empty values it saw, changed and rejected.
The public functions never begin or commit a transaction: the caller wraps the whole run in one.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace

import duckdb
import pandas as pd
import phonenumbers
from phonenumbers import PhoneMetadata

from cdp_core.mapping import EVENT_FIELDS, PROFILE_FIELDS
from cdp_core.sqlutil import quote_ident

DEFAULT_REGION = "FR"


@dataclass(frozen=True)
class RuleStat:
    """What one rule did to one field.

    ``changed`` compares the output, as text, with the trimmed input: ``05/03/2020`` becoming
    DATE 2020-03-05 is a change, ``2020-03-05`` is not, nor is ``true`` for a consent. Amounts
    compare as numbers, so ``12.50`` is unchanged and ``12,50`` changed.
    """

    field: str  # canonical field, e.g. "phone"
    rule: str  # short rule id, e.g. "phone_e164"
    non_empty: int  # input values that were not null/blank
    changed: int  # output differs from the trimmed input (and not rejected)
    rejected: int  # non-empty input that the rule found invalid (output NULL)


# --------------------------------------------------------------------------- constant fragments


def _lit(text: str) -> str:
    """SQL string literal for one of this module's own constants (never for user text)."""
    return "'" + text.replace("'", "''") + "'"


def _lits(values: Iterable[str]) -> str:
    """Comma-separated literals of module constants, for IN (...) lists and list literals."""
    return ", ".join(_lit(value) for value in values)


_SPACE = r"[\s\pZ]"  # ASCII whitespace plus Unicode separators (no-break and thin spaces)
_NAME_CHUNK = r"[^\s'’-]*[\s'’-]*"  # a word and the separators after it, for proper case
_EMAIL = (
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}"
)
_CIVILITIES = dict.fromkeys(("m", "mr", "monsieur"), "M") | dict.fromkeys(
    ("mme", "madame", "mlle", "mademoiselle", "mrs", "ms", "miss"), "Mme"
)
_CIVILITY_PREFIX = r"(?i)^(?:m|mr|mme|mlle|mrs|ms|monsieur|madame|mademoiselle)\.?\s+"
_CONSENTS = dict.fromkeys(("oui", "o", "yes", "y", "true", "1", "vrai"), "true") | dict.fromkeys(
    ("non", "n", "no", "false", "0", "faux"), "false"
)
_COUNTRY_ALIASES: dict[str, tuple[str, ...]] = {
    "FR": ("france", "fra"),
    "BE": ("belgique", "belgium", "bel"),
    "CH": ("suisse", "switzerland", "che"),
    "LU": ("luxembourg", "lux"),
    "DE": ("allemagne", "germany", "deutschland", "deu"),
    "ES": ("espagne", "spain", "espana", "esp"),
    "IT": ("italie", "italy", "italia", "ita"),
    "GB": ("royaume uni", "united kingdom", "angleterre", "uk", "gbr"),
    "NL": ("pays bas", "netherlands", "nld"),
    "PT": ("portugal", "prt"),
    "MC": ("monaco", "mco"),
    "AD": ("andorre", "andorra", "and"),
    "US": ("etats unis", "united states", "usa"),
    "CA": ("canada", "can"),
    "MA": ("maroc", "morocco", "mar"),
    "DZ": ("algerie", "algeria", "dza"),
    "TN": ("tunisie", "tunisia", "tun"),
    "GP": ("guadeloupe",),
    "MQ": ("martinique",),
    "GF": ("guyane",),
    "RE": ("reunion", "la reunion"),
    "YT": ("mayotte",),
}
# phonenumbers knows every ISO 3166-1 alpha-2 region; "001" is its non-geographic pseudo-region.
_COUNTRIES = {
    region.lower(): region for region in sorted(phonenumbers.SUPPORTED_REGIONS) if region.isalpha()
} | {name: code for code, names in _COUNTRY_ALIASES.items() for name in names}
_ISO_START = r"^\d{4}-\d{1,2}-\d{1,2}(?:[ T]|$)"
_UTC_OFFSET = r"(?:Z|[+-]\d{2}(?::?\d{2})?)$"  # with a time (it has a colon), not a date's -05
# Other accepted forms, after - and . became /: (shape, try_strptime format). One format per
# shape because try_strptime with a list of formats is ten times slower on each miss.
_DATE_FORMS = (
    (r"\d{1,2}/\d{1,2}/\d{4}", "%d/%m/%Y"),
    (r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}", "%d/%m/%Y %H:%M"),
    (r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2}", "%d/%m/%Y %H:%M:%S"),
    (r"\d{8}", "%Y%m%d"),
)
_BIRTH_MIN = "1900-01-01"
_AMOUNT_NOISE = _SPACE + r"+|\p{Sc}|(?i:eur)"
_AMOUNT_PLAIN = r"[+-]?\d+(?:[.,]\d+)?"  # one mark: it is the decimal one
_AMOUNT_DOT_GROUPS = r"[+-]?\d{1,3}(?:\.\d{3})+(?:,\d+)?"  # 1.234.567,89
_AMOUNT_COMMA_GROUPS = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?"  # 1,234,567.89
_LETTER = r"\pL"
_NOT_ALNUM = r"[^\pL\pN]+"
_SCIENTIFIC = r"\d(?:[.,]\d+)?[eE]\+?\d{1,2}"  # 6.12345678E8, 6,12345678E+08
_FLOAT_ZERO = r"^(\d+)\.0+$"  # 612345678.0, 75001.0: numbers a spreadsheet stored as floats
_PHONE_SEPARATORS = " .-()/"
# Two spaces in a row, or any whitespace that is not a plain space (tab, no-break space...).
_SPACE_TO_COLLAPSE = (
    r"[\s\pZ]{2}|[\t\n\v\f\r\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}"
    r"\x{205F}\x{3000}]"
)
_NINE_DIGITS = r"^([1-79]\d{8})$"  # a French number whose leading 0 was lost
_POSTCODE_SHAPE = r"\d{4,5}"
_FIRST_GROUP = r"\1"
_ZERO_FIRST = r"0\1"
_EMAIL_TAG = r"\+[^@]*@"
_SAINT = r"\bst(e?)\b"  # st, ste: saint, sainte
_SAINT_SPELT = r"saint\1"
_CEDEX = r"\bcedex\b.*$"



def _phone_types(meta: PhoneMetadata) -> str:
    """Alternation of the region's number-type patterns that admit 9-digit numbers.

    With the general pattern it mirrors ``phonenumbers.is_valid_number``: a national number is
    valid when it matches the general pattern and at least one type (fixed line, mobile...).
    """
    types = (
        meta.premium_rate, meta.toll_free, meta.shared_cost, meta.voip, meta.personal_number,
        meta.pager, meta.uan, meta.voicemail, meta.fixed_line, meta.mobile,
    )
    return "|".join(
        f"(?:{desc.national_number_pattern})"
        for desc in types
        if desc is not None
        and desc.national_number_pattern
        and (not desc.possible_length or 9 in desc.possible_length)
    )


_REGION = PhoneMetadata.metadata_for_region(DEFAULT_REGION)
_PHONE_CODE = f"+{_REGION.country_code}"
_PHONE_NSN = (  # the 9 national digits behind 0, +33, 0033 or 33
    rf"^(?:{_REGION.national_prefix}|\+{_REGION.country_code}"
    rf"|{_REGION.international_prefix}{_REGION.country_code}|{_REGION.country_code})(\d{{9}})$"
)
_PHONE_GENERAL = _REGION.general_desc.national_number_pattern
_PHONE_TYPES = _phone_types(_REGION)
_PHONE_INTERNATIONAL = _REGION.international_prefix
_PHONE_IMPOSSIBLE = r"\d{1,8}|\d{13,}"  # national numbers are 9 to 12 digits with a prefix


# --------------------------------------------------------------------------- expression builders


def _lookup_sql(key: str, table: dict[str, str]) -> str:
    """Value of a module constant table for a key expression (evaluated once), else NULL."""
    return f"[{_lits(table.values())}][list_position([{_lits(table)}], {key})]"


def trim_sql(expr: str) -> str:
    """Text without surrounding whitespace (no-break spaces too); NULL when blank.

    Example:
        ``trim_sql('"nom"')`` turns ``'\\u00a0 Dupont\\t'`` into ``'Dupont'`` and ``'  '`` into
        NULL. Non-text columns are cast to text first.
    """
    pattern = _lit(f"^{_SPACE}+|{_SPACE}+$")
    return f"NULLIF(regexp_replace(CAST({expr} AS VARCHAR), {pattern}, '', 'g'), '')"


def collapse_sql(expr: str) -> str:
    """Trimmed text whose inner whitespace runs are a single space.

    Example:
        ``collapse_sql("street")`` turns ``' 12  rue de   la Paix '`` into
        ``'12 rue de la Paix'``.
    """
    # A global regexp_replace is slow; most values have no run to collapse, so test first.
    collapsed = (
        f"CASE WHEN regexp_matches({expr}, {_lit(_SPACE_TO_COLLAPSE)}) "
        f"THEN regexp_replace({expr}, {_lit(_SPACE + '+')}, ' ', 'g') ELSE {expr} END"
    )
    return f"NULLIF(trim({collapsed}), '')"


def proper_case_sql(expr: str) -> str:
    """Each word capitalised after a space, hyphen or apostrophe; accents are kept.

    Example:
        ``proper_case_sql("city")`` turns ``'SAINT-ÉTIENNE'`` into ``'Saint-Étienne'`` and
        ``"jean d'ormesson"`` into ``"Jean D'Ormesson"``.
    """
    return (
        f"array_to_string(list_transform(regexp_extract_all(lower({expr}), {_lit(_NAME_CHUNK)}), "
        "lambda w: upper(left(w, 1)) || substr(w, 2)), '')"
    )


def name_display_sql(expr: str) -> str:
    """Display form of a person or city name: collapsed, proper case; NULL without any letter.

    Example:
        ``name_display_sql("last_name")`` turns ``'LE  GALL'`` into ``'Le Gall'`` and ``'-'``
        into NULL.
    """
    # The CASE guards the input, not the list lambda: a lambda inside CASE is 4x slower.
    with_letter = f"CASE WHEN regexp_matches({expr}, {_lit(_LETTER)}) THEN {expr} END"
    return proper_case_sql(collapse_sql(with_letter))


def name_key_sql(expr: str) -> str:
    """Matching key: lower case, no accents, punctuation and hyphens as spaces; NULL if empty.

    Example:
        ``name_key_sql("last_name")`` turns ``'Le Gall-Hélou'`` into ``'le gall helou'`` and
        ``'Œuvray'`` into ``'oeuvray'``.
    """
    ligatures = f"replace(replace(replace(lower({expr}), 'œ', 'oe'), 'æ', 'ae'), 'ß', 'ss')"
    folded = f"strip_accents({ligatures})"
    return f"NULLIF(trim(regexp_replace({folded}, {_lit(_NOT_ALNUM)}, ' ', 'g')), '')"


def city_key_sql(expr: str) -> str:
    """City matching key: a name key with St/Ste spelt out and any CEDEX suffix dropped.

    Example:
        ``city_key_sql("city")`` turns ``'ST-ÉTIENNE CEDEX 2'`` into ``'saint etienne'``.
    """
    key = name_key_sql(expr)
    saint = f"regexp_replace({key}, {_lit(_SAINT)}, {_lit(_SAINT_SPELT)}, 'g')"
    return f"NULLIF(trim(regexp_replace({saint}, {_lit(_CEDEX)}, '')), '')"


def email_sql(expr: str) -> str:
    """Lower-case e-mail address; NULL when it is not a plausible address.

    Example:
        ``email_sql("email")`` turns ``'Jean.Dupont+promo@Gmail.com'`` into
        ``'jean.dupont+promo@gmail.com'`` and ``'jean.dupont@gmail'`` into NULL.
    """
    return f"CASE WHEN regexp_full_match(lower({expr}), {_lit(_EMAIL)}) THEN lower({expr}) END"


def email_key_sql(expr: str) -> str:
    """E-mail matching key: the address without the ``+tag`` of its local part.

    Example:
        ``email_key_sql("email")`` turns ``'jean.dupont+promo@gmail.com'`` into
        ``'jean.dupont@gmail.com'``.
    """
    return f"regexp_replace({expr}, {_lit(_EMAIL_TAG)}, '@')"


def phone_preclean_sql(expr: str) -> str:
    """Phone text reduced to digits and ``+``, repairing what spreadsheets do to numbers.

    Scientific notation and a trailing ``.0`` (numbers stored as floats) become plain digits,
    separators go, and a 9-digit French number that lost its leading 0 gets it back.

    Example:
        ``phone_preclean_sql("phone")`` turns ``'06.12.34.56.78'``, ``'6.12345678E8'`` and
        ``'612345678.0'`` into ``'0612345678'``.
    """
    as_integer = f"TRY_CAST(TRY_CAST(replace({expr}, ',', '.') AS DOUBLE) AS HUGEINT)"
    unfloated = (
        f"CASE WHEN regexp_full_match({expr}, {_lit(_SCIENTIFIC)}) "
        f"THEN CAST({as_integer} AS VARCHAR) "
        f"ELSE regexp_replace({expr}, {_lit(_FLOAT_ZERO)}, {_lit(_FIRST_GROUP)}) END"
    )
    # Chained replace() is twice as fast as one regexp; rarer separators such as no-break
    # spaces are left to phonenumbers.
    digits = unfloated
    for separator in _PHONE_SEPARATORS:
        digits = f"replace({digits}, {_lit(separator)}, '')"
    return f"NULLIF(regexp_replace({digits}, {_lit(_NINE_DIGITS)}, {_lit(_ZERO_FIRST)}), '')"


def _phone_nsn_sql(expr: str) -> str:
    """The 9 digits after a French prefix (0, +33, 0033, 33) of a pre-cleaned phone, else ''."""
    return f"regexp_extract({expr}, {_lit(_PHONE_NSN)}, 1)"


def phone_fast_e164_sql(expr: str) -> str:
    """E.164 form of a pre-cleaned French number, decided in SQL; NULL when not valid.

    Uses phonenumbers' own French patterns: the national significant number must match the
    general pattern and one number type, so a number returned is exactly what phonenumbers
    would return.

    Example:
        ``phone_fast_e164_sql("p")`` turns ``'0612345678'``, ``'+33612345678'``,
        ``'0033612345678'`` and ``'33612345678'`` into ``'+33612345678'``.
    """
    nsn = _phone_nsn_sql(expr)
    return (
        f"CASE WHEN regexp_full_match({nsn}, {_lit(_PHONE_GENERAL)}) "
        f"AND regexp_full_match({nsn}, {_lit(_PHONE_TYPES)}) THEN {_lit(_PHONE_CODE)} || {nsn} END"
    )


def phone_decided_sql(expr: str) -> str:
    """Whether SQL alone knows phonenumbers' verdict on a pre-cleaned phone.

    True for a French prefix followed by a national number of the general French shape (valid
    or not, :func:`phone_fast_e164_sql` says which) and for digits with neither ``+`` nor
    ``00`` of impossible length: phonenumbers reads those as French, 9 digits behind at most
    ``0``, ``33`` or ``330``, so 9 to 12 digits. Only the rest go to phonenumbers, sparing it
    the many distinct junk values some files hold.

    Example:
        ``phone_decided_sql("p")`` is true for ``'0612345678'``, ``'0690000000'`` (invalid)
        and ``'12345'``, false for ``'+442079460958'`` and ``'0000000000'``.
    """
    return (
        f"(regexp_full_match({_phone_nsn_sql(expr)}, {_lit(_PHONE_GENERAL)}) "
        f"OR (regexp_full_match({expr}, {_lit(_PHONE_IMPOSSIBLE)}) "
        f"AND NOT starts_with({expr}, {_lit(_PHONE_INTERNATIONAL)})))"
    )


def phone_e164(cleaned: str) -> str | None:
    """E.164 form of one pre-cleaned phone via phonenumbers (default region FR); None if invalid.

    Example:
        >>> phone_e164('+442079460958')
        '+442079460958'
    """
    try:
        number = phonenumbers.parse(cleaned, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def civility_sql(expr: str) -> str:
    """Civility as ``'M'`` or ``'Mme'`` (Mlle counts as Mme); NULL for anything else.

    Example:
        ``civility_sql("civility")`` turns ``'M.'`` and ``'Monsieur'`` into ``'M'``,
        ``'MADAME'`` and ``'Mlle'`` into ``'Mme'``.
    """
    letters = f"regexp_replace(lower(strip_accents({expr})), '[^a-z]', '', 'g')"
    return _lookup_sql(letters, _CIVILITIES)


def postcode_sql(expr: str) -> str:
    """French 5-digit postcode; a 4-digit one (lost leading zero) is padded; others NULL.

    Example:
        ``postcode_sql("postcode")`` turns ``'1000'`` into ``'01000'`` and ``'75 001'`` into
        ``'75001'``; ``'750'`` and ``'00100'`` into NULL.
    """
    unspaced = f"regexp_replace({expr}, {_lit(_SPACE + '+')}, '', 'g')"
    digits = f"regexp_replace({unspaced}, {_lit(_FLOAT_ZERO)}, {_lit(_FIRST_GROUP)})"
    padded = f"lpad({digits}, 5, '0')"
    return (
        f"CASE WHEN regexp_full_match({digits}, {_lit(_POSTCODE_SHAPE)}) "
        f"AND NOT starts_with({padded}, '00') THEN {padded} END"
    )


def country_sql(expr: str) -> str:
    """ISO 3166-1 alpha-2 country code from a code or a common French/English name.

    Example:
        ``country_sql("country")`` turns ``'fr'``, ``'France'`` and ``'FRA'`` into ``'FR'``,
        ``'Royaume-Uni'`` into ``'GB'``; unknown values into NULL.
    """
    return _lookup_sql(name_key_sql(expr), _COUNTRIES)


def consent_sql(expr: str) -> str:
    """Consent as a BOOLEAN from oui/non, o/n, yes/no, y/n, true/false, 1/0, vrai/faux.

    Example:
        ``consent_sql("consent_sms")`` turns ``'OUI'`` into TRUE, ``'n'`` into FALSE and
        ``'peut-être'`` into NULL.
    """
    return f"CAST({_lookup_sql(f'lower({expr})', _CONSENTS)} AS BOOLEAN)"


def parse_timestamp_sql(expr: str) -> str:
    """TIMESTAMP from ISO, dd/mm/yyyy (or - and . separators) or yyyymmdd text; NULL if invalid.

    ISO values with an explicit UTC offset are converted to UTC. Impossible dates such as
    ``31/02/2020`` give NULL (try_strptime / TRY_CAST), never an error.

    Example:
        ``parse_timestamp_sql("created_at")`` turns ``'2020-03-05T10:11:12'``,
        ``'05/03/2020 10:11:12'`` and ``'20200305'`` into timestamps on 2020-03-05.
    """
    slashed = f"replace(replace({expr}, '-', '/'), '.', '/')"
    other_forms = " ".join(
        f"WHEN regexp_full_match({slashed}, {_lit(shape)}) "
        f"THEN try_strptime({slashed}, {_lit(form)})"
        for shape, form in _DATE_FORMS
    )
    return (
        f"CASE WHEN NOT regexp_matches({expr}, {_lit(_ISO_START)}) THEN CASE {other_forms} END "
        f"WHEN contains({expr}, ':') AND regexp_matches({expr}, {_lit(_UTC_OFFSET)}) "
        f"THEN timezone('UTC', TRY_CAST({expr} AS TIMESTAMPTZ)) "
        f"ELSE TRY_CAST({expr} AS TIMESTAMP) END"
    )


def parse_date_sql(expr: str) -> str:
    """DATE from the same text forms as :func:`parse_timestamp_sql`.

    Example:
        ``parse_date_sql("birth_date")`` turns ``'2020-03-05'``, ``'5/3/2020'`` and
        ``'20200305'`` into DATE '2020-03-05', and ``'31/02/2020'`` into NULL.
    """
    return f"CAST({parse_timestamp_sql(expr)} AS DATE)"


def birth_date_sql(expr: str) -> str:
    """Birth DATE, NULL when unparsable or outside 1900-01-01..today.

    Example:
        ``birth_date_sql("birth_date")`` turns ``'05/03/1980'`` into DATE '1980-03-05' and
        ``'1850-01-01'`` into NULL.
    """
    day = parse_date_sql(expr)
    return f"CASE WHEN {day} BETWEEN DATE {_lit(_BIRTH_MIN)} AND current_date THEN {day} END"


def amount_sql(expr: str) -> str:
    """DOUBLE amount from French or English notation, currency signs and spaces ignored.

    A single ``,`` or ``.`` is the decimal mark; grouped thousands (``1.234,56``,
    ``1,234.56``) are understood; anything else is NULL.

    Example:
        ``amount_sql("amount")`` turns ``'12,50'`` into 12.5 and ``'1 234,56 €'`` into 1234.56.
    """
    bare = f"regexp_replace({expr}, {_lit(_AMOUNT_NOISE)}, '', 'g')"
    decimal = (
        f"CASE WHEN regexp_full_match({bare}, {_lit(_AMOUNT_PLAIN)}) "
        f"THEN replace({bare}, ',', '.') "
        f"WHEN regexp_full_match({bare}, {_lit(_AMOUNT_DOT_GROUPS)}) "
        f"THEN replace(replace({bare}, '.', ''), ',', '.') "
        f"WHEN regexp_full_match({bare}, {_lit(_AMOUNT_COMMA_GROUPS)}) "
        f"THEN replace({bare}, ',', '') END"
    )
    return f"TRY_CAST({decimal} AS DOUBLE)"


def lower_sql(expr: str) -> str:
    """Lower-case code such as a channel name.

    Example:
        ``lower_sql("channel")`` turns ``'Web'`` into ``'web'``.
    """
    return f"lower({expr})"


def full_name_split_sql(expr: str) -> str:
    """STRUCT(first, last) split out of a full name, civility prefix dropped.

    ``'Dupont, Jean'``: last, first. Upper-case words lead or trail: they are the last name
    (``'DE LA FONTAINE Marie'``, ``'Jean-Pierre LE GALL'``). Otherwise the first word is the
    first name and the rest the last name; a single word is a last name.

    Example:
        ``full_name_split_sql("full_name")`` turns ``'DUPONT Jean'`` into
        ``{'first': 'Jean', 'last': 'DUPONT'}``.
    """
    name = f"regexp_replace({collapse_sql(expr)}, {_lit(_CIVILITY_PREFIX)}, '')"
    upper_word = r"[^\s\p{Ll}]*\p{Lu}[^\s\p{Ll}]*"
    upper_run = rf"(?:{upper_word}\s)*{upper_word}"
    patterns = (
        (r"^([^,]*),\s*(.*)$", "'last', 'first'"),
        (rf"^({upper_run})\s(.*\p{{Ll}}.*)$", "'last', 'first'"),
        (rf"^(.*\p{{Ll}}\S*)\s({upper_run})$", "'first', 'last'"),
        (r"^(\S+)\s(.*)$", "'first', 'last'"),
    )
    branches = " ".join(
        f"WHEN regexp_full_match({name}, {_lit(pattern)}) "
        f"THEN regexp_extract({name}, {_lit(pattern)}, [{groups}])"
        for pattern, groups in patterns
    )
    return f"CASE {branches} ELSE {{'first': NULL, 'last': {name}}} END"


# --------------------------------------------------------------------------- rule tables

_Step = tuple[str, str, Callable[[str], str]]  # (column it adds, column it reads, builder)


@dataclass(frozen=True)
class _Rule:
    """How one field is standardised: rule id, output type and the SQL steps computing it.

    Each step adds a column from an earlier one, starting from the trimmed input ``i`` and
    producing the output ``o`` (plus matching keys such as ``k``). Repetitive fields (names,
    cities, codes, phones) run their steps once per DISTINCT raw value in a dictionary table
    joined back to the rows; mostly-unique fields (``per_row``) run them on the rows directly.
    """

    rule: str
    sql_type: str
    steps: tuple[_Step, ...]
    per_row: bool = False


def _split_part(part: str) -> Callable[[str], str]:
    """Builder of the display form of one part of a full_name_split_sql struct."""
    return lambda split: name_display_sql(f"struct_extract({split}, '{part}')")


def _split_display(split: str) -> str:
    """Display full name, first name first, from a full_name_split_sql struct."""
    parts = f"concat_ws(' ', struct_extract({split}, 'first'), struct_extract({split}, 'last'))"
    return name_display_sql(parts)


def _simple(rule: str, sql_type: str, build: Callable[[str], str], per_row: bool = False) -> _Rule:
    """A rule whose output is one expression of the trimmed input."""
    return _Rule(rule, sql_type, (("o", "i", build),), per_row)


def _keyed(rule: str, display: Callable[[str], str], key: Callable[[str], str]) -> _Rule:
    """A VARCHAR rule with an output ``o`` and a matching key ``k`` derived from it."""
    return _Rule(rule, "VARCHAR", (("o", "i", display), ("k", "o", key)))


_ID = _simple("id_trim", "VARCHAR", lambda i: i, per_row=True)
_NAME = _keyed("name_display", name_display_sql, name_key_sql)
_CONSENT = _simple("consent_bool", "BOOLEAN", consent_sql)
_TIMESTAMP = _simple("timestamp_parse", "TIMESTAMP", parse_timestamp_sql, per_row=True)

_PROFILE_RULES: dict[str, _Rule] = {
    "record_id": _ID,
    "first_name": _NAME,
    "last_name": _NAME,
    "full_name": _Rule(
        "name_display",
        "VARCHAR",
        (
            ("sp", "i", full_name_split_sql),
            ("o", "sp", _split_display),
            ("s_first", "sp", _split_part("first")),
            ("s_last", "sp", _split_part("last")),
            ("k_first", "s_first", name_key_sql),
            ("k_last", "s_last", name_key_sql),
        ),
    ),
    "email": _Rule(
        "email_lower", "VARCHAR", (("o", "i", email_sql), ("k", "o", email_key_sql)), per_row=True
    ),
    # The fast path leaves o NULL where phonenumbers must decide: see _fill_phones.
    "phone": _Rule(
        "phone_e164",
        "VARCHAR",
        (("pre", "i", phone_preclean_sql), ("o", "pre", phone_fast_e164_sql)),
    ),
    "birth_date": _simple("birth_date", "DATE", birth_date_sql),
    "civility": _simple("civility_code", "VARCHAR", civility_sql),
    "street": _simple("text_collapse", "VARCHAR", collapse_sql, per_row=True),
    "postcode": _simple("postcode_fr", "VARCHAR", postcode_sql),
    "city": _keyed("city_display", name_display_sql, city_key_sql),
    "country": _simple("country_iso2", "VARCHAR", country_sql),
    "consent_email": _CONSENT,
    "consent_sms": _CONSENT,
    "created_at": _TIMESTAMP,
    "updated_at": _TIMESTAMP,
}
_EVENT_RULES: dict[str, _Rule] = {
    "event_id": _ID,
    "customer_ref": _ID,
    "event_at": _TIMESTAMP,
    "amount": _simple("amount_decimal", "DOUBLE", amount_sql, per_row=True),
    "channel": _simple("channel_lower", "VARCHAR", lower_sql),
}


def _alias(field: str) -> str:
    """Alias of a field's dictionary when joined to the rows."""
    return quote_ident(f"d_{field}")


def _row_column(field: str, name: str) -> str:
    """Name of a per-row step column, e.g. "email.o"."""
    return quote_ident(f"{field}.{name}")


def _column(rules: dict[str, _Rule], field: str, name: str, mapped: frozenset[str]) -> str:
    """A step column of the current row, or a typed NULL when the field is not mapped."""
    if field not in mapped:
        return f"CAST(NULL AS {rules[field].sql_type if name == 'o' else 'VARCHAR'})"
    if rules[field].per_row:
        return f"s.{_row_column(field, name)}"
    return f"{_alias(field)}.{name}"


# --------------------------------------------------------------------------- kinds of input


@dataclass(frozen=True)
class _Kind:
    """Profiles or events: their fields, rules, id field and output columns."""

    fields: tuple[str, ...]
    rules: dict[str, _Rule]
    id_field: str
    columns: Callable[[frozenset[str]], list[tuple[str, str]]]

    def output_names(self) -> tuple[str, ...]:
        """The standard output columns, before passthrough."""
        return ("source", self.id_field, *(name for name, _ in self.columns(frozenset())))


def _profile_columns(mapped: frozenset[str],
                     rules: dict[str, _Rule] = _PROFILE_RULES) -> list[tuple[str, str]]:
    """Profile output columns after source and record_id, as (name, expression)."""

    def col(field: str, name: str = "o") -> str:
        return _column(rules, field, name, mapped)

    first = f"COALESCE({col('first_name')}, {col('full_name', 's_first')})"
    last = f"COALESCE({col('last_name')}, {col('full_name', 's_last')})"
    return [
        ("civility", col("civility")),
        ("first_name", first),
        ("last_name", last),
        ("full_name", f"COALESCE({col('full_name')}, NULLIF(concat_ws(' ', {first}, {last}), ''))"),
        ("first_name_key", f"COALESCE({col('first_name', 'k')}, {col('full_name', 'k_first')})"),
        ("last_name_key", f"COALESCE({col('last_name', 'k')}, {col('full_name', 'k_last')})"),
        ("email", col("email")),
        ("email_key", col("email", "k")),
        ("phone", col("phone")),
        ("birth_date", col("birth_date")),
        ("street", col("street")),
        ("postcode", col("postcode")),
        ("city", col("city")),
        ("city_key", col("city", "k")),
        ("country", col("country")),
        ("consent_email", col("consent_email")),
        ("consent_sms", col("consent_sms")),
        ("created_at", col("created_at")),
        ("updated_at", col("updated_at")),
    ]


def _event_columns(mapped: frozenset[str]) -> list[tuple[str, str]]:
    """Event output columns after source and event_id, as (name, expression)."""
    return [(field, _column(_EVENT_RULES, field, "o", mapped)) for field in EVENT_FIELDS[1:]]


_PROFILES = _Kind(PROFILE_FIELDS, _PROFILE_RULES, "record_id", _profile_columns)
_EVENTS = _Kind(EVENT_FIELDS, _EVENT_RULES, "event_id", _event_columns)


def output_columns(events: bool = False) -> tuple[str, ...]:
    """Standard output columns (before passthrough) of profiles, or of events when ``events``.

    Callers use it to rename source columns that would clash with them.

    Example:
        >>> output_columns(events=True)
        ('source', 'event_id', 'customer_ref', 'event_at', 'amount', 'channel')
    """
    return (_EVENTS if events else _PROFILES).output_names()


# --------------------------------------------------------------------------- SQL statements


def _stepped_sql(base: str, rules: dict[str, _Rule], name: Callable[[str, str], str]) -> str:
    """``base`` wrapped in one SELECT per step, each adding that step's column for every rule.

    One layer per step lets later steps read earlier columns without repeating their SQL.
    """
    query = base
    for depth in range(max((len(rule.steps) for rule in rules.values()), default=0)):
        added = [
            f"{build(name(field, read))} AS {name(field, made)}"
            for field, rule in rules.items()
            if depth < len(rule.steps)
            for made, read, build in [rule.steps[depth]]
        ]
        query = f"SELECT *, {', '.join(added)} FROM ({query})"  # noqa: S608
    return query


def _text(field: str) -> str:
    """A source column as text, whatever type the caller's relation gave it."""
    return f"CAST({quote_ident(field)} AS VARCHAR)"


def _dictionary_sql(table: str, field: str, source_relation: str, rule: _Rule) -> str:
    """CREATE TEMP TABLE of a field's distinct raw values, their row counts and step columns."""
    base = (
        f"SELECT raw, n, {trim_sql('raw')} AS i FROM (SELECT {_text(field)} AS raw, "  # noqa: S608
        f"count(*) AS n FROM {source_relation} GROUP BY ALL)"
    )
    return f"CREATE TEMP TABLE {table} AS {_stepped_sql(base, {field: rule}, lambda _, n: n)}"


def _fill_phones(cur: duckdb.DuckDBPyConnection, table: str) -> None:
    """Ask phonenumbers about the DISTINCT pre-cleaned phones the SQL fast path left open."""
    rows = cur.execute(
        f"SELECT DISTINCT pre FROM {table} "  # noqa: S608
        f"WHERE o IS NULL AND pre IS NOT NULL AND NOT {phone_decided_sql('pre')}"
    ).fetchall()
    found = {pre: e164 for (pre,) in rows if (e164 := phone_e164(pre)) is not None}
    if not found:
        return
    view = f"_std_phones_{uuid.uuid4().hex}"
    cur.register(view, pd.DataFrame({"pre": list(found), "e164": list(found.values())}))
    try:
        cur.execute(
            f"UPDATE {table} SET o = m.e164 FROM {quote_ident(view)} AS m "  # noqa: S608
            f"WHERE {table}.pre = m.pre"
        )
    finally:
        cur.unregister(view)


def _dictionary_joins(tables: dict[str, str]) -> str:
    """LEFT JOINs of the rows ``s`` (fields as raw text) with the fields' dictionary tables."""
    return "".join(
        f" LEFT JOIN {table} AS {_alias(f)} ON {_alias(f)}.raw = s.{quote_ident(f)}"
        for f, table in tables.items()
    )


def _output_sql(
    kind: _Kind, mapped: frozenset[str], source_relation: str, passthrough: Sequence[str],
    tables: dict[str, str], helpers: dict[str, str], output: str,
) -> str:
    """CREATE TABLE of the output columns in source order, plus the ``helpers``: trimmed inputs
    of the per-row fields, kept until their rules are counted."""
    per_row = {f: kind.rules[f] for f in kind.fields if f in mapped and kind.rules[f].per_row}
    base = ", ".join([
        "row_number() OVER () AS _rn",
        *(f"{quote_ident(name)} AS p{i}" for i, name in enumerate(passthrough)),
        *(f"{_text(f)} AS {quote_ident(f)}" for f in tables),
        *(f"{trim_sql(quote_ident(f))} AS {_row_column(f, 'i')}" for f in per_row),
    ])
    rows = _stepped_sql(f"SELECT {base} FROM {source_relation}", per_row, _row_column)  # noqa: S608
    if kind.id_field in mapped:
        row_id = _column(kind.rules, kind.id_field, "o", mapped)
    else:
        row_id = "CAST(s._rn AS VARCHAR)"
    columns = [
        ("source", "CAST($source AS VARCHAR)"),
        (kind.id_field, row_id),
        *kind.columns(mapped),
        *((name, f"s.p{i}") for i, name in enumerate(passthrough)),
        *((helper, f"s.{_row_column(f, 'i')}") for f, helper in helpers.items()),
    ]
    selected = ", ".join(f"{expr} AS {quote_ident(name)}" for name, expr in columns)
    return (
        f"CREATE TABLE {output} AS SELECT {selected} "  # noqa: S608
        f"FROM ({rows}) AS s{_dictionary_joins(tables)} ORDER BY s._rn"
    )


def _counts_sql(relation: str, source: str, result: str, sql_type: str, weight: str) -> str:
    """SELECT of non_empty, changed and rejected for one rule, each row weighing ``weight``."""
    if sql_type == "DOUBLE":  # '12.50' and '12.5' are the same number: compare values
        differs = f"{result} IS DISTINCT FROM TRY_CAST({source} AS DOUBLE)"
    else:  # compare texts: '05/03/2020' differs from its ISO form '2020-03-05'
        differs = f"CAST({result} AS VARCHAR) IS DISTINCT FROM {source}"
    conditions = (
        f"{source} IS NOT NULL",
        f"{result} IS NOT NULL AND {differs}",
        f"{source} IS NOT NULL AND {result} IS NULL",
    )
    sums = ", ".join(
        f"CAST(coalesce(sum({weight}) FILTER (WHERE {c}), 0) AS BIGINT)" for c in conditions
    )
    return f"SELECT {sums} FROM {relation}"  # noqa: S608


def _split_counts_sql(
    mapped: frozenset[str], source_relation: str, tables: dict[str, str]
) -> str:
    """Rows that needed a first or last name from full_name, how many got one, and the rest."""
    names = {f: tables[f] for f in ("first_name", "last_name", "full_name") if f in mapped}
    first = _column(_PROFILE_RULES, "first_name", "o", mapped)
    last = _column(_PROFILE_RULES, "last_name", "o", mapped)
    split = _alias("full_name")
    needed = f"({first} IS NULL OR {last} IS NULL)"
    filled = (
        f"(({first} IS NULL AND {split}.s_first IS NOT NULL) "
        f"OR ({last} IS NULL AND {split}.s_last IS NOT NULL))"
    )
    rows = ", ".join(f"{_text(f)} AS {quote_ident(f)}" for f in names)
    return (
        f"SELECT count(*) FILTER (WHERE {needed}), count(*) FILTER (WHERE {filled}), "  # noqa: S608
        f"count(*) FILTER (WHERE {needed} AND NOT {filled}) "
        f"FROM (SELECT {rows} FROM {source_relation}) AS s{_dictionary_joins(names)} "
        f"WHERE {split}.i IS NOT NULL"
    )


def _stats_sql(
    kind: _Kind, mapped: frozenset[str], source_relation: str, output: str,
    tables: dict[str, str], helpers: dict[str, str],
) -> tuple[list[tuple[str, str]], str]:
    """(field, rule) of every stat, and ONE query returning their counts side by side.

    Per-row rules compare the output with its helper column; dictionary rules sum their
    dictionary weighted by row counts.
    """
    names: list[tuple[str, str]] = []
    parts: list[str] = []
    for field in kind.fields:
        if field not in mapped:
            continue
        rule = kind.rules[field]
        names.append((field, rule.rule))
        if rule.per_row:
            helper = quote_ident(helpers[field])
            parts.append(_counts_sql(output, helper, quote_ident(field), rule.sql_type, "1"))
        else:
            parts.append(_counts_sql(tables[field], "i", "o", rule.sql_type, "n"))
        if field == "full_name":
            names.append((field, "full_name_split"))
            parts.append(_split_counts_sql(mapped, source_relation, tables))
    subqueries = ", ".join(f"({part}) AS c{i}" for i, part in enumerate(parts))
    return names, f"SELECT * FROM {subqueries}"  # noqa: S608


def rowwise_profiles_sql(source_relation: str, fields: Sequence[str]) -> str:
    """The profile standardisation as ONE SELECT computed row by row, for other engines.

    The same rules as `standardize_profiles`, without its dictionary tables: Spark runs it
    after sqlglot rewrote it (`cdp_core.spark_engine`). Phones that SQL cannot decide are
    left NULL, their pre-cleaned text in ``phone_pre`` for `phone_e164` to finish.

    Args:
        source_relation: already-quoted relation whose text columns are named by ``fields``.
        fields: the PROFILE_FIELDS present in it.

    Returns:
        DuckDB SQL of record_id and the profile output columns (no ``source``), plus
        ``phone_pre``.
    """
    mapped = _check(_PROFILES, fields, ())
    rules = {f: replace(rule, per_row=True) for f, rule in _PROFILE_RULES.items()}
    used = {f: rule for f, rule in rules.items() if f in mapped}
    trimmed = ", ".join(f"{trim_sql(_text(f))} AS {_row_column(f, 'i')}" for f in used)
    rows = _stepped_sql(f"SELECT {trimmed} FROM {source_relation}", used, _row_column)  # noqa: S608
    columns = [
        ("record_id", _column(rules, "record_id", "o", mapped)),
        *_profile_columns(mapped, rules),
        ("phone_pre", _column(rules, "phone", "pre", mapped)),
    ]
    selected = ", ".join(f"{expr} AS {quote_ident(name)}" for name, expr in columns)
    return f"SELECT {selected} FROM ({rows}) AS s"  # noqa: S608


def _check(kind: _Kind, fields: Sequence[str], passthrough: Sequence[str]) -> frozenset[str]:
    """Mapped fields as a set; unknown fields and clashing passthrough names are errors."""
    unknown = sorted(set(fields) - set(kind.fields))
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(unknown)}")
    taken = {name.lower() for name in kind.output_names()}
    for name in passthrough:
        if name.lower() in taken:
            raise ValueError(f"passthrough column {name!r} clashes with another output column")
        taken.add(name.lower())
    return frozenset(fields)


def _standardize(
    kind: _Kind, cur: duckdb.DuckDBPyConnection, source_relation: str, output_table: str,
    fields: Sequence[str], passthrough: Sequence[str], source_name: str,
) -> list[RuleStat]:
    """Dictionaries, output and counts in a few statements; the temp tables are dropped after."""
    mapped = _check(kind, fields, passthrough)
    suffix = uuid.uuid4().hex
    used = [f for f in kind.fields if f in mapped]
    tables = {f: quote_ident(f"_std_{f}_{suffix}") for f in used if not kind.rules[f].per_row}
    # Output columns holding the per-row fields' trimmed inputs until they are counted.
    helpers = {f: f"_std_{f}_{suffix}" for f in used if kind.rules[f].per_row}
    try:
        for field, table in tables.items():
            cur.execute(_dictionary_sql(table, field, source_relation, kind.rules[field]))
        if "phone" in tables:
            _fill_phones(cur, tables["phone"])
        cur.execute(
            _output_sql(kind, mapped, source_relation, passthrough, tables, helpers, output_table),
            {"source": source_name},
        )
        names, query = _stats_sql(kind, mapped, source_relation, output_table, tables, helpers)
        counts = cur.execute(query).fetchone() or () if names else ()
        for helper in helpers.values():
            cur.execute(f"ALTER TABLE {output_table} DROP COLUMN {quote_ident(helper)}")
    finally:
        # After a failed statement the caller's transaction is aborted and will roll back;
        # the drop error is then irrelevant and must not hide the original one.
        for table in tables.values():
            with suppress(duckdb.Error):
                cur.execute(f"DROP TABLE IF EXISTS {table}")
    return [
        RuleStat(field, rule, *counts[3 * i : 3 * i + 3]) for i, (field, rule) in enumerate(names)
    ]


def standardize_profiles(
    cur: duckdb.DuckDBPyConnection, source_relation: str, output_table: str,
    fields: Sequence[str], passthrough: Sequence[str] = (), source_name: str = "",
) -> list[RuleStat]:
    """Create ``output_table`` with standardised profiles from ``source_relation``.

    Args:
        cur: DuckDB cursor; no transaction is begun or committed here.
        source_relation: already-quoted relation whose VARCHAR columns are named by the
            canonical ``fields`` it maps, plus the ``passthrough`` columns.
        output_table: already-quoted name of the table to create.
        fields: the PROFILE_FIELDS present in the source.
        passthrough: further source columns copied unchanged after the standard columns.
        source_name: value of the ``source`` column.

    Returns:
        One RuleStat per mapped field, plus ``full_name_split`` when full_name is mapped.
    """
    return _standardize(
        _PROFILES, cur, source_relation, output_table, fields, passthrough, source_name
    )


def standardize_events(
    cur: duckdb.DuckDBPyConnection, source_relation: str, output_table: str,
    fields: Sequence[str], passthrough: Sequence[str] = (), source_name: str = "",
) -> list[RuleStat]:
    """Create ``output_table`` with standardised events; arguments as standardize_profiles.

    Output: source, event_id, customer_ref, event_at TIMESTAMP, amount DOUBLE, channel, then
    the passthrough columns. Without a mapped event_id the row number is used.
    """
    return _standardize(
        _EVENTS, cur, source_relation, output_table, fields, passthrough, source_name
    )
