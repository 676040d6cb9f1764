"""normalize: the city adapter over a raw topic, against a raw aiokafka consume of the same topic.

Both read the same pre-filled `cad.raw.san_antonio` from the beginning with their own consumer
group, in their own process, timed from the first batch to the last record:

  aiokafka consume    the floor: poll batches, touch nothing
  + normalize         poll batches, normalize every record (divert.ingest.normalize_messages)

Last line: ratio_to_raw_consume=R records_per_s=X
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from bench.common import CITY, embedded_stack, ensure_topics, fill, load_items, machine, result_line, say
from bench.pipeline import consume_only

PREFIX = "bench-normalize."


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=None, help="first N rows of the file (default: all)")
    args = p.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="divert-bench-normalize-"))
    items = load_items(args.rows)
    n = len(items)
    with embedded_stack() as running:
        source = f"{PREFIX}cad.raw.{CITY}"
        ensure_topics(running.broker_bootstrap, [source])
        fill(running.broker_bootstrap, source, items)
        raw = consume_only(running, n, logs, source, "consume")
        normalized = consume_only(running, n, logs, source, "normalize")
    say("done")
    print(f"\nnormalize: San Antonio, {n:,} records; machine: {machine()}; load {os.getloadavg()[0]:.1f}")
    print(f"{'path':<24}{'records/s':>11}{'ratio':>8}{'peak RSS MiB':>14}")
    for label, r in (("aiokafka consume", raw), ("consume + normalize", normalized)):
        print(f"{label:<24}{r['rate']:>11,.0f}{r['rate'] / raw['rate']:>8.2f}{r['peak_rss_mib']:>14,.0f}")
    print(result_line(ratio_to_raw_consume=f"{normalized['rate'] / raw['rate']:.3f}",
                      records_per_s=f"{normalized['rate']:.0f}"))


if __name__ == "__main__":
    main()
