"""Runs the playbook from the controller and reads its recap.

Why not ansible-runner: what is read here is two lines of ansible-core's default output, the
`TASK [name]` banner (for progress) and the `PLAY RECAP` counts (ok, changed, unreachable, failed),
whose format has not changed across ansible-core 2.x; the lab cluster tests read real recaps
(a second run must change nothing), so a change would show there. ansible-runner would add a
dependency, a pexpect-driven process and an artifact folder per run for the same two facts.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from akrida import paths
from akrida.cluster.errors import ClusterError

PLAYBOOK = paths.ROOT / "playbooks" / "site.yml"
RECAP = re.compile(
    r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)"
)
TASK = re.compile(r"^TASK \[(?P<name>.+?)\]")


@dataclass(frozen=True)
class HostRecap:
    ok: int
    changed: int
    unreachable: int
    failed: int


@dataclass(frozen=True)
class PlaybookResult:
    recap: dict[str, HostRecap]
    log: Path
    seconds: float

    @property
    def changed(self) -> int:
        return sum(host.changed for host in self.recap.values())


def run_playbook(
    config: Path, log: Path, progress: Callable[[str], None] = print, timeout: float = 3600.0
) -> PlaybookResult:
    """Runs site.yml; every task's name goes to `progress`, the full output to `log`."""
    executable = Path(sys.executable).parent / "ansible-playbook"
    if not executable.is_file():
        raise ClusterError(f"{executable} is missing: run `make setup` (it installs ansible-core)")
    environment = dict(os.environ)
    environment.update(
        ANSIBLE_CONFIG=str(config),
        ANSIBLE_HOME=str(config.parent / "home"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_DEPRECATION_WARNINGS="False",
        ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3",
    )
    started = time.monotonic()
    recap: dict[str, HostRecap] = {}
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(executable), str(PLAYBOOK)],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        assert process.stdout is not None
        # A silent, hung playbook must not block the loop below: the watchdog kills it on time.
        watchdog = threading.Timer(timeout, process.kill)
        watchdog.start()
        for line in process.stdout:
            output.write(line)
            task = TASK.match(line)
            if task:
                progress(f"ansible: {task['name']}")
            match = RECAP.match(line)
            if match:
                recap[match["host"]] = HostRecap(
                    int(match["ok"]), int(match["changed"]), int(match["unreachable"]), int(match["failed"])
                )
        code = process.wait()
        watchdog.cancel()
    seconds = time.monotonic() - started
    if seconds >= timeout:
        raise ClusterError(f"the playbook did not finish within {timeout:.0f} s; see {log}")
    if code != 0:
        failed = [host for host, counts in recap.items() if counts.failed or counts.unreachable]
        raise ClusterError(
            f"the playbook failed{' on ' + ', '.join(failed) if failed else ''} (exit code {code}); "
            f"see {log}:\n{_failures(log)}"
        )
    return PlaybookResult(recap, log, seconds)


def _failures(log: Path, lines: int = 15) -> str:
    text = log.read_text().splitlines()
    picked = [line for line in text if line.startswith(("fatal:", "failed:", "ERROR!", "[ERROR]"))]
    return "\n".join(f"  {line[:400]}" for line in (picked or text)[-lines:])
