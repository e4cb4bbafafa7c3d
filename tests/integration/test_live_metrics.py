"""PROMETHEUS_PORT: a real Prometheus server scrapes a real run's Locust master, and what PromQL answers
agrees with the run's own summary. The same run's SLO gates are checked in its junit.xml.

Real parts: Debian's `prometheus` (scraping every second) and `promtool`, the embedded ACA-Py target,
real Credo holders in `mediator_message` (so that messages are counted), `akrida run` as a user runs it.
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
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import requests

from akrida import paths
from akrida.report.delivery import read_delivery
from akrida.report.exposition import LATENCY_BUCKETS_S
from akrida.report.health import judge, read_health
from akrida.report.limit import read_limit
from akrida.report.outcomes import outcomes
from akrida.report.stats import read_steps
from akrida.report.timeline import read_timeline
from akrida.target.samples import SAMPLES_FILE, TARGET_DIR
from tests.conftest import ROOT
from tests.integration.conftest import TEST_BASE_PORT
from tests.integration.helpers import only_run_dir

pytestmark = pytest.mark.integration

# This file's ports: above the embedded target's ten, within the session's own range.
PORTS = range(TEST_BASE_PORT + 60, TEST_BASE_PORT + 70)
PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
SLO = "p95(basic_message) < 0.001ms; requests(basic_message) >= 1"
WINDOW = "[15m]"  # longer than the run: max_over_time of a counter is its final value
# What a page taken during the load serves (a failure-free run has no akrida_failures_total sample).
FAMILIES = ("akrida_requests_total", "akrida_request_duration_seconds_bucket", "akrida_holders_live",
            "akrida_generator_host_cpu_percent", "akrida_messages_total", "akrida_target_sample")  # fmt: skip


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


@dataclass
class Scraped:
    run_dir: Path
    returncode: int
    output: str
    exposition: str  # one /metrics page, taken while the load ran
    promtool: subprocess.CompletedProcess
    listening_on: set[str]  # the addresses the endpoint listened on
    prometheus: str  # its API's base URL
    window: tuple[float, float]  # the run, start to end (Unix time)

    def query(self, promql: str) -> list[dict]:
        response = requests.get(f"{self.prometheus}/api/v1/query", params={"query": promql}, timeout=10)
        response.raise_for_status()
        return response.json()["data"]["result"]

    def value(self, promql: str) -> float | None:
        result = self.query(promql)
        assert len(result) <= 1, (promql, result)
        return float(result[0]["value"][1]) if result else None


def wait_for(url: str, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            response = requests.get(url, timeout=2)
            if response.ok:
                return response.text
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds}s")


def listeners(port: int) -> set[str]:
    return {c.laddr.ip for c in psutil.net_connections("tcp") if c.status == "LISTEN" and c.laddr.port == port}


@pytest.fixture(scope="module")
def scraped(target, tmp_path_factory) -> Iterator[Scraped]:
    if not os.access(PROMETHEUS, os.X_OK):
        pytest.fail(f"{PROMETHEUS} is missing: run scripts/install-test-packages.sh as root")
    folder = Path(tempfile.mkdtemp(prefix="akrida-live-metrics-"))
    metrics_port, prometheus_port = free_port(), None
    prometheus = None
    try:
        (folder / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
            f"  - job_name: akrida\n    static_configs:\n      - targets: ['127.0.0.1:{metrics_port}']\n"
        )
        with socket.socket() as holder:  # not the metrics port
            holder.bind(("127.0.0.1", metrics_port))
            prometheus_port = free_port()
        with open(folder / "prometheus.log", "w") as log:
            prometheus = subprocess.Popen(
                [PROMETHEUS, f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{prometheus_port}"],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        base = f"http://127.0.0.1:{prometheus_port}"
        wait_for(f"{base}/-/ready", 60)

        results = tmp_path_factory.mktemp("results")
        environment = {**os.environ, "RESULTS_DIR": str(results), "SCENARIO": "mediator_message", "USERS": "3",
                       "SPAWN_RATE": "3", "RUN_TIME": "20s", "WAIT_MIN": "0.5", "WAIT_MAX": "1", "SLO": SLO,
                       "PROMETHEUS_PORT": str(metrics_port)}  # fmt: skip
        started = time.time()
        run = subprocess.Popen(
            [sys.executable, "-m", "akrida.cli", "--env-file", "/dev/null", "run"],
            cwd=paths.ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            exposition = wait_for(f"http://127.0.0.1:{metrics_port}/metrics", 120)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not all(f"\n{name}{{" in exposition for name in FAMILIES):
                time.sleep(1)  # into the load: steps have rows, holders are live, messages are sent
                exposition = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
            listening_on = listeners(metrics_port)
            output, _ = run.communicate(timeout=300)
        finally:
            if run.poll() is None:
                run.kill()
        checked = subprocess.run([PROMTOOL, "check", "metrics"], input=exposition, capture_output=True, text=True)
        time.sleep(2)  # Prometheus's last scrapes reach its head block
        window = (started, time.time())
        yield Scraped(only_run_dir(results), run.returncode, output, exposition, checked, listening_on, base, window)
    finally:
        if prometheus is not None:
            prometheus.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                prometheus.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def test_the_endpoint_serves_valid_metrics_on_loopback_only(scraped):
    assert scraped.returncode == 4, scraped.output  # the SLO's first gate cannot hold
    assert scraped.promtool.returncode == 0, scraped.promtool.stdout + scraped.promtool.stderr
    assert scraped.listening_on == {"127.0.0.1"}
    for family in FAMILIES:
        assert f"\n{family}{{" in scraped.exposition, family
    up = scraped.value(f"max_over_time(up{{job='akrida'}}{WINDOW})")
    assert up == 1


def test_requests_and_failures_agree_with_the_summary(scraped):
    steps = read_steps(scraped.run_dir)
    assert steps and any(step.name == "basic_message" and step.count for step in steps), steps
    for step in steps:
        selector = f'type="{step.request_type}",step="{step.name}"'
        assert scraped.value(f"max_over_time(akrida_requests_total{{{selector}}}{WINDOW})") == step.count, step
        failed = scraped.value(f"sum(max_over_time(akrida_failures_total{{{selector}}}{WINDOW}))")
        assert (failed or 0) == step.failures, step


def test_the_latency_histogram_agrees_with_the_summarys_percentiles(scraped):
    """The histogram holds the successes, as the summary's step table does (its percentiles are those of
    successes, from the run's timeline: akrida/report/outcomes.py)."""
    bounds = [0.0, *LATENCY_BUCKETS_S, float("inf")]
    timeline = read_timeline(scraped.run_dir)
    assert timeline is not None
    for step in outcomes(timeline):
        selector = f'type="{step.request_type}",step="{step.name}"'
        count = scraped.value(f"max_over_time(akrida_request_duration_seconds_count{{{selector}}}{WINDOW})")
        assert (count or 0) == step.successes, step
        if not step.successes:
            continue
        for quantile, summary_ms in ((0.5, step.p50_ms), (0.95, step.p95_ms)):
            buckets = f"max_over_time(akrida_request_duration_seconds_bucket{{{selector}}}{WINDOW})"
            answer = scraped.value(f"histogram_quantile({quantile}, {buckets})")
            assert answer is not None, step
            # PromQL interpolates within a bucket: the summary's percentile lies in the same bucket.
            upper = next(bound for bound in bounds[1:] if answer <= bound)
            lower = bounds[bounds.index(upper) - 1]
            assert lower <= summary_ms / 1000 <= upper, (step.name, quantile, answer, summary_ms)


def test_holders_messages_and_users_agree_with_the_run(scraped):
    health = judge(read_health(scraped.run_dir))
    peak = scraped.value("max_over_time(sum(akrida_holders_live)[15m:1s])")
    assert peak == health.peak_live_holders == 3
    assert scraped.value(f"max_over_time(akrida_users{WINDOW})") == 3
    delivery = read_delivery(scraped.run_dir)
    assert delivery is not None and delivery.sent > 0
    for outcome in ("sent", "delivered", "late", "duplicated"):
        served = scraped.value(f'sum(max_over_time(akrida_messages_total{{outcome="{outcome}"}}{WINDOW}))')
        assert served == getattr(delivery, outcome), outcome


def test_the_targets_samples_are_served_as_recorded(scraped):
    recorded: dict[tuple[str, str], set[float]] = {}
    with open(scraped.run_dir / TARGET_DIR / SAMPLES_FILE) as handle:
        next(handle)
        for line in handle:
            _stamp, source, metric, value = line.rstrip("\n").rsplit(",", 3)
            recorded.setdefault((source, metric), set()).add(float(value))
    result = scraped.query(f'max_over_time(akrida_target_sample{{metric="rss_bytes"}}{WINDOW})')
    assert result, "no target sample reached Prometheus"
    for series in result:
        key = (series["metric"]["source"], "rss_bytes")
        assert float(series["value"][1]) in recorded[key], key


def test_junit_names_the_breached_gate(scraped):
    root = ET.parse(scraped.run_dir / "junit.xml").getroot()
    cases = {case.get("name"): case for case in root.iter("testcase")}
    assert set(cases) == {"p95(basic_message) < 0.001ms", "requests(basic_message) >= 1"}
    assert cases["p95(basic_message) < 0.001ms"].find("failure") is not None
    assert cases["requests(basic_message) >= 1"].find("failure") is None
    assert root.get("failures") == "1"


def test_every_panel_of_the_dashboard_draws_the_run(scraped):
    dashboard = json.loads((ROOT / "dashboards" / "akrida.json").read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    assert len(expressions) >= 15
    start, end = scraped.window
    empty = []
    for expression in expressions:
        promql = expression.replace("$job", "akrida").replace("$__rate_interval", "5s")
        response = requests.get(
            f"{scraped.prometheus}/api/v1/query_range",
            params={"query": promql, "start": start, "end": end, "step": "1s"},
            timeout=10,
        )
        assert response.ok, (promql, response.text)  # PromQL that Prometheus reads
        if not response.json()["data"]["result"]:
            empty.append(promql)
    # A run without failures, lock waits or a process per source draws nothing there, and only there.
    assert all("akrida_failures_total" in e or "pg_lock_waits" in e for e in empty), empty


def holders_by_process(page: str) -> dict[str, float]:
    found = {}
    for line in page.splitlines():
        if line.startswith("akrida_holders_live{"):
            labels, value = line.rsplit(" ", 1)
            process = labels.split('process="', 1)[1].split('"', 1)[0]
            found[process] = float(value)
    return found


def test_a_masters_endpoint_serves_its_workers_figures(target, tmp_path):
    """Plain `locust --processes 2`: a master and two workers on this machine, as on a cluster's hosts.
    The master holds no holder; the workers' holders reach its endpoint with their statistics reports."""
    metrics_port = free_port()
    with socket.socket() as holder:  # not the metrics port
        holder.bind(("127.0.0.1", metrics_port))
        master_port = free_port()
    environment = {k: v for k, v in os.environ.items() if k not in ("RESULTS_DIR", "SLO")}
    environment.update(MEDIATION_URL=target.mediation_url, PROMETHEUS_PORT=str(metrics_port), WAIT_MIN="0.5",
                       WAIT_MAX="1")  # fmt: skip
    command = [
        sys.executable, "-m", "locust", "-f", str(paths.LOCUSTFILES / "mediator_ping.py"), "--headless",
        "-u", "4", "-r", "4", "-t", "25s", "--stop-timeout", "15", "--processes", "2",
        "--master-bind-host", "127.0.0.1", "--master-bind-port", str(master_port),
        "--master-host", "127.0.0.1", "--master-port", str(master_port), "--csv", str(tmp_path / "locust"),
    ]  # fmt: skip
    locust = subprocess.Popen(command, cwd=tmp_path, env=environment, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
    seen: dict[str, float] = {}
    page = ""
    try:
        wait_for(f"http://127.0.0.1:{metrics_port}/metrics", 60)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and locust.poll() is None:
            with contextlib.suppress(requests.RequestException):
                page = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
                holders = holders_by_process(page)
                if sum(v for p, v in holders.items() if p.startswith("worker-")) == 4:
                    seen = holders
                    break
            time.sleep(1)
        _, errors = locust.communicate(timeout=120)
    finally:
        if locust.poll() is None:
            locust.kill()
    assert seen, f"the workers' 4 holders never reached the master's endpoint; last page:\n{page[-3000:]}"
    assert set(seen) == {"master", "worker-0", "worker-1"} and seen["master"] == 0, seen
    assert locust.returncode == 0, errors[-3000:]


def test_a_limit_search_on_a_master_judges_its_workers_holders(target, tmp_path):
    """FIND_LIMIT under plain `locust --processes 2`: the search runs on the master, which holds no holder.
    It sees the workers' starts and pings only through their statistics reports: without them no step
    would ever join, and the hold would have nothing to judge."""
    master_port = free_port()
    environment = {k: v for k, v in os.environ.items() if k not in ("RESULTS_DIR", "SLO")}
    environment.update(MEDIATION_URL=target.mediation_url, FIND_LIMIT="4/10s", USERS="4", SPAWN_RATE="4",
                       RUN_TIME="2m", WAIT_MIN="0.5", WAIT_MAX="1", SLO="p95(ping_mediator) < 10000ms",
                       AKRIDA_RUN_DIR=str(tmp_path))  # fmt: skip
    command = [
        sys.executable, "-m", "locust", "-f", str(paths.LOCUSTFILES / "mediator_ping.py"), "--headless",
        "--stop-timeout", "15", "--processes", "2",
        "--master-bind-host", "127.0.0.1", "--master-bind-port", str(master_port),
        "--master-host", "127.0.0.1", "--master-port", str(master_port),
    ]  # fmt: skip
    locust = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=180)
    record = read_limit(tmp_path)
    assert record is not None, locust.stderr[-3000:]
    assert [(step.holders, step.verdict) for step in record.steps] == [(4, "held")], (
        record.lines(),
        locust.stderr[-3000:],
    )
    assert record.ended == "every step held up to USERS=4"
    # The hold was judged on the workers' pings, added up on the master.
    pings = next(line for line in record.steps[0].figures if line.startswith("ping_mediator:"))
    assert int(pings.split()[1]) >= 10 and " 0 failed " in pings, pings
