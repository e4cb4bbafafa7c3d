"""Akrida's settings as Locust arguments.

Registered on Locust's own parser, each setting is read from its variable (MEDIATION_URL …) or its
option (--mediation-url), appears in the web UI (secrets masked), and reaches the workers of a
distributed run with Locust's spawn messages. So `locust -f locustfiles/<scenario>.py` works on its
own, and `akrida run` is one way among others to start Locust.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from locust import events

from akrida.settings import SETTINGS, Setting, Settings, read_env_file

# Settings that Locust has under its own names (-u, -r, -t); no holder reads them.
LOCUST_OWN = frozenset({"USERS", "SPAWN_RATE", "RUN_TIME"})
# Settings of akrida's own commands (the web UI's port, the run folder, the embedded target, the
# cluster): Locust has no use for them.
COMMAND_ONLY = frozenset(
    {"UI", "UI_PORT", "RESULTS_DIR", "LOCAL_HOST", "LOCAL_BASE_PORT", "MEDIATOR_INVITATIONS", "CLOUD", "WORKERS",
     "WORKER_PROCESSES", "LAB_CIDR", "OPERATOR_CIDR", "TARGET_CIDR", "AWS_REGION", "MASTER_INSTANCE_TYPE",
     "WORKER_INSTANCE_TYPE"}
)  # fmt: skip
# Each load host's own value: as Locust arguments, the master's would replace every worker's.
HOST_LOCAL = frozenset({"AGENT_ENDPOINT_HOST", "AGENT_LISTEN_HOST", "LEDGER_GENESIS_FILE"})

ENV_FILE = Path(".env")


def locust_settings() -> list[Setting]:
    """The settings registered as Locust arguments."""
    return [s for s in SETTINGS if s.env not in LOCUST_OWN and s.env not in COMMAND_ONLY and s.env not in HOST_LOCAL]


def option(declared: Setting) -> str:
    return "--" + declared.env.lower().replace("_", "-")


def destination(declared: Setting) -> str:
    return declared.env.lower()


@events.init_command_line_parser.add_listener
def add_settings(parser: argparse.ArgumentParser, **_kwargs) -> None:
    from_file = _env_file()
    base = Settings()
    for declared in locust_settings():
        default = from_file.get(declared.env) or declared.show(getattr(base, declared.attr))
        parser.add_argument(
            option(declared),
            env_var=declared.env,
            default=default,
            help=declared.help,
            is_secret=declared.secret,
        )


def settings_from(options: argparse.Namespace | None) -> Settings:
    """The settings of one Locust process: its arguments, and the host's own variables and .env."""
    if options is None:  # an Environment made without Locust's parser (a library user, a test)
        return Settings.load()
    raw = {**_env_file(), **os.environ}
    for declared in locust_settings():
        value = getattr(options, destination(declared), None)
        if value is not None:
            raw[declared.env] = str(value)
    return Settings.from_mapping(raw)


def env_file_values() -> dict[str, str]:
    """The variables of ./.env, as Locust processes read it (empty when there is none)."""
    return _env_file()


def _env_file() -> dict[str, str]:
    return read_env_file(ENV_FILE) if ENV_FILE.is_file() else {}
