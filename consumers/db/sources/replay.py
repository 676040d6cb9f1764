"""What a replay can skip: the calls and dead letters already stored (``divert replay``)."""

from __future__ import annotations

import asyncpg

from divert.ingest import event_key


async def stored_keys(conn, agency: str) -> set[bytes]:
    """Keys (agency:incident_id) of the calls and dead letters the database holds for an agency."""
    try:
        rows = await conn.fetch(
            "select incident_id as id from calls where agency = $1 union "
            "select record_id from dead_letters where agency = $1 and record_id is not null", agency)
    except asyncpg.UndefinedTableError:
        return set()  # not migrated yet: nothing stored
    return {event_key(agency, r["id"]) for r in rows}
