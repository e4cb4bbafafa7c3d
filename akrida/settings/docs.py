"""The settings as the docs show them: docs/settings.md's table, and .env.example's defaults."""

from __future__ import annotations

from akrida.settings.declaring import Scope
from akrida.settings.model import SETTINGS, DeclaredSettings

# The table's Scope column: where a setting applies, in the words of docs/settings.md, How a setting reaches Locust.
SCOPE_WORDS = {Scope.LOAD: "load", Scope.LOCUST: "Locust's own", Scope.HOST: "host", Scope.COMMAND: "command"}


def table() -> str:
    """Every setting as a Markdown table row (docs/settings.md holds this table; a test compares)."""
    base = DeclaredSettings()
    lines = ["| Setting | Default | Scope | Meaning |", "|---|---|---|---|"]
    for declared in SETTINGS:
        default = declared.show(getattr(base, declared.attr))
        shown = f"`{default}`" if default else "(empty)"
        meaning = declared.help + (" Secret." if declared.secret else "")
        lines.append(f"| `{declared.env}` | {shown} | {SCOPE_WORDS[declared.scope]} | {meaning} |")
    return "\n".join(lines) + "\n"


def defaults() -> dict[str, str]:
    """Every setting's default as it would be written in .env."""
    base = DeclaredSettings()
    return {setting.env: setting.show(getattr(base, setting.attr)) for setting in SETTINGS}
