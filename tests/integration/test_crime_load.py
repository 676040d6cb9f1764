"""Crime reports into the database: COPYed when new, upserted when stored, refused rows dead-lettered.

``write_crime_reports`` COPYs a batch none of whose reports is stored straight into crime_reports
and lets the keyed upsert decide otherwise; ``divert load`` of real Chicago rows with broken ones
spliced in must store every readable report once, dead-letter the rest with their reasons, and
change nothing when loaded again.
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
import re

import asyncpg
import msgspec

from consumers.db.history import HistoryWriters, LoadTotals, run_load
from consumers.db.migrate import migrate
from consumers.db.writer import CRIME_COPY_MIN, write_crime_reports
from divert.adapters.crime import load_crime_adapter
from divert.adapters.crime_columns import row_of
from divert.load import LoadBatch, crime_batches
from tests.helpers import slice_csv

STORED = ("select schema_version, agency, report_id, occurred_at, period_end, offense, category, count, "
          "arrest, areas, lat, lon from crime_reports order by agency, report_id, occurred_at")


def _reports(path):
    return [r for b in crime_batches(load_crime_adapter("chicago"), [path], size=10_000) for r in b.crime_reports]


def _as_rows(reports):
    return sorted(((r.schema_version, r.agency, r.report_id, r.occurred_at, r.period_end, r.offense, r.category,
                    r.count, r.arrest, r.areas, r.lat, r.lon) for r in reports), key=lambda t: (t[1], t[2], t[3]))


async def _stored(conn):
    return [(*r[:9], msgspec.json.decode(r[9]), *r[10:]) for r in await conn.fetch(STORED)]


def test_new_reports_are_copied_and_stored_ones_upserted(db_dsn, shared_data, tmp_path):
    reports = _reports(slice_csv(shared_data / "chicago/crimes_2017.csv.gz", tmp_path / "c.csv", 600, skip=1000))
    assert len(reports) == 600 and CRIME_COPY_MIN <= 200

    async def scenario():
        await migrate(db_dsn)
        conn = await asyncpg.connect(db_dsn)
        try:
            assert await write_crime_reports(conn, reports[:400]) == 400     # none stored: COPY
            assert await _stored(conn) == _as_rows(reports[:400])
            # the first is new, later ones stored: the COPY fails, nothing of it stays, the upsert decides
            assert await write_crime_reports(conn, [*reports[400:500], *reports[100:200]]) == 200
            assert await _stored(conn) == _as_rows(reports[:500])
            assert await write_crime_reports(conn, reports[200:]) == 400     # the first stored: the upsert
            assert await _stored(conn) == _as_rows(reports)

            later = msgspec.structs.replace(reports[300], arrest=not reports[300].arrest)
            assert await write_crime_reports(conn, [*reports[:299], later]) == 300
            assert await _stored(conn) == _as_rows([*reports[:300], later, *reports[301:]])
            assert await conn.fetchval("select count(*) from crime_reports") == 600
        finally:
            await conn.close()

    asyncio.run(scenario())


def test_a_report_the_database_refuses_is_dead_lettered_and_the_rest_stored(db_dsn, shared_data, tmp_path):
    path = slice_csv(shared_data / "chicago/crimes_2017.csv.gz", tmp_path / "c.csv", 300, skip=5000)
    reports = _reports(path)
    # a latitude the schema's record does not check when built in code, and the table refuses
    refused = msgspec.structs.replace(reports[150], lat=95.0, lon=-87.6)
    batch = LoadBatch(f"file:{path}", rows=300, crime_reports=[*reports[:150], refused, *reports[151:]])

    async def scenario():
        await migrate(db_dsn)
        writers = HistoryWriters(db_dsn)
        totals = LoadTotals()
        try:
            await writers.write(batch, totals)
        finally:
            await writers.close()
        conn = await asyncpg.connect(db_dsn)
        try:
            stored = await _stored(conn)
            letters = await conn.fetch("select record_id, reason, detail from dead_letters")
        finally:
            await conn.close()
        return totals, stored, letters

    totals, stored, letters = asyncio.run(scenario())
    assert stored == _as_rows([*reports[:150], *reports[151:]])
    assert totals.refused == 1 and len(letters) == 1
    assert letters[0]["reason"] == "refused_by_database"
    assert letters[0]["detail"].startswith('CheckViolationError: new row for relation "crime_reports" violates '
                                           'check constraint "crime_reports_lat_check"')


def test_load_with_broken_rows_stores_each_report_once(db_dsn, shared_data, tmp_path):
    with gzip.open(shared_data / "chicago/crimes_2018-01-01_to_2018-11-12.csv.gz", "rt", newline="") as f:
        header, *body = itertools.islice(f, 2501)
    broken = [",JX1,01/02/2018 10:00:00 AM" + "," * 17 + "\n",                     # no id, a short row
              body[3].replace("01/01/2018", "13/13/2018", 1),                        # no such date
              body[4].replace("01/01/2018", "01/01/2018\x02", 1)]                    # a control character
    path = tmp_path / "crimes.csv"
    path.write_text(header + "".join(body[:1200]) + "".join(broken) + "".join(body[1200:]), newline="")
    expected = _reports(path)

    async def load_and_read():
        totals = await run_load(db_dsn, "chicago", crime_input=path, include=("crime",), batch_size=1000)
        conn = await asyncpg.connect(db_dsn)
        try:
            return totals, await _stored(conn), [tuple(r) for r in await conn.fetch(
                "select field, reason, payload from dead_letters order by field, reason")]
        finally:
            await conn.close()

    totals, stored, letters = asyncio.run(load_and_read())
    assert totals.rows == 2503 and totals.crime_reports == len(expected) == 2500
    assert stored == _as_rows(expected)
    assert [(f, r) for f, r, _ in letters] == [("Date", "control_character"), ("Date", "unparseable_time"),
                                               ("ID", "missing")]
    blocks = {row.split(",")[3] for row in body[3:5]}                         # an address, never kept
    assert len(letters) == 3 and not any(b in p for b in blocks for _, _, p in letters)

    again, stored_again, letters_again = asyncio.run(load_and_read())
    assert (stored_again, letters_again) == (stored, letters)
    assert again.crime_reports == totals.crime_reports


def test_a_stored_row_the_database_refuses_is_the_reports_dead_letter(db_dsn, shared_data, tmp_path):
    """A history load hands the writers rows, not reports (``crime_batches(as_rows=True)``): a row
    the database refuses becomes the dead letter its report would, and the rest are stored."""
    path = slice_csv(shared_data / "chicago/crimes_2017.csv.gz", tmp_path / "c.csv", 300, skip=5000)
    reports = _reports(path)
    refused = msgspec.structs.replace(reports[150], lat=95.0, lon=-87.6)
    reports = [*reports[:150], refused, *reports[151:]]
    rows_batch = LoadBatch(f"file:{path}", rows=300, crime_rows=[row_of(r) for r in reports])
    reports_batch = LoadBatch(f"file:{path}", rows=300, crime_reports=reports)

    async def scenario(batch):
        await migrate(db_dsn)
        conn = await asyncpg.connect(db_dsn)
        try:
            await conn.execute("truncate crime_reports, dead_letters")
        finally:
            await conn.close()
        writers = HistoryWriters(db_dsn)
        totals = LoadTotals()
        try:
            await writers.write(batch, totals)
        finally:
            await writers.close()
        conn = await asyncpg.connect(db_dsn)
        try:
            return totals, await _stored(conn), [tuple(r) for r in await conn.fetch(
                "select source_topic, agency, record_id, field, reason, detail, payload from dead_letters")]
        finally:
            await conn.close()

    def when_stored_left_out(letters):  # the failing row's ingested_at and committed_at: now()
        return [(*letter[:5], re.sub(r"(, \d{4}-\d\d-\d\d [\d:.]+\+00){2}\)\.$", ").", letter[5]), letter[6])
                for letter in letters]

    rows_totals, rows_stored, rows_letters = asyncio.run(scenario(rows_batch))
    totals, stored, letters = asyncio.run(scenario(reports_batch))
    rows_letters, letters = when_stored_left_out(rows_letters), when_stored_left_out(letters)
    assert letters[0][5].endswith("95, -87.6).")
    assert rows_stored == stored == _as_rows([*reports[:150], *reports[151:]])
    assert rows_letters == letters and len(letters) == 1 and letters[0][4] == "refused_by_database"
    assert (rows_totals.crime_reports, rows_totals.refused) == (totals.crime_reports, totals.refused) == (300, 1)


def test_history_load_rows_are_the_reports_rows(shared_data, tmp_path):
    path = slice_csv(shared_data / "chicago/crimes_2017.csv.gz", tmp_path / "c.csv", 3000, skip=20_000)
    adapter = load_crime_adapter("chicago")
    for window in ({}, {"start": _reports(path)[100].occurred_at, "end": _reports(path)[2500].occurred_at}):
        by_reports = list(crime_batches(adapter, [path], size=700, **window))
        by_rows = list(crime_batches(adapter, [path], size=700, as_rows=True, **window))
        assert [[row_of(r) for r in b.crime_reports] for b in by_reports] == [b.crime_rows for b in by_rows]
        assert [(b.rows, b.dead_letters) for b in by_reports] == [(b.rows, b.dead_letters) for b in by_rows]
