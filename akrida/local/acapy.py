"""ACA-Py agents of the embedded target: how to find, launch and wait for them."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from akrida import paths
from akrida.local.errors import LocalTargetError
from akrida.local.ledger import TRUSTEE_SEED
from akrida.local.postgres import PostgresCredentials
from akrida.local.processes import child_environment, process_alive, runs, tail
from akrida.local.processes import terminate as terminate_process

ACAPY_VERSION = "1.7.0"
DIDEXCHANGE = "https://didcomm.org/didexchange/1.1"


def acapy_executable() -> Path:
    executable = paths.ACAPY_VENV / "bin" / "aca-py"
    if not executable.is_file():
        raise LocalTargetError(
            f"ACA-Py is not installed ({executable} is missing): run `make setup`. "
            f"It needs Python >= 3.13 for acapy-agent=={ACAPY_VERSION}."
        )
    return executable


@dataclass(frozen=True)
class AcapyAgent:
    """One ACA-Py instance of the embedded target."""

    name: str
    host: str
    http_port: int
    admin_port: int
    ws_port: int | None = None
    extra_args: tuple[str, ...] = ()
    pool_size: int = 20
    genesis_file: Path | None = None  # on an Indy ledger (as its trustee), else --no-ledger
    keep_wallet: bool = False  # a restart: open the wallet as it is, rather than recreate it

    @property
    def wallet_name(self) -> str:
        return f"akrida_{self.name}"

    @property
    def admin_url(self) -> str:
        return f"http://{self.host}:{self.admin_port}"

    def command(self) -> list[str]:
        endpoints = [f"http://{self.host}:{self.http_port}"]
        inbound = ["--inbound-transport", "http", self.host, str(self.http_port)]
        if self.ws_port is not None:
            endpoints.append(f"ws://{self.host}:{self.ws_port}")
            inbound += ["--inbound-transport", "ws", self.host, str(self.ws_port)]
        return [
            str(acapy_executable()),
            "start",
            "--label", f"akrida-{self.name}",
            *inbound,
            "--outbound-transport", "http",
            "--outbound-transport", "ws",
            "--endpoint", *endpoints,
            "--admin", self.host, str(self.admin_port),
            *(("--genesis-file", str(self.genesis_file)) if self.genesis_file else ("--no-ledger",)),
            "--wallet-type", "askar",
            "--wallet-name", self.wallet_name,
            "--wallet-storage-type", "postgres_storage",
            "--auto-provision",
            *(() if self.keep_wallet else ("--recreate-wallet",)),
            "--log-level", "warning",
            *self.extra_args,
        ]  # fmt: skip

    def environment(self, admin_api_key: str, wallet_key: str, database: PostgresCredentials) -> dict[str, str]:
        # Secrets go in the environment (ACA-Py reads ACAPY_* variables), not on the command line,
        # where any user of the machine could read them in the process list.
        env = child_environment()
        env.update(
            ACAPY_ADMIN_API_KEY=admin_api_key,
            ACAPY_WALLET_KEY=wallet_key,
            ACAPY_WALLET_STORAGE_CONFIG=json.dumps(
                {"url": f"{database.host}:{database.port}", "max_connections": self.pool_size}
            ),
            ACAPY_WALLET_STORAGE_CREDS=json.dumps(
                {
                    "account": database.user,
                    "password": database.password,
                    "admin_account": database.user,
                    "admin_password": database.password,
                }
            ),
            HOME=str(paths.LOCAL_STATE_DIR),
        )
        if self.genesis_file:
            # The ledger's well-known test trustee (see ledger.py), so the issuer may write to it.
            env.update(ACAPY_WALLET_SEED=TRUSTEE_SEED, ACAPY_WALLET_ALLOW_INSECURE_SEED="true")
        return env


MEDIATOR_ARGS = (
    "--open-mediation",
    "--enable-undelivered-queue",
    "--auto-accept-invites",
    "--auto-accept-requests",
    "--auto-ping-connection",
)
ISSUER_ARGS = (
    "--auto-accept-invites",
    "--auto-accept-requests",
    "--auto-ping-connection",
    "--auto-respond-credential-proposal",
    "--auto-respond-credential-request",
    "--auto-verify-presentation",
    "--preserve-exchange-records",
)


@dataclass
class RunningAcapy:
    agent: AcapyAgent
    pid: int
    log_path: Path
    admin_api_key: str = field(repr=False)

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Polls /status/ready until it answers, the process dies, or `timeout` runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not process_alive(self.pid):
                raise LocalTargetError(
                    f"ACA-Py {self.agent.name} exited during start-up. Its log ({self.log_path}):\n"
                    + tail(self.log_path)
                )
            try:
                response = requests.get(
                    f"{self.agent.admin_url}/status/ready", headers={"x-api-key": self.admin_api_key}, timeout=2
                )
                if response.ok and response.json().get("ready"):
                    return
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.25)
        raise LocalTargetError(
            f"ACA-Py {self.agent.name} was not ready after {timeout:g}s. Its log ({self.log_path}):\n"
            + tail(self.log_path)
        )


def launch(
    agent: AcapyAgent, admin_api_key: str, wallet_key: str, database: PostgresCredentials, log_path: Path
) -> RunningAcapy:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            agent.command(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=agent.environment(admin_api_key, wallet_key, database),
            cwd=str(paths.LOCAL_STATE_DIR),
            start_new_session=True,  # outlives `akrida local up`; stopped by pid
        )
    return RunningAcapy(agent, process.pid, log_path, admin_api_key)


MARKER = b"aca-py"


def is_acapy(pid: int) -> bool:
    return runs(pid, MARKER)


def terminate(pid: int, grace: float = 15.0) -> None:
    terminate_process(pid, MARKER, grace)
