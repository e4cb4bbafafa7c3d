"""Processes the embedded target started and records by pid: checking and stopping them safely."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import psutil

from akrida.settings import SECRET_VARIABLES


def child_environment(**extra: str) -> dict[str, str]:
    """The environment for a process of the embedded target: this one's, without akrida's secrets.

    A user's ISSUER_API_KEY or ISSUER_HEADERS exported in the shell are for the target under test;
    ACA-Py, PostgreSQL and the ledger have no use for them, and anyone who may read a process's
    environment (root, the postgres user) would see them there.
    """
    environment = {name: value for name, value in os.environ.items() if name not in SECRET_VARIABLES}
    environment.update(extra)
    return environment


def process_alive(pid: int) -> bool:
    """True while `pid` runs; a zombie (a child of ours that exited) is reaped and counts as gone."""
    try:
        process = psutil.Process(pid)
        if process.status() != psutil.STATUS_ZOMBIE:
            return True
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    return False


def runs(pid: int, marker: bytes) -> bool:
    """True when `pid` is alive and its command line contains `marker`. Guards against stopping an
    unrelated process that reused a recorded pid."""
    try:
        return process_alive(pid) and marker.decode() in " ".join(psutil.Process(pid).cmdline())
    except (psutil.Error, UnicodeDecodeError):
        return False


def running_with(marker: bytes) -> list[int]:
    """The pids of every process whose command line contains `marker`."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        if marker.decode() in " ".join(process.info["cmdline"] or ()):
            found.append(process.info["pid"])
    return found


def terminate(pid: int, marker: bytes, grace: float = 15.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds, of `pid` if it still runs `marker`."""
    if not runs(pid, marker):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not process_alive(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
