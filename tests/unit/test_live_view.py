"""The supervisor's live view (`divert demo`): event-time periods, local times, display names,
80 columns, and a plain progress line for a log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rich.console import Console

from consumers.db.sources.live_view import Alert, Counts, Snapshot, shift_start
from divert.cli.demo import View, _caught_up, _replayed, progress_line, render

NEWEST = datetime(2024, 7, 2, 4, 30, tzinfo=UTC)   # 23:30 CDT on July 1st


def snapshot() -> Snapshot:
    total = Counts(community=9000, officer_initiated=1000, eligible_initial=2000, eligible=1500,
                   by_route={"police": 6000, "ems_fire": 1500, "crisis": 1000, "navigator": 500})
    hour = Counts(community=12, officer_initiated=3, eligible_initial=4, eligible=3,
                  by_route={"police": 8, "crisis": 4})
    shift = Counts(community=40, officer_initiated=9, eligible_initial=11, eligible=8,
                   by_route={"police": 29, "crisis": 7, "ems_fire": 4})
    alert = Alert("NORTH", "crisis", "a1", 14, 5.2, NEWEST - timedelta(minutes=15), NEWEST)
    return Snapshot(first=datetime(2022, 11, 1, 6, tzinfo=UTC), newest=NEWEST,
                    shift_start=shift_start(NEWEST, "America/Chicago"), total=total, last_hour=hour, shift=shift,
                    dead_letters=7, policy_versions=["default-abc123"],
                    divergent_areas=[("NORTH", 400, 900, 1.8), ("PRUE", 100, 800, 0.6)], open_alerts=[alert])


def shown(snap: Snapshot, status: str = "replaying…") -> str:
    console = Console(width=80, record=True, color_system=None, force_terminal=False)
    console.print(render(snap, View("san_antonio", "substation", "America/Chicago"), status))
    return console.export_text()


def test_the_view_reads_for_a_supervisor():
    text = shown(snapshot())
    lines = text.splitlines()
    assert max(map(len, lines)) <= 80
    assert lines[0].startswith("San Antonio · live view · replaying")         # the title, on one line
    assert "calls from 2022-11-01 to 2024-07-01 23:30 CDT" in lines[1]          # the period, local time
    assert "last hour 22:30–23:30, shift since 22:00 (8-hour shifts)" in text   # event time, not the clock
    for name in ("EMS / fire", "crisis team", "civilian navigator", "North", "officer-initiated events"):
        assert name in text, name
    for code in ("ems_fire", "officer_initiated", "NORTH"):
        assert code not in text, code
    route_rows = text.split("route (community calls)")[1].split("all community calls")[0]
    assert "officer" not in route_rows                                          # a source, not a route
    assert "07-01 23:15" in text                                                # the alert's local time


def test_a_view_before_any_call_and_a_log_line():
    empty = shown(Snapshot(dead_letters=2), status="")
    assert "no calls stored yet" in empty
    line = progress_line(snapshot(), View("san_antonio", "substation", "America/Chicago"), "replaying…")
    assert "10,000 calls stored" in line and "last hour 12 community calls" in line
    assert "shift since 22:00 40" in line and line.endswith("; replaying…") and "\n" not in line


def test_shifts_begin_at_the_local_clock():
    tz = "America/Chicago"
    assert shift_start(datetime(2024, 7, 1, 12, 0, tzinfo=UTC), tz) == datetime(2024, 7, 1, 11, 0, tzinfo=UTC)
    assert shift_start(datetime(2024, 7, 1, 12, 0, tzinfo=UTC), tz, hours=12, first=7) == \
        datetime(2024, 7, 1, 12, 0, tzinfo=UTC)
    # 04:00 CST on January 1st is in the night shift that began at 22:00 on December 31st
    assert shift_start(datetime(2024, 1, 1, 10, 0, tzinfo=UTC), tz) == datetime(2024, 1, 1, 4, 0, tzinfo=UTC)


def test_a_rerun_reads_its_own_replay_count(tmp_path):
    (tmp_path / "replay.log").write_text("resuming: 717,152 of 717,153 rows are already stored\n"
                                         "replayed 1 rows to cad.raw.san_antonio; 717,153 rows in the input\n")
    assert _replayed(tmp_path) == 1
    (tmp_path / "replay.log").write_text("")
    assert _replayed(tmp_path) == 0


def test_the_demo_waits_until_the_store_hop_has_handled_what_the_ingest_hop_sent():
    """A store hop 5,000 calls behind writes for seconds with no stored count moving: the demo
    must wait on its counters, not on a pause of the stored count."""
    import socket

    from prometheus_client import start_http_server

    from divert.telemetry import WorkerMetrics

    metrics = WorkerMetrics()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server, thread = start_http_server(port, addr="127.0.0.1", registry=metrics.registry)
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        metrics.records_in.labels("demo.cad.raw.seattle").inc(10)
        metrics.records_out.labels("demo.calls.classified").inc(8)
        metrics.records_out.labels("demo.officer.activity").inc(1)
        metrics.dead_letters.labels("demo.cad.raw.seattle", "invalid_json").inc()
        assert not _caught_up(url, 10)
        metrics.records_in.labels("demo.calls.classified").inc(8)
        metrics.records_in.labels("demo.officer.activity").inc(1)
        assert not _caught_up(url, 10)  # the dead letter is not stored yet
        metrics.records_in.labels("demo.deadletter").inc()
        assert _caught_up(url, 10)
        assert not _caught_up(url, 11)  # a row the worker has not taken in
    finally:
        server.shutdown()
        server.server_close()  # else the port still takes connections, and a reader waits its timeout
        thread.join()
    assert not _caught_up(url, 0)  # no worker answering: not caught up
