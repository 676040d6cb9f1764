"""Policy files: communities edit them, so every error names the key."""

from __future__ import annotations

import pytest

from divert.exceptions import ConfigError
from divert.policy import load_policy, parse_policy


def test_default_policy_loads_with_version():
    p = load_policy()
    assert p.version == "default-2026.1"
    assert p.city("seattle").timezone.key == "America/Los_Angeles"
    assert p.city("atlantis").priority_threshold is None


@pytest.mark.parametrize("data,key", [
    ({}, "'version'"),
    ({"version": "v", "routes": {"crisis": ["ASSAULT"]}}, "'routes.crisis'"),
    ({"version": "v", "routes": {"helicopter": ["NOISE"]}}, "'routes.helicopter'"),
    ({"version": "v", "routes": {"crisis": "EDP"}}, "'routes.crisis'"),
    ({"version": "v", "routes": {"crisis": ["EDP"], "police": ["EDP"]}}, "'routes.police'"),
    ({"version": "v", "disqualifiers": {"weapon": {"route": "crisis", "keywords": ["GUN"]}}},
     "'disqualifiers.weapon.route'"),
    ({"version": "v", "disqualifiers": {"weapon": {"reason": "x"}}}, "'disqualifiers.weapon'"),
    ({"version": "v", "disqualifiers": {"weapon": {"keywords": ["GUN"], "rute": "police"}}},
     "'disqualifiers.weapon.rute'"),
    ({"version": "v", "availability": {"crisis": {"hours": ["weekdays 8-5"]}}},
     "'availability.crisis.hours[0]'"),
    ({"version": "v", "availability": {"crisis": {"hours": ["mon-fri 08:30-17:00"]}}},
     "'availability.crisis.hours[0]'"),
    ({"version": "v", "availability": {"crisis": {"fallback": "navigator"}}},
     "'availability.crisis.fallback'"),
    ({"version": "v", "cities": {"x": {"timezone": "Mars/Olympus"}}}, "'cities.x.timezone'"),
    ({"version": "v", "cities": {"x": {"priority_threshold": "high"}}},
     "'cities.x.priority_threshold'"),
    ({"version": "v", "insufficient_information": {"min_confidence": 2}},
     "'insufficient_information.min_confidence'"),
])
def test_errors_name_the_key(data, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.").replace("[", r"\[").replace("]", r"\]")):
        parse_policy(data, origin="community.yaml")


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_policy(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_policy(bad)


def test_hours_of_week():
    p = parse_policy({"version": "v", "availability": {
        "navigator": {"hours": ["mon-fri 08:00-20:00", "sat 10:00-12:00"]}}})
    hours = p.availability["navigator"].hours
    assert len(hours) == 5 * 12 + 2 and 8 in hours and 7 not in hours and 5 * 24 + 11 in hours


def test_the_policy_agrees_with_the_other_reference_files(tmp_path):
    """A city's time zone is its mapping's, and every code the policy routes is an APCO code."""
    from divert.paths import reference_dir

    text = (reference_dir() / "policies" / "default.yaml").read_text(encoding="utf-8")
    assert load_policy().city("san_antonio").timezone.key == "America/Chicago"   # from reference/cities/

    other_zone = tmp_path / "zone.yaml"
    other_zone.write_text(text.replace("  seattle:\n", "  seattle:\n    timezone: America/New_York\n"))
    with pytest.raises(ConfigError, match=r"'cities\.seattle\.timezone': America/New_York, but the city's mapping"):
        load_policy(other_zone)

    misspelt = tmp_path / "code.yaml"
    misspelt.write_text(text.replace("crisis: [EDP, WELFARE,", "crisis: [EDP, WELFAER,"))
    with pytest.raises(ConfigError, match=r"'routes\.crisis': 'WELFAER' is not an APCO code"):
        load_policy(misspelt)
