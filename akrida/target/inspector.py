"""A Node target (a Credo mediator): its V8 CPU profile, taken through its inspector while it runs.

Node opens its inspector on SIGUSR1, without a restart, on the host and port of its
`--inspect-port` (127.0.0.1:9229 by default). The recording then speaks the Chrome DevTools
Protocol over the inspector's WebSocket: Profiler.enable, setSamplingInterval, start, and stop
after the window, whose reply is the profile (`.cpuprofile`, which Chrome DevTools also opens).
Neither the Profiler domain nor the inspector pauses the process (the Debugger domain would, and
is never enabled); V8's sampler runs on its own thread and interrupts the main one at each tick.

Safeguards, in order:
- the pid is checked to be Node, and to catch SIGUSR1, before the signal is sent (a process that
  does not catch it would be ended by it); the signal goes through a pidfd, so a pid reused
  meanwhile is never signalled;
- an inspector configured to listen beyond loopback is never opened, and one found listening beyond
  loopback is closed again unused: anyone who reaches an inspector runs code in the process;
- the inspector's port is the one that the process itself listens on (its sockets, read from /proc),
  and the process behind the WebSocket is asked for its pid before the profile starts;
- an inspector that this recording opened is closed after it (`process._debugEnd()`, what
  `inspector.close()` calls, run by a timer once the session is gone), so the process is left as it
  was found.

Nothing here raises into its caller: every refusal or failure is returned as the recording's problem.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import requests
import websocket

from akrida.target.processes import PROC, command_line

NODE_PROGRAMS = frozenset({"node", "nodejs"})
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 9229  # Node's own default for --inspect-port
SIGUSR1_BIT = 1 << (signal.SIGUSR1 - 1)
OPEN_WAIT_S = 10.0  # Node opens the inspector within milliseconds; a busy loop delays the signal's handling
CLOSE_WAIT_S = 3.0
# The inspector is closed by a timer in the process, once this session is gone: `process._debugEnd()`
# called inside the session's own Runtime.evaluate ended a busy Credo mediator (exit code 0, no
# 'exit' event) in about half of the recordings on Node 20.20 (bench/profile_overhead_node.py).
DEBUG_END_DELAY_MS = 500
CALL_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 60.0  # Profiler.stop replies with the whole profile
HTTP_TIMEOUT_S = 2.0
# --inspect, --inspect-brk, --inspect-wait, --inspect-port (and its old --debug-port), `=[host:]port`.
_FLAG = re.compile(r"^--(?:inspect(?:-brk|-wait|-port)?|debug-port)=(?P<address>\S+)$")


class InspectorError(Exception):
    """A refusal or failure of the inspector path, in words for the recording's problem."""


@dataclass(frozen=True)
class NodeRecording:
    problem: str = ""
    inspector: str = ""  # "127.0.0.1:9229, opened by SIGUSR1 and closed after" (the .json's record)


def program(pid: int) -> str:
    """The base name of the executable `pid` runs ('node', 'python3.11' …); '' when it is gone."""
    with contextlib.suppress(OSError):
        return os.path.basename(os.readlink(PROC / str(pid) / "exe")).removesuffix(" (deleted)")
    line = command_line(pid)
    return os.path.basename(line.split(" ", 1)[0]) if line else ""


def is_node(pid: int) -> bool:
    return program(pid) in NODE_PROGRAMS


def _catches_sigusr1(pid: int) -> bool:
    with contextlib.suppress(OSError, ValueError):
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) & SIGUSR1_BIT)
    return False


def _arguments(pid: int) -> list[str]:
    """Node's own options of `pid`: from its command line up to the script, then NODE_OPTIONS."""
    options: list[str] = []
    with contextlib.suppress(OSError):
        argv = (PROC / str(pid) / "cmdline").read_bytes().decode(errors="replace").split("\0")
        for argument in argv[1:]:
            if not argument.startswith("-"):
                break  # the script: what follows are its own arguments
            options.append(argument)
    with contextlib.suppress(OSError):
        for entry in (PROC / str(pid) / "environ").read_bytes().decode(errors="replace").split("\0"):
            if entry.startswith("NODE_OPTIONS="):
                options += entry.removeprefix("NODE_OPTIONS=").split()
    return options


def configured_address(pid: int) -> tuple[str, int]:
    """Where SIGUSR1 opens the inspector of `pid`: its last `--inspect…=[host:]port`, else 127.0.0.1:9229."""
    host, port = DEFAULT_HOST, DEFAULT_PORT
    for option in _arguments(pid):
        match = _FLAG.match(option)
        if not match:
            continue
        address = match["address"]
        if address.rpartition(":")[2].isdigit() and ":" in address:
            given_host, _colon, given_port = address.rpartition(":")
            host, port = given_host.strip("[]") or host, int(given_port)
        elif address.isdigit():
            port = int(address)
        else:
            host = address.strip("[]")
    return host, port


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve to anything


def listening(pid: int) -> dict[int, str]:
    """{port: address} of the TCP sockets that `pid` itself listens on."""
    try:
        connections = psutil.Process(pid).net_connections(kind="inet")
    except psutil.NoSuchProcess as error:
        raise InspectorError(f"pid {pid} is gone (no such process)") from error
    except psutil.AccessDenied as error:
        raise InspectorError(f"may not read the sockets of pid {pid} (run as its user or root)") from error
    return {conn.laddr.port: conn.laddr.ip for conn in connections if conn.status == psutil.CONN_LISTEN}


def _listened_ports() -> set[int]:
    """Every TCP port some process on this machine listens on (/proc/net/tcp{,6}: readable by anyone)."""
    ports = set()
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in (PROC / "net" / table).read_text().splitlines()[1:]:
                fields = line.split()
                if len(fields) > 3 and fields[3] == "0A":  # TCP_LISTEN
                    ports.add(int(fields[1].rpartition(":")[2], 16))
    return ports


def _url_host(address: str) -> str:
    host = DEFAULT_HOST if address in ("0.0.0.0", "") else "::1" if address == "::" else address
    return f"[{host}]" if ":" in host else host


def _debugger_url(port: int, address: str) -> str | None:
    """The WebSocket URL that the inspector on `port` lists for its process, or None: no inspector there."""
    try:
        reply = requests.get(f"http://{_url_host(address)}:{port}/json/list", timeout=HTTP_TIMEOUT_S)
        targets = reply.json() if reply.ok else []
    except (requests.RequestException, ValueError):
        return None
    for target in targets if isinstance(targets, list) else []:
        if isinstance(target, dict) and str(target.get("webSocketDebuggerUrl", "")).startswith("ws://"):
            return str(target["webSocketDebuggerUrl"])
    return None


def _find(pid: int, ports: dict[int, str], first: int) -> tuple[int, str, str] | None:
    """(port, address, WebSocket URL) of the inspector among `ports` of `pid` (`first` tried first)."""
    for port in sorted(ports, key=lambda port: (port != first, port)):
        url = _debugger_url(port, ports[port])
        if url is not None:
            return port, ports[port], url
    return None


class DevTools:
    """One Chrome DevTools Protocol session over an inspector's WebSocket: calls, their replies."""

    def __init__(self, url: str):
        # No Origin header: the inspector has no use for one, and a browser's would be refused.
        self.socket = websocket.create_connection(url, timeout=CALL_TIMEOUT_S, suppress_origin=True)
        self._ids = 0

    def call(self, method: str, timeout: float = CALL_TIMEOUT_S, **params: Any) -> dict[str, Any]:
        self._ids += 1
        self.socket.settimeout(timeout)
        self.socket.send(json.dumps({"id": self._ids, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(self.socket.recv())
            if message.get("id") != self._ids:
                continue  # an event (the inspector sends some unasked), or a late reply
            if "error" in message:
                raise InspectorError(f"{method} failed: {message['error'].get('message', message['error'])}")
            return dict(message.get("result") or {})
        raise InspectorError(f"{method} got no reply within {timeout:g} s")

    def send(self, method: str, **params: Any) -> None:
        """A call whose reply is not waited for (one that ends the session)."""
        self._ids += 1
        self.socket.send(json.dumps({"id": self._ids, "method": method, "params": params}))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.socket.close()


def _signal(pid: int) -> None:
    """SIGUSR1 to `pid` through a pidfd, after checking it is Node and catches the signal."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError as error:
        raise InspectorError(f"pid {pid} is gone (no such process)") from error
    try:
        # Checked after the pidfd is held: the process these checks read is the one signalled, or
        # (if it ended meanwhile and its pid was reused) the signal fails rather than reach another.
        if not is_node(pid):
            raise InspectorError(f"pid {pid} is no longer a Node process")
        if not _catches_sigusr1(pid):
            raise InspectorError(
                f"pid {pid} does not catch SIGUSR1 (started with --disable-sigusr1, or a Node without the "
                "inspector), so the signal would end it: not profiled"
            )
        signal.pidfd_send_signal(handle, signal.SIGUSR1)
    except ProcessLookupError as error:
        raise InspectorError(f"pid {pid} ended before its inspector was opened") from error
    except PermissionError as error:
        raise InspectorError(f"may not signal pid {pid} (run as its user, or root)") from error
    finally:
        os.close(handle)


def open_inspector(pid: int) -> tuple[int, str, str, bool]:
    """(port, address, WebSocket URL, opened here) of the inspector of `pid`, opening it if need be."""
    host, port = configured_address(pid)
    if not loopback(host):
        raise InspectorError(
            f"the inspector of pid {pid} would listen on {host}:{port}, beyond loopback (its --inspect-port): "
            f"not opened (give it --inspect-port=127.0.0.1:{port})"
        )
    before = listening(pid)
    if port in before:  # already open (started with --inspect, or an earlier signal left it open)
        found = _find(pid, {port: before[port]}, port)
        if found is not None:
            return (*found, False)
    taken = port in _listened_ports()
    _signal(pid)
    deadline = time.monotonic() + OPEN_WAIT_S
    while time.monotonic() < deadline:
        new = {p: address for p, address in listening(pid).items() if p not in before}
        if new:
            found = _find(pid, new, port)
            if found is not None:
                return (*found, True)
        time.sleep(0.1)
    found = _find(pid, {p: a for p, a in listening(pid).items() if loopback(a)}, port)  # --inspect=0 at start
    if found is not None:
        return (*found, False)
    why = (
        f"port {port} is taken by another process"
        if taken and port not in before
        else "a SIGUSR1 handler of its own, or a busy event loop?"
    )
    raise InspectorError(f"the inspector of pid {pid} did not open within {OPEN_WAIT_S:g} s of SIGUSR1 ({why})")


def _close(session: DevTools, pid: int, port: int) -> bool:
    """Closes this session, then the inspector of `pid`; True once its port is gone and `pid` lives on."""
    with contextlib.suppress(Exception):
        session.call("Runtime.evaluate", expression=f"setTimeout(() => process._debugEnd(), {DEBUG_END_DELAY_MS}), 0")
    session.close()
    deadline = time.monotonic() + CLOSE_WAIT_S + DEBUG_END_DELAY_MS / 1000
    while time.monotonic() < deadline:
        with contextlib.suppress(InspectorError):
            if port not in listening(pid):
                return True
        if not command_line(pid):
            return False  # its port is gone with it
        time.sleep(0.1)
    return False


def _profile(
    session: DevTools, pid: int, address: str, where: str, seconds: float, rate: int, cpuprofile: Path,
    on_start: Callable[[Callable[[], None]], None],
) -> str:  # fmt: skip
    """The recording itself, on an open session; returns the problem, or ''."""
    if not loopback(address):
        return f"the inspector of pid {pid} listens on {where}, beyond loopback: not used"
    answer = session.call("Runtime.evaluate", expression="process.pid", returnByValue=True)
    owner = answer.get("result", {}).get("value")
    if owner != pid:
        return f"the inspector found belongs to pid {owner}, not {pid}: not profiled"
    session.call("Profiler.enable")
    session.call("Profiler.setSamplingInterval", interval=max(100, round(1_000_000 / rate)))  # microseconds
    session.call("Profiler.start")
    done = threading.Event()
    on_start(done.set)
    done.wait(seconds)
    profile = session.call("Profiler.stop", timeout=STOP_TIMEOUT_S).get("profile")
    if not isinstance(profile, dict):
        return "Profiler.stop returned no profile"
    cpuprofile.write_text(json.dumps(profile))
    with contextlib.suppress(InspectorError, websocket.WebSocketException, OSError):
        session.call("Profiler.disable")
    return ""


def record_node(
    pid: int, seconds: float, rate: int, cpuprofile: Path, on_start: Callable[[Callable[[], None]], None]
) -> NodeRecording:
    """Records the CPU profile of Node process `pid` for `seconds` at `rate` samples a second into
    `cpuprofile`. `on_start` gets a function that ends the recording early (the profile so far is kept)."""
    try:
        port, address, url, opened = open_inspector(pid)
    except InspectorError as error:
        return NodeRecording(str(error))
    where = f"{address}:{port}"
    session: DevTools | None = None
    closed = False
    try:
        session = DevTools(url)
        problem = _profile(session, pid, address, where, seconds, rate, cpuprofile, on_start)
    except (InspectorError, websocket.WebSocketException, OSError, ValueError) as error:
        gone = "" if command_line(pid) else f" (pid {pid} ended)"
        problem = f"the inspector on {where} failed{gone}: {type(error).__name__}: {error}"
    finally:
        if session is not None:
            closed = opened and _close(session, pid, port)
            session.close()
    if not command_line(pid):
        problem = problem or f"pid {pid} ended during the recording"
    if not opened:
        how = "open already, left open"
    else:
        how = "opened by SIGUSR1 and " + ("closed after" if closed else "left open (it could not be closed)")
    return NodeRecording(problem, f"{where}, {how}")
