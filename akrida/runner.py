"""A run on this machine: bring up the embedded target if needed, run Locust, summarise, clean up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from akrida import paths
from akrida.local.stack import LocalTarget, TargetInfo
from akrida.preflight import check_target
from akrida.report.progress import progress_line
from akrida.report.summary import summarize
from akrida.scenarios import SCENARIOS
from akrida.scenarios.runtime import RUN_DIR_VARIABLE
from akrida.settings import Settings

# Exit codes of `akrida run`, documented in the README.
EXIT_OK = 0
EXIT_FAILURES = 1
EXIT_BAD_SETTINGS = 2
EXIT_TARGET_UNREACHABLE = 3
EXIT_INTERRUPTED = 130


@dataclass
class RunResult:
    run_dir: Path
    exit_code: int
    target_failures: int = 0
    harness_failures: int = 0


def new_run_dir(settings: Settings) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = settings.results_dir if settings.results_dir.is_absolute() else Path.cwd() / settings.results_dir
    run_dir = base / f"{stamp}-{settings.scenario}"
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = base / f"{stamp}-{settings.scenario}-{suffix}"
    run_dir.mkdir(parents=True)
    return run_dir


def locust_command(settings: Settings, run_dir: Path) -> list[str]:
    scenario = SCENARIOS[settings.scenario]
    command = [
        sys.executable, "-m", "locust",
        "-f", str(paths.LOCUSTFILES / scenario.locustfile),
        "-u", str(settings.users),
        "-r", f"{settings.spawn_rate:g}",
        "-t", f"{settings.run_time}s",
        "--csv", str(run_dir / "locust"),
        "--csv-full-history",
        "--html", str(run_dir / "report.html"),
        "--logfile", str(run_dir / "locust.log"),
        # Give holders time to shut their agents down when the run time is up.
        "--stop-timeout", "15",
    ]  # fmt: skip
    if settings.ui:
        command += ["--web-host", "127.0.0.1", "--web-port", str(settings.ui_port)]
    else:
        command += ["--headless", "--only-summary"]
    return command


def run(settings: Settings, progress=print) -> RunResult:
    """Runs one load test and returns where its results are and how it went."""
    run_dir = new_run_dir(settings)
    progress(f"results: {run_dir}")
    target: LocalTarget | None = None
    try:
        if settings.uses_embedded_target:
            info = LocalTarget.current()
            if info is not None:
                progress("embedded target: already running (`akrida local up`), using it")
            else:
                target = LocalTarget(settings.local_host, settings.local_base_port)
                info = target.up(run_dir / "target", progress=progress)
            settings = _pointed_at(settings, info)
        for line in check_target(settings):
            progress(f"check: {line}")
        return _run_locust(settings, run_dir, progress)
    finally:
        if target is not None:
            target.down(progress=progress)


def _pointed_at(settings: Settings, info: TargetInfo) -> Settings:
    environment = settings.as_environment()
    environment.update(info.as_environment())
    return Settings.from_mapping(environment)


PROGRESS_INTERVAL = 5.0


def _wait_with_progress(process: subprocess.Popen, settings: Settings, run_dir: Path, progress) -> int:
    started = time.monotonic()
    while True:
        try:
            return process.wait(timeout=PROGRESS_INTERVAL)
        except subprocess.TimeoutExpired:
            if settings.ui:
                continue
            line = progress_line(run_dir, settings.users, time.monotonic() - started, settings.run_time)
            if line:
                progress(line)


def _run_locust(settings: Settings, run_dir: Path, progress) -> RunResult:
    environment = dict(os.environ)
    environment.update(settings.as_environment())
    environment[RUN_DIR_VARIABLE] = str(run_dir)
    command = locust_command(settings, run_dir)
    if settings.ui:
        progress(f"Locust web UI: http://127.0.0.1:{settings.ui_port} (Ctrl-C to end)")
    else:
        progress(
            f"running {settings.scenario}: {settings.users} holders, {settings.spawn_rate:g}/s, {settings.run_time}s"
        )
    process = subprocess.Popen(command, env=environment, cwd=str(paths.ROOT))
    interrupted = False
    try:
        returncode = _wait_with_progress(process, settings, run_dir, progress)
    except KeyboardInterrupt:
        # Locust got the same Ctrl-C: let it stop its users and write its files.
        interrupted = True
        try:
            returncode = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            returncode = process.wait()
    text, target_failures, harness_failures = summarize(run_dir)
    progress("")
    progress(text)
    progress("")
    progress(f"results: {run_dir}")
    if interrupted:
        code = EXIT_INTERRUPTED
    elif target_failures or harness_failures:
        code = EXIT_FAILURES
    else:
        code = EXIT_OK if returncode == 0 else returncode
    return RunResult(run_dir, code, target_failures, harness_failures)
