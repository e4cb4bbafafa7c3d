"""`locust -f locustfiles/<scenario>.py` on its own, without akrida's CLI: settings are Locust's
arguments and the SLO gates set Locust's exit code."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import pytest

from akrida import paths
from akrida.execute.distributed import dotenv_text
from akrida.settings import SETTINGS

HOLDS, BREACHED = "p95(ping_mediator) < 30s", "p95(ping_mediator) < 0.001ms"


def plain_locust(target, tmp_path, *arguments: str, **variables: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in {s.env for s in SETTINGS}}
    if not (tmp_path / ".env").is_file():
        environment["MEDIATION_URL"] = target.mediation_url  # a variable, as Locust reads its own LOCUST_*
    environment.update(variables)
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


@pytest.mark.parametrize(
    ("in_env_file", "variable", "options", "code"),
    [(BREACHED, HOLDS, (), 0), (HOLDS, HOLDS, ("--slo", BREACHED), 4)],
    ids=["variable-over-env-file", "option-over-variable"],
)
def test_plain_locust_reads_env_file_then_variables_then_options(
    target, tmp_path, in_env_file, variable, options, code
):
    """The route of docs/settings.md (How a setting reaches Locust) as a user of plain `locust -f` meets it."""
    (tmp_path / ".env").write_text(
        dotenv_text(
            {
                "MEDIATION_URL": target.mediation_url,  # in ./.env alone
                "SLO": in_env_file,
                # akrida's commands' settings, nonsense for them, and none of a Locust process's business:
                "LOCAL_HOST": "0.0.0.0",
                "UI": "true",
            }
        )
    )
    result = plain_locust(target, tmp_path, *options, "--holders-per-process", "2", SLO=variable)
    assert result.returncode == code, result.stderr[-4000:]
    assert pings(tmp_path) > 0, "no holder pinged the mediator: MEDIATION_URL from ./.env did not reach them"
    assert ("FAIL  p95(ping_mediator)" in result.stderr) == (code == 4), result.stderr[-2000:]
