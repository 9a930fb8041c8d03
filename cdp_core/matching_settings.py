"""What identity resolution compares: the match input's columns and the settings over them.

A user writes `MatchSettings`: comparisons (a method over match-input columns, with thresholds),
blocking rules as lists of columns, deterministic rules, guards and a threshold. They are plain
JSON, kept apart from the Splink settings they resolve to (`to_splink_settings`), as Splink
itself keeps a `SettingsCreator` apart from its resolved `Settings`. `suggest_settings` writes
a first version from the data: which fields are filled, which extra attribute is an identifier
shared by several sources (FEBRL's ``soc_sec_id``), which blocking rules stay affordable.

The match input (``match.records``) is the union of the current standardised profile tables:
one row per record, keyed ``'<source_id>:<record_id>'``, with its source name in
``source_dataset`` (and ``source``), the standardised columns (display forms for review, and
the accent-free matching keys), a few derived columns (`DERIVED_COLUMNS`) and the extra
attributes the settings use, renamed ``x_<name>``. Values on the blocked list
(``meta.blocked_values``) are NULL in the keys, so a placeholder such as ``test@test.com`` can
never drive a link.
"""
from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on
from splink.internals.comparison_creator import ComparisonCreator

from cdp_core import catalog, mapping
from cdp_core.errors import InputError
from cdp_core.sqlutil import quote_ident
from cdp_core.standardize import output_columns

# Canonical field -> the match-input column holding its matching key (blocked values use these
# field names; an extra attribute is blocked under its own column name).
KEY_COLUMNS: dict[str, str] = {
    "first_name": "first_name_key", "last_name": "last_name_key", "email": "email_key",
    "phone": "phone", "birth_date": "birth_date", "street": "street_key",
    "postcode": "postcode", "city": "city_key",
}
# Match-input columns computed from the keys, after blocked values are removed.
DERIVED_COLUMNS = ("email_user", "name_grams")
ID_COLUMNS = ("unique_id", "source_dataset", "source_id")
# The standardised profile columns (display forms and keys), then the street key.
STANDARD_COLUMNS = (*output_columns(), "street_key")
RECORD_COLUMNS = (*ID_COLUMNS, *STANDARD_COLUMNS, *DERIVED_COLUMNS)
ARRAY_COLUMNS = frozenset({"name_grams"})  # exploded when a blocking rule uses them
ATTRIBUTE_PREFIX = "x_"
METHODS = ("name", "email", "email_name", "phone", "date", "address", "identifier", "exact")
DEFAULT_THRESHOLD = 0.9
NAME_THRESHOLDS = [0.92, 0.88, 0.7]
STREET_THRESHOLDS = [0.9]
MAX_PAIRS_PER_RECORD = 50  # blocking budget: total comparisons stay under this times records
_MIN_FILLED = 0.01  # a field filled in fewer records than this is left out
_ID_MIN_UNIQUENESS = 0.2  # low: a deduplicated source repeats its identifiers
_ID_MIN_COMPLETENESS = 0.3
_ID_MIN_SHARED = 0.05  # share of an identifier's values held by two records or more
_ID_MAX_GROUP = 5.0  # mean records per shared value: an identifier, not a category
_ID_SHAPE = r"^[A-Za-z]{0,4}[-/ ]?[0-9][0-9A-Za-z/.-]{3,}$"
_SAFE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_HOUSEHOLDS = 0.01  # above this share of shared addresses or e-mails, households are guarded
_GRAM = 4  # letters per name gram: an e-mail user part is cut into grams a surname starts with


# --------------------------------------------------------------------------- user settings


@dataclass
class Comparison:
    """One comparison a user can edit: a method applied to match-input columns.

    ``name`` is the label of the comparison in charts and the suffix of its ``gamma_`` column.
    ``thresholds`` are Jaro-Winkler similarities for the ``name`` and ``address`` (street)
    methods. A ``name`` comparison given a second column (the surname for a first name) also
    recognises names entered the wrong way round.
    """

    name: str
    method: str
    columns: list[str]
    thresholds: list[float] = field(default_factory=list)
    term_frequencies: bool = False


@dataclass
class DeterministicRule:
    """Records sharing every key (none NULL) always link, whatever the model says.

    With ``single_first_name`` the rule only fires for a group of records that holds one first
    name at most: a family mailbox shared by Jean and Marie is left to the model and guards.
    """

    keys: list[str]
    single_first_name: bool = True


@dataclass
class Guard:
    """A veto: when two filled values of ``column`` are less similar than ``min_similarity``
    (Jaro-Winkler), and not merely swapped with ``swap_column`` (first name typed as surname),
    the pair is not a link unless one of the ``unless`` comparisons agrees, at least partly
    (a shared phone number, an identifier with one typo).

    This is what keeps twins (same surname, birth date and address) and partners sharing a
    mailbox apart: the model alone adds up the shared evidence and would merge them.
    """

    column: str
    min_similarity: float = 0.88
    unless: list[str] = field(default_factory=list)
    swap_column: str | None = None


@dataclass
class MatchSettings:
    """Matching settings as a user writes them: JSON-serialisable, validated, resolved later."""

    comparisons: list[Comparison]
    blocking_rules: list[list[str]]
    deterministic_rules: list[DeterministicRule] = field(default_factory=list)
    guards: list[Guard] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)  # x_ column -> source column
    threshold: float = DEFAULT_THRESHOLD
    link_type: str = "link_and_dedupe"
    training_rules: list[list[str]] = field(default_factory=list)  # empty: chosen by train()

    def columns(self) -> set[str]:
        """Every match-input column the settings may refer to."""
        return set(RECORD_COLUMNS) | set(self.attributes)

    def used_columns(self) -> list[str]:
        """The match-input columns matching reads: ids, then what the settings refer to."""
        used = ["unique_id", "source_dataset", "record_id", "first_name_key"]
        used += [col for c in self.comparisons for col in c.columns]
        used += [key for rule in [*self.blocking_rules, *self.training_rules] for key in rule]
        used += [key for rule in self.deterministic_rules for key in rule.keys]
        used += [col for g in self.guards for col in (g.column, g.swap_column) if col]
        return list(dict.fromkeys(used))

    def comparison(self, name: str) -> Comparison:
        """The comparison called ``name``."""
        for comparison in self.comparisons:
            if comparison.name == name:
                return comparison
        raise InputError(f"no comparison named {name!r}")

    def validate(self) -> MatchSettings:
        """Check names, methods, columns and rules; return self.

        Raises:
            InputError: naming what is wrong, so the settings page can show it.
        """
        known = self.columns()
        for alias in self.attributes:
            if not alias.startswith(ATTRIBUTE_PREFIX) or not _SAFE_NAME.match(alias):
                raise InputError(f"attribute column {alias!r} must look like x_name")
        names = [c.name for c in self.comparisons]
        if not names:
            raise InputError("matching needs at least one comparison")
        if len(set(names)) != len(names):
            raise InputError("two comparisons have the same name")
        for comparison in self.comparisons:
            if not _SAFE_NAME.match(comparison.name):
                raise InputError(f"comparison name {comparison.name!r}: use a-z, 0-9 and _")
            if comparison.method not in METHODS:
                raise InputError(f"comparison {comparison.name!r}: unknown method "
                                 f"{comparison.method!r}; use one of {', '.join(METHODS)}")
            expected = _METHOD_ARITY[comparison.method]
            if len(comparison.columns) not in expected:
                raise InputError(f"comparison {comparison.name!r} ({comparison.method}) "
                                 f"takes {' or '.join(map(str, expected))} column(s)")
            _check_columns(comparison.columns, known, f"comparison {comparison.name!r}")
            if any(not 0 < t < 1 for t in comparison.thresholds):
                raise InputError(f"comparison {comparison.name!r}: thresholds lie in (0, 1)")
        if not self.blocking_rules:
            raise InputError("matching needs at least one blocking rule")
        for rule in [*self.blocking_rules, *self.training_rules]:
            _check_columns(rule, known, "blocking rule")
        for det in self.deterministic_rules:
            _check_columns(det.keys, known - ARRAY_COLUMNS, "deterministic rule")
        for guard in self.guards:
            compared = {col for c in self.comparisons for col in c.columns}
            swap = [guard.swap_column] if guard.swap_column else []
            _check_columns([guard.column, *swap], compared - ARRAY_COLUMNS, "guard")
            if not 0 < guard.min_similarity <= 1:
                raise InputError("a guard's similarity lies in (0, 1]")
            for name in guard.unless:
                self.comparison(name)
        if not 0 < self.threshold < 1:
            raise InputError("the threshold is a match probability between 0 and 1")
        if self.link_type not in ("link_and_dedupe", "link_only", "dedupe_only"):
            raise InputError(f"unknown link type {self.link_type!r}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MatchSettings:
        """Settings from `to_dict` output (e.g. read back from the workspace), validated."""
        try:
            return cls(
                comparisons=[Comparison(**c) for c in data["comparisons"]],
                blocking_rules=[list(rule) for rule in data["blocking_rules"]],
                deterministic_rules=[DeterministicRule(**r)
                                     for r in data.get("deterministic_rules", [])],
                guards=[Guard(**g) for g in data.get("guards", [])],
                attributes=dict(data.get("attributes", {})),
                threshold=float(data.get("threshold", DEFAULT_THRESHOLD)),
                link_type=data.get("link_type", "link_and_dedupe"),
                training_rules=[list(rule) for rule in data.get("training_rules", [])],
            ).validate()
        except (KeyError, TypeError) as exc:
            raise InputError(f"matching settings are incomplete or malformed: {exc}") from None

    def to_json(self) -> str:
        """The settings as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> MatchSettings:
        """Settings from `to_json` text."""
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise InputError(f"matching settings are not valid JSON: {exc.msg}") from None


_METHOD_ARITY = {"name": (1, 2), "email": (2,), "email_name": (3,), "phone": (1,), "date": (1,),
                 "address": (3,), "identifier": (1,), "exact": (1,)}


def _check_columns(columns: list[str], known: set[str], what: str) -> None:
    if not columns:
        raise InputError(f"a {what} needs at least one column")
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise InputError(f"{what} uses unknown column {unknown[0]!r}; match-input columns "
                         f"are {', '.join(sorted(known))}")


def attribute_alias(column: str) -> str:
    """Match-input name of an extra attribute: ``x_`` and its normalised name.

    Example:
        >>> attribute_alias("N° Sécu")
        'x_n_secu'
    """
    return ATTRIBUTE_PREFIX + (mapping.normalise_name(column) or "attribute")[:60]


# --------------------------------------------------------------------------- match input SQL

Sql = tuple[str, list[Any]]


def _name_key(expr: str) -> str:
    """Letters and digits of a text, lower case and accent-free, words single-spaced."""
    return (f"NULLIF(trim(regexp_replace(lower(strip_accents({expr})), '[^a-z0-9]+', ' ', "
            "'g')), '')")


def _attribute_key(expr: str) -> str:
    """An identifier as text without spaces, lower case: ``'AB 12 34'`` and ``ab1234`` match."""
    return f"NULLIF(lower(regexp_replace(trim(CAST({expr} AS VARCHAR)), '\\s+', '', 'g')), '')"


def source_select_sql(source_id: int, std_table: str, present: set[str],
                      attributes: dict[str, str]) -> Sql:
    """SELECT of one profile source's rows with the match-input base columns.

    Args:
        source_id: the source's id, part of every unique_id.
        std_table: quoted standardised table of its current version.
        present: the columns that table has.
        attributes: x_ column -> source column; absent ones are NULL here.
    """
    parts = [
        f"'{int(source_id)}:' || record_id AS unique_id",
        "(SELECT name FROM meta.sources WHERE source_id = ?) AS source_dataset",
        f"{int(source_id)} AS source_id",
        *(quote_ident(column) for column in output_columns()),
        f"{_name_key('street')} AS street_key",
    ]
    for alias, column in attributes.items():
        value = _attribute_key(quote_ident(column)) if column in present else "NULL"
        parts.append(f"CAST({value} AS VARCHAR) AS {quote_ident(alias)}")
    return f"SELECT {', '.join(parts)} FROM {std_table}", [source_id]  # noqa: S608


def _blocked_sql(column: str, sql_type: str) -> str:
    """The column, or NULL when its value is on the blocked list of the field (a parameter)."""
    col = quote_ident(column)
    return (f"CASE WHEN CAST({col} AS VARCHAR) IN (SELECT value "  # noqa: S608
            "FROM meta.blocked_values "
            f"WHERE field = ?) THEN CAST(NULL AS {sql_type}) ELSE {col} END AS {col}")


def _name_grams_sql(email_user: str, last_name: str) -> str:
    """Blocking grams: the surname's first letters, or every run of letters of an e-mail user
    part when the record has no surname (a newsletter sign-up): ``'jean.dupont78'`` gives
    ``['jean', 'eand', ..., 'dupo', 'upon', 'pont']``, one of which a Dupont starts with."""
    surname = f"regexp_replace({last_name}, '[^a-z]', '', 'g')"
    user = f"regexp_replace({email_user}, '[^a-z]', '', 'g')"
    starts = f"range(1, length({user}) + {2 - _GRAM})"
    grams = f"list_transform({starts}, lambda i: substr({user}, i, {_GRAM}))"
    return (f"CASE WHEN length({surname}) >= 3 THEN [substr({surname}, 1, {_GRAM})] "
            f"WHEN {last_name} IS NULL AND length({user}) >= {_GRAM} THEN {grams} END")


def _input_from_selects(selects: list[Sql], attributes: dict[str, str]) -> Sql:
    """SELECT of the whole match input from the per-source selects: blocked values nulled,
    then the derived columns computed from what is left."""
    union, union_params = union_sql(selects)
    blocked = [(field, column, "DATE" if column == "birth_date" else "VARCHAR")
               for field, column in KEY_COLUMNS.items()]
    blocked += [(source_column, alias, "VARCHAR") for alias, source_column in attributes.items()]
    cleaned = ", ".join(_blocked_sql(column, sql_type) for _, column, sql_type in blocked)
    # Parameters in text order: the blocked fields, then each source's.
    params = [field for field, _, _ in blocked] + union_params
    user = "NULLIF(regexp_extract(email_key, '^([^@]+)@', 1), '')"
    return (
        f"SELECT *, {user} AS email_user, "  # noqa: S608
        f"{_name_grams_sql(user, 'last_name_key')} AS name_grams "
        f"FROM (SELECT * REPLACE ({cleaned}) FROM ({union}))", params)


def source_selects(cur: duckdb.DuckDBPyConnection, attributes: dict[str, str]) -> list[Sql]:
    """`source_select_sql` of the current version of every profile source.

    Raises:
        InputError: the workspace holds no profile source.
    """
    selects = []
    for source in catalog.all_sources(cur):
        if source.kind != mapping.PROFILE_KIND:
            continue
        version = catalog.current_version(cur, source.source_id)
        _, std_table = catalog.table_names(source.source_id, version)
        present = {row[0] for row in cur.execute(f"DESCRIBE {std_table}").fetchall()}
        selects.append(source_select_sql(source.source_id, std_table, present, attributes))
    if not selects:
        raise InputError("matching needs at least one profile source: ingest one first")
    return selects


def union_sql(selects: list[Sql]) -> Sql:
    """The per-source selects as one relation, before any value is blocked."""
    return " UNION ALL ".join(sql for sql, _ in selects), [p for _, ps in selects for p in ps]


def input_sql(cur: duckdb.DuckDBPyConnection, attributes: dict[str, str]) -> Sql:
    """SELECT of the match input over the current version of every profile source."""
    return _input_from_selects(source_selects(cur, attributes), attributes)


# --------------------------------------------------------------------------- Splink resolution


def _side(column: str, side: str) -> str:
    return quote_ident(f"{column}_{side}")


def _both_ways(condition: Callable[[str, str], str]) -> str:
    """A condition written for sides (a, b), OR-ed with its mirror (b, a)."""
    return f"(({condition('l', 'r')}) OR ({condition('r', 'l')}))"


def _swapped_sql(column: str, other: str, similarity: float) -> str:
    """Both names agree crosswise: the first name of one record is the surname of the other."""
    return (f"jaro_winkler_similarity({_side(column, 'l')}, {_side(other, 'r')}) >= {similarity} "
            f"AND jaro_winkler_similarity({_side(other, 'l')}, {_side(column, 'r')}) "
            f">= {similarity}")


def _name_comparison(c: Comparison) -> ComparisonCreator:
    column = c.columns[0]
    thresholds = sorted(c.thresholds, reverse=True)
    levels = [cll.NullLevel(column), cll.ExactMatchLevel(column).configure(
        tf_adjustment_column=column if c.term_frequencies else None)]
    if len(c.columns) == 2:
        similarity = float(thresholds[0]) if thresholds else 0.92
        levels.append(cll.CustomLevel(_swapped_sql(column, c.columns[1], similarity),
                                      f"Swapped with {c.columns[1]}"))
    levels += [cll.JaroWinklerLevel(column, t) for t in thresholds]
    return cl.CustomComparison([*levels, cll.ElseLevel()], output_column_name=c.name)


def _email_comparison(c: Comparison) -> ComparisonCreator:
    email, user = c.columns
    return cl.CustomComparison([
        cll.NullLevel(email),
        cll.ExactMatchLevel(email).configure(
            tf_adjustment_column=email if c.term_frequencies else None),
        cll.ExactMatchLevel(user).configure(label_for_charts="Same user part, other domain"),
        cll.JaroWinklerLevel(email, 0.88),
        cll.ElseLevel(),
    ], output_column_name=c.name)


def _email_name_comparison(c: Comparison) -> ComparisonCreator:
    """Does the e-mail address of a record without a surname hold the surname (and birth
    year) of the other record, which has no e-mail? Links a newsletter sign-up to a loyalty
    card; pairs where both have an e-mail are left to the e-mail comparison."""
    user, last, birth = c.columns

    def applies(a: str, b: str) -> str:
        return (f"{_side(user, a)} IS NOT NULL AND {_side(last, a)} IS NULL "
                f"AND {_side(last, b)} IS NOT NULL AND {_side(user, b)} IS NULL")

    def holds_name(a: str, b: str) -> str:
        surname = f"replace({_side(last, b)}, ' ', '')"
        return (f"{applies(a, b)} AND length({surname}) >= 3 "
                f"AND contains({_side(user, a)}, {surname})")

    def holds_year(a: str, b: str) -> str:
        year = f"right(CAST(year({_side(birth, b)}) AS VARCHAR), 2)"
        return f"{holds_name(a, b)} AND contains({_side(user, a)}, {year})"

    return cl.CustomComparison([
        cll.CustomLevel(f"NOT {_both_ways(applies)}", "Not applicable").configure(
            is_null_level=True),
        cll.CustomLevel(_both_ways(holds_year), "Surname and birth year in the address"),
        cll.CustomLevel(_both_ways(holds_name), "Surname in the address"),
        cll.ElseLevel(),
    ], output_column_name=c.name)


def _phone_comparison(c: Comparison) -> ComparisonCreator:
    return cl.CustomComparison([cll.NullLevel(c.columns[0]), cll.ExactMatchLevel(c.columns[0]),
                                cll.ElseLevel()], output_column_name=c.name)


def _date_comparison(c: Comparison) -> ComparisonCreator:
    """Exact, day and month swapped, one of day or month wrong, a typo in the year, other."""
    column = c.columns[0]
    y, m, d = ({side: f"{part}({_side(column, side)})" for side in "lr"}
               for part in ("year", "month", "day"))
    same = {"y": f"{y['l']} = {y['r']}", "m": f"{m['l']} = {m['r']}", "d": f"{d['l']} = {d['r']}"}
    year_typo = f"{same['m']} AND {same['d']} AND abs({y['l']} - {y['r']}) <= 10"
    return cl.CustomComparison([
        cll.NullLevel(column),
        cll.ExactMatchLevel(column),
        cll.CustomLevel(f"{same['y']} AND {m['l']} = {d['r']} AND {d['l']} = {m['r']}",
                        "Day and month swapped"),
        cll.CustomLevel(f"{same['y']} AND ({same['m']} OR {same['d']})", "Day or month differs"),
        cll.CustomLevel(year_typo, "Year differs by 10 at most"),
        cll.ElseLevel(),
    ], output_column_name=c.name)


def _address_comparison(c: Comparison) -> ComparisonCreator:
    """Street, postcode and city as one comparison: a move changes them together, so they
    count once (two comparisons would penalise a mover twice and reward a household twice)."""
    street, postcode, city = c.columns
    same_place = (f"({_side(postcode, 'l')} = {_side(postcode, 'r')} "
                  f"OR {_side(city, 'l')} = {_side(city, 'r')})")
    fuzzy = [cll.CustomLevel(f"jaro_winkler_similarity({_side(street, 'l')}, "
                             f"{_side(street, 'r')}) >= {float(t)} AND {same_place}",
                             f"Street similarity >= {t}, same place")
             for t in sorted(c.thresholds, reverse=True)]
    area = f"substr({_side(postcode, 'l')}, 1, 2) = substr({_side(postcode, 'r')}, 1, 2)"
    return cl.CustomComparison([
        cll.And(cll.NullLevel(street), cll.NullLevel(postcode), cll.NullLevel(city)),
        cll.ExactMatchLevel(street),
        *fuzzy,
        cll.ExactMatchLevel(postcode),
        cll.ExactMatchLevel(city),
        cll.CustomLevel(area, "Same area (first two postcode digits)"),
        cll.ElseLevel(),
    ], output_column_name=c.name)


def _exact_comparison(c: Comparison) -> ComparisonCreator:
    column = c.columns[0]
    return cl.CustomComparison([
        cll.NullLevel(column),
        cll.ExactMatchLevel(column).configure(
            tf_adjustment_column=column if c.term_frequencies else None),
        cll.ElseLevel()], output_column_name=c.name)


def _identifier_comparison(c: Comparison) -> ComparisonCreator:
    """Exact (with term frequencies if asked), one typo (a character changed, dropped or
    two swapped), other."""
    column = c.columns[0]
    return cl.CustomComparison([
        cll.NullLevel(column),
        cll.ExactMatchLevel(column).configure(
            tf_adjustment_column=column if c.term_frequencies else None),
        cll.DamerauLevenshteinLevel(column, 1),
        cll.ElseLevel()], output_column_name=c.name)


_BUILDERS = {"name": _name_comparison, "email": _email_comparison,
             "email_name": _email_name_comparison, "phone": _phone_comparison,
             "date": _date_comparison, "address": _address_comparison,
             "identifier": _identifier_comparison, "exact": _exact_comparison}


def blocking_rule(keys: list[str]) -> Any:
    """Splink blocking rule: records equal on every key; array keys are exploded first."""
    arrays = [k for k in keys if k in ARRAY_COLUMNS]
    return block_on(*keys, arrays_to_explode=arrays or None)


def settings_creator(settings: MatchSettings) -> SettingsCreator:
    """The Splink SettingsCreator the user settings resolve to (untrained)."""
    settings.validate()
    return SettingsCreator(
        link_type=settings.link_type,
        comparisons=[_BUILDERS[c.method](c) for c in settings.comparisons],
        blocking_rules_to_generate_predictions=[blocking_rule(r) for r in settings.blocking_rules],
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=False,
        source_dataset_column_name="source_dataset",
    )


def to_splink_settings(settings: MatchSettings) -> dict[str, Any]:
    """The resolved Splink settings dictionary (DuckDB dialect), untrained."""
    return settings_creator(settings).create_settings_dict("duckdb")


def settings_to_splink_json(settings: MatchSettings) -> str:
    """Exportable Splink JSON: loads in any Splink 5 project with ``Linker(df, path)``."""
    return json.dumps(to_splink_settings(settings), indent=2)


# --------------------------------------------------------------------------- suggestion


def _fill_sql(relation: str, columns: list[str]) -> str:
    counts = ", ".join(f"count({quote_ident(c)})" for c in columns)
    return f"SELECT count(*), {counts} FROM {relation}"  # noqa: S608


def rule_pairs_sql(relation: str, keys: list[str]) -> str:
    """Comparisons a blocking rule makes before de-duplication: the sum of n(n-1)/2 per block."""
    cols = ", ".join(quote_ident(k) for k in keys)
    filled = " AND ".join(f"{quote_ident(k)} IS NOT NULL" for k in keys)
    source = relation
    if any(k in ARRAY_COLUMNS for k in keys):
        picks = ", ".join(f"unnest({quote_ident(k)}) AS {quote_ident(k)}" if k in ARRAY_COLUMNS
                          else quote_ident(k) for k in keys)
        source = f"(SELECT {picks} FROM {relation})"  # noqa: S608
    return (f"SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM (SELECT count(*) AS n "  # noqa: S608
            f"FROM {source} WHERE {filled} GROUP BY {cols})")


def _identifier_stats_sql(relation: str, column: str) -> str:
    """Share of an attribute's filled records sharing their value with another record, the
    mean records per shared value, and the share of values shaped like an identifier."""
    col = quote_ident(column)
    return (
        "SELECT coalesce(sum(n) FILTER (WHERE n > 1) / sum(n), 0), "  # noqa: S608
        "coalesce(avg(n) FILTER (WHERE n > 1), 0), coalesce(sum(shaped::INTEGER * n) / sum(n), 0) "
        f"FROM (SELECT {col} AS v, count(*) AS n, "
        f"regexp_full_match({col}, ?) AS shaped FROM {relation} "
        f"WHERE {col} IS NOT NULL GROUP BY {col})")


def _households_sql(relation: str, keys: list[str], strong: list[str]) -> str:
    """Share of the groups of records of one source sharing ``keys`` (an address, an e-mail)
    in which two records have clearly different first names (Jaro-Winkler under 0.88) and
    share none of the ``strong`` identifiers (then they are two people, not one)."""
    cols = ", ".join(quote_ident(k) for k in keys)
    filled = " AND ".join(f"{quote_ident(k)} IS NOT NULL" for k in [*keys, "first_name_key"])
    same = " AND ".join(f"a.{quote_ident(k)} = b.{quote_ident(k)}" for k in keys)
    apart = "".join(f" AND NOT coalesce(a.{quote_ident(k)} = b.{quote_ident(k)}, false)"
                    for k in strong)
    return (
        f"WITH g AS (SELECT * FROM {relation} WHERE {filled}) "  # noqa: S608
        "SELECT (SELECT count(*) FROM (SELECT DISTINCT a.source_id, "
        f"{', '.join('a.' + quote_ident(k) for k in keys)} FROM g a JOIN g b "
        f"ON a.source_id = b.source_id AND {same} AND a.unique_id < b.unique_id "
        f"WHERE jaro_winkler_similarity(a.first_name_key, b.first_name_key) < 0.88{apart})) "
        f"/ greatest((SELECT count(*) FROM (SELECT DISTINCT source_id, {cols} FROM g)), 1)")


def candidate_attributes(cur: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Extra attributes of the profile sources that could be identifiers, from the catalogue:
    unmapped, filled in 30% of rows or more and not a category (20% distinct values or more;
    a deduplicated source repeats its identifiers) in every source that has them."""
    rows = cur.execute(
        "SELECT c.column_name, min(q.uniqueness), min(q.completeness) "
        "FROM meta.catalog_columns c JOIN meta.sources s USING (source_id) "
        "JOIN meta.column_quality q ON q.source_id = c.source_id "
        "AND q.column_name = c.column_name AND q.version = (SELECT max(version) "
        "FROM meta.source_versions v WHERE v.source_id = c.source_id) "
        "WHERE s.kind = ? AND c.field IS NULL "
        "AND c.semantic_type IN ('identifier', 'customer reference', 'number', 'text') "
        "GROUP BY c.column_name ORDER BY c.column_name", [mapping.PROFILE_KIND]).fetchall()
    found: dict[str, str] = {}
    for column, uniqueness, completeness in rows:
        alias = attribute_alias(column)
        if (uniqueness or 0) >= _ID_MIN_UNIQUENESS and (completeness or 0) >= \
                _ID_MIN_COMPLETENESS and alias not in found and alias not in RECORD_COLUMNS:
            found[alias] = column
    return found


@dataclass(frozen=True)
class _Profile:
    """What the suggestion knows of the match input: size, fill rates, identifiers."""

    records: int
    filled: dict[str, float]
    identifiers: list[str]
    email_only: float  # share of records with an e-mail address but no surname
    households: float  # share of shared addresses or e-mails held by different first names
    pairs: dict[tuple[str, ...], int]


_CANDIDATE_RULES: tuple[tuple[str, ...], ...] = (
    ("email_key",), ("phone",), ("last_name_key", "birth_date"),
    ("first_name_key", "birth_date"), ("first_name_key", "last_name_key"),
    ("first_name_key", "postcode"), ("last_name_key", "postcode"), ("birth_date", "postcode"),
    ("birth_date", "city_key"), ("street_key",), ("first_name_key", "city_key"),
    ("first_name_key", "name_grams"),
)


def _profile(cur: duckdb.DuckDBPyConnection, attributes: dict[str, str]) -> _Profile:
    sql, params = input_sql(cur, attributes)
    view = quote_ident(f"_match_suggest_{uuid.uuid4().hex}")
    cur.execute(f"CREATE TEMP TABLE {view} AS {sql}", params)
    try:
        columns = [*KEY_COLUMNS.values(), *attributes]
        total, *counts = cur.execute(_fill_sql(view, columns)).fetchone()
        filled = {c: (n / total if total else 0.0) for c, n in zip(columns, counts, strict=True)}
        identifiers = []
        for alias in attributes:
            shared, group, shaped = cur.execute(_identifier_stats_sql(view, alias),
                                                [_ID_SHAPE]).fetchone()
            if shared >= _ID_MIN_SHARED and group <= _ID_MAX_GROUP and shaped >= 0.9:
                identifiers.append(alias)
        email_only = cur.execute(
            f"SELECT count(*) FILTER (WHERE email_key IS NOT NULL AND last_name_key IS NULL) "  # noqa: S608
            f"/ greatest(count(*), 1) FROM {view}").fetchone()[0]
        strong = [k for k in ("phone", *identifiers) if filled.get(k, 0.0) >= _MIN_FILLED]
        households = max([cur.execute(_households_sql(view, keys, strong)).fetchone()[0]
                          for keys in (["street_key", "postcode"], ["email_key"])
                          if all(filled.get(k, 0.0) >= _MIN_FILLED for k in keys)] or [0.0])
        rules = [*((a,) for a in identifiers), *_CANDIDATE_RULES]
        pairs = {rule: int(cur.execute(rule_pairs_sql(view, list(rule))).fetchone()[0])
                 for rule in rules if all(filled.get(k, 1.0) >= _MIN_FILLED for k in rule)}
    finally:
        cur.execute(f"DROP TABLE IF EXISTS {view}")
    return _Profile(total, filled, identifiers, float(email_only), float(households), pairs)


def _choose_rules(profile: _Profile) -> list[list[str]]:
    """Candidate rules in order, each kept while the running total stays within budget."""
    budget = MAX_PAIRS_PER_RECORD * max(profile.records, 1)
    chosen: list[list[str]] = []
    total = 0
    for rule, pairs in profile.pairs.items():
        if "name_grams" in rule and profile.email_only < _MIN_FILLED:
            continue
        if pairs == 0 or total + pairs > budget or pairs > budget / 2:
            continue
        chosen.append(list(rule))
        total += pairs
    return chosen


def suggest_settings(cur: duckdb.DuckDBPyConnection) -> MatchSettings:
    """First matching settings from the data and the catalogue; the user edits them after.

    Fields filled in under 1% of records are skipped. An extra attribute becomes an identifier
    comparison (exact with term frequencies, one typo, other) when it looks like one:
    code-shaped values (digits), shared by some records (present in several sources, or
    repeated within one) but in small groups. Deterministic rules link records sharing an
    e-mail, a phone or an identifier under one first name. The first-name guard is proposed
    when the data holds households: in some source, 1% or more of the addresses or e-mails
    are shared by records with clearly different first names and no phone or identifier in
    common (couples, twins, family mailboxes); without households it would only veto true
    pairs whose first name was replaced. Blocking rules are kept in order while the total
    stays under 50 comparisons per record.
    """
    candidates = candidate_attributes(cur)
    profile = _profile(cur, candidates)
    filled = profile.filled

    def has(*columns: str) -> bool:
        return all(filled.get(c, 0.0) >= _MIN_FILLED for c in columns)

    comparisons: list[Comparison] = []
    names = [f"{n}_key" for n in ("first_name", "last_name") if has(f"{n}_key")]
    for column in names:
        swap = [c for c in names if c != column]
        comparisons.append(Comparison(column.removesuffix("_key"), "name", [column, *swap],
                                      NAME_THRESHOLDS, True))
    if has("email_key"):
        comparisons.append(Comparison("email", "email", ["email_key", "email_user"]))
    if has("email_key", "last_name_key") and profile.email_only >= _MIN_FILLED:
        comparisons.append(Comparison("email_name", "email_name",
                                      ["email_user", "last_name_key", "birth_date"]))
    if has("phone"):
        comparisons.append(Comparison("phone", "phone", ["phone"]))
    if has("birth_date"):
        comparisons.append(Comparison("birth_date", "date", ["birth_date"]))
    if has("street_key") or has("postcode") or has("city_key"):
        comparisons.append(Comparison("address", "address", ["street_key", "postcode",
                                                             "city_key"], STREET_THRESHOLDS))
    attributes = {alias: candidates[alias] for alias in profile.identifiers}
    for alias in attributes:
        name = alias[len(ATTRIBUTE_PREFIX):]
        taken = any(c.name == name for c in comparisons)
        comparisons.append(Comparison(alias if taken else name, "identifier", [alias], [], True))
    if not comparisons:
        raise InputError("no field is filled enough to compare records: map names, e-mails, "
                         "phones or birth dates first")
    strong = [c.name for c in comparisons if c.method == "phone" or c.columns[0] in attributes]
    guards = [Guard("first_name_key", unless=strong,
                    swap_column="last_name_key" if has("last_name_key") else None)
              ] if has("first_name_key") and profile.households >= _HOUSEHOLDS else []
    deterministic = [DeterministicRule([key]) for key in ("email_key", "phone", *attributes)
                     if has(key)]
    rules = _choose_rules(profile)
    if not rules:
        raise InputError("no blocking rule keeps comparisons affordable on this data")
    return MatchSettings(comparisons=comparisons, blocking_rules=rules,
                         deterministic_rules=deterministic, guards=guards,
                         attributes=attributes).validate()
