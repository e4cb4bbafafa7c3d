"""The open-files limit that thousands of holders run into, raised where it is ours to raise.

Every holder holds sockets (its WebSocket to the mediator; without mediation, its inbound
listener and the target's connections to it), and each agent host inherits the Locust process's
RLIMIT_NOFILE. The soft limit is ours to raise up to the hard one; the hard limit is the system's,
so a run that would need more is refused before load starts, naming what to change.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass

# Files one holder keeps open inside its agent host, with headroom: bench/density.py prints the
# figure it measures (open files per added holder), which is below this.
FILES_PER_HOLDER = 8
# Files of an agent host with no holder yet (Node, the native libraries, its pipes), with headroom.
FILES_PER_HOST = 64
# The Locust process holds three pipes per agent host, besides its own files.
FILES_PER_HOST_IN_LOCUST = 3
FILES_OF_LOCUST = 256
# An embedded ACA-Py mediator keeps each holder's WebSocket, plus its database pool and logs: a
# mediator_hold run measured 3,484 sockets at 3,370 holders (1.03 each; docs/density.md), so 1.5 leaves
# room for holders' HTTP posts in flight without refusing runs the machine can carry.
FILES_PER_HOLDER_AT_MEDIATOR = 1.5
FILES_OF_MEDIATOR = 512


@dataclass(frozen=True)
class OpenFiles:
    soft: int
    hard: int


def open_files_limit() -> OpenFiles:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    infinity = resource.RLIM_INFINITY
    return OpenFiles(soft if soft != infinity else 1 << 20, hard if hard != infinity else 1 << 20)


def raise_open_files_limit() -> OpenFiles:
    """Raises this process's soft limit to its hard limit; children (agent hosts, ACA-Py) inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return open_files_limit()


def open_files_needed(holders: int, holders_per_process: int) -> tuple[int, int]:
    """Files needed by (one agent host, the Locust process) for `holders` holders in one Locust process."""
    per_host = min(holders, holders_per_process)
    hosts = -(-holders // holders_per_process)
    return (
        FILES_PER_HOST + FILES_PER_HOLDER * per_host,
        FILES_OF_LOCUST + FILES_PER_HOST_IN_LOCUST * hosts,
    )


def check_open_files(
    holders: int, holders_per_process: int, embedded_mediator: bool = False, hard_limit: int | None = None
) -> str | None:
    """None when the hard limit allows `holders` in one Locust process (and, with `embedded_mediator`,
    their mediator on this machine); else what to change."""
    hard = open_files_limit().hard if hard_limit is None else hard_limit
    host_needs, locust_needs = open_files_needed(holders, holders_per_process)
    mediator_needs = FILES_OF_MEDIATOR + round(FILES_PER_HOLDER_AT_MEDIATOR * holders)
    if embedded_mediator and mediator_needs > hard:
        return (
            f"USERS={holders} against the embedded mediator needs about {mediator_needs} open files in its ACA-Py "
            f"process, but this machine's hard limit (ulimit -Hn) is {hard}: lower USERS, or raise the hard limit "
            "(nofile in /etc/security/limits.conf, LimitNOFILE= for a systemd service)"
        )
    if host_needs > hard:
        return (
            f"HOLDERS_PER_PROCESS={holders_per_process} needs about {host_needs} open files per agent process, "
            f"but this machine's hard limit (ulimit -Hn) is {hard}: lower HOLDERS_PER_PROCESS, or raise the "
            "hard limit (LimitNOFILE= for a systemd service, nofile in /etc/security/limits.conf)"
        )
    if locust_needs > hard:
        return (
            f"{holders} holders in one Locust process with HOLDERS_PER_PROCESS={holders_per_process} need about "
            f"{locust_needs} open files in Locust, but the hard limit (ulimit -Hn) is {hard}: raise "
            "HOLDERS_PER_PROCESS, spread the users over more worker processes, or raise the hard limit"
        )
    return None
