"""Automatic mapping from French and English names and from value shapes; mapping files."""
from __future__ import annotations

import duckdb
import pytest

from cdp_core import mapping
from cdp_core.errors import InputError


@pytest.mark.parametrize(("column", "field"), [
    ("prenom", "first_name"), ("Prénom", "first_name"), ("NOM", "last_name"),
    ("Nom complet", "full_name"), ("date_naiss", "birth_date"), ("Tél", "phone"),
    ("portable", "phone"), ("cp", "postcode"), ("Code postal", "postcode"), ("ville", "city"),
    ("courriel", "email"), ("Civilité", "civility"), ("N° adhérent", "record_id"),
    ("E-mail", "email"), ("Date de naissance", "birth_date"), ("surname", "last_name"),
    ("Numéro de carte", "record_id"), ("Date d'inscription", "created_at"),
    ("Opt-in newsletter", "consent_email"), ("Adresse e-mail", "email"),
    ("Date de naissance (JJ/MM/AAAA)", "birth_date"), ("dob", "birth_date"), ("zip", "postcode"),
])

def test_french_and_english_names(column: str, field: str) -> None:
    assert mapping.guess_from_names([column], "profiles") == {field: column}


def test_address_complement_is_not_the_street() -> None:
    assert mapping.guess_from_names(["Adresse 1", "Complément d'adresse"], "profiles") == {
        "street": "Adresse 1"}


def test_each_field_and_column_used_once() -> None:
    found = mapping.guess_from_names(["tel", "portable", "nom"], "profiles")
    assert found == {"last_name": "nom", "phone": "tel"}


def _relation(rows: dict[str, list[str | None]]) -> tuple[duckdb.DuckDBPyConnection, str]:
    con = duckdb.connect()
    columns = ", ".join(f'"{name}" VARCHAR' for name in rows)
    con.execute(f"CREATE TABLE t ({columns})")
    con.executemany(f"INSERT INTO t VALUES ({', '.join('?' for _ in rows)})",  # noqa: S608
                    list(zip(*rows.values(), strict=True)))
    return con, "t"


def test_value_shapes_map_unknown_names_and_override_misleading_ones() -> None:
    con, table = _relation({
        "contact": ["a@b.fr", "c.d@e.com", "x@y.org"],
        "col7": ["06 12 34 56 78", "+33612345679", "0712345678"],
        "tel": ["non", "oui", "non"],
    })
    found = {m.field: (m.column, m.origin) for m in mapping.auto_map(
        con, table, ["contact", "col7", "tel"], "profiles")}
    assert found["email"] == ("contact", "values")
    assert found["phone"] == ("col7", "values")
    assert "tel" not in {column for column, _ in found.values()}


def test_event_mapping_finds_customer_reference() -> None:
    columns = ["num_commande", "id_client", "date_commande", "montant", "canal"]
    assert mapping.guess_from_names(columns, "orders") == {
        "event_id": "num_commande", "customer_ref": "id_client", "event_at": "date_commande",
        "amount": "montant", "channel": "canal"}


def test_yaml_round_trip_keeps_quotes_and_accents() -> None:
    original = {"record_id": "N° adhérent", "last_name": 'NOM "usage"'}
    text = mapping.mapping_to_yaml(original)
    assert text.splitlines()[0] == 'record_id: "N° adhérent"'
    assert mapping.parse_mapping_yaml(text, "m.yaml") == original


@pytest.mark.parametrize(("given", "message"), [
    ({"prenom": "Prénom"}, "unknown field 'prenom'"),
    ({"first_name": "Firstname"}, "names column 'Firstname', which is not in the file"),
    ({"first_name": "NOM", "last_name": "NOM"}, "maps both 'first_name' and 'last_name'"),
])
def test_invalid_mappings_are_explained(given: dict[str, str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        mapping.validate_mapping(given, ["NOM", "Prénom"], "profiles", "clients.csv")


def test_mapping_file_that_is_not_yaml() -> None:
    with pytest.raises(InputError, match="m.yaml is not valid YAML at line"):
        mapping.parse_mapping_yaml('record_id: "a"\nfirst_name: [unclosed\n', "m.yaml")
