"""Spike counting is keyed by agency: two workers in one group raise the same alerts as one.

Real processes: `divert replay` → the embedded broker → `divert worker`(s) → alerts.diversion and
the alerts table. calls.classified is keyed by incident, so each of two workers reads about half
of San Antonio's calls; the spike agent forwards them to spikes.calls keyed by agency, so one
worker counts the whole city. The same history with a planted spike goes once through one worker
and once through two (own topics, own database each); the alerts must be the same.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import asyncpg
import pytest
import yaml

from tests.helpers import fresh_database, read_topic, run_divert, running_worker, wait_for_rows
from tests.integration.test_alerting_e2e import planted_history

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def second_database(database_url):
    with fresh_database(database_url) as dsn:
        yield dsn


def _wait_joined(logs: list[Path], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(log.exists() and "detect_spikes" in log.read_text(errors="replace")
               and "Joined group" in log.read_text(errors="replace") for log in logs):
            return
        time.sleep(0.5)


def _alerts_of(env: dict, dsn: str, rows: int, bootstrap: str, workers: int, tmp_path: Path, tag: str) -> tuple:
    logs = [tmp_path / f"{tag}-worker{i}.log" for i in range(workers)]
    with running_worker(env, "--city", "san_antonio", log=logs[0]) as first:
        extra = running_worker(env, "--city", "san_antonio", log=logs[1]) if workers > 1 else None
        if extra is not None:
            second = extra.__enter__()
        try:
            _wait_joined(logs)
            time.sleep(8 if workers > 1 else 2)  # the group settles on both workers before the replay
            result = run_divert(env, "replay", "--city", "san_antonio", "--input",
                                str(tmp_path / "planted.csv"), "--quiet")
            assert result.returncode == 0, result.stderr
            stored = asyncio.run(wait_for_rows(dsn, "select count(*) from calls", rows - 1, timeout=120))
            assert stored >= rows - 1
            records = asyncio.run(read_topic(bootstrap, env["DIVERT_TOPIC_PREFIX"] + "alerts.diversion",
                                             expect=2, timeout=90, settle=5))
            assert first.poll() is None, logs[0].read_text()[-3000:]
            if extra is not None:
                assert second.poll() is None, logs[1].read_text()[-3000:]
        finally:
            if extra is not None:
                extra.__exit__(None, None, None)
    alerts = {(a["alert_id"], a["state"], a["observed"], round(a["expected"], 3), a["message"])
              for a in (json.loads(r.value) for r in records)}

    async def table():
        conn = await asyncpg.connect(dsn)
        try:
            return {tuple(r) for r in await conn.fetch("select alert_id, state from alerts")}
        finally:
            await conn.close()
    time.sleep(2)  # the store writes what the topic holds
    return alerts, asyncio.run(table()), [log.read_text(errors="replace") for log in logs]


def test_two_workers_raise_the_alerts_one_worker_raises(tmp_path, shared_data, service_env, db_dsn,
                                                        second_database, kafka_bootstrap):
    source = next((shared_data / "san_antonio").glob("*.csv.gz"))
    _, rows = planted_history(source, tmp_path / "planted.csv")
    settings = tmp_path / "alerting.yaml"
    reference = yaml.safe_load((ROOT / "reference/alerting.yaml").read_text())
    reference["cities"]["san_antonio"]["min_history_windows"] = 96  # one day of 15-minute windows
    settings.write_text(yaml.safe_dump(reference))

    one_env = dict(service_env, DIVERT_ALERT_SETTINGS=str(settings), DIVERT_DATABASE_URL=db_dsn)
    one, one_table, _ = _alerts_of(one_env, db_dsn, rows, kafka_bootstrap, 1, tmp_path, "one")
    two_env = dict(one_env, DIVERT_TOPIC_PREFIX=f"t{uuid.uuid4().hex[:8]}.", DIVERT_DATABASE_URL=second_database)
    two, two_table, logs = _alerts_of(two_env, second_database, rows, kafka_bootstrap, 2, tmp_path, "two")

    assert any(a[0].startswith("san_antonio/substation/WEST/crisis/") and a[1] == "firing" for a in one), one
    # both workers took part (each consumed partitions of the classified calls) ...
    assert all("Joined group" in log for log in logs)
    # ... and the alerts are the same, on the topic and in the table, figures and words included
    assert two == one
    assert two_table == one_table == {(a[0], a[1]) for a in one}
