"""Survey mappings: ``reference/surveys/<name>.yaml`` says how to read one survey file.

A mapping names the file, its kind, the area columns and the layers they are (coarsest
first; a row belongs to the finest layer whose column is filled, or to the city when none
is), the period, and each item: its question id as the file writes it, its scale, which
answers count as agreeing and which mean "don't know". Microdata may name a weight column
and population margins to post-stratify to.

Kinds:

* ``microdata`` — one row per respondent: divert estimates the weighted share agreeing per
  area, with its margin of error (:mod:`divert.surveys.estimate`);
* ``published`` — scores or percentages per area and period as the survey's authors
  published them; stored as published, with ``moe_note`` saying why there is no margin.

Parsing is strict: an unknown key is an error naming the file and the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import msgspec

from divert import reference
from divert.adapters.reader import read_yaml
from divert.exceptions import ConfigError

Kind = Literal["microdata", "published"]
Scale = Literal["likert", "score_0_100", "percent"]


class AreaLevel(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    layer: str                      # divert's layer name (district, sector, council_district …)
    column: str
    regex: str | None = None        # keep the first group: "^0*(\\d+)$" turns "001" into "1"
    template: str | None = None     # then format it: "{}0"


class Item(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    question: str = ""              # the question's wording, shown in reports
    column: str | None = None       # defaults to the item id
    scale: Scale = "likert"
    scale_min: int | None = None    # likert answers (e.g. 1..5)
    scale_max: int | None = None
    agree: list[int] = []           # answers that count as agreeing (e.g. 4 and 5)
    dont_know: list[int] = []       # answers that mean "don't know": left out of the base
    measure: str | None = None      # what burden calls it: "safety", "trust" …


class PeriodSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    start: str | None = None        # a fixed period (ISO dates; end exclusive) …
    end: str | None = None
    start_column: str | None = None  # … or one per row
    end_column: str | None = None   # inclusive last day; absent = the start_column's month
    formats: list[str] = msgspec.field(default_factory=lambda: ["%Y-%m-%d"])
    end_inclusive: bool = True


class Margins(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Population per stratum to post-stratify respondents to (relative sizes are enough)."""

    column: str
    population: dict[str, float]
    source: str = ""


class SurveyMapping(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    kind: Kind
    agency: str                     # the city (agency) the survey describes
    file: str                       # relative to the shared data folder
    timezone: str
    period: PeriodSpec
    items: dict[str, Item]
    title: str = ""
    description: str = ""
    areas: list[AreaLevel] = []
    city_when_blank: bool = True    # a row with no area filled is the citywide figure
    weight: str | None = None
    margins: Margins | None = None
    min_n: int = 30
    moe_note: str = ""              # e.g. "no margin of error published"
    published_moe: str = ""         # the authors' own statement, shown beside divert's
    caveats: list[str] = []

    def column_of(self, item_id: str) -> str:
        return self.items[item_id].column or item_id

    def layers(self) -> list[str]:
        return [a.layer for a in self.areas] + (["city"] if self.city_when_blank or not self.areas else [])


def available_surveys() -> list[str]:
    return reference.available("surveys")


def parse_survey_mapping(data: object, origin: str) -> SurveyMapping:
    try:
        m = msgspec.convert(data, SurveyMapping)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{origin}: {exc}") from exc
    if not m.items:
        raise ConfigError(f"{origin}: key 'items': list at least one item")
    for item_id, item in m.items.items():
        if m.kind == "microdata" and item.scale == "likert" and not item.agree:
            raise ConfigError(f"{origin}: key 'items.{item_id}.agree': say which answers count as agreeing")
        if set(item.agree) & set(item.dont_know):
            raise ConfigError(f"{origin}: key 'items.{item_id}': an answer cannot both agree and mean don't know")
    p = m.period
    if not ((p.start and p.end) or p.start_column):
        raise ConfigError(f"{origin}: key 'period': give start and end, or start_column")
    if m.min_n < 1:
        raise ConfigError(f"{origin}: key 'min_n': must be at least 1")
    if m.margins and any(v <= 0 for v in m.margins.population.values()):
        raise ConfigError(f"{origin}: key 'margins.population': every stratum needs a population > 0")
    return m


def load_survey_mapping(name_or_path: str | Path) -> tuple[str, SurveyMapping]:
    """(name, mapping) for a survey name (``reference/surveys/<name>.yaml``) or a YAML path."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = reference.path_of("surveys", str(name_or_path), what="survey mapping")
    data = read_yaml(path)
    return path.stem, parse_survey_mapping(data, str(path))


def surveys_for(agency: str) -> list[str]:
    """Names of the shipped surveys that describe ``agency``."""
    return [n for n in available_surveys() if load_survey_mapping(n)[1].agency == agency]


__all__ = ["SurveyMapping", "Item", "AreaLevel", "PeriodSpec", "Margins", "load_survey_mapping",
           "available_surveys", "surveys_for", "parse_survey_mapping"]
