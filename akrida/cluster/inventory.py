"""From a Cluster to what Ansible and ssh read: inventory, known_hosts and ansible.cfg."""

from __future__ import annotations

from pathlib import Path

import yaml

from akrida.cluster.archive import Archive
from akrida.cluster.keys import KeyPair, known_hosts_lines
from akrida.cluster.state import CloudDir, Cluster

# On lab hosts the kernel is this machine's: only settings scoped to a network namespace may change.
LAB_SYSCTL = {
    "net.core.somaxconn": "8192",
    "net.ipv4.ip_local_port_range": "1024 65000",
    "net.ipv4.tcp_tw_reuse": "1",
}


def write_known_hosts(cluster: Cluster, keys: dict[str, KeyPair], path: Path) -> None:
    addresses = {host.name: host.public_ip for host in cluster.hosts}
    path.write_text("\n".join(known_hosts_lines(addresses, keys)) + "\n")


def ssh_options(folder: CloudDir) -> list[str]:
    """The options every ssh connection of the driver uses: strict host keys, our key only."""
    return [
        "-o", "StrictHostKeyChecking=yes",
        "-o", f"UserKnownHostsFile={folder.known_hosts}",
        "-o", "BatchMode=yes",
        "-o", "IdentitiesOnly=yes",
        "-o", "ConnectTimeout=15",
    ]  # fmt: skip


def host_variables(cluster: Cluster) -> dict[str, dict]:
    return {host.name: {"ansible_host": host.public_ip, "akrida_root": host.root} for host in cluster.hosts}


def write_inventory(cluster: Cluster, folder: CloudDir, archive: Archive) -> Path:
    lab = cluster.cloud == "lab"
    variables: dict[str, object] = {
        "ansible_user": cluster.ssh_user,
        "ansible_ssh_private_key_file": str(folder.client_key),
        "ansible_python_interpreter": "/usr/bin/python3",  # discovery can pick a broken pyenv shim
        "akrida_archive": str(archive.path),
        "akrida_release": archive.release,
        "akrida_offline": lab,
        "akrida_install_os_packages": not lab,
        "akrida_tune_global": not lab,
    }
    if lab:
        variables["akrida_sysctl"] = LAB_SYSCTL
    hosts = host_variables(cluster)
    inventory = {
        "all": {
            "vars": variables,
            "children": {
                "master": {"hosts": {cluster.master.name: hosts[cluster.master.name]}},
                "workers": {"hosts": {worker.name: hosts[worker.name] for worker in cluster.workers}},
            },
        }
    }
    folder.ansible.mkdir(parents=True, exist_ok=True)
    path = folder.ansible / "inventory.yml"
    path.write_text("# Written by `akrida cluster provision` from Terraform's outputs.\n" + yaml.safe_dump(inventory))
    return path


def write_ansible_config(folder: CloudDir) -> Path:
    folder.control_dir.mkdir(parents=True, exist_ok=True)
    options = " ".join(ssh_options(folder))
    config = f"""# Written by `akrida cluster provision`.
[defaults]
inventory = {folder.ansible / "inventory.yml"}
forks = 20
host_key_checking = True
retry_files_enabled = False
interpreter_python = /usr/bin/python3
local_tmp = {folder.ansible / "tmp"}

[ssh_connection]
ssh_args = -o ControlMaster=auto -o ControlPersist=30s {options}
control_path_dir = {folder.control_dir}
control_path = %(directory)s/%%C
pipelining = True
"""
    path = folder.ansible / "ansible.cfg"
    path.write_text(config)
    return path
