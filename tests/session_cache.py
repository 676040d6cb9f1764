"""Expensive test data built once per test session, however many xdist workers run it.

A ``functools.cache`` lives in one process: the two workers of ``make test-unit`` would each read
and normalize the same real files (Milwaukee in full is three CPU-seconds). The first worker to
ask builds the value and pickles it under the session's base temporary folder (the parent of
every worker's own); the others wait for that file and read it.
"""

from __future__ import annotations

import os
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_root: Path | None = None   # set once per process by tests/conftest.py (the session's basetemp)
WAIT_SECONDS = 600          # a builder that takes longer is presumed dead: build here instead


def set_root(path: Path) -> None:
    global _root
    _root = path


def built_once(name: str, build: Callable[[], T]) -> T:
    """``build()``, computed by one process of this test session and read by the others."""
    if _root is None:  # outside a pytest session (a script importing a conftest)
        return build()
    done, failed = _root / f"{name}.pickle", _root / f"{name}.failed"
    try:
        os.close(os.open(_root / f"{name}.building", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:  # another worker builds it
        deadline = time.monotonic() + WAIT_SECONDS
        while not done.exists():
            if failed.exists() or time.monotonic() > deadline:
                return build()  # raise the builder's error here too, or stand in for it
            time.sleep(0.05)
        return pickle.loads(done.read_bytes())
    try:
        value = build()
    except BaseException:
        failed.touch()
        raise
    partial = _root / f"{name}.partial"
    partial.write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    partial.replace(done)  # atomic: a reader sees the whole file or none
    return value
