"""Which broker and database a command talks to.

``DIVERT_KAFKA_BOOTSTRAP`` and ``DIVERT_DATABASE_URL`` name external services (a Kafka
cluster, a TimescaleDB); without them, the embedded stack recorded in the stack folder
(``divert stack up``) is used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from divert.exceptions import StackError


@dataclass(frozen=True)
class Services:
    kafka_bootstrap: str
    database_url: str
    external: bool


def services(stack_folder: Path | None = None) -> Services:
    bootstrap = os.environ.get("DIVERT_KAFKA_BOOTSTRAP")
    database = os.environ.get("DIVERT_DATABASE_URL")
    if bootstrap and database:
        return Services(bootstrap, database, external=True)
    from divert import stack

    folder = Path(stack_folder or stack.default_folder())
    running = stack.Stack.load(folder)
    if running is None or not stack.pid_alive(running.broker_pid):
        raise StackError(
            f"no embedded stack is running in {folder}: run `divert stack up`, or set "
            "DIVERT_KAFKA_BOOTSTRAP and DIVERT_DATABASE_URL to use external services")
    return Services(bootstrap or running.broker_bootstrap, database or running.database_url,
                    external=False)
