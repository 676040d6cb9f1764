"""Associations across areas, with their uncertainty — never causes.

Spearman's rank correlation between two area measures (e.g. enforcement's LQ and trust),
with a 95% interval from the Fisher z transform using the Bonett–Wright standard error
``√((1 + r²/2) / (n − 3))``, which holds its coverage for rank correlations where the
Pearson ``1/√(n − 3)`` does not. scipy computes the coefficient.

>>> a = association([1, 2, 3, 4, 5, 6, 7, 8], [2, 1, 4, 3, 6, 5, 8, 7])
>>> round(a.rho, 3), round(a.low, 2), round(a.high, 2), a.n
(0.905, 0.43, 0.99, 8)
>>> print(a.sentence("enforcement LQ", "trust"))
Across 8 areas, areas with higher enforcement LQ tend to have higher trust (Spearman ρ = 0.90, 95% interval 0.43 to 0.99). This is an association, not a cause.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Association:
    rho: float
    low: float
    high: float
    n: int

    def sentence(self, x: str, y: str) -> str:
        if self.n < 4 or math.isnan(self.rho):
            return f"Too few areas ({self.n}) to say how {x} and {y} go together."
        if self.low > 0:
            trend = f"areas with higher {x} tend to have higher {y}"
        elif self.high < 0:
            trend = f"areas with higher {x} tend to have lower {y}"
        else:
            trend = f"no clear association between {x} and {y} (the interval includes 0)"
        return (f"Across {self.n} areas, {trend} (Spearman ρ = {self.rho:.2f}, 95% interval "
                f"{self.low:.2f} to {self.high:.2f}). This is an association, not a cause.")


def association(x: Sequence[float], y: Sequence[float]) -> Association:
    """Spearman's ρ of paired values (pairs with a missing value are dropped) and its 95% interval."""
    from scipy.stats import spearmanr

    pairs = [(a, b) for a, b in zip(x, y, strict=True)
             if a is not None and b is not None and math.isfinite(a) and math.isfinite(b)]
    n = len(pairs)
    if n < 4:
        return Association(math.nan, math.nan, math.nan, n)
    rho = float(spearmanr([p[0] for p in pairs], [p[1] for p in pairs]).statistic)
    if abs(rho) >= 1 - 1e-12:
        return Association(rho, rho, rho, n)
    se = math.sqrt((1 + rho * rho / 2) / (n - 3))
    z = math.atanh(rho)
    return Association(rho, math.tanh(z - Z95 * se), math.tanh(z + Z95 * se), n)


__all__ = ["Association", "association"]
