"""Where divert finds its reference tables and the shared sample data."""

from __future__ import annotations

import os
from pathlib import Path

from divert.exceptions import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA_ENV = "DIVERT_SHARED_DATA"


def reference_dir() -> Path:
    """Crosswalks, policies, city mappings and area tables (``DIVERT_REFERENCE`` overrides)."""
    return Path(os.environ.get("DIVERT_REFERENCE", REPO_ROOT / "reference"))


def default_shared_data_dir() -> Path:
    return REPO_ROOT.parent / "shared" / "data"


def shared_data_dir() -> Path:
    """The real sample data shipped beside the repository (``DIVERT_SHARED_DATA`` overrides).

    ConfigError, saying which folder is missing and how to point divert at the data, when the
    folder does not exist: every file divert would read there would be missing too.
    """
    setting = os.environ.get(SHARED_DATA_ENV)
    folder = Path(setting) if setting else default_shared_data_dir()
    if not folder.is_dir():
        origin = f"{SHARED_DATA_ENV}={setting}" if setting else f"the default; {SHARED_DATA_ENV} is not set"
        raise ConfigError(f"the shared data folder {folder} does not exist ({origin}): set {SHARED_DATA_ENV} "
                          "to the folder that holds san_antonio/, seattle/, milwaukee/, … "
                          f"(default {default_shared_data_dir()})")
    return folder


def shared_reference_dir() -> Path:
    return shared_data_dir().parent / "reference"
