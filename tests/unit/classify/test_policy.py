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


def test_shape_errors_name_the_key_and_the_value():
    """msgspec checks the shape; the message names the key, a mapping's key included, and the value."""
    with pytest.raises(ConfigError, match=r"community\.yaml: key 'routes\.crisis': expected a list, got 'EDP'"):
        parse_policy({"version": "v", "routes": {"crisis": "EDP"}}, origin="community.yaml")
    with pytest.raises(ConfigError, match=r"key 'cities\.seattle\.availability\.crisis\.hourz': unknown key"):
        parse_policy({"version": "v", "cities": {"seattle": {"availability": {"crisis": {"hourz": []}}}}},
                     origin="community.yaml")
    with pytest.raises(ConfigError, match=r"key 'insufficient_information\.min_confidence': expected a number "
                                          r"<= 1\.0, got 2"):
        parse_policy({"version": "v", "insufficient_information": {"min_confidence": 2}}, origin="community.yaml")


def _with_program(text: str, areas: str) -> str:
    """The default policy with Seattle's crisis team serving ``areas`` only."""
    return text.replace("  seattle:\n", f"  seattle:\n    availability:\n      crisis:\n        areas: {areas}\n")


def test_a_program_serves_areas_of_the_city(tmp_path):
    """Each program's areas are layers and areas the city's reference files know."""
    from divert.paths import reference_dir

    text = (reference_dir() / "policies" / "default.yaml").read_text(encoding="utf-8")
    pilot = tmp_path / "pilot.yaml"
    pilot.write_text(_with_program(text, "{precinct: [East], beat: [C1, C2]}"))
    served = load_policy(pilot).city("seattle").availability["crisis"]
    assert served.serves({"precinct": "EAST", "beat": "C1"}) is None
    assert served.serves({"precinct": "WEST", "beat": "C1"}) == "precinct=WEST"

    pilot.write_text(_with_program(text, "{precint: [EAST]}"))
    with pytest.raises(ConfigError, match=r"^\S*pilot\.yaml: key 'cities\.seattle\.availability\.crisis\.areas\."
                                          r"precint': the crisis program in seattle serves areas of layer 'precint', "
                                          r"which seattle does not have \(layers: beat, precinct, sector; "
                                          r"reference/cities/seattle\.yaml, reference/areas/seattle\.yaml, "
                                          r"reference/crime/seattle\.yaml\)$"):
        load_policy(pilot)

    # a general restriction is every city's: Milwaukee's calls carry districts, San Antonio's too,
    # but Milwaukee's district OUT is no place
    general = tmp_path / "general.yaml"
    general.write_text(text.replace("    hours: [\"mon-sun 00:00-24:00\"]\n",
                                    "    hours: [\"mon-sun 00:00-24:00\"]\n    areas: {district: [\"3\", OUT]}\n"))
    with pytest.raises(ConfigError, match=r"key 'availability\.crisis\.areas\.district': the crisis program in "
                                          r"milwaukee serves district 'OUT', which the city's mapping marks as no place"):
        load_policy(general)


def test_an_area_given_by_polygons_only_must_be_one_of_them(tmp_path, monkeypatch):
    """Where a layer comes from polygons alone (no column), its areas are the polygons' names."""
    import shutil

    from divert.paths import reference_dir

    ref = tmp_path / "reference"
    shutil.copytree(reference_dir(), ref)
    mapping = ref / "cities" / "seattle.yaml"
    mapping.write_text(mapping.read_text(encoding="utf-8").replace("  beat: Beat\n", ""))
    (ref / "crime" / "seattle.yaml").unlink()
    monkeypatch.setenv("DIVERT_REFERENCE", str(ref))
    text = (ref / "policies" / "default.yaml").read_text(encoding="utf-8")
    pilot = tmp_path / "pilot.yaml"
    pilot.write_text(_with_program(text, "{beat: [C1, c2]}"))
    assert load_policy(pilot).city("seattle").availability["crisis"].areas == {"beat": {"C1", "C2"}}
    pilot.write_text(_with_program(text, "{beat: [C1, Z9]}"))
    with pytest.raises(ConfigError, match=r"key 'cities\.seattle\.availability\.crisis\.areas\.beat': the crisis "
                                          r"program in seattle serves beat 'Z9', not one of the layer's 5\d areas"):
        load_policy(pilot)
