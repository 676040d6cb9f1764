"""`divert load` stores what the streaming path stores.

A real slice of Milwaukee (2,000 rows plus unreadable ones) goes into one database through a
real worker (`divert replay` → broker → ingest → store), and into another through `divert load`;
calls, call_areas, officer activity and every metric window must be equal, row for row
(ingested_at / committed_at aside). Loading twice changes nothing.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from tests.helpers import run_divert, running_worker, slice_csv, wait_for_rows

ROWS = 2_000
BAD = [",2018-05-01 00:00:00,1 MAIN ST,,,4,THEFT,open",           # no id
       "99999991,not a time,1 MAIN ST,,,4,THEFT,open"]             # unreadable time

TABLES = {
    "calls": "select * from calls order by agency, incident_id",
    "call_areas": "select * from call_areas order by agency, incident_id, layer, area",
    "officer_activity": "select * from officer_activity order by agency, activity_id, occurred_at",
    "call_metrics_1h": "select * from call_metrics_1h order by bucket, layer, area, route, source, policy_version",
    "call_metrics_1d": "select * from call_metrics_1d order by bucket, layer, area, route, source, policy_version",
}
VOLATILE = {"ingested_at", "committed_at"}


async def _snapshot(dsn: str) -> dict[str, list[dict]]:
    conn = await asyncpg.connect(dsn)
    try:
        out = {}
        for name, sql in TABLES.items():
            out[name] = [{k: v for k, v in dict(r).items() if k not in VOLATILE} for r in await conn.fetch(sql)]
        out["dead_letters"] = [dict(r) for r in await conn.fetch(
            "select record_id, field, reason from dead_letters order by reason, record_id")]
        return out
    finally:
        await conn.close()


async def _create_db(dsn: str) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres")
    try:
        await admin.execute(f'create database "{name}"')
    finally:
        await admin.close()
    return dsn.rsplit("/", 1)[0] + f"/{name}"


async def _drop_db(dsn: str) -> None:
    admin = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres")
    try:
        await admin.execute(f'drop database if exists "{dsn.rsplit("/", 1)[1]}" with (force)')
    finally:
        await admin.close()


def _milwaukee_slice(shared_data, tmp_path):
    source = shared_data / "milwaukee/mpd_calls_for_service_2018-05-01_to_2018-05-21.csv.gz"
    return slice_csv(source, tmp_path / "mke.csv", ROWS, skip=5_000, extra_lines=BAD)


def _with_history(tmp_path, path):
    """A reference copy whose Milwaukee mapping's history is the slice."""
    import shutil

    from divert.paths import reference_dir

    reference = tmp_path / "reference"
    shutil.copytree(reference_dir(), reference)
    mapping = reference / "cities/milwaukee.yaml"
    text = mapping.read_text().replace("  - milwaukee/mpd_calls_for_service_2018-05-01_to_2018-05-21.csv.gz",
                                       f"  - {path}")
    mapping.write_text(text)
    return reference


def test_load_equals_the_stream_and_is_idempotent(service_env, db_dsn, shared_data, tmp_path):
    path = _milwaukee_slice(shared_data, tmp_path)
    reference = _with_history(tmp_path, path)
    env = dict(service_env, DIVERT_REFERENCE=str(reference))

    loaded_dsn = asyncio.run(_create_db(db_dsn))
    try:
        load_env = dict(env, DIVERT_DATABASE_URL=loaded_dsn)
        first = run_divert(load_env, "load", "--city", "milwaukee", "--quiet", "--batch-size", "700")
        assert first.returncode == 0, first.stderr
        assert f"{ROWS + 2:,} rows" in first.stdout and "2 dead letters" in first.stdout, first.stdout
        loaded = asyncio.run(_snapshot(loaded_dsn))
        officer = len(loaded["officer_activity"])
        assert officer > 0

        # Calls and officer activity travel on different topics, so each count is awaited on its own.
        with running_worker(env, "--city", "milwaukee", log=tmp_path / "worker.log") as worker:
            sent = run_divert(env, "replay", "--city", "milwaukee", "--input", str(path), "--quiet")
            assert sent.returncode == 0, sent.stderr
            stored = asyncio.run(wait_for_rows(
                db_dsn, "select (select count(*) from calls) + (select count(*) from dead_letters)", ROWS + 2,
                timeout=120))
            officer_stored = asyncio.run(wait_for_rows(
                db_dsn, "select count(*) from officer_activity", officer, timeout=60))
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
        assert (stored, officer_stored) == (ROWS + 2, officer)
        streamed = asyncio.run(_snapshot(db_dsn))

        for table in TABLES:
            assert len(loaded[table]) == len(streamed[table]) > 0, table
            assert loaded[table] == streamed[table], table
        assert loaded["dead_letters"] == streamed["dead_letters"]

        again = run_divert(load_env, "load", "--city", "milwaukee", "--quiet")
        assert again.returncode == 0, again.stderr
        assert asyncio.run(_snapshot(loaded_dsn)) == loaded
    finally:
        asyncio.run(_drop_db(loaded_dsn))
