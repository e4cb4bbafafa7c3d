"""One agent process that hosts many holders, spoken to in JSON lines (agent/PROTOCOL.md).

Requests from all holders of the host share its stdin; one reader greenlet takes every reply from
its stdout and hands it to the request with the same id. Everything is gevent-cooperative without
monkey-patching (pipes are read through gevent.subprocess), so thousands of Locust users can wait
on their replies at once in one Locust process.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import gevent
from gevent import subprocess
from gevent.event import AsyncResult
from gevent.lock import Semaphore

from akrida import paths
from akrida.agent.errors import (
    AgentCrashed,
    AgentError,
    AgentHung,
    AgentNotBuilt,
    CommandFailed,
    ProtocolViolation,
)
from akrida.agent.logfile import BoundedLog
from akrida.agent.messages import Timing, from_wire

# The driver waits this much longer than the agent's own timeout, so that an agent which is merely
# slow replies with its own timeout error before the driver declares it hung.
READ_MARGIN_SECONDS = 15.0
# Variables that hold the target's admin credentials. Holders never need them, so they are kept out
# of every agent process (akrida.settings marks the same ones secret; a test keeps both in step).
SECRET_VARIABLES = frozenset({"ISSUER_API_KEY", "ISSUER_HEADERS"})
# Node's old-space limit for a host: a floor for the code and Credo's caches, plus room per holder.
# bench/density.py prints the heap each holder really takes (0.35 MiB at 1,000 holders), well within this.
HEAP_FLOOR_MIB = 256
HEAP_PER_HOLDER_MIB = 4


def launch_command(script: Path) -> tuple[str, ...]:
    """How to run an agent of the user's own: node for .js, this Python for .py, else as a program."""
    script = script.resolve()
    if script.suffix in (".js", ".mjs", ".cjs"):
        return ("node", str(script))
    if script.suffix == ".py":
        return (sys.executable, str(script))
    return (str(script),)


@dataclass(frozen=True)
class AgentConfig:
    """How to launch agent processes. Shared by every host of one Locust process."""

    script: Path = paths.AGENT_SCRIPT
    native_libs: Path = paths.NATIVE_LIBS
    node: str = "node"
    timeout: float = 60.0
    log_level: str = "warn"
    log_dir: Path | None = None
    log_max_bytes: int = 1_048_576
    extra_env: dict[str, str] = field(default_factory=dict)
    read_margin: float = READ_MARGIN_SECONDS  # seconds the driver waits beyond the agent's own timeout
    # An agent of the user's own (AGENT_SCRIPT): the command that starts it, and the protocol it speaks
    # ("akrida": agent/PROTOCOL.md, many holders a process; "seed": akrida.agent.seed). Empty: the Credo agent.
    command: tuple[str, ...] = ()
    protocol: str = "akrida"

    def launch(self, heap_mib: int) -> list[str]:
        """The command line of one agent process."""
        if self.command:
            return list(self.command)
        return [self.node, f"--max-old-space-size={heap_mib}", str(self.script.resolve())]

    def check_installed(self) -> None:
        if self.command:
            if not self.script.is_file():
                raise AgentNotBuilt(f"AGENT_SCRIPT={self.script}: no such file")
            return  # a user's agent brings what it needs; the native libraries are the Credo agent's
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
            # The agent watches for this process to go; read from its own parent at start, it could
            # already be the reaper when the driver died while the agent was still loading.
            AKRIDA_DRIVER_PID=str(os.getpid()),
        )
        env.update(self.extra_env)
        return env

    def read_timeout(self, timeout_ms: int | None) -> float:
        """How long the driver waits for a reply: the agent's own wait plus `read_margin`."""
        return max(0.1, (timeout_ms / 1000 if timeout_ms is not None else self.timeout) + self.read_margin)


class AgentHost:
    """A running agent process and the handles of the holders it hosts.

    `request()` may be called from many greenlets at once: writes are serialised, replies are
    matched by id, and a late reply to an abandoned request is dropped. When the process dies, every
    request still waiting fails with AgentCrashed, and so does every later one.
    """

    _ids = itertools.count(1)

    def __init__(self, config: AgentConfig, name: str, capacity: int = 1):
        self.config = config
        self.name = name
        self.capacity = capacity
        self.handles: set[str] = set()  # holders placed here, started or starting
        self._pending: dict[int, AsyncResult] = {}
        self._write_lock = Semaphore()
        self._failure: AgentError | None = None
        self._process: subprocess.Popen | None = None
        self._log: BoundedLog | None = None
        self._readers: list[gevent.Greenlet] = []

    # --- lifecycle -----------------------------------------------------------------------------

    def spawn(self) -> None:
        self.config.check_installed()
        log_path = (self.config.log_dir / f"{self.name}.log") if self.config.log_dir else None
        self._log = BoundedLog(log_path, self.config.log_max_bytes)
        heap = HEAP_FLOOR_MIB + HEAP_PER_HOLDER_MIB * self.capacity
        script = self.config.script.resolve()
        self._process = subprocess.Popen(
            self.config.launch(heap),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.config.environment(),
            cwd=str(script.parent),
            # A Ctrl-C in the terminal goes to the driver, which shuts agents down in order.
            start_new_session=True,
        )
        self._readers = [
            gevent.spawn(self._read_replies, self._process),
            gevent.spawn(self._drain_stderr, self._process, self._log),
        ]

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def alive(self) -> bool:
        return self._failure is None and self._process is not None and self._process.poll() is None

    @property
    def exit_code(self) -> int | None:
        return self._process.poll() if self._process else None

    @property
    def room(self) -> int:
        return self.capacity - len(self.handles)

    def responsive(self, timeout: float) -> bool:
        """True when the process itself answers a handle-less `status` within `timeout` seconds."""
        try:
            self.request("status", read_timeout=timeout)
        except AgentError:
            return False
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Ends the agent's stdin, which closes every wallet; kills the process if it lingers."""
        process = self._process
        if process is not None and process.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                _pipe(process.stdin).close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=timeout)
        self.kill()

    def kill(self, grace: float = 2.0, reason: AgentError | None = None) -> None:
        """Stops the process (SIGTERM, then SIGKILL) and fails every request still waiting."""
        process = self._process
        if process is None:
            return  # never spawned, or killed already
        self._fail(reason or AgentCrashed(f"agent host {self.name} was stopped"))
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        # The process is gone, so its pipes reach end of file and the readers finish by themselves;
        # only then are the pipes closed (closing one under a blocked reader is an error).
        gevent.joinall(self._readers, timeout=2)
        gevent.killall(self._readers, timeout=2)
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream:
                with contextlib.suppress(OSError, ValueError, RuntimeError):
                    stream.close()
        if self._log is not None:
            self._log.close()
        self._process = None

    # --- the protocol --------------------------------------------------------------------------

    def request(
        self, command: str, arguments: dict[str, Any] | None = None, holder: str | None = None,
        read_timeout: float | None = None,
    ) -> Any:  # fmt: skip
        """Sends one command (for `holder`, or for the process when None) and returns its result.

        Raises CommandFailed for an error reply, AgentHung when no reply came within `read_timeout`
        (default: the command's own timeout plus the config's read margin), AgentCrashed when the process
        is gone and ProtocolViolation when it wrote something that is not a reply.
        """
        return self.request_timed(command, arguments, holder, read_timeout)[0]

    def request_timed(
        self, command: str, arguments: dict[str, Any] | None = None, holder: str | None = None,
        read_timeout: float | None = None,
    ) -> tuple[Any, Timing | None]:  # fmt: skip
        """`request()`, with the reply's timing stamps (None from an agent that sends none). A failed
        command's stamps travel on its CommandFailed (`timing`)."""
        arguments = arguments or {}
        if read_timeout is None:
            read_timeout = self.config.read_timeout(arguments.get("timeoutMs"))
        process = self._process
        if self._failure is not None:
            raise self._failure
        if process is None or process.poll() is not None:
            raise AgentCrashed(f"agent host {self.name} is not running (exit code {self.exit_code})")
        request_id = next(self._ids)
        envelope: dict[str, Any] = {"cmd": command, "id": request_id, **arguments}
        if holder is not None:
            envelope["holder"] = holder
        waiter: AsyncResult = AsyncResult()
        self._pending[request_id] = waiter
        try:
            with self._write_lock:
                try:
                    stdin = _pipe(process.stdin)
                    stdin.write(json.dumps(envelope).encode() + b"\n")
                    stdin.flush()
                except (OSError, ValueError) as error:
                    raise AgentCrashed(f"agent host {self.name} closed its stdin: {error}") from error
            try:
                reply = waiter.get(timeout=read_timeout)
            except gevent.Timeout:
                who = f"holder {holder} of agent host {self.name}" if holder else f"agent host {self.name}"
                raise AgentHung(f"{who} gave no reply to {command} within {read_timeout:g}s") from None
        finally:
            self._pending.pop(request_id, None)
        assert isinstance(reply, dict)  # the reader sets only dicts (anything else is a violation)
        timing = _timing(reply.get("timing"))
        if reply.get("error") == 0:
            return reply.get("result"), timing
        failure = CommandFailed(command, str(reply.get("kind", "failed")), str(reply.get("result")))
        failure.timing = timing
        raise failure

    def _read_replies(self, process: subprocess.Popen) -> None:
        for raw in iter(_pipe(process.stdout).readline, b""):
            try:
                reply = json.loads(raw)
            except ValueError:
                reply = None
            if not isinstance(reply, dict) or "error" not in reply:
                violation = ProtocolViolation(f"agent host {self.name} wrote a line that is not a reply: {raw[:200]!r}")
                gevent.spawn(self.kill, 2.0, violation)  # not from this greenlet: kill() joins it
                return
            waiter = self._pending.get(reply.get("id"))  # type: ignore[arg-type]
            if waiter is not None:
                waiter.set(reply)
            # else: a late reply to a request the driver gave up on.
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=1.0)  # let the exit status arrive
        self._fail(AgentCrashed(f"agent host {self.name} exited (exit code {process.poll()})"))

    def _fail(self, failure: AgentError) -> None:
        if self._failure is None:
            self._failure = failure
        for waiter in list(self._pending.values()):
            if not waiter.ready():
                waiter.set_exception(self._failure)

    @staticmethod
    def _drain_stderr(process: subprocess.Popen, log: BoundedLog) -> None:
        # Always drain stderr, even with logging off: a full pipe would block the agent.
        for raw in iter(_pipe(process.stderr).readline, b""):
            log.write(raw)


def _timing(value: Any) -> Timing | None:
    """A reply's `timing`, or None when it has none (an agent of an older version) or it is malformed."""
    try:
        return from_wire(Timing, value)
    except TypeError:
        return None


def _pipe(stream: IO[bytes] | None) -> IO[bytes]:
    """One of the agent's pipes, which are always opened (stdin, stdout, stderr=PIPE)."""
    if stream is None:
        raise AgentCrashed("the agent host's pipes are not open")
    return stream
