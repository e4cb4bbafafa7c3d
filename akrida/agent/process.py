"""One Credo holder agent as a subprocess, spoken to in JSON lines (agent/PROTOCOL.md).

Everything here is gevent-cooperative without monkey-patching: pipes are read through
gevent.subprocess, so thousands of agents can wait at once in one Locust process.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
from gevent import subprocess
from gevent.lock import Semaphore

from akrida import paths
from akrida.agent.errors import (
    AgentCrashed,
    AgentHung,
    AgentNotBuilt,
    CommandFailed,
    ProtocolViolation,
)
from akrida.agent.logfile import BoundedLog
from akrida.settings import SECRET_VARIABLES

# The driver waits this much longer than the agent's own timeout, so that an agent which is merely
# slow replies with its own timeout error before the driver declares it hung.
READ_MARGIN_SECONDS = 15.0


@dataclass(frozen=True)
class AgentConfig:
    """How to launch holder agents. Shared by every holder of one Locust process."""

    script: Path = paths.AGENT_SCRIPT
    native_libs: Path = paths.NATIVE_LIBS
    node: str = "node"
    timeout: float = 60.0
    log_level: str = "warn"
    log_dir: Path | None = None
    log_max_bytes: int = 1_048_576
    extra_env: dict[str, str] = field(default_factory=dict)

    def check_installed(self) -> None:
        if not self.script.is_file():
            raise AgentNotBuilt(f"the holder agent is not built ({self.script} is missing): run `make setup`")
        for lib in ("aries_askar/libaries_askar.so", "anoncreds/libanoncreds.so", "indy_vdr/libindy_vdr.so"):
            if not (self.native_libs / lib).is_file():
                raise AgentNotBuilt(
                    f"native library {self.native_libs / lib} is missing: run `make setup` "
                    "(scripts/install-native-libs.sh installs it)"
                )

    def environment(self) -> dict[str, str]:
        # Agents never need the target's admin credentials; keep them out of thousands of processes.
        env = {name: value for name, value in os.environ.items() if name not in SECRET_VARIABLES}
        env.update(
            LIB_ARIES_ASKAR_PATH=str(self.native_libs / "aries_askar"),
            LIB_ANONCREDS_PATH=str(self.native_libs / "anoncreds"),
            LIB_INDY_VDR_PATH=str(self.native_libs / "indy_vdr"),
            AKRIDA_AGENT_TIMEOUT_MS=str(int(self.timeout * 1000)),
            AKRIDA_AGENT_LOG_LEVEL=self.log_level,
        )
        env.update(self.extra_env)
        return env


class AgentProcess:
    """A running holder agent. `call()` sends one command and returns its result.

    Calls on one agent are serialised. Replies are matched by id, so a late reply to an earlier,
    abandoned command is skipped instead of being taken for the answer to the current one.
    """

    _ids = itertools.count(1)

    def __init__(self, config: AgentConfig, name: str):
        self.config = config
        self.name = name
        self._lock = Semaphore()
        self._log: BoundedLog | None = None
        self._stderr_reader: gevent.Greenlet | None = None
        self._process: subprocess.Popen | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    def spawn(self) -> None:
        self.config.check_installed()
        log_path = (self.config.log_dir / f"{self.name}.log") if self.config.log_dir else None
        self._log = BoundedLog(log_path, self.config.log_max_bytes)
        self._process = subprocess.Popen(
            [self.config.node, str(self.config.script.resolve())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.config.environment(),
            cwd=str(self.config.script.resolve().parent),
            # A Ctrl-C in the terminal goes to the driver, which shuts agents down in order.
            start_new_session=True,
        )
        self._stderr_reader = gevent.spawn(self._drain_stderr, self._process, self._log)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def shutdown(self, timeout: float = 10.0) -> None:
        """Asks the agent to stop; kills it if it does not within `timeout`."""
        if self.alive:
            with contextlib.suppress(AgentCrashed, AgentHung, CommandFailed, ProtocolViolation):
                self.call("shutdown", read_timeout=timeout)
        self.kill(grace=timeout)

    def kill(self, grace: float = 2.0) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdin, process.stdout):
            if stream:
                with contextlib.suppress(OSError):
                    stream.close()
        if self._stderr_reader is not None:
            self._stderr_reader.join(timeout=2)
            self._stderr_reader.kill(block=False)
        if self._log is not None:
            self._log.close()
        self._process = None

    # --- the protocol --------------------------------------------------------------------------

    def call(self, command: str, read_timeout: float | None = None, **arguments: Any) -> Any:
        """Sends `command` and returns the reply's result; raises an AgentError subclass otherwise."""
        if read_timeout is None:
            agent_timeout = arguments.get("timeoutMs", self.config.timeout * 1000) / 1000
            read_timeout = agent_timeout + READ_MARGIN_SECONDS
        with self._lock:
            process = self._process
            if process is None or process.poll() is not None:
                raise AgentCrashed(f"agent {self.name} is not running (exit code {self.exit_code})")
            request_id = next(self._ids)
            line = json.dumps({"cmd": command, "id": request_id, **arguments}) + "\n"
            try:
                process.stdin.write(line.encode())
                process.stdin.flush()
            except (BrokenPipeError, OSError, ValueError) as error:
                raise AgentCrashed(f"agent {self.name} closed its stdin: {error}") from error
            reply = self._read_reply(process, request_id, command, read_timeout)
        if reply.get("error") == 0:
            return reply.get("result")
        raise CommandFailed(command, str(reply.get("kind", "failed")), str(reply.get("result")))

    def _read_reply(self, process: subprocess.Popen, request_id: int, command: str, timeout: float) -> dict:
        try:
            with gevent.Timeout(timeout):
                while True:
                    raw = process.stdout.readline()
                    if not raw:
                        gevent.sleep(0.05)  # let the exit status arrive
                        raise AgentCrashed(f"agent {self.name} exited during {command} (exit code {self.exit_code})")
                    try:
                        reply = json.loads(raw)
                    except ValueError:
                        raise ProtocolViolation(
                            f"agent {self.name} wrote a non-JSON line on stdout: {raw[:200]!r}"
                        ) from None
                    if not isinstance(reply, dict) or "error" not in reply:
                        raise ProtocolViolation(f"agent {self.name} wrote a line that is not a reply: {raw[:200]!r}")
                    if reply.get("id") == request_id:
                        return reply
                    # A late reply to an abandoned command: skip it.
        except gevent.Timeout:
            raise AgentHung(f"agent {self.name} gave no reply to {command} within {timeout:g}s") from None

    @property
    def exit_code(self) -> int | None:
        return self._process.poll() if self._process else None

    @staticmethod
    def _drain_stderr(process: subprocess.Popen, log: BoundedLog) -> None:
        # Always drain stderr, even with logging off: a full pipe would block the agent.
        for raw in iter(process.stderr.readline, b""):
            log.write(raw)
