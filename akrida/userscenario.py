"""A run's scenario file of the user's own (SCENARIO=path/to/file.py), as the controller sees it.

Before anything starts, the file is loaded once in a child process (akrida.scenarios.custom check),
which runs the user's code away from this one: a syntax error, an exception while it loads, no
scenario class or two of them, or a setting of its own with a bad value is refused here, naming the
file and line. What it loaded (the file, and the modules it imported from its own folder) is hashed
for the manifest and shipped to every load host of a cluster run.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from akrida import paths
from akrida.catalog import is_scenario_file
from akrida.settings import REDACTED, Settings, SettingsError

CHECK_TIMEOUT_S = 120  # loading imports Locust and the user's code: seconds, on a busy machine


@dataclass(frozen=True)
class UserFile:
    path: Path  # absolute, on this machine
    relative: str  # within the scenario's folder: where it lands on a load host
    sha256: str


@dataclass(frozen=True)
class OwnSettingInfo:
    name: str
    help: str
    default: str
    secret: bool
    declared_at: str


@dataclass(frozen=True)
class UserScenario:
    """A checked scenario file: its class, what it needs of the target, its files and its own settings."""

    path: Path
    class_name: str
    line: int
    needs_mediator: bool
    needs_issuer: bool
    files: tuple[UserFile, ...]
    settings: tuple[OwnSettingInfo, ...] = ()
    values: dict[str, str] = field(default_factory=dict)  # each own setting's value, as text

    def environment(self) -> dict[str, str]:
        """The own settings' values, for the Locust processes' environment (secrets included)."""
        return dict(self.values)

    def secret_values(self) -> list[str]:
        return [self.values[own.name] for own in self.settings if own.secret and self.values.get(own.name)]

    def manifest_entry(self) -> dict[str, object]:
        return {
            "file": str(self.path),
            "class": self.class_name,
            "line": self.line,
            "files": [{"path": str(file.path), "sha256": file.sha256} for file in self.files],
            "settings": {
                own.name: REDACTED if own.secret and self.values.get(own.name) else self.values.get(own.name, "")
                for own in self.settings
            },
        }

    def shipped(self, folder: str) -> list[tuple[str, Path]]:
        """(path on a load host, file here) for each user file, placed under `folder` as they lie
        around the scenario file, so that its imports of modules beside it still work there."""
        return [(f"{folder}/{file.relative}", file.path) for file in self.files]

    def shipped_path(self, folder: str) -> str:
        """Where the scenario file itself lands under `folder`."""
        return f"{folder}/{self.files[0].relative}"


def sha256_of(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def load_user_scenario(settings: Settings, raw: Mapping[str, str] | None = None) -> UserScenario | None:
    """Checks SCENARIO's file, when it names one; raises SettingsError naming each problem.

    `raw`: the variables the run was configured with (the environment over the settings file), where
    the file's own settings are read. None for the catalog's scenarios."""
    if not is_scenario_file(settings.scenario):
        return None
    path = Path(settings.scenario)
    if not path.is_file():
        raise SettingsError([f"SCENARIO={path}: no such file"])
    raw = dict(os.environ if raw is None else raw)
    result = _check_in_child(path, {**raw, **settings.as_environment()})
    if result.get("problems"):
        raise SettingsError(list(result["problems"]))
    folder = path.resolve().parent
    files = []
    for name in result["files"]:
        file = Path(name)
        relative = file.relative_to(folder).as_posix() if file.is_relative_to(folder) else file.name
        files.append(UserFile(file, relative, sha256_of(file)))
    own = tuple(OwnSettingInfo(**entry) for entry in result["settings"])
    values = {entry.name: raw.get(entry.name) or entry.default for entry in own}
    needs = (result["needs_mediator"], result["needs_issuer"])
    scenario = UserScenario(path, result["class"], result["line"], *needs, tuple(files), own, values)
    _check_needs(scenario, settings)
    return scenario


def _check_needs(scenario: UserScenario, settings: Settings) -> None:
    where = f"{scenario.path} line {scenario.line}: {scenario.class_name}"
    problems = []
    if scenario.needs_mediator and not settings.with_mediation:
        problems.append(f"{where} needs the mediator (needs_mediator = True): set WITH_MEDIATION=true")
    if scenario.needs_issuer and not settings.issuer_url and not settings.uses_embedded_target:
        problems.append(f"{where} needs the issuer (needs_issuer = True): set ISSUER_URL to its admin API")
    if problems:
        raise SettingsError(problems)


def _check_in_child(path: Path, environment: dict[str, str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="akrida-scenario-check-") as folder:
        out = Path(folder) / "result.json"
        command = [sys.executable, "-m", "akrida.scenarios.custom", "check", str(path), str(out)]
        try:
            done = subprocess.run(
                command, env=environment, cwd=str(paths.ROOT), capture_output=True, text=True,
                timeout=CHECK_TIMEOUT_S, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise SettingsError(
                [f"SCENARIO={path}: loading it took longer than {CHECK_TIMEOUT_S}s: does it wait for something?"]
            ) from None
        if done.returncode != 0 or not out.is_file():
            tail = (done.stderr or done.stdout).strip()[-1500:]
            raise SettingsError([f"SCENARIO={path}: loading it failed (exit code {done.returncode}):\n{tail}"])
        return json.loads(out.read_text())


EGRESS_OFF = (
    "the egress allowlist (EGRESS_ALLOW) lives inside Akrida's Credo agent, so it is OFF for this agent: "
    "Akrida does not hold it to the mediator's and the issuer's hosts, it connects wherever it (and the "
    "invitations it is given) choose"
)


def user_agent(settings: Settings) -> dict[str, str] | None:
    """AGENT_SCRIPT, checked before anything starts, for the manifest (its SHA-256); None without one."""
    script = settings.agent_script
    if script is None:
        return None
    if not script.is_file():
        raise SettingsError([f"AGENT_SCRIPT={script}: no such file"])
    if script.suffix not in (".js", ".mjs", ".cjs", ".py") and not os.access(script, os.X_OK):
        raise SettingsError(
            [f"AGENT_SCRIPT={script}: not executable, and neither .js (node) nor .py (python): chmod +x it"]
        )
    return {
        "file": str(script.resolve()),
        "sha256": sha256_of(script),
        "protocol": settings.agent_protocol,
        "egress_allowlist": "off: " + EGRESS_OFF,
    }
