"""The council page's map: a city's area boundaries (reference/areas/<name>.yaml) drawn as inline
SVG, one path per area, shaded by how far policing departs from reported crime there.

>>> from shapely.geometry import box
>>> svg = svg_map([("A", box(0, 0, 1, 1)), ("B", box(1, 0, 2, 1))], {"A": 2.0}, {"A": "A: 2× its share"})
>>> svg.count("<path class='area'"), "data-area='A'" in svg, "not compared" in svg
(2, True, True)
>>> shade(1.0), shade(4.0), shade(None)
('#f7f7f7', '#b2182b', '#dee2e6')
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import lru_cache

from divert.evaluation.report import esc
from divert.exceptions import ConfigError
from divert.labels import area_name

NO_VALUE = "#dee2e6"
# diverging, ColorBrewer RdBu: blue = less policing than the area's share of crime, red = more
_RAMP = ["#2166ac", "#67a9cf", "#d1e5f0", "#f7f7f7", "#fddbc7", "#ef8a62", "#b2182b"]
_STEPS = [(0.25, "¼×"), (0.5, "½×"), (1.0, "1×"), (2.0, "2×"), (4.0, "4×")]


def shade(ratio: float | None) -> str:
    """The colour of a ratio on a log scale from ¼× (deep blue) through 1× (white) to 4× (deep red)."""
    if ratio is None or (isinstance(ratio, float) and math.isnan(ratio)):
        return NO_VALUE
    x = 2.0 if ratio == math.inf else max(-2.0, min(2.0, math.log2(ratio))) if ratio > 0 else -2.0
    return _RAMP[round((x + 2) / 4 * (len(_RAMP) - 1))]


@lru_cache(maxsize=16)
def area_shapes(city: str, layer: str | None) -> tuple[tuple[str, object], ...] | None:
    """(area, shapely geometry in lon/lat) of the city's boundary file for ``layer``, one per area;
    None when the city has no boundary file for that layer."""
    from shapely import unary_union

    from divert.adapters import available_cities, load_adapter
    from divert.adapters.crime import available_crime_cities, load_crime_adapter
    from divert.areas import load_area_config, read_polygons
    from divert.paths import shared_data_dir

    if not layer:
        return None
    names = []
    if city in available_cities():
        names.append(load_adapter(city).mapping.area_layers)
    if city in available_crime_cities():
        names.append(load_crime_adapter(city).mapping.area_layers)
    for name in filter(None, names):
        spec = load_area_config(name).layers.get(layer)
        if spec is None:
            continue
        try:
            features = read_polygons(shared_data_dir() / spec.file, spec.key, spec.crs)
        except ConfigError:
            return None
        parts: dict[str, list] = {}
        for area, geom in features:
            parts.setdefault(area, []).append(geom)
        return tuple((area, unary_union(g)) for area, g in parts.items())
    return None


def _path(geom, project) -> str:
    polys = getattr(geom, "geoms", [geom])
    out = []
    for poly in polys:
        for ring in (poly.exterior, *poly.interiors):
            pts = [project(x, y) for x, y in ring.coords]
            out.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in pts) + "Z")
    return "".join(out)


def area_paths(shapes: Sequence[tuple[str, object]], fills: Mapping[str, str], notes: Mapping[str, str], *,
               width: int, max_height: int, css_class: str = "area", top: int = 10) -> tuple[list[str], int]:
    """Every area's boundary as an SVG path filled with ``fills[area]`` (``NO_VALUE`` when absent),
    ``notes[area]`` its tooltip, and its name where there are few enough areas to read them; fitted
    into ``width`` × at most ``max_height`` from ``top``. Returns the elements and the height used."""
    from shapely import bounds, get_coordinates

    minx, miny, maxx, maxy = bounds([g for _, g in shapes]).T
    x0, y0, x1, y1 = minx.min(), miny.min(), maxx.max(), maxy.max()
    kx = math.cos(math.radians((y0 + y1) / 2))          # equirectangular at the city's latitude
    scale = min((width - 20) / max((x1 - x0) * kx, 1e-9), (max_height - 20) / max(y1 - y0, 1e-9))
    height = int((y1 - y0) * scale) + 20
    left = (width - (x1 - x0) * kx * scale) / 2         # centred when the city is taller than wide

    def project(lon: float, lat: float) -> tuple[float, float]:
        return left + (lon - x0) * kx * scale, top + (y1 - lat) * scale

    tolerance = 0.6 / scale                              # simplify to about half a pixel
    paths, labels = [], []
    label = len(shapes) <= 80
    for area, geom in sorted(shapes, key=lambda s: s[0]):
        tip = esc(notes.get(area) or area_name(area))
        d = _path(geom.simplify(tolerance, preserve_topology=True), project)
        paths.append(f"<path class='{css_class}' data-area='{esc(area)}' d='{d}' fill='{fills.get(area, NO_VALUE)}' "
                     f"stroke='#343a40' stroke-width='0.8' fill-rule='evenodd'><title>{tip}</title></path>")
        if label and len(get_coordinates(geom)):
            p = geom.representative_point()
            x, y = project(p.x, p.y)
            labels.append(f"<text x='{x:.1f}' y='{y:.1f}' font-size='9' text-anchor='middle' "
                          f"dominant-baseline='middle' fill='#212529'>{esc(area_name(area))}</text>")
    return paths + labels, height


def svg_map(shapes: Sequence[tuple[str, object]], ratios: Mapping[str, float], notes: Mapping[str, str],
            *, width: int = 720, max_height: int = 640, caption: Sequence[str] = ()) -> str:
    """Inline SVG: every area's boundary, shaded by its ratio (``shade``), its name, a legend and
    the ``caption`` lines under it; ``notes`` become each area's tooltip."""
    fills = {area: shade(ratios.get(area)) for area, _ in shapes}
    tips = {area: notes.get(area) or f"{area_name(area)}: not compared in this period" for area, _ in shapes}
    elements, height = area_paths(shapes, fills, tips, width=width, max_height=max_height)
    legend_y = height + 8
    keys = [f"<rect x='{10 + 56 * i}' y='{legend_y}' width='50' height='12' fill='{shade(v)}' stroke='#868e96'/>"
            f"<text x='{35 + 56 * i}' y='{legend_y + 26}' font-size='11' text-anchor='middle'>{t}</text>"
            for i, (v, t) in enumerate(_STEPS)]
    keys.append(f"<rect x='{10 + 56 * 5 + 12}' y='{legend_y}' width='50' height='12' fill='{NO_VALUE}' "
                f"stroke='#868e96'/><text x='{10 + 56 * 6 + 12}' y='{legend_y + 10}' font-size='11'>not compared "
                "(no calls or no reported crime in this period)</text>")
    keys += [f"<text x='10' y='{legend_y + 46 + 15 * i}' font-size='11'>{esc(line)}</text>"
             for i, line in enumerate(caption)]
    total = legend_y + 40 + 15 * len(caption)
    return (f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {total}' width='{width}' "
            f"height='{total}' role='img' aria-label='map of areas'>"
            + "".join(elements) + "".join(keys) + "</svg>")
