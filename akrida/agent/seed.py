"""An agent of the user's own that speaks the seed protocol (AGENT_PROTOCOL=seed): one holder per
process, one command at a time, replies without ids.

    stdin  -> {"cmd": "start", "withMediation": true}
    stdout <- {"error": 0, "result": {...}}
    stdin  -> {"cmd": "ping_mediator"}
    stdout <- {"error": 1, "result": "Mediator timeout!"}

The mediator's invitation is in the process's environment (MEDIATION_URL), so the process is
started only when its holder starts, with that holder's invitation. The commands Akrida's client
sends are translated to the seed's four (start, ping_mediator, receiveInvitation, shutdown), and
their results to what the client expects; any other command fails as a `request` failure (Akrida's
own) naming it. The seed's failures carry no kind: they count as the target's, as the Credo agent's
`failed` do. Timeouts and kills are as for any agent: no reply within the read timeout is a hung
agent, killed (one holder per process, so nothing else is lost with it).
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import gevent
from gevent.event import AsyncResult

from akrida.agent.errors import AgentCrashed, AgentHung, CommandFailed, ProtocolViolation
from akrida.agent.host import AgentConfig, AgentHost, _pipe
from akrida.agent.messages import Timing

SEED_COMMANDS = ("start", "ping_mediator", "receiveInvitation", "shutdown")
MEDIATION_VARIABLE = "MEDIATION_URL"


class SeedAgentHost(AgentHost):
    """One process of a seed-protocol agent, for one holder's life (a restart gets a new process)."""

    def __init__(self, config: AgentConfig, name: str, capacity: int = 1):
        super().__init__(config, name, capacity=1)
        self.used = False  # a seed process serves one holder, once

    @property
    def room(self) -> int:
        return 0 if self.used else 1 - len(self.handles)

    def spawn(self) -> None:
        """Checks the agent is there; the process itself starts with its holder's `start`."""
        self.config.check_installed()

    @property
    def alive(self) -> bool:
        # Not yet started is alive: its holder is about to start it.
        return self._failure is None and (self._process is None or self._process.poll() is None)

    def responsive(self, timeout: float) -> bool:
        return False  # the seed has no `status`: a holder that gave no reply is its whole process

    def request_timed(
        self, command: str, arguments: dict[str, Any] | None = None, holder: str | None = None,
        read_timeout: float | None = None,
    ) -> tuple[Any, Timing | None]:  # fmt: skip
        """A seed command and its result; the seed protocol has no timing stamps (None), so a seed agent's
        latencies are the driver's own."""
        arguments = arguments or {}
        if self._failure is not None:
            raise self._failure
        if command not in WIRE:
            raise CommandFailed(
                command, "request",
                f"AGENT_PROTOCOL=seed carries {', '.join(SEED_COMMANDS)}; {command} is not one of them",
            )  # fmt: skip
        if read_timeout is None:
            read_timeout = self.config.read_timeout(arguments.get("timeoutMs"))
        if command == "start":
            if self.used:
                raise CommandFailed(command, "request", f"seed agent {self.name} was started already")
            self.used = True
            self._start_process(arguments.get("mediatorInvitationUrl") or "")
        process = self._process
        if process is None or process.poll() is not None:
            raise AgentCrashed(f"seed agent {self.name} is not running (exit code {self.exit_code})")
        envelope = WIRE[command](arguments)
        began = time.perf_counter()
        with self._write_lock:  # one command at a time: the seed's replies carry no id
            waiter: AsyncResult = AsyncResult()
            self._pending[0] = waiter
            try:
                try:
                    stdin = _pipe(process.stdin)
                    stdin.write(json.dumps(envelope).encode() + b"\n")
                    stdin.flush()
                except (OSError, ValueError) as error:
                    raise AgentCrashed(f"seed agent {self.name} closed its stdin: {error}") from error
                try:
                    reply = waiter.get(timeout=read_timeout)
                except gevent.Timeout:
                    # A late reply would be taken for the next command's: the process goes.
                    hung = AgentHung(f"seed agent {self.name} gave no reply to {command} within {read_timeout:g}s")
                    gevent.spawn(self.kill, 2.0, hung)
                    raise hung from None
            finally:
                self._pending.pop(0, None)
        assert isinstance(reply, dict)  # the reader sets only dicts (anything else kills the process)
        if reply.get("error") != 0:
            raise CommandFailed(command, str(reply.get("kind", "failed")), str(reply.get("result")))
        result = RESULTS.get(command, _as_is)(reply.get("result"), int((time.perf_counter() - began) * 1000), holder)
        if command == "shutdown":
            gevent.spawn(self.close, 5.0)  # the seed ends its process after shutdown; make sure
        return result, None

    def _start_process(self, invitation: str) -> None:
        extra = {**self.config.extra_env, MEDIATION_VARIABLE: invitation}
        self.config = dataclasses.replace(self.config, extra_env=extra)
        super().spawn()

    def _read_replies(self, process: Any) -> None:
        for raw in iter(_pipe(process.stdout).readline, b""):
            try:
                reply = json.loads(raw)
            except ValueError:
                reply = None
            waiter = self._pending.get(0)
            if not isinstance(reply, dict) or "error" not in reply or waiter is None:
                what = "a reply nobody asked for" if isinstance(reply, dict) else "a line that is not a reply"
                violation = ProtocolViolation(f"seed agent {self.name} wrote {what}: {raw[:200]!r}")
                gevent.spawn(self.kill, 2.0, violation)
                return
            waiter.set(reply)
        self._fail(AgentCrashed(f"seed agent {self.name} exited (exit code {process.poll()})"))


def _as_is(result: Any, _ms: int, _holder: str | None) -> Any:
    return result


def _field(result: Any, name: str) -> str:
    return str(result.get(name) or "") if isinstance(result, dict) else ""


WIRE = {
    "start": lambda arguments: {
        "cmd": "start",
        "withMediation": bool(arguments.get("mediatorInvitationUrl")),
        **({"port": arguments["inboundPort"]} if arguments.get("inboundPort") else {}),
    },
    "ping_mediator": lambda _arguments: {"cmd": "ping_mediator"},
    "receiveInvitation": lambda arguments: {"cmd": "receiveInvitation", "invitationUrl": arguments["invitationUrl"]},
    "shutdown": lambda _arguments: {"cmd": "shutdown"},
}
# What Akrida's client expects of each result (akrida/agent/messages.py), from whatever the seed said.
RESULTS = {
    "start": lambda result, ms, holder: {
        "holder": holder, "label": _field(result, "label") or "seed-agent", "endpoints": [],
        "mediation": None, "ms": ms, "returning": False,
    },
    "ping_mediator": lambda result, ms, _holder: {"connectionId": _field(result, "connectionId"), "roundTripMs": ms},
    "receiveInvitation": lambda result, ms, _holder: {
        "connectionId": _field(result, "connectionId"), "outOfBandId": _field(result, "outOfBandId"),
        "invitationId": _field(result, "invitationId"), "theirLabel": _field(result, "theirLabel") or None, "ms": ms,
    },
}  # fmt: skip
