"""Write schemas/json/<record>.json from the Structs: ``python -m schemas.export``.

Descriptions come from the Structs' docstrings, which the interpreter hands over differently:
Python 3.13 strips their common indentation when it compiles them, 3.11 and 3.12 keep it. Every
description is therefore normalized with :func:`inspect.cleandoc`, so the committed schemas are
the same whichever Python writes or checks them.

>>> _clean({"description": "First line.\\n\\n    Indented detail.\\n    ", "type": "object"})
{'description': 'First line.\\n\\nIndented detail.', 'type': 'object'}
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

from schemas.records import RECORDS, json_schema

JSON_DIR = Path(__file__).parent / "json"


def _clean(node: Any) -> Any:
    """``node`` with every string ``description`` passed through :func:`inspect.cleandoc`."""
    if isinstance(node, dict):
        return {key: inspect.cleandoc(value) if key == "description" and isinstance(value, str)
                else _clean(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_clean(item) for item in node]
    return node


def render(name: str) -> str:
    return json.dumps(_clean(json_schema(name)), indent=2, sort_keys=True) + "\n"


def main() -> None:
    JSON_DIR.mkdir(exist_ok=True)
    for name in RECORDS:
        (JSON_DIR / f"{name}.json").write_text(render(name))


if __name__ == "__main__":
    main()
