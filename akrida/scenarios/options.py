"""How a Locust process reads Akrida's settings: the one reader (docs/settings.md, How a setting reaches Locust).

A setting's scope (akrida.settings.Scope) decides everything here. Each LOAD setting is registered on
Locust's own parser, so it is read from its option (--mediation-url) or its variable (MEDIATION_URL),
appears in the web UI (secrets masked), and reaches the workers of a distributed run with Locust's spawn
messages. So `locust -f locustfiles/<scenario>.py` works on its own, and `akrida run` is one way among
others to start Locust (it hands the process its settings with akrida.execute.locust_command.given).

Precedence, lowest first: the declared default, ./.env, the process's variables, the option.
Only LOAD settings have an option; COMMAND settings are never read here (they keep their defaults).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from pathlib import Path

from locust import events

from akrida.settings import SETTINGS, Scope, Setting, Settings, read_env_file

ENV_FILE = Path(".env")
READ_BY_LOCUST = frozenset(declared.env for declared in SETTINGS if declared.scope.reaches_locust)


def option_settings() -> list[Setting]:
    """The settings registered as Locust options: the LOAD ones."""
    return [declared for declared in SETTINGS if declared.scope is Scope.LOAD]


def option(declared: Setting) -> str:
    return "--" + declared.env.lower().replace("_", "-")


def destination(declared: Setting) -> str:
    return declared.env.lower()


@events.init_command_line_parser.add_listener
def add_settings(parser: argparse.ArgumentParser, **_kwargs) -> None:
    from_file = env_file()
    base = Settings()
    for declared in option_settings():
        # Locust's parser reads the option, else the variable, else this default: ./.env's value or the declared one.
        default = from_file.get(declared.env) or declared.show(getattr(base, declared.attr))
        parser.add_argument(
            option(declared),
            env_var=declared.env,
            default=default,
            help=declared.help,
            is_secret=declared.secret,
        )


def variables() -> dict[str, str]:
    """This process's variables over ./.env: what a setting without an option is read from, and every
    setting before Locust has parsed its options (the load shape, the scenario file's class)."""
    return {**env_file(), **os.environ}


def read(options: argparse.Namespace | None, with_options: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The settings' texts in this process: `variables()`, each replaced by its option when it has one.
    `with_options`: (NAME, destination) of the settings registered as options."""
    raw = variables()
    for name, dest in with_options:
        value = getattr(options, dest, None) if options is not None else None
        if value is not None:
            raw[name] = str(value)
    return raw


def settings_from(options: argparse.Namespace | None) -> Settings:
    """The settings of one Locust process. `options` None: an Environment made without Locust's parser
    (a library user, a test), which reads the variables and ./.env alone."""
    raw = read(options, ((declared.env, destination(declared)) for declared in option_settings()))
    # A COMMAND setting in ./.env or the environment is not this process's business: a wrong one must not stop it.
    return Settings.from_mapping({name: raw[name] for name in READ_BY_LOCUST if name in raw})


def env_file() -> dict[str, str]:
    """The variables of ./.env (empty when there is none)."""
    return read_env_file(ENV_FILE) if ENV_FILE.is_file() else {}
