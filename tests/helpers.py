"""Helpers shared by integration tests: run divert as a real process, read topics back."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

DIVERT = [sys.executable, "-m", "divert"]


@contextmanager
def fresh_database(database_url: str, prefix: str = "t"):
    """A new, empty database on the server of ``database_url``, dropped on exit; yields its URL."""
    import uuid

    import asyncpg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    server = database_url.rsplit("/", 1)[0]

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(server + "/postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'create database "{name}"'))
    try:
        yield f"{server}/{name}"
    finally:
        asyncio.run(admin(f'drop database if exists "{name}" with (force)'))


def slice_csv(source: Path, dest: Path, rows: int, *, skip: int = 0, extra_lines: list[str] = ()) -> Path:
    """Write the header and `rows` data rows of a real (gzipped) CSV, plus optional extra lines."""
    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rt", newline="") as src, open(dest, "w", newline="") as out:
        header = src.readline()
        out.write(header)
        for line in itertools.islice(src, skip, skip + rows):
            out.write(line)
        for line in extra_lines:
            out.write(line.rstrip("\n") + "\n")
    return dest


@contextmanager
def running_worker(env: dict, *args: str, log: Path):
    """A `divert worker` process; stopped with SIGTERM (SIGKILL if it hangs) on exit."""
    with open(log, "wb") as out:
        proc = subprocess.Popen([*DIVERT, "worker", "--metrics-port", "0", *args], env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def kcat_env(folder: Path) -> dict[str, str]:
    """Environment for Debian's kcat against the embedded broker.

    kcat links the system librdkafka (2.0.2 on Debian 12), which mis-reads tansu's ApiVersions
    v3 reply; the librdkafka that confluent-kafka's wheel carries (2.6+) reads it. kcat itself
    is unchanged, and against Apache Kafka it works with the system library as it is.
    """
    import confluent_kafka

    libs = Path(confluent_kafka.__file__).parent.parent / "confluent_kafka.libs"
    lib = next(libs.glob("librdkafka*.so*"))
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "librdkafka.so.1"
    if not link.exists():
        link.symlink_to(lib)
    return dict(os.environ, LD_LIBRARY_PATH=str(folder))


async def wait_for_rows(dsn: str, sql: str, expect: int, *, timeout: float = 60.0) -> int:
    """Poll a count query until it reaches `expect` (or the timeout); return the last count."""
    import asyncpg

    deadline = time.monotonic() + timeout
    conn = await asyncpg.connect(dsn)
    try:
        while True:
            try:
                count = await conn.fetchval(sql)
            except asyncpg.UndefinedTableError:
                count = 0  # the worker has not migrated the database yet
            if count >= expect or time.monotonic() > deadline:
                return count
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


def run_divert(env: dict, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*DIVERT, *args], env=env, capture_output=True, text=True, timeout=timeout)


async def _partitions(bootstrap: str, topic: str, timeout: float) -> list[int]:
    """The topic's partitions, once it exists (the worker creates its topics as it starts)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if topic in await admin.list_topics():
                (described,) = await admin.describe_topics([topic])
                if parts := [p["partition"] for p in described["partitions"]]:
                    return parts
            await asyncio.sleep(0.2)
        raise AssertionError(f"topic {topic} did not appear within {timeout} s")
    finally:
        await admin.close()


async def read_topic(bootstrap: str, topic: str, *, expect: int, timeout: float = 60.0,
                     settle: float = 1.0) -> list:
    """Every record on a topic: waits until at least `expect` arrived, then `settle` s for extras."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    parts = await _partitions(bootstrap, topic, timeout)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        tps = [TopicPartition(topic, p) for p in parts]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: list = []
        settled_at = None
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for recs in batch.values():
                records.extend(recs)
            if len(records) >= expect:
                settled_at = settled_at or time.monotonic()
                if time.monotonic() - settled_at >= settle:
                    break
        return records
    finally:
        await consumer.stop()
