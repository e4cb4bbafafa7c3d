"""Executors: how the load of one run is carried out, once the lifecycle has prepared it.

`akrida.lifecycle.Run` owns the steps every run shares (the target, the ledger, the checks, the
bundle, the exit code). An executor owns only what differs: where Locust runs and how its files come
home. Two exist: `LocalExecutor` (a Locust subprocess here) and `ClusterExecutor`
(`akrida.execute.distributed`, Locust's distributed mode over SSH). A third, containers for
instance, is one new class with these methods.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from akrida.exits import ExitCode
from akrida.report.manifest import Manifest
from akrida.settings import Settings
from akrida.userscenario import UserScenario

Progress = Callable[..., None]


@dataclass
class Execution:
    """How the load ended: `complete` when Locust ran its course; `code` when it ended abnormally."""

    complete: bool
    code: ExitCode | None = None


class Executor(Protocol):
    role: str  # this machine's role in the manifest: "generator" or "controller"
    # SCENARIO=path/to/file.py: the checked file, set by the run before execute() (None otherwise).
    user_scenario: UserScenario | None

    def check(self, settings: Settings) -> None:
        """Refuses settings this executor cannot honour (SettingsError) before anything starts."""

    def target_host(self) -> str | None:
        """Where the embedded target must listen for the load to reach it; None: where LOCAL_HOST says."""

    def describe(self, manifest: Manifest) -> None:
        """Adds what the manifest should say about where the load runs."""

    def execute(self, settings: Settings, run_dir: Path, progress: Progress) -> Execution:
        """Runs the load with `settings` (aimed at the prepared target) and waits for its end."""

    def collect(self, run_dir: Path, manifest: Manifest, progress: Progress) -> list[str]:
        """Stops what is still running and brings every file into `run_dir`. Called after every run,
        also a failed or interrupted one; returns the problems that make the figures partial."""


__all__ = ["Execution", "Executor", "Progress"]
