"""Silencing one holder's connection to the mediator with the kernel's packet filter (nftables).

A phone that loses its network does not close its socket: it just goes quiet, and the mediator finds
out only when its own heartbeat or TCP gives up. Messages it forwards meanwhile are written into a
socket nobody reads. To play that, every packet of the holder's one TCP connection (its exact
address and port pair, both directions) is dropped; the socket stays open on both sides.

Each Locust process keeps its own nftables table, `akrida_silence_<pid>`, holding one set of silenced
connections. Each entry expires by itself (nftables' element timeouts), so a killed process leaves
no connection silenced for long; the table itself is deleted when the process ends (`close()`, and
`remove_stale_tables()` for tables of processes that died). Needs root or CAP_NET_ADMIN, and `nft`.
"""

from __future__ import annotations

import atexit
import contextlib
import ipaddress
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from akrida.agent.messages import SocketAddress

TABLE_PREFIX = "akrida_silence_"
SET = "silenced"
NFT_TIMEOUT_S = 10.0


class SilenceUnavailable(RuntimeError):
    """The packet filter cannot be used here (no nft, no privilege): says what to do."""


@dataclass(frozen=True)
class Connection:
    """One TCP connection, as the holder sees it: its own address and port, the mediator's."""

    local_address: str
    local_port: int
    remote_address: str
    remote_port: int

    @classmethod
    def of(cls, socket: SocketAddress) -> Connection:
        return cls(_ipv4(socket.local_address), socket.local_port, _ipv4(socket.remote_address), socket.remote_port)

    def element(self) -> str:
        """The nftables set element: holder address . port . mediator address . port."""
        return f"{self.local_address} . {self.local_port} . {self.remote_address} . {self.remote_port}"

    @property
    def loopback(self) -> bool:
        return (
            ipaddress.ip_address(self.local_address).is_loopback
            and ipaddress.ip_address(self.remote_address).is_loopback
        )


def _ipv4(address: str) -> str:
    """An IPv4 address, also from its IPv6-mapped form (::ffff:127.0.0.1), which Node reports on dual stacks."""
    parsed = ipaddress.ip_address(address)
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    if not isinstance(parsed, ipaddress.IPv4Address):
        raise SilenceUnavailable(
            f"silencing an IPv6 connection ({address}) is not supported: reach the mediator over IPv4"
        )
    return str(parsed)


def table_name(pid: int | None = None) -> str:
    return f"{TABLE_PREFIX}{os.getpid() if pid is None else pid}"


def _ruleset(table: str) -> str:
    # Both directions of each silenced connection, in both hooks: on loopback a packet passes output
    # and then input; between hosts the holder's own packets pass output and the mediator's input.
    # The counters show what was dropped (`nft list table inet akrida_silence_<pid>` on the load host).
    match_out = f"ip saddr . tcp sport . ip daddr . tcp dport @{SET} counter drop"
    match_in = f"ip daddr . tcp dport . ip saddr . tcp sport @{SET} counter drop"
    return f"""table inet {table} {{
    set {SET} {{
        type ipv4_addr . inet_service . ipv4_addr . inet_service
        flags timeout
    }}
    chain output {{
        type filter hook output priority 0; policy accept;
        {match_out}
        {match_in}
    }}
    chain input {{
        type filter hook input priority 0; policy accept;
        {match_out}
        {match_in}
    }}
}}
"""


def _nft(*arguments: str, script: str | None = None) -> str:
    command = ["nft", *arguments] if script is None else ["nft", "-f", "-"]
    try:
        done = subprocess.run(command, input=script, capture_output=True, text=True, timeout=NFT_TIMEOUT_S)
    except FileNotFoundError:
        raise SilenceUnavailable(
            "CHURN_DISCONNECT=silent drops packets with nftables, and `nft` is not installed: "
            "install nftables (apt-get install nftables) on every load host, or use CHURN_DISCONNECT=close"
        ) from None
    except subprocess.TimeoutExpired:
        raise SilenceUnavailable(f"`nft {' '.join(arguments)}` did not answer in {NFT_TIMEOUT_S:g}s") from None
    if done.returncode != 0:
        # nft's first line says what went wrong; the next ones point at the offending words.
        problem = done.stderr.strip().splitlines()[0] if done.stderr.strip() else f"exit {done.returncode}"
        if "Operation not permitted" in done.stderr:
            raise SilenceUnavailable(
                "CHURN_DISCONNECT=silent needs root (or CAP_NET_ADMIN) on the load host to drop packets: "
                f"run the load as root, or use CHURN_DISCONNECT=close ({problem})"
            )
        raise SilenceUnavailable(f"nft {' '.join(arguments) or '-f -'} failed: {problem}")
    return done.stdout


def silence_tables() -> list[str]:
    """The silence tables of every process on this host (names only)."""
    if shutil.which("nft") is None:
        return []
    listed = _nft("list", "tables", "inet")
    return re.findall(rf"^table inet ({TABLE_PREFIX}\d+)$", listed, flags=re.MULTILINE)


def remove_stale_tables() -> list[str]:
    """Deletes the silence tables of processes that no longer run (killed before they could). Returns them."""
    stale = []
    for table in silence_tables():
        pid = int(table.removeprefix(TABLE_PREFIX))
        if pid != os.getpid() and not _alive(pid):
            delete_table(table)
            stale.append(table)
    return stale


def delete_table(table: str) -> None:
    with contextlib.suppress(SilenceUnavailable):  # already gone: nothing left to clean
        _nft("delete", "table", "inet", table)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def probe() -> str:
    """Checks that this host can silence connections (nft present, privilege to change the ruleset);
    raises SilenceUnavailable saying what to do. Leaves nothing behind."""
    silencer = Silencer()
    try:
        silencer.check()
    finally:
        silencer.close()
    return "the packet filter (nftables) can silence holders' connections here (CHURN_DISCONNECT=silent)"


class Silencer:
    """This process's silenced connections. Made lazily: a run without silence never touches nftables."""

    def __init__(self) -> None:
        self.table = table_name()
        self.ready = False

    def check(self) -> None:
        """Makes the table now, so that a host that cannot silence says so before any holder starts."""
        self._ensure_table()

    def _ensure_table(self) -> None:
        if self.ready:
            return
        remove_stale_tables()
        delete_table(self.table)  # a table of a former process with this pid
        _nft(script=_ruleset(self.table))
        self.ready = True
        atexit.register(self.close)  # besides the run's own end: a process that exits early cleans up too

    def silence(self, connection: Connection, seconds: float) -> None:
        """Drops every packet of `connection` from now, for at most `seconds` (then it expires by itself)."""
        self._ensure_table()
        timeout = max(1, int(seconds + 0.999))
        _nft("add", "element", "inet", self.table, SET, f"{{ {connection.element()} timeout {timeout}s }}")

    def restore(self, connection: Connection) -> None:
        """Lets `connection`'s packets through again (nothing happens when it expired already)."""
        if not self.ready:
            return
        try:
            _nft("delete", "element", "inet", self.table, SET, f"{{ {connection.element()} }}")
        except SilenceUnavailable as error:
            if "No such file or directory" not in str(error):
                raise

    def silenced(self) -> list[str]:
        """The connections silenced now, as nftables lists them (for tests and troubleshooting)."""
        if not self.ready:
            return []
        listed = _nft("list", "set", "inet", self.table, SET)
        return re.findall(r"(\d+\.\d+\.\d+\.\d+ \. \d+ \. \d+\.\d+\.\d+\.\d+ \. \d+)", listed)

    def close(self) -> None:
        """Deletes the table: every connection of this process speaks again."""
        if self.ready:
            delete_table(self.table)
            self.ready = False
