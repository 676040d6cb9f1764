"""What the commands, reports and agents read from the database: one module per reader.

Every function takes an open connection (``consumers.db.connection.connect``) and returns the
core's own records or frames, so the command that calls it reads parse → source → core → render.
"""


async def stored_span(conn, table: str, column: str, agency: str, start, end, *, none_stored: str):
    """[start, end) where each open end becomes the agency's first / just after its last stored
    record; ConfigError(``none_stored``) when the agency has none. ``table``/``column`` are
    divert's own names, never user input."""
    from datetime import timedelta

    from divert.exceptions import ConfigError

    if start is not None and end is not None:
        return start, end
    lo, hi = await conn.fetchrow(f"select min({column}), max({column}) from {table} where agency = $1", agency)
    if lo is None:
        raise ConfigError(none_stored)
    return start or lo, end or hi + timedelta(microseconds=1)
