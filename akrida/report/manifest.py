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

from akrida import __version__, owner, paths

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
    status: str = "running"  # running, complete, incomplete, abandoned (its process was killed outright)
    exit_code: int | None = None
    verdict: str | None = None
    target: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str | None] = field(default_factory=dict)
    hosts: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, str] = field(default_factory=dict)  # redacted
    gates: list[dict[str, Any]] = field(default_factory=list)
    limit: dict[str, Any] | None = None  # FIND_LIMIT's answer (akrida/report/limit.py)
    # The akrida process that carries the run out (akrida.owner), so that a later one can tell a run
    # still going from one killed outright; and, once it is found gone, the line that says so.
    owner: dict[str, Any] = field(default_factory=dict)
    abandoned: str | None = None
    # SCENARIO=path/to/file.py: the file, its class, every user file it loaded with its SHA-256, and its
    # own settings (akrida.userscenario.UserScenario.manifest_entry).
    user_scenario: dict[str, Any] | None = None
    # AGENT_SCRIPT: the user's agent, its SHA-256, its protocol, and that the egress allowlist is off for it.
    agent: dict[str, str] | None = None

    def write(self, run_dir: Path) -> Path:
        path = run_dir / MANIFEST_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=2) + "\n")
        temporary.replace(path)
        return path

    @classmethod
    def read(cls, run_dir: Path) -> Manifest:
        return cls(**json.loads((run_dir / MANIFEST_FILE).read_text()))


def mark_if_abandoned(run_dir: Path, found_by: str) -> str | None:
    """Marks the run of `run_dir` `abandoned` when its manifest says `running` but the process that
    owned it is gone; returns the line that says so (also kept in the manifest), or None."""
    try:
        manifest = Manifest.read(run_dir)
    except (OSError, ValueError, TypeError):
        return None
    if manifest.status != "running" or not owner.gone(manifest.owner):
        return None
    manifest.status = "abandoned"
    manifest.abandoned = (
        f"abandoned: its akrida process (pid {manifest.owner.get('pid')}) was gone when {found_by} looked at "
        f"{now()}; it was killed before it could finish (kill -9, a lost terminal, out of memory): its figures "
        "stop where it stopped"
    )
    manifest.write(run_dir)
    return manifest.abandoned


MOST_RUNS_EXAMINED = 1000  # the newest run folders a run looks at for abandoned ones (bounded work)


def mark_abandoned_runs(results_dir: Path, found_by: str) -> list[tuple[Path, str]]:
    """Every run under `results_dir` (the newest MOST_RUNS_EXAMINED) that says `running` though its
    process is gone, marked `abandoned`; with the line said of each."""
    try:
        folders = sorted((path for path in results_dir.iterdir() if path.is_dir()), reverse=True)
    except OSError:
        return []
    marked = []
    for run_dir in folders[:MOST_RUNS_EXAMINED]:
        line = mark_if_abandoned(run_dir, found_by)
        if line is not None:
            marked.append((run_dir, line))
    return marked


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
