"""Every error divert raises on purpose derives from :class:`DivertError`.

    DivertError
    ├── ConfigError            a city mapping, policy or setting is wrong (names the file and key)
    ├── InputFileError         an input file cannot be read: not UTF-8, not CSV, a cut gzip, unreadable
    │                          (one line: "path:line: what is wrong")
    ├── InvalidRecord          one input record cannot be made canonical (names the record and field);
    │                          the record goes to the dead-letter topic, the worker goes on
    ├── StackError             the embedded broker or database could not be started or reached
    ├── SinkUnavailable        (consumers/) the database is unreachable: pause and retry, never drop
    └── StreamError            (streams/) a topic or agent is misconfigured

Driver errors (asyncpg, aiokafka, OS) are translated at the boundary with ``raise … from exc``.
"""

from __future__ import annotations


class DivertError(Exception):
    """Base of every error divert raises on purpose."""


class ConfigError(DivertError):
    """A configuration file or setting is invalid."""


class InputFileError(DivertError):
    """An input file cannot be read as what it should be (names the file, and the line when known).

    >>> str(InputFileError("not UTF-8 text", path="calls.csv", line=3))
    'calls.csv:3: not UTF-8 text'
    >>> str(InputFileError("permission denied", path="calls.csv"))
    'calls.csv: permission denied'
    """

    def __init__(self, reason: str, *, path: object, line: int | None = None):
        self.reason = reason
        self.path = str(path)
        self.line = line
        super().__init__(f"{self.path}:{line}: {reason}" if line else f"{self.path}: {reason}")


class StackError(DivertError):
    """The local stack (broker, database) could not be started, stopped or reached."""


class InvalidRecord(DivertError):
    """One input record cannot be turned into a canonical record.

    >>> err = InvalidRecord("missing", field="ResponseDate", record_id="SAPD-2022-1")
    >>> str(err)
    "record SAPD-2022-1: field 'ResponseDate': missing"
    >>> err.reason
    'missing'
    """

    def __init__(self, reason: str, *, field: str | None = None, record_id: str | None = None,
                 detail: str | None = None):
        self.reason = reason
        self.field = field
        self.record_id = record_id
        self.detail = detail
        parts = []
        if record_id:
            parts.append(f"record {record_id}")
        if field:
            parts.append(f"field {field!r}")
        parts.append(detail or reason)
        super().__init__(": ".join(parts))
