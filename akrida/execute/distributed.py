"""The cluster executor (the Fabric driver): Locust workers on every worker host, the master on the
master host, and every result file brought home into results/<run-id>/.

Whatever happens (failures, a lost host, Ctrl-C), every remote process is stopped and what the hosts
gathered is fetched; a host that cannot be reached is named in the summary.
"""

from __future__ import annotations

import contextlib
import shlex
import shutil
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from akrida.catalog import scenario_of
from akrida.cluster.errors import ClusterError
from akrida.cluster.remote import RemoteHost, connect
from akrida.cluster.state import CloudDir, Cluster, Host
from akrida.execute import Execution, Progress
from akrida.execute.local import describe_load, port_range_problem
from akrida.execute.locust_command import (
    HEADLESS,
    LOCUST_FINISHED,
    STOP_TIMEOUT,
    locust_variables,
    locustfile,
    run_options,
)
from akrida.execute.remote_silence import check_silence, remove_stale_silence
from akrida.exits import ExitCode
from akrida.paths import HOST_NAME_VARIABLE, RUN_DIR_VARIABLE
from akrida.report.manifest import Manifest
from akrida.report.progress import HISTORY_FILE, progress_line
from akrida.report.stats import LOCUST_EXIT_FILE
from akrida.settings import Settings, SettingsError
from akrida.userscenario import UserScenario

MASTER_PORT = 5557
EXPECT_WORKERS_WAIT = 120  # seconds the master waits for every worker to connect
POLL_INTERVAL = 5.0
# Per-process files the summary reads, from every host.
MERGED_FOLDERS = ("health", "delivery", "timeline", "storm", "schedule", "loop")
MASTER_FILES = (
    "locust_stats.csv",
    "locust_stats_final.csv",
    "locust_stats_history.csv",
    "locust_failures.csv",
    "locust_failures_final.csv",
    "locust_exceptions.csv",
    "arrivals.json",  # ARRIVAL_RATE's shape runs on the master
    "limit.json",  # so does FIND_LIMIT's
)


@dataclass
class HostReport:
    name: str
    fetched: bool = False
    problem: str = ""
    cores: int = 0
    memory_bytes: int = 0


def remote_run_dir(host: Host, run_id: str) -> str:
    return f"{host.root}/runs/{run_id}"


def locust_arguments(settings: Settings, host: Host) -> list[str]:
    return [f"{host.root}/bin/akrida-locust", "-f", locustfile(settings, f"{host.root}/current/home/locustfiles")]


USER_FILES_FOLDER = "scenario"  # in a host's run folder: the user's scenario file and the modules beside it


def host_environment(
    settings: Settings, host: Host, folder: str, user_scenario: UserScenario | None = None
) -> dict[str, str]:
    """The run's settings as one load host's Locust processes are given them (its .env in `folder`)."""
    # Each host's holders announce the host's own address to the target (no load balancer).
    # They listen on the host's own address (behind a cloud's NAT, the private one), not every interface.
    own = {"AGENT_ENDPOINT_HOST": host.public_ip, "AGENT_LISTEN_HOST": host.private_ip}
    if settings.ledger_genesis_file is not None:  # the holders read the ledger's genesis file locally
        own["LEDGER_GENESIS_FILE"] = f"{folder}/genesis.txn"
    if user_scenario is not None:  # its file as shipped to this host
        own["SCENARIO"] = user_scenario.shipped_path(f"{folder}/{USER_FILES_FOLDER}")
    return locust_variables(settings, user_scenario, own)


def user_files(folder: str, user_scenario: UserScenario | None) -> list[tuple[str, str]]:
    """(path on the host, text) of each user file a run ships to every load host, master included
    (the master loads the scenario file too, to know its user class)."""
    if user_scenario is None:
        return []
    shipped = user_scenario.shipped(f"{folder}/{USER_FILES_FOLDER}")
    return [(remote, local.read_text()) for remote, local in shipped]


def worker_command(settings: Settings, worker: Host, master: Host, processes: int, run_dir: str) -> str:
    command = [
        *locust_arguments(settings, worker),
        "--worker",
        "--master-host", master.private_ip,
        "--master-port", str(MASTER_PORT),
        "--processes", str(processes),
        "--logfile", f"{run_dir}/locust-worker.log",
    ]  # fmt: skip
    return _detached(command, run_dir, "worker", worker.name)


def master_command(settings: Settings, master: Host, expected_workers: int, run_dir: str) -> str:
    command = [
        *locust_arguments(settings, master),
        "--master", *HEADLESS,
        "--master-bind-host", master.private_ip,
        "--master-bind-port", str(MASTER_PORT),
        "--expect-workers", str(expected_workers),
        "--expect-workers-max-wait", str(EXPECT_WORKERS_WAIT),
        *run_options(settings, run_dir),
    ]  # fmt: skip
    return _detached(command, run_dir, "master", master.name)


def _detached(command: list[str], run_dir: str, role: str, host_name: str) -> str:
    """A shell line that starts `command` in its own session and returns at once with its pid.

    `cd X && cmd &` would background a subshell that holds the SSH channel open, so run() would
    wait for the whole run; `cd X || exit` and full redirection let the channel close. The exit code
    lands in a file for the driver to read, and the pid of the shell that runs it in `ROLE.pid`,
    the root of the process tree that stop_command() ends. The host's name in the cluster names its
    samples (lab hosts are namespaces of one machine, which all have its host name).
    """
    quoted = shlex.quote(run_dir)
    inner = f"echo $$ > {quoted}/{role}.pid; {shlex.join(command)}; echo $? > {quoted}/{role}.exit"
    return (
        f"cd {quoted} || exit 1; {RUN_DIR_VARIABLE}={quoted} {HOST_NAME_VARIABLE}={shlex.quote(host_name)} "
        f"setsid nohup bash -c {shlex.quote(inner)} "
        f"> {quoted}/{role}.out 2>&1 < /dev/null & echo $!"
    )


STOP_GRACE_TICKS = 50  # 0.2 s each: what Locust and its agents get between SIGTERM and SIGKILL


def stop_command(run_dir: str) -> str:
    """Stops what one run started on a host: the process tree under each pid recorded in its folder
    (the shell, Locust, Locust's worker processes and their agent hosts), SIGTERM then SIGKILL.

    Only this run's processes are touched, whatever else runs from the same akrida folder.
    """
    folder = shlex.quote(run_dir)
    return (
        'tree() { echo "$1"; for child in $(pgrep -P "$1"); do tree "$child"; done; }; '
        f'pids=$(for file in {folder}/*.pid; do [ -f "$file" ] && tree "$(cat "$file")"; done); '
        '[ -n "$pids" ] || exit 0; '
        "kill -TERM $pids 2>/dev/null; "
        f"for _ in $(seq {STOP_GRACE_TICKS}); do "
        'alive=; for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive=1; done; '
        '[ -z "$alive" ] && exit 0; sleep 0.2; done; '
        "kill -KILL $pids 2>/dev/null; exit 0"
    )


class ClusterExecutor:
    """The load of a run comes from Locust workers on every worker host and the master on the master host."""

    role = "controller"
    user_scenario: UserScenario | None = None

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.remotes: dict[str, RemoteHost] = {}
        self.reports = {host.name: HostReport(host.name) for host in cluster.hosts}
        self.started: set[str] = set()  # hosts where Locust was started: their files must come home
        self.silent = False  # CHURN_DISCONNECT=silent: the workers' packet filters are in play

    def check(self, settings: Settings) -> None:
        problems = []
        if settings.ui:
            problems.append("UI=true is not supported on a cluster yet: run headless (UI=false)")
        if settings.agent_script is not None:
            problems.append(
                "AGENT_SCRIPT is not shipped to cluster hosts yet (an agent brings files and a runtime of its own): "
                "run it here with `akrida run --local`, or unset AGENT_SCRIPT"
            )
        if problem := port_range_problem(settings, hosts=len(self.cluster.workers)):
            problems.append(problem)
        if problems:
            raise SettingsError(problems)

    def target_host(self) -> str | None:
        if not self.cluster.embedded_target_host:
            raise ClusterError(
                f"the {self.cluster.cloud} hosts cannot reach an embedded target on this machine: "
                "set MEDIATION_URL (and ISSUER_URL for credential scenarios) to the system under test"
            )
        return self.cluster.embedded_target_host

    def describe(self, manifest: Manifest) -> None:
        manifest.target["cluster"] = f"{self.cluster.cloud}: 1 master, {len(self.cluster.workers)} workers"

    def execute(self, settings: Settings, run_dir: Path, progress: Progress) -> Execution:
        self.silent = settings.churn_disconnect == "silent"
        folder = CloudDir(self.cluster.cloud)
        for host in self.cluster.hosts:
            self.remotes[host.name] = connect(host, self.cluster, folder)
        progress(f"hosts: all {len(self.remotes)} answer over SSH")
        return self._run_on_hosts(settings, run_dir, progress)

    def collect(self, run_dir: Path, manifest: Manifest, progress: Progress) -> list[str]:
        """Stops every remote process and fetches what the hosts gathered, whatever happened before."""
        _stop_all(self.cluster, self.remotes, run_dir.name, progress)
        if self.silent:
            _remove_stale_silence(self.cluster, self.remotes, progress)
        _fetch_all(self.cluster, self.remotes, run_dir, self.reports, progress)
        for remote in self.remotes.values():
            with contextlib.suppress(Exception):
                remote.close()
        manifest.hosts += [_host_entry(host, self.reports[host.name]) for host in self.cluster.hosts]
        return [
            f"host {report.name}: its files were not fetched: {report.problem}"
            for report in self.reports.values()
            if not report.fetched and report.name in self.started
        ]

    def _run_on_hosts(self, settings: Settings, run_dir: Path, progress: Progress) -> Execution:
        cluster, remotes, reports = self.cluster, self.remotes, self.reports
        run_id = run_dir.name
        master = remotes[cluster.master.name]
        for host in cluster.hosts:
            folder = remote_run_dir(host, run_id)
            remote = remotes[host.name]
            _describe(remote, reports[host.name])
            remote.run(f"mkdir -p {shlex.quote(folder)}")
            environment = host_environment(settings, host, folder, self.user_scenario)
            if settings.ledger_genesis_file is not None:
                remote.write(environment["LEDGER_GENESIS_FILE"], settings.ledger_genesis_file.read_text(), mode=0o644)
            shipped = user_files(folder, self.user_scenario)
            for path, text in shipped:
                remote.run(f"mkdir -p {shlex.quote(path.rsplit('/', 1)[0])}")
                remote.write(path, text, mode=0o644)
            if shipped:
                progress(f"{host.name}: {len(shipped)} scenario file(s) shipped")
            remote.write(f"{folder}/.env", dotenv_text(environment))
        if self.silent:  # where the holders are: this machine's filter plays no part
            for host in cluster.workers:
                progress(f"check: {check_silence(remotes[host.name], host)}")
        expected = 0
        for host in cluster.workers:
            remote = remotes[host.name]
            processes = settings.worker_processes or max(1, reports[host.name].cores)
            expected += processes
            folder = remote_run_dir(host, run_id)
            self.started.add(host.name)
            pid = remote.run(worker_command(settings, host, cluster.master, processes, folder), timeout=30).strip()
            progress(f"{host.name}: {processes} Locust worker process(es), pid {pid}")
        folder = remote_run_dir(cluster.master, run_id)
        self.started.add(cluster.master.name)
        pid = master.run(master_command(settings, cluster.master, expected, folder), timeout=30).strip()
        name = scenario_of(settings.scenario).name
        progress(f"master: pid {pid}; running {name}: {describe_load(settings)}, on {expected} worker processes")
        code = _wait_for_master(settings, master, folder, run_dir, progress)
        ran_its_course = master.run(f"test -f {shlex.quote(f'{folder}/{LOCUST_EXIT_FILE}')} && echo yes || true")
        if code in LOCUST_FINISHED and ran_its_course.strip() == "yes":
            return Execution(complete=True)
        progress(f"akrida: the Locust master crashed (exit code {code}); see hosts/master/locust.log", file=sys.stderr)
        return Execution(complete=False, code=ExitCode.FAILURES)


def _describe(remote: RemoteHost, report: HostReport) -> None:
    cores, memory_kib = remote.run("nproc; awk '/^MemTotal:/ {print $2}' /proc/meminfo").split()[:2]
    report.cores, report.memory_bytes = int(cores), int(memory_kib) * 1024


def _wait_for_master(settings: Settings, master: RemoteHost, folder: str, run_dir: Path, progress) -> int:
    started = time.monotonic()
    deadline = started + settings.duration + EXPECT_WORKERS_WAIT + STOP_TIMEOUT + 180
    exit_file = shlex.quote(f"{folder}/master.exit")
    while time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL)
        text = master.run(f"cat {exit_file} 2>/dev/null || true").strip()
        if text:
            return int(text)
        with contextlib.suppress(ClusterError):
            master.get(f"{folder}/{HISTORY_FILE}", str(run_dir / HISTORY_FILE))
            line = progress_line(run_dir, settings.peak_users, time.monotonic() - started, settings.duration)
            if line:
                progress(line)
    raise ClusterError(f"the Locust master did not finish within {deadline - started:.0f} s")


def _stop_all(cluster: Cluster, remotes: dict[str, RemoteHost], run_id: str, progress) -> None:
    for host in cluster.hosts:
        remote = remotes.get(host.name)
        if remote is None:
            continue
        try:
            remote.run(stop_command(remote_run_dir(host, run_id)), timeout=60)
        except ClusterError as error:
            progress(f"{host.name}: could not stop its processes: {error}", file=sys.stderr)


def _remove_stale_silence(cluster: Cluster, remotes: dict[str, RemoteHost], progress) -> None:
    """Silenced connections expire by themselves, but a Locust process killed by the stop (or that
    crashed) leaves its empty table in the worker's packet filter: deleted here."""
    for host in cluster.workers:
        remote = remotes.get(host.name)
        if remote is None:
            continue
        try:
            removed = remove_stale_silence(remote, host)
        except ClusterError as error:
            progress(f"{host.name}: could not delete the silence tables of stopped processes: {error}", file=sys.stderr)
            continue
        if removed:
            progress(f"{host.name}: deleted the silence tables of killed Locust processes: {', '.join(removed)}")


def _fetch_all(cluster: Cluster, remotes: dict[str, RemoteHost], run_dir: Path, reports, progress) -> None:
    for host in cluster.hosts:
        remote = remotes.get(host.name)
        report = reports[host.name]
        if remote is None:
            report.problem = "never connected"
            continue
        try:
            _fetch(remote, remote_run_dir(host, run_dir.name), run_dir / "hosts" / host.name)
            report.fetched = True
        except (ClusterError, tarfile.TarError) as error:
            report.problem = str(error)
    master_dir = run_dir / "hosts" / cluster.master.name
    for name in (*MASTER_FILES, "report.html", "locust.log"):
        if (master_dir / name).is_file():
            shutil.copy2(master_dir / name, run_dir / name)
    for host in cluster.hosts:
        for merged in MERGED_FOLDERS:
            source = run_dir / "hosts" / host.name / merged
            if source.is_dir():
                (run_dir / merged).mkdir(exist_ok=True)
                for path in source.iterdir():
                    shutil.copy2(path, run_dir / merged / f"{host.name}-{path.name}")
    fetched = sum(report.fetched for report in reports.values())
    progress(f"fetched the files of {fetched} of {len(reports)} hosts into {run_dir / 'hosts'}")


def _fetch(remote: RemoteHost, folder: str, local: Path) -> None:
    """The host's run folder, as one tar stream, without the .env that holds secrets."""
    local.mkdir(parents=True, exist_ok=True)
    archive = f"{folder}.tar.gz"
    remote.run(f"tar -czf {shlex.quote(archive)} --exclude=./.env -C {shlex.quote(folder)} . && echo ok", timeout=300)
    buffer = local.parent / f".{local.name}.tar.gz"
    remote.get(archive, str(buffer))
    with tarfile.open(buffer) as tar:
        tar.extractall(local, filter="data")
    buffer.unlink()
    remote.run(f"rm -f {shlex.quote(archive)} {shlex.quote(folder)}/.env", check=False)


def _host_entry(host: Host, report: HostReport) -> dict:
    entry = {
        "name": host.name,
        "role": "master" if host.name == "master" else "worker",
        "address": host.public_ip,
        "cores": report.cores,
        "memory_bytes": report.memory_bytes,
    }
    entry["results_fetched"] = report.fetched
    if report.problem:
        entry["problem"] = report.problem
    return entry


def dotenv_text(variables: dict[str, str]) -> str:
    """NAME=VALUE lines that akrida.scenarios.options reads back as they were (python-dotenv)."""
    return "".join(f"{name}={_dotenv_quote(value)}\n" for name, value in variables.items())


def _dotenv_quote(value: str) -> str:
    """A value for python-dotenv: single quotes keep JSON and spaces as they are."""
    if value == "" or all(c.isalnum() or c in "-_.:/@+,=" for c in value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
