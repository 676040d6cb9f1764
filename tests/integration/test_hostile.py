"""A live worker fed hostile messages between valid records, on the real broker and database.

Whatever one message holds, the worker keeps running, every record before and after it is
stored, every hostile record is dead-lettered and stored, and no planted personal string is
found in any row of any table or in any topic the worker writes.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from divert.stack import free_port
from schemas import decode_dead_letter
from streams.outbox import produce_all
from tests.helpers import fresh_database, read_topic, running_worker, wait_for_rows
from tests.hostile import KINDS, PHONE, hostile_messages, leaked, records_in, valid_record
from tests.records import classified_call

DIVERT_TOPICS = ("cad.events", "officer.activity", "calls.classified", "deadletter", "alerts.diversion",
                 "spikes.calls")
_ids = itertools.count()


@pytest.fixture(scope="module")
def hostile_worker(embedded_stack, tmp_path_factory):
    """One worker for the module, with its own database and topics."""
    folder = tmp_path_factory.mktemp("hostile")
    prefix = f"t{uuid.uuid4().hex[:8]}."
    log = folder / "worker.log"
    with fresh_database(embedded_stack.database_url) as dsn:
        env = dict(os.environ, DIVERT_KAFKA_BOOTSTRAP=embedded_stack.broker_bootstrap, DIVERT_DATABASE_URL=dsn,
                   DIVERT_TOPIC_PREFIX=prefix, DIVERT_STACK_DIR=str(folder / "no-stack"),
                   XDG_DATA_HOME=str(folder / "data"))
        with running_worker(env, "--city", "milwaukee", "--metrics-port", str(free_port()), log=log) as worker:
            yield worker, embedded_stack.broker_bootstrap, dsn, prefix, log


async def _everything_stored(dsn: str) -> str:
    """Every row of every table, as text."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = [r["tablename"] for r in await conn.fetch("select tablename from pg_tables where schemaname = 'public'")]
        return "\n".join([r[0] for t in tables for r in await conn.fetch(f'select t::text from "{t}" t')])
    finally:
        await conn.close()


@settings(max_examples=3, deadline=None, phases=(Phase.explicit, Phase.generate),
          suppress_health_check=list(HealthCheck))
@given(st.tuples(*(hostile_messages(kinds=[k]) for k in KINDS)).flatmap(st.permutations))
def test_a_live_worker_survives_hostile_messages_and_leaks_nothing(hostile_worker, messages):
    worker, bootstrap, dsn, prefix, log = hostile_worker
    before = [valid_record(next(_ids)) for _ in range(5)]
    after = [valid_record(next(_ids)) for _ in range(5)]
    sent = [*(msgspec.json.encode(r) for r in before), *messages, *(msgspec.json.encode(r) for r in after)]
    asyncio.run(produce_all(bootstrap, prefix + "cad.raw.milwaukee", [(None, m) for m in sent]))

    ids = [r["id"] for r in (*before, *after)]
    stored = asyncio.run(wait_for_rows(
        dsn, f"select count(*) from calls where incident_id in ({','.join(repr(i) for i in ids)})", len(ids)))
    assert stored == len(ids), log.read_text()[-3000:]
    assert worker.poll() is None, log.read_text()[-3000:]

    expected = _expected_dead(sum(records_in(m) for m in messages))
    letters = [decode_dead_letter(r.value) for r in asyncio.run(read_topic(bootstrap, prefix + "deadletter",
                                                                           expect=expected))]
    assert len(letters) == expected  # every hostile record, none of the valid ones
    assert all(d.reason and d.detail for d in letters)
    distinct = len({(d.source_topic, d.payload) for d in letters})
    assert asyncio.run(wait_for_rows(dsn, "select count(*) from dead_letters", distinct)) == distinct

    stored_text = asyncio.run(_everything_stored(dsn))
    assert leaked(stored_text) == []
    searched = 0
    for topic in DIVERT_TOPICS:
        for record in asyncio.run(read_topic(bootstrap, prefix + topic, expect=0, settle=0.2, timeout=5)):
            assert leaked(record.value or b"") == [], (topic, record.value[:300])
            searched += 1
    assert worker.poll() is None, log.read_text()[-3000:]
    print(f"sent {len(sent)} messages ({len(messages)} hostile, {expected} dead letters so far on the topic, "
          f"{distinct} distinct stored); valid records stored {stored}/{len(ids)} (before and after); "
          f"planted strings found in {len(stored_text):,} characters of rows and {searched} topic records: 0; "
          f"worker running")


_dead_so_far = [0]


def _expected_dead(hostile: int) -> int:
    """Dead letters on the topic so far (the topic is shared by the module's examples)."""
    _dead_so_far[0] += hostile
    return _dead_so_far[0]


def test_own_topic_records_that_break_the_schema_are_dead_lettered_by_record_and_field(hostile_worker):
    """A producer writing calls.classified itself (not through the ingest hop): a record whose
    areas break the schema, or that the database refuses, is dead-lettered naming its agency,
    incident and field; the records around it are stored."""
    worker, bootstrap, dsn, prefix, log = hostile_worker
    at = datetime(2023, 6, 4, 12, tzinfo=UTC)
    good = [msgspec.to_builtins(classified_call(f"own-ok-{i}", at + timedelta(minutes=i))) for i in range(3)]
    broken_areas = {"own-city": {"city": "north"}, "own-long-layer": {"x" * 65: "1"},
                    "own-long-area": {"district": "d" * 201},
                    "own-many-layers": {f"layer{i}": "1" for i in range(33)},
                    f"own-{PHONE}": {"city": "south"}}  # an id is held to the payload's privacy rule
    bad = []
    for incident, areas in broken_areas.items():
        record = msgspec.to_builtins(classified_call(incident, at))
        record["call"]["areas"] = areas
        bad.append(record)
    refused = msgspec.to_builtins(classified_call("own-nul\x00", at))  # PostgreSQL text holds no NUL
    sent = [good[0], *bad, good[1], refused, good[2]]
    asyncio.run(produce_all(bootstrap, prefix + "calls.classified", [(None, msgspec.json.encode(r)) for r in sent]))

    ids = [r["call"]["incident_id"] for r in good]
    assert asyncio.run(wait_for_rows(
        dsn, f"select count(*) from calls where incident_id in ({','.join(repr(i) for i in ids)})", 3)) == 3
    expected = _expected_dead(len(bad) + 1)
    letters = [d for d in (decode_dead_letter(r.value) for r in asyncio.run(
        read_topic(bootstrap, prefix + "deadletter", expect=expected)))
        if d.source_topic == prefix + "calls.classified"]
    by_id = {d.record_id: d for d in letters}
    assert len(letters) == len(by_id) == 6, [(d.record_id, d.reason) for d in letters]
    assert leaked(b"".join(msgspec.json.encode(d) for d in letters)) == []
    assert "own-999-999-9999" in by_id
    for incident in [*broken_areas][:4]:
        d = by_id[incident]
        assert (d.agency, d.field, d.reason) == ("testville", "call.areas", "invalid_record"), d
    assert "'city' is the whole city's" in by_id["own-city"].detail
    assert "length <= 200" in by_id["own-long-area"].detail
    nul = by_id["own-nul\ufffd"]  # the id as stored: its NUL replaced
    assert (nul.agency, nul.reason) == ("testville", "refused_by_database") and nul.detail
    assert asyncio.run(wait_for_rows(dsn, "select count(*) from calls where incident_id like 'own-%'", 3)) == 3
    assert asyncio.run(wait_for_rows(
        dsn, "select count(*) from dead_letters where source_topic like '%calls.classified'", 6)) == 6
    assert leaked(asyncio.run(_everything_stored(dsn))) == []
    assert worker.poll() is None, log.read_text()[-3000:]
