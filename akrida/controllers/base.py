"""The small interface a target controller implements, so another kind of target is one new module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class ControllerError(Exception):
    """The target's admin API failed or refused. A failure of the system under test."""


class TargetUnreachable(ControllerError):
    """The admin API could not be reached at all."""


class ControllerTimeout(ControllerError):
    """The admin API, or the state it was polled for, did not answer in time: a timeout, reported apart
    from other failures so that its wait stays out of the latency of successes."""


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

    def endpoints(self) -> list[str]:
        """The URLs where the agent receives DIDComm, so a run can tell it apart from the mediator."""

    def check_protocols(self) -> None:
        """Raises ControllerError, naming ISSUER_TYPE, unless the agent serves the credential protocols
        this controller speaks."""

    def create_invitation(self, multi_use: bool = False, alias: str | None = None) -> Invitation: ...

    def wait_for_connection(self, invitation_id: str, timeout: float) -> str:
        """Returns the issuer-side connection id once the connection from `invitation_id` is active."""

    def send_message(self, connection_id: str, content: str) -> None: ...

    # Credentials. A controller that cannot do one format raises ControllerError saying so.

    def create_did_key(self) -> str:
        """A signing did:key for JSON-LD credentials."""

    def offer_ld_credential(self, connection_id: str, credential: dict[str, Any]) -> str:
        """Offers a W3C JSON-LD credential; returns the exchange id."""

    def offer_indy_credential(self, connection_id: str, cred_def_id: str, attributes: dict[str, str]) -> str:
        """Offers an AnonCreds credential; returns the exchange id."""

    def revoke(self, credential_exchange_id: str) -> None:
        """Revokes the credential of an exchange and publishes the revocation."""

    def check_credential_definition(self, cred_def_id: str) -> None:
        """Raises ControllerError, naming CRED_DEF_ID, unless the issuer knows it."""

    def create_schema(self, name: str, version: str, attributes: list[str]) -> str: ...

    def create_credential_definition(self, schema_id: str, tag: str, revocable: bool = False) -> str: ...


class VerifierController(Protocol):
    """What scenarios ask of the verifier-side agent (the issuer's agent in the embedded target)."""

    def request_ld_presentation(self, connection_id: str, definition: dict[str, Any], challenge: str) -> str: ...

    def request_indy_presentation(self, connection_id: str, proof_request: dict[str, Any]) -> str: ...

    def wait_for_verification(self, presentation_id: str, timeout: float) -> tuple[str, bool]:
        """Waits, bounded by `timeout`, until the exchange ends; returns (final state, verified)."""
