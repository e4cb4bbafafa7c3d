"""Aiming a run's settings at the embedded target: one place for `akrida run`, `check` and `target bootstrap`.

With no MEDIATION_URL or ISSUER_URL set, Akrida's commands use the embedded target: its URLs, its admin
key, its ledger and credential definition, except where the user set one explicitly.
"""

from __future__ import annotations

from collections.abc import Callable

from akrida.local.stack import LocalTarget, TargetInfo
from akrida.settings import Settings


def aimed_at_running_target(settings: Settings, note: Callable[[str], None]) -> Settings | None:
    """The settings aimed at the embedded target already running (`akrida local up`, or a run's), each
    setting that this leaves unused told to `note` by name; None when no embedded target runs."""
    info = LocalTarget.current()
    if info is None:
        return None
    for line in ignored_local_settings(settings, info):
        note(line)
    return pointed_at(settings, info)


def ignored_local_settings(settings: Settings, info: TargetInfo) -> list[str]:
    """LOCAL_HOST and LOCAL_BASE_PORT say where the embedded target is started: a target already up
    stays where it is, and a user who set them otherwise is told so, by name."""
    lines = []
    if settings.local_host != info.host:
        lines.append(f"LOCAL_HOST={settings.local_host} is not used: the embedded target already runs on {info.host}")
    if settings.local_base_port != info.base_port:
        lines.append(
            f"LOCAL_BASE_PORT={settings.local_base_port} is not used: the embedded target already runs from port "
            f"{info.base_port}"
        )
    if lines:
        lines.append("`akrida local down` first to start it where they say")
    return lines


def pointed_at(settings: Settings, info: TargetInfo) -> Settings:
    """The settings aimed at the embedded target; what the user set explicitly (CRED_DEF_ID …) wins."""
    environment = settings.as_environment()
    for name, value in info.as_environment().items():
        if name == "LEDGER_GENESIS_FILE" and environment.get("LEDGER_NETWORK"):
            continue  # the user named the ledger
        if name in ("MEDIATION_URL", "ISSUER_URL", "ISSUER_API_KEY") or not environment.get(name):
            environment[name] = value
    return Settings.from_mapping(environment)
