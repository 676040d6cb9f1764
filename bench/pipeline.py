"""Benchmark (issues 5 and 17): sustained end-to-end throughput of one worker (raw topic → rows in
``calls``), event → row latency at 100 events/s, and the worker's peak memory.

On a stack of its own, in one run:

  divert worker     a real ``divert worker`` subprocess (migrates a fresh database, then ingest
                    hop + store hop + spike agent) over the San Antonio history (717,153 rows)
                    pre-filled on ``bench.cad.raw.san_antonio``; rate = rows in calls and
                    dead_letters per second, from the first row to the last (start-up and
                    migration are not counted); polled with count(*) once a second
  faust agent       the baseline (target: divert ≥ 0.8 of it): a bare Faust agent over the same
                    topic, one event at a time (decode → route lookup → await topic.send),
                    counted on its output topic
  aiokafka consume  a raw aiokafka consumer that only consumes the same topic (the floor of any
                    Kafka consumer here)
  divert ingest hop the worker's hot hop alone (``bench.engines divert-ingest``: BatchConsumer +
                    streams.ingest.handler, no database) over the same topic, counted on its
                    calls.classified and deadletter: e2e_to_ingest = worker ÷ it (issue 17: ≥ 0.5)
  store hop         the store hop's sink (``bench.store``: ``write_calls`` in batches of 5,000)
                    against a plain COPY of the same rows into ``calls``, each into a fresh
                    database: store_to_copy (issue 17: ≥ 0.3), over ``--store-rows`` (100,000)

Latency: on fresh topics and a fresh database, a worker running, real San Antonio records made
new (fresh incident number, ResponseDate = now) are produced at a paced 100/s for
``--latency-seconds`` (60); then ``calls.committed_at - received_at`` is read back for them
(committed_at is now() of the inserting transaction). Target: p99 ≤ 2 s.

    .venv/bin/python -m bench.pipeline [--rows N] [--latency-seconds 60] [--faust-budget 120]

Ends with ``store_to_copy=R e2e_to_ingest=R2`` (after the issue-5 line).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

from bench.common import (
    CITY,
    Process,
    divert_cmd,
    embedded_stack,
    engine_cmd,
    ensure_topics,
    fill,
    fresh_database,
    load_items,
    machine,
    paced_produce,
    result_line,
    run_engine,
    say,
    stamped,
    stop_cleanly_on_sigterm,
    worker_env,
)
from streams.topics import Topics

PREFIX = "bench."


class RowCounter:
    """Rows in calls and dead_letters (0 until the worker has migrated the database)."""

    def __init__(self, url: str, where: str = ""):
        self.url, self.where = url, where
        self._conn = None

    async def start(self) -> None:
        import asyncpg

        self._conn = await asyncpg.connect(self.url)

    async def per_topic(self) -> dict[str, int]:
        import asyncpg

        try:
            row = await self._conn.fetchrow(
                f"select (select count(*) from calls {self.where}) as calls, "
                f"(select count(*) from dead_letters) as dead_letters")
        except asyncpg.UndefinedTableError:
            return {"calls": 0, "dead_letters": 0}
        return dict(row)

    async def total(self) -> int:
        return sum((await self.per_topic()).values())

    async def stop(self) -> None:
        if self._conn is not None:
            await self._conn.close()


def throughput(running, n: int, logs: Path):
    url = asyncio.run(fresh_database(running))
    env = worker_env(running, PREFIX, url)
    proc = Process("divert worker", divert_cmd("--app-id", "bench-pipeline"), env, logs / "pipeline-worker.log")
    return run_engine("divert worker → calls", [proc], running.broker_bootstrap, [], n, poll=1.0,
                      counter=RowCounter(url), timeout=1200)


def faust_baseline(running, n: int, logs: Path, source: str, budget: float):
    prefix = f"{PREFIX}faust."
    ensure_topics(running.broker_bootstrap, [f"{prefix}calls.classified", f"{prefix}deadletter"])
    cmd = engine_cmd("faust", bootstrap=running.broker_bootstrap, source=source, out_prefix=prefix,
                     group="bench-faust")
    return run_engine("faust agent", [Process("faust", cmd, dict(os.environ), logs / "faust.log")],
                      running.broker_bootstrap, [f"{prefix}calls.classified", f"{prefix}deadletter"], n,
                      timeout=budget)


def ingest_only(running, n: int, logs: Path, source: str):
    """The ingest hop alone over the same topic, counted on its outputs."""
    prefix = f"{PREFIX}ingest."
    outputs = [f"{prefix}calls.classified", f"{prefix}deadletter"]
    ensure_topics(running.broker_bootstrap, [*outputs, f"{prefix}cad.events", f"{prefix}officer.activity"])
    cmd = engine_cmd("divert-ingest", bootstrap=running.broker_bootstrap, source=source, out_prefix=prefix,
                     group="bench-ingest")
    return run_engine("divert ingest hop", [Process("divert-ingest", cmd, dict(os.environ), logs / "ingest.log")],
                      running.broker_bootstrap, outputs, n)


def store_vs_copy(running, rows: int) -> tuple[float, float]:
    """Rows/s of the store hop's writer and of a plain COPY of the same calls (bench.store)."""
    from bench.store import classified_calls, plain_copy, through_the_writer

    say(f"store hop vs COPY: classifying {rows:,} San Antonio calls")
    calls = classified_calls(rows)
    writer_s, _ = asyncio.run(through_the_writer(asyncio.run(fresh_database(running)), calls))
    copy_s = asyncio.run(plain_copy(asyncio.run(fresh_database(running)), calls))
    say(f"  store hop {len(calls) / writer_s:,.0f} rows/s, COPY {len(calls) / copy_s:,.0f} rows/s")
    return len(calls) / writer_s, len(calls) / copy_s


def consume_only(running, n: int, logs: Path, source: str, engine: str = "consume") -> dict:
    """An engine that consumes the topic (doing the engine's per-batch work, if any), timed inside."""
    result = logs / f"{engine}.json"
    result.unlink(missing_ok=True)
    cmd = engine_cmd(engine, bootstrap=running.broker_bootstrap, source=source, group=f"bench-{engine}",
                     expect=n, result=result)
    say(f"running aiokafka {engine}")
    proc = Process(engine, cmd, dict(os.environ), logs / f"{engine}.log").start()
    try:
        deadline = time.monotonic() + 600
        while not result.exists() and time.monotonic() < deadline:
            if not proc.alive():
                raise RuntimeError(f"the consumer exited:\n{proc.tail()}")
            time.sleep(0.2)
        time.sleep(0.5)
    finally:
        proc.stop()
    out = json.loads(result.read_text())
    out["peak_rss_mib"] = proc.rss.peak_mib
    say(f"  aiokafka {engine}: {out['records']:,} records = {out['rate']:,.0f} records/s")
    return out


def latency(running, items, logs: Path, seconds: float, rate: float = 100.0) -> dict:
    """Event → row in calls at ``rate``/s, through a worker on fresh topics and a fresh database."""
    import asyncpg

    prefix = f"{PREFIX}lat."
    url = asyncio.run(fresh_database(running))
    ensure_topics(running.broker_bootstrap, Topics(prefix).all([CITY]))
    raw_topic = f"{prefix}cad.raw.{CITY}"
    tag = f"P{int(time.time())}"
    records = stamped(items, int(seconds * rate) + 1000, tag)
    proc = Process("divert worker (latency)", divert_cmd("--app-id", "bench-latency"),
                   worker_env(running, prefix, url), logs / "latency-worker.log").start()

    async def rows(conn, like: str) -> int:
        try:
            return await conn.fetchval("select count(*) from calls where incident_id like $1", like)
        except asyncpg.UndefinedTableError:
            return 0

    async def measure() -> dict:
        conn = await asyncpg.connect(url)
        try:
            # warm-up: the worker has migrated, joined its groups and stored a first call
            await paced_produce(running.broker_bootstrap, raw_topic, records, rate, 1)
            deadline = time.monotonic() + 180
            while await rows(conn, f"BENCH-{tag}-%") < 1 and time.monotonic() < deadline:
                if not proc.alive():
                    raise RuntimeError(f"the latency worker exited:\n{proc.tail()}")
                await asyncio.sleep(0.2)
            await paced_produce(running.broker_bootstrap, raw_topic, records, rate, int(rate * 3))
            await asyncio.sleep(3)
            first = 1 + int(rate * 3)
            say(f"latency: {rate:.0f} events/s for {seconds:.0f} s")
            sent = await paced_produce(running.broker_bootstrap, raw_topic, records, rate, int(rate * seconds))
            measured = [f"BENCH-{tag}-{i}" for i in range(first, first + len(sent))]
            deadline = time.monotonic() + 60
            while (await conn.fetchval("select count(*) from calls where incident_id = any($1)", measured)
                   < len(measured) and time.monotonic() < deadline):
                await asyncio.sleep(0.2)
            row = await conn.fetchrow(
                "select count(*) as n, "
                "percentile_cont(0.5) within group (order by extract(epoch from committed_at - received_at)) as p50, "
                "percentile_cont(0.99) within group (order by extract(epoch from committed_at - received_at)) as p99, "
                "max(extract(epoch from committed_at - received_at)) as max "
                "from calls where incident_id = any($1)", measured)
            return dict(sent=len(sent), stored=row["n"], p50=float(row["p50"] or "nan"),
                        p99=float(row["p99"] or "nan"), max=float(row["max"] or "nan"))
        finally:
            await conn.close()

    try:
        out = asyncio.run(measure())
    finally:
        proc.stop()
    out["peak_rss_mib"] = proc.rss.peak_mib
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=None, help="first N rows of the file (default: all)")
    p.add_argument("--latency-seconds", type=float, default=60.0, help="0: skip the latency run")
    p.add_argument("--faust-budget", type=float, default=120.0,
                   help="seconds the Faust agent may take before its rate is taken from what it did")
    p.add_argument("--logs", type=Path, default=None, help="folder for the processes' logs")
    p.add_argument("--store-rows", type=int, default=100_000, help="calls the store hop and COPY write")
    args = p.parse_args()
    stop_cleanly_on_sigterm()
    logs = args.logs or Path(tempfile.mkdtemp(prefix="divert-bench-logs-"))
    logs.mkdir(parents=True, exist_ok=True)
    say(f"logs in {logs}")
    load_before = os.getloadavg()[0]
    items = load_items(args.rows)
    n = len(items)
    lat = None
    with embedded_stack() as running:
        source = f"{PREFIX}cad.raw.{CITY}"
        ensure_topics(running.broker_bootstrap, Topics(PREFIX).all([CITY]))
        fill(running.broker_bootstrap, source, items)
        divert = throughput(running, n, logs)
        faust = faust_baseline(running, n, logs, source, args.faust_budget)
        consume = consume_only(running, n, logs, source)
        ingest = ingest_only(running, n, logs, source)
        store_rate, copy_rate = store_vs_copy(running, args.store_rows)
        if args.latency_seconds > 0:
            lat = latency(running, items, logs, args.latency_seconds)

    print()
    print(f"pipeline: San Antonio, {n:,} records, raw topic → rows in calls, one worker; machine: {machine()}; "
          f"load average during the run {load_before:.1f} → {os.getloadavg()[0]:.1f}")
    print(f"{'path':<26}{'records/s':>11}{'divert ÷ it':>13}{'peak RSS MiB':>14}  records")
    rows = divert.outputs
    print(f"{'divert worker → calls':<26}{divert.rate:>11,.0f}{1:>13.2f}{divert.peak_rss_mib:>14,.0f}  "
          f"{rows.get('calls', 0):,} calls + {rows.get('dead_letters', 0):,} dead letters of {n:,}"
          + ("" if divert.complete else " (INCOMPLETE)"))
    print(f"{'faust agent (baseline)':<26}{faust.rate:>11,.0f}{divert.rate / faust.rate:>13.2f}"
          f"{faust.peak_rss_mib:>14,.0f}  {faust.records:,}"
          + ("" if faust.complete else f" of {n:,} within its {args.faust_budget:.0f} s budget"))
    print(f"{'aiokafka consume only':<26}{consume['rate']:>11,.0f}{divert.rate / consume['rate']:>13.2f}"
          f"{consume['peak_rss_mib']:>14,.0f}  {consume['records']:,}")
    print(f"{'divert ingest hop alone':<26}{ingest.rate:>11,.0f}{divert.rate / ingest.rate:>13.2f}"
          f"{ingest.peak_rss_mib:>14,.0f}  {ingest.records:,}" + ("" if ingest.complete else " (INCOMPLETE)"))
    print(f"store hop alone: {store_rate:,.0f} rows/s; plain COPY of the same rows: {copy_rate:,.0f} rows/s "
          f"({args.store_rows:,} calls, batches of 5,000, fresh databases)")
    if lat:
        print(f"latency event → row at 100 events/s ({lat['stored']:,}/{lat['sent']:,} stored): "
              f"p50 {lat['p50']:.3f} s, p99 {lat['p99']:.3f} s, max {lat['max']:.3f} s (target p99 ≤ 2 s); "
              f"worker peak RSS {lat['peak_rss_mib']:,.0f} MiB")
    print(result_line(ratio_to_faust=f"{divert.rate / faust.rate:.2f}",
                      ratio_to_raw_consumer=f"{divert.rate / consume['rate']:.3f}",
                      rows_per_s=f"{divert.rate:.0f}",
                      p50_s=f"{lat['p50']:.3f}" if lat else "nan", p99_s=f"{lat['p99']:.3f}" if lat else "nan",
                      worker_peak_rss_mib=f"{divert.peak_rss_mib:.0f}"))
    print(result_line(store_to_copy=f"{store_rate / copy_rate:.2f}", e2e_to_ingest=f"{divert.rate / ingest.rate:.2f}"))


if __name__ == "__main__":
    main()
