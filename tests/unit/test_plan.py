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
              "agent_cpu_ms_per_ping": 20.0, "driver_cpu_ms_per_ping": 0.5,
              "mediator_cpu_s_per_start": 0.08, "mediator_cpu_ms_per_ping": 10.0},
}  # fmt: skip
# This machine, as lab hosts see it: every namespace shares its cores and memory.
LAB_MACHINE = HostSize("this machine", 2, 24.0, shared=True)


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
    memory = [next(line for line in plan.reasoning if line.startswith("memory:")) for plan in (one, eight)]
    assert "+ 10 agent processes" in memory[0]  # 2,000 in processes of 200
    assert "+ 16 agent processes" in memory[1]  # 8 Locust processes x 250 holders: 2 processes each


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


def lab(**values: str) -> Settings:
    return Settings.from_mapping({"CLOUD": "lab", **values})


def test_lab_hosts_share_one_machine_so_the_plan_sizes_the_machine_with_the_target_on_it(calibration):
    plan = make_plan(lab(USERS="10000", SPAWN_RATE="5", WAIT_MIN="60", WAIT_MAX="120"), calibration, LAB_MACHINE)
    # More namespaces add no cores: one lab host, never "N x this machine".
    assert plan.workers == 1 and not any(" x this machine" in line for line in plan.reasoning), plan.reasoning
    assert any("the embedded target shares it too" in line for line in plan.reasoning), plan.reasoning
    # 2 cores x 70 % for the holders' 20.5 CPU-ms and the mediator's 10 CPU-ms per ping, one per 90 s each.
    fits = math.floor(1.4 / ((20.5 + 10.0) / 1000 / 90))
    assert f"→ {fits:,} holders per machine" in "\n".join(plan.reasoning), plan.reasoning
    assert any(f"this machine carries about {fits:,} of the 10,000 holders" in w for w in plan.warnings), plan.warnings
    # Starting holders shares the cores with the target's starts and with every ping of the holders already in.
    small = make_plan(lab(USERS="1000", SPAWN_RATE="1", WAIT_MIN="60", WAIT_MAX="120"), calibration, LAB_MACHINE)
    rate = (1.4 - 1000 * (20.5 + 10.0) / 1000 / 90) / (0.1 + 0.08)
    assert f"at most about {rate:.1f} at the end of the ramp" in "\n".join(small.reasoning), small.reasoning
    assert f"about {1.4 / (0.1 + 0.08):.1f} holders/s on this machine at first" in "\n".join(small.reasoning)
    assert small.workers == 1 and not small.warnings, small.warnings
    # Where the holders in take all of the machine's CPU, the plan says so rather than a rate of 0.0.
    said = "\n".join(plan.reasoning)
    assert f"none by the end of the ramp, when the {fits:,} holders in take all of its CPU share" in said, said
    assert "0.0 holders/s" not in said and "lower SPAWN_RATE" not in said, said


def test_the_mediator_is_sized_and_one_acapy_process_that_cannot_keep_up_is_a_warning(calibration):
    calm = make_plan(settings(USERS="1000", SPAWN_RATE="2", WAIT_MIN="60", WAIT_MAX="120"), calibration,
                     HostSize("c7i.2xlarge", 8, 16))  # fmt: skip
    # 2 starts/s x 0.08 CPU-s + 1,000 holders x 10 CPU-ms per 90 s.
    assert calm.mediator_cores == pytest.approx(2 * 0.08 + 1000 * 0.010 / 90)
    assert any(
        line.startswith("mediator: 0.08 CPU-s per start x SPAWN_RATE=2/s = 0.16 cores") for line in calm.reasoning
    )
    assert not calm.warnings
    busy = make_plan(settings(USERS="1000", SPAWN_RATE="5", WAIT_MIN="1", WAIT_MAX="1"), calibration,
                     HostSize("c7i.2xlarge", 8, 16))  # fmt: skip
    assert busy.mediator_cores == pytest.approx(5 * 0.08 + 1000 * 0.010)
    (warning,) = busy.warnings
    assert "the mediator needs 10.40 cores, and one ACA-Py process's event loop runs on one core at most" in warning
    assert "at most about 100 holders per mediator process at this ping rate" in warning
    # Onboarding alone can outrun it: 20 starts/s x 0.08 CPU-s = 1.6 cores.
    ramp = make_plan(settings(USERS="100", SPAWN_RATE="20", WAIT_MIN="60", WAIT_MAX="120"), calibration,
                     HostSize("c7i.2xlarge", 8, 16))  # fmt: skip
    (warning,) = ramp.warnings
    assert "SPAWN_RATE at most 12.4/s" in warning, warning  # (1 core - 100 x 10 CPU-ms / 90 s) / 0.08 CPU-s


def test_a_missing_calibration_names_the_bench_that_writes_it(tmp_path):
    with pytest.raises(PlanError, match=r"bench/density\.py --calibration"):
        Calibration.load(tmp_path / "absent.json")


def test_akrida_plan_reads_the_committed_calibration():
    assert CALIBRATION_FILE.is_file(), "bench/calibration.json is written by bench/density.py --calibration"
    result = subprocess.run(
        # 50,000: several times what this kind of machine carries by the calibration's CPU and memory alike.
        [sys.executable, "-m", "akrida.cli", "--env-file", "/dev/null", "plan", "--users", "50000",
         "--scenario", "mediator_ping"],
        capture_output=True, text=True, cwd=paths.ROOT, env={"PATH": "/usr/bin:/bin", "CLOUD": "aws",
        "WAIT_MIN": "60", "WAIT_MAX": "120"}, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    committed = Calibration.load()
    assert f"{committed.pss_per_added_holder_mib:g} MiB PSS per holder" in result.stdout
    assert f"mediator: {committed.mediator_cpu_s_per_start:g} CPU-s per start" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("WORKERS=")


def test_akrida_plan_on_lab_hosts_sizes_this_machine_and_warns_when_it_is_too_small():
    result = subprocess.run(
        # 50,000: several times what this kind of machine carries by the calibration's CPU and memory alike.
        [sys.executable, "-m", "akrida.cli", "--env-file", "/dev/null", "plan", "--users", "50000",
         "--scenario", "mediator_ping"],
        capture_output=True, text=True, cwd=paths.ROOT, env={"PATH": "/usr/bin:/bin", "CLOUD": "lab",
        "SPAWN_RATE": "5", "WAIT_MIN": "60", "WAIT_MAX": "120"}, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "the embedded target shares it too" in result.stdout and " x this machine" not in result.stdout
    assert "WARNING: this machine carries about" in result.stdout, result.stdout
    assert result.stdout.strip().splitlines()[-1] == "WORKERS=1"
