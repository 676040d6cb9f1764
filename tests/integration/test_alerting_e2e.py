"""End to end: a planted spike in real San Antonio calls reaches the managers' webhook.

Real processes all the way: `divert replay` → the embedded broker → a `divert worker` (normalize,
classify, store, detect_spikes) exposing /metrics → Debian's Prometheus scraping it and
evaluating dashboards/rules/divert_spikes.yml → Debian's Alertmanager with the routing of
dashboards/alertmanager.yml → a webhook receiver started here. Only addresses and timings
are changed (loopback ports, 1 s intervals) — the rules and routes are the shipped ones.

The detector is the default one (the sequential test on 15-minute windows) with one day of
learning, so 2½ days of history suffice.
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import read_topic, run_divert, running_worker

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "dashboards"
ROWS = 8000            # 2022-11-01 … 2022-11-03 (about 57 hours)
# hours after the first call's hour (the data ends 57.4 h after it): the spike's window is the
# last one the watermark closes, so its alert is still firing when Prometheus scrapes — a
# replay at full speed would otherwise close the next, normal, hour within milliseconds
SPIKE_HOUR = 56
SPIKE_CALLS = 60
SPIKE_SUBSTATION = "WEST"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def planted_history(source: Path, dest: Path) -> tuple[int, int]:
    """The first ROWS real rows, plus SPIKE_CALLS welfare checks in one substation and hour."""
    with gzip.open(source, "rt", newline="") as src:
        reader = csv.reader(src)
        header = next(reader)
        rows = [row for _, row in zip(range(ROWS), reader, strict=False)]
    col = {name: i for i, name in enumerate(header)}
    first = min(int(r[col["ResponseDate"]]) for r in rows)
    hour0 = first - first % 3_600_000 + SPIKE_HOUR * 3_600_000
    template = next(r for r in rows if r[col["ProblemType"]] == "Welfare Check"
                    and r[col["Substation"]] == SPIKE_SUBSTATION)
    planted = []
    for i in range(SPIKE_CALLS):
        row = list(template)
        row[col["IncidentNumber"]] = f"SAPD-PLANTED-{i:04d}"
        row[col["ResponseDate"]] = str(hour0 + i * 3_600_000 // SPIKE_CALLS)
        planted.append(row)
    with open(dest, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows + planted)
    return hour0, len(rows) + len(planted)


class _Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 — http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.received.append((self.path, json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def _wait_http(url: str, timeout: float, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"{url} exited:\n{log.read_text()[-3000:]}"
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def webhook():
    _Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Receiver.received
    server.shutdown()


def _start(cmd: list[str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_planted_spike_pages_the_managers(tmp_path, service_env, db_dsn, webhook, shared_data, kafka_bootstrap):
    prometheus, alertmanager = shutil.which("prometheus"), shutil.which("prometheus-alertmanager")
    assert prometheus and alertmanager, "apt-get install prometheus prometheus-alertmanager"
    webhook_url, received = webhook
    source = next((shared_data / "san_antonio").glob("*.csv.gz"))
    hour0, rows = planted_history(source, tmp_path / "planted.csv")

    settings = tmp_path / "alerting.yaml"
    reference = yaml.safe_load((ROOT / "reference/alerting.yaml").read_text())
    assert reference["detector"] == "cusum"
    reference["cities"]["san_antonio"]["min_history_windows"] = 96  # one day of 15-minute windows
    settings.write_text(yaml.safe_dump(reference))
    metrics_port, prom_port, am_port = free_port(), free_port(), free_port()
    env = dict(service_env, DIVERT_DATABASE_URL=db_dsn, DIVERT_ALERT_SETTINGS=str(settings))

    am_config = yaml.safe_load((DASHBOARDS / "alertmanager.yml").read_text())
    for receiver in am_config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = f"{webhook_url}/{receiver['name']}"
    for route in [am_config["route"], *am_config["route"]["routes"]]:
        route.update(group_wait="1s", group_interval="2s")
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(am_config))
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(DASHBOARDS / "rules" / "divert_spikes.yml")],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
        "scrape_configs": [{"job_name": "divert-worker",
                            "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}]}],
    }))
    am = _start([alertmanager, f"--config.file={tmp_path / 'alertmanager.yml'}",
                 f"--storage.path={tmp_path / 'am-data'}", f"--web.listen-address=127.0.0.1:{am_port}",
                 "--cluster.listen-address="], tmp_path / "alertmanager.log")
    prom = _start([prometheus, f"--config.file={tmp_path / 'prometheus.yml'}",
                   f"--storage.tsdb.path={tmp_path / 'prom-data'}", f"--web.listen-address=127.0.0.1:{prom_port}"],
                  tmp_path / "prometheus.log")
    try:
        _wait_http(f"http://127.0.0.1:{am_port}/-/ready", 30, am, tmp_path / "alertmanager.log")
        _wait_http(f"http://127.0.0.1:{prom_port}/-/ready", 30, prom, tmp_path / "prometheus.log")
        with running_worker(env, "--city", "san_antonio", "--metrics-port", str(metrics_port),
                            log=tmp_path / "worker.log") as worker:
            _wait_http(f"http://127.0.0.1:{metrics_port}/metrics", 60, worker, tmp_path / "worker.log")
            result = run_divert(env, "replay", "--city", "san_antonio", "--input",
                                str(tmp_path / "planted.csv"), "--quiet")
            assert result.returncode == 0, result.stderr

            deadline = time.monotonic() + 120
            spikes = []
            wanted = ("substation", SPIKE_SUBSTATION, "crisis")
            while time.monotonic() < deadline and wanted not in {
                    (a["labels"]["area_layer"], a["labels"]["area"], a["labels"]["route"]) for a in spikes}:
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
                spikes = [a for path, body in received if path == "/managers-webhook"
                          for a in body["alerts"] if a["labels"]["alertname"] == "DiversionEligibleSpike"
                          and a["status"] == "firing"]
                time.sleep(0.5)
            metrics_text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics").read().decode()
            assert spikes, ("no spike reached the webhook; worker metrics:\n"
                            + "\n".join(line for line in metrics_text.splitlines() if "spike" in line)[-3000:]
                            + "\n" + (tmp_path / "worker.log").read_text()[-2000:])

        labels = {(a["labels"]["area_layer"], a["labels"]["area"], a["labels"]["route"]) for a in spikes}
        assert ("substation", SPIKE_SUBSTATION, "crisis") in labels, (
            labels, [line for line in metrics_text.splitlines() if SPIKE_SUBSTATION in line or "late" in line])
        assert all(a["labels"]["agency"] == "san_antonio" for a in spikes)
        west = next(a for a in spikes if a["labels"]["area"] == SPIKE_SUBSTATION)
        # in a manager's words, with the series, the window and the band in the annotations
        notes = west["annotations"]
        assert notes["description"].startswith("+"), notes
        assert "crisis-eligible calls in the last" in notes["description"]
        assert "minutes in substation WEST" in notes["description"], notes
        assert notes["series"] == "san_antonio/substation/WEST/crisis"
        assert int(notes["window_minutes"]) >= 15 and int(notes["observed"]) >= SPIKE_CALLS // 4
        assert "–" in notes["expected_band"] and notes["event"] == ""

        # the same alert travelled on alerts.diversion, with the planted hour as its start
        records = asyncio.run(read_topic(kafka_bootstrap, env["DIVERT_TOPIC_PREFIX"] + "alerts.diversion",
                                         expect=1, timeout=30))
        alerts = [json.loads(r.value) for r in records]
        planted = [a for a in alerts if a["area"] == SPIKE_SUBSTATION and a["route"] == "crisis"]
        assert planted and planted[0]["state"] == "firing"
        first = planted[0]
        assert first["detector"] == "cusum" and first["series"] == "san_antonio/substation/WEST/crisis"
        assert first["observed"] >= SPIKE_CALLS // 4 and first["upper_bound"] < first["observed"]
        assert first["message"].startswith("+") and "in substation WEST" in first["message"]
        assert first["expected_low"] is not None and first["window_minutes"] >= 15
        started_ms = int(time.mktime(time.strptime(first["window_start"][:19], "%Y-%m-%dT%H:%M:%S"))
                         - time.timezone) * 1000
        # the sequential test dates the spike from where its evidence began: the planted hour, or
        # a stray call shortly before it
        assert hour0 - 2 * 3_600_000 <= started_ms <= hour0
        # the store wrote the same words into the alerts table (migration 010)
        import asyncpg

        async def stored():
            conn = await asyncpg.connect(db_dsn)
            try:
                return await conn.fetchrow("select series, window_minutes, expected_low, detector, event, message "
                                           "from alerts where alert_id = $1 and state = 'firing'", first["alert_id"])
            finally:
                await conn.close()
        row = asyncio.run(stored())
        assert row is not None and row["message"] == first["message"] and row["series"] == first["series"]
        assert row["detector"] == "cusum" and row["event"] is None

        # after a restart the detector is rebuilt from the stored calls: it reaches the state the
        # live worker had (same series, same figures for the last window both have closed)
        from consumers.db.sources.spikes import rebuild_from_database

        live, late, closed_until = {}, 0, None
        for family in text_string_to_metric_families(metrics_text):
            for sample in family.samples:
                if sample.name == "divert_spike_windows_closed_until_seconds":
                    closed_until = datetime.fromtimestamp(sample.value, UTC)
                if sample.name in ("divert_spike_observed_calls", "divert_spike_expected_calls"):
                    key = (sample.labels["area_layer"], sample.labels["area"], sample.labels["route"])
                    live.setdefault(key, {})[sample.name] = sample.value
                if sample.name == "divert_spike_late_calls":
                    late = sample.value
        # the windows the live worker had closed (its watermark is the least of the partitions')
        assert closed_until is not None
        os.environ["DIVERT_ALERT_SETTINGS"] = str(settings)
        try:
            monitor, unsent = asyncio.run(rebuild_from_database(db_dsn, ["san_antonio"], before=closed_until))
        finally:
            del os.environ["DIVERT_ALERT_SETTINGS"]
        assert unsent == []  # every alert the history implies is stored already
        rebuilt = {tuple(k[1]): r for k, r in monitor.detector.readings.items()}
        assert set(rebuilt) == set(live)
        if not late:  # a call that came after its window closed is in the database, not in the live count
            for key, r in rebuilt.items():
                assert r.observed == live[key]["divert_spike_observed_calls"], key
                assert r.expected == pytest.approx(live[key]["divert_spike_expected_calls"]), key
    finally:
        _stop(prom)
        _stop(am)
