"""The engines the streaming benchmarks compare, each run as its own process.

    python -m bench.engines ENGINE --bootstrap HOST:PORT --source TOPIC --out-prefix P --group G

Every engine reads ``--source`` from the beginning with its own consumer group and writes
one output record per input record to ``<P>calls.classified`` (or ``<P>deadletter`` when the
input cannot be made into a call), so its progress is counted from outside the same way for
all of them. They stop on SIGTERM.

- ``divert-ingest``: divert's hot hop without the rest of the worker — ``BatchConsumer`` +
  ``streams.ingest.handler``, the objects ``streams.app._attach_hot_path`` builds, in a plain
  asyncio process (no Faust app, no spike agent). Writes cad.events, officer.activity,
  calls.classified and deadletter under ``P``.
- ``aiokafka``: a plain aiokafka loop doing the same work per batch: consume → decode →
  normalize with the adapter → classify → produce to calls.classified.
- ``faust``: a bare Faust agent, one event at a time as Faust's docs show: decode → route
  lookup → ``await topic.send``.
- ``quix``: quixstreams (a StreamingDataFrame): decode (its JSON deserializer) → route
  lookup → produce.
- ``consume``: an aiokafka consumer that only consumes (a floor for any Kafka consumer);
  it writes nothing, so it times itself and writes ``--result`` (JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time

import msgspec

CITY = "san_antonio"
MAX_RECORDS = 5000  # the worker's batch size (WorkerConfig.batch_size)
POLL_MS = 50        # the worker's batch_within
SESSION_TIMEOUT = 6.0


def route_lookup():
    """ProblemType (as written) → route, from the city's crosswalk and the policy (memoized)."""
    from divert.crosswalk import load_crosswalk, normalize_type
    from divert.policy import load_policy

    crosswalk, policy = load_crosswalk(CITY), load_policy()
    by_type = {k: policy.route_for(e.apco_code) for k, e in crosswalk.entries.items()}
    memo: dict[str | None, str] = {}

    def route_of(call_type: str | None) -> str:
        route = memo.get(call_type)
        if route is None:
            route = memo[call_type] = by_type.get(normalize_type(call_type), policy.default_route)
        return route

    return route_of


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def _consumer(args, **extra):
    from aiokafka import AIOKafkaConsumer

    return AIOKafkaConsumer(
        args.source, bootstrap_servers=args.bootstrap, group_id=args.group, enable_auto_commit=False,
        auto_offset_reset="earliest", session_timeout_ms=int(SESSION_TIMEOUT * 1000),
        heartbeat_interval_ms=1000, max_poll_records=MAX_RECORDS, fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=8 * 1024 * 1024, **extra)


# -- divert's hot hop, in process ------------------------------------------------------------

async def run_divert_ingest(args) -> None:
    from divert.telemetry import WorkerMetrics
    from streams import ingest
    from streams.app import WorkerConfig, WorkerContext
    from streams.batch_consumer import BatchConsumer
    from streams.outbox import Outbox
    from streams.topics import Topics

    source = args.source

    class BenchTopics(Topics):
        # outputs under the bench prefix, input from the shared raw topic
        def raw(self, city: str) -> str:
            return source

    config = WorkerConfig(args.bootstrap, (CITY,), BenchTopics(args.out_prefix), app_id=args.group)
    ctx = WorkerContext(config, WorkerMetrics())
    outbox = Outbox(args.bootstrap)
    service = BatchConsumer(name="ingest", bootstrap=args.bootstrap, group_id=args.group, topics=[source],
                            handle=ingest.handler(ctx, outbox), max_records=config.batch_size,
                            poll_ms=int(config.batch_within * 1000), session_timeout=config.session_timeout)
    stop = _stop_event()
    await service.start()
    await stop.wait()
    await service.stop()
    await outbox.close()


# -- a plain aiokafka loop doing the same work -----------------------------------------------

async def run_aiokafka(args) -> None:
    from aiokafka import AIOKafkaProducer

    from divert.adapters import load_adapter
    from divert.classify import Classifier
    from divert.crosswalk import load_crosswalk
    from divert.exceptions import InvalidRecord
    from divert.policy import load_policy
    from schemas import encode

    adapter = load_adapter(CITY)
    classifier = Classifier(load_crosswalk(adapter.agency), load_policy())
    decode = msgspec.json.Decoder().decode
    out, dead_topic = f"{args.out_prefix}calls.classified", f"{args.out_prefix}deadletter"
    consumer = _consumer(args)
    producer = AIOKafkaProducer(bootstrap_servers=args.bootstrap, linger_ms=5, acks="all",
                                max_batch_size=1024 * 1024, max_request_size=8 * 1024 * 1024)
    stop = _stop_event()
    await consumer.start()
    await producer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=POLL_MS, max_records=MAX_RECORDS)
            if not batch:
                continue
            events, dead = [], []
            for records in batch.values():
                for r in records:
                    try:
                        events.append(adapter.normalize(decode(r.value))[0])
                    except (InvalidRecord, msgspec.DecodeError, TypeError, AttributeError):
                        dead.append(r.value or b"")
            calls = classifier.classify_many(events)
            futures = [await producer.send(out, encode(c), key=f"{c.call.agency}:{c.call.incident_id}".encode())
                       for c in calls]
            futures += [await producer.send(dead_topic, v) for v in dead]
            await asyncio.gather(*futures)
            await consumer.commit({tp: recs[-1].offset + 1 for tp, recs in batch.items()})
    finally:
        await producer.stop()
        await consumer.stop()


# -- consume only ----------------------------------------------------------------------------

async def run_consume(args, work=None) -> None:
    """Consume the topic; with ``work``, hand each polled batch to it (nothing is produced)."""
    consumer = _consumer(args)
    stop = _stop_event()
    await consumer.start()
    n, first, last = 0, None, None
    try:
        while not stop.is_set() and n < args.expect:
            batch = await consumer.getmany(timeout_ms=POLL_MS, max_records=MAX_RECORDS)
            got = sum(len(r) for r in batch.values())
            if got and work is not None:
                work(batch)
            if got:
                now = time.monotonic()
                if first is None:
                    first, first_n = now, got
                n += got
                last = now
    finally:
        await consumer.stop()
    span = (last - first) if first is not None and last > first else float("nan")
    rate = (n - first_n) / span if first is not None else 0.0
    with open(args.result, "w") as f:
        json.dump({"records": n, "seconds": span, "rate": rate}, f)
    await stop.wait()  # stay up until the harness has sampled memory and stops us


async def run_normalize(args) -> None:
    """Consume and normalize each batch with the city's adapter, as the ingest hop does."""
    from divert.adapters import load_adapter
    from divert.ingest import RawMessage, normalize_messages

    adapter = load_adapter(CITY)

    def work(batch) -> None:
        normalize_messages(adapter, [RawMessage(r.value, r.partition, r.offset)
                                     for recs in batch.values() for r in recs], source_topic=args.source)

    await run_consume(args, work)


# -- a bare Faust agent ----------------------------------------------------------------------

def run_faust(args) -> None:
    import faust

    route_of = route_lookup()
    decode, encode = msgspec.json.Decoder().decode, msgspec.json.Encoder().encode
    # the worker's own settings (streams/app.py), so only the per-event model differs
    app = faust.App(args.group, broker=f"kafka://{args.bootstrap}", store="memory://", autodiscover=False,
                    key_serializer="raw", value_serializer="raw", consumer_auto_offset_reset="earliest",
                    broker_session_timeout=SESSION_TIMEOUT, broker_heartbeat_interval=1.0,
                    broker_rebalance_timeout=SESSION_TIMEOUT * 5, broker_commit_interval=1.0,
                    producer_linger=0.005, topic_disable_leader=True, web_enabled=False)
    source = app.topic(args.source)
    out = app.topic(f"{args.out_prefix}calls.classified")
    dead = app.topic(f"{args.out_prefix}deadletter")

    @app.agent(source)
    async def route_calls(stream):
        async for key, value in stream.items():
            try:
                raw = decode(value)
                call = {"incident_id": raw.get("IncidentNumber"), "route": route_of(raw.get("ProblemType"))}
            except (msgspec.DecodeError, AttributeError):
                await dead.send(value=value)
                continue
            await out.send(key=key, value=encode(call))

    worker = faust.Worker(app, loglevel="WARNING", quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


# -- quixstreams -----------------------------------------------------------------------------

def run_quix(args) -> None:
    from quixstreams import Application

    route_of = route_lookup()
    app = Application(broker_address=args.bootstrap, consumer_group=args.group, auto_offset_reset="earliest",
                      loglevel="WARNING", use_changelog_topics=False, auto_create_topics=False)
    source = app.topic(args.source, key_deserializer="bytes", value_deserializer="json")
    out = app.topic(f"{args.out_prefix}calls.classified", key_serializer="bytes", value_serializer="json")
    sdf = app.dataframe(source)
    sdf = sdf.apply(lambda raw: {"incident_id": raw.get("IncidentNumber"),
                                 "route": route_of(raw.get("ProblemType"))})
    sdf.to_topic(out)
    app.run()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("engine", choices=["divert-ingest", "aiokafka", "consume", "normalize", "faust", "quix"])
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("--out-prefix", default="")
    p.add_argument("--group", required=True)
    p.add_argument("--expect", type=int, default=0)
    p.add_argument("--result")
    args = p.parse_args()
    if args.engine == "faust":
        run_faust(args)
    elif args.engine == "quix":
        run_quix(args)
    else:
        run = {"divert-ingest": run_divert_ingest, "aiokafka": run_aiokafka, "consume": run_consume,
               "normalize": run_normalize}
        asyncio.run(run[args.engine](args))


if __name__ == "__main__":
    main()
