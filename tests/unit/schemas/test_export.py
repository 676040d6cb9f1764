"""The committed JSON Schemas do not depend on the interpreter or msgspec version that wrote them.

Python 3.13 strips the common indentation of docstrings when it compiles them, 3.11 keeps it, and
msgspec before 0.19 passed a docstring on with only ``textwrap.dedent``, which keeps the
indentation of every line after an unindented first one. ``schemas.export`` runs every
description through ``inspect.cleandoc``, so each combination renders the same file.
"""

from __future__ import annotations

import inspect
import textwrap

import msgspec
import pytest

from schemas import RECORDS
from schemas.export import JSON_DIR, render
from schemas.records import ClassifiedCall


def docstring_as_313_compiles_it(doc: str) -> str:
    first, _, rest = doc.partition("\n")
    return first + "\n" + textwrap.dedent(rest)


def docstring_as_311_compiles_it(doc: str) -> str:
    first, _, rest = inspect.cleandoc(doc).partition("\n")
    return first + "\n" + textwrap.indent(rest, "    ") + "\n    "


@pytest.mark.parametrize("compile_doc", [docstring_as_313_compiles_it, docstring_as_311_compiles_it,
                                         inspect.cleandoc])
@pytest.mark.parametrize("name", sorted(RECORDS))
def test_the_rendered_schema_does_not_depend_on_how_docstrings_are_compiled(name, compile_doc, monkeypatch):
    for struct in {RECORDS[name], ClassifiedCall}:
        monkeypatch.setattr(struct, "__doc__", compile_doc(struct.__doc__))
    assert render(name) == (JSON_DIR / f"{name}.json").read_text()


def test_descriptions_are_clean_whatever_msgspec_hands_over(monkeypatch):
    """As an older msgspec did: the docstring's indentation passed on as it is."""
    raw = msgspec.json.schema
    indented = docstring_as_311_compiles_it(ClassifiedCall.__doc__)

    def schema(tp):
        out = raw(tp)
        for definition in out.get("$defs", {}).values():
            if definition.get("title") == "ClassifiedCall":
                definition["description"] = indented
        return out

    monkeypatch.setattr(msgspec.json, "schema", schema)
    assert "\n    " in indented
    assert render("classified_call") == (JSON_DIR / "classified_call.json").read_text()
    assert "\\n    " not in render("classified_call")
