"""SSH keys made on the controller: the key the driver logs in with, and every host's host key.

Host keys are made here and handed to Terraform, which installs them on the hosts (cloud-init on
VMs, sshd configs on lab hosts). known_hosts is then written from their public halves, so the
driver checks every host strictly, with no trust on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from akrida.private import write_private


@dataclass(frozen=True)
class KeyPair:
    private_key: str
    public_key: str


def ensure_key(path: Path, comment: str) -> KeyPair:
    """The ed25519 key pair at `path` (and `path`.pub), made first if missing."""
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        key = Ed25519PrivateKey.generate()
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
        public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        write_private(Path(f"{path}.pub"), public + f" {comment}\n".encode(), mode=0o644)
        write_private(path, private)  # last: its presence means the pair is complete
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
