"""Which call types end without police action: an online model learned from dispositions.

For each call, the city's disposition (``CadEvent.disposition``) is labelled "no police action"
or "police action" by ``reference/policies/dispositions.yaml`` (other dispositions are skipped).
The model keeps running means (river ``stats.Mean``) overall, per APCO code and per call type,
and scores a type by shrinking its own rate towards its code's rate, and the code's towards
the overall rate (empirical-Bayes style), so a rare type borrows from its code.

The score (``no_police_action_score``) is reported beside the route: it never changes the
route or eligibility and never overrides a disqualifier (see divert/classify.py).

>>> m = OutcomeModel(load_disposition_labels("seattle"))
>>> for _ in range(30):
...     _ = m.learn_one("DISTURBANCE - OTHER", "DISORD", "ASSISTANCE RENDERED")
...     _ = m.learn_one("ASSAULTS, OTHER", "ASSAULT", "REPORT WRITTEN (NO ARREST)")
>>> m.score("DISTURBANCE - OTHER", "DISORD") > 0.9 > 0.1 > m.score("ASSAULTS, OTHER", "ASSAULT")
True
>>> m.score("NEVER SEEN", None) is None
True
>>> OutcomeModel.from_bytes(m.to_bytes()).score("DISTURBANCE - OTHER", "DISORD") == m.score("DISTURBANCE - OTHER", "DISORD")
True
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import yaml
from river import stats

from divert.crosswalk import Crosswalk, normalize_type
from divert.exceptions import ConfigError
from divert.paths import reference_dir
from schemas.records import CadEvent

_FORMAT = 1


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


def load_disposition_labels(city: str, path: Path | None = None) -> DispositionLabels:
    path = Path(path) if path else reference_dir() / "policies" / "dispositions.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: dispositions file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
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


class OutcomeModel:
    """Online, pickleable; ``to_bytes``/``from_bytes`` for a Faust table or a restart."""

    def __init__(self, labels: DispositionLabels, prior_weight: float = 10.0):
        self.labels = labels
        self.prior_weight = prior_weight
        self.overall = stats.Mean()
        self.by_code: dict[str, stats.Mean] = {}
        self.by_type: dict[str, stats.Mean] = {}

    def learn_one(self, call_type: str, apco_code: str | None, disposition: str | None) -> bool:
        """Learn from one call; False when its disposition is not labelled."""
        y = self.labels.label(disposition)
        if y is None:
            return False
        x = 1.0 if y else 0.0
        self.overall.update(x)
        if apco_code:
            self.by_code.setdefault(apco_code, stats.Mean()).update(x)
        self.by_type.setdefault(normalize_type(call_type), stats.Mean()).update(x)
        return True

    def learn_event(self, event: CadEvent, crosswalk: Crosswalk) -> bool:
        # learned on the initial type: the score speaks of what dispatch knew
        code, _ = crosswalk.lookup(event.initial_type)
        return self.learn_one(event.initial_type, code, event.disposition)

    def learn_many(self, events, crosswalk: Crosswalk) -> int:
        return sum(self.learn_event(e, crosswalk) for e in events)

    def _shrunk(self, mean: stats.Mean | None, prior: float) -> float:
        if mean is None or mean.n == 0:
            return prior
        w = self.prior_weight
        return (mean.get() * mean.n + prior * w) / (mean.n + w)

    def score(self, call_type: str, apco_code: str | None) -> float | None:
        """P(no police action) for a call of this type; None before anything is known of it."""
        t = self.by_type.get(normalize_type(call_type))
        c = self.by_code.get(apco_code) if apco_code else None
        if (t is None or t.n == 0) and (c is None or c.n == 0):
            return None
        p_code = self._shrunk(c, self.overall.get())
        return min(1.0, max(0.0, self._shrunk(t, p_code)))

    def to_bytes(self) -> bytes:
        return pickle.dumps((_FORMAT, self))

    @classmethod
    def from_bytes(cls, data: bytes) -> OutcomeModel:
        fmt, model = pickle.loads(data)
        if fmt != _FORMAT or not isinstance(model, cls):
            raise ConfigError(f"outcome model format {fmt} not readable (expected {_FORMAT})")
        return model
