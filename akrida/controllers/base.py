"""The small interface a target controller implements, so another kind of target is one new module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class ControllerError(Exception):
    """The target's admin API failed or refused. A failure of the system under test."""


class TargetUnreachable(ControllerError):
    """The admin API could not be reached at all."""


@dataclass(frozen=True)
class Invitation:
    url: str
    invitation_id: str
    out_of_band_id: str | None = None


class IssuerController(Protocol):
    """What scenarios ask of the issuer-side agent they load."""

    def check_ready(self) -> str:
        """Returns the target's version; raises TargetUnreachable or ControllerError (naming the
        setting to fix) unless the admin API answers ready and accepts our credentials."""

    def is_live(self) -> bool: ...

    def create_invitation(self, multi_use: bool = False, alias: str | None = None) -> Invitation: ...

    def wait_for_connection(self, invitation_id: str, timeout: float) -> str:
        """Returns the issuer-side connection id once the connection from `invitation_id` is active."""

    def send_message(self, connection_id: str, content: str) -> None: ...
