"""`make provision` and `make teardown`: Terraform makes the hosts, Ansible prepares them.

Everything after Terraform reads only the outputs every root module under infra/ shares, so the
same code drives lab hosts and cloud VMs.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from akrida import paths
from akrida.cluster import archive
from akrida.cluster.ansible import PlaybookResult, run_playbook
from akrida.cluster.errors import ClusterError
from akrida.cluster.inventory import write_ansible_config, write_inventory, write_known_hosts
from akrida.cluster.keys import KeyPair, ensure_key, host_keys
from akrida.cluster.state import CLUSTER_DIR, CloudDir, Cluster, Host
from akrida.cluster.terraform import Terraform
from akrida.private import write_private
from akrida.settings import Settings, SettingsError

Progress = Callable[[str], None]
# Prefix of the lab's namespaces and interfaces; the tests use their own so as never to touch yours.
LAB_PREFIX = os.environ.get("AKRIDA_LAB_PREFIX") or "akl"
LAB_SCRIPT = paths.ROOT / "scripts" / "lab-hosts.sh"
ARCHIVE_DIR = paths.STATE_DIR / "cluster-archive"  # content-addressed, so every cluster may share it
SSH_WAIT_SECONDS = 600.0  # cloud-init on a fresh VM takes a minute or two


WIDEST_PREFIX = 16  # OPERATOR_CIDR and TARGET_CIDR open ports to these addresses: no wider than a /16


def cloud_problems(settings: Settings) -> list[str]:
    """The cloud settings that would open the hosts too widely or that Terraform would refuse."""
    problems = []
    if settings.cloud == "aws":
        for name, value in (("OPERATOR_CIDR", settings.operator_cidr), ("TARGET_CIDR", settings.target_cidr)):
            if not value:
                problems.append(
                    f"{name} is not set: CLOUD=aws needs it (your address for OPERATOR_CIDR, e.g. 203.0.113.7/32; "
                    "the system under test's addresses for TARGET_CIDR)"
                )
                continue
            network = ipaddress.ip_network(value)
            if network.version != 4:
                problems.append(f"{name}={value}: the AWS hosts take IPv4 networks only, e.g. 203.0.113.7/32")
            elif network.prefixlen < WIDEST_PREFIX:
                problems.append(
                    f"{name}={value} opens the hosts to {network.num_addresses:,} addresses: "
                    f"give a network of /{WIDEST_PREFIX} or narrower, e.g. your own address as 203.0.113.7/32"
                )
    return problems


def check_settings(settings: Settings) -> None:
    """What must hold before Terraform runs; the message names each setting and its fix."""
    problems = cloud_problems(settings)
    if settings.cloud == "lab":
        if os.geteuid() != 0:
            problems.append("CLOUD=lab needs root: lab hosts are network namespaces (run as root, or use CLOUD=aws)")
        for tool, package in (("ip", "iproute2"), ("ssh", "openssh-client")):
            if shutil.which(tool) is None:
                problems.append(f"CLOUD=lab needs {tool}: install Debian's {package}")
        if not Path("/usr/sbin/sshd").is_file():
            problems.append("CLOUD=lab needs /usr/sbin/sshd: install Debian's openssh-server")
        network = ipaddress.ip_network(settings.lab_cidr)
        if network.version != 4 or not 16 <= network.prefixlen <= 26:
            problems.append(f"LAB_CIDR={settings.lab_cidr}: expected an IPv4 network from /16 to /26")
        elif settings.workers + 11 >= network.num_addresses:
            problems.append(f"LAB_CIDR={settings.lab_cidr} is too small for WORKERS={settings.workers}")
    if problems:
        raise SettingsError(problems)


def terraform_variables(settings: Settings, folder: CloudDir, client: KeyPair, keys: dict[str, KeyPair]) -> dict:
    host_key_list = [{"private_key": pair.private_key, "public_key": pair.public_key} for pair in keys.values()]
    common = {"worker_count": settings.workers, "ssh_public_key": client.public_key, "host_keys": host_key_list}
    if settings.cloud == "lab":
        return {**common, "cidr": settings.lab_cidr, "name_prefix": LAB_PREFIX, "state_dir": str(folder.root)}
    first, last = settings.agent_port_range
    return {
        **common,
        "region": settings.aws_region,
        "master_instance_type": settings.master_instance_type,
        "worker_instance_type": settings.worker_instance_type,
        "operator_cidr": settings.operator_cidr,
        "target_cidr": settings.target_cidr,
        "agent_port_range": {"from": first, "to": last},
    }


def terraform_for(folder: CloudDir) -> Terraform:
    config = folder.root / "terraform.rc"
    config.write_text("disable_checkpoint = true\n")
    return Terraform(folder.module, folder.tfstate, folder.terraform_data, cli_config=config)


def cluster_from_outputs(cloud: str, outputs: dict, folder: CloudDir) -> Cluster:
    missing = [
        name
        for name in ("master_public_ip", "master_private_ip", "worker_public_ips", "worker_private_ips", "ssh_user")
        if name not in outputs
    ]
    if missing:
        raise ClusterError(f"infra/{cloud} lacks the outputs {', '.join(missing)} that every root module must have")

    def root(name: str) -> str:
        # Lab hosts share this machine's disk: each gets its own folder.
        return str(folder.hosts_dir / name / "opt" / "akrida") if cloud == "lab" else "/opt/akrida"

    workers = [
        Host(f"worker-{index}", public, private, root(f"worker-{index}"))
        for index, (public, private) in enumerate(
            zip(outputs["worker_public_ips"], outputs["worker_private_ips"], strict=True), start=1
        )
    ]
    master = Host("master", outputs["master_public_ip"], outputs["master_private_ip"], root("master"))
    return Cluster(
        cloud=cloud,
        master=master,
        workers=workers,
        ssh_user=str(outputs["ssh_user"]),
        embedded_target_host=str(outputs.get("embedded_target_host") or ""),
    )


def provision(settings: Settings, progress: Progress = print) -> Cluster:
    """Makes the hosts and prepares them. A failure leaves the state for `teardown` to clean up."""
    check_settings(settings)
    existing = Cluster.current()
    if existing is not None and existing.cloud != settings.cloud:
        raise ClusterError(
            f"a {existing.cloud} cluster is provisioned: `make teardown` it before CLOUD={settings.cloud}"
        )
    folder = CloudDir(settings.cloud)
    folder.root.mkdir(parents=True, exist_ok=True)
    folder.root.chmod(0o700)  # keys and Terraform variables (host keys) live here
    started = time.monotonic()

    def step(message: str) -> None:
        progress(f"[{time.monotonic() - started:6.1f}s] {message}")

    names = ["master"] + [f"worker-{index}" for index in range(1, settings.workers + 1)]
    client = ensure_key(folder.client_key, "akrida-driver")
    keys = host_keys(folder.keys, names)
    variables = terraform_variables(settings, folder, client, keys)
    write_private(folder.tfvars, json.dumps(variables, indent=2))
    terraform = terraform_for(folder)
    step(f"terraform init (infra/{settings.cloud})")
    terraform.init()
    step(f"terraform apply: 1 master and {settings.workers} workers")
    terraform.apply(folder.tfvars)
    cluster = cluster_from_outputs(settings.cloud, terraform.outputs(), folder)
    cluster.save()
    write_known_hosts(cluster, keys, folder.known_hosts)
    for host in cluster.hosts:
        step(f"{host.name}: {host.public_ip}")
    step("waiting for SSH on every host")
    wait_for_ssh(cluster, folder)
    step("building the release archive (wheelhouse, agent, native libraries)")
    built = archive.build(ARCHIVE_DIR, progress=step)
    write_inventory(cluster, folder, built)
    config = write_ansible_config(folder)
    step(f"ansible-playbook playbooks/site.yml on {len(cluster.hosts)} hosts")
    result = run_playbook(config, folder.ansible / "last-run.log", progress=step)
    step(f"playbook done: {result.changed} changes in {result.seconds:.0f} s")
    cluster = replace(cluster, prepared=True)
    cluster.save()
    step(f"cluster ready: `make run USERS=…` runs on it; `make teardown` removes it ({CLUSTER_DIR})")
    return cluster


def prepare(settings: Settings, progress: Progress = print) -> PlaybookResult:
    """Runs the playbook again on the provisioned cluster (nothing should change)."""
    cluster = Cluster.current()
    if cluster is None:
        raise ClusterError("no cluster is provisioned: `make provision` first")
    folder = CloudDir(cluster.cloud)
    built = archive.build(ARCHIVE_DIR, progress=progress)
    write_inventory(cluster, folder, built)
    config = write_ansible_config(folder)
    return run_playbook(config, folder.ansible / "last-run.log", progress=progress)


def wait_for_ssh(cluster: Cluster, folder: CloudDir, timeout: float = SSH_WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    for host in cluster.hosts:
        while True:
            try:
                with socket.create_connection((host.public_ip, 22), timeout=5):
                    break
            except OSError as error:
                if time.monotonic() > deadline:
                    raise ClusterError(
                        f"{host.name} ({host.public_ip}) did not open SSH in {timeout:.0f} s: {error}"
                    ) from error
                time.sleep(2)


def teardown(progress: Progress = print) -> bool:
    """Destroys whatever provision made, for every cloud it finds. Safe to run twice. True if it removed anything."""
    removed = False
    for cloud in ("lab", "aws"):
        folder = CloudDir(cloud)
        if not folder.root.exists():
            continue
        removed = True
        close_control_sockets(folder)
        terraform = terraform_for(folder)
        if terraform.has_resources():
            if not folder.tfvars.is_file():
                raise ClusterError(f"{folder.tfstate} lists resources but {folder.tfvars} is gone: cannot destroy")
            progress(f"terraform destroy (infra/{cloud})")
            terraform.init()
            try:
                terraform.destroy(folder.tfvars)
            except ClusterError:
                if cloud != "lab":
                    raise  # billed VMs may remain: keep the state so that the next teardown retries
                progress("terraform destroy failed; removing the lab hosts directly")
        if cloud == "lab":
            remove_lab_hosts(folder)
        terraform.forget()
        shutil.rmtree(folder.root, ignore_errors=True)
        progress(f"{cloud}: removed")
    Cluster.forget()
    return removed


def close_control_sockets(folder: CloudDir) -> None:
    """ssh ControlPersist masters outlive Ansible; end them before their hosts go."""
    if not folder.control_dir.is_dir():
        return
    for socket_path in folder.control_dir.iterdir():
        if socket_path.is_socket():
            subprocess.run(
                ["ssh", "-o", f"ControlPath={socket_path}", "-O", "exit", "lab-host"],
                capture_output=True,
                timeout=15,
                check=False,
            )
        socket_path.unlink(missing_ok=True)


def remove_lab_hosts(folder: CloudDir) -> None:
    environment = {**os.environ, "AKRIDA_LAB_DIR": str(folder.root), "AKRIDA_LAB_PREFIX": LAB_PREFIX}
    subprocess.run([str(LAB_SCRIPT), "down"], env=environment, capture_output=True, timeout=120, check=False)
