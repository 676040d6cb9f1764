"""Errors raised by divert's sinks and notifiers (``consumers/``).

    DivertError                    (divert.exceptions)
    ├── SinkUnavailable            the database cannot be reached or went away: pause and
    │                              retry the batch, never drop it
    ├── DatabaseUnavailable        a command or report cannot connect to the database
    └── MigrationError             a schema migration failed or the migrations on disk are
                                   inconsistent (names the migration and the database's message)

Driver errors (asyncpg, OS) are translated at the boundary with ``raise … from exc``, so a
caller catches these types only.

>>> err = MigrationError("syntax error at or near \\"tabel\\"", version="003_alerts")
>>> str(err)
'migration 003_alerts: syntax error at or near "tabel"'
>>> isinstance(SinkUnavailable("db down"), DivertError)
True
"""

from __future__ import annotations

from divert.exceptions import DivertError


class SinkUnavailable(DivertError):
    """The database (or another sink's endpoint) is unreachable: pause, retry, never drop."""


class DatabaseUnavailable(DivertError):
    """A command, report or agent cannot connect to the database (the message says why)."""


class MigrationError(DivertError):
    """A migration could not be applied, or the migrations on disk are inconsistent."""

    def __init__(self, message: str, *, version: str | None = None):
        self.version = version
        super().__init__(f"migration {version}: {message}" if version else message)


__all__ = ["DivertError", "SinkUnavailable", "DatabaseUnavailable", "MigrationError"]
