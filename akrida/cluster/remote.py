"""SSH sessions to the cluster's hosts with Fabric, checked strictly against known_hosts.

Fabric installs paramiko's AutoAddPolicy, which trusts any unknown host key. Every connection here
loads the known_hosts that provisioning wrote and rejects anything else.
"""

from __future__ import annotations

import io
import shlex
from dataclasses import dataclass

from fabric import Connection
from paramiko import RejectPolicy
from paramiko.ssh_exception import SSHException

from akrida.cluster.errors import ClusterError
from akrida.cluster.state import CloudDir, Cluster, Host

COMMAND_TIMEOUT = 120
TRANSFER_TIMEOUT = 300  # seconds without progress before an SFTP transfer fails


@dataclass
class RemoteHost:
    host: Host
    connection: Connection

    @property
    def name(self) -> str:
        return self.host.name

    def run(self, command: str, timeout: float = COMMAND_TIMEOUT, check: bool = True) -> str:
        try:
            result = self.connection.run(command, hide=True, warn=True, timeout=timeout, in_stream=False)
        except (OSError, SSHException, EOFError) as error:
            raise ClusterError(f"{self.name} ({self.host.public_ip}): {error or type(error).__name__}") from error
        if check and result.exited != 0:
            raise ClusterError(
                f"{self.name}: `{command[:200]}` exited with {result.exited}: {result.stderr.strip()[-800:]}"
            )
        return result.stdout

    def write(self, path: str, text: str, mode: int = 0o600) -> None:
        """Writes a file on the host, readable only by its owner (it may hold the target's API key)."""
        try:
            self.connection.put(io.BytesIO(text.encode()), remote=path)
        except (OSError, SSHException, EOFError) as error:
            raise ClusterError(f"{self.name}: cannot write {path}: {error}") from error
        self.run(f"chmod {mode:o} {shlex.quote(path)}")

    def get(self, remote: str, local: str) -> None:
        try:
            self.connection.get(remote, local=local)
        except (OSError, SSHException, EOFError) as error:
            raise ClusterError(f"{self.name}: cannot fetch {remote}: {error}") from error

    def close(self) -> None:
        self.connection.close()


def connect(host: Host, cluster: Cluster, folder: CloudDir) -> RemoteHost:
    connection = Connection(
        host.public_ip,
        user=cluster.ssh_user,
        port=22,
        connect_timeout=15,
        connect_kwargs={
            "key_filename": str(folder.client_key),
            "look_for_keys": False,
            "allow_agent": False,
        },
    )
    connection.client.load_host_keys(str(folder.known_hosts))
    connection.client.set_missing_host_key_policy(RejectPolicy())
    remote = RemoteHost(host, connection)
    try:
        connection.open()
        # put/get go over SFTP, whose reads would otherwise wait forever on a host that froze.
        connection.sftp().get_channel().settimeout(TRANSFER_TIMEOUT)
    except (OSError, SSHException, EOFError) as error:
        raise ClusterError(
            f"cannot reach {host.name} ({host.public_ip}) over SSH: {error or type(error).__name__}. "
            "Is the cluster still there? `akrida cluster status`; or `make teardown` and `make provision`"
        ) from error
    return remote
