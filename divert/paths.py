"""Where divert finds its reference tables and the shared sample data."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def reference_dir() -> Path:
    """Crosswalks, policies, city mappings and area tables (``DIVERT_REFERENCE`` overrides)."""
    return Path(os.environ.get("DIVERT_REFERENCE", REPO_ROOT / "reference"))


def shared_data_dir() -> Path:
    """The real sample data shipped beside the repository (``DIVERT_SHARED_DATA`` overrides)."""
    return Path(os.environ.get("DIVERT_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def shared_reference_dir() -> Path:
    return shared_data_dir().parent / "reference"
