"""Real data for the classification tests: events through the city adapters (Seattle and
Milwaukee in full, a San Antonio slice), and the shared Vera call-type categories."""

from __future__ import annotations

import itertools
from functools import cache

import pandas as pd
import pytest

from divert.adapters import load_adapter
from divert.classify import Classifier
from divert.crosswalk import load_crosswalk
from divert.paths import shared_reference_dir
from divert.policy import load_policy
from tests.session_cache import built_once


@cache
def events(city: str, limit: int | None = None) -> tuple:
    return built_once(f"classify-events-{city}-{limit}", lambda: _read_events(city, limit))


def _read_events(city: str, limit: int | None) -> tuple:
    adapter = load_adapter(city)
    rows = adapter.read_raw()
    if limit:
        rows = itertools.islice(rows, limit)
    out = {}
    for raw in rows:
        ev = adapter.normalize(raw).event
        if ev is not None:
            out[ev.incident_id] = ev  # files overlap (Seattle): one event per incident
    return tuple(out.values())


@pytest.fixture(scope="session")
def policy():
    return load_policy()


@pytest.fixture(scope="session")
def classifier(policy):
    return lambda city: Classifier(load_crosswalk(city), policy)


@pytest.fixture(scope="session")
def vera() -> pd.DataFrame:
    v = pd.read_csv(shared_reference_dir() / "vera_call_types_seattle_charleston.csv")
    return v[v.city == "Seattle"]
