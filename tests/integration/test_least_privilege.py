"""Least privilege (issue 16): what grafana_reader, the dashboards' login, may and may not do.

Real PostgreSQL (the session's embedded stack), logged in as the reader itself, so its role
settings (statement timeout, read-only default) apply as they do for Grafana. Two set-ups:

- ``embedded``: the migrations run as the superuser, as on the embedded stack; the migration
  creates the reader (no login) and sets its limits; the test then gives it a password.
- ``compose``: dashboards/db-init/roles.sh runs as the superuser, as docker-compose.yml's
  db-init job does, then the migrations run as the application role it made (not a
  superuser): its tables, its grants.

Every dashboard panel's SQL also runs as the reader, on a sample of the real San Antonio calls.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import asyncpg
import pytest

from consumers.db.migrate import MIGRATIONS_DIR, migrate
from divert import stack as local_stack
from tests.integration.test_dashboards_sql import BOARDS, SQL_QUERIES, _range, _run, seed_san_antonio

ROOT = Path(__file__).resolve().parents[2]
ROLES_SCRIPT = ROOT / "dashboards" / "db-init" / "roles.sh"
READER = "grafana_reader"
READER_PASSWORD = "reader-test-password"  # the same in every set-up: the role is cluster-wide
EVERY = 400  # every 400th San Antonio row: ~1,800 calls, enough for every panel to have rows

Refused = asyncpg.InsufficientPrivilegeError


def with_login(dsn: str, user: str, password: str) -> str:
    scheme, rest = dsn.split("://", 1)
    return f"{scheme}://{user}:{password}@{rest.rsplit('@', 1)[1]}"


async def admin_sql(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


def run_db_init(admin_dsn: str, database: str, app: str, app_password: str) -> str:
    """dashboards/db-init/roles.sh with the environment docker-compose.yml gives it."""
    userinfo, hostport = admin_dsn.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)
    user, password = userinfo.split(":", 1)
    host, port = hostport.rsplit(":", 1)
    pg_bin = str(Path(local_stack._pg_bin("psql")).parent)
    env = dict(os.environ, PATH=f"{pg_bin}:{os.environ['PATH']}", PGHOST=host, PGPORT=port,
               PGUSER=user, PGPASSWORD=password, PGDATABASE=database, DIVERT_DB_USER=app,
               DIVERT_DB_PASSWORD=app_password, GRAFANA_DB_PASSWORD=READER_PASSWORD)
    result = subprocess.run([shutil.which("sh") or "/bin/sh", str(ROLES_SCRIPT)], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module", params=["embedded", "compose"])
def setup(request, database_url, shared_data):
    """A migrated database with a sample of real calls: its owner's and the reader's URLs."""
    name = f"t_lp_{uuid.uuid4().hex[:10]}"
    base = database_url.rsplit("/", 1)[0]
    admin, superuser_dsn = base + "/postgres", base + f"/{name}"
    app = None
    asyncio.run(admin_sql(admin, f'create database "{name}"'))
    try:
        if request.param == "embedded":
            owner_dsn = superuser_dsn
            asyncio.run(migrate(owner_dsn))
            asyncio.run(admin_sql(admin, f"alter role {READER} login password '{READER_PASSWORD}'"))
        else:
            app, app_password = f"divert_app_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
            # whatever an earlier set-up of this cluster gave the reader: db-init alone sets it
            asyncio.run(admin_sql(admin, f"do $$ begin create role {READER}; "
                                         "exception when duplicate_object then null; end $$",
                                  f"alter role {READER} reset all",
                                  f"alter role {READER} nologin connection limit -1"))
            out = run_db_init(admin, name, app, app_password)
            assert f"roles {app} and {READER} ready" in out
            run_db_init(admin, name, app, app_password)  # idempotent: every `compose up` runs it
            owner_dsn = with_login(superuser_dsn, app, app_password)
        seeded = asyncio.run(seed_san_antonio(owner_dsn, shared_data, every=EVERY))
        seeded.update(kind=request.param, owner=owner_dsn, superuser=superuser_dsn,
                      reader=with_login(superuser_dsn, READER, READER_PASSWORD))
        yield seeded
    finally:
        statements = [f'drop database if exists "{name}" with (force)']
        if app:
            statements.append(f'drop role if exists "{app}"')
        asyncio.run(admin_sql(admin, *statements))


async def as_reader(setup: dict) -> asyncpg.Connection:
    return await asyncpg.connect(setup["reader"], timeout=10)


def test_the_migrations_ran_as_the_application_role_in_the_compose_set_up(setup):
    async def check():
        conn = await asyncpg.connect(setup["owner"])
        try:
            me = await conn.fetchrow("select current_user as name, rolsuper, rolcreaterole, rolcreatedb "
                                     "from pg_roles where rolname = current_user")
            owner = await conn.fetchval("select tableowner from pg_tables where tablename = 'calls'")
            stored = await conn.fetchval("select count(*) from calls")
        finally:
            await conn.close()
        assert owner == me["name"] and stored > 1000
        if setup["kind"] == "compose":
            assert not (me["rolsuper"] or me["rolcreaterole"] or me["rolcreatedb"]), dict(me)

    asyncio.run(check())


def test_pg_sleep_is_cancelled_by_the_statement_timeout(setup):
    async def check():
        conn = await as_reader(setup)
        try:
            assert await conn.fetchval("show statement_timeout") == "5s"
            started = time.monotonic()
            with pytest.raises(asyncpg.QueryCanceledError, match="statement timeout"):
                await conn.fetchval("select pg_sleep(10)")
            return time.monotonic() - started
        finally:
            await conn.close()

    elapsed = asyncio.run(check())
    assert 4 < elapsed < 8, f"pg_sleep(10) ran {elapsed:.1f} s"


def test_the_reader_cannot_create_temporary_tables(setup):
    async def check():
        conn = await as_reader(setup)
        try:
            # read-only by default; and once the reader turns that off, the privilege is missing
            with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
                await conn.execute("create temp table scratch (x int)")
            await conn.execute("set default_transaction_read_only = off")
            with pytest.raises(Refused, match="temporary tables"):
                await conn.execute("create temp table scratch (x int)")
            assert not await conn.fetchval(
                "select has_database_privilege(current_user, current_database(), 'TEMP')")
        finally:
            await conn.close()

    asyncio.run(check())


def test_the_reader_cannot_read_dead_letters_or_bookkeeping(setup):
    async def check():
        conn = await as_reader(setup)
        try:
            for sql in ("select * from dead_letters", "select count(*) from dead_letters",
                        "select reason from dead_letters", "select * from schema_migrations"):
                with pytest.raises(Refused):
                    await conn.fetch(sql)
        finally:
            await conn.close()

    asyncio.run(check())


def test_the_reader_cannot_read_subject_demographics(setup):
    async def check():
        conn = await as_reader(setup)
        try:
            # the table itself is closed, however it is named
            for sql in ("select * from public.officer_activity",
                        "select subject_race from public.officer_activity",
                        "select count(*) from public.officer_activity where subject_ethnicity is not null"):
                with pytest.raises(Refused):
                    await conn.fetch(sql)
            # `officer_activity` is the view without them (the reader's search_path), as the
            # officers' and neighborhoods' panels read it
            assert await conn.fetchval("show search_path") == "reader, public"
            for sql in ("select subject_race from officer_activity",
                        "select agency, subject_sex, subject_age_group from officer_activity"):
                with pytest.raises(asyncpg.UndefinedColumnError):
                    await conn.fetch(sql)
            rows = await conn.fetch("select * from officer_activity where agency = 'san_antonio' limit 50")
            assert rows and not [c for c in rows[0].keys() if c.startswith("subject")]
            assert {"activity_type", "outcomes", "areas", "occurred_at"} <= set(rows[0].keys())
            # and a reader who changes its search_path finds the table closed
            await conn.execute("set search_path = public")
            with pytest.raises(Refused):
                await conn.fetch("select activity_type, subject_race from officer_activity")
        finally:
            await conn.close()

    asyncio.run(check())


def test_the_reader_cannot_change_anything(setup):
    async def check():
        conn = await as_reader(setup)
        try:
            await conn.execute("set default_transaction_read_only = off")
            for sql in (
                "insert into calls (agency, incident_id, received_at) values ('x', 'x', now())",
                "update calls set route = 'police'",
                "delete from calls",
                "truncate calls",
                "insert into dead_letters (source_topic, reason, detail, payload, failed_at) "
                "values ('x', 'x', 'x', 'x', now())",
                "create table mine (x int)",
                "create view mine as select 1",
                "alter role current_user connection limit -1",
            ):
                with pytest.raises(Refused):
                    await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(check())


def test_a_dashboard_query_on_calls_works_for_the_reader(setup):
    async def check():
        conn = await as_reader(setup)
        try:
            return await conn.fetch(
                "select date_bin('1 day', received_at, timestamptz '2000-01-03') as time, route, "
                "count(*) as calls, policy_version from calls where agency = 'san_antonio' "
                "group by 1, 2, 4 order by 1")
        finally:
            await conn.close()

    rows = asyncio.run(check())
    assert sum(r["calls"] for r in rows) > 1000


def test_every_dashboard_panel_runs_as_the_reader(setup):
    failures = []
    for uid, q in SQL_QUERIES:
        try:
            asyncio.run(_run(setup["reader"], uid, q, _range(setup), {"city": "san_antonio"}))
        except asyncpg.PostgresError as exc:
            failures.append(f"{uid}:{q.where}: {type(exc).__name__}: {exc}")
    assert SQL_QUERIES and BOARDS
    assert not failures, "\n".join(failures)


def test_the_reader_has_a_connection_limit(setup):
    async def check():
        held = [await as_reader(setup) for _ in range(10)]
        try:
            with pytest.raises(asyncpg.TooManyConnectionsError):
                await as_reader(setup)
        finally:
            for conn in held:
                await conn.close()

    asyncio.run(check())


def test_broad_grants_of_an_earlier_set_up_are_taken_back(db_dsn, tmp_path):
    """A database whose reader could read every table (the first compose set-up's default
    privileges) converges on the allowlist; a table made afterwards stays unreadable."""
    before = tmp_path / "migrations"
    before.mkdir()
    for path in MIGRATIONS_DIR.glob("*.sql"):
        if int(path.name[:3]) < 8:
            shutil.copy(path, before)
    reader_dsn = with_login(db_dsn, READER, READER_PASSWORD)

    async def check():
        await migrate(db_dsn, directory=before)
        await admin_sql(db_dsn,
                        f"do $$ begin create role {READER}; exception when duplicate_object then null; end $$",
                        f"alter role {READER} login password '{READER_PASSWORD}'",
                        f"grant select on all tables in schema public to {READER}",
                        f"alter default privileges in schema public grant select on tables to {READER}")
        conn = await asyncpg.connect(reader_dsn)
        try:
            await conn.fetch("select payload from dead_letters")  # readable before
        finally:
            await conn.close()
        assert "008_least_privilege" in await migrate(db_dsn)
        await admin_sql(db_dsn, "create table later_secrets (x int)")
        conn = await asyncpg.connect(reader_dsn)
        try:
            for sql in ("select payload from dead_letters", "select subject_race from public.officer_activity",
                        "select * from later_secrets"):
                with pytest.raises(Refused):
                    await conn.fetch(sql)
            assert await conn.fetchval("select count(*) from calls") == 0
        finally:
            await conn.close()

    asyncio.run(check())
