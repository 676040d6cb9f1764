"""divert demo: the whole pipeline on a real city, with a live terminal view."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
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
def command(city: str, speed: str, exit_when_done: bool) -> None:
    """Bring up the embedded stack, migrate, start a worker, replay a real city at high speed and
    show calls by route, the diversion-eligible share, the areas where enforcement diverges most
    from community demand, and open alerts. Ctrl-C stops everything the demo started."""
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
            _watch(svc.database_url, adapter.agency, HEADLINE_LAYER.get(city, "district"), replay, worker,
                   logs, metrics_url)
            report = _evaluation_report(env, city, logs)
            _where_everything_is(svc, logs, report, metrics_url)
            if not exit_when_done:
                click.echo("the worker keeps running: press Ctrl-C to stop everything the demo started")
                while worker.poll() is None:
                    time.sleep(1)
        except KeyboardInterrupt:
            click.echo("\nCtrl-C: stopping what the demo started")


def _spawn(argv: list[str], env: dict, log: Path, cleanup: ExitStack) -> subprocess.Popen:
    out = open(log, "ab")
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


def _ingested(metrics_url: str) -> float:
    """Raw records the worker has taken in so far (its divert_records_in_total for cad.raw.*)."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    try:
        text = urllib.request.urlopen(metrics_url, timeout=2).read().decode()
    except OSError:
        return 0.0
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == "divert_records_in_total" and ".cad.raw." in f".{s.labels.get('topic', '')}")


def _watch(database_url: str, agency: str, layer: str, replay, worker, logs: Path, metrics_url: str) -> None:
    """Refresh the view until the replay is sent, the worker has taken in every row, and the
    stored totals have stopped moving."""
    from rich.live import Live

    from consumers.db.connection import query
    from consumers.db.sources.live_view import snapshot
    from consumers.exceptions import DatabaseUnavailable
    from divert.adapters import not_places

    skip = not_places(agency, layer)
    last, stable_since = -1, None
    with Live(refresh_per_second=2) as live:
        while True:
            try:
                snap = query(snapshot, agency, layer, not_places=skip, url=database_url)
            except DatabaseUnavailable:
                snap = None
            if snap:
                live.update(_render(snap, agency, layer, replay.poll() is None))
            if worker.poll() is not None:
                raise click.ClickException(f"the worker stopped (code {worker.returncode}); see {logs / 'worker.log'}")
            if replay.poll() not in (None, 0):
                raise click.ClickException(f"the replay failed; see {logs / 'replay.log'}")
            total = snap.calls + snap.dead_letters if snap else -1
            if replay.poll() == 0 and _ingested(metrics_url) >= _replayed(logs):
                if total != last:
                    last, stable_since = total, time.monotonic()
                elif time.monotonic() - stable_since > 3:
                    return
            time.sleep(1)


def _replayed(logs: Path) -> int:
    """Rows the finished replay sent, from its last line ("replayed N rows to …")."""
    words = (logs / "replay.log").read_text().split()
    return int(words[words.index("replayed") + 1].replace(",", "")) if "replayed" in words else 0


def _render(snap, agency: str, layer: str, replaying: bool):
    from rich.console import Group
    from rich.table import Table

    routes = Table(title=f"{agency}: {snap.calls:,} calls stored, {snap.dead_letters:,} dead letters"
                   + ("  (replaying…)" if replaying else ""), title_justify="left")
    routes.add_column("route")
    routes.add_column("calls", justify="right")
    routes.add_column("share", justify="right")
    for route, n in snap.by_route:
        routes.add_row(route, f"{n:,}", f"{n / max(snap.calls, 1):.1%}")
    community = max(snap.community_calls, 1)
    eligible = Table(title="diversion-eligible share of community calls "
                     f"(policy {', '.join(snap.policy_versions) or '—'})", title_justify="left")
    eligible.add_column("stage")
    eligible.add_column("calls", justify="right")
    eligible.add_column("share", justify="right")
    eligible.add_row("by initial call type (upper bound)", f"{snap.eligible_initial:,}",
                     f"{snap.eligible_initial / community:.1%}")
    eligible.add_row("after disqualifiers and hours", f"{snap.eligible:,}", f"{snap.eligible / community:.1%}")
    areas = Table(title=f"where enforcement diverges most from community demand, by {layer}",
                  caption="LQ = area's share of officer-initiated events ÷ its share of community calls; "
                          "areas with ≥ 30 community calls", title_justify="left")
    for col in ("area", "officer-initiated", "community calls", "LQ"):
        areas.add_column(col, justify="right" if col != "area" else "left")
    for area, enforcement, demand, lq in snap.divergent_areas:
        areas.add_row(area, f"{enforcement:,}", f"{demand:,}", f"{lq:.2f}" if lq is not None else "—")
    alerts = Table(title=f"open alerts: {len(snap.open_alerts)}", title_justify="left")
    for col in ("area", "route", "observed", "expected"):
        alerts.add_column(col)
    for area, route, _, observed, expected in snap.open_alerts[:5]:
        alerts.add_row(area, route, f"{observed:.0f}", f"{expected:.1f}")
    return Group(routes, eligible, areas, alerts)


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
