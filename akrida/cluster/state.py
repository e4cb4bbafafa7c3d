"""Where a provisioned cluster keeps its files on the controller, and what it is made of.

One cluster at a time: `.akrida/cluster/` holds a folder per cloud (Terraform state, keys,
inventory) and `cluster.json` describing the cluster that `provision` finished. `akrida run` reads
that file to decide between a local and a distributed run.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from akrida import paths

CLUSTER_DIR = Path(os.environ.get("AKRIDA_CLUSTER_STATE_DIR") or paths.STATE_DIR / "cluster")
CLUSTER_FILE = "cluster.json"
CLOUDS = ("lab", "aws")


@dataclass(frozen=True)
class Host:
    name: str  # master, worker-1, worker-2 …
    public_ip: str  # what the controller connects to; for workers also their agents' endpoint
    private_ip: str  # what the other hosts use
    root: str  # the host's akrida folder (every lab host gets its own; /opt/akrida on VMs)


@dataclass(frozen=True)
class Cluster:
    """A provisioned cluster, as Terraform's outputs described it; nothing here depends on the cloud."""

    cloud: str
    master: Host
    workers: list[Host]
    ssh_user: str
    embedded_target_host: str = ""  # where the hosts reach this machine; empty when they cannot
    prepared: bool = False  # the playbook has run to its end

    @property
    def hosts(self) -> list[Host]:
        return [self.master, *self.workers]

    def save(self) -> Path:
        path = CLUSTER_DIR / CLUSTER_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path

    @classmethod
    def current(cls) -> Cluster | None:
        path = CLUSTER_DIR / CLUSTER_FILE
        if not path.is_file():
            return None
        data = json.loads(path.read_text())
        data["master"] = Host(**data["master"])
        data["workers"] = [Host(**worker) for worker in data["workers"]]
        return cls(**data)

    @staticmethod
    def forget() -> None:
        (CLUSTER_DIR / CLUSTER_FILE).unlink(missing_ok=True)


@dataclass(frozen=True)
class CloudDir:
    """The controller-side files of one cloud's cluster."""

    cloud: str

    @property
    def root(self) -> Path:
        return CLUSTER_DIR / self.cloud

    @property
    def module(self) -> Path:
        return paths.ROOT / "infra" / self.cloud

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def client_key(self) -> Path:
        return self.keys / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.root / "known_hosts"

    @property
    def tfvars(self) -> Path:
        return self.root / "terraform.tfvars.json"

    @property
    def tfstate(self) -> Path:
        return self.root / "terraform.tfstate"

    @property
    def terraform_data(self) -> Path:
        return self.root / ".terraform"

    @property
    def ansible(self) -> Path:
        return self.root / "ansible"

    @property
    def control_dir(self) -> Path:
        # Short on purpose: ssh control socket paths must fit in 108 bytes.
        return self.root / "ssh-control"

    @property
    def hosts_dir(self) -> Path:
        return self.root / "hosts"
