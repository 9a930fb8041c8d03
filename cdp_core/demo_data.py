"""Demo company generator: the messy exports of "Maison Lumière", a French home-goods retailer.

Why: the workbench needs realistic input whose truth is known, so that profiling, record linkage
and activation use cases can be shown and measured at any size, reproducibly from a seed. People
are generated column-wise with numpy; names, streets and cities come from small vocabularies
(drawn once from Faker) whose spellings are precomputed, so rendering a column is array indexing.
Text columns use numpy's variable-width StringDType: fast string ufuncs, quick to hand to pyarrow.
"""
from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from functools import reduce
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from faker import Faker
from openpyxl import Workbook

REFERENCE_DATE = date(2026, 6, 30)
"""The demo's "today": every event happens before midnight starting this day."""
GROUND_TRUTH_FILE = "ground_truth.csv"

_S = np.dtypes.StringDType()
_Rng = np.random.Generator
_Table = dict[str, np.ndarray]  # column -> values; "_" columns are internal, never written
_People = dict[str, np.ndarray]
_REF = np.datetime64(REFERENCE_DATE.isoformat(), "s")
_STAMP = datetime.combine(REFERENCE_DATE, datetime.min.time())  # pinned xlsx save time
_DAY = np.timedelta64(86_400, "s")
_WINDOW = _REF - 730 * _DAY  # events cover the two years before the reference date
_SHEET_ROWS = 45_000  # openpyxl writes ~10k rows/s: the call-centre sheet stays about this small
_WEB, _LOYALTY, _CALLS = "Web shop accounts", "Store loyalty cards", "Call-centre contacts"
_LATIN1_FILE = "cartes_fidelite.csv"
_ID_FORMATS = {"id_client": ("W", 6), "num_carte": ("2900", 9), "ref_contact": ("SC-", 6),
               "num_commande": ("CW", 8), "num_ticket": ("T", 9), "id_panier": ("PAN", 8),
               "id_appel": ("APP", 7), "id_envoi": ("ENV", 8)}  # prefix, digits
_CITIES = (  # postcode city weight: the store network, with leading-zero postcodes in it
    "75011 Paris 60|75015 Paris 60|75018 Paris 50|75020 Paris 50|69003 Lyon 40|69007 Lyon 30|"
    "13008 Marseille 40|13005 Marseille 30|31000 Toulouse 45|06000 Nice 34|06400 Cannes 7|"
    "06600 Antibes 7|44000 Nantes 31|67000 Strasbourg 28|34000 Montpellier 29|33000 Bordeaux 26|"
    "59000 Lille 23|35000 Rennes 22|51100 Reims 18|42000 Saint-Étienne 17|76600 Le Havre 17|"
    "38000 Grenoble 16|21000 Dijon 16|49000 Angers 15|30000 Nîmes 15|69100 Villeurbanne 15|"
    "63000 Clermont-Ferrand 14|13100 Aix-en-Provence 14|29200 Brest 14|37000 Tours 14|"
    "80000 Amiens 13|87000 Limoges 13|74000 Annecy 13|25000 Besançon 12|57000 Metz 12|"
    "45000 Orléans 12|76000 Rouen 11|14000 Caen 11|54000 Nancy 10|92100 Boulogne-Billancourt 12|"
    "93100 Montreuil 11|94000 Créteil 9|95000 Cergy 6|20000 Ajaccio 7|01000 Bourg-en-Bresse 4|"
    "02100 Saint-Quentin 5|03100 Montluçon 4|04000 Digne-les-Bains 2|05000 Gap 4|"
    "07000 Privas 1|08000 Charleville-Mézières 5|09000 Foix 1"
)
_DOMAINS = {"gmail.com": 40, "orange.fr": 14, "hotmail.fr": 12, "free.fr": 9, "yahoo.fr": 7,
            "wanadoo.fr": 5, "laposte.net": 5, "sfr.fr": 4, "outlook.fr": 4}
_CAMPAIGNS = (  # name, send day, channel
    ("Black Friday 2024", "2024-11-28", "email"), ("Soldes d'hiver 2025", "2025-01-08", "email"),
    ("Saint-Valentin 2025", "2025-02-07", "email"), ("Fête des mères 2025", "2025-05-20", "sms"),
    ("Soldes d'été 2025", "2025-06-25", "email"), ("Rentrée maison 2025", "2025-09-02", "email"),
    ("Black Friday 2025", "2025-11-27", "email"), ("Noël 2025", "2025-12-10", "sms"),
    ("Soldes d'hiver 2026", "2026-01-07", "email"), ("Printemps déco 2026", "2026-03-20", "email"),
    ("Fête des mères 2026", "2026-05-26", "sms"),
)
_MOTIFS = {"Suivi de commande": 240, "Retour produit": 420, "Réclamation": 600,  # mean seconds
           "Carte de fidélité": 300, "Question produit": 280, "Changement d'adresse": 200,
           "Désinscription": 150}
_README = """Export du fichier contacts du service client - Maison Lumière
Une ligne par contact ; les données sont sur l'onglet « Contacts ».
date_naissance au format AAAAMMJJ ; l'email n'est saisi que si le client le donne.
Ne pas modifier les en-têtes de colonnes."""


@dataclass(frozen=True)
class DemoSource:
    """One demo file as the app registers it: where it is, who owns it and how to read it."""

    name: str
    file: str
    kind: str
    department: str
    collection_mode: str
    refresh_cadence: str
    description: str
    mapping: dict[str, str]
    sheet: str | None = None
    profile_source: str | None = None


@dataclass(frozen=True)
class _Pool:
    """A small vocabulary whose spellings are precomputed, so rendering a column is indexing."""

    forms: np.ndarray  # (5, size): plain, upper, folded (accent-free), folded upper, lower
    tokens: np.ndarray  # lower-case ASCII letters only, as used in e-mail addresses
    weights: np.ndarray  # popularity, sums to 1

    @classmethod
    def of(cls, words: list[str], weights: np.ndarray) -> _Pool:
        """Build the pool; spellings are derived once per word instead of once per row."""
        folded = [_fold(w) for w in words]
        forms = [words, [w.upper() for w in words], folded, [f.upper() for f in folded],
                 [w.lower() for w in words]]
        tokens = [re.sub(r"[^a-z]", "", f.lower()) for f in folded]
        return cls(np.array(forms, dtype=_S), np.array(tokens, dtype=_S), weights / weights.sum())

    def draw(self, rng: _Rng, n: int, among: np.ndarray | None = None) -> np.ndarray:
        """Draw n word indices by popularity, optionally only among the entries flagged True."""
        w = self.weights if among is None else self.weights * among
        return rng.choice(len(w), size=n, p=w / w.sum())


@dataclass(frozen=True)
class _Vocab:
    """Every vocabulary the generator needs, drawn once per seed."""

    first: _Pool
    female: np.ndarray  # per first-name entry: given to women
    male: np.ndarray
    last: _Pool
    street: _Pool
    city: _Pool
    postcode: np.ndarray  # (2, cities): as written, and with the leading zero a spreadsheet drops


def _fold(text: str) -> str:
    """Drop accents as old systems and hurried typists do ("Hélène" -> "Helene")."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _vocab(seed: int, rng: _Rng) -> _Vocab:
    """Draw names and streets from Faker: French and Belgian, plus immigrant surnames."""
    fakers: dict[str, Faker] = {}

    def sample(method: str, locales: tuple[str, ...], k: int) -> list[str]:
        for loc in locales:
            if loc not in fakers:
                fakers[loc] = Faker(loc)
            fakers[loc].seed_instance(seed)
        return sorted({getattr(fakers[loc], method)() for loc in locales for _ in range(k)})

    def skewed(n: int) -> np.ndarray:
        return rng.lognormal(0.0, 1.2, n)

    female = sample("first_name_female", ("fr_FR", "fr_BE"), 800)
    male = sample("first_name_male", ("fr_FR", "fr_BE"), 800)
    firsts = sorted(set(female) | set(male))
    french = sample("last_name", ("fr_FR",), 2000)
    immigrant = sample("last_name", ("fr_BE", "it_IT", "pt_PT", "es_ES"), 600)
    lasts = sorted(set(french) | set(immigrant))
    streets = sample("street_name", ("fr_FR",), 2000)
    cities = [item.split() for item in _CITIES.split("|")]
    postcodes = [c[0] for c in cities]
    return _Vocab(
        first=_Pool.of(firsts, skewed(len(firsts))),
        female=np.isin(firsts, female), male=np.isin(firsts, male),
        last=_Pool.of(lasts, skewed(len(lasts)) * np.where(np.isin(lasts, french), 6.0, 1.0)),
        street=_Pool.of(streets, skewed(len(streets))),
        city=_Pool.of([" ".join(c[1:-1]) for c in cities], np.array([int(c[-1]) for c in cities])),
        postcode=np.array([postcodes, [p[1:] if p[0] == "0" else p for p in postcodes]], dtype=_S),
    )


def _between(rng: _Rng, start: np.ndarray) -> np.ndarray:
    """Uniform instants (seconds) from each start up to, excluding, the reference date."""
    start = start.astype("datetime64[s]")
    span = (_REF - start).astype(np.int64)
    return start + (rng.random(len(start)) * span).astype(np.int64).astype("timedelta64[s]")


def _lately(rng: _Rng, days: int, n: int) -> np.ndarray:
    """n uniform instants within the given number of days before the reference date."""
    return _between(rng, np.full(n, _REF - days * _DAY))


def _duplicated(values: np.ndarray) -> np.ndarray:
    """True where a value already occurred earlier in the array."""
    column = pa.table({"v": values})["v"].combine_chunks()  # hashing in arrow beats sorting text
    codes = column.dictionary_encode().indices.to_numpy()
    dup = np.ones(len(values), dtype=bool)
    dup[np.unique(codes, return_index=True)[1]] = False
    return dup


def _people(n: int, rng: _Rng, v: _Vocab) -> tuple[_People, np.ndarray]:
    """The true population and its membership of the web, loyalty, call-centre, newsletter."""
    female = rng.random(n) < 0.53
    age_days = (rng.normal(46, 15, n).clip(18, 92) * 365.25).astype(np.int64)
    p: _People = {
        "female": female,
        "first": np.where(female, v.first.draw(rng, n, v.female), v.first.draw(rng, n, v.male)),
        "last": v.last.draw(rng, n),
        "birth": np.datetime64(REFERENCE_DATE, "D") - age_days.astype("timedelta64[D]"),
        "phone": _mobiles(rng, n),
        "appetite": rng.gamma(0.7, 1 / 0.7, n),  # shared by web and store: heavy buyers are both
        "street_no": rng.integers(1, 150, n), "street": v.street.draw(rng, n),
        "city": v.city.draw(rng, n), "moved": rng.random(n) < 0.08,
        "old_street_no": rng.integers(1, 150, n), "old_street": v.street.draw(rng, n),
        "old_city": v.city.draw(rng, n),
    }
    home = ("street_no", "street", "city", "old_street_no", "old_street", "old_city", "moved")
    order = rng.permutation(n)
    k, t = int(0.06 * n), int(0.005 * n)
    partner_hosts, partners = order[:k], order[k:2 * k]
    twin_hosts, twins = order[2 * k:2 * k + t], order[2 * k + t:2 * k + 2 * t]
    distinct = p["first"][twin_hosts] != p["first"][twins]  # twins never share a first name
    twin_hosts, twins = twin_hosts[distinct], twins[distinct]
    for key in home:
        p[key][partners] = p[key][partner_hosts]
    family = rng.random(k) < 0.5  # half of the couples share the family name
    p["last"][partners[family]] = p["last"][partner_hosts[family]]
    for key in (*home, "last", "birth"):
        p[key][twins] = p[key][twin_hosts]
    married = female & (age_days > 25 * 365) & (rng.random(n) < 0.12)
    married[twins] = False
    p["current_last"] = np.where(married, v.last.draw(rng, n), p["last"])
    p["email"] = _emails(p, rng, v)
    shared = rng.random(k) < 0.5  # family mailbox: the partner signs up with the host's address
    p["email"][partners[shared]] = p["email"][partner_hosts[shared]]
    members = rng.random((n, 4)) < [0.52, 0.47, min(0.2, _SHEET_ROWS / max(n, 1)), 0.35]
    alone = np.flatnonzero(~members[:, :3].any(axis=1))  # the newsletter alone is not enough
    members[alone, rng.integers(0, 2, len(alone))] = True
    members[np.r_[partners, twins]] = members[np.r_[partner_hosts, twin_hosts]]  # shop together
    return p, members


def _emails(p: _People, rng: _Rng, v: _Vocab) -> np.ndarray:
    """Personal addresses built the usual ways (jean.dupont, jdupont, dupont_jean78...), unique."""
    n = len(p["first"])
    first, last = v.first.tokens[p["first"]], v.last.tokens[p["current_last"]]
    style = rng.integers(0, 4, n)
    given = np.where(style == 2, np.strings.slice(first, 0, 1), first)
    x, y = np.where(style == 3, last, given), np.where(style == 3, given, last)
    sep = rng.choice(np.array([".", "", "_", "-"], dtype=_S), n, p=[0.6, 0.2, 0.1, 0.1])
    year = np.strings.slice(np.datetime_as_string(p["birth"]).astype(_S), 2, 4)
    local = x + sep + y + np.where(rng.random(n) < 0.3, year, "")
    domain = rng.choice(np.array(list(_DOMAINS), dtype=_S), n,
                        p=np.array(list(_DOMAINS.values())) / sum(_DOMAINS.values()))
    email = local + "@" + domain
    while (clash := _duplicated(email)).any():
        number = rng.integers(100, 1000, clash.sum()).astype(_S)
        email[clash] = local[clash] + number + "@" + domain[clash]
    return email


def _pick(pool: _Pool, idx: np.ndarray, rng: _Rng, *, upper: float = 0.0, folded: float = 0.0,
          folded_upper: float = 0.0, lower: float = 0.0) -> np.ndarray:
    """Render words with a source's habits: the given shares upper-cased, accent-free, etc."""
    p = np.array([0.0, upper, folded, folded_upper, lower])
    p[0] = 1.0 - p.sum()
    return pool.forms[rng.choice(5, size=len(idx), p=p), idx]


def _typo(word: str, where: float, drop: bool) -> str:
    """One keystroke error after the first letter: a dropped or a swapped character."""
    i = 1 + int(where * (len(word) - 2))
    return word[:i] + word[i + 1:] if drop else word[:i] + word[i + 1] + word[i] + word[i + 2:]


def _typos(values: np.ndarray, rng: _Rng, rate: float) -> np.ndarray:
    """Put one typo in a share of the values (only the few hit rows are touched one by one)."""
    out = values.astype(_S)
    hit = np.flatnonzero((rng.random(len(out)) < rate) & (np.strings.str_len(out) > 3))
    out[hit] = [_typo(w, r, d) for w, r, d in
                zip(out[hit], rng.random(len(hit)), rng.random(len(hit)) < 0.5, strict=True)]
    return out


def _blank(values: np.ndarray, rng: _Rng, rate: float) -> np.ndarray:
    """Leave a share of the values empty, as optional form fields are."""
    out = values.astype(_S)
    out[rng.random(len(out)) < rate] = ""
    return out


def _junk(values: np.ndarray, rng: _Rng, junk: str) -> np.ndarray:
    """Overwrite a handful of values with a placeholder such as test@test.com."""
    out = values.astype(_S)
    out[rng.choice(len(out), min(len(out), 3 + len(out) // 4000), replace=False)] = junk
    return out


# Two-digit prefixes of allocated French mobile ranges (06 and 07, as phonenumbers knows them).
_MOBILE_PREFIXES = np.array([60, 61, 62, 64, 65, 66, 67, 68, 73, 74, 75, 76, 77, 78, 79])


def _mobiles(rng: _Rng, n: int) -> np.ndarray:
    """Unique valid French mobile numbers, as 9-digit national numbers (no leading 0)."""
    drawn = rng.choice(len(_MOBILE_PREFIXES) * 10_000_000, n, replace=False)
    return _MOBILE_PREFIXES[drawn // 10_000_000] * 10_000_000 + drawn % 10_000_000


def _phones(national: np.ndarray, rng: _Rng, p: list[float]) -> np.ndarray:
    """French mobiles in the five ways people write them, with the given format shares."""
    s = national.astype(_S)
    head, pairs = np.strings.slice(s, 0, 1), [np.strings.slice(s, i, i + 2) for i in (1, 3, 5, 7)]

    def joined(sep: str) -> np.ndarray:
        return reduce(lambda a, b: a + sep + b, pairs)

    forms = ["0" + head + " " + joined(" "), "0" + s, "+33 " + head + " " + joined(" "), "33" + s,
             "0" + head + "." + joined(".")]
    # indexing, not np.choose: np.choose crashes on large StringDType arrays (numpy 2.4)
    return np.stack(forms)[rng.choice(5, size=len(s), p=p), np.arange(len(s))]


def _date_text(days: np.ndarray, style: str) -> np.ndarray:
    """Dates as "iso" (yyyy-mm-dd), "fr" (dd/mm/yyyy) or "compact" (yyyymmdd) text."""
    iso = np.datetime_as_string(days.astype("datetime64[D]")).astype(_S)
    y, m, d = (np.strings.slice(iso, a, b) for a, b in ((0, 4), (5, 7), (8, 10)))
    return {"iso": iso, "fr": d + "/" + m + "/" + y, "compact": y + m + d}[style]


def _swap_day_month(days: np.ndarray, rng: _Rng, rate: float) -> np.ndarray:
    """Swap day and month on a share of dates where that still makes a valid date."""
    year, month = days.astype("datetime64[Y]"), days.astype("datetime64[M]")
    m, d = (month - year.astype("datetime64[M]")).astype(int), (days - month).astype(int)
    swapped = (year.astype("datetime64[M]") + d).astype("datetime64[D]") + m
    return np.where((rng.random(len(days)) < rate) & (d < 12) & (d != m), swapped, days)


def _address(p: _People, v: _Vocab, who: np.ndarray, rng: _Rng, *, stale: float, missing: float,
             upper: float = 0.0, zero_lost: float = 0.0) -> list[np.ndarray]:
    """Street, postcode and city; movers still have their old address in a stale source."""
    old = p["moved"][who] & (rng.random(len(who)) < stale)
    no, street, city = (np.where(old, p["old_" + k][who], p[k][who])
                        for k in ("street_no", "street", "city"))
    block = [no.astype(_S) + " " + _pick(v.street, street, rng, folded_upper=upper),
             v.postcode[(rng.random(len(who)) < zero_lost).astype(int), city],
             _pick(v.city, city, rng, upper=upper)]
    gone = rng.random(len(who)) < missing  # the whole block is missing together
    for col in block:
        col[gone] = ""
    return block


def _ids(id_col: str, numbers: np.ndarray) -> np.ndarray:
    """Ids as the owning system formats them (W000123, SC-000123...), from row numbers."""
    prefix, width = _ID_FORMATS[id_col]
    return prefix + np.strings.zfill(numbers.astype(_S), width)


def _numbered(id_col: str, cols: _Table) -> _Table:
    """Prepend ids 1..n: rows are already in the order the owning system issued them."""
    return {id_col: _ids(id_col, np.arange(1, len(next(iter(cols.values()))) + 1)), **cols}


def _chronological(at: np.ndarray, *cols: np.ndarray) -> list[np.ndarray]:
    """Sort columns by time before any text is made from them: permuting numbers is cheap."""
    order = np.argsort(at, kind="stable")
    return [at[order], *(c[order] for c in cols)]


def _web_accounts(p: _People, v: _Vocab, who: np.ndarray, rng: _Rng) -> _Table:
    """Self-typed shop accounts; ~3% of people opened a second one later (+tag or re-cased)."""
    again = rng.choice(len(who), int(0.03 * len(who)), replace=False)
    first = _lately(rng, 6 * 365, len(who))
    created, who, dup = _chronological(
        np.r_[first, _between(rng, first[again])], np.r_[who, who[again]],
        np.repeat([False, True], [len(who), len(again)]))
    n, email = len(who), p["email"][who]
    email[dup] = np.where(rng.random(dup.sum()) < 0.5,
                          np.strings.replace(email[dup], "@", "+promo@", 1),
                          np.strings.title(email[dup]))
    street, postcode, city = _address(p, v, who, rng, stale=0.0, missing=0.08)
    return _numbered("id_client", {
        "email": _junk(email, rng, "test@test.com"),
        "prenom": _typos(_pick(v.first, p["first"][who], rng, folded=0.08, upper=0.03, lower=0.05),
                         rng, 0.02),
        "nom": _typos(_pick(v.last, p["current_last"][who], rng, folded=0.08, upper=0.1,
                            lower=0.03), rng, 0.02),
        "telephone": _blank(_phones(p["phone"][who], rng, [0.3, 0.3, 0.15, 0.1, 0.15]), rng, 0.15),
        "date_naissance": _blank(_date_text(_swap_day_month(p["birth"][who], rng, 0.01), "iso"),
                                 rng, 0.12),
        "adresse": street, "code_postal": postcode, "ville": city,
        "optin_email": _blank(np.where(rng.random(n) < 0.6, "oui", "non"), rng, 0.05),
        "date_creation": created, "date_maj": _between(rng, created),
        "_person": who, "_since": created,
    })


def _loyalty_cards(p: _People, v: _Vocab, who: np.ndarray, rng: _Rng) -> _Table:
    """Cards typed at the till by staff into an old latin-1 system; addresses rarely updated."""
    joined, who = _chronological(_lately(rng, 10 * 365, len(who)), who)
    n = len(who)
    civility = np.where(p["female"][who], rng.choice(["Mme", "Madame", "Mlle"], n, p=[.6, .3, .1]),
                        rng.choice(["M.", "Monsieur"], n, p=[0.75, 0.25]))
    optin = rng.random(n) < 0.45
    optin_text = np.where(joined < np.datetime64("2021-01-01"), np.where(optin, "O", "N"),
                          np.where(optin, "1", "0"))  # the till software changed in 2021
    street, postcode, city = _address(p, v, who, rng, stale=1.0, missing=0.06, upper=0.5,
                                      zero_lost=0.5)
    return _numbered("num_carte", {
        "CIVILITE": _blank(civility, rng, 0.05),
        "NOM": _typos(_pick(v.last, p["last"][who], rng, upper=0.55, folded_upper=0.3), rng, 0.02),
        "Prenom": _typos(_pick(v.first, p["first"][who], rng, folded=0.1, upper=0.1), rng, 0.03),
        "tel": _junk(_blank(_phones(p["phone"][who], rng, [.4, .3, .1, .05, .15]), rng, .12), rng,
                     "0000000000"),
        "date_naiss": _blank(_date_text(_swap_day_month(p["birth"][who], rng, 0.03), "fr"),
                             rng, 0.08),
        "adresse": street, "cp": postcode, "ville": city,
        "optin_sms": _blank(optin_text, rng, 0.05),
        "date_adhesion": _date_text(joined, "fr"),
        "_person": who, "_since": joined,
    })


def _call_contacts(p: _People, v: _Vocab, who: np.ndarray, rng: _Rng) -> _Table:
    """Contacts keyed in by agents during calls: full names in either order, few e-mails."""
    who = rng.permutation(who)
    first, last = _pick(v.first, p["first"][who], rng, folded=0.15), p["current_last"][who]
    full = np.where(rng.random(len(who)) < 0.5,
                    _pick(v.last, last, rng, upper=0.6, folded_upper=0.4) + " " + first,
                    first + " " + _pick(v.last, last, rng, folded=0.15))
    return _numbered("ref_contact", {
        "nom_complet": _typos(full, rng, 0.04),
        "telephone": _blank(_phones(p["phone"][who], rng, [.2, .5, .1, .1, .1]), rng, 0.05),
        "email": _blank(p["email"][who], rng, 0.6),
        "date_naissance": _blank(_date_text(p["birth"][who], "compact"), rng, 0.3),
        "ville": _address(p, v, who, rng, stale=0.5, missing=0.15)[2],
        "_person": who,
    })


def _newsletter(p: _People, v: _Vocab, who: np.ndarray, rng: _Rng) -> _Table:
    """Sign-ups keyed by e-mail: a shared family mailbox subscribes once."""
    who = who[~_duplicated(np.strings.lower(p["email"][who]))]
    signed, who = _chronological(_lately(rng, 4 * 365, len(who)), who)
    email = p["email"][who]
    recased = rng.random(len(who)) < 0.05
    email[recased] = np.strings.title(email[recased])
    return {
        "email": email,
        "prenom": _blank(_pick(v.first, p["first"][who], rng, folded=0.1, lower=0.1), rng, 0.2),
        "date_inscription": signed,
        "optin": np.where(rng.random(len(who)) < 0.88, "true", "false"),
        "_person": who,
    }


def _cents(rng: _Rng, n: int, median: float) -> np.ndarray:
    """Basket amounts in cents, log-normal around the median (euros), at least 1.99."""
    return np.maximum(rng.lognormal(np.log(median * 100), 0.6, n).astype(np.int64), 199)


def _euros(cents: np.ndarray) -> np.ndarray:
    """Amounts as text in euros with two decimals and a dot."""
    return (cents // 100).astype(_S) + "." + np.strings.zfill((cents % 100).astype(_S), 2)


def _occurrences(rng: _Rng, records: _Table, mean: float) -> list[np.ndarray]:
    """Event times and record rows, in time order: Poisson counts scaled by appetite.

    Each event happens after its record existed and within the two-year window.
    """
    rows = np.repeat(np.arange(len(records["_since"])), rng.poisson(mean * records["_appetite"]))
    return _chronological(_between(rng, np.maximum(records["_since"][rows], _WINDOW)), rows)


def _events(p: _People, v: _Vocab, web: _Table, cards: _Table, contacts: _Table, rng: _Rng,
            ) -> list[_Table]:
    """Orders, receipts, carts, calls and campaign sends, in the order of the manifest.

    Profile ids number the profile rows, so a reference is rebuilt from the row it points to.
    """
    at, rows = _occurrences(rng, web, 1.4)
    cents = _cents(rng, len(rows), 55)
    orders = _numbered("num_commande", {
        "id_client": _ids("id_client", rows + 1), "date_commande": at, "montant": _euros(cents),
        "canal": np.full(len(rows), "web")})

    sat, srows = _occurrences(rng, cards, 2.6)
    store = np.where(rng.random(len(srows)) < 0.8, p["city"][cards["_person"][srows]],
                     v.city.draw(rng, len(srows)))  # mostly the home town's store
    receipts = _numbered("num_ticket", {
        "num_carte": _ids("num_carte", srows + 1), "date_achat": sat,
        "montant_ttc": _euros(_cents(rng, len(srows), 42)), "magasin": v.city.forms[0, store],
        "canal": np.full(len(srows), "store")})

    aat, arows = _occurrences(rng, web, 1.2)
    recent = rng.random(len(arows)) < 0.03  # fresh abandons for the cart-recovery use case
    aat[recent] = _between(rng, np.maximum(aat[recent], _REF - 2 * _DAY))
    filled = np.maximum(at - rng.integers(120, 5400, len(at)).astype("timedelta64[s]"), _WINDOW)
    cat, crows, ccents, abandoned = _chronological(
        np.r_[filled, aat], np.r_[rows, arows], np.r_[cents, _cents(rng, len(arows), 60)],
        np.repeat([False, True], [len(rows), len(arows)]))
    carts = _numbered("id_panier", {
        "id_client": _ids("id_client", crows + 1), "date_panier": cat, "montant": _euros(ccents),
        "statut": np.where(abandoned, "abandoned", "converted")})

    n_contacts = len(contacts["_person"])
    lrows = np.repeat(np.arange(n_contacts), 1 + rng.poisson(0.6, n_contacts))
    lat, lrows = _chronological(_lately(rng, 730, len(lrows)), lrows)
    motif = rng.choice(len(_MOTIFS), len(lrows), p=[.3, .2, .12, .12, .12, .08, .06])
    handling = np.array(list(_MOTIFS.values()))[motif] * rng.lognormal(0, 0.45, len(lrows))
    calls = _numbered("id_appel", {
        "ref_contact": _ids("ref_contact", lrows + 1), "date_appel": lat,
        "motif": np.array(list(_MOTIFS), dtype=_S)[motif],
        "duree_traitement_s": handling.astype(np.int64), "canal": np.full(len(lrows), "phone")})
    return [orders, receipts, carts, calls, _sends(web, rng)]


def _sends(web: _Table, rng: _Rng) -> _Table:
    """Campaign sends with a random ~10% control group; treatment converts more, so lift is real."""
    days = np.array([c[1] for c in _CAMPAIGNS], dtype="datetime64[s]")
    since = web["_since"]
    targets = [np.flatnonzero((since < day) & (rng.random(len(since)) < 0.3)) for day in days]
    campaign = np.repeat(np.arange(len(_CAMPAIGNS)), [len(t) for t in targets])
    at = days[campaign] + rng.integers(8 * 3600, 20 * 3600, len(campaign)).astype("m8[s]")
    at, rows, campaign = _chronological(at, np.concatenate(targets), campaign)
    n = len(rows)
    control = rng.random(n) < 0.10
    propensity = np.where(control, 0.03, 0.075) * np.clip(web["_appetite"][rows], 0.3, 3.0)
    responded = rng.random(n) < propensity
    return _numbered("id_envoi", {
        "id_client": _ids("id_client", rows + 1),
        "campagne": np.array([c[0] for c in _CAMPAIGNS], dtype=_S)[campaign],
        "canal": np.array([c[2] for c in _CAMPAIGNS], dtype=_S)[campaign], "date_envoi": at,
        "groupe": np.where(control, "temoin", "traitement"),
        "a_repondu": responded.astype(np.int8),
        "ca_genere": np.where(responded, _euros(_cents(rng, n, 65)), "0.00")})


def _fields(spec: str) -> dict[str, str]:
    """A mapping from "canonical:column" words; a bare word is a column named like its field."""
    return dict((word.split(":") * 2)[:2] for word in spec.split())


def _manifest() -> tuple[list[DemoSource], list[DemoSource]]:
    """Profile and event sources, built afresh so callers cannot alter shared state."""
    event = "event_id:{} customer_ref:{} event_at:{} amount:{} channel:canal"
    profiles = [
        DemoSource(_WEB, "web_accounts.csv", "profiles", "E-commerce", "interactive", "real time",
                   "Customer accounts created on the web shop, typed in by the customers.",
                   _fields("record_id:id_client email first_name:prenom last_name:nom "
                           "phone:telephone birth_date:date_naissance street:adresse "
                           "postcode:code_postal city:ville consent_email:optin_email "
                           "created_at:date_creation updated_at:date_maj")),
        DemoSource(_LOYALTY, _LATIN1_FILE, "profiles", "Stores", "batch", "daily",
                   "Loyalty cards signed up for at the till, exported nightly by the stores.",
                   _fields("record_id:num_carte civility:CIVILITE last_name:NOM first_name:Prenom "
                           "phone:tel birth_date:date_naiss street:adresse postcode:cp city:ville "
                           "consent_sms:optin_sms created_at:date_adhesion")),
        DemoSource(_CALLS, "contacts_service_client.xlsx", "profiles", "Customer service",
                   "interactive", "daily",
                   "Callers recorded by customer service agents in a shared spreadsheet.",
                   _fields("record_id:ref_contact full_name:nom_complet phone:telephone email "
                           "birth_date:date_naissance city:ville"), sheet="Contacts"),
        DemoSource("Newsletter subscribers", "newsletter.csv", "profiles", "Marketing", "stream",
                   "real time", "Newsletter sign-ups from the web site and in-store tablets.",
                   _fields("record_id:email email first_name:prenom consent_email:optin "
                           "created_at:date_inscription")),
    ]
    events = [
        DemoSource("Web orders", "commandes_web.csv", "orders", "E-commerce", "stream",
                   "real time", "Orders placed on the web shop.",
                   _fields(event.format("num_commande", "id_client", "date_commande", "montant")),
                   profile_source=_WEB),
        DemoSource("Store receipts", "tickets_magasin.csv", "orders", "Stores", "batch", "daily",
                   "Till receipts of loyalty card holders, with the store they shopped in.",
                   _fields(event.format("num_ticket", "num_carte", "date_achat", "montant_ttc")),
                   profile_source=_LOYALTY),
        DemoSource("Web carts", "paniers_web.csv", "carts", "E-commerce", "stream", "real time",
                   "Web shop carts, either converted into an order or abandoned.",
                   _fields("event_id:id_panier customer_ref:id_client event_at:date_panier "
                           "amount:montant"), profile_source=_WEB),
        DemoSource("Call-centre calls", "appels_service_client.csv", "contacts",
                   "Customer service", "batch", "daily",
                   "Calls handled by customer service, with their reason and handling time.",
                   _fields("event_id:id_appel customer_ref:ref_contact event_at:date_appel "
                           "channel:canal"), profile_source=_CALLS),
        DemoSource("Campaign sends", "envois_campagnes.csv", "campaign_sends", "Marketing",
                   "batch", "weekly",
                   "Marketing e-mails and text messages sent, with a random control group.",
                   _fields(event.format("id_envoi", "id_client", "date_envoi", "ca_genere")),
                   profile_source=_WEB),
    ]
    return profiles, events


def _write(table: _Table, path: Path, sheet: str | None = None) -> None:
    """Write the public columns as the source system would: csv, latin-1 csv or xlsx."""
    public = {k: c for k, c in table.items() if not k.startswith("_")}
    if sheet:
        _write_xlsx(public, path, sheet)
        return
    sep = ";" if path.name == _LATIN1_FILE else ","
    buffer = io.BytesIO((sep.join(public) + "\n").encode())
    buffer.seek(0, io.SEEK_END)
    # quoting "none" fails loudly rather than corrupt the file if a value ever holds a separator
    pacsv.write_csv(pa.table(public), buffer,
                    pacsv.WriteOptions(include_header=False, delimiter=sep, quoting_style="none"))
    data = buffer.getvalue()
    if path.name == _LATIN1_FILE:
        data = data.decode("utf-8").encode("latin-1", errors="replace")
    path.write_bytes(data)


def _write_xlsx(columns: _Table, path: Path, sheet: str) -> None:
    """Write a notes sheet then the data; zip times and document dates are pinned for identity."""
    wb = Workbook(write_only=True)
    wb.properties.created = _STAMP
    notes = wb.create_sheet("Lisez-moi")
    for line in _README.splitlines():
        notes.append([line])
    data = wb.create_sheet(sheet)
    data.append(list(columns))
    for row in zip(*columns.values(), strict=True):
        data.append([str(value) or None for value in row])
    buffer = io.BytesIO()
    wb.save(buffer)
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*",
                                 rb"\g<1>" + _STAMP.isoformat().encode() + b"Z", content)
            dst.writestr(zipfile.ZipInfo(info.filename, _STAMP.timetuple()[:6]), content,
                         zipfile.ZIP_DEFLATED)


def generate_demo_files(out_dir: Path | str, n_people: int = 20_000, seed: int = 7, *,
                        with_events: bool = True) -> list[DemoSource]:
    """Write the demo company's files into out_dir and return their manifest, profiles first.

    Args:
        out_dir: Folder to write into (created if missing); existing demo files are overwritten.
        n_people: Number of real people behind the records; every file scales with it, except
            the call-centre spreadsheet, which stays under about 45,000 rows.
        seed: Same seed and n_people give byte-identical files.
        with_events: Also write the five event files (orders, receipts, carts, calls, sends).

    Returns:
        The sources written, the four profile sources first. GROUND_TRUTH_FILE, which maps every
        profile record to its true person, is written beside them but is not a source.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    vocab = _vocab(seed, rng)
    people, members = _people(n_people, rng, vocab)
    builders = (_web_accounts, _loyalty_cards, _call_contacts, _newsletter)
    tables = [build(people, vocab, np.flatnonzero(members[:, i]), rng)
              for i, build in enumerate(builders)]
    profile_sources, event_sources = _manifest()
    truth: list[_Table] = []
    for source, table in zip(profile_sources, tables, strict=True):
        _write(table, out / source.file, source.sheet)
        table["_appetite"] = people["appetite"][table["_person"]]
        truth.append({"source": np.full(len(table["_person"]), source.name, dtype=_S),
                      "record_id": table[source.mapping["record_id"]],
                      "person_id": "P" + np.strings.zfill(table["_person"].astype(_S), 7)})
    _write({k: np.concatenate([t[k] for t in truth]) for k in truth[0]}, out / GROUND_TRUTH_FILE)
    if not with_events:
        return profile_sources
    for source, table in zip(event_sources, _events(people, vocab, *tables[:3], rng), strict=True):
        _write(table, out / source.file)
    return profile_sources + event_sources
