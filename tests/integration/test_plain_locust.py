"""`locust -f locustfiles/<scenario>.py` on its own, without akrida's CLI: settings are Locust's
arguments and the SLO gates set Locust's exit code."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import pytest

from akrida import paths
from akrida.settings import SETTINGS


def plain_locust(target, tmp_path, *arguments: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in {s.env for s in SETTINGS}}
    environment["MEDIATION_URL"] = target.mediation_url  # a variable, as Locust reads its own LOCUST_*
    command = [
        sys.executable, "-m", "locust", "-f", str(paths.LOCUSTFILES / "mediator_ping.py"),
        "--headless", "-u", "2", "-r", "2", "-t", "10s", "--stop-timeout", "15",
        "--csv", str(tmp_path / "locust"), *arguments,
    ]  # fmt: skip
    return subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=180)


def pings(tmp_path, name: str = "locust_stats.csv") -> int:
    with open(tmp_path / name, newline="") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    return int(rows["ping_mediator"]["Request Count"])


@pytest.mark.parametrize(
    ("slo", "code"),
    [("p95(ping_mediator) < 30s; fail_ratio < 0.01", 0), ("p95(ping_mediator) < 0.001ms", 4)],
    ids=["gates-hold", "gate-breached"],
)
def test_a_plain_locust_run_is_configured_and_gated(target, tmp_path, slo, code):
    result = plain_locust(target, tmp_path, "--slo", slo, "--holders-per-process", "2")
    assert result.returncode == code, result.stderr[-4000:]
    assert pings(tmp_path) > 0, "no holder pinged the mediator"
    # The final table, written once the users stopped, holds at least what Locust's periodic CSV has.
    assert pings(tmp_path, "locust_stats_final.csv") >= pings(tmp_path) > 0
    assert ("FAIL  p95(ping_mediator)" in result.stderr) == (code == 4), result.stderr[-2000:]
