"""Session fixtures: a real Kafka-API broker (tansu) and a real PostgreSQL, started by the test run.

Nothing here skips for lack of a service: the session starts the embedded stack itself in a
temporary folder and stops it at the end. Each test gets its own database and its own topic
prefix, so tests don't collide.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest
from hypothesis import settings

from divert import stack as local_stack
from divert.paths import shared_data_dir

SHARED = shared_data_dir()

# a property's examples are checked for what they assert, not for how fast a busy two-core machine
# runs them: hypothesis's 200 ms deadline would fail a correct test there
settings.register_profile("divert", deadline=None)
# `make test-unit` (--hypothesis-profile=unit): a quarter of each property's examples (tests/examples.py)
settings.register_profile("unit", settings.get_profile("divert"), max_examples=25)
settings.load_profile("divert")


@pytest.fixture(scope="session", autouse=True)
def _session_cache_folder(tmp_path_factory) -> None:
    """Where tests/session_cache.py keeps what one worker built for the others: the parent of the
    xdist workers' own basetemps (fresh each run; the run's id keeps runs apart regardless)."""
    from tests import session_cache

    base = tmp_path_factory.getbasetemp()
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    folder = base.parent / f"session-cache-{run}" if os.environ.get("PYTEST_XDIST_WORKER") and run \
        else base / "session-cache"
    folder.mkdir(exist_ok=True)
    session_cache.set_root(folder)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    assert SHARED.is_dir(), f"the shared data folder is missing: {SHARED} (set DIVERT_SHARED_DATA)"
    return SHARED


@pytest.fixture(scope="session")
def embedded_stack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stack")
    stack = asyncio.run(local_stack.up(folder, timeout=90))
    yield stack
    asyncio.run(local_stack.down(folder))


@pytest.fixture(scope="session")
def kafka_bootstrap(embedded_stack) -> str:
    return embedded_stack.broker_bootstrap


@pytest.fixture(scope="session")
def database_url(embedded_stack) -> str:
    return embedded_stack.database_url


@pytest.fixture
def db_dsn(database_url) -> str:
    """A fresh, empty database for one test (dropped afterwards)."""
    from tests.helpers import fresh_database

    with fresh_database(database_url) as dsn:
        yield dsn


@pytest.fixture
def topic_prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}."


@pytest.fixture
def service_env(embedded_stack, db_dsn, topic_prefix, tmp_path) -> dict[str, str]:
    """Environment for a divert subprocess: this session's broker, this test's database and topics."""
    env = dict(os.environ)
    env.update(DIVERT_KAFKA_BOOTSTRAP=embedded_stack.broker_bootstrap,
               DIVERT_DATABASE_URL=db_dsn,
               DIVERT_TOPIC_PREFIX=topic_prefix,
               DIVERT_STACK_DIR=str(tmp_path / "no-stack"),
               XDG_DATA_HOME=str(tmp_path / "data"))
    return env
