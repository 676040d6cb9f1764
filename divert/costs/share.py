"""The police share of the general fund, FY2018–2022, for the 467 cities of the budget table.

``reference/costs/police_share_467_cities.csv`` is derived from the shared data's
``budgets/police_budgets_467_cities_fy2018-2022.csv`` by :func:`derive` (``divert costs share
--derive``): one row per city and fiscal year with the police budget, the general fund and the
police share recomputed from them (the source's own share column is checked against it).
State codes are upper-cased (the source mixes cases); city names are kept as published.
Definitions vary by city (pensions in or out) and the source does not say adopted or actual.

>>> rows = lookup("san antonio")
>>> [(r.fiscal_year, round(r.share, 3)) for r in rows][:2]
[(2018, 0.37), (2019, 0.363)]
>>> lookup("seattle")[2].police_budget
406980000.0
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from divert.adapters.reader import reading
from divert.exceptions import ConfigError
from divert.paths import reference_dir, shared_data_dir

SOURCE = ("masonyoungblood/police_budget_analysis_2018_2022, police_budgets_2018_2022.xlsx @ ed9484d987c1 "
          "(first sheet), via budgets/police_budgets_467_cities_fy2018-2022.csv")
COLUMNS = ["state", "city", "slug", "fiscal_year", "police_budget", "general_fund", "police_share", "source"]


@dataclass(frozen=True)
class ShareRow:
    state: str
    city: str
    slug: str
    fiscal_year: int
    police_budget: float
    general_fund: float
    share: float


def slug(city: str) -> str:
    """'San Antonio' → 'san_antonio' (the slug divert's city mappings use).

    >>> slug(" Winston-Salem "), slug("St. Louis")
    ('winston_salem', 'st_louis')
    """
    out = "".join(ch if ch.isalnum() else "_" for ch in city.strip().lower())
    return "_".join(part for part in out.split("_") if part)


def shared_csv() -> Path:
    return shared_data_dir() / "budgets" / "police_budgets_467_cities_fy2018-2022.csv"


def derived_csv() -> Path:
    return reference_dir() / "costs" / "police_share_467_cities.csv"


def derive(source: Path | None = None, dest: Path | None = None) -> int:
    """Write the derived CSV; return the number of city-year rows. Raises when a share the
    source states disagrees with its own budget and general fund by more than 0.1 point."""
    source, dest = source or shared_csv(), dest or derived_csv()
    out = []
    with reading(source), open(source, newline="", encoding="utf-8-sig") as f:
        for i, r in enumerate(csv.DictReader(f), 2):
            for yy in range(18, 23):
                p, gf, stated = r.get(f"p{yy}"), r.get(f"gf{yy}"), r.get(f"% {yy}")
                if not p or not gf:
                    continue
                police = _amount(p, source, i, f"p{yy}")
                fund = _amount(gf, source, i, f"gf{yy}")
                if stated:
                    _amount(stated, source, i, f"% {yy}")
                if fund <= 0:
                    continue
                share = police / fund
                if stated and not math.isclose(share, float(stated), abs_tol=1e-3):
                    raise ConfigError(f"{source}: line {i} ({r['city']}, 20{yy}): stated share {stated} "
                                      f"≠ police ÷ general fund {share:.4f}")
                out.append([(r.get("state") or r.get("State") or "").strip().upper(), r["city"].strip(), slug(r["city"]), 2000 + yy,
                            f"{police:.0f}", f"{fund:.0f}", f"{share:.6f}", SOURCE])
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        w.writerows(out)
    return len(out)


def _amount(text: str, path: Path, line: int, key: str) -> float:
    """A budget figure: a number, 0 or more; ConfigError naming the file, line and column otherwise."""
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{path}:{line}: column {key!r}: expected a number, got {text!r}") from None
    if not value >= 0 or math.isinf(value):
        raise ConfigError(f"{path}:{line}: column {key!r}: a budget figure must be a number, 0 or more, got {text!r}")
    return value


def load(path: Path | None = None) -> list[ShareRow]:
    path = path or derived_csv()
    if not path.is_file():
        raise ConfigError(f"{path} is missing: run `divert costs share --derive`")
    rows = []
    with reading(path), open(path, newline="", encoding="utf-8") as f:
        for i, r in enumerate(csv.DictReader(f), 2):
            try:
                year = int(r["fiscal_year"])
            except (KeyError, TypeError, ValueError):
                raise ConfigError(f"{path}:{i}: column 'fiscal_year': expected a year, got "
                                  f"{r.get('fiscal_year')!r}") from None
            try:
                rows.append(ShareRow(r["state"], r["city"], r["slug"], year,
                                     *(_amount(r[k], path, i, k) for k in ("police_budget", "general_fund",
                                                                           "police_share"))))
            except (KeyError, TypeError) as exc:
                raise ConfigError(f"{path}:{i}: expected columns {', '.join(COLUMNS)}; missing {exc}") from None
    return rows


def lookup(city: str, state: str | None = None, path: Path | None = None) -> list[ShareRow]:
    """Rows of one city (name or slug, any case), by fiscal year. Several states' cities of one
    name are all returned unless ``state`` picks one."""
    key = slug(city)
    rows = [r for r in load(path) if r.slug == key and (state is None or r.state == state.upper())]
    return sorted(rows, key=lambda r: (r.state, r.fiscal_year))
