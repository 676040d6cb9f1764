"""Data contracts: one msgspec Struct per topic record and its JSON Schema (schemas/json/)."""

from schemas.records import *  # noqa: F403
from schemas.records import __all__  # noqa: F401
