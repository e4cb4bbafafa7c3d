"""The embedded target's sources: its ACA-Py processes, their admin APIs, PostgreSQL and the host."""

from __future__ import annotations

import time

import requests

from akrida.local.postgres import LocalPostgres
from akrida.local.stack import DATABASE_HOST, POSTGRES, TargetInfo
from akrida.target.postgres import PostgresAddress, PostgresPoller
from akrida.target.processes import ProcessPoller, host_poller
from akrida.target.recorder import Poller, SourceError
from akrida.target.samples import LIVE_PROBE_MS, PROBE_FAILED, Sample, Source

PROBE_TIMEOUT_S = 2.0
ACAPY_MARKER = "aca-py"  # in every ACA-Py process's command line (`aca-py start` or bin/aca-py)
POSTGRES_MARKER = "postgres"


def live_probe(name: str, admin_url: str, headers: dict[str, str]) -> Poller:
    """The admin API's /status/live round trip. ACA-Py answers it on the same event loop as every
    DIDComm message, so its round trip is that loop's delay; no answer within PROBE_TIMEOUT_S is a
    sample too (a stalled loop), while a refused connection is a dead source."""
    source = f"{name} admin API"
    session = requests.Session()
    session.headers.update(headers)

    def sample() -> list[Sample]:
        started, wall = time.monotonic(), time.time()
        try:
            session.get(f"{admin_url}/status/live", timeout=PROBE_TIMEOUT_S).raise_for_status()
        except requests.Timeout:
            return [Sample(wall, source, LIVE_PROBE_MS, PROBE_TIMEOUT_S * 1000), Sample(wall, source, PROBE_FAILED, 1)]
        except requests.RequestException as error:
            raise SourceError(f"{admin_url}/status/live: {type(error).__name__}") from None
        return [
            Sample(wall, source, LIVE_PROBE_MS, (time.monotonic() - started) * 1000),
            Sample(wall, source, PROBE_FAILED, 0),
        ]

    return Poller(source, Source(kind="ACA-Py admin API /status/live"), sample, session.close)


def postgres_pid(database: LocalPostgres) -> int | None:
    try:
        return int((database.data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def embedded_pollers(info: TargetInfo, shared_with_load: bool = False) -> tuple[list[Poller], list[str]]:
    """The pollers of a running embedded target, and the problems of those that could not be made.
    `shared_with_load`: the load runs on this machine too (a local run)."""
    pollers: list[Poller] = [host_poller(shared_with_load=shared_with_load)]
    problems: list[str] = []
    headers = {"x-api-key": info.admin_api_key}
    admin_urls = {"mediator": info.mediator_admin_url, "issuer": info.issuer_admin_url}
    for name, pid in sorted(info.pids.items()):
        try:
            pollers.append(ProcessPoller(name, pid, "ACA-Py", ACAPY_MARKER).poller())
        except SourceError as error:
            problems.append(f"{name}: {error}")
        if name in admin_urls:
            pollers.append(live_probe(name, admin_urls[name], headers))
    database = LocalPostgres(DATABASE_HOST, info.base_port + POSTGRES)
    postmaster = postgres_pid(database)
    if postmaster is None:
        problems.append("postgres: no postmaster.pid: PostgreSQL's processes are not sampled")
    else:
        try:
            poller = ProcessPoller("postgres processes", postmaster, "PostgreSQL", POSTGRES_MARKER, tree=True)
            pollers.append(poller.poller())
        except SourceError as error:
            problems.append(f"postgres processes: {error}")
    credentials = database.credentials()
    address = PostgresAddress(credentials.host, credentials.port, credentials.user, credentials.password)
    pollers.append(PostgresPoller("postgres", address).poller())
    return pollers, problems
