"""Who owns a run or an embedded target: a process on this host, recorded so another can tell it is gone.

A run that is killed outright (`kill -9`, a lost terminal, an OOM kill) runs none of its clean-up: its
manifest still says `running` and its embedded target keeps running. What it left behind is found
later by the owner it recorded: the pid alone is not enough (pids are reused), so its start time and
host are kept with it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Any

import psutil

# Start times are read from /proc with a clock tick's resolution; a reused pid starts much later.
START_TIME_SLACK_S = 1.0


def this_process(**extra: Any) -> dict[str, Any]:
    """The record of this process as an owner, with `extra` (a run folder, for instance)."""
    return {"pid": os.getpid(), "started": psutil.Process().create_time(), "host": socket.gethostname(), **extra}


def gone(owner: Mapping[str, Any] | None) -> bool:
    """True when `owner` was a process of this host that no longer runs (exited, a zombie, or its pid
    now belongs to a later process). False when there is no owner, or it was on another host (its
    folder was copied here): what cannot be known is never declared gone."""
    if not owner or owner.get("host") != socket.gethostname():
        return False
    try:
        pid, started = int(owner["pid"]), float(owner["started"])
    except (KeyError, TypeError, ValueError):
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return True
        return abs(process.create_time() - started) > START_TIME_SLACK_S
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False  # not ours to read: it exists


def describe(owner: Mapping[str, Any]) -> str:
    """`run <folder> (pid N)`, as messages name an owner."""
    run_dir = owner.get("run_dir")
    return f"run {run_dir} (pid {owner.get('pid')})" if run_dir else f"pid {owner.get('pid')}"
