"""Migration 016: call_areas carries each call's APCO code, and call_area_police_time gives the
same police time as call_police_time (007), per area row — what the programs dashboard's police
time panel reads instead of joining call_areas to calls.

Real data: Seattle's export 2018–2023 (adapter + Classifier), with Seattle's cost model synced;
one eligible call is given a clear time (as in test_costs.py) so the measured path is exercised
beside the assumed minutes per APCO code and the '*' fallback.

- rows stored before 016 get their call's code from the migration's backfill;
- the writer keeps the column in step, on its COPY path and on its array path (PGlite's);
- the view equals call_police_time joined to call_areas, column for column, float for float.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import asyncpg

from consumers.db.migrate import MIGRATIONS_DIR, migrate
from consumers.db.sources.costs import sync_model
from consumers.db.writer import (
    CALL_COLUMNS,
    _call_arrays,
    _staged_rows,
    _write_arrays,
    latest_per_incident,
    write_calls,
)
from divert.costs.model import load_model
from tests.integration.test_costs import seattle_calls

# call_areas as migrations 002–015 left it: no apco_code
_AREAS_BEFORE_016 = """
insert into call_areas (agency, incident_id, received_at, layer, area, policy_version, route, source,
                        time_precision, eligible_initial, eligible, arrived_at, cleared_at, units)
select c.agency, c.incident_id, c.received_at, a.layer, a.area, c.policy_version, c.route, c.source,
       c.time_precision, c.eligible_initial, c.eligible, c.arrived_at, c.cleared_at, c.units
from calls c
cross join lateral (
    select key, value from jsonb_each_text(c.areas) where value <> '' union all select 'city', 'all'
) as a(layer, area)
"""

_CODES_OUT_OF_STEP = """
select count(*) from call_areas a join calls c using (agency, incident_id, received_at)
where a.apco_code is distinct from c.apco_code
"""

_COLUMNS = ("time_precision", "source", "route", "apco_code", "eligible_initial", "eligible", "policy_version",
            "basis", "hours_low", "hours", "hours_high", "police_hour_low", "police_hour_central",
            "police_hour_high", "model_version")
_BY_CALL = f"""
select a.agency, a.incident_id, a.received_at, a.layer, a.area, {', '.join(f't.{c}' for c in _COLUMNS)}
from call_areas a
join call_police_time t using (agency, incident_id, received_at)
order by 1, 2, 3, 4
"""
_BY_AREA_ROW = f"""
select agency, incident_id, received_at, layer, area, {', '.join(_COLUMNS)}
from call_area_police_time
order by 1, 2, 3, 4
"""


async def _store_before_016(dsn: str, calls: list, tmp_path: Path) -> None:
    """Migrate to 015 and store the calls and their area rows as a database of then held them."""
    before = tmp_path / "migrations-015"
    before.mkdir()
    for path in MIGRATIONS_DIR.glob("*.sql"):
        if int(path.name[:3]) <= 15:
            shutil.copy(path, before)
    await migrate(dsn, directory=before)
    conn = await asyncpg.connect(dsn)
    try:
        rows = _staged_rows(_call_arrays(latest_per_incident(calls)))
        await conn.copy_records_to_table("calls", records=rows, columns=[c for c, _ in CALL_COLUMNS])
        await conn.execute(_AREAS_BEFORE_016)
    finally:
        await conn.close()


async def _assert_view_matches_call_police_time(conn) -> int:
    assert await conn.fetchval(_CODES_OUT_OF_STEP) == 0
    by_call, by_area_row = await conn.fetch(_BY_CALL), await conn.fetch(_BY_AREA_ROW)
    assert [tuple(r) for r in by_area_row] == [tuple(r) for r in by_call]
    return len(by_area_row)


def test_area_police_time_is_call_police_time_per_area_row(db_dsn, shared_data, tmp_path):
    async def run():
        calls = seattle_calls(shared_data)
        await _store_before_016(db_dsn, calls, tmp_path)
        assert "016_call_areas_apco_code" in await migrate(db_dsn)
        conn = await asyncpg.connect(db_dsn)
        try:
            await sync_model(conn, load_model("seattle"))
            rows = await _assert_view_matches_call_police_time(conn)      # the backfill
            basis = {r["basis"] for r in await conn.fetch("select distinct basis from call_area_police_time")}
            assert basis == {"measured", "assumed"} and rows > len(calls)  # every call has ≥ 2 area rows
            coded = await conn.fetchval("select count(*) from call_areas where apco_code is not null")
            assert coded > 0

            await conn.execute("update call_areas set apco_code = null")
            await write_calls(conn, calls)                                 # the COPY path
            assert await _assert_view_matches_call_police_time(conn) == rows
            assert await conn.fetchval("select count(*) from call_areas where apco_code is not null") == coded

            await conn.execute("update call_areas set apco_code = null")
            async with conn.transaction():                                 # PGlite's array path
                await _write_arrays(conn, _call_arrays(latest_per_incident(calls)), windows=False)
            assert await _assert_view_matches_call_police_time(conn) == rows
            assert await conn.fetchval("select count(*) from call_areas where apco_code is not null") == coded
        finally:
            await conn.close()

    asyncio.run(run())
