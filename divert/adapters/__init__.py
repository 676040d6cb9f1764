"""City adapters: each city's raw CAD records -> canonical ``CadEvent`` (+ ``OfficerActivity``).

An adapter is data, not code: ``reference/cities/<city>.yaml`` says which column holds each
canonical field, how times are written, which values mean 911 / non-emergency /
officer-initiated / alarm / other, and which columns are areas. ``reference/cities/README.md``
is the analyst's guide to onboarding a new city. Adapters are pure: no broker, no database.

>>> adapter = load_adapter("milwaukee")
>>> ev, act = adapter.normalize({"id": "1211372", "time": "2018-05-01 00:10:28",
...     "location": "5237 N 35TH ST,MKE", "latitude": "43.1127987", "longitude": "-87.9567414",
...     "district": "4", "nature": "TRBL W/SUBJ", "status": "Unable to Locate Complainant"})
>>> ev.received_at.isoformat(), ev.source, ev.block_address, ev.areas, (ev.lat, ev.lon), act
('2018-05-01T05:10:28+00:00', '911', '5200 BLOCK N 35TH ST', {'district': '4'}, (43.113, -87.957), None)
>>> adapter.normalize({"id": "1", "time": "yesterday", "nature": "PATROL"})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
divert.exceptions.InvalidRecord: record 1: field 'time': time: 'yesterday' is not a time in America/Chicago: ...

Errors: a bad record raises :class:`~divert.exceptions.InvalidRecord` (reason codes in
``divert.adapters.values``; ``field`` is the source column); a bad mapping raises
:class:`~divert.exceptions.ConfigError` naming the file and key.
"""

from __future__ import annotations

from divert import reference
from divert.adapters.adapter import CityAdapter, Normalized
from divert.adapters.address import to_block_address
from divert.adapters.mapping import DEFAULT_PRIVATE_COLUMNS, CityMapping, is_private, load_mapping


def available_cities() -> list[str]:
    """The slugs of every city with a mapping in ``reference/cities/``."""
    return reference.available("cities")


def load_adapter(city: str) -> CityAdapter:
    """The adapter for ``city``, from ``reference/cities/<city>.yaml``; ConfigError if the file
    is missing or invalid (the message names the file and the key)."""
    path = reference.path_of("cities", city, what="city mapping")
    return CityAdapter(city, load_mapping(path), origin=str(path))


def not_places(city: str, layer: str) -> frozenset[str]:
    """Values of ``layer`` in ``city`` that name no place (the mapping's ``non_geographic``:
    dispatch channels, "outside area"): never compared, ranked or mapped. Empty for a city with
    no CAD mapping."""
    from divert.adapters.mapping import non_geographic

    if city not in available_cities():
        return frozenset()
    return non_geographic(load_adapter(city).mapping, layer)


__all__ = [
    "not_places",
    "CityAdapter", "CityMapping", "Normalized", "DEFAULT_PRIVATE_COLUMNS", "available_cities",
    "load_adapter", "to_block_address", "is_private",
]
