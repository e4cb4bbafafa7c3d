"""The run bundle: complete, valid, honest about gates, free of secrets, and kept when interrupted."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import matplotlib.image
import pytest

from akrida import paths
from akrida.report.progress import HISTORY_FILE
from tests.integration.helpers import akrida, compare_count, compare_table, describe, only_run_dir

pytestmark = pytest.mark.integration

BUNDLE_FILES = (
    "manifest.json", "summary.md", "summary.html", "latency.png", "load.png", "generator.png",
    "locust_stats.csv", "locust_stats_history.csv", "locust_failures.csv", "locust_exceptions.csv",
    "locust_stats_final.csv", "locust_failures_final.csv", "report.html", "locust.log",
)  # fmt: skip
CHROMIUM = "/usr/bin/chromium"


def explicit_target(target) -> dict[str, str]:
    """Settings that name the session's target, as a user would configure a real one."""
    return {"MEDIATION_URL": target.mediation_url, "ISSUER_URL": target.issuer_admin_url,
            "ISSUER_API_KEY": target.admin_api_key}  # fmt: skip


def assert_chart_drawn(path: Path) -> None:
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[0] > 200 and pixels.shape[1] > 400, f"{path.name} is too small"
    assert pixels.std() > 0.05, f"{path.name} is blank"


def test_a_real_run_leaves_a_complete_bundle(target, tmp_path):
    result = akrida("run", results=tmp_path, SCENARIO="mediator_message", USERS="3", SPAWN_RATE="3",
                    RUN_TIME="15s", WAIT_MIN="0.5", WAIT_MAX="1",
                    SLO="p95(ping_mediator) < 1s; fail_ratio < 0.01; requests(basic_message) >= 1")  # fmt: skip
    run_dir = only_run_dir(tmp_path)
    assert result.returncode == 4, describe(result, run_dir)  # p95(ping_mediator): the step never ran
    for name in BUNDLE_FILES:
        assert (run_dir / name).is_file() and (run_dir / name).stat().st_size > 0, f"{name} missing or empty"
    assert list((run_dir / "health").glob("*.csv")), "no generator health samples"
    assert list((run_dir / "agents").rglob("agent-*.log")), "no agent logs"

    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["exit_code"] == 4
    assert manifest["scenario"] == "mediator_message" and manifest["users"] == 3 and manifest["run_time_s"] == 15
    assert manifest["versions"]["credo"] == "0.5.19" and manifest["versions"]["acapy"] == "1.7.0"
    assert manifest["versions"]["locust"] and manifest["versions"]["node"]
    assert manifest["hosts"][0]["cores"] >= 1 and manifest["hosts"][0]["memory_bytes"] > 0
    assert manifest["config"]["ISSUER_API_KEY"] == "***"
    assert manifest["started_at"] < manifest["ended_at"]
    assert [gate["passed"] for gate in manifest["gates"]] == [False, True, True]

    for chart in ("latency.png", "load.png", "generator.png"):
        assert_chart_drawn(run_dir / chart)
    summary = (run_dir / "summary.md").read_text()
    assert "**Verdict: SLO BREACHED" in summary
    assert "| didcomm | basic_message |" in summary
    assert "failures of the harness (agents, ports, protocol): 0" in summary
    assert "lost 0" in summary and "messages sent" in summary
    assert "FAIL  p95(ping_mediator) < 1s  (measured no data (the step never ran))" in result.stdout
    assert '<img src="latency.png"' in (run_dir / "summary.html").read_text()

    # `akrida report` writes the same summary again from the files alone.
    (run_dir / "summary.md").unlink()
    rebuilt = akrida("report", str(run_dir), results=tmp_path)
    assert rebuilt.returncode == 0, describe(rebuilt)
    assert (run_dir / "summary.md").read_text() == summary


def test_gates_decide_the_exit_code(target, tmp_path):
    passing = akrida("run", results=tmp_path / "pass", USERS="2", SPAWN_RATE="2", RUN_TIME="8s",
                     SLO="p95(ping_mediator) < 30s; fail_ratio <= 0.5")  # fmt: skip
    assert passing.returncode == 0, describe(passing)
    failing = akrida("run", results=tmp_path / "fail", USERS="2", SPAWN_RATE="2", RUN_TIME="8s",
                     SLO="p95(ping_mediator) < 0.001ms")  # fmt: skip
    assert failing.returncode == 4, describe(failing)
    assert "FAIL  p95(ping_mediator) < 0.001ms" in failing.stdout
    # The two runs compare step by step. They made the same load, so whether B regressed is chance:
    # the count, the marked rows and the exit code must agree.
    run_a, run_b = only_run_dir(tmp_path / "pass"), only_run_dir(tmp_path / "fail")
    compared = akrida("compare", str(run_a), str(run_b), results=tmp_path)
    table = compare_table(compared.stdout)
    assert table.keys() >= {"didcomm/startup", "didcomm/ping_mediator"}, compared.stdout
    marked = [step for step, note in table.items() if note not in ("", "only in A", "only in B")]
    assert compare_count(compared.stdout) == len(marked), compared.stdout
    assert compared.returncode == (1 if marked else 0), describe(compared)


def test_compare_names_the_step_that_regressed(target, tmp_path):
    # Short waits and 30 s: enough pings for a p95 that compare judges (it leaves one on fewer than 20
    # successes), even when a busy machine's startups take 10 s.
    result = akrida("run", results=tmp_path / "runs", USERS="2", SPAWN_RATE="2", RUN_TIME="30s", WAIT_MIN="0.1",
                    WAIT_MAX="0.2")  # fmt: skip
    run = only_run_dir(tmp_path / "runs")
    assert result.returncode == 0, describe(result, run)
    # A run against itself: nothing regressed, and compare exits 0.
    same = akrida("compare", str(run), str(run), results=tmp_path)
    assert same.returncode == 0, describe(same)
    assert compare_count(same.stdout) == 0
    assert set(compare_table(same.stdout).values()) == {""}, same.stdout
    # The same run with every ping_mediator time doubled: exactly that step regressed, on p95, and compare exits 1.
    slower = tmp_path / "slower"
    shutil.copytree(run, slower)
    timelines = list((slower / "timeline").glob("*.json"))  # what compare reads (Locust's CSV is its fallback)
    assert timelines, "the run wrote no timeline"
    for path in timelines:
        rows = json.loads(path.read_text())
        for row in rows:
            if row[1:3] == ["didcomm", "ping_mediator"]:
                row[4] = {str(int(ms) * 2): count for ms, count in row[4].items()}
                row[5] = {str(int(ms) * 2): count for ms, count in row[5].items()}
        path.write_text(json.dumps(rows))
    compared = akrida("compare", str(run), str(slower), results=tmp_path)
    assert compared.returncode == 1, describe(compared)
    assert compare_count(compared.stdout) == 1, compared.stdout
    table = compare_table(compared.stdout)
    assert table.pop("didcomm/ping_mediator") == "p95", compared.stdout
    assert table and set(table.values()) == {""}, compared.stdout
    assert "+100%" in next(line for line in compared.stdout.splitlines() if " ping_mediator " in line)


def test_malformed_gate_stops_before_anything_starts(tmp_path):
    result = akrida("run", results=tmp_path, SLO="p95 of ping < 5")
    assert result.returncode == 2
    assert "SLO='p95 of ping < 5': cannot read" in result.stderr
    assert not any(tmp_path.iterdir())


def test_planted_secrets_appear_nowhere_in_the_bundle(target, tmp_path):
    planted = "planted-secret-7f3a9c"
    settings = explicit_target(target)
    settings["ISSUER_HEADERS"] = json.dumps({"X-Planted": planted})
    result = akrida("run", results=tmp_path, SCENARIO="mediator_message", USERS="2", SPAWN_RATE="2",
                    RUN_TIME="8s", **settings)  # fmt: skip
    run_dir = only_run_dir(tmp_path)
    assert result.returncode == 0, describe(result, run_dir)
    for secret in (planted, target.admin_api_key):
        assert secret not in result.stdout + result.stderr
        leaks = [p for p in run_dir.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
        assert not leaks, f"secret found in {leaks}"


def test_interrupted_run_keeps_a_bundle_marked_incomplete(target, tmp_path):
    environment = {**os.environ, "RESULTS_DIR": str(tmp_path), "USERS": "2", "SPAWN_RATE": "2", "RUN_TIME": "5m"}
    process = subprocess.Popen(
        [sys.executable, "-m", "akrida.cli", "--env-file", "/dev/null", "run"],
        cwd=paths.ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=like_a_terminal,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            history = list(tmp_path.glob(f"*/{HISTORY_FILE}"))
            if history and history[0].read_text().count("\n") > 4:
                break
            time.sleep(1)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=120)
    finally:
        process.kill()
    run_dir = only_run_dir(tmp_path)
    assert process.returncode == 130, output
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "incomplete" and manifest["exit_code"] == 130
    assert "INCOMPLETE" in (run_dir / "summary.md").read_text()
    assert (run_dir / "locust_stats.csv").is_file() and (run_dir / "report.html").is_file()


def test_web_ui_shows_the_running_test_in_headless_chromium(target, tmp_path):
    assert Path(CHROMIUM).is_file(), "Chromium is missing: make test installs it as root"
    port = 8189
    environment = {**os.environ, "RESULTS_DIR": str(tmp_path), "UI": "1", "UI_PORT": str(port), "USERS": "2",
                   "SPAWN_RATE": "2", "RUN_TIME": "3m"}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "akrida.cli", "--env-file", "/dev/null", "run"],
        cwd=paths.ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=like_a_terminal,
    )  # fmt: skip
    try:
        stats = wait_for_requests(f"http://127.0.0.1:{port}/stats/requests", timeout=90)
        assert stats["state"] == "running"
        screenshot = tmp_path / "ui.png"
        dom = chromium(f"http://127.0.0.1:{port}/", tmp_path, "--dump-dom")
        chromium(f"http://127.0.0.1:{port}/", tmp_path, f"--screenshot={screenshot}", "--window-size=1400,900")
        assert "ping_mediator" in dom and "didcomm" in dom, dom[-2000:]
        assert "RUNNING" in dom.upper()
        assert_chart_drawn(screenshot)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()


def like_a_terminal() -> None:
    """Ctrl-C reaches a command typed in a terminal. A test run started in the background by a shell
    without job control inherits SIGINT as ignored, and Python then never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for_requests(url: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    last: dict = {}
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                last = json.loads(response.read())
            if last.get("state") == "running" and any(row.get("name") == "ping_mediator" for row in last["stats"]):
                return last
        except OSError:
            pass
        time.sleep(1)
    raise AssertionError(f"the web UI never showed requests: {str(last)[:500]}")


def chromium(url: str, profile: Path, *arguments: str) -> str:
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile / 'chromium'}", "--virtual-time-budget=10000", *arguments, url],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout
