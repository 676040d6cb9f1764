"""`make bench`: run every benchmark in bench/, each as its own process, and print one table.

Each benchmark's own output is printed as it finishes (its figures, ratios to its in-process
baseline); the table at the end gives, per benchmark, whether it ran, how long it took and its
headline (its last output line), with the machine's core count and load.

    .venv/bin/python -m bench [--only hot_path,pipeline] [--skip spikes] [--timeout 1500]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOT_BENCHMARKS = {"__init__", "__main__", "common", "engines"}
def benchmarks() -> list[str]:
    # the fast, in-process ones first; those that start a stack of their own last
    names = sorted(p.stem for p in HERE.glob("*.py") if p.stem not in NOT_BENCHMARKS)
    return sorted(names, key=lambda n: (n in ("hot_path", "pipeline", "panels"), n))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="comma-separated benchmark names")
    ap.add_argument("--skip", default="", help="comma-separated benchmark names")
    ap.add_argument("--timeout", type=float, default=1500, help="seconds per benchmark")
    args = ap.parse_args()
    only = {n for n in args.only.split(",") if n}
    skip = {n for n in args.skip.split(",") if n}
    names = [n for n in benchmarks() if (not only or n in only) and n not in skip]
    results = []
    for name in names:
        print(f"\n== bench.{name} ==", flush=True)
        t = time.monotonic()
        try:
            # stderr (progress) passes through; stdout (figures) is captured and echoed
            proc = subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=HERE.parent, stdout=subprocess.PIPE,
                                  text=True, timeout=args.timeout)
            out, status = proc.stdout, "ok" if proc.returncode == 0 else f"failed ({proc.returncode})"
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            status = f"timed out ({args.timeout:.0f} s)"
        print(out.rstrip(), flush=True)
        lines = [line for line in out.splitlines() if line.strip()]
        results.append((name, status, time.monotonic() - t, lines[-1].strip() if lines else ""))

    load = os.getloadavg()
    print(f"\n== summary: {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
          "(1/5/15 min; other work on the machine lowers every rate) ==")
    print(f"{'benchmark':<16}{'status':<22}{'seconds':>8}  headline")
    for name, status, secs, headline in results:
        print(f"{name:<16}{status:<22}{secs:>8.0f}  {headline}")
    if any(r[1] not in ("ok", "skipped") for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
