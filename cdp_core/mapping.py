"""The canonical customer model and the mapping of a source's columns onto it.

A mapping says which column of a source holds each canonical field. It is found automatically
from column names (French and English) and from the shape of the values, confirmed or corrected
by the user, saved with the source, and exchanged as the YAML file of DESIGN.md::

    record_id: "num_carte"
    first_name: "Prenom"

Columns mapped to no field stay as extra attributes.

Example:
    >>> guess_from_names(["num_carte", "Prénom", "NOM", "tel"], "profiles")
    {'record_id': 'num_carte', 'first_name': 'Prénom', 'last_name': 'NOM', 'phone': 'tel'}
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import duckdb
import yaml

from cdp_core.errors import InputError

PROFILE_FIELDS: tuple[str, ...] = (
    "record_id", "first_name", "last_name", "full_name", "email", "phone", "birth_date",
    "civility", "street", "postcode", "city", "country", "consent_email", "consent_sms",
    "created_at", "updated_at",
)
EVENT_FIELDS: tuple[str, ...] = ("event_id", "customer_ref", "event_at", "amount", "channel")
PROFILE_KIND = "profiles"
EVENT_KINDS: tuple[str, ...] = ("orders", "carts", "contacts", "campaign_sends")
SOURCE_KINDS: tuple[str, ...] = (PROFILE_KIND, *EVENT_KINDS)

_ID_NAMES = (
    "id", "id_client", "client_id", "customer_id", "num_client", "numero_client", "no_client",
    "num_carte", "numero_carte", "card_number", "ref_client", "ref_contact", "identifiant",
    "code_client", "record_id", "user_id", "account_id", "contact_id", "customer_ref",
    "n_adherent", "num_adherent", "numero_adherent", "n_client", "ref", "reference",
    "numero_de_carte", "n_carte", "n_de_carte", "carte_fidelite", "numero_carte_fidelite",
    "identifiant_fidelite", "id_fidelite",
    "num_carte_fidelite", "numero_de_client", "n_de_client", "id_contact",
)
# Normalised column names (see `normalise_name`) that name each field.
_NAMES: dict[str, tuple[str, ...]] = {
    "record_id": _ID_NAMES,
    "first_name": ("prenom", "first_name", "firstname", "given_name", "forename", "prenom_client"),
    "last_name": (
        "nom", "nom_de_famille", "nom_famille", "nom_usage", "last_name", "lastname", "surname",
        "family_name", "nom_client",
    ),
    "full_name": (
        "nom_complet", "full_name", "fullname", "name", "nom_prenom", "prenom_nom",
        "customer_name", "identite",
    ),
    "email": (
        "email", "e_mail", "mail", "courriel", "adresse_mail", "adresse_email", "email_address",
        "adresse_electronique",
    ),
    "phone": (
        "tel", "telephone", "phone", "portable", "mobile", "tel_mobile", "gsm", "numero_tel",
        "phone_number", "tel_portable", "num_tel", "numero_telephone",
    ),
    "birth_date": (
        "date_naissance", "date_naiss", "date_de_naissance", "dob", "birth_date", "birthdate",
        "naissance", "birthday", "ddn", "ne_e_le", "ne_le", "nee_le",
    ),
    "civility": ("civilite", "civ", "title", "salutation"),
    "street": ("adresse", "adresse1", "adresse_1", "rue", "street", "address", "address_line_1",
               "adresse_ligne_1", "adresse_postale", "voie"),
    "postcode": ("cp", "code_postal", "postcode", "postal_code", "zip", "zipcode", "zip_code"),
    "city": ("ville", "city", "commune", "localite", "town"),
    "country": ("pays", "country", "country_code", "code_pays"),
    "consent_email": (
        "optin_email", "opt_in_email", "consentement_email", "consent_email", "optin",
        "opt_in", "newsletter_optin", "accepte_email", "opt_in_newsletter", "optin_newsletter",
        "optin_mail", "opt_in_mail", "consentement_mail", "inscrit_newsletter",
    ),
    "consent_sms": ("optin_sms", "opt_in_sms", "consentement_sms", "consent_sms", "accepte_sms"),
    "created_at": (
        "date_creation", "date_inscription", "date_adhesion", "created_at", "creation_date",
        "signup_date", "date_ouverture", "date_d_inscription", "date_de_creation",
        "date_d_adhesion", "date_de_souscription", "compte_cree_le", "cree_le",
        "premier_contact", "date_premier_contact",
    ),
    "updated_at": (
        "date_maj", "date_modification", "date_mise_a_jour", "updated_at", "last_modified",
        "modified_at", "date_de_modification", "date_de_mise_a_jour", "derniere_modification",
    ),
    "event_id": (
        "num_commande", "id_commande", "order_id", "num_ticket", "id_ticket", "id_panier",
        "cart_id", "id_appel", "call_id", "id_envoi", "send_id", "event_id", "transaction_id",
    ),
    "customer_ref": _ID_NAMES,
    "event_at": (
        "date_commande", "date_achat", "date_panier", "date_appel", "date_envoi", "date",
        "event_at", "timestamp", "order_date", "date_heure", "sent_at",
    ),
    "amount": (
        "montant", "montant_ttc", "amount", "total", "ca", "prix", "price", "revenue",
        "montant_total", "ca_genere", "chiffre_affaires",
    ),
    "channel": ("canal", "channel"),
}

# Value shapes, checked on a sample: the share of non-empty values each pattern accepts.
_SHAPES: dict[str, str] = {
    "email": r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$",
    "phone": r"^(\+|00)?[0-9][0-9 .\-()]{7,16}$",
    "date": r"^([0-9]{4}-[0-9]{2}-[0-9]{2}.*|[0-9]{1,2}[/-][0-9]{1,2}[/-][0-9]{4}.*|"
    r"(19|20)[0-9]{2}[01][0-9][0-3][0-9])$",
    "postcode": r"^[0-9]{4,5}$",
    # A date of the 20th century or the 2000s, without a time: what birth dates look like.
    "birth": r"^((19[0-9]{2}|200[0-9])-[0-9]{2}-[0-9]{2}|[0-9]{1,2}[/-][0-9]{1,2}[/-]"
    r"(19[0-9]{2}|200[0-9])|(19[0-9]{2}|200[0-9])[01][0-9][0-3][0-9])$",
}
# Shapes that name a field on their own (a recent date-time is no birth date).
_SHAPE_FIELDS = {"email": "email", "phone": "phone", "birth": "birth_date",
                 "postcode": "postcode"}
_KEY_FIELDS = ("record_id", "customer_ref")
_SHAPE_SAMPLE_ROWS = 5_000


@dataclass(frozen=True)
class FieldMatch:
    """One proposed mapping: a field, its column, why, and how sure we are (0 to 1)."""

    field: str
    column: str
    origin: str  # "name", "values", "file" or "user"
    confidence: float


def fields_for(kind: str) -> tuple[str, ...]:
    """The canonical fields a source of this kind can map."""
    if kind not in SOURCE_KINDS:
        raise InputError(f"unknown source kind {kind!r}: use one of {', '.join(SOURCE_KINDS)}")
    return PROFILE_FIELDS if kind == PROFILE_KIND else EVENT_FIELDS


def normalise_name(column: str) -> str:
    """Column name without accents, case or punctuation, for comparing names.

    Example:
        >>> normalise_name(" Date de Naissance ")
        'date_de_naissance'
    """
    ascii_name = unicodedata.normalize("NFKD", column).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")


# Words that make a partial name match wrong ("Complément d'adresse" is not the street).
_NOT_THE_FIELD = {"complement", "cplt", "fax"}


def _name_score(column: str, field: str) -> float:
    name = normalise_name(column)
    names = _NAMES[field]
    if name in names:
        return 1.0
    tokens = set(name.split("_"))
    if tokens & _NOT_THE_FIELD:
        return 0.0
    if any(candidate in tokens or name.startswith(candidate + "_") for candidate in names
           if len(candidate) > 2 and "_" not in candidate):
        return 0.6
    return 0.0


def _assign(scores: list[FieldMatch]) -> list[FieldMatch]:
    """Best score first; each field and each column used once."""
    chosen: list[FieldMatch] = []
    used_fields: set[str] = set()
    used_columns: set[str] = set()
    for match in sorted(scores, key=lambda m: -m.confidence):
        if match.field in used_fields or match.column in used_columns:
            continue
        chosen.append(match)
        used_fields.add(match.field)
        used_columns.add(match.column)
    return chosen


def guess_from_names(columns: Sequence[str], kind: str) -> dict[str, str]:
    """Mapping from column names alone (the names-only part of `auto_map`)."""
    fields = fields_for(kind)
    scores = [
        FieldMatch(field, column, "name", score)
        for column in columns
        for field in fields
        if (score := _name_score(column, field)) > 0
    ]
    chosen = _assign(scores)
    return {m.field: m.column for m in sorted(chosen, key=lambda m: fields.index(m.field))}


def shape_shares_sql(relation: str) -> str:
    """One query over a sample giving, per column, the share of values of each shape.

    The sample is unpivoted to (column, value) rows, so the query stays the same size however
    wide the file is.
    """
    shares = ", ".join(
        f"avg(CASE WHEN regexp_full_match(value, ${shape}) THEN 1.0 ELSE 0.0 END) AS {shape}"
        for shape in _SHAPES)
    return (
        f"SELECT column_name, {shares} FROM ("  # noqa: S608
        "  SELECT column_name, nullif(trim(value), '') AS value FROM ("
        "    UNPIVOT (SELECT COLUMNS(*)::VARCHAR FROM "
        f"      (SELECT * FROM {relation} LIMIT {_SHAPE_SAMPLE_ROWS}))"
        "    ON COLUMNS(*) INTO NAME column_name VALUE value)) "
        "WHERE value IS NOT NULL GROUP BY column_name"
    )


def value_shapes(
    cur: duckdb.DuckDBPyConnection, relation: str, columns: Sequence[str]
) -> dict[str, dict[str, float]]:
    """Share of sampled values shaped like an email, phone, date or postcode, per column."""
    if not columns:
        return {}
    found = {row[0]: dict(zip(_SHAPES, row[1:], strict=True))
             for row in cur.execute(shape_shares_sql(relation), _SHAPES).fetchall()}
    return {column: {shape: float(share or 0.0) for shape, share in found.get(column, {}).items()}
            for column in columns}


def auto_map(
    cur: duckdb.DuckDBPyConnection, relation: str, columns: Sequence[str], kind: str
) -> list[FieldMatch]:
    """Propose a mapping from names, confirmed or found by the shape of the values.

    A name match whose values contradict it (a "contact" column full of emails) loses to the
    shape; a column with an unknown name but clear email or phone values is still mapped.
    """
    fields = fields_for(kind)
    shapes = value_shapes(cur, relation, columns)
    scores: list[FieldMatch] = []
    for column in columns:
        column_shapes = shapes.get(column, {})
        for field in fields:
            score = _name_score(column, field)
            expected_shape = next((s for s, f in _SHAPE_FIELDS.items() if f == field), None)
            if field in ("created_at", "updated_at", "event_at"):
                expected_shape = "date"
            if expected_shape and score > 0:
                share = column_shapes.get(expected_shape, 0.0)
                score = score * (0.5 + 0.5 * share) if share < 0.5 else min(1.0, score + 0.1)
            if score > 0:
                scores.append(FieldMatch(field, column, "name", round(score, 3)))
        best_shape = max(((s, v) for s, v in column_shapes.items() if s in _SHAPE_FIELDS),
                         key=lambda kv: kv[1], default=(None, 0.0))
        shape_field = _SHAPE_FIELDS.get(best_shape[0] or "")
        if shape_field in fields and best_shape[1] >= 0.8 and best_shape[0] != "postcode":
            scores.append(FieldMatch(shape_field, column, "values", round(0.8 * best_shape[1], 3)))
    chosen = _assign(scores)
    assigned = {m.field: m for m in chosen}
    if kind == PROFILE_KIND and "record_id" not in assigned and "email" in assigned:
        # Newsletter tools key their subscribers on the address itself.
        chosen.append(FieldMatch("record_id", assigned["email"].column, "values", 0.5))
    return sorted(chosen, key=lambda m: fields.index(m.field))


def validate_mapping(
    mapping: Mapping[str, str], columns: Sequence[str], kind: str, file_label: str
) -> dict[str, str]:
    """Check a mapping against the file's columns; return it in canonical field order.

    A column serves one data field at most; the record key may share a column with one.

    Raises:
        InputError: an unknown field, a column not in the file, or one column for two fields.
    """
    fields = fields_for(kind)
    unknown = [field for field in mapping if field not in fields]
    if unknown:
        raise InputError(
            f"mapping for {file_label}: unknown field {unknown[0]!r}; fields for a {kind} source "
            f"are {', '.join(fields)}"
        )
    missing = [column for column in mapping.values() if column not in columns]
    if missing:
        raise InputError(
            f"mapping for {file_label} names column {missing[0]!r}, which is not in the file; "
            f"its columns are: {', '.join(columns)}"
        )
    seen: dict[str, str] = {}
    for field, column in mapping.items():
        if field in _KEY_FIELDS:
            continue  # a key may reuse a data column: newsletter tools key on the email
        if column in seen:
            raise InputError(
                f"mapping for {file_label} maps both {seen[column]!r} and {field!r} to column "
                f"{column!r}: map each column to one field at most"
            )
        seen[column] = field
    return {field: mapping[field] for field in fields if field in mapping}


def mapping_to_yaml(mapping: Mapping[str, str]) -> str:
    """The mapping as the YAML file of DESIGN.md: one quoted column per canonical field.

    Example:
        >>> print(mapping_to_yaml({"record_id": "num_carte", "last_name": 'NOM "usage"'}), end="")
        record_id: "num_carte"
        last_name: "NOM \\"usage\\""
    """
    lines = []
    for field, column in mapping.items():
        escaped = column.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'{field}: "{escaped}"')
    return "\n".join(lines) + "\n"


def parse_mapping_yaml(text: str, file_label: str) -> dict[str, str]:
    """Read a mapping file's text into {field: column}.

    Raises:
        InputError: the text is not YAML or not a flat field-to-column list.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise InputError(f"mapping file {file_label} is not valid YAML{where}") from None
    if not isinstance(data, dict) or not data:
        raise InputError(
            f"mapping file {file_label} must list 'field: \"column\"' lines, one per field"
        )
    bad = [key for key, value in data.items() if not isinstance(value, str | int)]
    if bad:
        raise InputError(f"mapping file {file_label}: field {bad[0]!r} must name one column")
    return {str(field): str(column) for field, column in data.items()}
