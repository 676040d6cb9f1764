"""divert demo: the whole pipeline on a real city, with a live terminal view."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

# the area layer a supervisor looks at first, per city
HEADLINE_LAYER = {"san_antonio": "substation", "milwaukee": "district", "seattle": "beat"}
# a demonstration program to evaluate at the end: (layer, area, first day), mid-series
DEMO_PROGRAM = {"san_antonio": ("substation", "NORTH", "2024-09-01"),
                "milwaukee": ("district", "6", "2018-05-11")}


@click.command("demo")
@click.option("--city", default="san_antonio", show_default=True, help="City to replay.")
@click.option("--speed", default="max", show_default=True, help="Replay speed: N× real time or 'max'.")
@click.option("--exit", "exit_when_done", is_flag=True,
              help="Stop everything when the replay is stored (default: keep running until Ctrl-C).")
@click.option("--shift-hours", type=click.IntRange(1, 24), default=8, show_default=True,
              help="Length of a shift; the view counts the current shift in event time.")
@click.option("--first-shift", type=click.IntRange(0, 23), default=6, show_default=True,
              help="Local hour the day's first shift begins (shifts follow every --shift-hours).")
@click.option("--teams", type=click.IntRange(0, 100), default=2, show_default=True,
              help="Teams per civilian route (crisis, navigator) whose live state the view simulates.")
def command(city: str, speed: str, exit_when_done: bool, shift_hours: int, first_shift: int, teams: int) -> None:
    """Bring up the embedded stack, migrate, start a worker, replay a real city at high speed and
    show calls by route, the diversion-eligible share, the areas where enforcement diverges most
    from community demand, and open alerts: in the last hour and the current shift (event time, the
    city's local clock) beside the totals. Piped to a file, it prints a progress line every 10 s
    instead. Ctrl-C stops everything the demo started."""
    from divert import stack
    from divert.adapters import load_adapter
    from divert.settings import services

    adapter = load_adapter(city)
    started_stack = False
    if not (os.environ.get("DIVERT_KAFKA_BOOTSTRAP") and os.environ.get("DIVERT_DATABASE_URL")):
        folder = stack.default_folder()
        was_running = stack.Stack.load(folder) is not None
        s = asyncio.run(stack.up(folder))
        started_stack = not was_running
        click.echo(f"stack: broker {s.broker_url}, database {s.database_url} (folder {s.folder})")
    svc = services()
    logs = Path(stack.default_folder()) / "demo"
    logs.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, DIVERT_KAFKA_BOOTSTRAP=svc.kafka_bootstrap, DIVERT_DATABASE_URL=svc.database_url)
    divert = [sys.executable, "-m", "divert"]

    with ExitStack() as cleanup:
        if started_stack:
            cleanup.callback(lambda: click.echo("stopped " + ", ".join(asyncio.run(stack.down()))))
        metrics_port = stack.free_port()
        worker = _spawn([*divert, "worker", "--city", city, "--metrics-port", str(metrics_port)], env,
                        logs / "worker.log", cleanup)
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        click.echo(f"worker: pid {worker.pid}, metrics {metrics_url}, log {logs / 'worker.log'}")
        replay = _spawn([*divert, "replay", "--city", city, "--speed", speed, "--quiet"], env,
                        logs / "replay.log", cleanup)
        try:
            view = View(adapter.agency, HEADLINE_LAYER.get(city, "district"), adapter.mapping.timezone,
                        shift_hours, first_shift, teams)
            _watch(svc.database_url, view, replay, worker, logs, metrics_url)
            report = _evaluation_report(env, city, logs)
            _store_funnel(env, city, logs)
            _where_everything_is(svc, logs, report, metrics_url)
            if not exit_when_done:
                click.echo("the worker keeps running: press Ctrl-C to stop everything the demo started")
                while worker.poll() is None:
                    time.sleep(1)
        except KeyboardInterrupt:
            click.echo("\nCtrl-C: stopping what the demo started")


def _spawn(argv: list[str], env: dict, log: Path, cleanup: ExitStack) -> subprocess.Popen:
    out = open(log, "wb")  # one run per log: a rerun never reads the last run's counts
    proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    cleanup.callback(_stop, proc)
    return proc


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _caught_up(metrics_url: str, replayed: int) -> bool:
    """Whether the worker has taken in every replayed row and its store hop has handled every record
    the ingest hop produced for it (from the worker's own counters: records the store takes in are
    counted once stored or dead-lettered). Counting stored rows instead would stop early while a
    batch is being written, or never, where a batch holds two versions of one incident."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    try:
        text = urllib.request.urlopen(metrics_url, timeout=2).read().decode()
    except OSError:
        return False
    raw_in = produced = handled = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            topic = s.labels.get("topic", "")
            if s.name == "divert_records_in_total" and ".cad.raw." in f".{topic}":
                raw_in += s.value
            elif s.name == "divert_records_out_total" and topic.endswith(_INGEST_OUTPUTS):
                produced += s.value
            elif s.name == "divert_dead_letters_total" and ".cad.raw." in f".{topic}":
                produced += s.value  # the ingest hop's dead letters, each sent to the dead-letter topic
            elif s.name == "divert_records_in_total" and topic.endswith(_STORED_TOPICS):
                handled += s.value
    return raw_in >= replayed and handled >= produced


# what the ingest hop sends on for the store hop, and all the store hop reads of it (topic names
# end so, after any prefix)
_INGEST_OUTPUTS = ("calls.classified", "officer.activity")
_STORED_TOPICS = (*_INGEST_OUTPUTS, "deadletter")


@dataclass(frozen=True)
class View:
    agency: str
    layer: str
    timezone: str
    shift_hours: int = 8
    first_shift: int = 6
    teams: int = 2                 # teams per civilian route whose live state the view shows (0: none)


PROGRESS_EVERY = 10.0  # seconds between progress lines when the output is not a terminal


def _watch(database_url: str, view: View, replay, worker, logs: Path, metrics_url: str) -> None:
    """Refresh the view until the replay is sent, the worker has taken in every row this replay
    sent, and the stored totals have stopped moving. On a terminal the view is live; otherwise a
    plain progress line every PROGRESS_EVERY seconds, and the view once at the end."""
    from rich.console import Console
    from rich.live import Live

    from consumers.db.connection import query
    from consumers.db.sources.live_view import snapshot
    from consumers.exceptions import DatabaseUnavailable
    from divert.adapters import not_places

    skip = not_places(view.agency, view.layer)
    console = Console()
    live = Live(console=console, refresh_per_second=2) if console.is_terminal else None
    last, stable_since, printed, snap = -1, None, 0.0, None
    with live or ExitStack():
        while True:
            try:
                snap = query(snapshot, view.agency, view.layer, not_places=skip, timezone=view.timezone,
                             shift_hours=view.shift_hours, first_shift=view.first_shift, url=database_url) or snap
            except DatabaseUnavailable:
                pass
            sent = replay.poll() == 0
            caught_up = sent and _caught_up(metrics_url, _replayed(logs))
            status = "" if caught_up else "storing…" if sent else "replaying…"
            if snap and live:
                live.update(render(snap, view, status))
            elif snap and time.monotonic() - printed >= PROGRESS_EVERY:
                click.echo(progress_line(snap, view, status))
                printed = time.monotonic()
            if worker.poll() is not None:
                raise click.ClickException(f"the worker stopped (code {worker.returncode}); see {logs / 'worker.log'}")
            if replay.poll() not in (None, 0):
                raise click.ClickException(f"the replay failed; see {logs / 'replay.log'}")
            total = snap.calls + snap.dead_letters if snap else -1
            if caught_up:
                if total != last:
                    last, stable_since = total, time.monotonic()
                elif time.monotonic() - stable_since > 3:
                    break
            time.sleep(1)
    if snap and not live:
        console.print(render(snap, view, ""))


def _replayed(logs: Path) -> int:
    """Rows this run's finished replay sent, from its last line ("replayed N rows to …")."""
    words = (logs / "replay.log").read_text(errors="replace").split()
    at = [i for i, w in enumerate(words[:-1]) if w == "replayed"]
    return int(words[at[-1] + 1].replace(",", "")) if at else 0


def _period(snap, tz: str) -> str:
    from divert.labels import local

    if snap.newest is None:
        return "no calls stored yet"
    return f"calls from {local(snap.first, tz, '%Y-%m-%d')} to {local(snap.newest, tz)}"


def progress_line(snap, view: View, status: str) -> str:
    """One plain line for a log: stored totals, the last hour and the shift (event time)."""
    from divert.labels import local

    c = snap.total
    line = (f"{local(datetime.now(UTC), view.timezone, '%H:%M:%S')} {view.agency}: {snap.calls:,} calls stored, "
            f"{snap.dead_letters:,} dead letters; {_period(snap, view.timezone)}")
    if snap.newest is not None:
        line += (f"; last hour {snap.last_hour.community:,} community calls, shift since "
                 f"{local(snap.shift_start, view.timezone, '%H:%M')} {snap.shift.community:,}; eligible "
                 f"{c.eligible / max(c.community, 1):.1%} of community calls")
    return line + (f"; {status}" if status else "")


def render(snap, view: View, status: str = ""):
    """The live view: what the stored calls cover, then each table with the last hour and the
    current shift (event time: up to the newest stored call) beside the totals."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from divert.evaluation.report import display_name
    from divert.labels import area_name, local, route_name

    tz = view.timezone

    def heading(text: str, style: str = "bold") -> Text:
        return Text(text, style=style, no_wrap=True, overflow="ellipsis")

    def table(*columns: str) -> Table:
        t = Table(box=None, pad_edge=False, padding=(0, 1))
        for i, col in enumerate(columns):
            t.add_column(col, justify="left" if i == 0 else "right", no_wrap=i > 0)
        return t

    head = [heading(f"{display_name(view.agency)} · live view" + (f" · {status}" if status else ""),
                    "bold underline"),
            heading(f"{snap.calls:,} calls, {snap.dead_letters:,} dead letters · {_period(snap, tz)}", ""),
            heading(f"policy {', '.join(snap.policy_versions) or '—'} · times {tz}", "dim")]
    if snap.newest is None:
        return Group(*head)
    head.insert(2, heading(f"event time: last hour {local(snap.newest - timedelta(hours=1), tz, '%H:%M')}–"
                           f"{local(snap.newest, tz, '%H:%M')}, shift since {local(snap.shift_start, tz, '%H:%M')} "
                           f"({view.shift_hours}-hour shifts)", ""))
    hour, shift = "last hour", "shift"
    routes = table("route (community calls)", hour, shift, "all", "share")
    total, last, cur = snap.total, snap.last_hour, snap.shift
    for route, n in sorted(total.by_route.items(), key=lambda x: -x[1]):
        routes.add_row(route_name(route), f"{last.by_route.get(route, 0):,}", f"{cur.by_route.get(route, 0):,}",
                       f"{n:,}", f"{n / max(total.community, 1):.1%}")
    routes.add_row(Text("all community calls", style="bold"), f"{last.community:,}", f"{cur.community:,}",
                   f"{total.community:,}", "")
    routes.add_row(Text("officer-initiated events", style="dim"), f"{last.officer_initiated:,}",
                   f"{cur.officer_initiated:,}", f"{total.officer_initiated:,}", "")

    def share(n: int, of: int) -> str:
        return f"{n:,} ({n / of:.0%})" if of else f"{n:,}"

    eligible = table("diversion-eligible", hour, shift, "all")
    eligible.add_row("by initial call type", share(last.eligible_initial, last.community),
                     share(cur.eligible_initial, cur.community), share(total.eligible_initial, total.community))
    eligible.add_row("after disqualifiers", share(last.eligible, last.community), share(cur.eligible, cur.community),
                     share(total.eligible, total.community))
    areas = table(view.layer, "officer-initiated", "community calls", "LQ")
    for area, enforcement, demand, lq in snap.divergent_areas:
        areas.add_row(area_name(area), f"{enforcement:,}", f"{demand:,}", f"{lq:.2f}" if lq is not None else "—")
    alerts = table("since", "area", "route", "observed", "expected")
    for a in snap.open_alerts[:5]:
        alerts.add_row(local(a.window_start, tz, "%m-%d %H:%M"), area_name(a.area), route_name(a.route),
                       f"{a.observed:.0f}", f"{a.expected:.1f}")
    teams = _teams_now(snap, view)
    return Group(*head, Text(), routes, Text(), eligible, *([Text(), teams] if teams is not None else []), Text(),
                 heading(f"Where enforcement departs most from community demand, by {view.layer}"), areas,
                 Text("LQ: the area's share of officer-initiated events ÷ its share of community calls "
                      "(areas with 30 or more community calls; all stored calls)", style="dim"), Text(),
                 heading(f"Open alerts: {len(snap.open_alerts)}"
                         + (" (the 5 newest)" if len(snap.open_alerts) > 5 else "")),
                 *([alerts] if snap.open_alerts else []))


def _teams_now(snap, view: View):
    """The configured teams' live state per civilian route: the simulation run over the last hours'
    eligible calls up to the newest stored call (event time)."""
    from rich.table import Table

    from divert.labels import route_name
    from divert.simulation.calls import AssumedService, SimCall
    from divert.simulation.live import live_state

    if not view.teams or snap.newest is None:
        return None
    model = _cost_model(view.agency)
    t = Table(box=None, pad_edge=False, padding=(0, 1))
    for i, col in enumerate((f"now, {view.teams} teams a route", "eligible last hour", "in target", "busy",
                             "free", "waiting", "to police")):
        t.add_column(col, justify="left" if i == 0 else "right", no_wrap=True)
    for route in ("crisis", "navigator"):
        alt = model.alternatives.get(route) if model else None
        minutes, target = (alt.service_minutes, alt.target_minutes) if alt else ({"crisis": 60.0}.get(route, 45.0), 15.0)
        calls = [SimCall(incident, at, apco_code=code) for at, r, code, incident in snap.recent_eligible if r == route]
        s = live_state(calls, teams=view.teams, now=snap.newest, target_minutes=target,
                       assumed=AssumedService.flat(minutes, f"{minutes:g} min a call (assumed)"))
        t.add_row(route_name(route), f"{s.eligible_last_hour:,}", f"{s.started_within_target:,}", f"{s.busy}",
                  f"{s.free}", f"{s.waiting}", f"{s.lost}")
    return t


def _cost_model(city: str):
    from divert.costs.model import costs_dir, load_model

    return load_model(city) if (costs_dir() / f"{city}.yaml").is_file() else None


def _evaluation_report(env: dict, city: str, logs: Path) -> Path | None:
    """Evaluate a demonstration program if the evaluation command is installed."""
    if city not in DEMO_PROGRAM:
        return None
    layer, area, start = DEMO_PROGRAM[city]
    report = logs / f"evaluation-{city}.html"
    divert = [sys.executable, "-m", "divert"]
    subprocess.run([*divert, "program", "remove", "--name", f"demo-{city}"], env=env, capture_output=True)
    add = subprocess.run([*divert, "program", "add", "--name", f"demo-{city}", "--city", city,
                          "--start", start, "--layer", layer, "--areas", area, "--routes", "crisis,navigator",
                          "--description", f"demonstration: a civilian response in {layer} {area}"],
                         env=env, capture_output=True, text=True)
    if add.returncode:
        click.echo(f"could not record the demonstration program: {add.stderr.strip()}", err=True)
        return None
    result = subprocess.run([*divert, "evaluate", "--program", f"demo-{city}", "--outcome",
                             "police_calls_eligible", "--output", str(report)],
                            env=env, capture_output=True, text=True)
    if result.returncode:
        click.echo(f"the evaluation report failed: {result.stderr.strip()}", err=True)
        return None
    return report


def _store_funnel(env: dict, city: str, logs: Path) -> Path | None:
    """Compute the demonstration program's funnel once over the stored replay and store it (with
    the city's initial → final types), so the program dashboard shows its simulated stages."""
    if city not in DEMO_PROGRAM:
        return None
    out = logs / f"funnel-{city}.txt"
    result = subprocess.run([sys.executable, "-m", "divert", "funnel", "--city", city, "--program", f"demo-{city}",
                             "--store"], env=env, capture_output=True, text=True)
    if result.returncode:
        click.echo(f"the funnel was not stored: {result.stderr.strip()}", err=True)
        return None
    out.write_text(result.stdout)
    click.echo(f"funnel: {result.stdout.strip().splitlines()[-1]} (the whole text: {out})")
    return out


def _where_everything_is(svc, logs: Path, report: Path | None, metrics_url: str) -> None:
    click.echo(f"""
Everything the demo wrote:
  database    {svc.database_url}   (tables calls, call_areas, dead_letters, …; windows call_metrics_1m|1h|1d)
  broker      kafka://{svc.kafka_bootstrap}   (topics cad.raw.<city>, cad.events, calls.classified, deadletter, …)
  logs        {logs}
  report      {report or 'not written (no demonstration program for this city)'}
Grafana: provision it from dashboards/ (docker compose up grafana, or copy dashboards/provisioning
into your Grafana), with the PostgreSQL data source pointed at the database URL above and
Prometheus scraping {metrics_url}.""")
