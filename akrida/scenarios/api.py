"""What a scenario file of your own may use (docs/scenarios.md, "Writing a scenario").

    from akrida.scenarios.api import HolderUser, setting, duration

    class MyHolder(HolderUser):
        def prepare(self): ...     # after every (re)start of the holder: connect to the issuer, ...
        def iteration(self): ...   # what the holder repeats

Everything else in Akrida may change between versions; what this module exports is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

# Locust patches the standard library for gevent when imported; before anything imports ssl, or a
# scenario file imported outside Locust (its own unit tests, say) dies in a RecursionError.
import locust  # noqa: F401

from akrida.agent import HolderClient
from akrida.parsers import InvalidValue, integer, number, parse_bool, parse_duration, parse_text
from akrida.scenarios.attribution import TargetFailure
from akrida.scenarios.base import HolderUser
from akrida.scenarios.credential_content import credential, presentation_definition
from akrida.scenarios.custom import OwnSetting, declare
from akrida.scenarios.steps import ADMIN, DIDCOMM, StepFailed, step

T = TypeVar("T")

# Parsers for settings of one's own: each takes the text and returns the value, or raises InvalidValue.
duration = parse_duration  # "90", "90s", "5m", "1h30m" -> seconds (int)
boolean = parse_bool  # true/false, yes/no, 1/0, on/off
text = parse_text


def setting(name: str, parse: Callable[[str], T], help: str, default: str, secret: bool = False) -> OwnSetting[T]:
    """Declares a setting of the scenario's own, at the top of the file.

    It is read as Akrida's settings are (a variable, a line of .env, a Locust option `--name-in-lower-case`),
    checked before any holder starts, shown in the manifest (masked when `secret`) and sent to every
    worker of a distributed run. Read it in the user class with `SETTING.value(self.environment)`.
    """
    return declare(name, parse, help, default, secret, depth=2)


__all__ = [
    "ADMIN",
    "DIDCOMM",
    "HolderClient",
    "HolderUser",
    "InvalidValue",
    "OwnSetting",
    "StepFailed",
    "TargetFailure",
    "boolean",
    "credential",
    "duration",
    "integer",
    "number",
    "presentation_definition",
    "setting",
    "step",
    "text",
]
