"""How a setting is declared: one field of Settings that knows its variable, parser and meaning."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field
from enum import Enum
from typing import Any

DECLARED = "akrida.setting"  # the key of a declared field's metadata


class SettingsError(ValueError):
    """One or more settings are wrong. The message names each one, its value and what is expected."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid settings:\n" + "\n".join(f"  - {problem}" for problem in problems))


class Scope(Enum):
    """Where a setting applies, and so how it reaches a Locust process (docs/settings.md, How a setting
    reaches Locust). Every setting names one; nothing else decides its route."""

    LOAD = "load"
    """Read by every Locust process: also a Locust option (`--mediation-url`), shown in the web UI; in a
    distributed run the master's value reaches every worker."""
    LOCUST = "locust"
    """Locust's own -u, -r, -t: akrida passes those options; the load shape reads the variable."""
    HOST = "host"
    """Each load host's own value, read from its variables or ./.env, never an option (as an option the
    master's value would replace every worker's)."""
    COMMAND = "command"
    """Used by akrida's commands alone (the web UI's port, results, embedded target, cluster); a Locust
    process is not given it and does not read it."""

    @property
    def reaches_locust(self) -> bool:
        return self is not Scope.COMMAND


@dataclass(frozen=True)
class Setting:
    """How one environment variable becomes one attribute of Settings."""

    env: str
    parse: Callable[[str], Any]
    help: str
    scope: Scope
    secret: bool = False
    format: Callable[[Any], str] | None = None  # how the value is written back; default format_value
    attr: str = ""  # the attribute of Settings, filled in from the field that declares it

    def show(self, value: Any) -> str:
        return (self.format or format_value)(value)


def setting(
    env: str,
    parse: Callable[[str], Any],
    help: str,
    *,
    scope: Scope,
    default: Any = MISSING,
    default_factory: Any = MISSING,
    secret: bool = False,
    show: Callable[[Any], str] | None = None,
) -> Any:
    """Declares one setting: a field of Settings that knows its variable, parser, meaning and scope."""
    declared = Setting(env, parse, help, scope, secret, show)
    return field(default=default, default_factory=default_factory, repr=not secret, metadata={DECLARED: declared})


def format_value(value: Any) -> str:
    """A setting's value as it is written in .env and shown in tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "-".join(str(part) for part in value)
    if isinstance(value, dict):
        return json.dumps(value) if value else ""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
