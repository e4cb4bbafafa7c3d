"""A user's own target watched through real Prometheus exporters: TARGET_METRICS and TARGET_PROMETHEUS.

Real parts: Debian's node exporter, process-exporter (watching a real process that holds 64 MiB and
a password on its command line), postgres exporter (against a real PostgreSQL, with a password in
its DSN) and a Prometheus server scraping all three each second, each on a loopback port of its own.
The load is the one fake: the run's executor sleeps instead of starting Locust, since what is tested
here is the target's side of a run, through the real lifecycle (Run) into a real run folder.

One run serves every test of this file: it scrapes the three exporters plus a dead one (a closed
port) and a hung one (a socket that never answers), and reads Prometheus back after the run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from akrida import paths
from akrida.lifecycle import Run
from akrida.local.postgres import LocalPostgres
from akrida.settings import Settings
from akrida.target.recorder import FAILURES_IN_A_ROW
from akrida.target.samples import TargetRecord, read_samples
from tests.unit.test_lifecycle import FakeExecutor, Printed, passed_check
from tests.unit.test_settings import invitation_url

pytestmark = pytest.mark.integration

PORTS = range(9600, 9700)  # this file's ports, apart from the rest of the suite
LOAD_S = 16.0  # long enough for the hung exporter's five 2-second timeouts (about 14 s) to name it
CMDLINE_SECRET = "cmdline-secret-hunter2"
GROUP = "sleeper"
LOCK_WAITS_QUERY = """\
pg_lock_waits:
  query: "SELECT count(DISTINCT pid) AS sessions FROM pg_locks WHERE NOT granted"
  metrics:
    - sessions:
        usage: "GAUGE"
        description: "Sessions waiting for a lock"
"""


_taken: set[int] = set()


def free_port() -> int:
    for port in PORTS:
        if port in _taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _taken.add(port)
        return port
    raise RuntimeError("no free port in 9600-9699")


def own_postgres(folder: Path) -> LocalPostgres:
    """A PostgreSQL cluster of this file's own, apart from the embedded target's (whose state folder
    LocalPostgres would otherwise share, and stop to start it on another port)."""
    state = folder / "state"
    state.mkdir()
    saved = paths.LOCAL_STATE_DIR
    paths.LOCAL_STATE_DIR = state  # read once, by the constructor
    try:
        return LocalPostgres("127.0.0.1", free_port())
    finally:
        paths.LOCAL_STATE_DIR = saved


def wait_for(url: str, seconds: float = 30, check=lambda response: True) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            response = requests.get(url, timeout=2)
            if response.ok and check(response):
                return
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {seconds}s")


@dataclass
class Target:
    """The processes and ports of the target's side, as a user would run them."""

    folder: Path
    sleeper: subprocess.Popen
    process_exporter: int
    node_exporter: int
    postgres_exporter: int
    prometheus: int
    postgres_password: str
    dead: int
    hung: int


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    folder = Path(tempfile.mkdtemp(prefix="akrida-exporters-"))
    folder.chmod(0o755)  # PostgreSQL runs as its own user when the tests run as root
    started: list[subprocess.Popen] = []

    def start(*command: str, **env: str) -> subprocess.Popen:
        with open(folder / f"{Path(command[0]).name}.log", "w") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **env})
        started.append(process)
        return process

    database = own_postgres(folder)
    hung = socket.socket()
    try:
        # The watched process: 64 MiB touched, and a secret on its command line.
        holds = "import time; b = bytearray(64 * 2**20); time.sleep(600)"
        sleeper = start(sys.executable, "-c", holds, f"--password={CMDLINE_SECRET}")
        (folder / "process.yml").write_text(f"process_names:\n  - name: {GROUP}\n    cmdline: ['{CMDLINE_SECRET}']\n")
        process_exporter = free_port()
        start("prometheus-process-exporter", "-config.path", str(folder / "process.yml"),
              f"-web.listen-address=127.0.0.1:{process_exporter}")  # fmt: skip
        node_exporter = free_port()
        start("prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{node_exporter}")
        credentials = database.start()
        (folder / "queries.yml").write_text(LOCK_WAITS_QUERY)
        postgres_exporter = free_port()
        dsn = f"postgresql://{credentials.user}:{credentials.password}@127.0.0.1:{credentials.port}/postgres?sslmode=disable"
        start("prometheus-postgres-exporter", f"--web.listen-address=127.0.0.1:{postgres_exporter}",
              f"--extend.query-path={folder / 'queries.yml'}", DATA_SOURCE_NAME=dsn)  # fmt: skip
        prometheus = free_port()
        targets = ", ".join(f"'127.0.0.1:{port}'" for port in (process_exporter, node_exporter, postgres_exporter))
        (folder / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n"
            f"  - job_name: target\n    static_configs:\n      - targets: [{targets}]\n"
        )
        start("prometheus", f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'tsdb'}",
              f"--web.listen-address=127.0.0.1:{prometheus}")  # fmt: skip
        dead = free_port()  # nothing listens there
        hung_port = free_port()
        hung.bind(("127.0.0.1", hung_port))
        hung.listen(16)  # connections are accepted by the kernel, and never answered
        for port in (process_exporter, node_exporter, postgres_exporter):
            wait_for(f"http://127.0.0.1:{port}/metrics")
        wait_for(f"http://127.0.0.1:{process_exporter}/metrics", check=lambda r: GROUP in r.text)
        up = f"http://127.0.0.1:{prometheus}/api/v1/query?query=count(up==1)"
        wait_for(up, check=lambda r: r.json()["data"]["result"] and r.json()["data"]["result"][0]["value"][1] == "3")
        time.sleep(5)  # a few scrapes before the load: the first rates need them
        yield Target(folder, sleeper, process_exporter, node_exporter, postgres_exporter, prometheus,
                     credentials.password, dead, hung_port)  # fmt: skip
    finally:
        hung.close()
        for process in reversed(started):
            process.terminate()
        for process in started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)
        database.stop()
        shutil.rmtree(folder, ignore_errors=True)


class SleepingExecutor(FakeExecutor):
    """The load, faked: it lasts LOAD_S and writes what Locust would; the target's side is real."""

    def execute(self, settings, run_dir, progress):
        time.sleep(LOAD_S)
        return super().execute(settings, run_dir, progress)


@dataclass
class Finished:
    run_dir: Path
    record: TargetRecord
    sources: dict
    sleeper_rss: int
    elapsed_s: float
    printed: Printed
    window: tuple[float, float]  # wall-clock moments just before and after the run


@pytest.fixture(scope="module")
def finished(target: Target, tmp_path_factory) -> Finished:
    results = tmp_path_factory.mktemp("results")
    queries = target.folder / "extra-queries.txt"
    queries.write_text(
        "# an extra series, and one that overrides a default\n"
        f'{GROUP}_processes sum by (groupname) (namedprocess_namegroup_num_procs{{job="target"}})\n'
        'pg_max_connections max by (instance) (pg_settings_max_connections{job="target"})\n'
    )
    settings = Settings.from_mapping(
        {
            "MEDIATION_URL": invitation_url("http://127.0.0.1:9"),  # a user's target: no embedded one starts
            "RESULTS_DIR": str(results),
            "RUN_TIME": "10s",
            "TARGET_METRICS": (
                f"mediator=http://127.0.0.1:{target.process_exporter}/metrics "
                f"http://127.0.0.1:{target.node_exporter}, db=http://127.0.0.1:{target.postgres_exporter}/metrics "
                f"dead=http://127.0.0.1:{target.dead}/metrics hung=http://127.0.0.1:{target.hung}/metrics"
            ),
            "TARGET_PROMETHEUS": f"http://127.0.0.1:{target.prometheus}",
            "TARGET_PROMETHEUS_SELECTOR": 'job="target"',
            "TARGET_PROMETHEUS_STEP": "1s",
            "TARGET_PROMETHEUS_QUERIES": str(queries),
        }
    )
    printed = Printed()
    started, wall = time.monotonic(), time.time()
    result = Run(settings, SleepingExecutor(), printed, check=passed_check).run()
    elapsed = time.monotonic() - started
    window = (wall, time.time())
    rss = int((Path(f"/proc/{target.sleeper.pid}/statm")).read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    record = read_samples(result.run_dir)
    assert record is not None, printed.text
    sources = json.loads((result.run_dir / "target" / "sources.json").read_text())
    return Finished(result.run_dir, record, sources, rss, elapsed, printed, window)


def values(record: TargetRecord, source: str, metric: str) -> list[float]:
    points = record.get(source, metric)
    assert points, f"no {metric} of {source}: {record.source_names()} {record.metrics_of(source)}"
    return [value for _stamp, value in points]


def test_process_exporter_group_is_a_source_with_the_processes_cpu_rss_files_and_threads(finished: Finished):
    # mediator= names the process-exporter, which watches one group: its samples go under that name.
    rss = values(finished.record, "mediator", "rss_bytes")
    assert len(rss) >= LOAD_S - 3, len(rss)  # about one a second
    assert abs(rss[-1] - finished.sleeper_rss) <= 0.1 * finished.sleeper_rss, (rss[-1], finished.sleeper_rss)
    assert rss[-1] > 64 * 2**20
    assert all(0 <= cores < 0.5 for cores in values(finished.record, "mediator", "cpu_cores"))  # it sleeps
    assert 3 <= values(finished.record, "mediator", "open_files")[-1] < 64
    assert values(finished.record, "mediator", "threads")[-1] == 1
    assert finished.sources["mediator"]["kind"].startswith(f"process group '{GROUP}', process-exporter")


def test_node_exporter_gives_the_hosts_cpu_memory_and_cores(finished: Finished, target: Target):
    host = f"127.0.0.1:{target.node_exporter}"  # unnamed: its host and port
    assert all(0 <= percent <= 100 for percent in values(finished.record, host, "host_cpu_percent"))
    available = values(finished.record, host, "host_memory_available_bytes")[-1]
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    assert abs(available - int(meminfo["MemAvailable"].split()[0]) * 1024) < 0.2 * available
    assert values(finished.record, host, "host_cores")[-1] == os.cpu_count()


def test_postgres_exporter_gives_connections_rates_size_and_lock_waits(finished: Finished):
    record = finished.record
    states = [metric for metric in record.metrics_of("db") if metric.startswith("pg_connections:")]
    assert "pg_connections:active" in states, states  # the exporter's own query, at least
    assert values(record, "db", "pg_max_connections")[-1] == 300  # LocalPostgres sets it
    assert max(values(record, "db", "pg_transactions_per_s")) > 0  # the exporter's own queries commit
    assert all(rate >= 0 for rate in values(record, "db", "pg_rows_written_per_s"))
    assert values(record, "db", "pg_database_bytes")[-1] > 1_000_000
    assert values(record, "db", "pg_lock_waits")[-1] == 0  # the custom query of docs/target-metrics.md


def test_a_dead_and_a_hung_exporter_are_named_while_the_others_keep_sampling(finished: Finished, target: Target):
    dead, hung = finished.sources["dead"], finished.sources["hung"]
    assert dead["samples"] == 0 and "cannot be reached (connection refused)" in dead["problem"], dead
    assert f"127.0.0.1:{target.dead}" in dead["problem"]
    assert hung["samples"] == 0 and "gave no answer within 2s" in hung["problem"], hung
    assert f"stopped after {FAILURES_IN_A_ROW} failed samples in a row" in hung["problem"]
    # The others went on for the whole load, after the dead one had stopped (in its first seconds).
    stamps = [stamp for stamp, _value in finished.record.get("mediator", "rss_bytes")]
    assert stamps[-1] - stamps[0] >= LOAD_S - 2, stamps
    # And the run did not wait on the hung one: the load, then seconds of clean-up, not its timeouts.
    assert finished.elapsed_s < LOAD_S + 10, finished.elapsed_s
    summary = (finished.run_dir / "summary.md").read_text().splitlines()
    assert any("dead" in line and "connection refused" in line for line in summary), summary


def test_prometheus_read_back_after_the_run_maps_the_same_metrics(finished: Finished, target: Target):
    record = finished.record
    # TARGET_METRICS already took the node exporter's name (its host:port); Prometheus's copy is told apart.
    host = f"127.0.0.1:{target.node_exporter} (prometheus)"
    assert len(values(record, host, "host_cpu_percent")) >= LOAD_S - 2  # one a step (1s) over the load
    assert values(record, host, "host_cores")[-1] == os.cpu_count()
    rss = values(record, GROUP, "rss_bytes")
    assert abs(rss[-1] - finished.sleeper_rss) <= 0.1 * finished.sleeper_rss
    assert all(cores >= 0 for cores in values(record, GROUP, "cpu_cores"))
    assert values(record, "postgres", "pg_max_connections")[-1] == 300
    assert max(values(record, "postgres", "pg_transactions_per_s")) > 0
    assert values(record, "postgres", "pg_lock_waits")[-1] == 0
    assert values(record, GROUP, f"{GROUP}_processes") == [1.0] * len(values(record, GROUP, f"{GROUP}_processes"))
    # The window is the load's: nothing read from before it began, or after the run.
    stamps = [stamp for stamp, _value in record.get(GROUP, "rss_bytes")]
    assert finished.window[0] <= stamps[0] and stamps[-1] <= finished.window[1], (finished.window, stamps)
    assert "prometheus" not in finished.sources  # it answered every query
    assert finished.sources[GROUP]["kind"].startswith("process group, process-exporter via Prometheus")


def test_no_command_line_password_or_query_text_reaches_the_run_folder(finished: Finished, target: Target):
    secrets = [CMDLINE_SECRET, target.postgres_password, "cmdline", "DATA_SOURCE_NAME", "pg_locks WHERE NOT granted",
               "namedprocess_namegroup", "node_cpu_seconds_total", "memtype", "wchan"]  # fmt: skip
    for path in finished.run_dir.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            for secret in secrets:
                assert secret not in text, f"{secret!r} in {path.relative_to(finished.run_dir)}"
