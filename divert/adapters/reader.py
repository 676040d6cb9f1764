"""Reading a city's CSV (or CSV.gz) files as rows of ``{column name: str}``, and the one place
that turns what goes wrong while reading an input file — not UTF-8, a broken CSV record, a gzip
file cut short, a file that cannot be opened, YAML that does not parse — into a one-line
:class:`~divert.exceptions.InputFileError` (or :class:`~divert.exceptions.ConfigError` for
configuration files) naming the file and, when known, the line: ``path:line: what is wrong``.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from divert.exceptions import ConfigError, InputFileError

#: what reading a file (or decompressing it) raises when the file, not the program, is at fault
GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)


def resolve_history(patterns: Iterable[str], base: Path, origin: str) -> list[Path]:
    """The files named by ``history`` (paths or globs relative to ``base``), in the order given."""
    paths: list[Path] = []
    for pattern in patterns:
        found = sorted(base.glob(pattern)) if any(c in pattern for c in "*?[") else [base / pattern]
        found = [p for p in found if p.is_file()]
        if not found:
            raise ConfigError(f"{origin}: key 'history': no file matches {pattern!r} under {base}")
        paths.extend(found)
    return paths


def one_line(text: object) -> str:
    """``text`` on one line (parser messages often span several)."""
    return " ".join(str(text).split())


def _is_gzip(path: Path) -> bool:
    try:
        with open(path, "rb") as probe:
            return probe.read(2) == b"\x1f\x8b"
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise InputFileError("is a folder, not a file", path=path) from exc
    except OSError as exc:
        raise InputFileError(f"cannot read: {exc.strerror or exc}", path=path) from exc


def _open_text(path: Path) -> io.TextIOBase:
    # utf-8-sig: one Seattle export starts with a byte-order mark that would otherwise
    # become part of its first column's name
    if _is_gzip(path):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _bad_utf8(path: Path) -> tuple[int, int, int] | None:
    """(line, column, byte) of the first byte of ``path`` that is not UTF-8, if it can be found."""
    try:
        with (gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb")) as f:
            for n, raw in enumerate(f, 1):
                try:
                    raw.decode("utf-8-sig" if n == 1 else "utf-8")
                except UnicodeDecodeError as exc:
                    return n, exc.start + 1, raw[exc.start]
    except (OSError, *GZIP_ERRORS):
        return None
    return None


def _gzip_reason(exc: BaseException) -> str:
    return f"the gzip file is cut short or corrupt ({one_line(exc) or type(exc).__name__})"


def _csv_error(exc: BaseException, path: Path, record_line: int, lines_read: int) -> InputFileError:
    """The one-line error for ``exc``, raised while reading the record that starts on ``record_line``."""
    if isinstance(exc, UnicodeDecodeError):
        found = _bad_utf8(path)
        if found:
            line, column, byte = found
            return InputFileError(f"not UTF-8 text: byte 0x{byte:02x} at column {column} "
                                  "(save the file as UTF-8)", path=path, line=line)
        return InputFileError(f"not UTF-8 text after line {lines_read} ({exc.reason}; save the file as UTF-8)",
                              path=path)
    if isinstance(exc, csv.Error):
        text = str(exc)
        if "field larger than field limit" in text:
            text = (f"a field is longer than {csv.field_size_limit():,} characters, the most a CSV field may "
                    "hold (an unclosed quote?)")
        return InputFileError(f"not a valid CSV record: {one_line(text)}", path=path, line=record_line)
    if isinstance(exc, GZIP_ERRORS):
        return InputFileError(f"{_gzip_reason(exc)} after line {lines_read}", path=path)
    return InputFileError(f"cannot read after line {lines_read}: {getattr(exc, 'strerror', None) or exc}",
                          path=path)


def _csv_lists(path: Path) -> Iterator[list[str]]:
    """Every CSV record of ``path`` as the csv module gives it (the header first, blank lines as
    ``[]``); what goes wrong while reading becomes an InputFileError naming the file and line."""
    with _open_text(path) as handle:
        reader = csv.reader(handle)
        while True:
            record_line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except (UnicodeDecodeError, csv.Error, OSError, *GZIP_ERRORS) as exc:
                raise _csv_error(exc, path, record_line, reader.line_num) from exc
            yield row


def _uneven(header: list[str], row: list[str]) -> dict[str, str]:
    """A row shorter or longer than the header, as :func:`read_csv` yields it."""
    record = dict(zip(header, row + [""] * (len(header) - len(row)), strict=False))
    for i, extra in enumerate(row[len(header):], 1):
        record[f"_extra_{i}"] = extra
    return record


def read_csv(path: Path) -> Iterator[dict[str, str]]:
    """Every row of ``path`` as a dict keyed by the header's column names.

    A short row is padded with "" (so a missing value is reported by the adapter as
    missing, not lost); a long row keeps its surplus values under ``_extra_<n>`` keys,
    which adapters ignore. Blank lines are not records and are skipped.

    A file that cannot be read to its end (not UTF-8, a broken CSV record, a gzip file cut
    short) raises :class:`InputFileError` naming the file and line, while iterating: the rows
    before the fault have been yielded.
    """
    lists = _csv_lists(Path(path))
    header = next(lists, None)
    if header is None:
        return
    width = len(header)
    for row in lists:
        if len(row) == width:
            yield dict(zip(header, row, strict=True))
        elif row:
            yield _uneven(header, row)


class CsvChunk(NamedTuple):
    """Consecutive rows of a CSV file as lists of strings, for readers that work column by column.

    ``rows`` are the records :func:`read_csv` yields, in the same order, before they become
    dicts: a row may be shorter or longer than ``header``; :meth:`record` is its dict.
    """

    header: list[str]
    rows: list[list[str]]

    def record(self, row: list[str]) -> dict[str, str]:
        """``row`` exactly as :func:`read_csv` yields it."""
        if len(row) == len(self.header):
            return dict(zip(self.header, row, strict=True))
        return _uneven(self.header, row)

    def column(self, name: str) -> int | None:
        """The position :meth:`record` takes ``name``'s value from (the last of a repeated name)."""
        found = [i for i, h in enumerate(self.header) if h == name]
        return found[-1] if found else None


def read_csv_chunks(path: Path, size: int) -> Iterator[CsvChunk]:
    """The records of :func:`read_csv`, ``size`` at a time, as lists rather than dicts (a dict
    per row is most of what reading costs). The same records, order and errors: a fault raises
    :class:`InputFileError` while iterating, after the chunks before it."""
    lists = _csv_lists(Path(path))
    header = next(lists, None)
    if header is None:
        return
    keep_blank = not header  # read_csv yields a blank line as a record only under an empty header
    rows: list[list[str]] = []
    for row in lists:
        if row or keep_blank:
            rows.append(row)
            if len(rows) >= size:
                yield CsvChunk(header, rows)
                rows = []
    if rows:
        yield CsvChunk(header, rows)


@contextmanager
def reading(path: Path | str, *, config: bool = False, formats: tuple[type[BaseException], ...] = (),
            what: str = "file") -> Iterator[None]:
    """Turn what reading ``path`` in the ``with`` body may raise into one line naming the file.

    For readers that are not :func:`read_csv` (pandas, YAML, JSON): a file missing, unreadable,
    not UTF-8, a gzip file cut short, YAML that does not parse. ``config``: raise
    :class:`ConfigError` (the file configures divert) instead of :class:`InputFileError`.
    ``formats``: the parser's own errors (e.g. ``(ValueError,)`` around a lone ``pd.read_csv``
    call: pandas and pyarrow parse errors derive from it), reported as "not a valid <what>".
    Anything else (a programming error) goes through untouched.
    """
    import yaml

    def fail(reason: str, line: int | None = None) -> ConfigError | InputFileError:
        if config:
            return ConfigError(f"{path}:{line}: {reason}" if line else f"{path}: {reason}")
        return InputFileError(reason, path=path, line=line)

    try:
        yield
    except FileNotFoundError as exc:
        raise fail("no such file" if exc.filename in (None, str(path)) else
                   f"{exc.filename}: no such file") from exc
    except IsADirectoryError as exc:
        raise fail("is a folder, not a file") from exc
    except UnicodeDecodeError as exc:
        raise fail(f"not UTF-8 text: byte 0x{exc.object[exc.start]:02x} "
                   "(save the file as UTF-8)") from exc
    except GZIP_ERRORS as exc:
        raise fail(_gzip_reason(exc)) from exc
    except OSError as exc:
        raise fail(f"cannot read: {exc.strerror or exc}") from exc
    except csv.Error as exc:
        raise fail(f"not a valid CSV file: {one_line(exc)}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or exc
        raise fail(f"not valid YAML: {one_line(problem)}", mark.line + 1 if mark else None) from exc
    except formats as exc:
        raise fail(f"not a valid {what}: {one_line(exc) or type(exc).__name__}") from exc



def read_yaml(path: Path | str) -> Any:
    """The YAML document of configuration file ``path`` (None when empty); ConfigError naming the
    file (and line) when it cannot be read or parsed."""
    import yaml

    path = Path(path)
    with reading(path, config=True):
        return yaml.safe_load(path.read_text(encoding="utf-8"))
