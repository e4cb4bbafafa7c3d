"""Reading DIDComm invitation URLs (out-of-band 1.x and legacy connections 1.0)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

# Query parameters that carry a base64url-encoded invitation.
INVITATION_PARAMETERS = ("oob", "c_i", "d_m")


class InvitationError(ValueError):
    """The URL does not carry a readable invitation."""


def decode_invitation(url: str) -> dict[str, Any]:
    """Returns the invitation message encoded in `url`, or raises InvitationError saying why not."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "didcomm") or (not parts.netloc and parts.scheme != "didcomm"):
        raise InvitationError(f"not an http(s) invitation URL: {url!r}")
    query = parse_qs(parts.query)
    parameter = next((name for name in INVITATION_PARAMETERS if name in query), None)
    if parameter is None:
        raise InvitationError(
            f"no invitation in the URL: expected one of the query parameters {', '.join(INVITATION_PARAMETERS)}"
        )
    encoded = query[parameter][0]
    try:
        message = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (binascii.Error, ValueError) as error:
        raise InvitationError(f"the {parameter!r} parameter is not a base64url-encoded JSON invitation") from error
    if not isinstance(message, dict) or not isinstance(message.get("@type"), str):
        raise InvitationError(f"the {parameter!r} parameter decodes to something that is not an invitation")
    _check_shape(message)
    return message


def _check_shape(message: dict[str, Any]) -> None:
    """What a holder needs of an invitation, checked here so that a broken one is a setting to fix,
    not failures blamed on the target later."""
    if not isinstance(message.get("@id"), str) or not message["@id"]:
        raise InvitationError("the invitation has no @id: a holder cannot answer it")
    services = message.get("services", [])
    if not isinstance(services, list):
        raise InvitationError(f"the invitation's services must be a list, not {type(services).__name__}")
    for endpoint in service_endpoints(message):
        try:
            urlsplit(endpoint).port  # noqa: B018 - reading it validates it
        except ValueError:
            raise InvitationError(f"the invitation's service endpoint {endpoint!r} has an invalid port") from None


def service_endpoints(invitation: dict[str, Any]) -> list[str]:
    """The transport endpoints an invitation points at (empty for DID-only services)."""
    endpoints: list[str] = []
    if isinstance(invitation.get("serviceEndpoint"), str):
        endpoints.append(invitation["serviceEndpoint"])
    for service in invitation.get("services", []):
        if isinstance(service, dict) and isinstance(service.get("serviceEndpoint"), str):
            endpoints.append(service["serviceEndpoint"])
    return endpoints
