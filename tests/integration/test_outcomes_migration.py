"""Migration 011 removes calls.no_police_action_score (issue 19: the score did not earn its
place in the prequential evaluation, see divert/dispositions.py), keeping every stored call."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import asyncpg

from consumers.db.migrate import MIGRATIONS_DIR, migrate
from consumers.db.writer import write_calls
from tests.records import classified_call

AT = datetime(2024, 5, 1, 12, tzinfo=UTC)


async def _columns(conn) -> set[str]:
    return {r["column_name"] for r in await conn.fetch(
        "select column_name from information_schema.columns where table_name = 'calls'")}


async def test_a_database_with_the_old_column_keeps_its_calls_and_loses_the_column(db_dsn, tmp_path):
    before = tmp_path / "migrations"
    before.mkdir()
    for path in MIGRATIONS_DIR.glob("*.sql"):
        if path.name[:3] < "011":
            shutil.copy(path, before / path.name)
    await migrate(db_dsn, directory=before)
    conn = await asyncpg.connect(db_dsn)
    try:
        assert "no_police_action_score" in await _columns(conn)
        await conn.execute(
            "insert into calls (agency, incident_id, source, initial_type, received_at, "
            "crosswalk_confidence, route, eligible_initial, eligible, policy_version, "
            "disposition, no_police_action_score) values "
            "('testville', 'old', '911', 'WELFARE CHECK', $1, 1, 'crisis', true, true, 'test-1', "
            "'Advised', 0.9)", AT)
        assert "011_drop_outcome_score" in await migrate(conn)
        assert "no_police_action_score" not in await _columns(conn)
        row = await conn.fetchrow("select incident_id, disposition from calls")
        assert tuple(row) == ("old", "Advised")       # the call and its disposition stay
        assert await migrate(conn) == []
        # the writer stores a call without the column
        assert await write_calls(conn, [classified_call("new", AT, disposition="Arrest")]) == 1
        assert await conn.fetchval("select count(*) from calls") == 2
    finally:
        await conn.close()
