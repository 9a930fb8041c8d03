"""The use-case library: what each use case needs, brings and costs, and which to do first.

A use case is one YAML file in ``use_cases/`` (file name = its id): goal, owning and sharing
departments, channels, the segments that activate it (rule trees of `cdp_core.segments`), the
data it needs, how far it exploits the data (1 raw fields, 2 one-source aggregates, 3
multi-source or predictive), how often it runs, its KPIs with targets, the benefit expected per
year (with its assumption) and its costs. `validate` checks a file with errors naming the file
and the key; the workspace keeps its own copy (``meta.use_cases``) that users edit in the app,
with a status and an activation date, and can save back to YAML.

Data readiness compares what a use case needs with what the workspace holds: every field, trait,
score and event kind is present, present but of poor quality, or missing. Prioritisation scores
value (ROI, how often it runs) against complexity (data exploitation level, channels to
orchestrate, data not ready) with weights the team chooses, and groups the ranking into waves:
quick wins first, strategic projects last.

Example:
    >>> roi(benefit=50_000, one_off=10_000, yearly=10_000)
    2.0
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import yaml

from cdp_core import exports, golden, i18n, mapping, segment_rules, segments, traits
from cdp_core.errors import InputError
from cdp_core.segments import CHANNELS as SEGMENT_CHANNELS
from cdp_core.segments import MODES as SEGMENT_MODES
from cdp_core.segments import Segment
from cdp_core.sqlutil import quote_ident
from cdp_core.workspace import Workspace

LIBRARY_DIR = Path(__file__).resolve().parents[1] / "use_cases"
FAMILIES = ("acquisition", "conversion", "web_to_store", "loyalty", "events", "cross_sell",
            "call_centre", "pressure", "knowledge", "data_quality", "media")
DEPARTMENTS = ("Marketing", "E-commerce", "Stores", "Customer service", "Data & IT")
_DEPARTMENT_KEYS = {"Marketing": "marketing", "E-commerce": "ecommerce", "Stores": "stores",
                    "Customer service": "customer_service", "Data & IT": "data_it"}
CHANNELS = ("email", "sms", "web", "store", "call_centre", "ads")
OCCURRENCES = ("real_time", "daily", "weekly", "monthly", "yearly", "one_off")
KPI_UNITS = ("share", "euros", "seconds", "count", "ratio")
DIRECTIONS = ("up", "down")
COMPUTED_KPIS = ("conversion_rate", "revenue_per_customer", "cart_recovery_rate",
                 "store_revenue_from_web_visitors", "handling_time", "opt_in_rate_email",
                 "opt_in_rate_sms", "duplicate_rate", "completeness")
STATUSES = ("idea", "planned", "active", "paused")
SCORES = ("purchase_propensity", "churn_risk", "behaviour_cluster", "behaviour_label")
LEVELS = (1, 2, 3)
_ID = re.compile(r"^[a-z][a-z0-9_]{1,62}$")

# --------------------------------------------------------------------------- the schema


@dataclass(frozen=True)
class Kpi:
    """How the use case is measured; ``computed`` names a KPI the workspace computes."""

    id: str
    label: str
    label_fr: str
    formula: str
    unit: str
    target: float
    direction: str
    computed: str | None = None

    def label_in(self, language: str) -> str:
        """The label in the reader's language."""
        return self.label_fr if language == "fr" else self.label


@dataclass(frozen=True)
class DataNeeds:
    """What the use case reads: canonical profile fields, traits, scores and event kinds."""

    fields: tuple[str, ...] = ()
    traits: tuple[str, ...] = ()
    scores: tuple[str, ...] = ()
    events: tuple[str, ...] = ()


@dataclass(frozen=True)
class UseCase:
    """One use case of the library, as its YAML file holds it."""

    id: str
    name: str
    name_fr: str
    family: str
    goal: str
    goal_fr: str
    owner: str
    departments: tuple[str, ...]
    channels: tuple[str, ...]
    segments: tuple[Segment, ...]
    data_needs: DataNeeds
    exploitation_level: int
    occurrence: str
    kpis: tuple[Kpi, ...]
    benefit_per_year: float
    benefit_assumption: str
    one_off_cost: float
    yearly_cost: float
    campaign: str | None = None

    def name_in(self, language: str) -> str:
        """The name in the reader's language."""
        return self.name_fr if language == "fr" else self.name

    def goal_in(self, language: str) -> str:
        """The goal in the reader's language."""
        return self.goal_fr if language == "fr" else self.goal

    @property
    def roi(self) -> float:
        """Expected yearly ROI: (benefit − yearly cost) / (one-off + yearly cost)."""
        return roi(self.benefit_per_year, self.one_off_cost, self.yearly_cost)


def department_label(department: str, language: str = i18n.DEFAULT_LANGUAGE) -> str:
    """A department's name in the reader's language."""
    key = _DEPARTMENT_KEYS.get(department)
    return i18n.t(f"usecase.dept.{key}", language) if key else department


def roi(benefit: float, one_off: float, yearly: float) -> float:
    """(benefit − yearly cost) / (one-off + yearly cost); a free use case counts as 10 (1,000%)."""
    spent = one_off + yearly
    return (benefit - yearly) / spent if spent > 0 else 10.0


class _Reader:
    """Reads one mapping of a use-case document, naming the file and key path in every error."""

    def __init__(self, data: object, where: str, path: str, keys: Sequence[str],
                 optional: Sequence[str] = ()) -> None:
        self.where, self.path = where, path
        if not isinstance(data, Mapping):
            self.fail("", "expected a mapping of keys to values")
        self.data: Mapping[str, Any] = data
        missing = [k for k in keys if k not in data and k not in optional]
        if missing:
            self.fail(missing[0], "this key is missing; add it")
        unknown = [k for k in data if k not in keys]
        if unknown:
            self.fail(str(unknown[0]), f"unknown key; the keys are {', '.join(keys)}")

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, message: str) -> None:
        raise InputError(f"{self.where}: {self.at(key) if key else self.path or 'document'}: "
                         f"{message}")

    def text(self, key: str, *, optional: bool = False) -> str | None:
        value = self.data.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(key, "expected some text")
        return value.strip()

    def choice(self, key: str, options: Sequence[Any], *, optional: bool = False) -> Any:
        value = self.data.get(key)
        if value is None and optional:
            return None
        if value not in options:
            self.fail(key, f"{value!r} is not allowed; use one of "
                           f"{', '.join(str(o) for o in options)}")
        return value

    def choices(self, key: str, options: Sequence[str], *, allow_empty: bool = True,
                ) -> tuple[str, ...]:
        values = self.data.get(key, [])
        if not isinstance(values, list) or (not values and not allow_empty):
            self.fail(key, f"expected a list of {', '.join(options)}")
        for index, value in enumerate(values):
            if value not in options:
                self.fail(f"{key}[{index}]", f"{value!r} is not allowed; use one of "
                                             f"{', '.join(options)}")
        if len(set(values)) != len(values):
            self.fail(key, "a value is listed twice; keep one")
        return tuple(values)

    def names(self, key: str) -> tuple[str, ...]:
        values = self.data.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) and _ID.match(v)
                                                   for v in values):
            self.fail(key, "expected a list of names in lower case (letters, digits, _)")
        return tuple(values)

    def number(self, key: str, *, minimum: float = 0.0) -> float:
        value = self.data.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            self.fail(key, f"expected a number of at least {minimum:g}, got {value!r}")
        return value

    def items(self, key: str) -> list[tuple[str, object]]:
        values = self.data.get(key)
        if not isinstance(values, list):
            self.fail(key, "expected a list")
        return [(f"{self.at(key)}[{index}]", value) for index, value in enumerate(values)]


_USE_CASE_KEYS = ("id", "name", "name_fr", "family", "goal", "goal_fr", "owner", "departments",
                  "channels", "segments", "data_needs", "exploitation_level", "occurrence",
                  "kpis", "benefit", "costs", "campaign")
_SEGMENT_KEYS = ("name", "description", "channel", "mode", "rule")
_KPI_KEYS = ("id", "label", "label_fr", "formula", "unit", "target", "direction", "computed")
_NEEDS_KEYS = ("fields", "traits", "scores", "events")


def _segment(data: object, where: str, path: str) -> Segment:
    read = _Reader(data, where, path, _SEGMENT_KEYS)
    rule = read.data["rule"]
    if not isinstance(rule, Mapping) or not rule:
        read.fail("rule", "expected a rule tree such as {all: [{field: ..., op: ..., value: "
                          "...}]}")
    try:  # its shape here; its fields when it meets a workspace (segments.save)
        segment_rules.check(rule, None)
    except InputError as exc:
        read.fail("rule", str(exc))
    return Segment(name=read.text("name"), description=read.text("description"),
                   channel=read.choice("channel", SEGMENT_CHANNELS),
                   mode=read.choice("mode", SEGMENT_MODES), rule=dict(rule))


def _kpi(data: object, where: str, path: str) -> Kpi:
    read = _Reader(data, where, path, _KPI_KEYS, optional=("computed",))
    kpi_id = read.text("id")
    if not _ID.match(kpi_id):
        read.fail("id", "use lower case letters, digits and _ (e.g. cart_recovery_rate)")
    unit = read.choice("unit", KPI_UNITS)
    target = read.number("target", minimum=0)
    if unit == "share" and target > 1:
        read.fail("target", "a share is written between 0 and 1 (0.12 for 12%)")
    return Kpi(kpi_id, read.text("label"), read.text("label_fr"), read.text("formula"), unit,
               target, read.choice("direction", DIRECTIONS),
               read.choice("computed", COMPUTED_KPIS, optional=True))


def from_dict(data: object, where: str) -> UseCase:
    """A use case from its parsed YAML (or JSON) form; ``where`` names it in errors.

    Raises:
        InputError: naming ``where``, the key path and what to write instead.
    """
    read = _Reader(data, where, "", _USE_CASE_KEYS, optional=("campaign",))
    # Checked in the file's order, so the first error reported is the first in the file.
    use_case_id = read.text("id")
    if not _ID.match(use_case_id):
        read.fail("id", "use lower case letters, digits and _ (e.g. abandoned_cart_relaunch)")
    texts = {key: read.text(key) for key in ("name", "name_fr")}
    family = read.choice("family", FAMILIES)
    texts |= {key: read.text(key) for key in ("goal", "goal_fr")}
    owner = read.choice("owner", DEPARTMENTS)
    departments = read.choices("departments", DEPARTMENTS, allow_empty=False)
    if owner not in departments:
        read.fail("departments", f"list the owner {owner!r} among the departments")
    channels = read.choices("channels", CHANNELS, allow_empty=False)
    segments = tuple(_segment(item, where, path) for path, item in read.items("segments"))
    needs = _Reader(read.data["data_needs"], where, "data_needs", _NEEDS_KEYS,
                    optional=_NEEDS_KEYS)
    data_needs = DataNeeds(
        fields=needs.choices("fields", mapping.PROFILE_FIELDS), traits=needs.names("traits"),
        scores=needs.choices("scores", SCORES), events=needs.choices("events", mapping.EVENT_KINDS))
    level = read.choice("exploitation_level", LEVELS)
    occurrence = read.choice("occurrence", OCCURRENCES)
    kpis = tuple(_kpi(item, where, path) for path, item in read.items("kpis"))
    if not kpis:
        read.fail("kpis", "give at least one KPI that measures the use case")
    for label, values in (("segments", [s.name for s in segments]),
                          ("kpis", [k.id for k in kpis])):
        if len(set(values)) != len(values):
            read.fail(label, "two entries share a name; make each unique")
    benefit = _Reader(read.data["benefit"], where, "benefit", ("per_year", "assumption"))
    costs = _Reader(read.data["costs"], where, "costs", ("one_off", "yearly"))
    return UseCase(
        id=use_case_id, family=family, owner=owner, departments=departments, channels=channels,
        segments=segments, data_needs=data_needs, exploitation_level=level,
        occurrence=occurrence, kpis=kpis, benefit_per_year=benefit.number("per_year"),
        benefit_assumption=benefit.text("assumption"), one_off_cost=costs.number("one_off"),
        yearly_cost=costs.number("yearly"), campaign=read.text("campaign", optional=True),
        **texts)


def validate(use_case: UseCase) -> UseCase:
    """The use case itself when it is valid; an InputError naming it and the key otherwise."""
    return from_dict(to_dict(use_case), f"use case {use_case.id!r}")


def _plain_number(value: float) -> float | int:
    """Whole numbers as integers, so 52000.0 is written 52000 and the file reads back equal."""
    return int(value) if float(value).is_integer() else value


def to_dict(use_case: UseCase) -> dict[str, Any]:
    """The use case as its YAML document: keys in the schema's order, no empty optionals."""
    needs = {key: list(getattr(use_case.data_needs, key)) for key in _NEEDS_KEYS}
    kpis = [{key: (_plain_number(value) if key == "target" else value)
             for key in _KPI_KEYS if (value := getattr(kpi, key)) is not None}
            for kpi in use_case.kpis]
    document = {
        "id": use_case.id, "name": use_case.name, "name_fr": use_case.name_fr,
        "family": use_case.family, "goal": use_case.goal, "goal_fr": use_case.goal_fr,
        "owner": use_case.owner, "departments": list(use_case.departments),
        "channels": list(use_case.channels),
        "segments": [{key: getattr(s, key) for key in _SEGMENT_KEYS} for s in use_case.segments],
        "data_needs": needs, "exploitation_level": use_case.exploitation_level,
        "occurrence": use_case.occurrence, "kpis": kpis,
        "benefit": {"per_year": _plain_number(use_case.benefit_per_year),
                    "assumption": use_case.benefit_assumption},
        "costs": {"one_off": _plain_number(use_case.one_off_cost),
                  "yearly": _plain_number(use_case.yearly_cost)},
    }
    if use_case.campaign:
        document["campaign"] = use_case.campaign
    return document


# --------------------------------------------------------------------------- YAML files


class _Flow(dict):
    """A rule condition, written on one line: ``{field: rfm_cell, op: in, value: [...]}``."""


class _Dumper(yaml.SafeDumper):
    """YAML as people write it: lists of plain values and rule conditions on one line."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    flat = all(not isinstance(item, dict | list) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


_Dumper.add_representer(_Flow, lambda dumper, data: dumper.represent_mapping(
    "tag:yaml.org,2002:map", data, flow_style=True))
_Dumper.add_representer(list, _represent_list)
_GROUPS = ("all", "any", "not")


def _flow_rule(node: Any) -> Any:
    """Groups in block style, each condition (field, event or membership) on one line."""
    if isinstance(node, Mapping) and any(key in node for key in _GROUPS):
        return {key: ([_flow_rule(n) for n in value] if isinstance(value, list)
                      else _flow_rule(value)) for key, value in node.items()}
    return _Flow(node) if isinstance(node, Mapping) else node


def to_yaml(use_case: UseCase) -> str:
    """The use case's YAML file text; `parse_yaml` of it gives the same use case back."""
    document = to_dict(use_case)
    for segment in document["segments"]:
        segment["rule"] = _flow_rule(segment["rule"])
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def parse_yaml(text: str, where: str) -> UseCase:
    """A use case from YAML text; ``where`` (a file name) is named in every error."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{where}: not valid YAML ({exc}); check the indentation") from None
    return from_dict(data, where)


def load_file(path: Path) -> UseCase:
    """One use-case file; its id must be its file name."""
    use_case = parse_yaml(path.read_text(encoding="utf-8"), path.name)
    if use_case.id != path.stem:
        raise InputError(f"{path.name}: id: {use_case.id!r} differs from the file name; "
                         f"name the file {use_case.id}.yaml or change the id")
    return use_case


def load_library(directory: Path = LIBRARY_DIR) -> list[UseCase]:
    """Every use case of ``directory`` (sorted by id); any broken file stops with its name.

    Segment names must be unique across the library, since segments are activated by name.
    """
    library = [load_file(path) for path in sorted(Path(directory).glob("*.yaml"))]
    seen: dict[str, str] = {}
    for use_case in library:
        for segment in use_case.segments:
            if segment.name in seen:
                raise InputError(f"{use_case.id}.yaml: segments: {segment.name!r} is also a "
                                 f"segment of {seen[segment.name]}.yaml; rename one of them")
            seen[segment.name] = use_case.id
    return library


def save_to_file(use_case: UseCase, directory: Path = LIBRARY_DIR) -> Path:
    """Write the use case to ``directory/<id>.yaml`` (atomically) after validating it."""
    return exports.write_text(to_yaml(validate(use_case)), Path(directory) / f"{use_case.id}.yaml")


# --------------------------------------------------------------------------- the workspace copy


@dataclass(frozen=True)
class TrackedUseCase:
    """A use case as the workspace holds it, with where the project stands on it."""

    use_case: UseCase
    status: str
    activated_at: date | None
    updated_by: str | None
    updated_at: Any


def install_library(ws: Workspace, directory: Path = LIBRARY_DIR) -> int:
    """Copy the library's use cases that the workspace lacks; edited copies are kept.

    Returns:
        How many use cases were added.
    """
    library = load_library(directory)
    held = {row[0] for row in ws.cursor().execute("SELECT use_case_id FROM meta.use_cases")
            .fetchall()}
    new = [u for u in library if u.id not in held]
    if not new:  # the usual case on every page visit: no write at all
        return 0
    with ws.transaction() as cur:
        cur.executemany("INSERT INTO meta.use_cases (use_case_id, definition, updated_by) "
                        "VALUES (?, ?, 'library') ON CONFLICT DO NOTHING",
                        [[u.id, _json(u)] for u in new])
        ws.audit(cur, "use cases installed", f"use_cases={len(new)}")
    return len(new)


def install_segments(ws: Workspace, library: Sequence[UseCase]) -> int:
    """Save every segment of these use cases in the workspace, tagged with its use case, so
    they are ready to export; a segment whose fields this workspace lacks is an InputError."""
    return segments.install(ws, [replace(s, use_case=u.id) for u in library
                                 for s in u.segments])


def _json(use_case: UseCase) -> str:
    return json.dumps(to_dict(use_case), ensure_ascii=False)


def save_use_case(ws: Workspace, use_case: UseCase, by: str | None) -> None:
    """Add or replace a use case's definition in the workspace (its status is kept)."""
    validate(use_case)
    with ws.transaction() as cur:
        cur.execute("INSERT INTO meta.use_cases (use_case_id, definition, updated_by) "
                    "VALUES (?, ?, ?) ON CONFLICT (use_case_id) DO UPDATE SET "
                    "definition = excluded.definition, updated_by = excluded.updated_by, "
                    "updated_at = now()", [use_case.id, _json(use_case), by])
        ws.audit(cur, "use case saved", f"use_case={use_case.id}")


def set_status(ws: Workspace, use_case_id: str, status: str, activated_at: date | None,
               by: str | None) -> None:
    """Record where the project stands: idea, planned, active (from a date) or paused."""
    if status not in STATUSES:
        raise InputError(f"status {status!r}: use one of {', '.join(STATUSES)}")
    if status == "active" and activated_at is None:
        raise InputError("an active use case needs its activation date (KPIs are compared "
                         "before and after it)")
    with ws.transaction() as cur:
        updated = cur.execute("UPDATE meta.use_cases SET status = ?, activated_at = ?, "
                              "updated_by = ?, updated_at = now() "
                              "WHERE use_case_id = ? RETURNING use_case_id",
                              [status, activated_at, by, use_case_id]).fetchall()
        if not updated:
            raise InputError(f"no use case {use_case_id!r} in this workspace")
        ws.audit(cur, "use case status", f"use_case={use_case_id} status={status}")


def workspace_use_cases(cur: duckdb.DuckDBPyConnection) -> list[TrackedUseCase]:
    """Every use case of the workspace, by id."""
    rows = cur.execute("SELECT use_case_id, definition, status, activated_at, updated_by, "
                       "updated_at FROM meta.use_cases ORDER BY use_case_id").fetchall()
    return [TrackedUseCase(from_dict(json.loads(definition), f"use case {use_case_id!r}"),
                           status, activated_at, updated_by, updated_at)
            for use_case_id, definition, status, activated_at, updated_by, updated_at in rows]


# --------------------------------------------------------------------------- data readiness

POOR_COMPLETENESS = 0.6
POOR_VALIDITY = 0.9
_ITEM_SCORE = {"present": 1.0, "poor": 0.5, "missing": 0.0}


@dataclass(frozen=True)
class ReadinessItem:
    """One need and what the workspace holds for it; the reason is a translatable key."""

    kind: str  # field, trait, score, event
    name: str
    status: str  # present, poor, missing
    reason_key: str
    values: dict[str, Any] = field(default_factory=dict)

    def reason(self, language: str = i18n.DEFAULT_LANGUAGE) -> str:
        """Why the item has its status, in the reader's language."""
        shown = {k: i18n.fmt_pct(v, language, 0) if isinstance(v, float | None)
                 else i18n.t(f"kind.{v}", language) if k == "event" else v
                 for k, v in self.values.items()}
        return i18n.t(self.reason_key, language, **shown)


@dataclass(frozen=True)
class Readiness:
    """How ready the data is for a use case: a 0–1 score and the items behind it."""

    score: float
    items: tuple[ReadinessItem, ...]

    def count(self, status: str) -> int:
        """How many items have this status."""
        return sum(item.status == status for item in self.items)

    def frame(self, language: str = i18n.DEFAULT_LANGUAGE) -> pd.DataFrame:
        """One row per item: kind, name, status and the reason in words."""
        return pd.DataFrame({"kind": [i.kind for i in self.items],
                             "item": [i.name for i in self.items],
                             "status": [i.status for i in self.items],
                             "reason": [i.reason(language) for i in self.items]},
                            columns=["kind", "item", "status", "reason"])


@dataclass(frozen=True)
class DataInventory:
    """What a workspace holds, read once and compared with every use case's needs."""

    fields: dict[str, tuple[tuple[str, ...], float | None, float | None]]
    traits: dict[str, float | None]  # trait -> share of people with a value (None: not computed)
    scores: dict[str, float | None]
    events: dict[str, tuple[str, ...]]  # kind -> names of the sources linked to profiles
    unlinked_events: dict[str, tuple[str, ...]]
    trait_events: dict[str, str]  # known trait -> the event kind it is computed from

    def readiness(self, use_case: UseCase) -> Readiness:
        """Each need of ``use_case`` as present, poor or missing, and the score they make."""
        needs = use_case.data_needs
        items = ([self._field(name) for name in needs.fields]
                 + [self._computed("trait", name, self.traits, self.trait_events.get(name))
                    for name in needs.traits]
                 + [self._computed("score", name, self.scores, "orders")
                    for name in needs.scores]
                 + [self._event(kind) for kind in needs.events])
        score = (sum(_ITEM_SCORE[i.status] for i in items) / len(items)) if items else 1.0
        return Readiness(score, tuple(items))

    def _field(self, name: str) -> ReadinessItem:
        if name not in self.fields:
            return ReadinessItem("field", name, "missing", "usecase.reason.field_missing")
        sources, completeness, validity = self.fields[name]
        values = {"sources": ", ".join(sources), "completeness": completeness,
                  "validity": validity}
        if completeness is not None and completeness < POOR_COMPLETENESS:
            return ReadinessItem("field", name, "poor", "usecase.reason.field_sparse", values)
        if validity is not None and validity < POOR_VALIDITY:
            return ReadinessItem("field", name, "poor", "usecase.reason.field_invalid", values)
        return ReadinessItem("field", name, "present", "usecase.reason.field_present", values)

    def _computed(self, kind: str, name: str, held: dict[str, float | None],
                  event: str | None) -> ReadinessItem:
        if name in held and held[name] is not None:
            if held[name] == 0:
                return ReadinessItem(kind, name, "poor", f"usecase.reason.{kind}_empty")
            return ReadinessItem(kind, name, "present", f"usecase.reason.{kind}_present",
                                 {"share": held[name]})
        if event is None or name not in held:
            return ReadinessItem(kind, name, "missing", f"usecase.reason.{kind}_unknown")
        if event not in self.events:
            return ReadinessItem(kind, name, "missing", f"usecase.reason.{kind}_no_events",
                                 {"event": event})
        # A trait refresh is one click; a model must first be trained and checked: half ready.
        status = "present" if kind == "trait" else "poor"
        return ReadinessItem(kind, name, status, f"usecase.reason.{kind}_computable")

    def _event(self, kind: str) -> ReadinessItem:
        if kind in self.events:
            return ReadinessItem("event", kind, "present", "usecase.reason.event_present",
                                 {"sources": ", ".join(self.events[kind])})
        if kind in self.unlinked_events:
            return ReadinessItem("event", kind, "poor", "usecase.reason.event_unlinked",
                                 {"sources": ", ".join(self.unlinked_events[kind])})
        return ReadinessItem("event", kind, "missing", "usecase.reason.event_missing")


def _table_exists(cur: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(cur.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = "
                            "current_database() AND schema_name = 'golden' AND table_name = ?",
                            [table]).fetchone()[0])


def _filled_shares(cur: duckdb.DuckDBPyConnection, table: str,
                   columns: Iterable[str]) -> dict[str, float]:
    """Share of rows with a value, per column of a golden table (one scan)."""
    columns = list(columns)
    if not columns:
        return {}
    shares = ", ".join(f"avg(CASE WHEN {quote_ident(c)} IS NULL THEN 0 ELSE 1 END)"
                       for c in columns)
    row = cur.execute(f"SELECT {shares} FROM golden.{quote_ident(table)}").fetchone()  # noqa: S608
    return {c: (0.0 if v is None else float(v)) for c, v in zip(columns, row, strict=True)}


def _golden_columns(cur: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [row[0] for row in cur.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'golden' AND table_name = ? AND column_name <> 'person_id'",
        [table]).fetchall()]


def _field_inventory(cur: duckdb.DuckDBPyConnection,
                     ) -> dict[str, tuple[tuple[str, ...], float | None, float | None]]:
    """Per mapped field: the profile sources mapping it, its completeness and validity.

    Completeness is the share of unified profiles holding the field when profiles are built
    (what activation reaches), else the row-weighted completeness of the mapped columns;
    validity is the row-weighted share of values standardisation accepted.
    """
    rows = cur.execute(
        "SELECT m.field, list(DISTINCT s.name ORDER BY s.name), "
        "sum(q.completeness * v.row_count) / nullif(sum(v.row_count) FILTER "
        "  (WHERE q.completeness IS NOT NULL), 0), "
        "sum(q.validity * v.row_count) / nullif(sum(v.row_count) FILTER "
        "  (WHERE q.validity IS NOT NULL), 0) "
        "FROM meta.mappings m JOIN meta.sources s USING (source_id) "
        "JOIN meta.source_versions v ON v.source_id = s.source_id AND v.version = "
        "  (SELECT max(version) FROM meta.source_versions w WHERE w.source_id = s.source_id) "
        "LEFT JOIN meta.column_quality q ON q.source_id = v.source_id "
        "  AND q.version = v.version AND q.column_name = m.column_name "
        "WHERE s.kind = 'profiles' GROUP BY m.field").fetchall()
    found = {name: (tuple(sources), completeness, validity)
             for name, sources, completeness, validity in rows}
    if "full_name" in found:  # standardisation splits full names into first and last names
        for name in ("first_name", "last_name"):
            sources = tuple(sorted({*found.get(name, ((),))[0], *found["full_name"][0]}))
            found[name] = (sources, *found.get(name, (None, None, None))[1:])
    if golden.has_profiles(cur):
        held = set(_golden_columns(cur, "profiles"))
        shares = _filled_shares(cur, "profiles", [f for f in found if f in held])
        found = {name: (sources, shares.get(name, completeness), validity)
                 for name, (sources, completeness, validity) in found.items()}
    return found


def inventory(cur: duckdb.DuckDBPyConnection) -> DataInventory:
    """Read what the workspace holds: mapped fields and their quality, traits, scores, events."""
    sources = cur.execute(
        "SELECT kind, list(name ORDER BY name) FILTER (WHERE profile_source IS NOT NULL), "
        "list(name ORDER BY name) FILTER (WHERE profile_source IS NULL) FROM meta.sources s "
        "WHERE kind <> 'profiles' AND EXISTS (SELECT 1 FROM meta.source_versions v "
        "WHERE v.source_id = s.source_id) GROUP BY kind").fetchall()
    events = {kind: tuple(linked) for kind, linked, _ in sources if linked}
    unlinked = {kind: tuple(alone) for kind, linked, alone in sources if alone and not linked}
    trait_events = {t.name: t.event_kind for t in (*traits.BUILT_IN, *traits.declared(cur))}
    trait_events |= {name: ("carts" if name == "abandoned_carts_48h" else "orders")
                     for name in traits.SPECIAL}
    known_traits: dict[str, float | None] = dict.fromkeys(trait_events)
    if traits.has_traits(cur):
        known_traits |= _filled_shares(cur, "traits", _golden_columns(cur, "traits"))
    scores: dict[str, float | None] = dict.fromkeys(SCORES)
    if _table_exists(cur, "scores"):
        scores |= _filled_shares(cur, "scores", _golden_columns(cur, "scores"))
    return DataInventory(_field_inventory(cur), known_traits, scores, events, unlinked,
                         trait_events)


def library_overview(cur: duckdb.DuckDBPyConnection,
                     tracked: Sequence[TrackedUseCase]) -> pd.DataFrame:
    """One row per workspace use case: what it is, where it stands, its data readiness and
    its money (benefit, costs, ROI), for the library table and the workshop pack."""
    held = inventory(cur)
    rows = []
    for entry in tracked:
        use_case, ready = entry.use_case, held.readiness(entry.use_case)
        rows.append({
            "use_case_id": use_case.id, "name": use_case.name, "name_fr": use_case.name_fr,
            "family": use_case.family, "owner": use_case.owner, "status": entry.status,
            "activated_at": entry.activated_at, "readiness": ready.score,
            "present": ready.count("present"), "poor": ready.count("poor"),
            "missing": ready.count("missing"), "benefit": float(use_case.benefit_per_year),
            "one_off_cost": float(use_case.one_off_cost),
            "yearly_cost": float(use_case.yearly_cost), "roi": use_case.roi,
            "exploitation_level": use_case.exploitation_level,
            "occurrence": use_case.occurrence, "channels": ", ".join(use_case.channels),
            "campaign": use_case.campaign})
    return pd.DataFrame(rows)


def readiness(cur: duckdb.DuckDBPyConnection, use_case: UseCase,
              held: DataInventory | None = None) -> Readiness:
    """What ``use_case`` needs against what the workspace holds (pass ``held`` to reuse it)."""
    return (held or inventory(cur)).readiness(use_case)


# --------------------------------------------------------------------------- prioritisation

CRITERIA = ("roi", "occurrence", "exploitation", "channels", "readiness")
VALUE_CRITERIA = ("roi", "occurrence")
DEFAULT_WEIGHTS = {"roi": 3.0, "occurrence": 1.0, "exploitation": 2.0, "channels": 1.0,
                   "readiness": 2.0}
WEIGHTS_KEY = "roadmap.weights"
# How much a run's frequency adds to value: a real-time trigger pays back all year round.
OCCURRENCE_VALUE = {"real_time": 1.0, "daily": 0.85, "weekly": 0.7, "monthly": 0.5,
                    "yearly": 0.25, "one_off": 0.1}
MAX_CHANNELS = 5
# Wave cuts on the 0–1 axes: with the default weights, level-3 (multi-source or predictive)
# use cases land at a complexity of 0.4 or more, level-2 ones on a ready workspace near 0.25.
QUICK_WIN_VALUE = 0.7
QUICK_WIN_COMPLEXITY = 0.3
QUICK_WIN_READINESS = 0.8
STRATEGIC_COMPLEXITY = 0.4
# Each wave's window in months from the roadmap's start, and how long a use case takes to
# build at least and at most (by its complexity).
WAVE_WINDOWS = {1: (0, 3), 2: (3, 9), 3: (9, 18)}
BUILD_MONTHS = (1, 4)


def load_weights(cur: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """The team's prioritisation weights (the defaults for criteria never set)."""
    row = cur.execute("SELECT value FROM meta.settings WHERE key = ?", [WEIGHTS_KEY]).fetchone()
    saved = json.loads(row[0]) if row else {}
    return {c: float(saved.get(c, DEFAULT_WEIGHTS[c])) for c in CRITERIA}


def _checked_weights(weights: Mapping[str, float]) -> dict[str, float]:
    unknown = sorted(set(weights) - set(CRITERIA))
    if unknown:
        raise InputError(f"unknown criterion {unknown[0]!r}; the criteria are "
                         f"{', '.join(CRITERIA)}")
    checked = {c: float(weights.get(c, 0.0)) for c in CRITERIA}
    if any(w < 0 for w in checked.values()) or not any(checked.values()):
        raise InputError("weights are 0 or more and at least one must be above 0")
    return checked


def save_weights(ws: Workspace, weights: Mapping[str, float]) -> None:
    """Keep the team's weights in the workspace (meta.settings, key 'roadmap.weights')."""
    checked = _checked_weights(weights)
    with ws.transaction() as cur:
        cur.execute("INSERT INTO meta.settings (key, value) VALUES (?, ?) ON CONFLICT (key) "
                    "DO UPDATE SET value = excluded.value, updated_at = now()",
                    [WEIGHTS_KEY, json.dumps(checked)])
        ws.audit(cur, "roadmap weights saved")


def criteria(use_case: UseCase, ready: float, benefit: float | None = None) -> dict[str, float]:
    """The five criteria normalised to 0–1, each the higher the better.

    ROI maps to ROI / (1 + ROI) (0 when it loses money, 0.5 at 100%, 0.9 at 900%); the
    exploitation level (1 easy to 3 hard) and the channels to orchestrate (1 to 5 or more) are
    turned round so that simple scores high.
    """
    gain = use_case.roi if benefit is None else roi(benefit, use_case.one_off_cost,
                                                    use_case.yearly_cost)
    return {
        "roi": max(gain, 0.0) / (1.0 + max(gain, 0.0)),
        "occurrence": OCCURRENCE_VALUE[use_case.occurrence],
        "exploitation": 1.0 - (use_case.exploitation_level - 1) / 2,
        "channels": 1.0 - min(len(use_case.channels) - 1, MAX_CHANNELS - 1) / (MAX_CHANNELS - 1),
        "readiness": ready,
    }


def _axis(scores: Mapping[str, float], weights: Mapping[str, float],
          names: Iterable[str]) -> float:
    names = list(names)
    total = sum(weights[n] for n in names)
    if not total:
        return sum(scores[n] for n in names) / len(names)
    return sum(weights[n] * scores[n] for n in names) / total


def measured_benefits(cur: duckdb.DuckDBPyConnection,
                      use_cases: Sequence[UseCase]) -> dict[str, float]:
    """Yearly benefits measured on a control group, for use cases linked to a campaign whose
    lift is conclusive; the others keep their estimate (absent from the result)."""
    from cdp_core import kpi  # the KPI maths is only needed when a team asks for measures

    benefits = kpi.campaign_benefits(cur, {u.id: u.campaign for u in use_cases})
    return {key: float(b.per_year) for key, b in benefits.items() if b.conclusive}


def prioritise(cur: duckdb.DuckDBPyConnection, use_cases: Sequence[UseCase],
               weights: Mapping[str, float] | None = None,
               benefits: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Use cases ranked by score, with their value, complexity and readiness (all 0–1).

    value = weighted mean of the ROI and occurrence criteria; complexity = weighted mean of
    (1 − criterion) over exploitation level, channels and readiness; score = weighted mean of
    all five criteria, so a weight of 0 leaves a criterion out. ``benefits`` (use case id →
    euros a year, e.g. measured lift) replace the estimates where given.
    """
    chosen = _checked_weights(weights if weights is not None else DEFAULT_WEIGHTS)
    measured = dict(benefits or {})
    held = inventory(cur)
    rows = []
    for use_case in use_cases:
        ready = held.readiness(use_case).score
        benefit = measured.get(use_case.id, use_case.benefit_per_year)
        scores = criteria(use_case, ready, benefit)
        complexity_names = [c for c in CRITERIA if c not in VALUE_CRITERIA]
        rows.append({
            "use_case_id": use_case.id, "name": use_case.name, "name_fr": use_case.name_fr,
            "family": use_case.family, "owner": use_case.owner,
            "value": _axis(scores, chosen, VALUE_CRITERIA),
            "complexity": 1.0 - _axis(scores, chosen, complexity_names),
            "score": _axis(scores, chosen, CRITERIA), "readiness": ready,
            "benefit": float(benefit),
            "benefit_origin": "measured" if use_case.id in measured else "estimate",
            "one_off_cost": float(use_case.one_off_cost),
            "yearly_cost": float(use_case.yearly_cost),
            "roi": roi(benefit, use_case.one_off_cost, use_case.yearly_cost),
            "exploitation_level": use_case.exploitation_level,
            "channels": len(use_case.channels), "occurrence": use_case.occurrence,
        })
    ranked = pd.DataFrame(rows, columns=_RANKED_COLUMNS[1:])
    ranked = ranked.sort_values(["score", "benefit"], ascending=False, ignore_index=True)
    ranked.insert(0, "rank", range(1, len(ranked) + 1))
    return ranked


_RANKED_COLUMNS = ("rank", "use_case_id", "name", "name_fr", "family", "owner", "value",
                   "complexity", "score", "readiness", "benefit", "benefit_origin",
                   "one_off_cost", "yearly_cost", "roi", "exploitation_level", "channels",
                   "occurrence")


def wave_of(value: float, complexity: float, ready: float) -> int:
    """1 quick win (valuable, simple, data ready), 3 strategic (complex), 2 the rest.

    Example:
        >>> wave_of(0.8, 0.2, 0.9), wave_of(0.3, 0.2, 0.9), wave_of(0.9, 0.5, 1.0)
        (1, 2, 3)
    """
    if complexity >= STRATEGIC_COMPLEXITY:
        return 3
    if (value >= QUICK_WIN_VALUE and complexity < QUICK_WIN_COMPLEXITY
            and ready >= QUICK_WIN_READINESS):
        return 1
    return 2


def waves(ranked: pd.DataFrame, start: date | None = None) -> pd.DataFrame:
    """The ranking as a roadmap: each use case's wave and its build window (start, end).

    Within a wave, use cases start in rank order, spread over the wave's window, and take one
    to four months to build by their complexity. ``start`` defaults to the next month's first day.
    """
    today = date.today()
    begin = start or (date(today.year + today.month // 12, today.month % 12 + 1, 1))
    roadmap = ranked.copy()
    roadmap["wave"] = [wave_of(v, c, r) for v, c, r in
                       zip(roadmap["value"], roadmap["complexity"], roadmap["readiness"],
                           strict=True)]
    roadmap = roadmap.sort_values(["wave", "rank"], ignore_index=True)
    low, high = BUILD_MONTHS
    starts, ends = [], []
    for wave, group in roadmap.groupby("wave", sort=True):
        first, last = WAVE_WINDOWS[int(wave)]
        step = (last - first) / len(group)
        for index, complexity in enumerate(group["complexity"]):
            offset = first + int(index * step // 1)
            starts.append(offset)
            ends.append(offset + low + round((high - low) * float(complexity)))
    anchor = pd.Timestamp(begin)
    roadmap["start"] = [anchor + pd.DateOffset(months=m) for m in starts]
    roadmap["end"] = [anchor + pd.DateOffset(months=m) for m in ends]
    return roadmap


def roadmap_table(roadmap: pd.DataFrame, language: str = i18n.DEFAULT_LANGUAGE) -> pd.DataFrame:
    """The roadmap for people (a spreadsheet or the workshop pack): headers and names in words."""
    frame = pd.DataFrame({
        "wave": roadmap["wave"],
        "rank": roadmap["rank"],
        "use_case": roadmap["name_fr" if language == "fr" else "name"],
        "family": roadmap["family"].map(lambda f: i18n.t(f"usecase.family.{f}", language)),
        "owner": roadmap["owner"].map(lambda d: department_label(d, language)),
        "start": roadmap["start"].dt.date, "end": roadmap["end"].dt.date,
        "benefit": roadmap["benefit"].round(0), "one_off_cost": roadmap["one_off_cost"],
        "yearly_cost": roadmap["yearly_cost"], "roi": roadmap["roi"].round(2),
        "readiness": roadmap["readiness"].round(2), "value": roadmap["value"].round(2),
        "complexity": roadmap["complexity"].round(2), "score": roadmap["score"].round(2),
    })
    frame.columns = [i18n.t(f"roadmap.col.{c}", language) for c in frame.columns]
    return frame


def write_roadmap(roadmap: pd.DataFrame, path: str | Path,
                  language: str = i18n.DEFAULT_LANGUAGE) -> Path:
    """The roadmap as a CSV, Excel or Parquet file (by extension), formula-safe."""
    return exports.write_table(roadmap_table(roadmap, language), path, sheet_name="roadmap")
