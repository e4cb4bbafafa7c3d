"""A client of ACA-Py's admin API (the endpoints Akrida drives; see ACA-Py's Swagger UI for the rest)."""

from __future__ import annotations

import re
import time
from typing import Any

import requests

from akrida.controllers.base import ControllerError, ControllerTimeout, Invitation, TargetUnreachable

DIDEXCHANGE = "https://didcomm.org/didexchange/1.1"
ACTIVE_STATES = ("active", "completed")


class AcapyAdmin:
    """Admin API of one ACA-Py agent.

    The headers (API key, bearer token) are kept on the session and never appear in errors or
    logs: messages name the method and path only.
    """

    def __init__(self, base_url: str, headers: dict[str, str] | None = None, timeout: float = 30.0,
                 setting: str = "ISSUER_URL"):  # fmt: skip
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.setting = setting
        self.session = requests.Session()
        self.session.headers.update(headers or {})
        self._secrets = [value for value in (headers or {}).values() if len(value) >= 4]  # see _redacted
        self.session.trust_env = False  # a proxy from the environment must not divert admin calls

    def __repr__(self) -> str:
        return f"AcapyAdmin({self.base_url!r})"

    # --- plumbing ------------------------------------------------------------------------------

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = self.session.request(method, self.base_url + path, **kwargs)
        except requests.ConnectionError as error:
            raise TargetUnreachable(
                f"{self.setting}={self.base_url} cannot be reached ({_reason(error)}): "
                "is the admin API running and is the URL right?"
            ) from None
        except requests.Timeout:
            raise ControllerTimeout(f"{method} {path} on {self.base_url}: no answer within {self.timeout:g}s") from None
        if response.status_code in (401, 403):
            raise ControllerError(
                f"{method} {path} on {self.base_url} was refused ({response.status_code}): "
                "check ISSUER_API_KEY / ISSUER_HEADERS"
            )
        if not response.ok:
            raise ControllerError(f"{method} {path} on {self.base_url} failed ({response.status_code}): "
                                  f"{self._redacted(response.text[:500])}")  # fmt: skip
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ControllerError(
                f"{method} {path} on {self.base_url} answered with something that is not JSON "
                f"({response.headers.get('Content-Type', 'no content type')}): is {self.setting} an ACA-Py admin API?"
            ) from None

    def _redacted(self, text: str) -> str:
        """`text` without the values of the headers this client was given (the API key, ISSUER_HEADERS):
        an error page may echo the request's headers."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    # --- status --------------------------------------------------------------------------------

    def is_live(self) -> bool:
        return bool(self.request("GET", "/status/live").get("alive"))

    def check_ready(self) -> str:
        status = self.request("GET", "/status/ready", timeout=min(self.timeout, 10.0))
        if not status or not status.get("ready"):
            raise TargetUnreachable(f"{self.setting}={self.base_url} answers but is not ready")
        # /status/ready answers without credentials; /status needs them, so this checks the key too.
        return str(self.request("GET", "/status", timeout=min(self.timeout, 10.0)).get("version", "unknown"))

    def endpoints(self) -> list[str]:
        """Where this agent receives DIDComm (its --endpoint values), from its configuration."""
        config = self.request("GET", "/status/config", timeout=min(self.timeout, 10.0)).get("config", {})
        found = [config.get("default_endpoint"), *(config.get("additional_endpoints") or [])]
        return [str(endpoint).rstrip("/") for endpoint in found if endpoint]

    def check_protocols(self) -> None:
        """Raises ControllerError unless the agent serves the credential endpoints this controller uses.
        issue-credential 2.0 and present-proof 2.0 are in every ACA-Py release Akrida supports."""

    # --- connections and messages --------------------------------------------------------------

    def create_invitation(self, multi_use: bool = False, alias: str | None = None) -> Invitation:
        body: dict[str, Any] = {"handshake_protocols": [DIDEXCHANGE]}
        if alias:
            body["alias"] = alias
        record = self.request(
            "POST", "/out-of-band/create-invitation", params={"multi_use": str(multi_use).lower()}, json=body
        )
        return Invitation(
            url=record["invitation_url"], invitation_id=record["invi_msg_id"], out_of_band_id=record.get("oob_id")
        )

    def wait_for_connection(self, invitation_id: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        delay = 0.05
        state = "not found"
        while True:
            found = self.request("GET", "/connections", params={"invitation_msg_id": invitation_id})["results"]
            if found:
                state = found[0]["state"]
                if state in ACTIVE_STATES:
                    return found[0]["connection_id"]
            if time.monotonic() + delay > deadline:
                raise ControllerTimeout(
                    f"the connection from invitation {invitation_id} was not active within {timeout:g}s "
                    f"(last state: {state})"
                )
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def send_message(self, connection_id: str, content: str) -> None:
        self.request("POST", f"/connections/{connection_id}/send-message", json={"content": content})

    # --- AnonCreds on an Indy ledger -------------------------------------------------------------

    def create_schema(self, name: str, version: str, attributes: list[str]) -> str:
        body = {"schema_name": name, "schema_version": version, "attributes": attributes}
        return self.request("POST", "/schemas", json=body, timeout=max(self.timeout, 120))["schema_id"]

    def create_credential_definition(self, schema_id: str, tag: str, revocable: bool = False) -> str:
        if not revocable:
            return self._post_credential_definition(schema_id, tag, revocable=False)
        # ACA-Py 1.7 makes a revocable credential definition's registries from an event that first reads
        # the new credential definition back from the ledger. On the 4-node local pool that read has come
        # back empty (CI, once: "Credential definition not found" in the issuer's log); ACA-Py then makes
        # no registry at all, ever. A credential definition under a new tag goes through that event again.
        never_began = []
        for attempt in range(1, REVOCATION_SETUP_ATTEMPTS + 1):
            cred_def_id = self._post_credential_definition(schema_id, tag if attempt == 1 else f"{tag}-{attempt}",
                                                           revocable=True)  # fmt: skip
            if self._revocation_registries(cred_def_id, state="active"):
                return cred_def_id
            if self._revocation_setup_began(cred_def_id, REVOCATION_SETUP_START_S):
                self.wait_for_revocation_registries(cred_def_id, REVOCATION_SETUP_WAIT_S)
                return cred_def_id
            never_began.append(cred_def_id)
        raise ControllerError(
            f"ACA-Py at {self.base_url} made no revocation registry for the revocable credential definitions "
            f"{', '.join(never_began)}: see its log for why (it reads each one back from the ledger first)"
        )

    def _post_credential_definition(self, schema_id: str, tag: str, revocable: bool) -> str:
        body: dict[str, Any] = {"schema_id": schema_id, "tag": tag, "support_revocation": revocable}
        if revocable:
            body["revocation_registry_size"] = REVOCATION_REGISTRY_SIZE
        try:
            created = self.request("POST", "/credential-definitions", json=body, timeout=max(self.timeout, 120))
        except ControllerError as error:
            # ACA-Py 1.7 answers 504 when a new revocable credential definition's revocation registries are
            # not active within its own 60 s (the tails files), yet the credential definition exists and
            # its registries may still be on their way (seen on a loaded machine): the caller looks.
            pending = PENDING_REVOCATION_SETUP.search(str(error)) if revocable else None
            if pending is None:
                raise
            return pending.group(1)
        return created["credential_definition_id"]

    def _revocation_registries(self, cred_def_id: str, state: str | None = None) -> list[str]:
        params = {"cred_def_id": cred_def_id, **({"state": state} if state else {})}
        return self.request("GET", "/revocation/registries/created", params=params).get("rev_reg_ids") or []

    def _revocation_setup_began(self, cred_def_id: str, timeout: float) -> bool:
        """Whether ACA-Py has begun a registry (in any state) for the credential definition."""
        deadline = time.monotonic() + timeout
        while not self._revocation_registries(cred_def_id):
            if time.monotonic() > deadline:
                return False
            time.sleep(min(2, timeout))
        return True

    def wait_for_revocation_registries(self, cred_def_id: str, timeout: float) -> None:
        """Waits until the credential definition has an active revocation registry."""
        deadline = time.monotonic() + timeout
        while not self._revocation_registries(cred_def_id, state="active"):
            if time.monotonic() > deadline:
                raise ControllerTimeout(
                    f"{cred_def_id} has no active revocation registry {timeout:g}s after ACA-Py began making them"
                )
            time.sleep(2)

    def check_credential_definition(self, cred_def_id: str) -> None:
        """Raises ControllerError, naming CRED_DEF_ID, unless the issuer knows the credential definition."""
        try:
            found = self.request("GET", f"/credential-definitions/{cred_def_id}")
            reason = "" if found and found.get("credential_definition") else "it answers null"
        except TargetUnreachable:
            raise
        except ControllerError as error:
            reason = str(error)
        if reason:
            raise ControllerError(
                f"CRED_DEF_ID={cred_def_id} is not a credential definition the issuer at {self.base_url} knows "
                f"({reason}): create one with `akrida target bootstrap --format indy`"
            )

    def offer_indy_credential(self, connection_id: str, cred_def_id: str, attributes: dict[str, str]) -> str:
        """Offers an AnonCreds credential over issue-credential 2.0; returns the exchange id."""
        body = {
            "connection_id": connection_id,
            "auto_remove": False,
            "credential_preview": {
                "@type": "issue-credential/2.0/credential-preview",
                "attributes": [{"name": name, "value": value} for name, value in attributes.items()],
            },
            "filter": {"indy": {"cred_def_id": cred_def_id}},
        }
        return self.request("POST", "/issue-credential-2.0/send-offer", json=body)["cred_ex_id"]

    def revoke(self, credential_exchange_id: str) -> None:
        """Revokes the credential of an issue-credential 2.0 exchange and publishes it to the ledger."""
        self.request(
            "POST", "/revocation/revoke", json={"cred_ex_id": credential_exchange_id, "publish": True},
            timeout=max(self.timeout, 60),
        )  # fmt: skip

    def request_indy_presentation(self, connection_id: str, proof_request: dict[str, Any]) -> str:
        """Asks for an AnonCreds presentation over present-proof 2.0; returns the exchange id."""
        body = {
            "connection_id": connection_id,
            "auto_verify": True,
            "auto_remove": False,
            "presentation_request": {"indy": proof_request},
        }
        return self.request("POST", "/present-proof-2.0/send-request", json=body)["pres_ex_id"]

    # --- W3C JSON-LD credentials (issue-credential 2.0, present-proof 2.0) ------------------------

    def create_did_key(self) -> str:
        """A new Ed25519 did:key in the agent's wallet, to sign JSON-LD credentials with."""
        created = self.request("POST", "/wallet/did/create", json={"method": "key", "options": {"key_type": "ed25519"}})
        return created["result"]["did"]

    def offer_ld_credential(self, connection_id: str, credential: dict[str, Any]) -> str:
        """Offers `credential` (signed with Ed25519Signature2018 on issue); returns the exchange id."""
        body = {
            "connection_id": connection_id,
            "auto_remove": False,
            "filter": {"ld_proof": {"credential": credential, "options": LD_PROOF_OPTIONS}},
        }
        return self.request("POST", "/issue-credential-2.0/send-offer", json=body)["cred_ex_id"]

    def request_ld_presentation(self, connection_id: str, definition: dict[str, Any], challenge: str) -> str:
        """Asks for a DIF presentation; returns the presentation exchange id."""
        body = {
            "connection_id": connection_id,
            "auto_verify": True,
            "auto_remove": False,
            "presentation_request": {
                "dif": {"options": {"challenge": challenge, "domain": "akrida"}, "presentation_definition": definition}
            },
        }
        return self.request("POST", "/present-proof-2.0/send-request", json=body)["pres_ex_id"]

    # Where present-proof exchange records live, and the states in which an exchange is over.
    PRESENTATION_RECORDS = "/present-proof-2.0/records"
    PRESENTATION_FINAL_STATES: tuple[str, ...] = ("done", "abandoned", "deleted")

    def wait_for_verification(self, presentation_id: str, timeout: float) -> tuple[str, bool]:
        """Polls until the exchange is over; returns (state, verified)."""
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            record = self.request("GET", f"{self.PRESENTATION_RECORDS}/{presentation_id}")
            if record["state"] in self.PRESENTATION_FINAL_STATES:
                return record["state"], record.get("verified") == "true"
            if time.monotonic() + delay > deadline:
                raise ControllerTimeout(
                    f"presentation {presentation_id} was not verified within {timeout:g}s (state: {record['state']})"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


# Credentials per revocation registry; ACA-Py opens a new registry when one fills up.
REVOCATION_REGISTRY_SIZE = 1000
# ACA-Py's answer when a revocable credential definition was made but its registries are still being made.
PENDING_REVOCATION_SETUP = re.compile(
    r"Timeout waiting for revocation setup completion for credential definition (\S+?)\.(?:\s|$)"
)
REVOCATION_SETUP_WAIT_S = 240
# After ACA-Py's own 60 s wait, how long a credential definition may still show no registry at all
# before it is taken for one whose setup never began, and how many credential definitions to try.
REVOCATION_SETUP_START_S = 30.0
REVOCATION_SETUP_ATTEMPTS = 3

# ACA-Py and Credo agree on Ed25519Signature2018 for did:key; Credo's did:key resolver gives 2018
# verification keys, so 2020 signatures fail to verify on the holder.
LD_PROOF_OPTIONS = {"proofType": "Ed25519Signature2018", "proofPurpose": "assertionMethod"}


def _reason(error: requests.ConnectionError) -> str:
    text = str(error)
    for reason in ("Connection refused", "Name or service not known", "No route to host", "timed out"):
        if reason in text:
            return reason.lower()
    return "connection failed"
