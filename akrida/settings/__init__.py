"""One typed configuration, read from the environment and `.env`, validated before anything starts.

Every setting is declared once, as a field of the settings (model.py): its variable name, parser,
meaning, default and scope (Scope: where it applies, and so how it reaches a Locust process).
SETTINGS lists them; `.env.example` and the settings page document the same list, and a test keeps
them in step.
Variables set in the environment win over `.env`.

The package's modules, one job each: declaring.py (how a setting is declared), model.py (every
setting's declaration), checks.py (the checks between settings, which read the declarations),
loading.py (Settings: the declarations read, parsed and checked; it imports both), envfile.py
(reading .env), files.py (files that settings name), sizing.py (the invitation and search-time
formulas), docs.py (the settings table and defaults).
"""

from akrida.settings.declaring import Scope, Setting, SettingsError, setting
from akrida.settings.docs import defaults, table
from akrida.settings.envfile import read_env_file
from akrida.settings.loading import Settings
from akrida.settings.model import (
    DEFAULT_SPAWN_RATE,
    LOCAL_PORT_SPAN,
    REDACTED,
    SCENARIOS,
    SECRET_VARIABLES,
    SETTINGS,
)
from akrida.settings.sizing import HOLDERS_PER_INVITATION, MAX_MEDIATOR_INVITATIONS, auto_invitations

__all__ = [
    "DEFAULT_SPAWN_RATE",
    "HOLDERS_PER_INVITATION",
    "LOCAL_PORT_SPAN",
    "MAX_MEDIATOR_INVITATIONS",
    "REDACTED",
    "SCENARIOS",
    "SECRET_VARIABLES",
    "SETTINGS",
    "Scope",
    "Setting",
    "Settings",
    "SettingsError",
    "auto_invitations",
    "defaults",
    "read_env_file",
    "setting",
    "table",
]
