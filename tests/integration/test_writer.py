"""The database writer: keyed, idempotent, and area rows always in step with calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from consumers.db.migrate import migrate
from consumers.db.sink import Database
from consumers.db.writer import write_calls, write_dead_letters
from consumers.exceptions import SinkUnavailable
from divert.deadletter import dead_letter
from divert.exceptions import InvalidRecord
from tests.records import classified_call

T = datetime(2023, 6, 4, 23, 18, 15, tzinfo=UTC)


async def _connected(dsn):
    await migrate(dsn)
    return await asyncpg.connect(dsn)


async def test_a_replayed_batch_changes_nothing(db_dsn):
    conn = await _connected(db_dsn)
    try:
        batch = [classified_call(f"c{i}", T + timedelta(minutes=i)) for i in range(50)]
        assert await write_calls(conn, batch) == 50
        before = await conn.fetch("select * from calls order by incident_id")
        areas_before = await conn.fetch("select * from call_areas order by incident_id, layer")
        await write_calls(conn, batch)
        assert await conn.fetch("select * from calls order by incident_id") == before
        assert await conn.fetch("select * from call_areas order by incident_id, layer") == areas_before
        assert len(areas_before) == 50 * 3  # district, beat, and the whole city
    finally:
        await conn.close()


async def test_a_later_version_of_an_incident_replaces_the_earlier(db_dsn):
    conn = await _connected(db_dsn)
    try:
        await write_calls(conn, [classified_call("c1", T, areas={"district": "D1", "beat": "B11"})])
        await write_calls(conn, [classified_call("c1", T, areas={"district": "D2"}, route="police",
                                                 eligible=False)])
        assert await conn.fetchval("select route from calls") == "police"
        assert {(r["layer"], r["area"]) for r in await conn.fetch("select layer, area from call_areas")} \
            == {("district", "D2"), ("city", "all")}
    finally:
        await conn.close()


async def test_a_time_known_to_the_second_wins_over_one_known_to_the_day(db_dsn):
    """Seattle publishes some events twice: in a date-only extract and in the full export."""
    conn = await _connected(db_dsn)
    local_midnight = datetime(2023, 6, 4, 7, tzinfo=UTC)
    day_only = classified_call("2023000154966", local_midnight, time_precision="day")
    precise = classified_call("2023000154966", T)
    try:
        await write_calls(conn, [day_only])
        await write_calls(conn, [precise])
        await write_calls(conn, [day_only])  # a late copy of the date-only row changes nothing
        await write_calls(conn, [precise, day_only])  # nor inside one batch
        rows = await conn.fetch("select received_at, time_precision from calls")
        assert [(r["received_at"], r["time_precision"]) for r in rows] == [(T, "second")]
        assert await conn.fetchval("select count(distinct received_at) from call_areas") == 1
    finally:
        await conn.close()


async def test_dead_letters_are_stored_once_whatever_their_offsets(db_dsn):
    """The embedded broker restarts empty and reuses offsets; a payload identifies a dead letter."""
    conn = await _connected(db_dsn)

    def letters(offset: int):
        return [dead_letter(f'{{"id": {i}}}'.encode(), source_topic="cad.raw.milwaukee", agency="milwaukee",
                            error=InvalidRecord("missing", field="time"), partition=2, offset=offset, item=i)
                for i in range(3)]
    try:
        await write_dead_letters(conn, letters(40))
        await write_dead_letters(conn, letters(0))  # the same records after a broker restart
        assert await conn.fetchval("select count(*) from dead_letters") == 3
    finally:
        await conn.close()


async def test_an_unreachable_database_is_reported_as_unavailable():
    from divert.stack import free_port

    database = Database(f"postgresql://postgres@127.0.0.1:{free_port()}/none")
    with pytest.raises(SinkUnavailable, match="cannot connect"):
        await database.run(write_calls, [classified_call("c1", T)])


async def test_a_record_the_database_refuses_is_set_aside_and_the_rest_stored(db_dsn):
    from consumers.db.sink import sink_for

    await migrate(db_dsn)
    database = Database(db_dsn)
    written = []
    sink = sink_for(database, "calls", on_written=lambda table, n, seconds: written.append(n))
    # built in code, so the schema's decoder never checked it; the table's CHECK does
    bad = classified_call("full-address", T, block_address="5237 N 35TH ST")
    sink.add([classified_call("ok1", T), bad, classified_call("ok2", T)])
    try:
        assert await sink.flush() == 2 and written == [2]  # the rows stored, not the rows offered
        (refused, why), = sink.take_rejected()
        assert refused is bad and "CheckViolation" in why
        conn = await asyncpg.connect(db_dsn)
        assert {r["incident_id"] for r in await conn.fetch("select incident_id from calls")} == {"ok1", "ok2"}
        await conn.close()
    finally:
        await database.close()


async def test_late_and_out_of_order_calls_update_the_right_window(db_dsn):
    conn = await _connected(db_dsn)
    hour = datetime(2023, 6, 4, 20, tzinfo=UTC)
    try:
        await write_calls(conn, [classified_call("now-1", hour + timedelta(hours=3)),
                                 classified_call("now-2", hour + timedelta(hours=3, minutes=5))])
        # arriving after them: two calls of three hours earlier, out of order among themselves
        await write_calls(conn, [classified_call("late-2", hour + timedelta(minutes=50)),
                                 classified_call("late-1", hour + timedelta(minutes=10))])
        rows = await conn.fetch("select bucket, calls from call_metrics_1h where layer = 'city' order by bucket")
        assert [(r["bucket"], r["calls"]) for r in rows] == [(hour, 2), (hour + timedelta(hours=3), 2)]
        minutes = await conn.fetch("select bucket from call_metrics_1m where layer = 'district' order by bucket")
        assert [r["bucket"] for r in minutes][:2] == [hour + timedelta(minutes=10), hour + timedelta(minutes=50)]
    finally:
        await conn.close()


async def test_a_dead_letter_the_database_refuses_is_stored_reduced(db_dsn):
    """A NUL (refused by PostgreSQL's text) or a lone surrogate (refused by the driver) in a dead
    letter built in code: it is stored reduced, never dropped, and the sink counts it."""
    from consumers.db.sink import sink_for
    from divert.exceptions import InvalidRecord
    from schemas import DeadLetter

    await migrate(db_dsn)
    database = Database(db_dsn)
    sink = sink_for(database, "dead_letters")
    letters = [DeadLetter(source_topic="cad.raw.milwaukee", agency="milwaukee", record_id=rid, reason="missing",
                          detail=str(InvalidRecord("missing", detail="x")), payload=payload,
                          failed_at=datetime(2024, 1, 1, tzinfo=UTC))
               for rid, payload in (("nul", "a\x00b"), ("surrogate", "c\ud800d"), ("fine", "{}"))]
    sink.add(letters)
    try:
        assert await sink.flush() == 3 and sink.take_rejected() == []
        conn = await asyncpg.connect(db_dsn)
        rows = {r["record_id"]: r for r in await conn.fetch("select record_id, detail, payload from dead_letters")}
        await conn.close()
        assert set(rows) == {"nul", "surrogate", "fine"}
        assert rows["nul"]["detail"].startswith("stored reduced") and "sha256" in rows["nul"]["payload"]
        assert rows["surrogate"]["detail"].startswith("stored reduced")
    finally:
        await database.close()


async def test_the_live_view_leaves_out_areas_that_name_no_place(db_dsn):
    """The live view's divergence ranking: an area the mapping marks non_geographic is neither
    ranked nor counted in the totals the shares come from."""
    from consumers.db.sources.live_view import snapshot
    from divert.adapters import not_places

    assert "SAPD OUTSIDE AREA" in not_places("san_antonio", "substation")
    await migrate(db_dsn)
    conn = await asyncpg.connect(db_dsn)
    calls = []
    for i, area in enumerate(["NORTH"] * 40 + ["SAPD OUTSIDE AREA"] * 40 + ["WEST"] * 40):
        source = "officer_initiated" if i % 4 == 0 else "911"
        calls.append(classified_call(f"c{i}", T + timedelta(minutes=i), agency="san_antonio", source=source,
                                     route="officer_initiated" if source == "officer_initiated" else "police",
                                     areas={"substation": area}))
    try:
        await write_calls(conn, calls)
        every = await snapshot(conn, "san_antonio", "substation")
        places = await snapshot(conn, "san_antonio", "substation",
                                not_places=not_places("san_antonio", "substation"))
    finally:
        await conn.close()
    assert "SAPD OUTSIDE AREA" in {a for a, *_ in every.divergent_areas}
    assert {a for a, *_ in places.divergent_areas} == {"NORTH", "WEST"}
