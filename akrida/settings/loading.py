"""Building the settings: Settings reads the variables (the environment over `.env`), parses each one as
it is declared, and checks them against each other before anything starts.

Settings adds only its construction to the declared fields (model.py) and their cross-checks (checks.py):
so the declarations need neither, and the checks read the declarations without a circle.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from akrida.parsers import InvalidValue
from akrida.settings.checks import cross_check
from akrida.settings.declaring import SettingsError
from akrida.settings.envfile import read_env_file
from akrida.settings.model import REDACTED, SETTINGS, DeclaredSettings


@dataclass(frozen=True)
class Settings(DeclaredSettings):
    """The validated configuration (each setting declared once in model.py). Build it with `Settings.load()`."""

    @classmethod
    def load(
        cls, environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env", required: bool = False
    ) -> Settings:
        """Reads `env_file` and then `environ` (default: os.environ), which wins. A missing file is
        no settings, unless `required` (the user named it; `--env-file /dev/null` names none)."""
        raw: dict[str, str] = {}
        if env_file is not None:
            path = Path(env_file)
            if path.exists():  # a file, or /dev/null for none
                raw.update(read_env_file(path))
            elif required:
                raise SettingsError([f"{path}: no such settings file (--env-file): check the path"])
        raw.update(os.environ if environ is None else environ)
        return cls.from_mapping(raw)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, str]) -> Settings:
        values: dict[str, Any] = {}
        problems: list[str] = []
        for declared in SETTINGS:
            text = raw.get(declared.env)
            if text is None or text.strip() == "":
                continue  # unset or empty: the default
            try:
                values[declared.attr] = declared.parse(text)
            except InvalidValue as error:
                shown = REDACTED if declared.secret else repr(text)
                problems.append(f"{declared.env}={shown}: {error}")
        settings = cls(**values)
        problems.extend(cross_check(settings))
        if problems:
            raise SettingsError(problems)
        return settings
