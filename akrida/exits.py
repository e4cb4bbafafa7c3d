"""The exit codes of `akrida`, and the one place where a failure becomes one of them.

The codes are part of the public interface: CI pipelines branch on them (docs/results.md, "Exit codes").
"""

from __future__ import annotations

from enum import IntEnum

from akrida.cluster.errors import ClusterError
from akrida.controllers.base import ControllerError
from akrida.invitation import InvitationError
from akrida.local.errors import LocalTargetError
from akrida.report.errors import BundleError
from akrida.settings import SettingsError


class ExitCode(IntEnum):
    OK = 0
    FAILURES = 1  # requests failed, or the run could not be carried out (a lost host, a crashed Locust)
    BAD_SETTINGS = 2  # nothing started: a setting is wrong, the message names it
    TARGET_UNREACHABLE = 3  # the target did not answer the checks made before load
    GATES_BREACHED = 4  # the run completed and an SLO gate failed
    INTERRUPTED = 130  # Ctrl-C or SIGTERM; the bundle is still written, marked incomplete


# Failures the user can act on, in the order they are matched, with the words that introduce them.
_KNOWN: tuple[tuple[type[BaseException], ExitCode, str], ...] = (
    (SettingsError, ExitCode.BAD_SETTINGS, ""),
    (ControllerError, ExitCode.TARGET_UNREACHABLE, "target check failed: "),
    (InvitationError, ExitCode.TARGET_UNREACHABLE, "target check failed: "),
    (LocalTargetError, ExitCode.TARGET_UNREACHABLE, "embedded target: "),
    (ClusterError, ExitCode.FAILURES, "cluster: "),
    (BundleError, ExitCode.FAILURES, "report: "),
    (KeyboardInterrupt, ExitCode.INTERRUPTED, "interrupted"),
)

SETTINGS_HINT = "See .env.example for every setting and its default."


def for_error(error: BaseException) -> tuple[ExitCode, str] | None:
    """The exit code and the message for a failure the user can act on; None for anything else (a bug)."""
    for kind, code, introduction in _KNOWN:
        if isinstance(error, kind):
            if isinstance(error, KeyboardInterrupt):
                return code, f"akrida: {introduction}"
            message = f"akrida: {introduction}{error}"
            if code is ExitCode.BAD_SETTINGS:
                message += f"\n{SETTINGS_HINT}"
            return code, message
    return None
