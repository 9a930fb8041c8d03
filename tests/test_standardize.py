"""Standardisation rules on realistic French customer data, their counts, and their safety."""
from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from cdp_core.sqlutil import quote_ident
from cdp_core.standardize import (
    EVENT_FIELDS,
    PROFILE_FIELDS,
    RuleStat,
    output_columns,
    phone_decided_sql,
    phone_e164,
    phone_fast_e164_sql,
    standardize_events,
    standardize_profiles,
)

FIXTURE = Path(__file__).resolve().parent / "data" / "standardize" / "profiles_fr.csv"
# The fixture's French headers, as a user would map them.
FIXTURE_MAPPING = {
    "record_id": "num_client", "civility": "civilite", "first_name": "prenom",
    "last_name": "nom", "full_name": "nom_complet", "email": "email", "phone": "telephone",
    "birth_date": "date_naissance", "street": "adresse", "postcode": "code_postal",
    "city": "ville", "country": "pays", "consent_email": "optin_email",
    "consent_sms": "optin_sms", "created_at": "date_creation", "updated_at": "date_maj",
}

Row = dict[str, object]


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh in-memory database."""
    connection = duckdb.connect()
    yield connection
    connection.close()


def load(con: duckdb.DuckDBPyConnection, rows: Sequence[dict[str, str | None]]) -> None:
    """Table ``src`` of VARCHAR columns holding ``rows``."""
    columns = list(rows[0])
    con.execute(
        f"CREATE TABLE src ({', '.join(f'{quote_ident(c)} VARCHAR' for c in columns)})"
    )
    con.executemany(
        f"INSERT INTO src VALUES ({', '.join('?' * len(columns))})",  # noqa: S608
        [[row[c] for c in columns] for row in rows],
    )


def fetch(con: duckdb.DuckDBPyConnection, table: str, key: str = "record_id") -> dict[str, Row]:
    """Rows of ``table`` as dicts, by ``key``."""
    result = con.execute(f"SELECT * FROM {table}")  # noqa: S608
    names = [d[0] for d in result.description]
    return {row[names.index(key)]: dict(zip(names, row, strict=True)) for row in result.fetchall()}


def by_rule(stats: list[RuleStat]) -> dict[tuple[str, str], tuple[int, int, int]]:
    """RuleStats as (field, rule) -> (non_empty, changed, rejected)."""
    return {(s.field, s.rule): (s.non_empty, s.changed, s.rejected) for s in stats}


def profiles(
    con: duckdb.DuckDBPyConnection, field: str, values: Sequence[str | None]
) -> tuple[list[object], tuple[int, int, int], dict[str, Row]]:
    """Standardise one field's values: outputs in order, its stat, and the full rows."""
    load(con, [{"record_id": str(i), field: v} for i, v in enumerate(values)])
    stats = standardize_profiles(con, "src", "out", ["record_id", field], source_name="crm")
    rows = fetch(con, "out")
    outputs = [rows[str(i)][field] for i in range(len(values))]
    (stat,) = [s for s in stats if s.field == field]
    return outputs, (stat.non_empty, stat.changed, stat.rejected), rows


# --------------------------------------------------------------------------- one test per rule


def test_phones_in_every_french_format_become_e164(con: duckdb.DuckDBPyConnection) -> None:
    values = [
        "06 12 34 56 78", "0612345678", "+33 6 12 34 56 78", "33612345678", "06.12.34.56.78",
        "6.12345678E8", "612345678.0", "6,12345678E+08", "0033 6 12 34 56 78",
        "+33 (0)6 12 34 56 78", "01-42-68-53-00", "+44 20 7946 0958",
        "0000000000", "061234", "pas de tel", "  ", None,
    ]
    outputs, stat, _ = profiles(con, "phone", values)
    assert outputs == [
        *["+33612345678"] * 10, "+33142685300", "+442079460958", None, None, None, None, None,
    ]
    assert stat == (15, 12, 3)


def test_phone_sql_fast_path_agrees_with_phonenumbers(con: duckdb.DuckDBPyConnection) -> None:
    """Whatever SQL decides about a phone is what phonenumbers says of it."""
    rng = random.Random(7)
    values = [
        rng.choice(["0", "+33", "0033", "33", "330", ""]) + "".join(rng.choices("0123456789", k=9))
        for _ in range(3000)
    ] + ["".join(rng.choices("0123456789", k=rng.randint(1, 15))) for _ in range(1000)]
    rows = con.execute(
        f"SELECT p, {phone_fast_e164_sql('p')}, {phone_decided_sql('p')} "  # noqa: S608
        "FROM unnest($values) AS t(p)",
        {"values": values},
    ).fetchall()
    decided = [(p, fast) for p, fast, is_decided in rows if is_decided]
    assert len(decided) > 1000
    assert [(p, phone_e164(p)) for p, _ in decided] == decided
    assert all(phone_e164(p) == fast for p, fast, _ in rows if fast is not None)


def test_email_lower_case_and_key_without_tag(con: duckdb.DuckDBPyConnection) -> None:
    values = ["jean.dupont+promo@Gmail.com ", "Marie.Curie@Orange.FR", "ok@exemple.fr",
              "jean.dupont@gmail", "pas un email", None]
    outputs, stat, rows = profiles(con, "email", values)
    assert outputs == ["jean.dupont+promo@gmail.com", "marie.curie@orange.fr", "ok@exemple.fr",
                       None, None, None]
    assert rows["0"]["email_key"] == "jean.dupont@gmail.com"
    assert rows["1"]["email_key"] == "marie.curie@orange.fr"
    assert rows["3"]["email_key"] is None
    assert stat == (5, 2, 2)


def test_names_display_keeps_accents_and_keys_drop_them(con: duckdb.DuckDBPyConnection) -> None:
    load(con, [
        {"record_id": "1", "first_name": "jean-pierre", "last_name": "LE  GALL"},
        {"record_id": "2", "first_name": "ÉLODIE", "last_name": "Le Gall-Hélou"},
        {"record_id": "3", "first_name": "françois", "last_name": "N'DIAYE"},
        {"record_id": "4", "first_name": "Zoé", "last_name": "Œuvray"},
        {"record_id": "5", "first_name": "-", "last_name": " Martin "},
    ])
    stats = standardize_profiles(con, "src", "out", ["record_id", "first_name", "last_name"])
    rows = fetch(con, "out")
    display = {k: (r["first_name"], r["last_name"], r["full_name"]) for k, r in rows.items()}
    keys = {k: (r["first_name_key"], r["last_name_key"]) for k, r in rows.items()}
    assert display == {
        "1": ("Jean-Pierre", "Le Gall", "Jean-Pierre Le Gall"),
        "2": ("Élodie", "Le Gall-Hélou", "Élodie Le Gall-Hélou"),
        "3": ("François", "N'Diaye", "François N'Diaye"),
        "4": ("Zoé", "Œuvray", "Zoé Œuvray"),
        "5": (None, "Martin", "Martin"),
    }
    assert keys == {
        "1": ("jean pierre", "le gall"),
        "2": ("elodie", "le gall helou"),
        "3": ("francois", "n diaye"),
        "4": ("zoe", "oeuvray"),
        "5": (None, "martin"),
    }
    assert by_rule(stats)[("first_name", "name_display")] == (5, 3, 1)
    assert by_rule(stats)[("last_name", "name_display")] == (5, 2, 0)


def test_full_names_are_split_where_first_or_last_is_missing(
    con: duckdb.DuckDBPyConnection,
) -> None:
    load(con, [
        {"record_id": "1", "first_name": None, "last_name": None, "full_name": "DUPONT Jean"},
        {"record_id": "2", "first_name": None, "last_name": None,
         "full_name": "DE LA FONTAINE Marie"},
        {"record_id": "3", "first_name": None, "last_name": None, "full_name": "Jean Dupont"},
        {"record_id": "4", "first_name": None, "last_name": None,
         "full_name": "Jean-Pierre LE GALL"},
        {"record_id": "5", "first_name": None, "last_name": None, "full_name": "Dupont, Jean"},
        {"record_id": "6", "first_name": None, "last_name": None, "full_name": "M. Paul MARTIN"},
        {"record_id": "7", "first_name": "Jeanne", "last_name": None, "full_name": "Jean Dupont"},
        {"record_id": "8", "first_name": "Ana", "last_name": "Lopez", "full_name": "LOPEZ Ana"},
        {"record_id": "9", "first_name": "Ana", "last_name": "Lopez", "full_name": None},
        {"record_id": "10", "first_name": None, "last_name": None, "full_name": "Madonna"},
        {"record_id": "11", "first_name": None, "last_name": None, "full_name": "???"},
    ])
    fields = ["record_id", "first_name", "last_name", "full_name"]
    stats = standardize_profiles(con, "src", "out", fields)
    rows = fetch(con, "out")
    names = {k: (r["first_name"], r["last_name"], r["full_name"]) for k, r in rows.items()}
    assert names == {
        "1": ("Jean", "Dupont", "Jean Dupont"),
        "2": ("Marie", "De La Fontaine", "Marie De La Fontaine"),
        "3": ("Jean", "Dupont", "Jean Dupont"),
        "4": ("Jean-Pierre", "Le Gall", "Jean-Pierre Le Gall"),
        "5": ("Jean", "Dupont", "Jean Dupont"),
        "6": ("Paul", "Martin", "Paul Martin"),
        "7": ("Jeanne", "Dupont", "Jean Dupont"),
        "8": ("Ana", "Lopez", "Ana Lopez"),
        "9": ("Ana", "Lopez", "Ana Lopez"),
        "10": (None, "Madonna", "Madonna"),
        "11": (None, None, None),
    }
    assert rows["2"]["last_name_key"] == "de la fontaine"
    assert rows["4"]["first_name_key"] == "jean pierre"
    counts = by_rule(stats)
    # Nine rows needed the split (8 had both names, 9 no full name); eight got a name from it.
    assert counts[("full_name", "full_name_split")] == (9, 8, 1)
    assert counts[("full_name", "name_display")] == (10, 6, 1)


def test_dates_in_three_formats_and_impossible_dates_rejected(
    con: duckdb.DuckDBPyConnection,
) -> None:
    values = ["1980-03-05", "05/03/1980", "19800305", "05-03-1980", "5/3/1980", "05.03.1980",
              "31/02/2020", "2020-02-30", "1850-01-01", "2999-01-01", "05/03/80", "hier"]
    outputs, stat, _ = profiles(con, "birth_date", values)
    assert outputs == [date(1980, 3, 5)] * 6 + [None] * 6
    assert stat == (12, 5, 6)


def test_timestamps_parse_iso_french_and_offsets(con: duckdb.DuckDBPyConnection) -> None:
    values = ["2020-03-05 10:11:12", "2020-03-05T10:11:12", "2020-03-05", "05/03/2020 10:11",
              "05/03/2020 10:11:12", "20200305", "2020-03-05T10:11:12+02:00",
              "2020-03-05T10:11:12Z", "31/02/2020 10:00", "demain"]
    outputs, stat, _ = profiles(con, "created_at", values)
    assert outputs == [
        datetime(2020, 3, 5, 10, 11, 12), datetime(2020, 3, 5, 10, 11, 12),
        datetime(2020, 3, 5), datetime(2020, 3, 5, 10, 11), datetime(2020, 3, 5, 10, 11, 12),
        datetime(2020, 3, 5), datetime(2020, 3, 5, 8, 11, 12), datetime(2020, 3, 5, 10, 11, 12),
        None, None,
    ]
    # Only the ISO text identical to the stored value is unchanged.
    assert stat == (10, 7, 2)


def test_postcodes_get_their_leading_zero_back(con: duckdb.DuckDBPyConnection) -> None:
    values = ["1000", "75001", "75 001", "75001.0", "2A004", "750", "00100", "750011"]
    outputs, stat, _ = profiles(con, "postcode", values)
    assert outputs == ["01000", "75001", "75001", "75001", None, None, None, None]
    assert stat == (8, 3, 4)


def test_civility_becomes_m_or_mme(con: duckdb.DuckDBPyConnection) -> None:
    values = ["M.", "Monsieur", "mr", "M", "Mme", "MADAME", "Mlle", "Mademoiselle", "Dr", "?"]
    outputs, stat, _ = profiles(con, "civility", values)
    assert outputs == ["M", "M", "M", "M", "Mme", "Mme", "Mme", "Mme", None, None]
    assert stat == (10, 6, 2)


def test_city_display_and_matching_key(con: duckdb.DuckDBPyConnection) -> None:
    values = ["SAINT-ÉTIENNE", "st etienne cedex 2", "Saint-Étienne", "aix-en-provence",
              "L'HAY-LES-ROSES", "PARIS CEDEX 08"]
    outputs, stat, rows = profiles(con, "city", values)
    assert outputs == ["Saint-Étienne", "St Etienne Cedex 2", "Saint-Étienne",
                       "Aix-En-Provence", "L'Hay-Les-Roses", "Paris Cedex 08"]
    assert [rows[str(i)]["city_key"] for i in range(len(values))] == [
        "saint etienne", "saint etienne", "saint etienne", "aix en provence", "l hay les roses",
        "paris",
    ]
    assert stat == (6, 5, 0)


def test_country_becomes_iso2(con: duckdb.DuckDBPyConnection) -> None:
    values = ["France", "fr", "FR", "FRA", "Belgique", "Royaume-Uni", "UK", "Suisse", "zz", "?"]
    outputs, stat, _ = profiles(con, "country", values)
    assert outputs == ["FR", "FR", "FR", "FR", "BE", "GB", "GB", "CH", None, None]
    assert stat == (10, 7, 2)


def test_consent_words_become_booleans(con: duckdb.DuckDBPyConnection) -> None:
    values = ["oui", "NON", "o", "n", "Yes", "no", "y", "N", "true", "FALSE", "1", "0",
              "vrai", "Faux", "peut-être", "", None]
    outputs, stat, _ = profiles(con, "consent_sms", values)
    assert outputs == [True, False] * 7 + [None, None, None]
    assert stat == (15, 13, 1)  # only "true" was already the stored text


def test_street_whitespace_collapsed(con: duckdb.DuckDBPyConnection) -> None:
    values = ["12  rue de la Paix", "\t3 place\u00a0Bellecour ", "8 bd Gambetta"]
    outputs, stat, _ = profiles(con, "street", values)
    assert outputs == ["12 rue de la Paix", "3 place Bellecour", "8 bd Gambetta"]
    assert stat == (3, 2, 0)


def test_record_id_trimmed_or_row_number(con: duckdb.DuckDBPyConnection) -> None:
    load(con, [{"record_id": "  C1 ", "email": "a@b.fr"}, {"record_id": "C2", "email": None}])
    stats = standardize_profiles(con, "src", "with_id", ["record_id", "email"])
    assert [r[0] for r in con.execute("SELECT record_id FROM with_id").fetchall()] == ["C1", "C2"]
    assert by_rule(stats)[("record_id", "id_trim")] == (2, 0, 0)
    standardize_profiles(con, "src", "without_id", ["email"])
    assert con.execute("SELECT record_id, email FROM without_id").fetchall() == [
        ("1", "a@b.fr"), ("2", None),
    ]


# --------------------------------------------------------------------------- whole runs


def test_realistic_file_counts(con: duckdb.DuckDBPyConnection) -> None:
    """The fixture file mapped as a user would: every rule's counts, and a few rows."""
    selects = ", ".join(
        f"{quote_ident(column)} AS {quote_ident(field)}"
        for field, column in FIXTURE_MAPPING.items()
    )
    con.read_csv(
        str(FIXTURE), all_varchar=True, header=True, sep=",", quotechar='"'
    ).create_view("raw_csv")
    con.execute(f"CREATE VIEW src AS SELECT {selects} FROM raw_csv")  # noqa: S608
    stats = standardize_profiles(con, "src", "out", PROFILE_FIELDS, source_name="crm_2024")
    assert by_rule(stats) == {
        ("record_id", "id_trim"): (10, 0, 0),  # "  C010  " is compared once trimmed
        ("first_name", "name_display"): (3, 1, 0),
        ("last_name", "name_display"): (4, 2, 0),
        ("full_name", "name_display"): (7, 5, 0),
        ("full_name", "full_name_split"): (6, 6, 0),  # C006 has both names already
        ("email", "email_lower"): (3, 2, 1),
        ("phone", "phone_e164"): (10, 8, 2),
        ("birth_date", "birth_date"): (7, 4, 2),
        ("civility", "civility_code"): (5, 3, 1),
        ("street", "text_collapse"): (3, 1, 0),
        ("postcode", "postcode_fr"): (5, 2, 2),
        ("city", "city_display"): (4, 3, 0),
        ("country", "country_iso2"): (5, 3, 1),
        ("consent_email", "consent_bool"): (5, 4, 1),
        ("consent_sms", "consent_bool"): (4, 4, 0),
        ("created_at", "timestamp_parse"): (4, 2, 1),
        ("updated_at", "timestamp_parse"): (2, 2, 0),
    }
    rows = fetch(con, "out")
    assert list(rows) == [f"C{i:03d}" for i in range(1, 11)]
    assert {k: r["phone"] for k, r in rows.items()} == {
        **{f"C{i:03d}": "+33612345678" for i in range(1, 8)},
        "C008": None, "C009": "+442079460958", "C010": None,
    }
    c001, c002 = rows["C001"], rows["C002"]
    assert (c001["source"], c001["civility"], c001["first_name"], c001["last_name"]) == (
        "crm_2024", "M", "Jean-Pierre", "Le Gall")
    assert (c001["email"], c001["email_key"]) == (
        "jean.dupont+promo@gmail.com", "jean.dupont@gmail.com")
    assert (c001["postcode"], c001["city"], c001["city_key"], c001["country"]) == (
        "01000", "Saint-Étienne", "saint etienne", "FR")
    assert (c001["consent_email"], c001["consent_sms"]) == (True, False)
    assert (c002["first_name"], c002["last_name"], c002["birth_date"]) == (
        "Jean", "Dupont", date(1980, 3, 5))
    assert rows["C007"]["first_name"] == "Jean"
    assert rows["C006"]["full_name"] == "Élodie Lefèvre"


def test_output_schema_is_complete_and_typed_when_little_is_mapped(
    con: duckdb.DuckDBPyConnection,
) -> None:
    load(con, [{"email": "a@b.fr", "loyalty": "12"}])
    assert standardize_profiles(con, "src", "out", ["email"], ["loyalty"])[0].field == "email"
    schema = con.execute("DESCRIBE out").fetchall()
    assert [row[0] for row in schema] == [*output_columns(), "loyalty"]
    types = dict((row[0], row[1]) for row in schema)
    assert (types["birth_date"], types["consent_sms"], types["created_at"]) == (
        "DATE", "BOOLEAN", "TIMESTAMP")
    assert con.execute("SELECT source, record_id, phone, loyalty FROM out").fetchall() == [
        ("", "1", None, "12"),
    ]


def test_events_amounts_channels_and_times(con: duckdb.DuckDBPyConnection) -> None:
    load(con, [
        {"event_id": "E1", "customer_ref": " C001 ", "event_at": "05/03/2020 10:11",
         "amount": "12.50", "channel": " Web "},
        {"event_id": "E2", "customer_ref": "C002", "event_at": "2020-03-05T10:11:12",
         "amount": "12,50", "channel": "MAGASIN"},
        {"event_id": "E3", "customer_ref": "C002", "event_at": "20200305",
         "amount": "1 234,56", "channel": "web"},
        {"event_id": "E4", "customer_ref": "C003", "event_at": "31/02/2020",
         "amount": "1234.5 €", "channel": None},
        {"event_id": "E5", "customer_ref": None, "event_at": None,
         "amount": "douze", "channel": "Appli"},
        {"event_id": "E6", "customer_ref": "C004", "event_at": None,
         "amount": "-1.234,50 EUR", "channel": "web"},
    ])
    stats = standardize_events(con, "src", "ev", EVENT_FIELDS, source_name="caisse")
    rows = fetch(con, "ev", key="event_id")
    assert [(r["customer_ref"], r["amount"], r["channel"]) for r in rows.values()] == [
        ("C001", 12.5, "web"), ("C002", 12.5, "magasin"), ("C002", 1234.56, "web"),
        ("C003", 1234.5, None), (None, None, "appli"), ("C004", -1234.5, "web"),
    ]
    assert rows["E1"]["event_at"] == datetime(2020, 3, 5, 10, 11)
    assert rows["E4"]["event_at"] is None
    assert rows["E1"]["source"] == "caisse"
    assert by_rule(stats) == {
        ("event_id", "id_trim"): (6, 0, 0),
        ("customer_ref", "id_trim"): (5, 0, 0),
        ("event_at", "timestamp_parse"): (4, 3, 1),
        ("amount", "amount_decimal"): (6, 4, 1),
        ("channel", "channel_lower"): (5, 3, 0),
    }
    assert [d[0] for d in con.execute("SELECT * FROM ev").description] == list(
        output_columns(events=True))


# --------------------------------------------------------------------------- safety


def test_hostile_passthrough_column_is_copied_safely(con: duckdb.DuckDBPyConnection) -> None:
    hostile = 'x"; DROP TABLE t; --'
    con.execute("CREATE TABLE t (keep INTEGER)")
    con.execute(f"CREATE TABLE src (email VARCHAR, {quote_ident(hostile)} INTEGER)")
    con.execute("INSERT INTO src VALUES ('A@B.FR', 7)")
    standardize_profiles(con, "src", quote_ident("out; DROP TABLE t"), ["email"], [hostile])
    assert con.execute(
        f'SELECT email, {quote_ident(hostile)} FROM "out; DROP TABLE t"'  # noqa: S608
    ).fetchall() == [("a@b.fr", 7)]
    assert con.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_clashing_passthrough_and_unknown_fields_are_refused(
    con: duckdb.DuckDBPyConnection,
) -> None:
    load(con, [{"email": "a@b.fr", "City_Key": "x"}])
    with pytest.raises(ValueError, match="City_Key"):
        standardize_profiles(con, "src", "out", ["email"], ["City_Key"])
    with pytest.raises(ValueError, match="amount"):
        standardize_profiles(con, "src", "out", ["email", "amount"])


def test_nothing_is_committed_and_no_temp_table_is_left(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "ws.duckdb"))
    load(con, [{"record_id": "1", "phone": "+44 20 7946 0958", "first_name": "jean"}])
    cur = con.cursor()
    cur.begin()
    standardize_profiles(cur, "src", "out", ["record_id", "phone", "first_name"])
    assert cur.execute("SELECT phone FROM out").fetchall() == [("+442079460958",)]
    cur.rollback()  # raises if the function had committed: no transaction would be open
    tables = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert tables == {"src"}
    con.close()


def test_a_failure_leaves_no_temp_table(con: duckdb.DuckDBPyConnection) -> None:
    load(con, [{"record_id": "1", "first_name": "jean"}])
    with pytest.raises(duckdb.Error):
        standardize_profiles(con, "src", "out", ["record_id", "first_name", "city"])
    tables = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert tables == {"src"}


# --------------------------------------------------------------------------- scale


def test_two_hundred_thousand_rows(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""
        CREATE TABLE src AS SELECT
            'C' || i AS record_id,
            ['jean-pierre', 'ÉLODIE', 'françois'][1 + i % 3] AS first_name,
            CASE WHEN i % 2 = 0 THEN 'LE GALL' END AS last_name,
            CASE WHEN i % 2 = 1 THEN 'DUPONT Jean' END AS full_name,
            'client' || i || '+promo@Exemple.FR' AS email,
            CASE i % 4 WHEN 0 THEN '06 12 34 ' || lpad(CAST(i % 10000 AS VARCHAR), 4, '0')
                WHEN 1 THEN '+33 6 ' || lpad(CAST(i AS VARCHAR), 8, '0')
                WHEN 2 THEN CAST(CAST(600000000 + i AS DOUBLE) AS VARCHAR)
                ELSE 'inconnu' END AS phone,
            strftime(DATE '1950-01-01' + CAST(i % 20000 AS INTEGER), '%d/%m/%Y') AS birth_date,
            CAST(1000 + i % 90000 AS VARCHAR) AS postcode,
            ['oui', 'non', 'peut-être'][1 + i % 3] AS consent_email
        FROM range(200000) AS t(i)
    """)
    fields = ["record_id", "first_name", "last_name", "full_name", "email", "phone",
              "birth_date", "postcode", "consent_email"]
    stats = by_rule(standardize_profiles(con, "src", "out", fields))
    assert con.execute("SELECT count(*) FROM out").fetchone() == (200000,)
    rows = con.execute(
        "SELECT record_id, first_name, last_name, email_key, phone, birth_date, postcode, "
        "consent_email FROM out WHERE record_id IN ('C0', 'C1', 'C2', 'C3', 'C199999')"
    ).fetchall()
    assert sorted(rows) == [
        ("C0", "Jean-Pierre", "Le Gall", "client0@exemple.fr", "+33612340000",
         date(1950, 1, 1), "01000", True),
        ("C1", "Élodie", "Dupont", "client1@exemple.fr", "+33600000001",
         date(1950, 1, 2), "01001", False),
        ("C199999", "Élodie", "Dupont", "client199999@exemple.fr", None,
         date(2004, 10, 3), "20999", False),
        ("C2", "François", "Le Gall", "client2@exemple.fr", "+33600000002",
         date(1950, 1, 3), "01002", None),
        ("C3", "Jean-Pierre", "Dupont", "client3@exemple.fr", None,
         date(1950, 1, 4), "01003", True),
    ]
    assert stats[("phone", "phone_e164")] == (200000, 150000, 50000)
    assert stats[("full_name", "full_name_split")] == (100000, 100000, 0)
    assert stats[("consent_email", "consent_bool")][2] == 66666
