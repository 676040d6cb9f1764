"""Slices of the real shared data: only the first N rows of each file are read."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import pytest

from divert.adapters import CityAdapter, load_adapter
from divert.paths import shared_data_dir

HERE = Path(__file__).parent


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def first_rows(adapter: CityAdapter, relpath: str, n: int) -> list[dict[str, str]]:
    return list(islice(adapter.read_raw(shared_data_dir() / relpath), n))


def by_id(adapter: CityAdapter, rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {adapter.record_id(r): r for r in rows}


@pytest.fixture(scope="session")
def san_antonio() -> CityAdapter:
    return load_adapter("san_antonio")


@pytest.fixture(scope="session")
def milwaukee() -> CityAdapter:
    return load_adapter("milwaukee")


@pytest.fixture(scope="session")
def seattle() -> CityAdapter:
    return load_adapter("seattle")


@pytest.fixture(scope="session")
def sa_rows(san_antonio) -> list[dict[str, str]]:
    return first_rows(san_antonio, "san_antonio/sapd_calls_first_days_each_month_2022-11_to_2026-08.csv.gz", 2000)


@pytest.fixture(scope="session")
def mke_rows(milwaukee) -> list[dict[str, str]]:
    return first_rows(milwaukee, "milwaukee/mpd_calls_for_service_2018-05-01_to_2018-05-21.csv.gz", 2000)


@pytest.fixture(scope="session")
def sea_rows(seattle) -> list[dict[str, str]]:
    # Seattle is tiny (4,680 rows over 5 files): all of it
    return list(seattle.read_raw())
