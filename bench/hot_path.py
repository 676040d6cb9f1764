"""Benchmark (issue 13): divert's hot path against a plain aiokafka loop, a bare Faust agent and
quixstreams, on the same pre-filled raw topic, in one run on a stack of its own.

Input: the San Antonio history (717,153 rows) produced once to ``bench.cad.raw.san_antonio``.
Each engine then reads it from the beginning with its own consumer group, in its own process:

  divert worker     a real ``divert worker --no-store`` subprocess (the shipped worker: Faust app,
                    the hot hop as a BatchConsumer + streams.ingest.handler, and its spike agent),
                    measured from outside; writes cad.events, officer.activity, calls.classified
                    and deadletter
  divert ingest     (opt-in) the hot hop alone (BatchConsumer + streams.ingest.handler), plain process
  aiokafka loop     the baseline: consume → decode → normalize → classify → produce, per batch
  faust agent       one event at a time: decode → route lookup → await topic.send
  quixstreams       decode → route lookup → produce

Throughput is timed from an engine's first output to its last (start-up and group join are not
counted), by polling its output topics' end offsets; an engine passes when canonical + dead
letters = input. Ratios are to the aiokafka loop run in the same process tree and run. The
last line is ``ratio_to_raw_aiokafka=R ratio_to_quixstreams=Q records_per_s=X`` (X: divert
worker). ``--workers 2`` adds two divert workers in one group splitting the partitions, checked
for every record exactly once by distinct incident keys. Then event → calls.classified
latency at 100 events/s through a divert worker.

    .venv/bin/python -m bench.hot_path [--rows N] [--workers 2] [--engines a,b] [--latency-seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import tempfile
import time
from pathlib import Path

from bench.common import (
    CITY,
    Process,
    Run,
    TopicCounter,
    divert_cmd,
    embedded_stack,
    engine_cmd,
    ensure_topics,
    ensure_topics_async,
    fill,
    load_items,
    machine,
    paced_produce,
    percentile,
    read_keys,
    result_line,
    run_engine,
    say,
    stamped,
    stop_cleanly_on_sigterm,
    worker_env,
)
from streams.topics import Topics

PREFIX = "bench."
ENGINES = {  # name → (label, what it does)
    "divert": ("divert worker", "normalize+classify, 4 output topics (+spike agent)"),
    "divert-ingest": ("divert ingest hop", "normalize+classify, 4 output topics"),
    "aiokafka": ("aiokafka loop", "normalize+classify → calls.classified"),
    "faust": ("faust agent", "decode+route lookup, per event"),
    "quix": ("quixstreams", "decode+route lookup"),
}
DEFAULT = ("divert", "aiokafka", "faust", "quix")  # add divert-ingest to split the worker's cost


def canonical_topics(prefix: str) -> tuple[str, str]:
    return f"{prefix}calls.classified", f"{prefix}deadletter"


def run_divert(running, n: int, logs: Path, *, workers: int = 1, prefix: str = PREFIX,
               app_id: str = "bench-divert") -> tuple[Run, list[Process]]:
    env = worker_env(running, prefix)
    ensure_topics(running.broker_bootstrap, Topics(prefix).all([CITY]))  # so they can be counted from the start
    procs = [Process(f"divert worker {i + 1}", divert_cmd("--no-store", "--app-id", app_id), env,
                     logs / f"{app_id}-{i + 1}.log") for i in range(workers)]
    label = "divert worker" if workers == 1 else f"divert worker ×{workers}"
    return run_engine(label, procs, running.broker_bootstrap, list(canonical_topics(prefix)), n), procs


def run_other(running, engine: str, n: int, logs: Path, source: str, budget: float = 900) -> Run:
    prefix = f"{PREFIX}{engine}."
    ensure_topics(running.broker_bootstrap, [*canonical_topics(prefix), f"{prefix}cad.events",
                                             f"{prefix}officer.activity"])
    cmd = engine_cmd(engine, bootstrap=running.broker_bootstrap, source=source, out_prefix=prefix,
                     group=f"bench-{engine}")
    return run_engine(ENGINES[engine][0], [Process(engine, cmd, dict(os.environ), logs / f"{engine}.log")],
                       running.broker_bootstrap, list(canonical_topics(prefix)), n, timeout=budget)


def exactly_once(running, n: int, items, prefix: str, procs: list[Process]) -> dict:
    """Read back calls.classified and deadletter: distinct incident keys, duplicates, rebalances."""
    import msgspec

    classified, dead_topic = canonical_topics(prefix)

    async def counts():
        c = TopicCounter(running.broker_bootstrap, [classified, dead_topic])
        await c.start()
        try:
            return await c.per_topic()
        finally:
            await c.stop()

    per = asyncio.run(counts())
    calls = asyncio.run(read_keys(running.broker_bootstrap, classified, per[classified]))
    dead = asyncio.run(read_keys(running.broker_bootstrap, dead_topic, per[dead_topic]))
    call_keys = {k for k, *_ in calls}
    # a dead letter names the raw record's partition and offset: its identity in this run
    dead_ids = set()
    for _, value, *_ in dead:
        d = msgspec.json.decode(value)
        dead_ids.add((d.get("partition"), d.get("offset"), d.get("item")))
    input_keys = {i.key for i in items if i.key}
    missing = len(input_keys - call_keys)
    rebalances = 0
    for p in procs:
        text = p.log.read_text(errors="replace") if p.log.exists() else ""
        # every join (the first one too) starts by revoking what the member held
        joins = [g for g in re.findall(r"Revoking previously assigned partitions.*?for group (\S+)", text, re.S)
                 if g.endswith(".ingest")]
        rebalances += max(len(joins) - 1, 0)
    distinct = len(call_keys) + len(dead_ids)
    return dict(outputs=len(calls) + len(dead), distinct=distinct, duplicates=len(calls) + len(dead) - distinct,
                missing_incidents=missing, dead_letters=len(dead_ids), input=n, rebalances=rebalances,
                every_record_once=distinct == n and missing <= len(dead_ids))


def latency(running, items, logs: Path, seconds: float, rate: float = 100.0) -> dict:
    """Event → calls.classified at ``rate``/s through a divert worker (--no-store) on fresh topics."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    prefix = f"{PREFIX}lat."
    env = worker_env(running, prefix)
    raw_topic, out_topic = f"{prefix}cad.raw.{CITY}", f"{prefix}calls.classified"
    proc = Process("divert worker (latency)", divert_cmd("--no-store", "--app-id", "bench-latency"), env,
                   logs / "latency-worker.log").start()
    records = stamped(items, int(seconds * rate) + 10_000, f"L{int(time.time())}")

    async def measure() -> dict:
        consumer = AIOKafkaConsumer(bootstrap_servers=running.broker_bootstrap, enable_auto_commit=False,
                                    fetch_max_wait_ms=5)
        await ensure_topics_async(running.broker_bootstrap, [raw_topic, out_topic])
        await consumer.start()
        tps = [TopicPartition(out_topic, p) for p in range(4)]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        arrived: dict[bytes, float] = {}
        done = asyncio.Event()

        async def collect():
            while not done.is_set():
                batch = await consumer.getmany(timeout_ms=5)
                now = time.time()
                for recs in batch.values():
                    for r in recs:
                        arrived.setdefault(r.key, now)

        collector = asyncio.create_task(collect())
        try:
            # warm-up: wait until the worker has joined its group and answers
            warm = await paced_produce(running.broker_bootstrap, raw_topic, records, rate, 1)
            deadline = time.monotonic() + 120
            while not set(warm) <= set(arrived) and time.monotonic() < deadline:
                if not proc.alive():
                    raise RuntimeError(f"the latency worker exited:\n{proc.tail()}")
                await asyncio.sleep(0.1)
            await paced_produce(running.broker_bootstrap, raw_topic, records, rate, int(rate * 3))
            await asyncio.sleep(2)
            say(f"latency: {rate:.0f} events/s for {seconds:.0f} s")
            sent = await paced_produce(running.broker_bootstrap, raw_topic, records, rate, int(rate * seconds))
            deadline = time.monotonic() + 30
            while not set(sent) <= set(arrived) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
        finally:
            done.set()
            await collector
            await consumer.stop()
        lat = [arrived[k] - t for k, t in sent.items() if k in arrived]
        return dict(sent=len(sent), arrived=len(lat), p50=percentile(lat, 0.5), p99=percentile(lat, 0.99),
                    max=max(lat) if lat else float("nan"))

    try:
        return asyncio.run(measure())
    finally:
        proc.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=None, help="first N rows of the file (default: all)")
    p.add_argument("--engines", default=",".join(DEFAULT), help=f"comma-separated, of {', '.join(DEFAULT)}")
    p.add_argument("--workers", type=int, default=1, help="also run N divert workers in one group (N > 1)")
    p.add_argument("--latency-seconds", type=float, default=30.0, help="0: skip the latency run")
    p.add_argument("--faust-budget", type=float, default=120.0,
                   help="seconds the Faust agent may take before its rate is taken from what it did")
    p.add_argument("--logs", type=Path, default=None, help="folder for the engines' logs")
    args = p.parse_args()
    stop_cleanly_on_sigterm()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if "aiokafka" not in engines:
        engines.append("aiokafka")  # the baseline every ratio is against
    logs = args.logs or Path(tempfile.mkdtemp(prefix="divert-bench-logs-"))
    logs.mkdir(parents=True, exist_ok=True)
    say(f"engine logs in {logs}")

    load_before = os.getloadavg()[0]
    items = load_items(args.rows)
    n = len(items)
    runs: dict[str, Run] = {}
    check: dict | None = None
    lat: dict | None = None
    with embedded_stack() as running:
        source = f"{PREFIX}cad.raw.{CITY}"
        fill(running.broker_bootstrap, source, items)
        for engine in engines:
            if engine == "divert":
                runs[engine] = run_divert(running, n, logs)[0]
            else:
                budget = args.faust_budget if engine == "faust" else 900
                runs[engine] = run_other(running, engine, n, logs, source, budget)
        if args.workers > 1:
            prefix = f"{PREFIX}w{args.workers}."
            fill(running.broker_bootstrap, f"{prefix}cad.raw.{CITY}", items)
            run, procs = run_divert(running, n, logs, workers=args.workers, prefix=prefix,
                                    app_id=f"bench-divert-x{args.workers}")
            runs[f"divert x{args.workers}"] = run
            say("reading the outputs back to check every record once")
            check = exactly_once(running, n, items, prefix, procs)
        if args.latency_seconds > 0:
            lat = latency(running, items, logs, args.latency_seconds)

    base = runs["aiokafka"].rate
    print()
    print(f"hot path: San Antonio, {n:,} records, 4 partitions; machine: {machine()}; "
          f"load average during the run {load_before:.1f} → {os.getloadavg()[0]:.1f}")
    print(f"{'engine':<22}{'work per record':<50}{'records/s':>11}{'× aiokafka':>11}"
          f"{'peak RSS MiB':>14}  all accounted for")
    for key, run in runs.items():
        label, what = ENGINES.get(key, (key, ""))
        if key.startswith("divert x"):
            label, what = f"divert worker ×{args.workers}", "one consumer group, partitions split"
        ok = "yes" if run.complete else f"partial: {run.records:,} of {n:,} within the budget"
        outs = ", ".join(f"{t.rsplit('.', 1)[-1] if t.endswith('deadletter') else t.split('.')[-2] + '.' + t.split('.')[-1]}"
                         f" {c:,}" for t, c in run.outputs.items())
        print(f"{label:<22}{what:<50}{run.rate:>11,.0f}{run.rate / base:>11.2f}{run.peak_rss_mib:>14,.0f}"
              f"  {ok} ({outs})")
    if check:
        print(f"divert ×{args.workers} exactly-once check: {check['distinct']:,} distinct records of {n:,} "
              f"({check['dead_letters']:,} dead letters), {check['duplicates']:,} duplicates, "
              f"{check['missing_incidents']:,} incidents missing, rebalances seen {check['rebalances']}"
              f" → {'every record exactly once' if check['every_record_once'] and not check['duplicates'] else 'every record at least once' if check['every_record_once'] else 'RECORDS MISSING'}")
    if lat:
        print(f"latency event → calls.classified at 100 events/s (divert worker, {lat['arrived']:,}/{lat['sent']:,}"
              f" arrived): p50 {lat['p50'] * 1000:,.0f} ms, p99 {lat['p99'] * 1000:,.0f} ms, max {lat['max'] * 1000:,.0f} ms")
    divert = runs.get("divert") or runs.get("divert-ingest")
    quix = runs.get("quix")
    print(result_line(ratio_to_raw_aiokafka=f"{divert.rate / base:.2f}",
                      ratio_to_quixstreams=f"{divert.rate / quix.rate:.2f}" if quix else "nan",
                      records_per_s=f"{divert.rate:.0f}"))


if __name__ == "__main__":
    main()
