"""Lab clusters for the tests: real network namespaces with sshd, real Terraform, Ansible and Fabric.

Each test cluster keeps its state, namespaces (prefix), network and embedded target apart from a
cluster or target the user may have, so the tests never touch those.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
CLUSTER_TIMEOUT = 900  # seconds for one make command; provisioning a fresh lab takes about two minutes


def lab_environment(name: str, prefix: str, cidr: str, base_port: int, results: Path) -> dict[str, str]:
    environment = dict(os.environ)
    environment.update(
        AKRIDA_CLUSTER_STATE_DIR=str(ROOT / ".akrida" / f"test-{name}"),
        AKRIDA_LOCAL_STATE_DIR=str(ROOT / ".akrida" / f"test-{name}-target"),
        AKRIDA_LAB_PREFIX=prefix,
        LAB_CIDR=cidr,
        LOCAL_BASE_PORT=str(base_port),
        RESULTS_DIR=str(results),
        CLOUD="lab",
    )
    return environment


def run(command: list[str], environment: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


def make(target: str, environment: dict[str, str], *settings: str, timeout: float = CLUSTER_TIMEOUT):
    """Runs one of the README's make commands and returns its completed process (output captured)."""
    return run(["make", "--no-print-directory", target, *settings], environment, timeout)


def akrida(environment: dict[str, str], *arguments: str, timeout: float = CLUSTER_TIMEOUT):
    return run([str(ROOT / ".venv" / "bin" / "akrida"), *arguments], environment, timeout)


def namespaces(prefix: str) -> list[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in listed.splitlines() if line.startswith(f"{prefix}-")]


def links(prefix: str) -> list[str]:
    listed = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    names = [line.split(": ")[1].split("@")[0] for line in listed.splitlines() if ": " in line]
    return [name for name in names if name.startswith(f"{prefix}-")]


def processes_under(folder: Path) -> list[str]:
    """Command lines of processes started from `folder` (Locust, agents, sshd of lab hosts)."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        command = " ".join(process.info["cmdline"] or ())
        if str(folder) in command and process.info["pid"] != os.getpid():
            found.append(f"{process.info['pid']}: {command[:200]}")
    return found


@pytest.fixture(scope="session")
def lab_capable() -> None:
    if os.geteuid() != 0:
        pytest.fail("the lab cluster tests need root (network namespaces); CI runs them as root")
    for tool in ("/usr/sbin/sshd", "/usr/bin/ssh"):
        if not Path(tool).exists():
            pytest.fail(f"{tool} is missing: install openssh-server and openssh-client (make test does, as root)")
