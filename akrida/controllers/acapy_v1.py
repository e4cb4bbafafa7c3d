"""ACA-Py's admin API with the 1.0 protocols: issue-credential 1.0 and present-proof 1.0 (ISSUER_TYPE=acapy).

Deployments that still speak Aries Interop Profile 1.0 issue and verify over these. ACA-Py dropped
them in 1.1; aries-cloudagent up to 1.0.x has them. The 1.0 protocols carry AnonCreds only, so the
JSON-LD methods refuse with a message that names the setting to change.
"""

from __future__ import annotations

from typing import Any

from akrida.controllers.acapy import AcapyAdmin
from akrida.controllers.base import ControllerError, TargetUnreachable


class AcapyAdminV1(AcapyAdmin):
    """AcapyAdmin whose credential and proof calls use the /issue-credential and /present-proof endpoints."""

    PRESENTATION_RECORDS = "/present-proof/records"
    # present-proof 1.0 ends in "verified" (ACA-Py records the verdict there too) or "abandoned".
    PRESENTATION_FINAL_STATES = ("verified", "presentation_acked", "abandoned", "deleted")

    def check_protocols(self) -> None:
        try:
            self.request("GET", "/issue-credential/records", params={"state": "credential_acked"}, timeout=10)
            self.request("GET", "/present-proof/records", params={"state": "verified"}, timeout=10)
        except TargetUnreachable:
            raise
        except ControllerError as error:
            raise ControllerError(
                f"ISSUER_TYPE=acapy needs the issue-credential 1.0 and present-proof 1.0 endpoints, which the agent "
                f"at {self.base_url} lacks ({error}); ACA-Py 1.1 and later dropped them: set ISSUER_TYPE=acapy_v2"
            ) from None

    def offer_indy_credential(self, connection_id: str, cred_def_id: str, attributes: dict[str, str]) -> str:
        body = {
            "connection_id": connection_id,
            "cred_def_id": cred_def_id,
            "auto_remove": False,
            "credential_preview": {
                "@type": "issue-credential/1.0/credential-preview",
                "attributes": [{"name": name, "value": value} for name, value in attributes.items()],
            },
        }
        return self.request("POST", "/issue-credential/send-offer", json=body)["credential_exchange_id"]

    def request_indy_presentation(self, connection_id: str, proof_request: dict[str, Any]) -> str:
        body = {"connection_id": connection_id, "proof_request": proof_request, "auto_verify": True,
                "auto_remove": False}  # fmt: skip
        return self.request("POST", "/present-proof/send-request", json=body)["presentation_exchange_id"]

    def offer_ld_credential(self, connection_id: str, credential: dict[str, Any]) -> str:
        raise ControllerError(_LD_REFUSAL)

    def request_ld_presentation(self, connection_id: str, definition: dict[str, Any], challenge: str) -> str:
        raise ControllerError(_LD_REFUSAL)


_LD_REFUSAL = (
    "issue-credential 1.0 and present-proof 1.0 (ISSUER_TYPE=acapy) carry AnonCreds only: "
    "set CREDENTIAL_FORMAT=indy, or ISSUER_TYPE=acapy_v2 for JSON-LD"
)
