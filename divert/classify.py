"""Classification: crosswalk → APCO code → policy → route, with the reasons that decided it.

Eligibility is decided twice and kept apart: ``eligible_initial`` from the initial call type
alone (an upper bound), ``eligible`` after the disqualifiers and the team's availability.
Eligible means routed to a civilian team (crisis or navigator). The final call type's code and
route are kept for comparison and never used for eligibility.

>>> from divert.crosswalk import load_crosswalk
>>> from divert.policy import load_policy
>>> from schemas.records import CadEvent, UTC
>>> from datetime import datetime
>>> import msgspec
>>> clf = Classifier(load_crosswalk("seattle"), load_policy())
>>> ev = CadEvent(agency="seattle", incident_id="1", source="911", priority=3,
...               initial_type="SERVICE - WELFARE CHECK", final_type="DISTURBANCE - OTHER",
...               received_at=datetime(2024, 4, 22, 18, 0, tzinfo=UTC))
>>> c = clf.classify(ev)
>>> c.route, c.eligible_initial, c.eligible, c.final_route
('crisis', True, True, 'police')
>>> c.reasons[:2]
["crosswalk: 'SERVICE - WELFARE CHECK' → APCO WELFARE (0.95)", 'policy default-2026.1: WELFARE → crisis']
>>> clf.classify(msgspec.structs.replace(ev, priority=1)).route
'co_response'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from divert.crosswalk import Crosswalk, normalize_type, violent_match
from divert.policy import CityPolicy, Policy
from schemas.records import CIVILIAN_ROUTES, CadEvent, ClassifiedCall

if TYPE_CHECKING:  # pandas is for batch work: the worker classifies one call at a time without it
    import pandas as pd

_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# The kinds of reason that others read back (the funnel, divert/funnel.py), stored as
# "<kind>: <detail>" in ClassifiedCall.reasons; written and read only through the helpers below.
GUARD = "guard"                 # the built-in guard: the type reads as violent
DISQUALIFIED = "disqualified"   # a disqualifier applied: "<name> (<evidence>) → <route>"
UNAVAILABLE = "unavailable"     # the team is not in service then or there


def reason(kind: str, detail: str) -> str:
    """A reason of ``kind`` as the classifier stores it."""
    return f"{kind}: {detail}"


def reason_details(reasons: Sequence[str], kind: str) -> list[str]:
    """The details of the stored reasons of ``kind``, in order.

    >>> reason_details(["policy v: X → crisis", reason(GUARD, "type reads as violent ('GUN') → police")], GUARD)
    ["type reads as violent ('GUN') → police"]
    """
    prefix = reason(kind, "")
    return [r[len(prefix):] for r in reasons if r.startswith(prefix)]


def disqualifier_names(reasons: Sequence[str]) -> list[str]:
    """The disqualifiers that applied, as the policy names them ('weapon mentioned in type'), once each.

    >>> disqualifier_names([reason(DISQUALIFIED, "weapon mentioned in type ('KNIFE' in type) → co_response")])
    ['weapon mentioned in type']
    """
    return list(dict.fromkeys(d.split(" (")[0] for d in reason_details(reasons, DISQUALIFIED)))


class Decision(NamedTuple):
    apco_code: str | None
    confidence: float
    route: str
    eligible_initial: bool
    eligible: bool
    reasons: tuple[str, ...]
    final_apco_code: str | None
    final_route: str | None


def _severity(route: str) -> int:
    return 2 if route == "police" else 1


class Classifier:
    """Holds a city's crosswalk and the policy; built once.

    Decisions are cached per distinct (initial type, final type, priority, source, hour of
    week, areas) — hour and areas only when the city's policy restricts them — so a batch
    costs little more than the lookups.
    """

    def __init__(self, crosswalk: Crosswalk, policy: Policy, *, cache_size: int = 200_000):
        self.crosswalk = crosswalk
        self.policy = policy
        self.city: CityPolicy = policy.city(crosswalk.city)
        self._tz = self.city.timezone
        self._hours = self.city.restricts_hours
        self._layers = self.city.area_layers
        self._cache: dict[tuple, Decision] = {}
        self._cache_size = cache_size

    # -- the decision, on plain values (cached) -------------------------------------------------
    def decide(self, initial_type: str, final_type: str | None = None, priority: int | None = None,
               source: str = "911", hour_of_week: int | None = None, weekday: int | None = None,
               areas: tuple[tuple[str, str], ...] | None = None) -> Decision:
        """The decision on plain values; ``hour_of_week``/``weekday``/``areas`` None = not
        considered (the team is taken to be in service)."""
        key = (initial_type, final_type, priority, source, hour_of_week, weekday, areas)
        hit = self._cache.get(key)
        if hit is None:
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            hit = self._cache[key] = self._decide(*key)
        return hit

    def _type_route(self, call_type: str, reasons: list[str] | None):
        """Crosswalk, policy and guard for one type: (code, confidence, route)."""
        pol = self.policy
        code, conf = self.crosswalk.lookup(call_type)
        if code is None:
            route = pol.default_route
            if reasons is not None:
                reasons.append(f"crosswalk: {call_type!r} not mapped → {route}")
            return None, 0.0, route
        route = pol.route_for(code)
        if reasons is not None:
            reasons.append(f"crosswalk: {call_type!r} → APCO {code} ({conf:.2f})")
            reasons.append(f"policy {pol.version}: {code} → {route}")
        if route in CIVILIAN_ROUTES:
            word = violent_match(call_type)
            if word:
                route = "co_response" if route == "crisis" else "police"
                if reasons is not None:
                    reasons.append(reason(GUARD, f"type reads as violent ({word!r}) → {route}"))
        return code, conf, route

    def _decide(self, initial_type, final_type, priority, source, hour_of_week, weekday, areas):
        pol, city = self.policy, self.city
        reasons: list[str] = []
        code, conf, base = self._type_route(initial_type, reasons)
        final_code, final_route = (None, None)
        if final_type:
            final_code, _, final_route = self._type_route(final_type, None)
        eligible_initial = base in CIVILIAN_ROUTES
        if source == "officer_initiated":
            reasons.append("source officer_initiated → officer_initiated (never eligible)")
            return Decision(code, conf, "officer_initiated", False, False, tuple(reasons),
                            final_code, final_route)
        route = base
        if base in CIVILIAN_ROUTES or base == "co_response":
            forced: list[str] = []
            norm = normalize_type(initial_type)
            if code is None or code in pol.insufficient_codes or conf < pol.min_confidence:
                why = ("type not mapped" if code is None else f"APCO {code} says nothing of the call"
                       if code in pol.insufficient_codes else
                       f"crosswalk confidence {conf:.2f} < {pol.min_confidence:g}")
                forced.append(pol.insufficient_route)
                reasons.append(reason(DISQUALIFIED, f"insufficient information ({why}) → {pol.insufficient_route}"))
            for d in pol.disqualifiers:
                hit = d.match(norm, code)
                if hit is not None:
                    r = d.route_from(base)
                    forced.append(r)
                    reasons.append(reason(DISQUALIFIED, f"{d.reason} ({hit!r} in type) → {r}"))
            if (priority is not None and city.priority_threshold is not None
                    and priority <= city.priority_threshold):
                r = pol.high_priority.route_from(base)
                forced.append(r)
                reasons.append(reason(DISQUALIFIED, f"{pol.high_priority.reason} "
                                      f"(priority {priority} ≤ {city.priority_threshold}) → {r}"))
            if forced:
                route = max(forced, key=_severity)
        if route in CIVILIAN_ROUTES:
            avail = city.availability.get(route)
            if avail is not None:
                if not avail.in_service(hour_of_week, weekday):
                    when = (f"{_DAY_NAMES[hour_of_week // 24]} {hour_of_week % 24:02d}h"
                            if hour_of_week is not None else f"{_DAY_NAMES[weekday]} (day only)")
                    reasons.append(reason(UNAVAILABLE, f"{route} not in service {when} ({city.timezone.key})"
                                          f" → {avail.fallback}"))
                    route = avail.fallback
                elif areas is not None and (outside := avail.serves(dict(areas))) is not None:
                    reasons.append(reason(UNAVAILABLE, f"{route} does not serve {outside} → {avail.fallback}"))
                    route = avail.fallback
        if route in CIVILIAN_ROUTES:
            reasons.append(f"eligible: {route}")
        return Decision(code, conf, route, eligible_initial, route in CIVILIAN_ROUTES,
                        tuple(reasons), final_code, final_route)

    # -- events ---------------------------------------------------------------------------------
    def _time_key(self, received_at: datetime, precision: str) -> tuple[int | None, int | None]:
        if not self._hours:
            return None, None
        local = received_at.astimezone(self._tz)
        if precision == "day":
            return None, local.weekday()
        return local.weekday() * 24 + local.hour, None

    def _area_key(self, areas: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
        if not self._layers:
            return ()
        return tuple((layer, areas.get(layer)) for layer in self._layers)

    def _decide_event(self, ev: CadEvent) -> Decision:
        d = self.decide(ev.initial_type, ev.final_type, ev.priority, ev.source)
        # time and areas matter only for a call that would go to a civilian team: deciding
        # without them first keeps the cache at one entry per type for every other call
        if d.route in CIVILIAN_ROUTES and (self._hours or self._layers):
            how, wd = self._time_key(ev.received_at, ev.time_precision)
            d = self.decide(ev.initial_type, ev.final_type, ev.priority, ev.source, how, wd,
                            self._area_key(ev.areas))
        return d

    def classify(self, event: CadEvent) -> ClassifiedCall:
        return self._build(event, self._decide_event(event))

    def classify_many(self, events: Sequence[CadEvent]) -> list[ClassifiedCall]:
        return [self._build(ev, self._decide_event(ev)) for ev in events]

    def classify_frame(self, df: pd.DataFrame) -> pd.DataFrame:
        """Vectorized batch: CadEvent columns in (``initial_type`` required; ``final_type``,
        ``priority``, ``source``, ``received_at``, ``time_precision``, ``areas`` optional), the
        same columns out plus the classification. One decision per distinct key, broadcast back,
        with the same time and area keys as :meth:`classify`."""
        import numpy as np
        import pandas as pd

        n = len(df)
        keys = pd.DataFrame(index=df.index)
        keys["initial_type"] = df["initial_type"].astype(object)
        keys["final_type"] = df["final_type"].astype(object) if "final_type" in df else None
        keys["priority"] = (df["priority"].fillna(_NO_PRIORITY).astype("int64") if "priority" in df
                            else _NO_PRIORITY)
        keys["source"] = df["source"].astype(object) if "source" in df else "911"
        keys["how"] = keys["wd"] = -1
        keys["areas"] = None
        if not (self._hours or self._layers) or not n:
            return _broadcast(df, keys, self)
        # time and areas matter only where the call would go to a civilian team (see _decide_event)
        first = _broadcast(df, keys, self)
        civil = first["route"].isin(CIVILIAN_ROUTES).to_numpy()
        if not civil.any():
            return first
        how = wd = None
        if self._hours and "received_at" in df:
            local = pd.to_datetime(df["received_at"], utc=True).dt.tz_convert(self._tz.key)
            day = local.dt.day_of_week.to_numpy()
            how = day * 24 + local.dt.hour.to_numpy()
            if "time_precision" in df:
                day_only = (df["time_precision"] == "day").to_numpy()
                wd = np.where(day_only, day, -1)
                how = np.where(day_only, -1, how)
        if how is not None:
            keys["how"] = np.where(civil, how, -1)
        if wd is not None:
            keys["wd"] = np.where(civil, wd, -1)
        if self._layers and "areas" in df:
            keys["areas"] = [self._area_key(a or {}) if c else None
                             for a, c in zip(df["areas"], civil, strict=True)]
        return _broadcast(df, keys, self)

    def _build(self, ev: CadEvent, d: Decision) -> ClassifiedCall:
        return ClassifiedCall(
            call=ev, apco_code=d.apco_code, crosswalk_confidence=d.confidence, route=d.route,
            eligible_initial=d.eligible_initial, eligible=d.eligible, reasons=list(d.reasons),
            policy_version=self.policy.version, final_apco_code=d.final_apco_code,
            final_route=d.final_route)


OUTPUT_COLUMNS = ("apco_code", "crosswalk_confidence", "route", "eligible_initial", "eligible",
                  "reasons", "policy_version", "final_apco_code", "final_route")


def classify_frame(df: pd.DataFrame, crosswalk: Crosswalk, policy: Policy,
                   classifier: Classifier | None = None) -> pd.DataFrame:
    """Vectorized batch: CadEvent columns in (``initial_type`` required; ``final_type``,
    ``priority``, ``source``, ``received_at``, ``time_precision``, ``areas`` optional), the same
    columns out plus the classification. One decision per distinct key, broadcast back.

    >>> import pandas as pd
    >>> from divert.crosswalk import load_crosswalk
    >>> from divert.policy import load_policy
    >>> df = pd.DataFrame({"initial_type": ["Welfare Check", "Assault", "Welfare Check"],
    ...                    "received_at": pd.to_datetime(["2024-01-01 12:00"] * 3, utc=True)})
    >>> out = classify_frame(df, load_crosswalk("san_antonio"), load_policy())
    >>> out[["apco_code", "route", "eligible"]].values.tolist()
    [['WELFARE', 'crisis', True], ['ASSAULT', 'police', False], ['WELFARE', 'crisis', True]]
    """
    return (classifier or Classifier(crosswalk, policy)).classify_frame(df)


_NO_PRIORITY = -(2**62)


def _broadcast(df: pd.DataFrame, keys: pd.DataFrame, clf: Classifier) -> pd.DataFrame:
    """One decision per distinct key row, broadcast back to every row."""
    import numpy as np

    n = len(df)
    cols = list(keys.columns)
    # the areas tuples are hashable; groupby on object columns keeps first-seen order
    codes = keys.groupby(cols, sort=False, dropna=False).ngroup().to_numpy()
    uniq = keys.drop_duplicates(subset=cols)
    decisions = []
    for it, ft, pr, src, h, w, ar in uniq.itertuples(index=False, name=None):
        decisions.append(clf.decide(
            it, ft if isinstance(ft, str) else None, None if pr == _NO_PRIORITY else int(pr),
            src if isinstance(src, str) else "911", None if h < 0 else int(h),
            None if w < 0 else int(w), ar))
    out = df.copy()
    table = list(zip(*decisions, strict=True)) if decisions else [()] * len(Decision._fields)
    for name, values in zip(Decision._fields, table, strict=True):
        arr = np.empty(len(values), dtype=object)
        arr[:] = [list(v) if name == "reasons" else v for v in values]
        col = arr[codes] if n else arr
        target = "crosswalk_confidence" if name == "confidence" else name
        out[target] = col
    for name in ("eligible_initial", "eligible"):
        out[name] = out[name].astype(bool)
    out["crosswalk_confidence"] = out["crosswalk_confidence"].astype(float)
    out["policy_version"] = clf.policy.version
    return out
