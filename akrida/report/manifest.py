"""manifest.json: what ran, where, with which versions and which (redacted) configuration."""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from akrida import __version__, paths

MANIFEST_FILE = "manifest.json"


@dataclass
class Manifest:
    run_id: str
    scenario: str
    users: int
    spawn_rate: float
    run_time_s: int
    started_at: str
    ended_at: str | None = None
    status: str = "running"  # running, complete, incomplete
    exit_code: int | None = None
    verdict: str | None = None
    target: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str | None] = field(default_factory=dict)
    hosts: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, str] = field(default_factory=dict)  # redacted
    gates: list[dict[str, Any]] = field(default_factory=list)
    limit: dict[str, Any] | None = None  # FIND_LIMIT's answer (akrida/report/limit.py)

    def write(self, run_dir: Path) -> Path:
        path = run_dir / MANIFEST_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=2) + "\n")
        temporary.replace(path)
        return path

    @classmethod
    def read(cls, run_dir: Path) -> Manifest:
        return cls(**json.loads((run_dir / MANIFEST_FILE).read_text()))


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def this_host(role: str) -> dict[str, Any]:
    return {
        "name": socket.gethostname(),
        "role": role,
        "cores": psutil.cpu_count() or 0,
        "memory_bytes": psutil.virtual_memory().total,
        "os": f"{platform.system()} {platform.release()}",
    }


def versions(acapy: str | None = None) -> dict[str, str | None]:
    return {
        "akrida": __version__,
        "akrida_commit": _git_commit(),
        "credo": _package_version(paths.AGENT_DIR / "node_modules" / "@credo-ts" / "core" / "package.json"),
        "node": _command_version(["node", "--version"]),
        "locust": metadata.version("locust"),
        "python": platform.python_version(),
        "acapy": acapy,
    }


def _git_commit() -> str | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(paths.ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    commit = result.stdout.strip()
    dirty = subprocess.run(["git", "-C", str(paths.ROOT), "status", "--porcelain"], capture_output=True, text=True)
    return commit + ("-dirty" if dirty.stdout.strip() else "")


def _package_version(path: Path) -> str | None:
    try:
        return json.loads(path.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def _command_version(command: list[str]) -> str | None:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=10, env=dict(os.environ))
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip().lstrip("v") or None
