"""A private PostgreSQL cluster on loopback for the embedded target's wallets.

ACA-Py's sqlite wallet times out DID exchanges with ten or more concurrent holders (its askar pool
is tiny), so the embedded target stores its wallets in PostgreSQL, as production deployments do.
The cluster is the project's own: its own data folder, port and password, started and stopped here.
"""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from akrida import paths
from akrida.local.errors import LocalTargetError
from akrida.local.processes import child_environment
from akrida.private import write_private

SUPERUSER = "akrida"


@dataclass(frozen=True)
class PostgresCredentials:
    host: str
    port: int
    user: str
    password: str


def find_server_binaries() -> Path:
    """The bin folder of the newest installed PostgreSQL server (Debian layout, then PATH)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key, reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise LocalTargetError(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found. The embedded target keeps its "
        "wallets in PostgreSQL: install Debian's package with `apt-get install postgresql` "
        "(`make setup` does this when run as root)."
    )


def _version_key(path: str) -> int:
    try:
        return int(Path(path).parent.parent.name)
    except ValueError:
        return 0


class LocalPostgres:
    """Creates (once), starts and stops the cluster. Run as root, it runs as the `postgres` user."""

    def __init__(self, host: str, port: int):
        self.host = host
        self.port = port
        self.bin = find_server_binaries()
        self.as_postgres = os.geteuid() == 0
        self.home = _cluster_home(self.as_postgres)
        self.data_dir = self.home / "data"
        self.log_path = self.home / "postgres.log"
        self.password_file = paths.LOCAL_STATE_DIR / "postgres-password"

    def credentials(self) -> PostgresCredentials:
        return PostgresCredentials(self.host, self.port, SUPERUSER, self.password_file.read_text().strip())

    def start(self) -> PostgresCredentials:
        self._initialise()
        if self.running():
            self.stop()  # it may listen on another port or address than asked now
        options = (
            f"-p {self.port} -c listen_addresses={self.host} -c unix_socket_directories={self.home} "
            "-c max_connections=300 -c shared_buffers=64MB -c fsync=off -c synchronous_commit=off"
        )
        self._pg_ctl("start", "-w", "-t", "60", "-l", str(self.log_path), "-o", options)
        return self.credentials()

    def drop_databases(self, names: list[str]) -> None:
        """Drops wallet databases left by an earlier start, so every start begins with fresh wallets
        (and a new wallet key cannot meet an old wallet it fails to decrypt)."""
        credentials = self.credentials()
        for name in names:
            if not name.replace("_", "").isalnum():
                raise ValueError(f"unexpected database name {name!r}")
            statement = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
            result = subprocess.run(
                [str(self.bin / "psql"), "-h", self.host, "-p", str(self.port), "-U", credentials.user,
                 "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", statement],
                env=child_environment(PGPASSWORD=credentials.password),
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            if result.returncode != 0:
                raise LocalTargetError(f"could not drop the old wallet database {name}: {result.stderr.strip()}")

    def stop(self) -> None:
        if self.running():
            self._pg_ctl("stop", "-m", "fast", "-w", "-t", "60")

    def running(self) -> bool:
        if not (self.data_dir / "PG_VERSION").exists():
            return False
        result = self._run([str(self.bin / "pg_ctl"), "status", "-D", str(self.data_dir)], check=False)
        return result.returncode == 0

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _initialise(self) -> None:
        if (self.data_dir / "PG_VERSION").exists() and self.password_file.exists():
            return
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.password_file.parent.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(24)
        write_private(self.password_file, password + "\n")
        self.home.mkdir(parents=True, exist_ok=True)
        if self.as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.home, user.pw_uid, user.pw_gid)
        pwfile = self.home / ".initdb-password"
        write_private(pwfile, password + "\n")
        if self.as_postgres:
            os.chown(pwfile, pwd.getpwnam("postgres").pw_uid, -1)
        try:
            self._run(
                [
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    "--pwfile",
                    str(pwfile),
                    "--auth-local=scram-sha-256",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--no-instructions",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def _pg_ctl(self, *arguments: str) -> None:
        result = self._run([str(self.bin / "pg_ctl"), *arguments, "-D", str(self.data_dir)], check=False)
        if result.returncode != 0:
            raise LocalTargetError(
                f"pg_ctl {arguments[0]} failed (exit {result.returncode}): {result.stderr.strip()}\n"
                f"PostgreSQL log ({self.log_path}):\n{self.log_tail()}"
            )

    def _run(self, command: list[str], check: bool = True) -> subprocess.CompletedProcess:
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd="/", env=child_environment())
        if check and result.returncode != 0:
            raise LocalTargetError(f"{' '.join(command[:6])} … failed: {result.stderr.strip() or result.stdout}")
        return result


def _cluster_home(as_postgres: bool) -> Path:
    """Where the cluster lives. As root, the `postgres` user must reach it, which a checkout under
    a private home folder may not allow; such a cluster lives under /var/tmp, one per checkout."""
    home = paths.LOCAL_STATE_DIR / "postgres"
    if not as_postgres or _reachable_by_postgres(paths.LOCAL_STATE_DIR):
        return home
    digest = hashlib.sha256(str(paths.LOCAL_STATE_DIR.resolve()).encode()).hexdigest()[:10]
    return Path("/var/tmp") / f"akrida-postgres-{digest}"


def _reachable_by_postgres(folder: Path) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    result = subprocess.run(
        ["runuser", "-u", "postgres", "--", "test", "-x", str(folder)],
        capture_output=True, timeout=30, env=child_environment(),
    )  # fmt: skip
    return result.returncode == 0
