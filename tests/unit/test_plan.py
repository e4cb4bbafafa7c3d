"""The capacity planner: its arithmetic on a calibration of known figures, and its refusals."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from akrida import paths
from akrida.cluster.plan import CALIBRATION_FILE, Calibration, HostSize, PlanError, make_plan
from akrida.settings import Settings

# Figures of a calibration made up for the arithmetic; the committed one comes from bench/density.py.
FIGURES = {
    "measured_at": "2026-11-29",
    "machine": {"cores": 2},
    "holders_per_process": 200,
    "empty_process_pss_mib": 150.0,
    "dense": {"holders": 1000, "pss_per_added_holder_mib": 2.0, "cpu_s_per_start": 0.1,
              "agent_cpu_ms_per_ping": 20.0, "driver_cpu_ms_per_ping": 0.5},
}  # fmt: skip


@pytest.fixture
def calibration(tmp_path):
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps(FIGURES))
    return Calibration.load(path)


def settings(**values: str) -> Settings:
    return Settings.from_mapping({"CLOUD": "aws", "WORKER_INSTANCE_TYPE": "c7i.2xlarge", **values})


def test_instance_sizes_follow_ec2_naming():
    assert HostSize.of_instance_type("c7i.2xlarge") == HostSize("c7i.2xlarge", 8, 16)
    assert HostSize.of_instance_type("r7i.large").memory_gib == 16
    with pytest.raises(PlanError, match=r"WORKER_INSTANCE_TYPE=t3.micro: its size is unknown"):
        HostSize.of_instance_type("t3.micro")


def test_memory_decides_when_holders_are_idle(calibration):
    idle = settings(USERS="10000", WAIT_MIN="60", WAIT_MAX="120", WORKER_PROCESSES="1")
    plan = make_plan(idle, calibration, HostSize("c7i.2xlarge", 8, 16))
    # 16 GiB less 1 GiB, 80 % usable = 12 GiB per worker, for holders at 2 MiB and processes of 200 at 150 MiB.
    per_worker = next(n for n in range(10000, 0, -1) if (n * 2 + math.ceil(n / 200) * 150) / 1024 <= 12.0)
    assert plan.workers == math.ceil(10000 / per_worker) == 3
    memory = f"memory: {per_worker:,} holders x 2 MiB + {math.ceil(per_worker / 200)} agent processes x 150 MiB"
    assert any(line.startswith(memory) for line in plan.reasoning), plan.reasoning
    assert plan.reasoning[-1].startswith("plan: 10,000 holders → 3 x c7i.2xlarge")


def test_each_locust_process_fills_agent_processes_of_its_own(calibration):
    one = make_plan(settings(USERS="2000", WORKER_PROCESSES="1"), calibration, HostSize("c7i.2xlarge", 8, 16))
    eight = make_plan(settings(USERS="2000", WORKER_PROCESSES="8"), calibration, HostSize("c7i.2xlarge", 8, 16))
    assert "+ 10 agent processes" in one.reasoning[1]  # 2,000 in processes of 200
    assert "+ 16 agent processes" in eight.reasoning[1]  # 8 Locust processes x 250 holders: 2 processes each


def test_cpu_decides_when_holders_are_busy(calibration):
    plan = make_plan(settings(USERS="10000", WAIT_MIN="1", WAIT_MAX="1"), calibration, HostSize("c7i.2xlarge", 8, 16))
    # One ping a second costs 20.5 CPU-ms per holder: 8 cores x 70 % carry 273 holders.
    assert plan.workers == math.ceil(10000 / 273) and plan.holders_per_worker <= 273


def test_uncalibrated_scenarios_say_they_are_sized_by_memory_alone(calibration):
    plan = make_plan(settings(USERS="1000", SCENARIO="issue"), calibration, HostSize("c7i.2xlarge", 8, 16))
    assert any("SCENARIO=issue has no calibrated step cost" in line for line in plan.reasoning)


def test_a_spawn_rate_beyond_the_workers_cpu_is_flagged(calibration):
    plan = make_plan(settings(USERS="100", SPAWN_RATE="500"), calibration, HostSize("c7i.large", 2, 4))
    assert any("lower SPAWN_RATE" in line for line in plan.reasoning)


def test_a_missing_calibration_names_the_bench_that_writes_it(tmp_path):
    with pytest.raises(PlanError, match=r"bench/density\.py --calibration"):
        Calibration.load(tmp_path / "absent.json")


def test_akrida_plan_reads_the_committed_calibration():
    assert CALIBRATION_FILE.is_file(), "bench/calibration.json is written by bench/density.py --calibration"
    result = subprocess.run(
        [sys.executable, "-m", "akrida.cli", "--env-file", "/dev/null", "plan", "--users", "10000",
         "--scenario", "mediator_ping"],
        capture_output=True, text=True, cwd=paths.ROOT, env={"PATH": "/usr/bin:/bin", "CLOUD": "aws",
        "WAIT_MIN": "60", "WAIT_MAX": "120"}, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    committed = Calibration.load()
    assert f"{committed.pss_per_added_holder_mib:g} MiB PSS per holder" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("WORKERS=")
