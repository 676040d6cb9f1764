"""Which call types end without police action: a prequential evaluation, not a live score.

A city's final disposition (``CadEvent.disposition``) is labelled "no police action" or
"police action" by ``reference/policies/dispositions.yaml`` (other dispositions are not
learned from). The question is whether an online estimate learned from those labels tells a
supervisor more than the plain running share of each call type that ended that way.

``prequential`` answers it on a city's real calls: the calls are cut into periods (months by
default) in event-time order; each period's labelled calls are scored by every candidate as
learned from the earlier periods only, then every candidate learns from the period. The
candidates:

- ``overall rate``: the running share of all labelled calls (no skill; the Brier reference);
- ``type rate``: the running share per call type, the overall share for a type never seen —
  the baseline;
- ``shrunk type rate``: the estimator divert's ``OutcomeModel`` used (issue 19): the type's
  share shrunk towards its APCO code's, the code's towards the overall share
  (empirical-Bayes style, prior weight 10), so a rare type borrows from its code.

Measured on every city that records a disposition (Milwaukee: 3 weeks, so by week or by day;
Seattle: 14 years of a filtered extract, by month), the shrunk rate is no better than the type
rate in any way that matters (community calls: AUC +0.002 to +0.007, Brier −0.5% to −2.4%, and
in Seattle a decile off by 0.09; see ``divert outcomes evaluate``), so it was not wired into
the live path: the ``OutcomeModel``, ``ClassifiedCall.no_police_action_score`` and the
``calls`` column were removed (migration 011). The evaluation stays so the decision can be
checked again when a city with a long disposition history joins. The dispositions themselves
are still stored (``calls.disposition``).

>>> m = ShrunkTypeRate()
>>> for _ in range(30):
...     m.learn("NOISE", "NOISE", True)
...     m.learn("ASSAULT", "ASSAULT", False)
>>> m.score("NOISE", "NOISE") > 0.9 > 0.1 > m.score("ASSAULT", "ASSAULT")
True
>>> m.score("NEVER SEEN", None) is None, TypeRate().score("NOISE", None) is None
(True, True)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from divert.adapters.reader import read_yaml
from divert.crosswalk import Crosswalk, normalize_type
from divert.exceptions import ConfigError
from divert.paths import reference_dir
from schemas.records import CadEvent

# What "earns its place" means, fixed before the figures were read: clearly better than the
# per-type running rate on both discrimination and accuracy, and calibrated.
MIN_AUC_GAIN = 0.02
MAX_BRIER_RATIO = 0.95
MAX_CALIBRATION_GAP = 0.05
MIN_DECILE_CALLS = 30


@dataclass(frozen=True)
class DispositionLabels:
    city: str
    no_police_action: frozenset[str]
    police_action: frozenset[str]

    def label(self, disposition: str | None) -> bool | None:
        """True = ended without police action, False = police action, None = not learned."""
        key = normalize_type(disposition)
        if key in self.no_police_action:
            return True
        if key in self.police_action:
            return False
        return None

    @property
    def empty(self) -> bool:
        return not (self.no_police_action or self.police_action)


def load_disposition_labels(city: str, path: Path | None = None) -> DispositionLabels:
    path = Path(path) if path else reference_dir() / "policies" / "dispositions.yaml"
    data = read_yaml(path) or {}
    spec = data.get(city) or {}
    if not isinstance(spec, dict):
        raise ConfigError(f"{path}: key '{city}': must be a mapping")
    sets = {}
    for key in ("no_police_action", "police_action"):
        values = spec.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ConfigError(f"{path}: key '{city}.{key}': must be a list of strings")
        sets[key] = frozenset(normalize_type(v) for v in values)
    both = sets["no_police_action"] & sets["police_action"]
    if both:
        raise ConfigError(f"{path}: key '{city}': {sorted(both)[0]!r} is in both lists")
    return DispositionLabels(city, sets["no_police_action"], sets["police_action"])


# -- the candidates: learn(type, code, label) and score(type, code) -> P(no police action) ------
class _Mean:
    __slots__ = ("n", "total")

    def __init__(self) -> None:
        self.n, self.total = 0, 0.0

    def update(self, x: float) -> None:
        self.n += 1
        self.total += x

    def get(self) -> float | None:
        return self.total / self.n if self.n else None


class OverallRate:
    """The running share of all labelled calls: the same score for every call."""

    name = "overall rate"

    def __init__(self) -> None:
        self.overall = _Mean()

    def learn(self, call_type: str, apco_code: str | None, y: bool) -> None:
        self.overall.update(1.0 if y else 0.0)

    def score(self, call_type: str, apco_code: str | None) -> float | None:
        return self.overall.get()


class TypeRate(OverallRate):
    """The running share per call type (the baseline); None for a type never seen."""

    name = "type rate"

    def __init__(self) -> None:
        super().__init__()
        self.by_type: dict[str, _Mean] = defaultdict(_Mean)

    def learn(self, call_type: str, apco_code: str | None, y: bool) -> None:
        super().learn(call_type, apco_code, y)
        self.by_type[normalize_type(call_type)].update(1.0 if y else 0.0)

    def score(self, call_type: str, apco_code: str | None) -> float | None:
        m = self.by_type.get(normalize_type(call_type))
        return m.get() if m is not None else None


class ShrunkTypeRate(TypeRate):
    """The former ``OutcomeModel``: type → APCO code → overall, each shrunk towards the next."""

    name = "shrunk type rate"

    def __init__(self, prior_weight: float = 10.0) -> None:
        super().__init__()
        self.prior_weight = prior_weight
        self.by_code: dict[str, _Mean] = defaultdict(_Mean)

    def learn(self, call_type: str, apco_code: str | None, y: bool) -> None:
        super().learn(call_type, apco_code, y)
        if apco_code:
            self.by_code[apco_code].update(1.0 if y else 0.0)

    def _shrunk(self, mean: _Mean | None, prior: float) -> float:
        if mean is None or mean.n == 0:
            return prior
        return (mean.total + prior * self.prior_weight) / (mean.n + self.prior_weight)

    def score(self, call_type: str, apco_code: str | None) -> float | None:
        t = self.by_type.get(normalize_type(call_type))
        c = self.by_code.get(apco_code) if apco_code else None
        if t is None and c is None:
            return None
        p_code = self._shrunk(c, self.overall.get())
        return min(1.0, max(0.0, self._shrunk(t, p_code)))


CANDIDATES: tuple[Callable[[], OverallRate], ...] = (OverallRate, TypeRate, ShrunkTypeRate)
BASELINE, CANDIDATE = TypeRate.name, ShrunkTypeRate.name


# -- metrics ---------------------------------------------------------------------------------------
def auc(y: Sequence[bool], p: Sequence[float]) -> float | None:
    """Area under the ROC curve (Mann–Whitney, ties counted half); None with one class only.

    >>> auc([True, False, True, False], [0.9, 0.1, 0.5, 0.5])
    0.875
    """
    y_arr, p_arr = np.asarray(y, dtype=bool), np.asarray(p, dtype=float)
    n1 = int(y_arr.sum())
    n0 = len(y_arr) - n1
    if not n1 or not n0:
        return None
    ranks = average_ranks(p_arr)
    return float((ranks[y_arr].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing their average rank: ``scipy.stats.rankdata(x)`` (the same exact
    half-integers), without importing scipy.stats, which costs a second and a half.

    >>> average_ranks(np.array([0.5, 0.1, 0.5, 0.9])).tolist()
    [2.5, 1.0, 2.5, 4.0]
    """
    if np.isnan(x).any():  # rankdata's own answer for missing values
        from scipy.stats import rankdata

        return rankdata(x)
    order = np.argsort(x, kind="stable")
    ordered = x[order]
    first = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])   # where each run of ties starts
    counts = np.diff(first, append=len(x))
    ranks = np.empty(len(x))
    ranks[order] = np.repeat(first + (counts + 1) / 2, counts)
    return ranks


def brier(y: Sequence[bool], p: Sequence[float]) -> float | None:
    y_arr, p_arr = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    return float(np.mean((p_arr - y_arr) ** 2)) if len(y_arr) else None


@dataclass(frozen=True)
class Bin:
    calls: int
    predicted: float
    observed: float


def reliability(y: Sequence[bool], p: Sequence[float], bins: int = 10) -> list[Bin]:
    """Calls cut into ``bins`` equal-count groups by score (ties in arrival order): the mean
    score and the observed share per group.

    >>> [(b.calls, b.predicted, b.observed) for b in reliability([0, 1, 1, 1], [0.2, 0.4, 0.8, 1.0], 2)]
    [(2, 0.30000000000000004, 0.5), (2, 0.9, 1.0)]
    """
    y_arr, p_arr = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    order = np.argsort(p_arr, kind="stable")
    return [Bin(len(part), float(p_arr[part].mean()), float(y_arr[part].mean()))
            for part in np.array_split(order, bins) if len(part)]


def calibration_gap(table: Sequence[Bin], min_calls: int = MIN_DECILE_CALLS) -> float | None:
    gaps = [abs(b.predicted - b.observed) for b in table if b.calls >= min_calls]
    return max(gaps) if gaps else None


# -- the prequential run ---------------------------------------------------------------------------
PERIODS = {"month": "%Y-%m", "week": "%G-W%V", "day": "%Y-%m-%d"}


@dataclass
class Scores:
    """What one candidate said of every scored call, in scoring order."""

    name: str
    p: list[float] = field(default_factory=list)
    unseen: int = 0            # calls it could not score (filled with the overall rate)


@dataclass
class Prequential:
    city: str
    period: str
    periods: list[str]                 # every period holding a labelled call, in order
    labelled: int                      # labelled calls in all periods
    unlabelled: int                    # calls whose disposition is in neither list
    y: list[bool]                      # the scored calls' labels (periods after the first)
    community: list[bool]              # scored call is not officer-initiated
    period_of: list[int]               # index into ``periods`` per scored call
    scores: dict[str, Scores]

    def rows(self, community_only: bool = False) -> list[dict]:
        """One row per candidate: calls, AUC, Brier, Brier skill against the overall rate,
        the largest decile calibration gap, periods won against the baseline."""
        keep = np.asarray(self.community if community_only else [True] * len(self.y), dtype=bool)
        y = np.asarray(self.y, dtype=bool)[keep]
        per = np.asarray(self.period_of, dtype=int)[keep]
        ref = brier(y, np.asarray(self.scores[OverallRate.name].p)[keep])
        base_p = np.asarray(self.scores[BASELINE].p)[keep]
        out = []
        for name, s in self.scores.items():
            p = np.asarray(s.p)[keep]
            b = brier(y, p)
            won = sum(1 for k in np.unique(per)
                      if brier(y[per == k], p[per == k]) < brier(y[per == k], base_p[per == k]))
            out.append({"candidate": name, "calls": int(len(y)), "share": float(y.mean()) if len(y) else None,
                        "auc": auc(y, p), "brier": b,
                        "skill": (1 - b / ref) if b is not None and ref else None,
                        "gap": calibration_gap(reliability(y, p)), "won": won,
                        "periods": int(len(np.unique(per))), "reliability": reliability(y, p)})
        return out

    def verdict(self) -> tuple[bool, str]:
        """Does the candidate earn its place against the baseline (on community calls)?"""
        rows = {r["candidate"]: r for r in self.rows(community_only=True)}
        cand, base = rows[CANDIDATE], rows[BASELINE]
        if cand["auc"] is None or base["auc"] is None or not base["brier"]:
            return False, "nothing scored: too few periods or one outcome only"
        d_auc = cand["auc"] - base["auc"]
        ratio = cand["brier"] / base["brier"]
        gap = cand["gap"]
        ok = (d_auc >= MIN_AUC_GAIN and ratio <= MAX_BRIER_RATIO
              and gap is not None and gap <= MAX_CALIBRATION_GAP)
        why = (f"AUC {d_auc:+.3f} (needs ≥ +{MIN_AUC_GAIN:.2f}), Brier ×{ratio:.3f} "
               f"(needs ≤ ×{MAX_BRIER_RATIO:.2f}), calibration gap "
               f"{'n/a' if gap is None else f'{gap:.3f}'} (needs ≤ {MAX_CALIBRATION_GAP:.2f})")
        return ok, why


def prequential(events: Iterable[CadEvent], crosswalk: Crosswalk, labels: DispositionLabels, *,
                period: str = "month", candidates=CANDIDATES) -> Prequential:
    """Score each period's labelled calls with what every candidate learned from the earlier
    periods, then learn from the period. Calls are scored and learned on their initial type
    (what dispatch knew); periods are UTC calendar periods of ``received_at``. A call a
    candidate cannot score (type and code never seen) gets the overall rate; the first period
    is only learned from."""
    if period not in PERIODS:
        raise ConfigError(f"period {period!r}: expected one of {', '.join(PERIODS)}")
    fmt = PERIODS[period]
    groups: dict[str, list[tuple[str, str | None, bool, bool]]] = defaultdict(list)
    unlabelled = 0
    codes: dict[str, str | None] = {}
    for ev in events:
        y = labels.label(ev.disposition)
        if y is None:
            unlabelled += 1
            continue
        if ev.initial_type not in codes:
            codes[ev.initial_type] = crosswalk.lookup(ev.initial_type)[0]
        groups[ev.received_at.strftime(fmt)].append(
            (ev.initial_type, codes[ev.initial_type], y, ev.source != "officer_initiated"))
    models = [make() for make in candidates]
    overall = OverallRate()
    result = Prequential(labels.city, period, sorted(groups), sum(map(len, groups.values())),
                         unlabelled, [], [], [], {m.name: Scores(m.name) for m in models})
    for k, key in enumerate(result.periods):
        batch = groups[key]
        fallback = overall.score("", None)
        if fallback is not None:  # score first, with what was learned before this period …
            for call_type, code, y, community in batch:
                result.y.append(y)
                result.community.append(community)
                result.period_of.append(k)
                for m in models:
                    s = m.score(call_type, code)
                    if s is None:
                        result.scores[m.name].unseen += 1
                        s = fallback
                    result.scores[m.name].p.append(s)
        for call_type, code, y, _ in batch:  # … then learn from it
            overall.learn(call_type, code, y)
            for m in models:
                m.learn(call_type, code, y)
    return result


__all__ = ["DispositionLabels", "load_disposition_labels", "OverallRate", "TypeRate", "ShrunkTypeRate",
           "CANDIDATES", "auc", "brier", "reliability", "calibration_gap", "Prequential", "prequential",
           "PERIODS"]
