"""The local executor: the load of a run comes from one Locust process on this machine."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from akrida import paths
from akrida.agent.limits import check_open_files, raise_open_files_limit
from akrida.catalog import scenario_of
from akrida.execute import Execution, Progress
from akrida.execute.locust_command import HEADLESS, LOCUST_FINISHED, locust_variables, locustfile, run_options
from akrida.exits import ExitCode
from akrida.report.manifest import Manifest
from akrida.report.progress import progress_line
from akrida.report.stats import locust_ran_its_course
from akrida.settings import SETTINGS, Settings, SettingsError
from akrida.sockets import bindable
from akrida.userscenario import UserScenario

PROGRESS_INTERVAL = 5.0  # seconds between progress lines of a headless run
LOCUST_EXIT_WAIT = 60  # seconds Locust gets to stop its users and write its files after Ctrl-C
DECLARED_VARIABLES = frozenset(declared.env for declared in SETTINGS)


def locust_command(settings: Settings, run_dir: Path) -> list[str]:
    command = [
        sys.executable, "-m", "locust",
        "-f", locustfile(settings, str(paths.LOCUSTFILES)),
        *run_options(settings, str(run_dir)),
    ]  # fmt: skip
    if settings.ui:
        # The test starts at once with USERS, SPAWN_RATE and RUN_TIME; the UI shows it running.
        command += ["--web-host", "127.0.0.1", "--web-port", str(settings.ui_port), "--autostart"]
    else:
        command += HEADLESS
    return command


def process_environment(
    inherited: Mapping[str, str], settings: Settings, user_scenario: UserScenario | None = None
) -> dict[str, str]:
    """The Locust process's environment: akrida's own, with the run's settings as variables (locust_variables).
    A setting's variable inherited from akrida's environment is dropped first, so that the process reads
    what this run decided and nothing else (an unset COMMAND one, say, stays unset)."""
    kept = {name: value for name, value in inherited.items() if name not in DECLARED_VARIABLES}
    return {**kept, **locust_variables(settings, user_scenario)}


def port_range_problem(settings: Settings, hosts: int = 1) -> str | None:
    """Holders without mediation each listen on a port of AGENT_PORT_RANGE, on each load host."""
    if settings.with_mediation or settings.scenario == "liveness":
        return None
    first, last = settings.agent_port_range
    ports = (last - first + 1) * hosts
    if settings.peak_users <= ports:
        return None
    return (
        f"AGENT_PORT_RANGE={first}-{last} gives {ports} inbound port(s) for {settings.peak_users} holders "
        f"without mediation{f' on {hosts} hosts' if hosts > 1 else ''}: widen AGENT_PORT_RANGE or lower USERS"
    )


def metrics_port_problem(settings: Settings) -> str | None:
    """PROMETHEUS_PORT taken by another process: said before anything starts, not by a Locust that crashed."""
    port = settings.prometheus_port
    if port is None or bindable(settings.prometheus_host, port):
        return None
    return (
        f"PROMETHEUS_PORT={port}: cannot listen on {settings.prometheus_host}:{port} (in use, or not an address "
        "of this machine): choose another PROMETHEUS_PORT or PROMETHEUS_HOST"
    )


class LocalExecutor:
    role = "generator"
    user_scenario: UserScenario | None = None

    def check(self, settings: Settings) -> None:
        # Raised here so that Locust, its agent hosts and an embedded target all inherit it.
        raise_open_files_limit()
        problems = [
            check_open_files(settings.peak_users, settings.holders_per_process, settings.uses_embedded_target),
            port_range_problem(settings),
            metrics_port_problem(settings),
        ]
        if any(problems):
            raise SettingsError([problem for problem in problems if problem])

    def target_host(self) -> str | None:
        return None

    def describe(self, manifest: Manifest) -> None:
        pass

    def execute(self, settings: Settings, run_dir: Path, progress: Progress) -> Execution:
        environment = process_environment(os.environ, settings, self.user_scenario)
        environment[paths.RUN_DIR_VARIABLE] = str(run_dir)
        if settings.ui:
            progress(f"Locust web UI: http://127.0.0.1:{settings.ui_port} (Ctrl-C to end)")
        else:
            progress(f"running {scenario_of(settings.scenario).name}: {describe_load(settings)}")
        # Locust leads a process group of its own, which akrida ends whatever way it leaves this method
        # (a Ctrl-C or SIGTERM reaches akrida, which stops Locust in order: see _stop). Killed outright,
        # akrida can do nothing: Locust watches that akrida is still its parent (PARENT_PID_VARIABLE,
        # akrida.scenarios.hooks) and quits when it is not; its agents watch Locust the same way.
        environment[paths.PARENT_PID_VARIABLE] = str(os.getpid())
        process = subprocess.Popen(
            locust_command(settings, run_dir), env=environment, cwd=str(paths.ROOT), start_new_session=True
        )
        started = time.monotonic()
        try:
            returncode = _wait_with_progress(process, settings, run_dir, progress)
        except KeyboardInterrupt:
            _stop(process)
            # In the web UI the test is over once its run time has passed; Ctrl-C only closes the UI.
            if settings.ui and time.monotonic() - started >= settings.duration:
                return Execution(complete=True)
            progress("akrida: interrupted", file=sys.stderr)
            return Execution(complete=False, code=ExitCode.INTERRUPTED)
        finally:
            _kill_group(process)
        if returncode not in LOCUST_FINISHED or not locust_ran_its_course(run_dir):
            progress(
                f"akrida: Locust crashed (exit code {returncode}); its error is above and in {run_dir / 'locust.log'}",
                file=sys.stderr,
            )
            return Execution(complete=False, code=ExitCode.FAILURES)
        return Execution(complete=True)

    def collect(self, run_dir: Path, manifest: Manifest, progress: Progress) -> list[str]:
        return []  # Locust wrote its files into the run folder itself


def describe_load(settings: Settings) -> str:
    if settings.stages:
        stages = ", ".join(f"{users} holders over {seconds}s" for seconds, users in settings.stages)
        return f"stages: {stages}"
    if settings.find_limit is not None:
        step_holders, step_seconds = settings.find_limit
        return (
            f"searching for the limit: {step_holders} more holders a step at {settings.spawn_rate:g}/s, each step "
            f"held {step_seconds}s once joined, up to {settings.users} holders, at most {settings.run_time}s"
        )
    if settings.arrival_rate is not None:
        return f"{settings.users} holders arriving at {settings.arrival_rate:g}/s (open model), {settings.run_time}s"
    return f"{settings.users} holders, {settings.spawn_rate:g}/s, {settings.run_time}s"


def _wait_with_progress(process: subprocess.Popen, settings: Settings, run_dir: Path, progress: Progress) -> int:
    started = time.monotonic()
    while True:
        try:
            return process.wait(timeout=PROGRESS_INTERVAL)
        except subprocess.TimeoutExpired:
            if settings.ui:
                continue
            line = progress_line(run_dir, settings.peak_users, time.monotonic() - started, settings.duration)
            if line:
                progress(line)


def _kill_group(process: subprocess.Popen) -> None:
    """Kills what is left of Locust's process group: nothing after a clean end, everything after a bug."""
    if process.poll() is None:
        _stop(process)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _stop(process: subprocess.Popen) -> None:
    """Stops Locust as Ctrl-C would, so that it stops its users and writes its files.

    Locust leads its own process group, so a Ctrl-C in the terminal reaches akrida alone, which passes it on.
    """
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=LOCUST_EXIT_WAIT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
