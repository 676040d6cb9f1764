"""Write schemas/json/<record>.json from the Structs: ``python -m schemas.export``."""

from __future__ import annotations

import json
from pathlib import Path

from schemas.records import RECORDS, json_schema

JSON_DIR = Path(__file__).parent / "json"


def render(name: str) -> str:
    return json.dumps(json_schema(name), indent=2, sort_keys=True) + "\n"


def main() -> None:
    JSON_DIR.mkdir(exist_ok=True)
    for name in RECORDS:
        (JSON_DIR / f"{name}.json").write_text(render(name))


if __name__ == "__main__":
    main()
