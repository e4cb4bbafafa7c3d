"""PostgreSQL from its own statistics views, over one connection kept for the whole run.

What runs out first in a wallet database under load: connections (askar pools against
max_connections), locks (sessions waiting on each other), or its write rate. Counters
(transactions, rows written) become rates between samples.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import pg8000.dbapi

from akrida.target.recorder import Poller, SourceError
from akrida.target.samples import (
    PG_CONNECTIONS_PREFIX,
    PG_DATABASE_BYTES,
    PG_LOCK_WAITS,
    PG_MAX_CONNECTIONS,
    PG_ROWS_WRITTEN_PER_S,
    PG_TRANSACTIONS_PER_S,
    Sample,
    Source,
)

QUERY_TIMEOUT_S = 2.0
STATES = (
    "SELECT coalesce(state, 'unknown'), count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1"
)
COUNTERS = (
    "SELECT sum(xact_commit + xact_rollback), sum(tup_inserted + tup_updated + tup_deleted), "
    "sum(pg_database_size(datid)) FROM pg_stat_database WHERE datname IS NOT NULL"
)
LOCK_WAITS = "SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted"


@dataclass(frozen=True)
class PostgresAddress:
    host: str
    port: int
    user: str
    password: str
    database: str = "postgres"


class PostgresPoller:
    def __init__(self, name: str, address: PostgresAddress):
        self.name = name
        self.address = address
        self._connection: pg8000.dbapi.Connection | None = None
        self._previous: tuple[float, float, float] | None = None  # (monotonic time, transactions, rows)

    def _connect(self) -> pg8000.dbapi.Connection:
        if self._connection is None:
            a = self.address
            try:
                self._connection = pg8000.dbapi.connect(
                    user=a.user, password=a.password, host=a.host, port=a.port, database=a.database,
                    timeout=QUERY_TIMEOUT_S, application_name="akrida-sampler",
                )  # fmt: skip
                self._connection.autocommit = True  # each query sees the statistics of its moment
            except Exception as error:  # pg8000 raises several kinds; the summary names it
                raise SourceError(f"cannot connect to PostgreSQL at {a.host}:{a.port}: {error}") from None
        return self._connection

    def sample(self) -> list[Sample]:
        connection = self._connect()
        now, wall = time.monotonic(), time.time()
        try:
            cursor = connection.cursor()
            cursor.execute(STATES)
            states = cursor.fetchall()
            cursor.execute(COUNTERS)
            transactions, rows, size = cursor.fetchone()
            cursor.execute(LOCK_WAITS)
            (waits,) = cursor.fetchone()
            cursor.execute("SHOW max_connections")
            (maximum,) = cursor.fetchone()
        except Exception as error:
            self.close()
            raise SourceError(f"PostgreSQL's statistics could not be read: {error}") from None
        samples = [Sample(wall, self.name, PG_CONNECTIONS_PREFIX + state, count) for state, count in states]
        samples += [
            Sample(wall, self.name, PG_LOCK_WAITS, waits),
            Sample(wall, self.name, PG_DATABASE_BYTES, float(size or 0)),
            Sample(wall, self.name, PG_MAX_CONNECTIONS, float(maximum)),
        ]
        transactions, rows = float(transactions or 0), float(rows or 0)
        if self._previous is not None:
            then, transactions_then, rows_then = self._previous
            elapsed = max(now - then, 1e-3)
            samples.append(
                Sample(wall, self.name, PG_TRANSACTIONS_PER_S, max(0.0, transactions - transactions_then) / elapsed)
            )
            samples.append(Sample(wall, self.name, PG_ROWS_WRITTEN_PER_S, max(0.0, rows - rows_then) / elapsed))
        self._previous = (now, transactions, rows)
        return samples

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):  # a dead connection closes badly; it is gone either way
                self._connection.close()
            self._connection = None

    def poller(self) -> Poller:
        return Poller(self.name, Source(kind="PostgreSQL"), self.sample, self.close)
