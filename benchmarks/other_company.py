"""An independent matching benchmark: the customer sources of a garden-centre chain.

"Jardins de France" sells online, runs a loyalty card in its stores, a call centre and a
newsletter. Each source is exported the way such systems export, with its own columns, encoding,
separator and date format; ``truth.csv`` gives the true person behind every record. The generator
is written independently of the project's demo data (other columns, formats and proportions), so
matching quality is not measured only on the demo the engine was built with.

Sources (shares of the people; a person may be in any number of them):

- ``eshop``: UTF-8 CSV with ``,`` and ISO dates, about 55%; 8% of its customers also hold a
  second account (e-mail with other capitals, a ``+tag`` or another provider).
- ``loyalty``: Windows-1252 CSV with ``;`` and dd/mm/yyyy dates, upper-case names (’ and Œ kept),
  phones in five formats, about 50%; 3% of its members hold a second card.
- ``call_centre``: an .xlsx sheet with full names only ("DUPONT Marie" or "Marie Dupont"), phones
  and postcodes as Excel numbers when typed so (leading zero lost), about 15%.
- ``newsletter``: e-mail, first name and subscription date, about 30%; keyed by the e-mail.

Dirt, each counted in the printed figures: one-edit typos in 8% of names, dropped accents, mixed
case, 5 to 25% missing values per column (the call centre's e-mail, asked only sometimes, 65%),
married women under their maiden name in one source, people who moved (old address in one
source), family mailboxes shared by two or three people of a household, twins, namesakes in
other cities, day/month swapped birth dates and nicknames.

Run from the repository root:
    python -m benchmarks.other_company OUT_DIR [--people 5000] [--seed 11]
"""
from __future__ import annotations

import argparse
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from faker.providers.person.de_DE import Provider as GermanNames
from faker.providers.person.es_ES import Provider as SpanishNames
from faker.providers.person.fr_CH import Provider as SwissNames
from faker.providers.person.fr_FR import Provider as FrenchNames
from faker.providers.person.it_IT import Provider as ItalianNames
from faker.providers.person.pt_PT import Provider as PortugueseNames
from openpyxl import Workbook

from cdp_core.mapping import PROFILE_FIELDS, mapping_to_yaml


@dataclass(frozen=True)
class SourceSpec:
    """How one source is exported: file, sheet (xlsx only), column per field, CSV dialect."""

    file: str
    sheet: str | None
    mapping: dict[str, str]
    encoding: str = "utf-8"
    separator: str = ","
    line_end: str = "\n"


SOURCES: dict[str, SourceSpec] = {
    "eshop": SourceSpec("clients_eshop.csv", None, {
        "record_id": "N° client", "first_name": "Prénom usuel", "last_name": "Nom de famille",
        "email": "Adresse mail", "phone": "Tél. mobile", "birth_date": "DDN",
        "civility": "Civilité", "street": "Adresse", "postcode": "Code postal",
        "city": "Localité", "country": "Pays", "consent_email": "Optin email",
        "created_at": "Compte créé le",
    }),
    "loyalty": SourceSpec("carte_fidelite.csv", None, {
        "record_id": "Identifiant fidélité", "first_name": "Prénom", "last_name": "NOM",
        "email": "E-mail", "phone": "Portable", "birth_date": "Né(e) le", "civility": "CIV",
        "street": "Adresse ligne 1", "postcode": "CP", "city": "VILLE",
        "consent_sms": "Opt-in SMS", "created_at": "Date adhésion",
    }, encoding="cp1252", separator=";", line_end="\r\n"),
    "call_centre": SourceSpec("service_clients.xlsx", "Contacts", {
        "record_id": "Réf. contact", "full_name": "Nom complet", "email": "Courriel",
        "phone": "Téléphone", "postcode": "CP", "created_at": "Premier contact",
    }),
    "newsletter": SourceSpec("abonnes_newsletter.csv", None, {
        "record_id": "Adresse e-mail", "first_name": "Prénom", "email": "Adresse e-mail",
        "created_at": "Date d'inscription",
    }),
}
# Sources showing a last name or an address: where a maiden name or an old address can appear.
_NAMED_SOURCES = np.array(["eshop", "loyalty", "call_centre"], dtype=object)
_REFERENCE_DAY = np.datetime64("2024-12-31", "D")

# Real postcodes and communes, the largest first (drawn with decreasing weights).
_PLACES = (
    "75011 Paris", "75015 Paris", "75018 Paris", "75020 Paris", "13008 Marseille",
    "13012 Marseille", "69003 Lyon", "69008 Lyon", "31000 Toulouse", "31500 Toulouse",
    "06000 Nice", "44000 Nantes", "34000 Montpellier", "67000 Strasbourg", "33000 Bordeaux",
    "59000 Lille", "35000 Rennes", "51100 Reims", "42000 Saint-Étienne", "83000 Toulon",
    "76600 Le Havre", "38000 Grenoble", "21000 Dijon", "49000 Angers", "30000 Nîmes",
    "69100 Villeurbanne", "63000 Clermont-Ferrand", "72000 Le Mans", "13100 Aix-en-Provence",
    "29200 Brest", "37000 Tours", "80000 Amiens", "87000 Limoges", "74000 Annecy",
    "66000 Perpignan", "92100 Boulogne-Billancourt", "25000 Besançon", "57000 Metz",
    "45000 Orléans", "76000 Rouen", "93100 Montreuil", "68100 Mulhouse", "14000 Caen",
    "54000 Nancy", "95000 Cergy", "78000 Versailles", "94000 Créteil", "86000 Poitiers",
    "64000 Pau", "17000 La Rochelle", "06400 Cannes", "06600 Antibes", "84000 Avignon",
    "44600 Saint-Nazaire", "49300 Cholet", "37300 Joué-lès-Tours", "35400 Saint-Malo",
    "56100 Lorient", "56000 Vannes", "22000 Saint-Brieuc", "29000 Quimper",
    "85000 La Roche-sur-Yon", "79000 Niort", "16000 Angoulême", "24000 Périgueux", "47000 Agen",
    "40000 Mont-de-Marsan", "64100 Bayonne", "65000 Tarbes", "81000 Albi", "82000 Montauban",
    "46000 Cahors", "12000 Rodez", "11000 Carcassonne", "34500 Béziers", "26000 Valence",
    "07200 Aubenas", "01000 Bourg-en-Bresse", "73000 Chambéry", "03100 Montluçon", "58000 Nevers",
    "18000 Bourges", "36000 Châteauroux", "41000 Blois", "28000 Chartres", "27000 Évreux",
    "60000 Beauvais", "02100 Saint-Quentin", "08000 Charleville-Mézières", "10000 Troyes",
    "88000 Épinal", "70000 Vesoul", "39000 Lons-le-Saunier", "71100 Chalon-sur-Saône",
    "89000 Auxerre", "77000 Melun", "05000 Gap", "04000 Digne-les-Bains", "09000 Foix",
    "19100 Brive-la-Gaillarde", "15000 Aurillac", "43000 Le Puy-en-Velay", "53000 Laval",
    "61000 Alençon", "62000 Arras", "62100 Calais", "59140 Dunkerque", "90000 Belfort",
    "68000 Colmar", "33600 Pessac", "33700 Mérignac", "31700 Blagnac",
    "38400 Saint-Martin-d'Hères", "74200 Thonon-les-Bains", "26200 Montélimar", "84100 Orange",
    "13200 Arles", "83400 Hyères", "17100 Saintes", "86100 Châtellerault", "41100 Vendôme",
    "45200 Montargis", "14100 Lisieux", "50100 Cherbourg-en-Cotentin", "76200 Dieppe",
    "59100 Roubaix", "59200 Tourcoing", "62300 Lens", "57100 Thionville", "01210 Ferney-Voltaire",
    "03000 Moulins", "23000 Guéret", "48000 Mende", "91000 Évry-Courcouronnes",
)
_POSTCODES = np.array([place[:5] for place in _PLACES], dtype=object)
_CITIES = np.array([place[6:] for place in _PLACES], dtype=object)
_STREET_NAMES = np.array([
    "de la République", "Victor Hugo", "Jean Jaurès", "Pasteur", "du Général de Gaulle",
    "de la Gare", "des Lilas", "du Moulin", "de l'Église", "des Écoles", "de la Paix", "Gambetta",
    "Voltaire", "Émile Zola", "des Tilleuls", "des Acacias", "du Stade", "de la Liberté",
    "Jules Ferry", "Carnot", "du Château", "des Roses", "des Jardins", "de Verdun",
    "du 8 Mai 1945", "du 11 Novembre", "Foch", "Jean Moulin", "Anatole France", "des Peupliers",
    "du Commerce", "de Paris", "Saint-Martin", "des Vignes", "du Port", "de la Fontaine",
    "des Chênes", "du Marché", "des Prés", "Principale", "des Mimosas", "Pierre Curie",
    "Henri Barbusse", "Paul Bert", "de la Mairie", "des Cerisiers", "du Lavoir", "de la Poste",
    "des Sources", "du Bois", "d'Alsace-Lorraine", "des Hirondelles", "des Pins", "Clemenceau",
], dtype=object)
# Street types: full spelling, as a customer abbreviates it, as the loyalty till abbreviates it.
_STREET_TYPES = np.array(["rue", "avenue", "boulevard", "chemin", "allée", "impasse", "place"],
                         dtype=object)
_STREET_TYPE_SHARES = [0.55, 0.15, 0.07, 0.08, 0.07, 0.05, 0.03]
_TYPED_SHORT = np.array(["r.", "av.", "bd", "ch.", "all.", "imp.", "pl."], dtype=object)
_TILL_SHORT = np.array(["R", "AV", "BD", "CHE", "ALL", "IMP", "PL"], dtype=object)
_DOMAINS = np.array(["gmail.com", "orange.fr", "hotmail.fr", "free.fr", "sfr.fr", "yahoo.fr",
                     "laposte.net", "wanadoo.fr", "outlook.fr", "icloud.com", "hotmail.com",
                     "bbox.fr"], dtype=object)
_DOMAIN_SHARES = [0.30, 0.17, 0.10, 0.08, 0.06, 0.06, 0.06, 0.05, 0.04, 0.03, 0.03, 0.02]
_DOMAIN_TYPOS = {"gmail.com": "gmial.com", "orange.fr": "orang.fr", "hotmail.fr": "hotmial.fr",
                 "free.fr": "fre.fr", "sfr.fr": "sfr.com", "yahoo.fr": "yaho.fr",
                 "laposte.net": "lapost.net", "wanadoo.fr": "wanadoo.com"}
# Valid French mobile prefixes: 06 then 0-2 or 4-8, 07 then 3-9.
_MOBILE_PREFIXES = np.array(["060", "061", "062", "064", "065", "066", "067", "068", "073",
                             "074", "075", "076", "077", "078", "079"], dtype=object)
_STORES = np.array(["JDF Tours-Nord", "JDF Angers", "JDF Nantes-Orvault", "JDF Rennes-Cesson",
                    "JDF Le Mans", "JDF Orléans-Saran", "JDF Poitiers", "JDF Blois",
                    "JDF Lyon-Bron", "JDF Dijon", "JDF Bordeaux-Mérignac",
                    "JDF Toulouse-Blagnac"], dtype=object)
_CALL_REASONS = np.array(["Suivi de livraison", "Retour produit", "Réclamation",
                          "Carte fidélité", "Conseil jardinage", "Modification de commande",
                          "Garantie outillage"], dtype=object)

_ODD_FIRST_NAMES = {"Nath", "Maggie", "Susan", "Lucy", "Margaret", "Alexandria"}
# First names (Faker's lists are alphabetical) in a fixed shuffled order, read as frequency order.
_FEMALE_FIRST = np.random.default_rng(0).permutation(np.array(
    [name for name in dict.fromkeys(FrenchNames.first_names_female)
     if name not in _ODD_FIRST_NAMES]
    + ["Marie-Christine", "Anne-Sophie", "Marie-Hélène", "Marie-Laure", "Anne-Marie"],
    dtype=object))
_MALE_FIRST = np.random.default_rng(0).permutation(np.array(
    [name for name in dict.fromkeys(FrenchNames.first_names_male)
     if name not in _ODD_FIRST_NAMES]
    + ["Jean-Pierre", "Jean-Marc", "Jean-Luc", "Jean-François", "Jean-Baptiste", "Jean-Claude",
       "Jean-Michel", "Pierre-Yves", "Jean-Louis"],
    dtype=object))
_NICKNAMES = {
    "Jean-Pierre": "JP", "Jean-Marc": "JM", "Jean-Luc": "JL", "Jean-François": "JF",
    "Jean-Baptiste": "JB", "Jean-Claude": "JC", "Jean-Michel": "JM", "Pierre-Yves": "PY",
    "Jean-Louis": "JL", "Alexandre": "Alex", "Christophe": "Chris", "Nicolas": "Nico",
    "Frédéric": "Fred", "Sébastien": "Seb", "Emmanuel": "Manu", "Philippe": "Phil",
    "Benjamin": "Ben", "Thomas": "Tom", "Matthieu": "Matt", "Stéphane": "Steph",
    "Timothée": "Tim", "Théodore": "Théo", "Élisabeth": "Babeth", "Isabelle": "Isa",
    "Stéphanie": "Steph", "Catherine": "Cathy", "Nathalie": "Nath", "Véronique": "Véro",
    "Caroline": "Caro", "Frédérique": "Fred", "Valérie": "Val", "Dominique": "Dom",
}
# French surnames by frequency, with a few needing ’ or œ spliced in among the less common ones.
_SPECIAL_LAST = ("Lebœuf", "N’Diaye", "Bœuf", "D’Almeida", "Cœuret", "D’Angelo", "L’Hermitte")
_FRENCH_LAST = list(dict.fromkeys(FrenchNames.last_names))
for _rank, _name in enumerate(_SPECIAL_LAST):
    _FRENCH_LAST.insert(40 + 20 * _rank, _name)
_FRENCH_LAST_ARRAY = np.array(_FRENCH_LAST, dtype=object)
# A quarter of the surnames come from neighbouring countries (equally likely each).
_OTHER_LAST = np.array(sorted(set(SwissNames.last_names) | set(GermanNames.last_names)
                              | set(PortugueseNames.last_names) | set(ItalianNames.last_names)
                              | set(SpanishNames.last_names)), dtype=object)


@dataclass
class Dataset:
    """A generated benchmark: one frame per source, the truth and the counts.

    Frame columns starting with ``_`` are not exported: ``_person`` (the true person),
    ``_maiden`` (shown under her maiden name) and ``_old`` (shown at an old address).
    """

    frames: dict[str, pd.DataFrame]
    truth: pd.DataFrame
    stats: dict[str, int]


def _zipf(size: int, offset: float, exponent: float) -> np.ndarray:
    """Decreasing draw probabilities for ``size`` items listed most frequent first."""
    weights = 1.0 / (np.arange(size) + offset) ** exponent
    return weights / weights.sum()


def _accent_table(keep: str = "") -> dict[int, str]:
    """A ``str.translate`` table to plain ASCII letters (œ to oe, ’ to '), except ``keep``."""
    table = {}
    for code in range(0xC0, 0x250):
        plain = unicodedata.normalize("NFKD", chr(code)).encode("ascii", "ignore").decode()
        if plain and plain != chr(code):
            table[code] = plain
    table.update({ord("œ"): "oe", ord("Œ"): "OE", ord("æ"): "ae", ord("Æ"): "AE", ord("’"): "'"})
    return {code: plain for code, plain in table.items() if chr(code) not in keep}


_PLAIN = _accent_table()
_PLAIN_CP1252 = _accent_table(keep="œŒ’")  # an old till drops accents but keeps its ligatures
_TYPED_APOSTROPHE = {ord("’"): "'"}  # a keyboard types the straight apostrophe


def _draw(rng: np.random.Generator, weights: np.ndarray, share: float) -> np.ndarray:
    """Who is in a source: a draw with probability proportional to ``weights``, mean ``share``."""
    chance = np.clip(share * len(weights) * weights / weights.sum(), 0.0, 1.0)
    return rng.random(len(weights)) < chance


def _choice(rng: np.random.Generator, values: np.ndarray | list[str], size: int,
            shares: list[float] | None = None) -> pd.Series:
    """A column of values drawn from a list (equally likely unless ``shares`` are given)."""
    return pd.Series(rng.choice(np.asarray(values, dtype=object), size, p=shares), dtype=object)


def _times(rng: np.random.Generator, start: str, end: str, size: int) -> np.ndarray:
    """Uniform random instants (to the second) between two days."""
    first, last = np.datetime64(start, "s"), np.datetime64(end, "s")
    return first + rng.integers(0, int((last - first) / np.timedelta64(1, "s")), size)


def _later(rng: np.random.Generator, times: np.ndarray, low: int, high: int) -> np.ndarray:
    """Instants ``low`` to ``high`` days after ``times``, at most the reference day."""
    shifted = times + rng.integers(low * 86_400, high * 86_400, len(times)).astype("m8[s]")
    return np.minimum(shifted, _REFERENCE_DAY.astype("M8[s]"))


def _make_unique(emails: pd.Series) -> pd.Series:
    """E-mails made unique: a repeated address gets a number before the ``@``."""
    out = emails.copy()
    while (repeated := out.duplicated() & out.notna()).any():
        parts = out[repeated].str.split("@", n=1, expand=True)
        number = (out[repeated].groupby(out[repeated]).cumcount() + 2).astype(str)
        out[repeated] = parts[0] + number + "@" + parts[1]
    return out


def _slug(values: pd.Series) -> pd.Series:
    """A name as written in an e-mail address: lower case, ASCII, no spaces or apostrophes."""
    plain = values.str.translate(_PLAIN).str.lower()
    return plain.str.replace(r"[^a-z0-9-]", "", regex=True)


def _pick(rng: np.random.Generator, options: dict[str, pd.Series],
          shares: dict[str, float]) -> pd.Series:
    """Per row, one of several spellings (aligned series), chosen with the given shares."""
    names = list(shares)
    chosen = rng.choice(len(names), len(options[names[0]]), p=list(shares.values()))
    picked = np.select([chosen == i for i in range(len(names))],
                       [options[name].to_numpy(dtype=object) for name in names], None)
    return pd.Series(picked, dtype=object)


def _case(rng: np.random.Generator, values: pd.Series, lower: float, upper: float) -> pd.Series:
    """Values as typed: a share in lower case, a share in upper case, the rest unchanged."""
    return _pick(rng, {"keep": values, "lower": values.str.lower(), "upper": values.str.upper()},
                 {"keep": 1.0 - lower - upper, "lower": lower, "upper": upper})


def _blank(rng: np.random.Generator, values: pd.Series, rate: float | np.ndarray) -> pd.Series:
    """Values with a share (one rate, or one per row) left empty."""
    return values.mask(rng.random(len(values)) < rate)


def _strip_accents(rng: np.random.Generator, rec: pd.DataFrame, columns: list[str],
                   rate: float, table: dict[int, str], tally: Counter[str]) -> None:
    """Drop accents in a share of the records (all their text columns at once), in place."""
    chosen = rng.random(len(rec)) < rate
    for column in columns:
        plain = rec[column].str.translate(table)
        changed = chosen & (plain != rec[column]) & rec[column].notna()
        tally["values with accents dropped"] += int(changed.sum())
        rec[column] = rec[column].where(~chosen, plain)


def _typos(rng: np.random.Generator, values: pd.Series, rate: float) -> pd.Series:
    """One edit (substitution, deletion, insertion or transposition) in a share of the values.

    The first letter is never edited. The strings are edited as rows of a code-point matrix.
    """
    lengths = values.str.len().fillna(0).to_numpy(dtype=int)
    hit = np.flatnonzero((rng.random(len(values)) < rate) & (lengths >= 3))
    width = int(lengths[hit].max(initial=0)) + 2
    codes = (values.iloc[hit].to_numpy(dtype=f"<U{width}").view(np.uint32)
             .reshape(len(hit), width))
    at = 1 + (rng.random(len(hit)) * (lengths[hit] - 1)).astype(int)
    kind = rng.integers(0, 4, len(hit))[:, None]
    letters = np.frombuffer("aeiourstlnmcdp".encode("utf-32-le"), dtype=np.uint32)
    pick = rng.integers(0, len(letters), len(hit))
    rows, columns = np.arange(len(hit)), np.arange(width)[None, :]
    substituted = codes.copy()
    substituted[rows, at] = np.where(codes[rows, at] == letters[pick],
                                     letters[(pick + 1) % len(letters)], letters[pick])
    left = np.concatenate([codes[:, 1:], np.zeros((len(hit), 1), np.uint32)], axis=1)
    deleted = np.where(columns >= at[:, None], left, codes)
    right = np.concatenate([np.zeros((len(hit), 1), np.uint32), codes[:, :-1]], axis=1)
    inserted = np.where(columns > at[:, None], right, codes)
    inserted[rows, at] = letters[pick]
    swapped = codes.copy()
    swapped[rows, at], swapped[rows, at - 1] = codes[rows, at - 1], codes[rows, at]
    edited = np.select([kind == 0, kind == 1, kind == 2], [substituted, deleted, inserted],
                       swapped).astype(np.uint32)
    out = values.copy()
    out.iloc[hit] = edited.view(f"<U{width}").ravel().astype(object)
    return out


def _dirty_names(rng: np.random.Generator, rec: pd.DataFrame, columns: tuple[str, ...],
                 tally: Counter[str]) -> None:
    """Nicknames (1% of first names) then one-edit typos (8% of names), in place."""
    short = rec["first"].map(_NICKNAMES)
    eligible = short.notna().to_numpy()
    chance = min(1.0, 0.01 * len(rec) / max(1, eligible.sum()))
    chosen = eligible & (rng.random(len(rec)) < chance)
    rec["first"] = rec["first"].where(~chosen, short)
    tally["first names as a nickname"] += int(chosen.sum())
    for column in columns:
        typed = _typos(rng, rec[column], 0.08)
        tally["names with a typo"] += int(((typed != rec[column]) & rec[column].notna()).sum())
        rec[column] = typed


def _phones(rng: np.random.Generator, digits: pd.Series, shares: dict[str, float]) -> pd.Series:
    """10-digit national mobiles written in the given styles (missing stays missing)."""
    full = digits.fillna("0000000000")
    pairs = [full.str[i:i + 2] for i in range(2, 10, 2)]
    tail = pairs[0] + " " + pairs[1] + " " + pairs[2] + " " + pairs[3]
    styles = {
        "compact": full,
        "spaced": full.str[:2] + " " + tail,
        "dotted": full.str[:2] + "." + tail.str.replace(" ", "."),
        "intl": "+33" + full.str[1:],
        "intl_spaced": "+33 " + full.str[1] + " " + tail,
        "zero_zero": "0033 " + full.str[1] + " " + tail,
        "no_zero": full.str[1:],
    }
    return _pick(rng, {name: styles[name] for name in shares}, shares).where(digits.notna())


def _birth_dates(rng: np.random.Generator, births: pd.Series, iso: bool,
                 tally: Counter[str]) -> pd.Series:
    """Birth dates as text, ISO or dd/mm/yyyy, day and month swapped in 2% of them."""
    day, month = births.dt.day.to_numpy(), births.dt.month.to_numpy()
    eligible = (day <= 12) & (day != month)
    chance = min(1.0, 0.02 * len(births) / max(1, eligible.sum()))
    swap = eligible & (rng.random(len(births)) < chance)
    tally["birth dates with day and month swapped"] += int(swap.sum())
    shown_day = pd.Series(np.where(swap, month, day)).astype(str).str.zfill(2)
    shown_month = pd.Series(np.where(swap, day, month)).astype(str).str.zfill(2)
    year = pd.Series(births.dt.year.to_numpy()).astype(str)
    if iso:
        return year + "-" + shown_month + "-" + shown_day
    return shown_day + "/" + shown_month + "/" + year


def _mistyped_domains(rng: np.random.Generator, emails: pd.Series, rate: float,
                      tally: Counter[str]) -> pd.Series:
    """E-mails typed by a cashier: a share of the common providers misspelt."""
    parts = emails.str.split("@", n=1, expand=True)
    wrong = parts[1].map(_DOMAIN_TYPOS)
    chosen = wrong.notna() & (rng.random(len(emails)) < rate)
    tally["e-mails with a misspelt provider"] += int(chosen.sum())
    return emails.where(~chosen, parts[0] + "@" + wrong)


def _households(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Household of each person and rank in it (0 the head), for households of 1 to 3."""
    sizes = rng.choice(np.array([1, 2, 3]), size=n, p=[0.5, 0.33, 0.17])
    count = int(np.searchsorted(np.cumsum(sizes), n)) + 1
    sizes = sizes[:count]
    sizes[-1] -= int(sizes.sum()) - n
    household = np.repeat(np.arange(count), sizes)
    return household, np.arange(n) - (np.cumsum(sizes) - sizes)[household]


def _last_names(rng: np.random.Generator, size: int) -> np.ndarray:
    """Surnames: three quarters French by frequency, a quarter from neighbouring countries."""
    french = rng.choice(_FRENCH_LAST_ARRAY, size, p=_zipf(len(_FRENCH_LAST_ARRAY), 20, 0.6))
    other = rng.choice(_OTHER_LAST, size)
    return np.where(rng.random(size) < 0.25, other, french)


def _first_names(rng: np.random.Generator, female: np.ndarray) -> np.ndarray:
    """First names by sex, the more frequent ones first in their lists."""
    women = rng.choice(_FEMALE_FIRST, len(female), p=_zipf(len(_FEMALE_FIRST), 10, 0.7))
    men = rng.choice(_MALE_FIRST, len(female), p=_zipf(len(_MALE_FIRST), 10, 0.7))
    return np.where(female, women, men)


def _people(rng: np.random.Generator, n: int,
            tally: Counter[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The true people and the twin pairs (an array of person index pairs)."""
    household, rank = _households(rng, n)
    count = int(household.max()) + 1
    couple = rng.random(count) < 0.75
    partner = (rank == 1) & couple[household]
    child = (rank == 2) | ((rank == 1) & ~couple[household])
    coin = rng.random(n) < 0.52
    female = np.where(partner, ~coin[rank == 0][household], coin)
    with_child = np.bincount(household, weights=child, minlength=count) > 0
    head_age = np.where(with_child, rng.integers(42, 89, count),
                        rng.integers(18, 89, count))[household]
    age = np.select(
        [partner, child],
        [np.clip(head_age + np.rint(rng.normal(0, 4, n)).astype(int), 18, 95),
         np.maximum(head_age - rng.integers(22, 36, n), 18)],
        head_age)
    birth = _REFERENCE_DAY - (age * 365.25 + rng.integers(0, 365, n)).astype("m8[D]")

    # Twins: an adult child and a person living alone become twins in the child's household.
    singles = np.flatnonzero(np.bincount(household)[household] == 1)
    pairs = min(round(0.0025 * n), int(child.sum()), len(singles))
    twins = np.column_stack([rng.choice(np.flatnonzero(child), pairs, replace=False),
                             rng.choice(singles, pairs, replace=False)])
    household[twins[:, 1]] = household[twins[:, 0]]
    birth[twins[:, 1]], age[twins[:, 1]] = birth[twins[:, 0]], age[twins[:, 0]]
    child[twins[:, 1]] = True
    singles = np.setdiff1d(singles, twins[:, 1])

    first = _first_names(rng, female)
    while (same := first[twins[:, 1]] == first[twins[:, 0]]).any():
        first[twins[same, 1]] = _first_names(rng, female[twins[same, 1]])
    last = _last_names(rng, count)[household]
    own_name = partner & female & (rng.random(n) < 0.15)  # partners who are not married
    last[own_name] = _last_names(rng, int(own_name.sum()))
    # Married women, shown under their maiden name in one source.
    eligible = female & ~child & ~own_name
    married = eligible & (rng.random(n) < 0.05 * female.sum() / max(1, eligible.sum()))
    maiden = np.full(n, None, dtype=object)
    maiden[married] = _last_names(rng, int(married.sum()))
    while (same := married & (maiden == last)).any():
        maiden[same] = _last_names(rng, int(same.sum()))
    tally["married women (maiden name in one source)"] = int(married.sum())

    place_weights = _zipf(len(_PLACES), 8, 0.8)
    place = rng.choice(len(_PLACES), count, p=place_weights)[household]

    # Namesakes: people living alone take the name of someone of the same sex elsewhere.
    others = np.setdiff1d(np.arange(n), singles)
    for sex in (True, False):
        pool = singles[(female[singles] == sex) & ~married[singles]]
        donors = others[female[others] == sex]
        size = min(round(0.0025 * n), len(pool), len(donors))
        takers, donors = (rng.choice(pool, size, replace=False),
                          rng.choice(donors, size, replace=False))
        elsewhere = place[takers] != place[donors]
        takers, donors = takers[elsewhere], donors[elsewhere]
        first[takers], last[takers] = first[donors], last[donors]
        tally["namesakes made (a same-sex namesake in another city)"] += len(takers)

    people = pd.DataFrame({
        "person_id": "P" + pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(6),
        "household": household, "female": female, "age": age, "birth": pd.to_datetime(birth),
        "first": first, "last": last, "maiden": maiden,
        "maiden_source": np.where(married, rng.choice(_NAMED_SOURCES, n), None),
        "place": place,
    })
    _addresses(rng, people, count)
    _contacts(rng, people, count, tally)
    return people, twins


def _addresses(rng: np.random.Generator, people: pd.DataFrame, count: int) -> None:
    """Street of each household, and the old address of the 8% who moved, in place."""
    n = len(people)
    moved = rng.random(n) < 0.08
    people["stale_source"] = np.where(moved, rng.choice(_NAMED_SOURCES, n), None)
    old_place = rng.choice(len(_PLACES), n, p=_zipf(len(_PLACES), 8, 0.8))
    people["old_place"] = np.where(old_place == people["place"], (old_place + 1) % len(_PLACES),
                                   old_place)
    for prefix, size, index in (("", count, people["household"].to_numpy()),
                                ("old_", n, np.arange(n))):
        number = pd.Series(rng.integers(1, 150, size)).astype(str)
        suffix = np.where(rng.random(size) < 0.03, rng.choice([" bis", " ter"], size), "")
        people[prefix + "street_no"] = (number + suffix).to_numpy(dtype=object)[index]
        people[prefix + "street_type"] = rng.choice(len(_STREET_TYPES), size,
                                                    p=_STREET_TYPE_SHARES)[index]
        people[prefix + "street_name"] = rng.choice(_STREET_NAMES, size)[index]


def _contacts(rng: np.random.Generator, people: pd.DataFrame, count: int,
              tally: Counter[str]) -> None:
    """Own e-mail (92%), family mailboxes (4% of households) and mobile (93%), in place."""
    n = len(people)
    first, last = _slug(people["first"]), _slug(people["last"])
    year = (people["birth"].dt.year % 100).astype(str).str.zfill(2)
    local = _pick(rng, {
        "dot": first + "." + last, "joined": first + last, "initial": first.str[0] + "." + last,
        "reversed": last + "." + first, "year": first + "." + last + year,
        "underscore": first + "_" + last,
    }, {"dot": 0.35, "joined": 0.15, "initial": 0.15, "reversed": 0.1, "year": 0.15,
        "underscore": 0.1})
    own = (local + "@" + _choice(rng, _DOMAINS, n, _DOMAIN_SHARES)).where(rng.random(n) < 0.92)

    # Family mailboxes: two or three people of a household give the same address.
    household = people["household"].to_numpy()
    members = np.bincount(household, minlength=count)
    multi = np.flatnonzero(members >= 2)
    boxes = rng.choice(multi, min(round(0.04 * (members > 0).sum()), len(multi)), replace=False)
    ids, first_members = np.unique(household, return_index=True)
    heads = first_members[np.searchsorted(ids, boxes)]
    name = last.iloc[heads].reset_index(drop=True)
    family_local = _pick(rng, {"famille": "famille." + name, "after": name + ".famille",
                               "les": "les" + name}, {"famille": 0.5, "after": 0.3, "les": 0.2})
    family = family_local + "@" + _choice(rng, _DOMAINS, len(boxes), _DOMAIN_SHARES)
    unique = _make_unique(pd.concat([own, family], ignore_index=True))
    own = unique.iloc[:n].reset_index(drop=True)
    head_email = own.iloc[heads].to_numpy()
    use_head = (rng.random(len(boxes)) < 0.5) & pd.notna(head_email)
    box_email = np.full(count, None, dtype=object)
    box_email[boxes] = np.where(use_head, head_email, unique.iloc[n:].to_numpy())
    shared = pd.notna(box_email[household]) & (rng.random(n) < 0.9)
    people["own_email"] = own
    people["email"] = np.where(shared, box_email[household], own.to_numpy())
    tally["family mailboxes (households sharing one e-mail)"] = len(boxes)

    phone = (_choice(rng, _MOBILE_PREFIXES, n)
             + pd.Series(rng.integers(0, 10**7, n)).astype(str).str.zfill(7))
    while (repeated := phone.duplicated()).any():
        phone[repeated] = (_choice(rng, _MOBILE_PREFIXES, int(repeated.sum())).to_numpy()
                           + pd.Series(rng.integers(0, 10**7, int(repeated.sum())))
                           .astype(str).str.zfill(7).to_numpy())
    people["phone"] = phone.where(rng.random(n) < 0.93)


def _records(people: pd.DataFrame, members: np.ndarray, source: str) -> pd.DataFrame:
    """The people behind a source's records, with the maiden name and old address it shows."""
    rec = people.iloc[members].reset_index(drop=True)
    maiden = (rec["maiden_source"] == source).to_numpy()
    rec["last"] = rec["last"].where(~maiden, rec["maiden"])
    old = (rec["stale_source"] == source).to_numpy()
    for part in ("place", "street_no", "street_type", "street_name"):
        rec[part] = rec[part].where(~old, rec["old_" + part])
    rec["postcode"] = _POSTCODES[rec["place"].to_numpy()]
    rec["city"] = _CITIES[rec["place"].to_numpy()]
    rec["_maiden"], rec["_old"] = maiden, old
    return rec


def _street(rng: np.random.Generator, rec: pd.DataFrame, short: np.ndarray, short_share: float,
            comma_share: float) -> pd.Series:
    """Street lines, the street type abbreviated in a share of them."""
    kind = rec["street_type"].to_numpy()
    spelt = np.where(rng.random(len(rec)) < short_share, short[kind], _STREET_TYPES[kind])
    after_number = np.where(rng.random(len(rec)) < comma_share, ", ", " ")
    return rec["street_no"] + after_number + spelt + " " + rec["street_name"]


def _hidden(rec: pd.DataFrame) -> dict[str, pd.Series]:
    """The columns kept for the truth and the counts, not exported."""
    return {"_person": rec["person_id"], "_maiden": rec["_maiden"], "_old": rec["_old"]}


def _eshop(rng: np.random.Generator, people: pd.DataFrame, tally: Counter[str]) -> pd.DataFrame:
    """Web-shop accounts (55%, younger people more): one e-mail per account, 8% second ones."""
    weights = np.clip(1.4 - 0.012 * (people["age"].to_numpy() - 18), 0.3, None)
    members = np.flatnonzero(_draw(rng, weights * people["email"].notna().to_numpy(), 0.55))
    created = _times(rng, "2015-01-01", "2024-12-31", len(members))
    order = np.argsort(created, kind="stable")
    members, created = members[order], created[order]
    # A family mailbox is taken by the first member to sign up; the others use their own.
    email = people["email"].iloc[members].reset_index(drop=True)
    email = email.where(~email.duplicated(), people["own_email"].iloc[members].to_numpy())
    kept = (email.notna() & ~email.duplicated()).to_numpy()
    members, created, email = members[kept], created[kept], email[kept].reset_index(drop=True)

    second = rng.random(len(members)) < 0.08
    tally["e-shop second accounts"] = int(second.sum())
    parts = email[second].str.split("@", n=1, expand=True).reset_index(drop=True)
    other = _choice(rng, _DOMAINS, len(parts), _DOMAIN_SHARES)
    other = other.where(other != parts[1],
                        np.where(parts[1] == "laposte.net", "gmail.com", "laposte.net"))
    variant = _pick(rng, {
        "capitalised": parts[0].str.capitalize() + "@" + parts[1],
        "upper": (parts[0] + "@" + parts[1]).str.upper(),
        "tagged": parts[0] + "+" + _choice(rng, ["jardin", "promo", "shop"], len(parts)) + "@"
        + parts[1],
        "other_provider": parts[0] + "@" + other,
    }, {"capitalised": 0.25, "upper": 0.15, "tagged": 0.3, "other_provider": 0.3})
    duplicate = np.arange(len(members) + len(variant)) >= len(members)
    members = np.concatenate([members, members[second]])
    created = np.concatenate([created, _later(rng, created[second], 20, 1500)])
    order = np.argsort(created, kind="stable")
    members, created, duplicate = members[order], created[order], duplicate[order]
    email = _make_unique(pd.concat([email, variant], ignore_index=True).iloc[order]
                         .reset_index(drop=True))

    rec = _records(people, members, "eshop")
    _dirty_names(rng, rec, ("first", "last"), tally)
    for column in ("first", "last"):
        rec[column] = rec[column].str.translate(_TYPED_APOSTROPHE)
    rec["street"] = _street(rng, rec, _TYPED_SHORT, 0.15, 0.05)
    _strip_accents(rng, rec, ["first", "last", "street", "city"], 0.12, _PLAIN, tally)
    sparse = np.where(duplicate, 3.0, 1.0)  # a quick second account leaves more blanks
    size = len(rec)
    return pd.DataFrame({
        "N° client": 100_000 + np.cumsum(rng.integers(1, 4, size)),
        "Civilité": _blank(rng, pd.Series(np.where(rec["female"], "Mme", "M.")), 0.10),
        "Prénom usuel": _blank(rng, _case(rng, rec["first"], 0.10, 0.15), 0.05 * sparse),
        "Nom de famille": _blank(rng, _case(rng, rec["last"], 0.10, 0.35), 0.05 * sparse),
        "Adresse mail": email,
        "Tél. mobile": _blank(rng, _phones(rng, rec["phone"], {
            "compact": 0.6, "spaced": 0.25, "intl": 0.15}), 0.12 * sparse),
        "DDN": _blank(rng, _birth_dates(rng, rec["birth"], True, tally), 0.2 * sparse),
        "Adresse": _blank(rng, _case(rng, rec["street"], 0.10, 0.05), 0.10 * sparse),
        "Code postal": _blank(rng, rec["postcode"], 0.05 * sparse),
        "Localité": _blank(rng, _case(rng, rec["city"], 0.10, 0.10), 0.05 * sparse),
        "Pays": _blank(rng, _choice(rng, ["France", "FR", "france"], size, [0.85, 0.1, 0.05]),
                       0.05),
        "Compte créé le": pd.Series(created).dt.strftime("%Y-%m-%d %H:%M:%S"),
        "Optin email": _blank(rng, _choice(rng, ["oui", "non"], size, [0.55, 0.45]), 0.05),
        **_hidden(rec),
    })


def _loyalty(rng: np.random.Generator, people: pd.DataFrame,
             tally: Counter[str]) -> pd.DataFrame:
    """Store loyalty cards (50%, older people more), typed at the till; 3% second cards."""
    members = np.flatnonzero(_draw(rng, 0.6 + 0.01 * (people["age"].to_numpy() - 18), 0.5))
    joined = _times(rng, "2008-01-01", "2024-12-31", len(members))
    second = rng.random(len(members)) < 0.03
    tally["loyalty second cards"] = int(second.sum())
    members = np.concatenate([members, members[second]])
    joined = np.concatenate([joined, _later(rng, joined[second], 100, 2500)])
    order = np.argsort(joined, kind="stable")
    rec, joined = _records(people, members[order], "loyalty"), joined[order]
    _dirty_names(rng, rec, ("first", "last"), tally)
    rec["street"] = _street(rng, rec, _TILL_SHORT, 0.4, 0.0)
    _strip_accents(rng, rec, ["first", "last", "street", "city"], 0.45, _PLAIN_CP1252, tally)
    city = rec["city"].str.upper()
    city = city.where(rng.random(len(rec)) < 0.5, city.str.replace(r"^SAINT(E?)-", r"ST\1 ",
                                                                   regex=True))
    email = _mistyped_domains(rng, _case(rng, rec["email"], 0.0, 0.1), 0.02, tally)
    young = rec["female"].to_numpy() & (rec["age"].to_numpy() < 35)
    civility = np.select([~rec["female"].to_numpy(), young & (rng.random(len(rec)) < 0.5)],
                         ["MR", "MLLE"], "MME")
    size = len(rec)
    return pd.DataFrame({
        "Identifiant fidélité": 2_900_000_000_000 + np.cumsum(rng.integers(1, 60, size)),
        "CIV": _blank(rng, pd.Series(civility, dtype=object), 0.05),
        "NOM": _blank(rng, rec["last"].str.upper(), 0.05),
        "Prénom": _blank(rng, rec["first"].str.upper(), 0.06),
        "Né(e) le": _blank(rng, _birth_dates(rng, rec["birth"], False, tally), 0.10),
        "Portable": _blank(rng, _phones(rng, rec["phone"], {
            "spaced": 0.3, "dotted": 0.2, "intl": 0.2, "zero_zero": 0.15, "no_zero": 0.15}),
            0.10),
        "E-mail": _blank(rng, email, 0.2),
        "Adresse ligne 1": _blank(rng, rec["street"].str.upper(), 0.12),
        "CP": _blank(rng, rec["postcode"], 0.06),
        "VILLE": _blank(rng, city, 0.06),
        "Magasin": _blank(rng, _choice(rng, _STORES, size), 0.05),
        "Date adhésion": _blank(rng, pd.Series(joined).dt.strftime("%d/%m/%Y"), 0.05),
        "Opt-in SMS": _blank(rng, _choice(rng, ["O", "N"], size, [0.6, 0.4]), 0.08),
        **_hidden(rec),
    })


def _call_centre(rng: np.random.Generator, people: pd.DataFrame, in_eshop: np.ndarray,
                 in_loyalty: np.ndarray, tally: Counter[str]) -> pd.DataFrame:
    """Call-centre contacts (15%, mostly customers), full names typed by agents; 4% twice."""
    members = np.flatnonzero(_draw(rng, 0.5 + 1.2 * in_eshop + 0.4 * in_loyalty, 0.15))
    called = _times(rng, "2019-01-01", "2024-12-31", len(members))
    second = rng.random(len(members)) < 0.04
    tally["call-centre contacts entered twice"] = int(second.sum())
    members = np.concatenate([members, members[second]])
    called = np.concatenate([called, _later(rng, called[second], 1, 400)])
    order = np.argsort(called, kind="stable")
    rec, called = _records(people, members[order], "call_centre"), called[order]
    _dirty_names(rng, rec, ("first", "last"), tally)
    _strip_accents(rng, rec, ["first", "last"], 0.2, _PLAIN, tally)
    given_first = rec["first"] + " " + rec["last"]
    full = _pick(rng, {"surname_first": rec["last"].str.upper() + " " + rec["first"],
                       "given_first": given_first, "lower": given_first.str.lower()},
                 {"surname_first": 0.6, "given_first": 0.3, "lower": 0.1})
    titled = rng.random(len(rec)) < 0.08
    full = full.where(~titled, np.where(rec["female"], "Mme ", "M. ") + full)
    # Excel turned some phones and every postcode into numbers (leading zero lost).
    phone = _phones(rng, rec["phone"], {"spaced": 0.45, "compact": 0.2, "no_zero": 0.2,
                                        "intl_spaced": 0.15})
    numeric = phone.str.fullmatch(r"\d{9}", na=False).to_numpy(dtype=bool)
    phone[numeric] = phone[numeric].astype(int).tolist()
    size = len(rec)
    return pd.DataFrame({
        "Réf. contact": "SC-" + pd.Series(np.arange(1, size + 1)).astype(str).str.zfill(6),
        "Nom complet": _blank(rng, full, 0.05),
        "Téléphone": _blank(rng, phone, 0.08),
        "Courriel": _blank(rng, rec["email"], 0.65),
        "CP": _blank(rng, pd.Series(rec["postcode"].astype(int).tolist(), dtype=object), 0.20),
        "Premier contact": pd.Series(called),
        "Motif": _blank(rng, _choice(rng, _CALL_REASONS, size), 0.05),
        **_hidden(rec),
    })


def _newsletter(rng: np.random.Generator, people: pd.DataFrame, in_eshop: np.ndarray,
                in_loyalty: np.ndarray, tally: Counter[str]) -> pd.DataFrame:
    """Newsletter subscribers (30%): one row per lower-case e-mail, the first to subscribe."""
    weights = people["email"].notna().to_numpy() * (0.4 + 1.0 * in_eshop + 0.3 * in_loyalty)
    members = np.flatnonzero(_draw(rng, weights, 0.30))
    subscribed = _times(rng, "2016-01-01", "2024-12-31", len(members))
    order = np.argsort(subscribed, kind="stable")
    rec, subscribed = _records(people, members[order], "newsletter"), subscribed[order]
    first = ~rec["email"].duplicated().to_numpy()
    tally["newsletter sign-ups refused (mailbox already subscribed)"] = int((~first).sum())
    rec, subscribed = rec[first].reset_index(drop=True), subscribed[first]
    _dirty_names(rng, rec, ("first",), tally)
    _strip_accents(rng, rec, ["first"], 0.15, _PLAIN, tally)
    return pd.DataFrame({
        "Adresse e-mail": rec["email"],
        "Prénom": _blank(rng, _case(rng, rec["first"], 0.15, 0.05), 0.25),
        "Date d'inscription": pd.Series(subscribed).dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        **_hidden(rec),
    })


def _truth(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """``source,record_id,person_id`` for every record of every source."""
    return pd.concat([pd.DataFrame({
        "source": name,
        "record_id": frame[SOURCES[name].mapping["record_id"]].astype(str),
        "person_id": frame["_person"],
    }) for name, frame in frames.items()], ignore_index=True)


def _pairs(sizes: pd.Series | np.ndarray) -> int:
    """Number of pairs within groups of these sizes."""
    sizes = np.asarray(sizes, dtype=np.int64)
    return int((sizes * (sizes - 1) // 2).sum())


def _stats(people: pd.DataFrame, frames: dict[str, pd.DataFrame], truth: pd.DataFrame,
           twins: np.ndarray, tally: Counter[str]) -> dict[str, int]:
    """Counts of people, records, true pairs and traps, then of the dirt applied."""
    stats = {"people": len(people), "people in at least one source": truth["person_id"].nunique()}
    counts = pd.crosstab(truth["person_id"], truth["source"]).reindex(columns=list(frames),
                                                                            fill_value=0)
    per_source = counts.to_numpy(dtype=np.int64)
    stats["people in two sources or more"] = int(((per_source > 0).sum(axis=1) >= 2).sum())
    for name, frame in frames.items():
        stats[f"records {name}"] = len(frame)
    stats["records"] = len(truth)
    within = [_pairs(per_source[:, i]) for i in range(len(frames))]
    for name, pairs in zip(frames, within, strict=True):
        stats[f"true pairs within {name}"] = pairs
    stats["true pairs within sources"] = sum(within)
    total = per_source.sum(axis=1)
    stats["true pairs across sources"] = int(((total**2 - (per_source**2).sum(axis=1)) // 2)
                                             .sum())
    stats["true pairs"] = stats["true pairs within sources"] + stats["true pairs across sources"]

    emails = pd.concat([pd.DataFrame({
        "email": frame[SOURCES[name].mapping["email"]].str.lower(), "person": frame["_person"],
    }) for name, frame in frames.items()], ignore_index=True).dropna()
    stats["shared-mailbox person pairs (same e-mail, different people)"] = _pairs(
        emails.drop_duplicates().groupby("email").size())
    stats["shared-mailbox record pairs (same e-mail, different people)"] = (
        _pairs(emails.groupby("email").size())
        - _pairs(emails.groupby(["email", "person"]).size()))
    records = truth["person_id"].value_counts()
    twin_records = [records.reindex(people["person_id"].iloc[twins[:, i]]).fillna(0).to_numpy()
                    for i in (0, 1)]
    stats["twin pairs"] = len(twins)
    stats["twin pairs both in the data"] = int(((twin_records[0] > 0)
                                                & (twin_records[1] > 0)).sum())
    stats["twin record pairs"] = int((twin_records[0] * twin_records[1]).sum())
    present = people[people["person_id"].isin(records.index)]
    stats["namesake person pairs (same true first and last name)"] = _pairs(
        present.groupby(["first", "last"]).size())

    shown = pd.concat([frames[name][["_person", "_maiden", "_old"]]
                       for name in _NAMED_SOURCES], ignore_index=True)
    both = shown.groupby("_person")[["_maiden", "_old"]].nunique() == 2
    stats["married women shown under both names"] = int(both["_maiden"].sum())
    stats["people who moved shown at both addresses"] = int(both["_old"].sum())
    return stats | dict(sorted(tally.items()))


def build(n_people: int = 5000, seed: int = 11) -> Dataset:
    """Generate the people, the four sources, the truth and the counts (deterministic)."""
    rng = np.random.default_rng(seed)
    tally: Counter[str] = Counter()
    people, twins = _people(rng, n_people, tally)
    eshop = _eshop(rng, people, tally)
    loyalty = _loyalty(rng, people, tally)
    in_eshop = people["person_id"].isin(eshop["_person"]).to_numpy()
    in_loyalty = people["person_id"].isin(loyalty["_person"]).to_numpy()
    frames = {
        "eshop": eshop, "loyalty": loyalty,
        "call_centre": _call_centre(rng, people, in_eshop, in_loyalty, tally),
        "newsletter": _newsletter(rng, people, in_eshop, in_loyalty, tally),
    }
    truth = _truth(frames)
    return Dataset(frames, truth, _stats(people, frames, truth, twins, tally))


def _write_xlsx(frame: pd.DataFrame, path: Path, sheet: str) -> None:
    """One sheet, header then rows; empty cells for missing values."""
    book = Workbook(write_only=True)
    book.properties.created = datetime(2025, 1, 6)
    book.properties.creator = "Jardins de France"
    rows = book.create_sheet(sheet)
    rows.append(list(frame.columns))
    for row in frame.astype(object).where(frame.notna(), None).itertuples(index=False):
        rows.append(list(row))
    book.save(path)


def write(dataset: Dataset, out_dir: Path) -> dict[str, dict[str, object]]:
    """Write the source files, one mapping YAML per source and ``truth.csv``; return the manifest.

    The manifest maps each source name to its ``file``, ``sheet`` (None for a CSV) and
    ``mapping`` (canonical field to column).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, dict[str, object]] = {}
    for name, spec in SOURCES.items():
        frame = dataset.frames[name]
        public = frame[[column for column in frame.columns if not column.startswith("_")]]
        if spec.sheet:
            _write_xlsx(public, out_dir / spec.file, spec.sheet)
        else:
            public.to_csv(out_dir / spec.file, index=False, sep=spec.separator,
                          encoding=spec.encoding, lineterminator=spec.line_end)
        ordered = {field: spec.mapping[field] for field in PROFILE_FIELDS if field in spec.mapping}
        (out_dir / f"{Path(spec.file).stem}.yaml").write_text(mapping_to_yaml(ordered),
                                                              encoding="utf-8")
        manifest[name] = {"file": spec.file, "sheet": spec.sheet, "mapping": ordered}
    dataset.truth.to_csv(out_dir / "truth.csv", index=False, lineterminator="\n")
    return manifest


def generate(out_dir: Path, n_people: int = 5000, seed: int = 11) -> dict[str, dict[str, object]]:
    """Write a benchmark instance into ``out_dir``; return its manifest (see `write`)."""
    return write(build(n_people, seed), out_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path, help="folder for the files (created if needed)")
    parser.add_argument("--people", type=int, default=5000, help="number of true people")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    start = time.perf_counter()
    dataset = build(args.people, args.seed)
    write(dataset, args.out_dir)
    for label, value in dataset.stats.items():
        print(f"{label}: {value:,}")
    print(f"written to {args.out_dir} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
