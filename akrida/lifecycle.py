"""One run, from settings to exit code: the steps every run takes, whatever executes its load.

    prepare the target → resolve the ledger → preflight → execute → collect → finish the bundle

The run folder and its manifest are written first, so that every later failure (an unreachable
target, a lost host, Ctrl-C, SIGTERM, a bug) still leaves a bundle with its logs, marked incomplete.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from akrida import owner
from akrida.catalog import scenario_of
from akrida.execute import Execution, Executor, Progress
from akrida.exits import ExitCode, for_error
from akrida.ledgers import genesis_file
from akrida.local.acapy import ACAPY_VERSION
from akrida.local.aim import ignored_local_settings, pointed_at
from akrida.local.errors import LocalTargetError
from akrida.local.stack import LocalTarget, TargetInfo, mediator_connections, run_invitations
from akrida.preflight import TargetCheck, check_silence_here, check_target
from akrida.preload import preload
from akrida.profile_triggers import ProfileTrigger
from akrida.redact import protect_output
from akrida.report import bundle
from akrida.report.manifest import Manifest, mark_abandoned_runs, mark_if_abandoned, now, this_host, versions
from akrida.report.summary import Findings, render_text
from akrida.settings import Settings, SettingsError
from akrida.slo import parse_gates
from akrida.target.embedded import embedded_pollers
from akrida.target.exporters import exporter_pollers
from akrida.target.profile import Profiler, ScheduledProfile
from akrida.target.prometheus import read_prometheus
from akrida.target.recorder import Poller, Recorder
from akrida.userscenario import EGRESS_OFF, UserScenario, load_user_scenario, user_agent

KEEP_NEEDS_A_LASTING_MEDIATOR = (
    "HOLDER_WALLETS=keep needs a mediator that outlives the run, and an embedded target started for one run "
    "forgets every holder when it stops: start it with `akrida local up` first (it stays up until `akrida local "
    "down`), or point MEDIATION_URL at your own mediator"
)


@dataclass
class RunResult:
    run_dir: Path
    exit_code: ExitCode
    target_failures: int = 0
    harness_failures: int = 0


class Run:
    """One load test. `Run(settings, executor).run()` carries it out and returns its result.

    `check` is the preflight (`check_target`); tests of the lifecycle replace it. `environment`: the
    variables the run was configured with (the environment over the settings file), where a scenario
    file's own settings are read; by default this process's environment.
    """

    def __init__(
        self,
        settings: Settings,
        executor: Executor,
        progress: Progress = print,
        check: Callable[[Settings, Path | None], TargetCheck] = check_target,
        environment: Mapping[str, str] | None = None,
    ):
        self.settings = settings
        self.environment = environment
        self.executor = executor
        self.progress = progress
        self.check = check
        self.target: LocalTarget | None = None  # the embedded target this run started, if any
        self.target_info: TargetInfo | None = None  # the embedded target the run is aimed at, if any
        self.profiler: Profiler | None = None  # TARGET_PROFILE: records the target (record(label) at any moment)
        self.trigger: ProfileTrigger | None = None  # TARGET_PROFILE: records it at a break and each search step

    def run(self) -> RunResult:
        self.executor.check(self.settings)  # bad settings: nothing is started and nothing written
        # A scenario file of the user's own is loaded once, away from this process, before anything starts.
        user_scenario = load_user_scenario(self.settings, self.environment)
        if user_scenario is not None:
            protect_output(user_scenario.secret_values())
            self.executor.user_scenario = user_scenario
        agent = user_agent(self.settings)
        if agent is not None:
            self.progress(f"akrida: AGENT_SCRIPT={agent['file']} runs the holders ({agent['protocol']} protocol); "
                          f"{EGRESS_OFF}", file=sys.stderr)  # fmt: skip
        if self.settings.holder_wallets == "keep" and self.settings.uses_embedded_target and not LocalTarget.current():
            raise SettingsError([KEEP_NEEDS_A_LASTING_MEDIATOR])
        for abandoned, line in mark_abandoned_runs(results_base(self.settings), "a later run"):
            self.progress(f"akrida: the run {abandoned.name} is {line}", file=sys.stderr)
        run_dir = new_run_dir(self.settings)
        self.progress(f"results: {run_dir}")
        manifest = new_manifest(self.settings, run_dir, self.executor.role, user_scenario)
        manifest.agent = agent
        self.executor.describe(manifest)
        manifest.write(run_dir)
        execution = Execution(complete=False)
        recorder: Recorder | None = None
        load_started: float | None = None
        profile: ScheduledProfile | None = None
        with _interrupts(self.progress) as interrupts:
            try:
                settings = self._prepare_target(run_dir, manifest)
                settings = self._resolve_ledger(settings, manifest)
                settings = self._kept_wallets(settings, manifest)
                self._preflight(settings, run_dir, manifest)
                self._preload(settings, run_dir, manifest)
                recorder = self._watch_target(run_dir)
                profile = self._profile_target(run_dir)
                load_started = time.time()
                execution = self.executor.execute(settings, run_dir, self.progress)
            except BaseException as error:  # each known one is reported; the bundle is written below
                mapped = for_error(error)
                if mapped is None:
                    execution.code = ExitCode.FAILURES  # what the process exits with, in the manifest too
                    raise  # a bug: the bundle is still finished below, the traceback shows
                execution.code, message = mapped
                self.progress(message, file=sys.stderr)
            finally:
                interrupts.shield()  # a second Ctrl-C or a SIGTERM must not cut the clean-up short
                if recorder is not None:
                    recorder.stop()
                if self.trigger is not None:
                    self.trigger.stop()
                for problem in profile.finish() if profile is not None else []:
                    self.progress(f"akrida: target profile: {problem}", file=sys.stderr)
                problems = self.executor.collect(run_dir, manifest, self.progress)
                if self.settings.target_prometheus and load_started is not None:  # the run's window, read back
                    log = recorder.log if recorder is not None else None
                    read_prometheus(self.settings, run_dir, log, load_started, self.progress)
                if self.target is not None:
                    self.target.down(progress=self.progress)
                findings = bundle.finish(run_dir, manifest, complete=execution.complete)
                code = self._exit_code(execution, findings, problems)
                manifest.exit_code = int(code)
                manifest.write(run_dir)
                self.progress(f"results: {run_dir} (summary.html, report.html, manifest.json)")
        return RunResult(run_dir, code, findings.target_failures, findings.harness_failures)

    # --- the steps ------------------------------------------------------------------------------------

    def _prepare_target(self, run_dir: Path, manifest: Manifest) -> Settings:
        """Aims the settings at the embedded target when none is configured, starting it if need be."""
        settings = self.settings
        if not settings.uses_embedded_target:
            return settings
        if settings.issuer_api_key or settings.issuer_headers:
            self.progress(
                "akrida: ISSUER_API_KEY/ISSUER_HEADERS are set but no ISSUER_URL: they are not used; the embedded "
                "target has its own key (set ISSUER_URL and MEDIATION_URL to test your own target)",
                file=sys.stderr,
            )
        wanted = self.executor.target_host()
        self._stop_orphaned_target()
        info = LocalTarget.current()
        if info is not None and info.owner:  # its run is alive: it stops this target when it ends
            raise LocalTargetError(
                f"the one on {info.host}:{info.base_port} belongs to {owner.describe(info.owner)}, still running, "
                "which stops it when it ends: wait for that run, or give this one a target of its own "
                "(another LOCAL_BASE_PORT and AKRIDA_LOCAL_STATE_DIR)"
            )
        if info is not None and wanted is not None and info.host != wanted:
            raise LocalTargetError(
                f"it runs on {info.host}, which the load hosts cannot reach: "
                f"`akrida local down`, then run again (it starts on {wanted})"
            )
        self.target_info = info
        if info is not None:
            self.progress("embedded target: already running (`akrida local up`), using it")
            for line in ignored_local_settings(settings, info):
                self.progress(f"akrida: {line}", file=sys.stderr)
        else:
            run_owner = owner.this_process(run_dir=str(run_dir))
            self.target = LocalTarget(wanted or settings.local_host, settings.local_base_port, owner=run_owner)
            info = self.target_info = self.target.up(run_dir / "target", progress=self.progress)
        manifest.target["embedded"] = "ACA-Py mediator and issuer on PostgreSQL"
        manifest.versions["acapy"] = ACAPY_VERSION
        settings = pointed_at(settings, info)
        count = settings.embedded_invitations
        settings = replace(settings, mediation_url=" ".join(run_invitations(info, count, run_dir.name)))
        self.progress(
            f"embedded target: {count} fresh mediator invitation(s) for this run, holders spread across them "
            "(MEDIATOR_INVITATIONS)"
        )
        manifest.target["mediator_invitations"] = count
        manifest.config = settings.redacted()  # the configuration in effect
        return settings

    def _stop_orphaned_target(self) -> None:
        """A target started by a run that was killed outright is that run's, not the user's: it is
        stopped (never adopted as if `akrida local up` had started it), and its run marked abandoned."""
        stopped = LocalTarget().stop_orphan(progress=self.progress)
        run_dir = stopped.owner.get("run_dir") if stopped is not None else None
        if run_dir and (line := mark_if_abandoned(Path(run_dir), "a later run")) is not None:
            self.progress(f"akrida: the run {Path(run_dir).name} is {line}", file=sys.stderr)

    def _resolve_ledger(self, settings: Settings, manifest: Manifest) -> Settings:
        """LEDGER_NETWORK becomes the LEDGER_GENESIS_FILE it names, fetched once, for the holders to read."""
        if not settings.ledger_network:
            return settings
        manifest.target["ledger"] = settings.ledger_network
        settings = replace(settings, ledger_network="", ledger_genesis_file=genesis_file(settings.ledger_network))
        manifest.config = settings.redacted()
        return settings

    def _preflight(self, settings: Settings, run_dir: Path, manifest: Manifest) -> None:
        # Holders of a mediator the user brought take mediation once before the load: a mediator that
        # refuses, or a single-use invitation, fails here in seconds, not as thousands of timeouts.
        probe_dir = None if self.settings.uses_embedded_target else run_dir / "preflight"
        checked = self.check(settings, probe_dir)
        if self.executor.role == "generator" and (silence := check_silence_here(settings)):
            checked.lines.append(silence)  # a cluster's workers check their own (ClusterExecutor)
        for line in checked.lines:
            self.progress(f"check: {line}")
        manifest.target.update(checked.target)
        manifest.versions["acapy"] = checked.acapy_version or manifest.versions.get("acapy")
        manifest.write(run_dir)

    def _kept_wallets(self, settings: Settings, manifest: Manifest) -> Settings:
        """HOLDER_WALLETS=keep needs a mediator that outlives the run, and wallets shelved by it."""
        if settings.holder_wallets != "keep":
            return settings
        if self.target is not None:  # it was not up when the run began, but came up meanwhile
            raise SettingsError([KEEP_NEEDS_A_LASTING_MEDIATOR])
        folder = settings.wallets_dir if settings.wallets_dir.is_absolute() else Path.cwd() / settings.wallets_dir
        if self.target_info is not None:
            # A restarted embedded target has the same address and none of its holders: a shelf per start.
            folder = folder / f"embedded-{int(self.target_info.started_at)}"
        manifest.target["holder_wallets"] = f"kept in {folder}"
        return replace(settings, wallets_dir=folder)

    def _preload(self, settings: Settings, run_dir: Path, manifest: Manifest) -> None:
        """PRELOAD's holders take mediation and leave before the load; the manifest says what the
        mediator held when the load began (counted on the embedded target, which Akrida can ask)."""
        if settings.preload:
            done = preload(settings, run_dir, self.progress)
            self.progress(done.line())
            manifest.target["preloaded_holders"] = done.mediated
        if self.target_info is not None:
            held = mediator_connections(self.target_info)
            manifest.target["mediator_connections_before_load"] = held
            self.progress(f"embedded target: the mediator holds {held} connection(s) before the load")
        manifest.write(run_dir)

    def _watch_target(self, run_dir: Path) -> Recorder | None:
        """Starts sampling the target's side beside the load (target/samples.csv), where it can be seen."""
        pollers: list[Poller] = []
        problems: list[str] = []
        if self.target_info is not None:
            # A local run's load shares this machine with the embedded target.
            pollers, problems = embedded_pollers(self.target_info, shared_with_load=self.executor.role == "generator")
        pollers += exporter_pollers(self.settings.target_metrics)  # TARGET_METRICS, embedded target or not
        if not pollers:
            return None
        recorder = Recorder(run_dir, pollers)
        for problem in problems:
            name, _colon, why = problem.partition(": ")
            recorder.log.problem(name, why)
        recorder.start()
        self.progress(f"target: sampling {', '.join(poller.name for poller in pollers)} every {recorder.interval_s:g}s")
        return recorder

    def _profile_target(self, run_dir: Path) -> ScheduledProfile | None:
        """TARGET_PROFILE: the target's processes are recorded (py-spy for ACA-Py, the inspector for a
        Node mediator) over the run's last seconds, so that a run in which nothing broke still shows
        where the target's time went at its peak."""
        settings = self.settings
        if not settings.target_profile:
            return None
        if settings.target_profile_pid is not None:
            targets = {"target": settings.target_profile_pid}
        elif self.target_info is not None:
            targets = dict(self.target_info.pids)
        else:
            self.progress(
                "akrida: TARGET_PROFILE=1, but only processes on this machine are profiled: name your target's "
                "ACA-Py or Node (Credo) process with TARGET_PROFILE_PID; no profile is taken",
                file=sys.stderr,
            )
            return None
        seconds = min(settings.target_profile_seconds, settings.duration)
        self.profiler = Profiler(run_dir, targets, seconds=seconds)
        searching = settings.find_limit is not None
        self.trigger = ProfileTrigger(run_dir, self.profiler, parse_gates(settings.slo), search=searching)
        self.trigger.start()
        names = ", ".join(sorted(targets))
        scheduled = ScheduledProfile(self.profiler, "end", delay=settings.duration - seconds)
        if searching:
            # A search ends by itself at its limit, long before RUN_TIME: its steps are its profiles.
            self.progress(f"target: {names} will be profiled over the last {seconds}s of each search step")
        else:
            scheduled.start()
            self.progress(
                f"target: {names} will be profiled when the run first breaks and over the run's last {seconds}s"
            )
        return scheduled

    def _exit_code(self, execution: Execution, findings: Findings, problems: list[str]) -> ExitCode:
        self.progress("")
        self.progress(render_text(findings))
        for problem in problems:
            self.progress(f"akrida: {problem}", file=sys.stderr)
        if execution.code is not None:
            return execution.code
        code = exit_code_for(findings)
        if code is ExitCode.OK and problems:
            return ExitCode.FAILURES  # e.g. a worker's files were lost: the figures are partial
        return code


def exit_code_for(findings: Findings) -> ExitCode:
    """The exit code of a run that ran its course: a limit search's answer is its success; gates decide
    when there are any, else failures."""
    if findings.limit is not None:
        return ExitCode.OK
    if findings.gates:
        return ExitCode.GATES_BREACHED if findings.gates_breached else ExitCode.OK
    return ExitCode.FAILURES if findings.target_failures or findings.harness_failures else ExitCode.OK


def new_run_dir(settings: Settings) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = settings.results_dir if settings.results_dir.is_absolute() else Path.cwd() / settings.results_dir
    name = scenario_of(settings.scenario).name  # a scenario file's stem
    run_dir = base / f"{stamp}-{name}"
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = base / f"{stamp}-{name}-{suffix}"
    try:
        run_dir.mkdir(parents=True)
    except OSError as error:
        raise SettingsError(
            [
                f"RESULTS_DIR={settings.results_dir}: cannot make the run folder there ({error.strerror}): "
                "choose a folder you can write to"
            ]
        ) from None
    return run_dir


def new_manifest(settings: Settings, run_dir: Path, role: str, user_scenario: UserScenario | None = None) -> Manifest:
    """The manifest of a run that is starting; with a scenario file of the user's own, the SHA-256 of
    every user file it loaded and its own settings (secrets masked)."""
    return Manifest(
        user_scenario=user_scenario.manifest_entry() if user_scenario is not None else None,
        run_id=run_dir.name,
        scenario=settings.scenario,
        users=settings.peak_users,
        spawn_rate=settings.start_rate,
        run_time_s=settings.duration,
        started_at=now(),
        config=settings.redacted(),
        hosts=[this_host(role)],
        versions=versions(),
        owner=owner.this_process(),
    )


def results_base(settings: Settings) -> Path:
    """RESULTS_DIR as an absolute folder (relative to the working directory)."""
    return settings.results_dir if settings.results_dir.is_absolute() else Path.cwd() / settings.results_dir


class _Interrupts:
    """SIGINT and SIGTERM end a run the same way: the first raises KeyboardInterrupt where the run is;
    after that (or once clean-up began) they are acknowledged and ignored, so the clean-up finishes."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.shielded = False

    def handle(self, signum: int, _frame: object) -> None:
        if self.shielded:
            self.progress(
                f"akrida: {signal.Signals(signum).name} again: still stopping the load and writing the results",
                file=sys.stderr,
            )
            return
        self.shielded = True
        raise KeyboardInterrupt

    def shield(self) -> None:
        self.shielded = True


@contextlib.contextmanager
def _interrupts(progress: Progress) -> Iterator[_Interrupts]:
    interrupts = _Interrupts(progress)
    if threading.current_thread() is not threading.main_thread():
        yield interrupts  # signal handlers can only be set from the main thread
        return
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    for number in previous:
        signal.signal(number, interrupts.handle)
    try:
        yield interrupts
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
