"""Crash, outage and restart: the stored totals always equal a batch recomputation of the input.

At-least-once delivery with keyed, idempotent writes: a worker killed with SIGKILL at random
points, a database that goes away, an embedded broker that restarts and forgets every record —
after each, nothing is lost and nothing is counted twice.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import asyncpg
import pytest

from consumers.db.writer import latest_per_incident
from divert import stack as local_stack
from divert.adapters import load_adapter
from divert.classify import Classifier
from divert.crosswalk import load_crosswalk
from divert.exceptions import InvalidRecord
from divert.policy import load_policy
from tests.helpers import DIVERT, run_divert, running_worker, slice_csv, wait_for_rows

CITY = "san_antonio"
ROWS = 6000


def expected_totals(path: Path) -> tuple[Counter, int]:
    """Batch recomputation: the same core over the file, one version per incident."""
    adapter = load_adapter(CITY)
    classifier = Classifier(load_crosswalk(CITY), load_policy())
    events, dead = [], 0
    for raw in adapter.read_raw(path):
        try:
            events.append(adapter.normalize(raw).event)
        except InvalidRecord:
            dead += 1
    calls = latest_per_incident(classifier.classify_many(events))
    return Counter((c.route, c.eligible_initial, c.eligible) for c in calls), dead


async def stored_totals(dsn: str) -> tuple[Counter, int, int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("select route, eligible_initial, eligible, count(*) as n from calls "
                                "group by 1, 2, 3")
        windows = await conn.fetchval("select coalesce(sum(calls), 0) from call_metrics_1d "
                                      "where layer = 'city'")
        dead = await conn.fetchval("select count(*) from dead_letters")
    finally:
        await conn.close()
    return Counter({(r["route"], r["eligible_initial"], r["eligible"]): r["n"] for r in rows}), windows, dead


def sample(shared_data: Path, tmp_path: Path) -> Path:
    return slice_csv(next((shared_data / "san_antonio").glob("*.csv.gz")), tmp_path / "sa.csv", ROWS,
                     skip=150_000)


def start_replay(env: dict) -> subprocess.Popen:
    return subprocess.Popen([*DIVERT, "replay", "--city", CITY, "--input", env["SAMPLE"], "--quiet",
                             "--restart"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def assert_totals_match(dsn: str, path: Path, context: str = "") -> None:
    expected, expected_dead = expected_totals(path)
    total = sum(expected.values())
    asyncio.run(wait_for_rows(dsn, "select count(*) from calls", total, timeout=120))
    stored, windows, dead = asyncio.run(stored_totals(dsn))
    assert stored == expected, context
    assert windows == total, context
    assert dead == expected_dead, context


def test_sigkill_at_random_points_loses_and_doubles_nothing(shared_data, service_env, db_dsn, tmp_path):
    path = sample(shared_data, tmp_path)
    env = dict(service_env, SAMPLE=str(path))
    seed = int(os.environ.get("DIVERT_TEST_SEED", time.time()))
    rng = random.Random(seed)
    replay = start_replay(env)
    kills = 0
    try:
        for kill in range(4):
            with running_worker(env, "--city", CITY, log=tmp_path / f"worker{kill}.log") as worker:
                time.sleep(rng.uniform(4.0, 9.0))  # joins in ~3 s, then processes for a while
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
                kills += 1
        assert replay.wait(120) == 0, replay.stdout.read()
        with running_worker(env, "--city", CITY, log=tmp_path / "worker-final.log"):
            assert_totals_match(db_dsn, path, f"after {kills} SIGKILLs (DIVERT_TEST_SEED={seed})")
    finally:
        replay.kill()


@pytest.fixture
def own_database(tmp_path):
    """A PostgreSQL of this test's own, so it can be stopped without touching the session's."""
    folder = tmp_path / "pg"
    folder.mkdir()
    port = local_stack.free_port()

    def start() -> subprocess.Popen:
        proc = local_stack.start_database(folder, port)
        url = local_stack.database_url(port, local_stack.database_password(folder), "postgres")
        deadline = time.monotonic() + 30
        while not asyncio.run(local_stack.database_answers(url, 1)):
            assert time.monotonic() < deadline, (folder / "postgres.log").read_text()[-2000:]
            time.sleep(0.1)
        return proc

    server = {"proc": start()}
    url = local_stack.database_url(port, local_stack.database_password(folder), "postgres")

    def stop() -> None:
        server["proc"].send_signal(signal.SIGINT)
        server["proc"].wait(30)

    def restart() -> None:
        server["proc"] = start()

    yield url, stop, restart
    if server["proc"].poll() is None:
        stop()


@pytest.mark.parametrize("outage_seconds", [
    15, pytest.param(60, marks=pytest.mark.slow, id="a-minute")])
def test_the_backlog_drains_after_the_database_was_unreachable(
        shared_data, service_env, own_database, tmp_path, outage_seconds):
    url, stop, restart = own_database
    path = sample(shared_data, tmp_path)
    env = dict(service_env, DIVERT_DATABASE_URL=url, SAMPLE=str(path))
    with running_worker(env, "--city", CITY, log=tmp_path / "worker.log") as worker:
        replay = start_replay(env)
        asyncio.run(wait_for_rows(url, "select count(*) from calls", 500, timeout=60))
        stop()
        time.sleep(outage_seconds)
        assert worker.poll() is None, "the worker must wait for the database, not exit"
        restart()
        assert replay.wait(120) == 0
        assert_totals_match(url, path)
        assert worker.poll() is None


def test_an_embedded_broker_restart_loses_nothing(shared_data, tmp_path, db_dsn):
    """The embedded broker forgets every record when it restarts; the database remembers."""
    folder = tmp_path / "broker"
    folder.mkdir()
    port = local_stack.free_port()
    bootstrap = f"127.0.0.1:{port}"
    broker = local_stack.start_broker(folder, port)
    path = sample(shared_data, tmp_path)
    env = dict(os.environ, DIVERT_KAFKA_BOOTSTRAP=bootstrap, DIVERT_DATABASE_URL=db_dsn,
               DIVERT_STACK_DIR=str(tmp_path / "none"), SAMPLE=str(path))
    try:
        with running_worker(env, "--city", CITY, log=tmp_path / "worker1.log"):
            replay = start_replay(env)
            asyncio.run(wait_for_rows(db_dsn, "select count(*) from calls", 1000, timeout=60))
            broker.kill()
            broker.wait()
            replay.kill()
        broker = local_stack.start_broker(folder, port)
        with running_worker(env, "--city", CITY, log=tmp_path / "worker2.log"):
            resumed = run_divert(env, "replay", "--city", CITY, "--input", str(path), "--quiet")
            assert resumed.returncode == 0, resumed.stderr
            assert "already stored" in resumed.stderr
            assert_totals_match(db_dsn, path)
    finally:
        broker.kill()
        broker.wait()


def test_two_workers_rebalancing_mid_replay_lose_and_double_nothing(shared_data, service_env, db_dsn, tmp_path):
    """A second worker joins mid-replay, then the first leaves: the partitions move twice."""
    path = sample(shared_data, tmp_path)
    env = dict(service_env, SAMPLE=str(path))
    replay = start_replay(env)
    try:
        with running_worker(env, "--city", CITY, "--metrics-port", "0", log=tmp_path / "first.log") as first:
            asyncio.run(wait_for_rows(db_dsn, "select count(*) from calls", 500, timeout=60))
            with running_worker(env, "--city", CITY, log=tmp_path / "second.log"):
                time.sleep(8)  # the group rebalances onto both workers
                first.send_signal(signal.SIGTERM)  # and back onto the second alone
                first.wait(30)
                assert replay.wait(120) == 0
                assert_totals_match(db_dsn, path, "two workers, two rebalances")
        assert "Joined group 'divert.ingest'" in (tmp_path / "second.log").read_text()
    finally:
        replay.kill()
