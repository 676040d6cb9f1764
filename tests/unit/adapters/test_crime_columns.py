"""Crime rows read a chunk at a time and normalized a column at a time give what the row path gives.

``read_csv_chunks`` must yield exactly ``read_csv``'s records (and fail the same way), and
``CrimeAdapter.normalize_chunk`` exactly ``CrimeAdapter.normalize`` of each record: the same
report, or an InvalidRecord with the same reason, field, detail and record id. Checked on real
Chicago and Seattle rows, with broken rows spliced in where they split a chunk's columns.
"""

from __future__ import annotations

import gzip
import itertools

import pytest

from divert.adapters.crime import load_crime_adapter
from divert.adapters.reader import read_csv, read_csv_chunks
from divert.exceptions import InputFileError, InvalidRecord

CHICAGO = "chicago/crimes_2017.csv.gz"


def _outcome(result):
    if isinstance(result, InvalidRecord):
        return ("invalid", result.reason, result.field, result.detail, result.record_id)
    return result


def _row_path(adapter, path) -> list:
    out = []
    for raw in read_csv(path):
        try:
            out.append(adapter.normalize(raw))
        except InvalidRecord as err:
            out.append(err)
    return [_outcome(r) for r in out]


def _chunk_path(adapter, path, size: int) -> list:
    return [_outcome(r) for chunk in read_csv_chunks(path, size) for r in adapter.normalize_chunk(chunk)]


def _chicago_with_broken_rows(shared_data, tmp_path):
    with gzip.open(shared_data / CHICAGO, "rt", newline="") as f:
        header, *body = itertools.islice(f, 1201)
    names = header.rstrip("\r\n").split(",")
    template = body[7].rstrip("\r\n").split(",")

    def row(**values) -> str:
        fields = list(template)
        for name, value in values.items():
            fields[names.index(name.replace("_", " "))] = value
        return ",".join(fields) + "\n"

    broken = [
        row(ID=""),                                            # no id
        row(ID="99000001", Date="13/45/2017 09:00:00 PM"),     # no such time
        row(ID="99000002", Date="02/29/2017 10:00:00 AM"),     # no such day
        row(ID="99000003", Date=""),                           # no time
        row(ID="99000004", Primary_Type=""),                   # no offence
        row(ID="99000005", Primary_Type="X" * 300),            # offence too long
        row(ID="99000006", Primary_Type="THEFT\x01"),          # a control character
        row(ID="9" * 1200),                                    # a raw value over 1,000 characters
        row(ID="99000007", Latitude="north", Longitude="-87.6"),   # a coordinate lost, not the row
        row(ID="99000008", Latitude="0", Longitude="0"),
        row(ID="99000009", Latitude="41.8365", Longitude="-87.6235"),  # half-way to 3 decimals
        row(ID="99000010", Arrest="maybe"),
        row(ID="99000011", Beat="", District=""),
        row(ID="99000012", Beat="ABC"),                        # the beat's regex does not match
        row(ID=" 99000013 ", IUCR="  0820  "),                  # padded values
        row(ID="99000014", Date="03/12/2017 02:30:00 AM"),     # in the spring-forward gap
        row(ID="99000015", Date="11/05/2017 01:30:00 AM"),     # in the fall-back fold
        "99000016,JX1,01/02/2017 10:00:00 AM\n",               # a short row
        row(ID="99000017").rstrip("\n") + ",extra,more\n",     # a long row
        "\n",                                                  # a blank line: no record
        "   \n",                                               # spaces: a short record
        '99000018,"JX2",01/02/2017 10:00:00 AM,"012XX ""S"" ST",0820,THEFT,"A, B",STREET,false,false,'
        '0111,001,1,1,06,,,01/01/2018 01:00:00 PM,,\n',          # quoted values
        body[10],                                              # a repeated report
    ]
    path = tmp_path / "crimes.csv"
    path.write_text(header + "".join(body[:600]) + "".join(broken) + "".join(body[600:]), newline="")
    return path


@pytest.mark.parametrize("size", [7, 600, 5000])
def test_chunks_give_what_rows_give_on_real_and_broken_rows(shared_data, tmp_path, size):
    path = _chicago_with_broken_rows(shared_data, tmp_path)
    rows = _row_path(load_crime_adapter("chicago"), path)
    assert _chunk_path(load_crime_adapter("chicago"), path, size) == rows
    invalid = [r for r in rows if isinstance(r, tuple)]
    assert {r[1] for r in invalid} == {"missing", "unparseable_time", "too_long", "control_character"}
    assert len(rows) - len(invalid) >= 1200


def test_seattle_published_counts_column_by_column(shared_data):
    adapter = load_crime_adapter("seattle")  # ids joined from columns, counts, periods of a year
    (path,) = adapter.history_files()
    rows = _row_path(adapter, path)
    assert _chunk_path(load_crime_adapter("seattle"), path, 1000) == rows
    assert len(rows) > 4000 and all(r.period_end for r in rows if not isinstance(r, tuple))


def test_each_report_has_its_own_areas(shared_data, tmp_path):
    path = _chicago_with_broken_rows(shared_data, tmp_path)
    (chunk,) = read_csv_chunks(path, 10_000)
    reports = [r for r in load_crime_adapter("chicago").normalize_chunk(chunk) if not isinstance(r, InvalidRecord)]
    assert len({id(r.areas) for r in reports}) == len(reports)


def test_chunks_hold_read_csvs_records(tmp_path):
    path = tmp_path / "ragged.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8-sig", newline="") as f:
        f.write('a,b,a,c\n1,2,3,4\n\n5,6\n7,"x\ny",8,9,10,11\n \n12,13,14,15\n')
    records = list(read_csv(path))
    for size in (1, 2, 100):
        chunks = list(read_csv_chunks(path, size))
        assert [chunk.record(row) for chunk in chunks for row in chunk.rows] == records
        assert all(len(c.rows) <= size for c in chunks)
    (chunk,) = read_csv_chunks(path, 100)
    assert chunk.column("a") == 2 and chunk.column("c") == 3 and chunk.column("z") is None
    assert records[0] == {"a": "3", "b": "2", "c": "4"}  # a repeated name keeps its last value


def test_chunks_fail_as_read_csv_fails(tmp_path):
    latin = tmp_path / "latin1.csv"
    latin.write_bytes(b"a,b\n" + b"1,2\n" * 3 + b"caf\xe9,3\n" + b"4,5\n")
    cut = tmp_path / "cut.csv.gz"
    whole = gzip.compress(b"a,b\n" + "".join(f"{i},{i * 7919 % 10007}\n" for i in range(50_000)).encode())
    cut.write_bytes(whole[:len(whole) // 2])
    messages = []
    for path in (latin, cut):
        with pytest.raises(InputFileError) as rows_error:
            list(read_csv(path))
        with pytest.raises(InputFileError) as chunks_error:
            list(read_csv_chunks(path, 1000))
        assert str(chunks_error.value) == str(rows_error.value)
        messages.append(str(rows_error.value))
    assert "latin1.csv:5: not UTF-8" in messages[0] and "cut short" in messages[1]
