"""How a setting is declared: one field of Settings that knows its variable, parser and meaning."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field
from typing import Any

DECLARED = "akrida.setting"  # the key of a declared field's metadata


class SettingsError(ValueError):
    """One or more settings are wrong. The message names each one, its value and what is expected."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid settings:\n" + "\n".join(f"  - {problem}" for problem in problems))


@dataclass(frozen=True)
class Setting:
    """How one environment variable becomes one attribute of Settings."""

    env: str
    parse: Callable[[str], Any]
    help: str
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
    default: Any = MISSING,
    default_factory: Any = MISSING,
    secret: bool = False,
    show: Callable[[Any], str] | None = None,
) -> Any:
    """Declares one setting: a field of Settings that knows its variable, parser and meaning."""
    declared = Setting(env, parse, help, secret, show)
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
