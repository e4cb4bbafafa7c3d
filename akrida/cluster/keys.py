"""SSH keys made on the controller: the key the driver logs in with, and every host's host key.

Host keys are made here and handed to Terraform, which installs them on the hosts (cloud-init on
VMs, sshd configs on lab hosts). known_hosts is then written from their public halves, so the
driver checks every host strictly, with no trust on first use.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from akrida.cluster.errors import ClusterError


@dataclass(frozen=True)
class KeyPair:
    private_key: str
    public_key: str


def ensure_key(path: Path, comment: str) -> KeyPair:
    """The ed25519 key pair at `path` (and `path`.pub), made first if missing."""
    if not path.is_file():
        if shutil.which("ssh-keygen") is None:
            raise ClusterError("ssh-keygen is missing: install Debian's openssh-client")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
            check=True,
            stdin=subprocess.DEVNULL,
        )
    path.chmod(0o600)
    return KeyPair(path.read_text(), Path(f"{path}.pub").read_text().strip())


def host_keys(folder: Path, names: list[str]) -> dict[str, KeyPair]:
    """One host key per host name; an existing key is kept, so re-provisioning keeps known_hosts valid."""
    return {name: ensure_key(folder / f"host-{name}", f"akrida-host-{name}") for name in names}


def known_hosts_lines(addresses: dict[str, str], keys: dict[str, KeyPair]) -> list[str]:
    """known_hosts lines: each host's address with its host key (type and key, without the comment)."""
    lines = []
    for name, address in addresses.items():
        key_type, key = keys[name].public_key.split()[:2]
        lines.append(f"{address} {key_type} {key}")
    return lines
