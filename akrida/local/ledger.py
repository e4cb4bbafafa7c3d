"""A local 4-node Indy ledger on loopback, for AnonCreds issuers (`akrida local up --ledger`).

indy-node 1.13 runs on Python 3.8 only, with shims (scripts/install-indy-pool.sh). The pool lives in
.akrida/indy: configuration, keys, genesis files and ledgers. Its nodes listen on 127.0.0.1:9701-9708.
While it runs, RocksDB may preallocate several GB of disk.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from akrida import paths
from akrida.local.errors import LocalTargetError
from akrida.local.processes import child_environment, process_alive, running_with, terminate
from akrida.sockets import listening

INDY_HOME = paths.STATE_DIR / "indy"
NODES = 4
FIRST_PORT = 9701  # node N listens on 9699+2N (node to node) and 9700+2N (clients)
NETWORK = "sandbox"
# The first trustee of a pool made by generate_indy_pool_transactions; it may write schemas and
# credential definitions. A well-known test seed: this ledger is for load tests on loopback only.
TRUSTEE_SEED = "000000000000000000000000Trustee1"
# Copied next to the pool: run from this package's folder, its sibling modules (ledger.py) would
# shadow indy-plenum's own top-level packages of the same names.
WRAPPER_SOURCE = Path(__file__).with_name("indy_wrapper.py")
CONFIG = """\
# Written by akrida: a local {nodes}-node Indy pool, all state under {home}/var
NETWORK_NAME = '{network}'
LEDGER_DIR = '{home}/var/lib'
LOG_DIR = '{home}/var/log'
KEYS_DIR = '{home}/var/lib'
GENESIS_DIR = '{home}/var/lib'
BACKUP_DIR = '{home}/var/backup'
PLUGINS_DIR = '{home}/var/plugins'
NODE_INFO_DIR = '{home}/var/node_info'
CLI_BASE_DIR = '{home}/var/cli'
CLI_NETWORK_DIR = '{home}/var/cli/networks'
logLevel = 20
"""

NODE_RESTART_AFTER = 45.0  # seconds; a node normally listens within 10 s


class IndyPool:
    def __init__(self, home: Path = INDY_HOME, host: str = "127.0.0.1"):
        self.home = home
        self.host = host
        self.python = home / "venv" / "bin" / "python"
        self.wrapper = home / "indy_wrapper.py"

    @property
    def genesis_file(self) -> Path:
        return self.home / "var" / "lib" / NETWORK / "pool_transactions_genesis"

    def client_ports(self) -> list[int]:
        return [FIRST_PORT + 2 * index + 1 for index in range(NODES)]

    def check_installed(self) -> None:
        if not (self.home / ".installed").is_file() or not self.python.is_file():
            raise LocalTargetError(
                f"the local Indy ledger is not installed ({self.home}): run `scripts/install-indy-pool.sh {self.home}` "
                "(it needs Python 3.8, which indy-node 1.13 requires)"
            )

    def start(self, log_dir: Path, timeout: float = 150.0) -> list[int]:
        """Creates the pool on first use, starts its nodes and waits until they accept clients."""
        self.check_installed()
        self.stop_strays()
        busy = [port for port in range(FIRST_PORT, FIRST_PORT + 2 * NODES) if listening(self.host, port)]
        if busy:
            raise LocalTargetError(
                f"ports {busy} are in use, but the local Indy ledger needs {FIRST_PORT}-{FIRST_PORT + 2 * NODES - 1}"
            )
        shutil.copyfile(WRAPPER_SOURCE, self.wrapper)
        if not self.genesis_file.is_file():
            self._generate()
        for folder in ("node_info", "log", "backup", "plugins"):  # the nodes expect these per network
            (self.home / "var" / folder / NETWORK).mkdir(parents=True, exist_ok=True)
        log_dir.mkdir(parents=True, exist_ok=True)
        pids = [self._spawn(number, log_dir) for number in range(1, NODES + 1)]
        try:
            self._wait_listening(pids, log_dir, timeout)
        except LocalTargetError:
            for pid in pids:  # no half-started pool is left behind
                terminate(pid, b"indy_wrapper.py", grace=5)
            raise
        return pids

    def _spawn(self, number: int, log_dir: Path) -> int:
        node_port, client_port = FIRST_PORT + 2 * (number - 1), FIRST_PORT + 2 * (number - 1) + 1
        with open(log_dir / f"indy-node{number}.log", "ab") as log:
            process = subprocess.Popen(
                [str(self.python), str(self.wrapper), "start_indy_node", f"Node{number}",
                 self.host, str(node_port), self.host, str(client_port)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=self._environment(), cwd=str(self.home), start_new_session=True,
            )  # fmt: skip
        return process.pid

    def stop_strays(self) -> int:
        """Stops nodes of this pool left by a crashed run: only one pool per folder can run (RocksDB
        locks its ledgers), so any such node is a leftover. Returns how many were stopped."""
        wrapper = str(self.wrapper).encode()
        strays = running_with(wrapper)
        for pid in strays:
            terminate(pid, wrapper, grace=10)
        return len(strays)

    def _wait_listening(self, pids: list[int], log_dir: Path, timeout: float) -> None:
        """Waits for every node's client port. A node that does not listen after NODE_RESTART_AFTER is
        restarted once, in place in `pids`: a node has been seen to hang for good right after loading
        its ledgers, while a fresh start of the same node comes up in seconds."""
        started = time.monotonic()
        deadline = started + timeout
        restarted: set[int] = set()
        while True:
            waiting = [i for i, port in enumerate(self.client_ports()) if not listening(self.host, port)]
            if not waiting:
                return
            if time.monotonic() - started > NODE_RESTART_AFTER:
                for index in set(waiting) - restarted:
                    restarted.add(index)
                    terminate(pids[index], b"indy_wrapper.py", grace=5)
                    pids[index] = self._spawn(index + 1, log_dir)
            if time.monotonic() > deadline:
                raise LocalTargetError(
                    f"the Indy nodes did not listen within {timeout:g}s; see {log_dir}/indy-node*.log"
                )
            if any(_exited(pid) for pid in pids):
                raise LocalTargetError(f"an Indy node exited during start-up; see {log_dir}/indy-node*.log")
            time.sleep(0.5)

    def _generate(self) -> None:
        for folder in ("etc", "var/lib", "var/log", "var/backup", "var/plugins", "var/node_info", "var/cli"):
            (self.home / folder).mkdir(parents=True, exist_ok=True)
        (self.home / "etc" / "indy_config.py").write_text(CONFIG.format(home=self.home, network=NETWORK, nodes=NODES))
        result = subprocess.run(
            [str(self.python), str(self.wrapper), "generate_indy_pool_transactions", "--nodes", str(NODES),
             "--clients", "1", "--nodeNum", *map(str, range(1, NODES + 1)),
             "--ips", ",".join([self.host] * NODES), "--network", NETWORK],
            capture_output=True, text=True, env=self._environment(), cwd=str(self.home), timeout=300,
        )  # fmt: skip
        if result.returncode != 0 or not self.genesis_file.is_file():
            raise LocalTargetError(f"generating the Indy pool failed: {(result.stderr or result.stdout)[-2000:]}")

    def reset(self) -> None:
        """Forgets the pool's ledgers (the next start makes a new pool); keeps the installation."""
        for folder in ("etc", "var"):
            shutil.rmtree(self.home / folder, ignore_errors=True)

    def _environment(self) -> dict[str, str]:
        return child_environment(AKRIDA_INDY_HOME=str(self.home), HOME=str(self.home))


def _exited(pid: int) -> bool:
    try:
        finished, _status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return not process_alive(pid)
    return finished == pid
