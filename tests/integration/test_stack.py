"""`divert stack up | status | down` starts real services and leaves nothing behind."""

from __future__ import annotations

import os
import time

import psutil

from tests.helpers import run_divert


def test_stack_up_status_down_leaves_no_process(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIVERT_")}
    env["DIVERT_STACK_DIR"] = str(tmp_path / "stack")
    started = time.monotonic()
    up = run_divert(env, "stack", "up", timeout=120)
    assert up.returncode == 0, up.stderr
    ready_seconds = time.monotonic() - started
    assert "kafka://127.0.0.1:" in up.stdout and "postgresql://postgres@127.0.0.1:" in up.stdout

    status = run_divert(env, "stack", "status")
    assert status.returncode == 0 and status.stdout.count("healthy") == 2, status.stdout
    pids = [int(line.split("pid")[1].split()[0]) for line in status.stdout.splitlines()]
    assert all(psutil.pid_exists(p) for p in pids)
    children = [c.pid for p in pids for c in psutil.Process(p).children(recursive=True)]

    again = run_divert(env, "stack", "up")  # idempotent: reports the running stack
    assert again.returncode == 0 and str(pids[0]) in again.stdout

    down = run_divert(env, "stack", "down")
    assert down.returncode == 0 and "stopped database" in down.stdout and "broker" in down.stdout
    time.sleep(0.5)
    alive = [p for p in pids + children if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]
    assert alive == []
    gone = run_divert(env, "stack", "status")
    assert gone.returncode == 1 and "no stack recorded" in gone.stderr
    print(f"stack ready in {ready_seconds:.1f} s (including the CLI's start-up)")
