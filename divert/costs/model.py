"""A city's cost model: what a police unit-hour costs, what the alternative responders cost, and
how many unit-minutes a call takes where the city's data cannot tell (``reference/costs/<city>.yaml``).

Every figure carries its source and year; a figure divert or the user assumed says so
(``assumption: true``), and reports mark it. Ranges are low / central / high readings of the
same sources, never a confidence interval.

>>> m = load_model("seattle")
>>> m.fiscal_year, m.police_unit_hour.rate.rounded(2)
(2020, Range(low=78.6, central=93.34, high=131.39))
>>> print(m.police_unit_hour.scenarios["low"].explain(2080))  # doctest: +NORMALIZE_WHITESPACE
$120,329,345 (Patrol Operations / Emergency (911) Response Services) ÷ 736 FTE
(721 Emergency (911) Response Services, sworn + 15 Emergency (911) Response Services, civilian)
÷ 2,080 paid hours = $78.60 per unit-hour
>>> m.on_scene.minutes("WELFARE", officer_initiated=False).rounded(2)
Range(low=32.4, central=55.08, high=82.62)
>>> m.on_scene.category("NOT-A-CODE")
'default'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from divert import reference
from divert.adapters.reader import read_yaml
from divert.exceptions import ConfigError

STAGES = ("all", "eligible_initial", "eligible")


@dataclass(frozen=True)
class Range:
    """Low, central and high readings of one figure."""

    low: float
    central: float
    high: float

    def __post_init__(self) -> None:
        # every range is built here, so a range whose central value lies outside it cannot exist
        slack = 1e-9 * max(1.0, abs(self.low), abs(self.high))
        if not self.low - slack <= self.central <= self.high + slack:
            raise ValueError(f"a range must hold its central value: low {self.low}, central {self.central}, "
                             f"high {self.high}")

    def __mul__(self, other: Range | float) -> Range:
        if isinstance(other, Range):
            if min(self.low, other.low) < 0:
                raise ValueError("ranges are multiplied only when both are 0 or more")
            return Range(self.low * other.low, self.central * other.central, self.high * other.high)
        if other < 0:
            return Range(self.high * other, self.central * other, self.low * other)
        return Range(self.low * other, self.central * other, self.high * other)

    __rmul__ = __mul__

    def __add__(self, other: Range) -> Range:
        return Range(self.low + other.low, self.central + other.central, self.high + other.high)

    def __sub__(self, other: Range) -> Range:
        """The difference's range: its low takes this range's low and the other's high (the widest
        reading both ranges allow), so it holds the difference of the central values."""
        return Range(self.low - other.high, self.central - other.central, self.high - other.low)

    def rounded(self, digits: int = 2) -> Range:
        return Range(round(self.low, digits), round(self.central, digits), round(self.high, digits))

    @staticmethod
    def flat(value: float) -> Range:
        return Range(value, value, value)


ZERO = Range(0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Line:
    line: str
    amount: float
    share: float = 1.0


@dataclass(frozen=True)
class Scenario:
    """One reading of the loaded cost: budget lines ÷ FTE ÷ paid hours."""

    name: str
    reading: str
    dollars: tuple[Line, ...]
    fte: tuple[Line, ...]           # amount = head count

    def dollars_total(self) -> float:
        return sum(d.amount * d.share for d in self.dollars)

    def fte_total(self) -> float:
        return sum(f.amount for f in self.fte)

    def rate(self, paid_hours: float) -> float:
        return self.dollars_total() / self.fte_total() / paid_hours

    def explain(self, paid_hours: float) -> str:
        def money(d: Line) -> str:
            return f"${d.amount:,.0f} × {d.share:.2%}" if d.share != 1 else f"${d.amount:,.0f}"

        dollars = " + ".join(f"{money(d)} ({d.line})" for d in self.dollars)
        if len(self.dollars) > 1:
            dollars = f"({dollars}) = ${self.dollars_total():,.0f}"
        fte = " + ".join(f"{f.amount:,.0f} {f.line}" for f in self.fte)
        return (f"{dollars} ÷ {self.fte_total():,.0f} FTE ({fte}) ÷ {paid_hours:,.0f} paid hours "
                f"= ${self.rate(paid_hours):,.2f} per unit-hour")


@dataclass(frozen=True)
class PoliceUnitHour:
    rate: Range
    source: str
    year: int
    method: str                      # 'derived' | 'entered'
    paid_hours: float | None = None
    paid_hours_source: str = ""
    scenarios: dict[str, Scenario] = field(default_factory=dict)

    def derivation(self) -> list[str]:
        if self.method == "entered":
            return [f"entered: low ${self.rate.low:,.2f}, central ${self.rate.central:,.2f}, "
                    f"high ${self.rate.high:,.2f} per unit-hour ({self.source}, {self.year})"]
        return [f"{name}: {s.reading}: {s.explain(self.paid_hours)}" for name, s in self.scenarios.items()]


@dataclass(frozen=True)
class Alternative:
    """An alternative responder for one route, priced per team-hour (or per call)."""

    route: str
    name: str
    cost_per_hour: Range | None       # a team on duty for an hour
    cost_per_call: Range | None
    responders_per_team: int
    derivation: str
    source: str
    year: int | None
    assumption: bool
    service_minutes: float
    service_source: str
    service_assumption: bool
    target_minutes: float
    target_share: float


@dataclass(frozen=True)
class CategoryMinutes:
    units: float
    minutes: float

    def unit_minutes(self, high_factor: float) -> Range:
        central = self.units * self.minutes
        return Range(self.minutes, central, central * high_factor)


@dataclass(frozen=True)
class OnScene:
    """Assumed police unit-minutes per call by category, for calls with no clear time."""

    source: str
    year: int | None
    assumption: bool
    high_factor: float
    high_factor_source: str
    categories: dict[str, tuple[CategoryMinutes | None, CategoryMinutes | None]]   # (other, police-initiated)
    codes: dict[str, str]             # APCO code -> category
    file: str = ""

    def category(self, apco_code: str | None) -> str:
        return self.codes.get(apco_code or "", "default")

    def minutes(self, apco_code: str | None, *, officer_initiated: bool) -> Range:
        other, police = self.categories[self.category(apco_code)]
        default_other, default_police = self.categories["default"]
        chosen = (police or default_police) if officer_initiated else (other or default_other)
        return chosen.unit_minutes(self.high_factor)


@dataclass(frozen=True)
class CostModel:
    city: str
    fiscal_year: int
    currency: str
    police_unit_hour: PoliceUnitHour
    alternatives: dict[str, Alternative]
    on_scene: OnScene
    path: str = ""

    @property
    def version(self) -> str:
        """What a stored figure names as its model: city, fiscal year and file."""
        return f"{self.city}-FY{self.fiscal_year}"


def costs_dir() -> Path:
    return reference.folder("costs")


def available_models() -> list[str]:
    """The cities with a model (the on-scene tables beside them are not models)."""
    return [name for name in reference.available("costs") if not name.startswith("on_scene")]


def _number(value, where: str, *, low: float | None = None, low_open: bool = False,
            high: float | None = None, high_open: bool = False, what: str = "a number") -> float:
    """``value`` as a float within bounds, else ConfigError naming ``where`` (file: key)."""
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected {what}, got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected {what}, got {value!r}") from None
    if x != x or x in (float("inf"), float("-inf")) \
            or (low is not None and (x <= low if low_open else x < low)) \
            or (high is not None and (x >= high if high_open else x > high)):
        raise ConfigError(f"{where}: expected {what}, got {value!r}")
    return x


def _positive(value, where: str) -> float:
    return _number(value, where, low=0, low_open=True, what="a number above 0")


def _count(value, where: str) -> int:
    x = _number(value, where, low=1, what="a whole number, at least 1")
    if x != int(x):
        raise ConfigError(f"{where}: expected a whole number, at least 1, got {value!r}")
    return int(x)


def _year(value, where: str) -> int:
    x = _number(value, where, low=1900, high=2200, what="a year")
    if x != int(x):
        raise ConfigError(f"{where}: expected a year, got {value!r}")
    return int(x)


def _mapping(doc, where: str) -> dict:
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: expected a mapping (key: value lines), got {type(doc).__name__}")
    return doc


def _range(doc, where: str) -> Range:
    try:
        if isinstance(doc, int | float):
            values = (float(doc),) * 3
        else:
            values = (float(doc["low"]), float(doc["central"]), float(doc["high"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: expected a number or low, central, high: {exc}") from exc
    low, central, high = values
    if not 0 <= low <= central <= high or high == float("inf"):
        raise ConfigError(f"{where}: expected 0 <= low <= central <= high, got low={low:g}, central={central:g}, "
                          f"high={high:g}")
    return Range(low, central, high)


def _lines(items, where: str, key: str) -> tuple[Line, ...]:
    """Budget (``amount``, dollars) or head-count (``count``) lines: each >= 0, their total > 0,
    a ``share`` of a line within 0..1."""
    if not items:
        raise ConfigError(f"{where}: at least one line is needed")
    if not isinstance(items, list):
        raise ConfigError(f"{where}: expected a list of lines")
    lines = []
    for n, i in enumerate(items):
        w = f"{where}[{n}]"
        if not isinstance(i, dict) or "line" not in i or key not in i:
            raise ConfigError(f"{w}: each line needs 'line' and '{key}'")
        lines.append(Line(str(i["line"]).strip(),
                          _number(i[key], f"{w}.{key}", low=0, what="a number, 0 or more"),
                          _number(i.get("share", 1), f"{w}.share", low=0, high=1,
                                  what="a share between 0 and 1")))
    if sum(line.amount * line.share for line in lines) <= 0:
        raise ConfigError(f"{where}: the lines add up to 0; at least one must be above 0")
    return tuple(lines)


def _police_unit_hour(doc, where: str) -> PoliceUnitHour:
    if not isinstance(doc, dict) or not doc.get("source") or not doc.get("year"):
        raise ConfigError(f"{where}: police_unit_hour needs 'source' and 'year' (every figure names both)")
    source, year = " ".join(str(doc["source"]).split()), _year(doc["year"], f"{where}: police_unit_hour.year")
    if "entered" in doc:
        return PoliceUnitHour(_range(doc["entered"], f"{where}: police_unit_hour.entered"), source, year, "entered")
    paid = doc.get("paid_hours_per_fte") or {}
    if not isinstance(paid, dict) or "value" not in paid:
        raise ConfigError(f"{where}: police_unit_hour.paid_hours_per_fte.value is needed to derive a rate")
    # a year has 8,784 hours at most: more paid hours per FTE is a typo
    paid_hours = _number(paid["value"], f"{where}: police_unit_hour.paid_hours_per_fte.value",
                         low=0, low_open=True, high=8784, what="hours paid per FTE in a year, above 0 and at most 8,784")
    scenarios = {}
    for name in ("low", "central", "high"):
        s = _mapping(doc.get("scenarios") or {}, f"{where}: police_unit_hour.scenarios").get(name)
        if not s:
            raise ConfigError(f"{where}: police_unit_hour.scenarios.{name} is missing (or use 'entered')")
        w = f"{where}: police_unit_hour.scenarios.{name}"
        s = _mapping(s, w)
        scenarios[name] = Scenario(name, " ".join(str(s.get("reading", "")).split()),
                                   _lines(s.get("dollars"), f"{w}.dollars", "amount"),
                                   _lines(s.get("fte"), f"{w}.fte", "count"))
        if scenarios[name].fte_total() <= 0:
            raise ConfigError(f"{where}: scenarios.{name}: FTE must be positive")
    rates = [scenarios[n].rate(paid_hours) for n in ("low", "central", "high")]
    if not rates[0] <= rates[1] <= rates[2]:
        raise ConfigError(f"{where}: the derived rates are not low <= central <= high: {rates}")
    return PoliceUnitHour(Range(*rates), source, year, "derived", paid_hours,
                          " ".join(str(paid.get("source", "")).split()), scenarios)


def _alternative(route: str, doc, where: str) -> Alternative:
    w = f"{where}: alternatives.{route}"
    if not isinstance(doc, dict):
        raise ConfigError(f"{w}: expected a mapping")
    team = _count(doc.get("responders_per_team", 1), f"{w}.responders_per_team")
    per_hour = per_call = None
    sources, assumption, year = [], bool(doc.get("assumption", False)), None
    if "hourly_pay" in doc:
        pay, load = doc["hourly_pay"], doc.get("load_factor") or {"low": 1, "central": 1, "high": 1}
        for part, name in ((pay, "hourly_pay"), (load, "load_factor")):
            if not isinstance(part, dict) or not part.get("source"):
                raise ConfigError(f"{w}.{name}: needs 'source' (say where the figure comes from)")
            sources.append(" ".join(str(part["source"]).split()))
            assumption |= bool(part.get("assumption", False))
        year = pay.get("year")
        pay_r, load_r = _range(pay, f"{w}.hourly_pay"), _range(load, f"{w}.load_factor")
        per_hour = pay_r * load_r * team
        derivation = (f"{team} responder(s) × hourly pay ${pay_r.low:,.2f} / ${pay_r.central:,.2f} / "
                      f"${pay_r.high:,.2f} × load factor {load_r.low:g} / {load_r.central:g} / {load_r.high:g} "
                      f"= ${per_hour.low:,.2f} / ${per_hour.central:,.2f} / ${per_hour.high:,.2f} per team-hour "
                      "(low / central / high)")
    elif "cost_per_hour" in doc or "cost_per_call" in doc:
        key = "cost_per_hour" if "cost_per_hour" in doc else "cost_per_call"
        part = doc[key]
        if not isinstance(part, dict) or not part.get("source"):
            raise ConfigError(f"{w}.{key}: needs 'source'")
        sources.append(" ".join(str(part["source"]).split()))
        assumption |= bool(part.get("assumption", False))
        year = part.get("year")
        r = _range(part, f"{w}.{key}")
        per_hour, per_call = (r, None) if key == "cost_per_hour" else (None, r)
        derivation = f"entered {key.replace('_', ' ')}: ${r.low:,.2f} / ${r.central:,.2f} / ${r.high:,.2f}"
    else:
        raise ConfigError(f"{w}: give hourly_pay (+ load_factor), cost_per_hour or cost_per_call, each with its source")
    service = doc.get("service_minutes") or {}
    if isinstance(service, dict) and "value" not in service:
        raise ConfigError(f"{w}.service_minutes: expected value (minutes a team is busy per call) and source")
    service_minutes = _positive(service["value"] if isinstance(service, dict) else service,
                                f"{w}.service_minutes" + (".value" if isinstance(service, dict) else ""))
    if pay_year := year:
        year = _year(pay_year, f"{w}.{'hourly_pay' if 'hourly_pay' in doc else key}.year")
    return Alternative(
        route, str(doc.get("name") or route), per_hour, per_call, team, derivation, "; ".join(sources),
        year or None, assumption, service_minutes,
        " ".join(str(service.get("source", "")).split()) if isinstance(service, dict) else "",
        bool(service.get("assumption", True)) if isinstance(service, dict) else True,
        _positive(doc.get("target_minutes", 15), f"{w}.target_minutes"),
        _number(doc.get("target_share", 0.8), f"{w}.target_share", low=0, low_open=True, high=1, high_open=True,
                what="a share above 0 and below 1"))


def parse_on_scene(doc, origin: str, name: str) -> OnScene:
    """The on-scene table (a file beside the model, or the model's own ``on_scene`` mapping);
    errors name ``origin``. ``name``: what the model's figures cite as the table."""
    doc = _mapping(doc or {}, origin)
    if not doc.get("source"):
        raise ConfigError(f"{origin}: 'source' is required")

    def minutes(d, where):
        if not d:
            return None
        if not isinstance(d, dict) or "units" not in d or "minutes" not in d:
            raise ConfigError(f"{origin}: {where}: expected units and minutes")
        return CategoryMinutes(_positive(d["units"], f"{origin}: {where}.units"),
                               _positive(d["minutes"], f"{origin}: {where}.minutes"))

    categories, codes = {}, {}
    for name_, c in _mapping(doc.get("categories") or {}, f"{origin}: categories").items():
        c = _mapping(c, f"{origin}: categories.{name_}")
        categories[name_] = (minutes(c.get("other_initiated"), f"categories.{name_}.other_initiated"),
                             minutes(c.get("police_initiated"), f"categories.{name_}.police_initiated"))
        for code in c.get("codes") or ():
            if str(code) in codes:
                raise ConfigError(f"{origin}: APCO code {code} is in two categories ({codes[str(code)]}, {name_})")
            codes[str(code)] = name_
    d = _mapping(doc.get("default") or {}, f"{origin}: default")
    categories["default"] = (minutes(d.get("other_initiated"), "default.other_initiated"),
                             minutes(d.get("police_initiated"), "default.police_initiated"))
    if categories["default"][0] is None or categories["default"][1] is None:
        raise ConfigError(f"{origin}: 'default' needs other_initiated and police_initiated minutes")
    return OnScene(" ".join(str(doc["source"]).split()), doc.get("year"), bool(doc.get("assumption", True)),
                   _number(doc.get("high_factor", 1.0), f"{origin}: high_factor", low=1,
                           what="a factor of 1 or more (high = central × factor)"),
                   str(doc.get("high_factor_source", "")),
                   categories, codes, name)


def load_model(city: str, path: Path | str | None = None) -> CostModel:
    """Read and check ``reference/costs/<city>.yaml`` (or the file at ``path``)."""
    if path is None:
        return reference.load("costs", city, lambda doc, origin: parse_model(doc, origin, city),
                              what="cost model", known=available_models())
    return parse_model(read_yaml(path), str(path), city)


def parse_model(doc, origin: str, city: str) -> CostModel:
    """A cost model from its YAML document; an ``on_scene`` file name is read beside ``origin``."""
    doc = _mapping(doc or {}, origin)
    for key in ("fiscal_year", "police_unit_hour", "on_scene"):
        if key not in doc:
            raise ConfigError(f"{origin}: '{key}' is required")
    alternatives = {route: _alternative(route, a, origin)
                    for route, a in _mapping(doc.get("alternatives") or {}, f"{origin}: alternatives").items()}
    on_scene = doc["on_scene"]
    if isinstance(on_scene, str):
        table = Path(origin).parent / on_scene
        on_scene = parse_on_scene(read_yaml(table), str(table), table.name)
    elif isinstance(on_scene, dict):
        on_scene = parse_on_scene(on_scene, f"{origin}: on_scene", Path(origin).name)
    else:
        raise ConfigError(f"{origin}: on_scene: expected a file name beside the model or a mapping")
    return CostModel(str(doc.get("city") or city), _year(doc["fiscal_year"], f"{origin}: fiscal_year"),
                     str(doc.get("currency", "USD")), _police_unit_hour(doc["police_unit_hour"], origin),
                     alternatives, on_scene, origin)
