"""`divert dashboards push` against a tiny local HTTP server standing in for Grafana's API
(records every request; a double is fine for Grafana, the database is always real)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class FakeGrafana(BaseHTTPRequestHandler):
    requests: list = []
    status_for_post = 200
    folder_exists = False

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        type(self).requests.append((self.command, self.path, self.headers.get("Authorization"), body))
        return body

    def do_GET(self):  # noqa: N802 - http.server's naming
        self._record()
        if self.path.startswith("/api/folders/"):
            return self._answer(200, {"uid": "divert"}) if type(self).folder_exists else \
                self._answer(404, {"message": "folder not found"})
        if self.path.startswith("/api/datasources/uid/divert-db"):
            return self._answer(200, {"uid": "divert-db"})
        return self._answer(404, {"message": "not found"})

    def do_POST(self):  # noqa: N802
        body = self._record()
        if self.path == "/api/folders":
            return self._answer(200, {"uid": body.get("uid"), "title": body.get("title")})
        if type(self).status_for_post != 200:
            return self._answer(type(self).status_for_post, {"message": "invalid API key"})
        uid = body["dashboard"]["uid"]
        return self._answer(200, {"status": "success", "uid": uid, "url": f"/d/{uid}/x", "version": 3})

    def log_message(self, *args):
        pass


@pytest.fixture
def grafana():
    FakeGrafana.requests = []
    FakeGrafana.status_for_post = 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGrafana)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _push(url, token="glsa_test"):
    return subprocess.run([sys.executable, "-m", "divert", "dashboards", "push", "--url", url, "--token", token],
                          capture_output=True, text=True, timeout=120)


def test_push_creates_the_folder_and_posts_every_dashboard(grafana):
    from divert.dashboards.model import load_dashboards

    result = _push(grafana)
    assert result.returncode == 0, result.stderr
    posts = [r for r in FakeGrafana.requests if r[0] == "POST" and r[1] == "/api/dashboards/db"]
    uids = sorted(r[3]["dashboard"]["uid"] for r in posts)
    assert uids == sorted(b.uid for b in load_dashboards())
    assert all(r[2] == "Bearer glsa_test" for r in FakeGrafana.requests)
    assert all(r[3]["overwrite"] is True and r[3]["folderUid"] == "divert" for r in posts)
    assert ("POST", "/api/folders") in [(r[0], r[1]) for r in FakeGrafana.requests]
    assert "divert-prometheus" in result.stderr  # the double knows only divert-db: a warning names the other
    assert "/d/divert-supervisor/x" in result.stdout


def test_a_refused_token_becomes_a_clear_error(grafana):
    FakeGrafana.status_for_post = 401
    result = _push(grafana, token="wrong")
    assert result.returncode == 1
    assert "refused the token" in result.stderr and "Traceback" not in result.stderr


def test_an_unreachable_grafana_becomes_a_clear_error():
    result = _push("http://127.0.0.1:9")
    assert result.returncode == 1
    assert "cannot reach Grafana at http://127.0.0.1:9" in result.stderr and "Traceback" not in result.stderr
