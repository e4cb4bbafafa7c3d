"""The embedded target: an ACA-Py mediator and issuer on loopback, their wallets in PostgreSQL.

`up()` starts it and records what it started in .akrida/local/state.json, so that `down()` can stop
it from another process (`akrida local up` in one shell, `akrida local down` later).
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import requests

from akrida import owner, paths
from akrida.controllers import AcapyAdmin
from akrida.local import acapy
from akrida.local.errors import LocalTargetError
from akrida.local.ledger import NODES, IndyPool
from akrida.local.postgres import LocalPostgres
from akrida.local.processes import child_environment, runs, terminate
from akrida.private import write_private
from akrida.sockets import bindable, listening

DATABASE_HOST = "127.0.0.1"

STATE_FILE = paths.LOCAL_STATE_DIR / "state.json"
LEDGER_MARKER = b"indy_wrapper.py"
TAILS_MARKER = b"akrida.local.tails"

# Offsets from LOCAL_BASE_PORT. Ten ports are reserved; the rest are for the verifier and ledger.
MEDIATOR_HTTP, MEDIATOR_WS, MEDIATOR_ADMIN, ISSUER_HTTP, ISSUER_ADMIN, POSTGRES, TAILS = range(7)
PORT_SPAN = 10


@dataclass
class TargetInfo:
    """What a run needs to know about a running embedded target."""

    mediation_url: str
    issuer_admin_url: str
    mediator_admin_url: str
    admin_api_key: str = field(repr=False)
    host: str = "127.0.0.1"
    base_port: int = 8100
    pids: dict[str, int] = field(default_factory=dict)
    log_dir: str = ""
    started_at: float = 0.0
    genesis_file: str = ""  # set when the issuer writes to the local Indy ledger
    ledger_pids: list[int] = field(default_factory=list)
    cred_def_id: str = ""  # bootstrapped on the local ledger
    revocable_cred_def_id: str = ""
    tails_pid: int = 0
    # Each ACA-Py's wallet key, so that one can be restarted on its own wallet (restart_mediator).
    wallet_keys: dict[str, str] = field(default_factory=dict, repr=False)
    # Whose target it is: empty for `akrida local up` (the user's, kept between runs); a run's own
    # records that run's process and folder (akrida.owner), so that a target left behind by a run that
    # was killed outright is recognised as such, stopped, and never adopted as the user's.
    owner: dict[str, Any] = field(default_factory=dict)

    def as_environment(self) -> dict[str, str]:
        """Settings that point a run at this target."""
        environment = {
            "MEDIATION_URL": self.mediation_url,
            "ISSUER_URL": self.issuer_admin_url,
            "ISSUER_API_KEY": self.admin_api_key,
        }
        if self.genesis_file:
            environment.update(
                LEDGER_GENESIS_FILE=self.genesis_file,
                CRED_DEF_ID=self.cred_def_id,
                REVOCABLE_CRED_DEF_ID=self.revocable_cred_def_id,
            )
        return environment


class LocalTarget:
    def __init__(
        self, host: str = "127.0.0.1", base_port: int = 8100, ledger: bool = False, owner: dict[str, Any] | None = None
    ):
        self.host = host
        self.base_port = base_port
        self.ledger = ledger
        self.owner = owner or {}  # a run's own target: akrida.owner.this_process(run_dir=…)

    def port(self, offset: int) -> int:
        return self.base_port + offset

    # --- up ------------------------------------------------------------------------------------

    def up(self, log_dir: Path, progress=print) -> TargetInfo:
        """Starts PostgreSQL, the mediator and the issuer; returns once all answer."""
        existing = self.current()
        if existing is not None:
            raise LocalTargetError(
                "the embedded target is already running (started "
                f"{time.strftime('%H:%M:%S', time.localtime(existing.started_at))}): "
                "use it as it is, or stop it with `akrida local down`"
            )
        self._check_ports_free()
        paths.LOCAL_STATE_DIR.mkdir(parents=True, exist_ok=True)
        log_dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()

        # The wallets' database serves only the target's own ACA-Py processes: loopback, whatever LOCAL_HOST is.
        progress(f"embedded target: starting PostgreSQL on {DATABASE_HOST}:{self.port(POSTGRES)}")
        postgres = LocalPostgres(DATABASE_HOST, self.port(POSTGRES))
        database = postgres.start()

        ledger_pids: list[int] = []
        launched: list[acapy.RunningAcapy] = []
        try:
            genesis_file = tails_url = None
            if self.ledger:
                ledger_pids, genesis_file, tails_url = self._start_ledger(log_dir, progress)

            admin_api_key = secrets.token_urlsafe(24)
            agents = self._agents(genesis_file, tails_url)
            postgres.drop_databases([agent.wallet_name for agent in agents])
            progress("embedded target: starting ACA-Py " + " and ".join(a.name for a in agents))
            wallet_keys = {agent.name: secrets.token_urlsafe(24) for agent in agents}
            for agent in agents:
                log = log_dir / f"{agent.name}.log"
                launched.append(acapy.launch(agent, admin_api_key, wallet_keys[agent.name], database, log))
            info = TargetInfo(
                mediation_url="",
                issuer_admin_url=agents[1].admin_url,
                mediator_admin_url=agents[0].admin_url,
                admin_api_key=admin_api_key,
                host=self.host,
                base_port=self.base_port,
                pids={running.agent.name: running.pid for running in launched},
                log_dir=str(log_dir),
                started_at=time.time(),
                genesis_file=str(genesis_file or ""),
                ledger_pids=ledger_pids,
                wallet_keys=wallet_keys,
                owner=self.owner,
            )
        except BaseException:
            # Nothing records this start yet, so `down` could not find what it started: stop it here.
            for running in launched:
                acapy.terminate(running.pid)
            for pid in ledger_pids:
                terminate(pid, LEDGER_MARKER)
                terminate(pid, TAILS_MARKER)
            postgres.stop()
            raise
        # Record the pids before waiting, so a failed start can still be cleaned up by `down`.
        self._write_state(info)
        try:
            for running in launched:
                running.wait_ready()
            info.mediation_url = self._mediator_invitation(info)
            self._warm_mediator(info)
            if self.ledger:
                progress("embedded target: writing a schema and a credential definition to the ledger")
                issuer = AcapyAdmin(info.issuer_admin_url, {"x-api-key": admin_api_key}, timeout=300)
                info.cred_def_id = bootstrap_anoncreds(issuer)
                progress("embedded target: writing a revocable credential definition (tails files take a while)")
                info.revocable_cred_def_id = bootstrap_anoncreds(issuer, revocable=True)
        except BaseException:
            self.down(progress=lambda _message: None)
            raise
        self._write_state(info)
        progress(f"embedded target: ready in {time.monotonic() - started:.1f}s")
        return info

    def _start_ledger(self, log_dir: Path, progress) -> tuple[list[int], Path, str]:
        """The local Indy pool and a tails server; returns their pids, the genesis file and the tails URL."""
        pool = IndyPool()
        pool.check_installed()
        progress(f"embedded target: starting the local Indy ledger ({NODES} nodes on {self.host}:9701-9708)")
        pids = pool.start(log_dir)
        partial = TargetInfo("", "", "", "", self.host, self.base_port, {}, str(log_dir), time.time(),
                             str(pool.genesis_file), pids, owner=self.owner)  # fmt: skip
        # Recorded at each step, so that a failed start can still be cleaned up by `down`.
        self._write_state(partial)
        pids.append(_start_tails_server(self.host, self.port(TAILS), log_dir))
        self._write_state(partial)
        return pids, pool.genesis_file, f"http://{self.host}:{self.port(TAILS)}"

    def _agents(self, genesis_file: Path | None, tails_url: str | None) -> list[acapy.AcapyAgent]:
        """The mediator and the issuer; the issuer writes to the ledger when there is one."""
        tails = ("--tails-server-base-url", tails_url, "--tails-server-upload-url", tails_url) if tails_url else ()
        return [
            acapy.AcapyAgent(
                "mediator",
                self.host,
                self.port(MEDIATOR_HTTP),
                self.port(MEDIATOR_ADMIN),
                ws_port=self.port(MEDIATOR_WS),
                extra_args=acapy.MEDIATOR_ARGS,
                pool_size=50,
            ),
            acapy.AcapyAgent(
                "issuer",
                self.host,
                self.port(ISSUER_HTTP),
                self.port(ISSUER_ADMIN),
                extra_args=acapy.ISSUER_ARGS + tails,
                pool_size=30,
                genesis_file=genesis_file,
            ),
        ]

    def _mediator_invitation(self, info: TargetInfo) -> str:
        return mediator_invitation(info, "akrida holders")

    def _warm_mediator(self, info: TargetInfo) -> None:
        """Has the issuer take mediation once, so the mediator's first grant is not made under load.

        A fresh ACA-Py 1.7.0 mediator creates its routing DID at its first grant; grants that race
        for it fail with "Duplicate record: routing_did/routing_did" and those holders never get
        mediation. A fresh production mediator has the same race; the embedded one is warmed here.
        """
        headers = {"x-api-key": info.admin_api_key}

        def admin(method: str, url: str, **kwargs) -> dict:
            response = requests.request(method, url, headers=headers, timeout=30, **kwargs)
            if not response.ok:
                raise LocalTargetError(f"warming the mediator: {method} {url} answered {response.status_code}")
            return response.json()

        invitation = admin(
            "POST", f"{info.mediator_admin_url}/out-of-band/create-invitation",
            json={"handshake_protocols": [acapy.DIDEXCHANGE], "alias": "akrida warm-up"},
        )["invitation"]  # fmt: skip
        connection_id = admin("POST", f"{info.issuer_admin_url}/out-of-band/receive-invitation", json=invitation)[
            "connection_id"
        ]
        deadline = time.monotonic() + 30
        connection_url = f"{info.issuer_admin_url}/connections/{connection_id}"
        while admin("GET", connection_url)["state"] not in ("active", "completed"):
            if time.monotonic() > deadline:
                raise LocalTargetError("warming the mediator: the issuer's connection to it did not complete in 30 s")
            time.sleep(0.2)
        mediation_id = admin("POST", f"{info.issuer_admin_url}/mediation/request/{connection_id}", json={})[
            "mediation_id"
        ]
        while admin("GET", f"{info.issuer_admin_url}/mediation/requests/{mediation_id}")["state"] != "granted":
            if time.monotonic() > deadline:
                raise LocalTargetError("warming the mediator: it did not grant mediation to the issuer in 30 s")
            time.sleep(0.2)

    def _check_ports_free(self) -> None:
        busy = []
        for offset in range(TAILS + 1):
            if not bindable(self.host, self.port(offset)):
                busy.append(self.port(offset))
        if busy:
            raise LocalTargetError(
                f"ports {', '.join(map(str, busy))} on {self.host} are in use, but the embedded target needs "
                f"{self.base_port}-{self.base_port + PORT_SPAN - 1}: set LOCAL_BASE_PORT to a free range"
            )

    # --- restarting the mediator -----------------------------------------------------------------

    def restart_mediator(self, down_for: float = 0.0, progress=print) -> float:
        """Stops the running target's mediator (SIGTERM, as a redeployment does), leaves it down for
        `down_for` seconds, and starts it again on the same ports and wallet, keeping its connections
        and mediation records. Returns the seconds it was away (stopped until ready again)."""
        state = self.current()
        if state is None:
            raise LocalTargetError("the embedded target is not running: nothing to restart")
        if "mediator" not in state.wallet_keys:
            raise LocalTargetError(
                "this target was started before restarts were possible: `akrida local down`, then start it again"
            )
        host = LocalTarget(state.host, state.base_port)
        agent = host._agents(None, None)[0]
        progress(f"embedded target: stopping the mediator (pid {state.pids['mediator']})")
        stopped = time.monotonic()
        acapy.terminate(state.pids["mediator"])
        time.sleep(max(0.0, down_for - (time.monotonic() - stopped)))
        progress("embedded target: starting the mediator again")
        database = LocalPostgres(DATABASE_HOST, host.port(POSTGRES)).credentials()
        log = Path(state.log_dir) / f"{agent.name}.log"
        key = state.wallet_keys["mediator"]
        running = acapy.launch(replace(agent, keep_wallet=True), state.admin_api_key, key, database, log)
        state.pids["mediator"] = running.pid
        self._write_state(state)
        running.wait_ready()
        away = time.monotonic() - stopped
        progress(f"embedded target: the mediator is back after {away:.1f}s")
        return away

    # --- down and status -----------------------------------------------------------------------

    def down(self, progress=print) -> bool:
        """Stops whatever the state file records. Returns False when nothing was running."""
        state = _read_state()
        postgres = LocalPostgres(DATABASE_HOST, state.base_port + POSTGRES if state else 0)
        if state is None and not postgres.running():
            return False
        for name, pid in (state.pids if state else {}).items():
            progress(f"embedded target: stopping {name} (pid {pid})")
            acapy.terminate(pid)
        if state and state.ledger_pids:
            progress("embedded target: stopping the local Indy ledger")
            for pid in state.ledger_pids:
                terminate(pid, LEDGER_MARKER)
                terminate(pid, TAILS_MARKER)
        progress("embedded target: stopping PostgreSQL")
        postgres.stop()
        if state and state.log_dir and Path(state.log_dir).is_dir():
            # PostgreSQL writes its log where its own user can; keep a copy with the run's logs.
            (Path(state.log_dir) / "postgres.log").write_text(postgres.log_tail(2000) + "\n")
        STATE_FILE.unlink(missing_ok=True)
        return True

    @staticmethod
    def current() -> TargetInfo | None:
        """The running target, or None. A state file whose processes died is not a running target."""
        state = _read_state()
        if state is None or not state.mediation_url:
            return None
        if not all(acapy.is_acapy(pid) for pid in state.pids.values()):
            return None
        if not all(runs(pid, LEDGER_MARKER) or runs(pid, TAILS_MARKER) for pid in state.ledger_pids):
            return None
        return state

    @staticmethod
    def orphan() -> TargetInfo | None:
        """What the state file records of a run's own target whose run is gone (killed outright, so it
        never stopped it), running or half-stopped; None when there is none."""
        state = _read_state()
        if state is None or not state.owner or not owner.gone(state.owner):
            return None
        return state

    def stop_orphan(self, progress=print) -> TargetInfo | None:
        """Stops a run's own target that its run left behind, naming both; returns what was stopped."""
        state = self.orphan()
        if state is None:
            return None
        progress(
            f"embedded target: on {state.host}:{state.base_port}, started by {owner.describe(state.owner)}, which "
            "is gone (killed before it could stop it): stopping it"
        )
        self.down(progress=progress)
        return state

    @staticmethod
    def status() -> dict:
        state = _read_state()
        if state is None:
            return {"running": False}
        processes = {name: acapy.is_acapy(pid) for name, pid in state.pids.items()}
        nodes = [pid for pid in state.ledger_pids if runs(pid, LEDGER_MARKER) or not runs(pid, TAILS_MARKER)]
        processes.update({f"indy-node{i}": runs(pid, LEDGER_MARKER) for i, pid in enumerate(nodes, 1)})
        if any(runs(pid, TAILS_MARKER) for pid in state.ledger_pids):
            processes["tails-server"] = True
        return {
            "running": bool(state.mediation_url) and all(processes.values()),
            "processes": {name: ("running" if alive else "stopped") for name, alive in processes.items()},
            "mediation_url": state.mediation_url,
            "issuer_admin_url": state.issuer_admin_url,
            "mediator_admin_url": state.mediator_admin_url,
            "log_dir": state.log_dir,
            "genesis_file": state.genesis_file or None,
            "owner": (
                ("gone: " if owner.gone(state.owner) else "") + owner.describe(state.owner)
                if state.owner
                else "akrida local up"
            ),
        }

    def _write_state(self, info: TargetInfo) -> None:
        STATE_FILE.parent.mkdir(parents=True, exist_ok=True)
        write_private(STATE_FILE, json.dumps(asdict(info), indent=2))  # it holds the admin API key


def _read_state() -> TargetInfo | None:
    try:
        return TargetInfo(**json.loads(STATE_FILE.read_text()))
    except (OSError, ValueError, TypeError):
        return None


# The credential the AnonCreds scenarios issue: one text attribute, and one number for predicates.
ANONCREDS_ATTRIBUTES = ["givenName", "score"]


def bootstrap_anoncreds(issuer: AcapyAdmin, revocable: bool = False) -> str:
    """Writes a fresh schema and credential definition; returns the credential definition id.
    A revocable one needs an issuer with a tails server."""
    schema_id = issuer.create_schema("akrida", time.strftime("%Y.%m%d.%H%M%S"), ANONCREDS_ATTRIBUTES)
    return issuer.create_credential_definition(schema_id, "revocable" if revocable else "akrida", revocable)


def _start_tails_server(host: str, port: int, log_dir: Path) -> int:
    with open(log_dir / "tails.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "akrida.local.tails", "--host", host, "--port", str(port),
             "--directory", str(paths.LOCAL_STATE_DIR / "tails")],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            env=child_environment(),
        )  # fmt: skip
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if listening(host, port):
            return process.pid
        time.sleep(0.1)
    raise LocalTargetError(f"the tails server did not start on {host}:{port}; see {log_dir / 'tails.log'}")


def mediator_invitation(info: TargetInfo, alias: str) -> str:
    """A new multi-use invitation of the embedded mediator, as a URL holders can answer."""
    try:
        response = requests.post(
            f"{info.mediator_admin_url}/out-of-band/create-invitation",
            params={"multi_use": "true"},
            json={"handshake_protocols": [acapy.DIDEXCHANGE], "alias": alias},
            headers={"x-api-key": info.admin_api_key},
            timeout=30,
        )
    except requests.RequestException as error:
        raise LocalTargetError(f"the mediator's admin API did not answer a new invitation: {error}") from None
    if not response.ok:
        raise LocalTargetError(f"the mediator refused to create an invitation: {response.status_code}")
    return response.json()["invitation_url"]


CONNECTIONS_PAGE = 10_000  # ACA-Py's largest page of /connections (its default is 100)


def mediator_connections(info: TargetInfo, most: int = 1_000_000) -> int:
    """How many active connections the embedded mediator holds, counted page by page (bounded)."""
    counted = 0
    while counted < most:
        try:
            response = requests.get(
                f"{info.mediator_admin_url}/connections",
                params={"state": "active", "limit": str(CONNECTIONS_PAGE), "offset": str(counted)},
                headers={"x-api-key": info.admin_api_key},
                timeout=120,
            )
        except requests.RequestException as error:
            raise LocalTargetError(f"the mediator's admin API did not list its connections: {error}") from None
        if not response.ok:
            raise LocalTargetError(f"the mediator refused to list its connections: {response.status_code}")
        page = len(response.json().get("results", []))
        counted += page
        if page < CONNECTIONS_PAGE:
            break
    return counted


def run_invitations(info: TargetInfo, count: int, run_id: str) -> list[str]:
    """`count` fresh multi-use invitations for one run's holders.

    Fresh for every run, so that a run's onboarding does not pay for the holders of the runs before
    it on the same target: ACA-Py reads every connection made through an invitation whenever a new
    holder answers it (docs/density.md, "What bounds onboarding").
    """
    return [mediator_invitation(info, f"akrida {run_id} {number + 1}/{count}") for number in range(count)]


def main() -> None:
    """`python -m akrida.local.stack restart-mediator [SECONDS]`: what a test (or an operator
    rehearsing a redeployment) runs to restart the embedded mediator, down for SECONDS."""
    if len(sys.argv) < 2 or sys.argv[1] != "restart-mediator":
        raise SystemExit("usage: python -m akrida.local.stack restart-mediator [SECONDS]")
    LocalTarget().restart_mediator(down_for=float(sys.argv[2]) if len(sys.argv) > 2 else 0.0)


if __name__ == "__main__":
    main()
