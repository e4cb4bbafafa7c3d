"""A run on this machine: bring up the embedded target if needed, run Locust, summarise, clean up."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from akrida import ledgers, paths
from akrida.controllers import ControllerError
from akrida.invitation import InvitationError
from akrida.local.acapy import ACAPY_VERSION
from akrida.local.errors import LocalTargetError
from akrida.local.stack import LocalTarget, TargetInfo
from akrida.preflight import check_target
from akrida.report import bundle
from akrida.report.manifest import Manifest, now, this_host, versions
from akrida.report.progress import progress_line
from akrida.report.summary import Findings, render_text
from akrida.scenarios import SCENARIOS
from akrida.scenarios.runtime import RUN_DIR_VARIABLE
from akrida.settings import Settings

# Exit codes of `akrida run`, documented in the README.
EXIT_OK = 0
EXIT_FAILURES = 1
EXIT_BAD_SETTINGS = 2
EXIT_TARGET_UNREACHABLE = 3
EXIT_GATES_BREACHED = 4
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
        # The test starts at once with USERS, SPAWN_RATE and RUN_TIME; the UI shows it running.
        command += ["--web-host", "127.0.0.1", "--web-port", str(settings.ui_port), "--autostart"]
    else:
        command += ["--headless", "--only-summary"]
    return command


def new_manifest(settings: Settings, run_dir: Path, role: str) -> Manifest:
    """The manifest of a run that is starting, written at once so that even a crash leaves one."""
    manifest = Manifest(
        run_id=run_dir.name,
        scenario=settings.scenario,
        users=settings.users,
        spawn_rate=settings.spawn_rate,
        run_time_s=settings.run_time,
        started_at=now(),
        config=settings.redacted(),
        hosts=[this_host(role)],
        versions=versions(),
    )
    manifest.write(run_dir)
    return manifest


def run(settings: Settings, progress=print) -> RunResult:
    """Runs one load test. Whatever happens, the run folder gets its manifest and summary."""
    run_dir = new_run_dir(settings)
    progress(f"results: {run_dir}")
    manifest = new_manifest(settings, run_dir, "generator")
    target: LocalTarget | None = None
    outcome = _Outcome()
    try:
        if settings.uses_embedded_target:
            info = LocalTarget.current()
            if info is not None:
                progress("embedded target: already running (`akrida local up`), using it")
            else:
                target = LocalTarget(settings.local_host, settings.local_base_port)
                info = target.up(run_dir / "target", progress=progress)
            settings = pointed_at(settings, info)
            manifest.target["embedded"] = "ACA-Py mediator and issuer on PostgreSQL"
            manifest.versions["acapy"] = ACAPY_VERSION
            manifest.config = settings.redacted()  # the configuration in effect
        if settings.ledger_network:
            manifest.target["ledger"] = settings.ledger_network
        settings = ledgers.resolved(settings)
        manifest.config = settings.redacted()  # the configuration in effect
        checked = check_target(settings)
        for line in checked.lines:
            progress(f"check: {line}")
        manifest.versions["acapy"] = checked.acapy_version or manifest.versions["acapy"]
        manifest.target.update(checked.target)
        manifest.write(run_dir)
        _run_locust(settings, run_dir, progress, outcome)
    except (ControllerError, InvitationError) as error:
        progress(f"akrida: target check failed: {error}", file=sys.stderr)
        outcome.code = EXIT_TARGET_UNREACHABLE
    except LocalTargetError as error:
        progress(f"akrida: embedded target: {error}", file=sys.stderr)
        outcome.code = EXIT_TARGET_UNREACHABLE
    except KeyboardInterrupt:
        outcome.code = EXIT_INTERRUPTED
    finally:
        if target is not None:
            target.down(progress=progress)
        findings = bundle.finish(run_dir, manifest, complete=outcome.complete)
        progress("")
        progress(render_text(findings))
        code = outcome.code if outcome.code is not None else exit_code_for(findings)
        manifest.exit_code = code
        manifest.write(run_dir)
        progress(f"results: {run_dir} (summary.html, report.html, manifest.json)")
    return RunResult(run_dir, code, findings.target_failures, findings.harness_failures)


@dataclass
class _Outcome:
    complete: bool = False
    code: int | None = None  # set when the run ended abnormally


def exit_code_for(findings: Findings) -> int:
    if findings.gates:
        return EXIT_GATES_BREACHED if findings.gates_breached else EXIT_OK
    return EXIT_FAILURES if findings.target_failures or findings.harness_failures else EXIT_OK


def pointed_at(settings: Settings, info: TargetInfo) -> Settings:
    """The settings aimed at the embedded target; what the user set explicitly (CRED_DEF_ID …) wins."""
    environment = settings.as_environment()
    for name, value in info.as_environment().items():
        if name == "LEDGER_GENESIS_FILE" and environment.get("LEDGER_NETWORK"):
            continue  # the user named the ledger
        if name in ("MEDIATION_URL", "ISSUER_URL", "ISSUER_API_KEY") or not environment.get(name):
            environment[name] = value
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


def _run_locust(settings: Settings, run_dir: Path, progress, outcome: _Outcome) -> None:
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
    started = time.monotonic()
    try:
        returncode = _wait_with_progress(process, settings, run_dir, progress)
    except KeyboardInterrupt:
        # On Ctrl-C in a terminal Locust got the same signal; when only we got it, pass it on.
        # Either way Locust stops its users and writes its files.
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        outcome.code = EXIT_INTERRUPTED
        # In the web UI the test is over once its run time has passed; Ctrl-C only closes the UI.
        outcome.complete = settings.ui and time.monotonic() - started >= settings.run_time
        if outcome.complete:
            outcome.code = None
        return
    outcome.complete = True
    if returncode not in (0, 1):  # 1 means "requests failed", which the findings report
        progress(f"akrida: Locust exited with code {returncode}; see {run_dir / 'locust.log'}", file=sys.stderr)
        outcome.complete = False
        outcome.code = returncode
