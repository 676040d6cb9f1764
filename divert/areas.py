"""Area assignment: place a point in every polygon layer a city has (beats, neighborhoods).

A city's layers are listed in ``reference/areas/<name>.yaml`` (see ``reference/areas/README.md``):
which polygon file each layer comes from, which property names the area, and the file's
coordinate system. :class:`AreaIndex` holds one shapely ``STRtree`` per layer and answers
``assign(lat, lon) -> {layer: area}`` for one point or ``assign_many(lats, lons)`` for arrays.

Rules, so that every assignment can be explained:

* a point on the boundary of two polygons goes to the first of them in the file's order
  (deterministic, and rare: the adapters round points to 3 decimals, about 100 m, so an
  assignment within ~100 m of a boundary can be off by one area);
* a point outside every polygon of a layer gets no area in that layer;
* :meth:`AreaIndex.merge` combines the point's areas with the agency's own area codes: by
  default the polygon wins for the layers it covers (``prefer: point``) and the agency's
  code is kept where the record has no point or the point falls outside the layer; a layer
  configured ``prefer: agency`` only fills in layers the record does not carry.

>>> from shapely.geometry import box
>>> index = AreaIndex.from_layers({"beat": [("A1", box(0, 0, 1, 1)), ("A2", box(1, 0, 2, 1))]})
>>> index.assign(0.5, 0.5), index.assign(0.5, 1.0), index.assign(5.0, 5.0)
({'beat': 'A1'}, {'beat': 'A1'}, {})
>>> index.assign_many([0.5, 0.5, None], [0.5, 1.5, 0.5])["beat"].tolist()
['A1', 'A2', None]
>>> index.merge({"beat": "Z9", "sector": "C"}, 0.5, 1.5)
{'beat': 'A2', 'sector': 'C'}
>>> index.merge({"beat": "Z9"}, None, None)
{'beat': 'Z9'}
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import msgspec
import numpy as np

from divert import reference
from divert.exceptions import ConfigError
from divert.paths import shared_data_dir
from schemas.records import AreaLayer, check_area_layers

Crs = Literal["EPSG:4326", "EPSG:3857"]
Prefer = Literal["point", "agency"]

_EARTH_RADIUS_M = 6378137.0  # the Web Mercator sphere (EPSG:3857)


class LayerSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """One polygon layer of ``reference/areas/<name>.yaml``."""

    file: str                    # shapefile (.shp) or GeoJSON (.geojson / .geojson.gz / .json)
    key: str                     # the property (attribute) that names the area
    crs: Crs = "EPSG:4326"       # the file's coordinates; EPSG:3857 (Web Mercator) is converted here
    prefer: Prefer = "point"     # what wins when the record also carries the agency's code
    description: str = ""


class AreaConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    layers: dict[AreaLayer, LayerSpec]
    description: str = ""

    def __post_init__(self) -> None:
        check_area_layers(self.layers)


def web_mercator_to_wgs84(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spherical Web Mercator metres -> (lon, lat) degrees (the exact inverse of EPSG:3857).

    >>> lon, lat = web_mercator_to_wgs84(np.array([-13619878.8]), np.array([6060029.69]))
    >>> round(float(lon[0]), 4), round(float(lat[0]), 4)
    (-122.3495, 47.7178)
    """
    lon = np.degrees(np.asarray(x, dtype=float) / _EARTH_RADIUS_M)
    lat = np.degrees(2.0 * np.arctan(np.exp(np.asarray(y, dtype=float) / _EARTH_RADIUS_M)) - math.pi / 2)
    return lon, lat


def _to_wgs84(geometry, crs: str):
    import shapely

    if crs == "EPSG:4326":
        return geometry

    def convert(coords: np.ndarray) -> np.ndarray:
        lon, lat = web_mercator_to_wgs84(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geometry, convert)


def read_polygons(path: Path, key: str, crs: str = "EPSG:4326") -> list[tuple[str, object]]:
    """(area name, shapely geometry in WGS84 lon/lat) for every feature of a polygon file."""
    from shapely.geometry import shape

    path = Path(path)
    name = path.name.lower()
    try:
        if name.endswith(".shp"):
            import shapefile  # pyshp

            with shapefile.Reader(str(path)) as reader:
                fields = [f[0] for f in reader.fields[1:]]
                if key not in fields:
                    raise ConfigError(f"{path}: no attribute {key!r} (attributes: {', '.join(fields)})")
                features = [(str(sr.record[key]).strip(), shape(sr.shape.__geo_interface__))
                            for sr in reader.iterShapeRecords()]
        elif name.endswith((".geojson", ".geojson.gz", ".json", ".json.gz")):
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8") as f:
                doc = json.load(f)
            features = []
            for i, feat in enumerate(doc.get("features", [])):
                props = feat.get("properties") or {}
                if key not in props:
                    raise ConfigError(f"{path}: feature {i} has no property {key!r} "
                                      f"(properties: {', '.join(props)})")
                if feat.get("geometry"):
                    features.append((str(props[key]).strip(), shape(feat["geometry"])))
        else:
            raise ConfigError(f"{path}: unsupported polygon file (use .shp or .geojson[.gz])")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such polygon file") from exc
    return [(area, _to_wgs84(geom, crs)) for area, geom in features if area]


@dataclass
class _Layer:
    name: str
    areas: np.ndarray              # object array: area name per polygon, in file order
    tree: object                   # shapely STRtree over the polygons
    prefer: str = "point"
    geoms: np.ndarray | None = None  # the (prepared) polygons, in file order


@dataclass
class AreaIndex:
    """Polygon layers, each with an STRtree; pure and safe to share between threads."""

    layers: list[_Layer] = field(default_factory=list)

    @classmethod
    def from_layers(cls, layers: Mapping[str, Sequence[tuple[str, object]]],
                    prefer: Mapping[str, str] | None = None) -> AreaIndex:
        """Build from ``{layer: [(area, shapely polygon in lon/lat), ...]}``."""
        import shapely
        from shapely import STRtree

        built = []
        for name, features in layers.items():
            if not features:
                raise ConfigError(f"area layer {name!r} has no polygons")
            areas = np.array([a for a, _ in features], dtype=object)
            geoms = [g for _, g in features]
            shapely.prepare(geoms)  # prepared polygons answer point-in-polygon ~100x faster
            built.append(_Layer(name, areas, STRtree(geoms), (prefer or {}).get(name, "point"),
                                np.array(geoms, dtype=object)))
        return cls(built)

    @classmethod
    def from_config(cls, config: AreaConfig, data_dir: Path | None = None) -> AreaIndex:
        base = Path(data_dir or shared_data_dir())
        layers = {name: read_polygons(base / spec.file, spec.key, spec.crs)
                  for name, spec in config.layers.items()}
        return cls.from_layers(layers, {name: spec.prefer for name, spec in config.layers.items()})

    @property
    def layer_names(self) -> list[str]:
        return [layer.name for layer in self.layers]

    def assign(self, lat: float | None, lon: float | None) -> dict[str, str]:
        """The area of every layer that contains the point (none for a missing point)."""
        if lat is None or lon is None:
            return {}
        found = self.assign_many([lat], [lon])
        return {name: values[0] for name, values in found.items() if values[0] is not None}

    def assign_many(self, lats: Iterable[float | None], lons: Iterable[float | None]) -> dict[str, np.ndarray]:
        """Vectorized :meth:`assign`: ``{layer: object array of area or None}`` per point."""
        import shapely

        lat = np.array([np.nan if v is None else v for v in lats], dtype=float)
        lon = np.array([np.nan if v is None else v for v in lons], dtype=float)
        if lat.shape != lon.shape:
            raise ValueError("lats and lons differ in length")
        ok = np.isfinite(lat) & np.isfinite(lon)
        idx = np.flatnonzero(ok)
        points = shapely.points(lon[idx], lat[idx])
        out = {}
        for layer in self.layers:
            result = np.full(lat.shape, None, dtype=object)
            if len(points):
                # bounding-box candidates from the tree, then the exact test on the prepared
                # polygons (a predicate inside query() would prepare the points instead)
                pairs = layer.tree.query(points)
                pairs = pairs[:, shapely.intersects(layer.geoms[pairs[1]], points[pairs[0]])]
                if pairs.shape[1]:
                    # first polygon (file order) wins on a shared boundary: sort by (point, polygon)
                    order = np.lexsort((pairs[1], pairs[0]))
                    pt, poly = pairs[0][order], pairs[1][order]
                    first = np.r_[True, pt[1:] != pt[:-1]]
                    result[idx[pt[first]]] = layer.areas[poly[first]]
            out[layer.name] = result
        return out

    def merge(self, areas: Mapping[str, str], lat: float | None, lon: float | None) -> dict[str, str]:
        """The record's areas with the point's areas merged in (see the module's rules)."""
        merged = dict(areas)
        for name, area in self.assign(lat, lon).items():
            if self._prefer(name) == "point" or name not in merged:
                merged[name] = area
        return merged

    def _prefer(self, name: str) -> str:
        return next((layer.prefer for layer in self.layers if layer.name == name), "point")


def areas_dir() -> Path:
    return reference.folder("areas")


def load_area_config(name: str) -> AreaConfig:
    """``reference/areas/<name>.yaml`` parsed strictly; ConfigError names the file and key."""

    def parse(data, origin: str) -> AreaConfig:
        config = reference.convert(data, AreaConfig, origin)
        if not config.layers:
            raise ConfigError(f"{origin}: key 'layers': needs at least one layer")
        return config

    return reference.load("areas", name, parse, what="area configuration")


_cache: dict[tuple[str, str, str], AreaIndex] = {}


def load_area_index(name: str) -> AreaIndex:
    """The index for ``reference/areas/<name>.yaml`` (built once per process and data folder)."""
    key = (name, str(areas_dir()), str(shared_data_dir()))
    if key not in _cache:
        _cache[key] = AreaIndex.from_config(load_area_config(name))
    return _cache[key]


__all__ = ["AreaIndex", "AreaConfig", "LayerSpec", "load_area_config", "load_area_index",
           "read_polygons", "web_mercator_to_wgs84"]
