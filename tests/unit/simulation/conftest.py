"""A real slice of San Antonio: the first 18,000 rows of the shared file, which hold the city's
published days 1–5 November 2022 (the file is not in date order: later rows are other months),
classified with the default policy; and a crisis program in one substation, 07:00–23:00."""

from __future__ import annotations

import itertools
from functools import cache

import pytest
import yaml

from divert.adapters import load_adapter
from divert.classify import Classifier
from divert.costs.model import load_model
from divert.crosswalk import load_crosswalk
from divert.paths import reference_dir, shared_data_dir
from divert.policy import Policy, load_policy, parse_policy
from divert.simulation import Program
from tests.session_cache import built_once

SA_FILE = "san_antonio/sapd_calls_first_days_each_month_2022-11_to_2026-08.csv.gz"
SUBSTATION = "EAST"       # the substation with the most crisis-eligible calls in the slice


@cache
def sa_november_2022() -> tuple:
    return built_once("simulation-sa-november-2022", _classify_sa_november_2022)


def _classify_sa_november_2022() -> tuple:
    adapter = load_adapter("san_antonio")
    rows = itertools.islice(adapter.read_raw(shared_data_dir() / SA_FILE), 18_000)
    events = [e for e in (adapter.normalize(r).event for r in rows) if e is not None]
    clf = Classifier(load_crosswalk("san_antonio"), load_policy())
    return tuple(c for c in clf.classify_many(events)
                 if c.call.received_at.astimezone(clf.city.timezone).strftime("%Y-%m") == "2022-11")


def program_policy(route: str, substation: str = SUBSTATION) -> Policy:
    """The default policy with the program's hours and area for San Antonio."""
    doc = yaml.safe_load((reference_dir() / "policies" / "default.yaml").read_text(encoding="utf-8"))
    doc["cities"]["san_antonio"]["availability"] = {
        route: {"hours": ["mon-sun 07:00-23:00"], "areas": {"substation": [substation]}}}
    return parse_policy(doc, origin="test program", timezones=load_policy().timezones)


@pytest.fixture(scope="session")
def sa_calls() -> tuple:
    return sa_november_2022()


@pytest.fixture(scope="session")
def sa_model():
    return load_model("san_antonio")


@pytest.fixture(scope="session")
def crisis_program(sa_model):
    alt = sa_model.alternatives["crisis"]
    policy = program_policy("crisis")
    return lambda teams: Program(policy, "san_antonio", "crisis", teams=teams,
                                 target_minutes=alt.target_minutes, target_share=alt.target_share)
