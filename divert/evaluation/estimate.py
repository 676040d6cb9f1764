"""What every evaluation method returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

METHOD_NAMES = {
    "its": "interrupted time series",
    "did": "difference-in-differences",
    "wdd": "weighted displacement difference",
    "sc": "synthetic control",
}


@dataclass(frozen=True)
class Estimate:
    """An effect on the treated areas' outcome per observed day (negative = fewer / lower).

    ``baseline`` is what the method expects the treated areas would have recorded per day
    after the start without the program; ``relative`` = effect / baseline.
    """

    method: str
    effect: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    baseline: float
    pre_days: int
    post_days: int
    observed: pd.Series = field(repr=False)          # treated areas, per observed day
    counterfactual: pd.Series = field(repr=False)    # the same days, without the program
    control: pd.Series | None = field(default=None, repr=False)  # untreated comparison, scaled
    details: dict = field(default_factory=dict, repr=False)
    # the placebo programs whose spread gave the interval (calibrate.NullDistribution), if any
    null: object | None = field(default=None, repr=False)

    @property
    def relative(self) -> float:
        return self.effect / self.baseline if self.baseline else float("nan")

    @property
    def significant(self) -> bool:
        """The 95% interval excludes zero."""
        return bool(self.ci_low > 0 or self.ci_high < 0)

    @property
    def method_name(self) -> str:
        return METHOD_NAMES.get(self.method, self.method)

    def covers(self, value: float) -> bool:
        return bool(self.ci_low <= value <= self.ci_high)
