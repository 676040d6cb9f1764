"""What the streaming benchmarks share: an embedded stack of their own, the San Antonio input,
filling a raw topic, counting a topic's records, sampling a process tree's memory, running an
engine as a subprocess measured from outside, and a paced producer for latency.

Every engine runs in its own process so its memory is its own and no two share an event loop;
throughput is measured from outside the same way for each one (see ``run_engine``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

CITY = "san_antonio"
REPO = Path(__file__).resolve().parents[1]
PARTITIONS = 4
_T0 = time.monotonic()


def say(msg: str) -> None:
    """Progress, on stderr, so stdout keeps only the results."""
    print(f"[{time.monotonic() - _T0:6.0f} s] {msg}", file=sys.stderr, flush=True)


def machine() -> str:
    import platform

    import psutil

    return (f"{os.cpu_count()} cores ({psutil.cpu_count(logical=False) or '?'} physical), "
            f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM, Python {platform.python_version()}")


# -- the stack ----------------------------------------------------------------------------

@contextmanager
def embedded_stack(keep: Path | None = None):
    """A broker and a database of the benchmark's own, in a temporary folder; stopped at the end."""
    from divert import stack

    folder = Path(keep or tempfile.mkdtemp(prefix="divert-bench-"))
    say(f"starting the embedded stack in {folder}")
    running = asyncio.run(stack.up(folder, timeout=90))
    try:
        yield running
    finally:
        asyncio.run(stack.down(folder))
        say("embedded stack stopped")


def worker_env(running, prefix: str, database_url: str | None = None) -> dict[str, str]:
    """Environment for a `divert worker` subprocess on this stack, with its own topic prefix."""
    env = dict(os.environ)
    env.update(DIVERT_KAFKA_BOOTSTRAP=running.broker_bootstrap,
               DIVERT_DATABASE_URL=database_url or running.database_url,
               DIVERT_TOPIC_PREFIX=prefix, DIVERT_PARTITIONS=str(PARTITIONS),
               PYTHONUNBUFFERED="1")
    return env


async def fresh_database(running) -> str:
    """An empty database on the benchmark's server; the worker migrates it as it starts."""
    import asyncpg

    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = running.database_url.rsplit("/", 1)[0] + "/postgres"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'create database "{name}"')
    finally:
        await conn.close()
    return running.database_url.rsplit("/", 1)[0] + f"/{name}"


# -- the input ----------------------------------------------------------------------------

class _FirstRows:
    """An adapter that reads only the first N rows of its history (for quick runs)."""

    def __init__(self, adapter, rows: int):
        self._adapter, self._rows = adapter, rows

    def __getattr__(self, name):
        return getattr(self._adapter, name)

    def read_raw(self, path=None):
        return itertools.islice(self._adapter.read_raw(path), self._rows)


def load_items(rows: int | None):
    """The San Antonio history as replay items (event-time order, pre-encoded keys and values)."""
    from divert.adapters import load_adapter
    from streams import replay

    adapter = load_adapter(CITY)
    if rows:
        adapter = _FirstRows(adapter, rows)
    t = time.perf_counter()
    items = replay.plan(adapter, None).items
    say(f"read {len(items):,} San Antonio rows in {time.perf_counter() - t:.0f} s")
    return items


async def ensure_topics_async(bootstrap: str, topics: list[str]) -> None:
    from streams.topics import ensure_topics

    await ensure_topics(bootstrap, topics, PARTITIONS)


def ensure_topics(bootstrap: str, topics: list[str]) -> None:
    asyncio.run(ensure_topics_async(bootstrap, topics))


def fill(bootstrap: str, topic: str, items) -> float:
    """Produce every item to ``topic`` as fast as the broker takes them; return records/s."""
    from streams import replay

    ensure_topics(bootstrap, [topic])
    t = time.perf_counter()
    sent = asyncio.run(replay.produce(items, bootstrap=bootstrap, topic=topic, speed=None, chunk=20_000))
    rate = sent / (time.perf_counter() - t)
    say(f"filled {topic} with {sent:,} records ({rate:,.0f} records/s)")
    return rate


# -- counting a topic ---------------------------------------------------------------------

class TopicCounter:
    """Counts the records on some topics by following their high watermarks.

    Not ``end_offsets``: the embedded broker (tansu 0.6) answers ListOffsets "latest" with the
    first offset of a partition's last record batch, short by up to a batch. The high watermark
    a fetch response carries is right, so this consumer keeps itself at each partition's end
    (seeking to the high watermark after every fetch, with a one-byte fetch size) and reads
    almost nothing.
    """

    def __init__(self, bootstrap: str, topics: list[str]):
        self.bootstrap, self.topics = bootstrap, topics
        self._consumer = None
        self._tps: list = []
        self._high: dict = {}

    async def start(self) -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        self._consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                                          fetch_max_wait_ms=50, max_partition_fetch_bytes=1,
                                          auto_offset_reset="earliest")
        await self._consumer.start()
        self._tps = [TopicPartition(t, p) for t in self.topics for p in range(PARTITIONS)]
        self._consumer.assign(self._tps)
        await self._consumer.seek_to_beginning(*self._tps)
        self._high = dict.fromkeys(self._tps, 0)

    async def per_topic(self) -> dict[str, int]:
        await self._consumer.getmany(timeout_ms=50)
        for tp in self._tps:
            high = self._consumer.highwater(tp)
            if high is not None and high > self._high[tp]:
                self._high[tp] = high
                self._consumer.seek(tp, high)
        out = dict.fromkeys(self.topics, 0)
        for tp, high in self._high.items():
            out[tp.topic] += high
        return out

    async def total(self) -> int:
        return sum((await self.per_topic()).values())

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()


async def read_keys(bootstrap: str, topic: str, expect: int, timeout: float = 300) -> list:
    """(key, partition, offset) of every record on a topic (reads until ``expect`` arrived)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest", max_poll_records=20_000,
                                fetch_max_bytes=64 * 1024 * 1024, max_partition_fetch_bytes=16 * 1024 * 1024)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        out: list = []
        deadline = time.monotonic() + timeout
        while len(out) < expect and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500, max_records=20_000)
            for recs in batch.values():
                out.extend((r.key, r.value, r.partition, r.offset) for r in recs)
        return out
    finally:
        await consumer.stop()


# -- memory -------------------------------------------------------------------------------

class PeakRSS:
    """Samples the resident memory of a process and its children (summed) on a thread."""

    def __init__(self, pid: int, every: float = 0.2):
        import psutil

        self._proc = psutil.Process(pid)
        self.every = every
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self._proc, *self._proc.children(recursive=True)]
                rss = 0
                for p in procs:
                    try:
                        rss += p.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, rss)
            except psutil.Error:
                pass
            self._stop.wait(self.every)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mib(self) -> float:
        return self.peak / 2**20


# -- running an engine --------------------------------------------------------------------

@dataclass
class Process:
    name: str
    cmd: list[str]
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen | None = None
    rss: PeakRSS | None = None

    def start(self) -> Process:
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True, cwd=REPO)
        self.rss = PeakRSS(self.proc.pid).__enter__()
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """SIGTERM to the process group this benchmark started (SIGKILL if it will not stop)."""
        if self.rss:
            self.rss.__exit__()
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


@dataclass
class Run:
    """One engine's pass over the input, measured from outside by counting its outputs."""

    engine: str
    records: int            # inputs accounted for (outputs on its output topics)
    seconds: float          # from its first output to its last
    rate: float             # records/s over that span, not counting the first batch
    peak_rss_mib: float
    outputs: dict[str, int] = field(default_factory=dict)
    complete: bool = True
    note: str = ""


def run_engine(name: str, processes: list[Process], bootstrap: str, out_topics: list[str],
               expect: int, *, timeout: float = 900, settle: float = 2.0, poll: float = 0.05,
               counter=None) -> Run:
    """Start the engine's processes, wait until its outputs number ``expect``, stop them.

    The clock starts at the first output seen (so start-up and the consumer-group join are not
    counted, for any engine) and stops when the outputs reach ``expect``; the records of the
    first observation are left out of the rate. The engine runs ``settle`` s more to catch
    any record it writes twice.
    """

    async def measure() -> tuple[float, float, int, int, dict[str, int]]:
        nonlocal counter
        counter = counter or TopicCounter(bootstrap, out_topics)
        await counter.start()
        try:
            base = await counter.total()  # 0 on fresh topics
            t_first = n_first = None
            last_report = time.monotonic()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                n = await counter.total() - base
                now = time.monotonic()
                if n and t_first is None:
                    t_first, n_first = now, n
                if n >= expect:
                    t_end = now
                    await asyncio.sleep(settle)
                    per = await counter.per_topic()
                    return t_first, t_end, n_first, n, per
                if not all(p.alive() for p in processes):
                    dead = next(p for p in processes if not p.alive())
                    raise RuntimeError(f"{dead.name} exited with {dead.proc.returncode}:\n{dead.tail()}")
                if now - last_report > 10:
                    say(f"  {name}: {n:,} / {expect:,}")
                    last_report = now
                await asyncio.sleep(poll)
            per = await counter.per_topic()
            return t_first or time.monotonic(), time.monotonic(), n_first or 0, sum(per.values()) - base, per
        finally:
            await counter.stop()

    say(f"running {name}")
    for p in processes:
        p.start()
    try:
        t_first, t_end, n_first, n, per = asyncio.run(measure())
    finally:
        for p in processes:
            p.stop()
        peak = sum(p.rss.peak_mib for p in processes if p.rss)  # several processes: sum of their peaks
    span = max(t_end - t_first, 1e-9)
    rate = (min(n, expect) - n_first) / span
    run = Run(name, n, span, rate, peak, per, complete=n >= expect)
    say(f"  {name}: {n:,} records in {span:.1f} s = {rate:,.0f} records/s; peak RSS {peak:,.0f} MiB"
        + ("" if run.complete else f" — INCOMPLETE (expected {expect:,})"))
    return run


def engine_cmd(engine: str, **options) -> list[str]:
    args = [sys.executable, "-m", "bench.engines", engine]
    for k, v in options.items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    return args


def divert_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "divert", "worker", "--city", CITY, "--metrics-port", "0", *args]


# -- latency ------------------------------------------------------------------------------

def stamped(items, count: int, tag: str) -> Iterator[tuple[bytes, bytes, str]]:
    """Real San Antonio records made new: a fresh incident number and ResponseDate = now (ms)."""
    from divert.ingest import event_key

    decode, encode = msgspec.json.decode, msgspec.json.encode
    pool = [i for i in items[:5000] if i.key]
    for n in range(count):
        raw = decode(pool[n % len(pool)].value)
        incident = f"BENCH-{tag}-{n}"
        raw["IncidentNumber"] = incident
        raw["ResponseDate"] = str(int(time.time() * 1000))
        yield event_key(CITY, incident), encode(raw), incident


async def paced_produce(bootstrap: str, topic: str, records: Iterator[tuple[bytes, bytes, str]],
                        rate: float, count: int) -> dict[bytes, float]:
    """Send ``count`` records at ``rate``/s on a fixed schedule; return key → wall time of sending.

    Each record is built (stamped with now) at its due time, then sent and not awaited, so a
    slow acknowledgement never delays the schedule.
    """
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks="all")
    await producer.start()
    sent: dict[bytes, float] = {}
    futures = []
    try:
        t0 = time.monotonic()
        for n in range(count):
            if (wait := t0 + n / rate - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            key, value, _ = next(records)
            sent[key] = time.time()
            futures.append(await producer.send(topic, value, key=key))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return sent


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[max(int(q * 1000) - 1, 0)]


def result_line(**figures) -> str:
    return " ".join(f"{k}={v}" for k, v in figures.items())


def dump(path: Path | None, payload: dict) -> None:
    if path:
        path.write_text(json.dumps(payload, indent=2, default=str))


def stop_cleanly_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the stack and the engines this run started are stopped."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
