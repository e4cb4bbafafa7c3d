"""The credentials the load test issues, and the requests that ask for them.

W3C JSON-LD:

No ledger and no remote context: the vocabulary is inline (`@vocab`), so both Credo and ACA-Py can
sign and verify offline. The credential type is an absolute IRI because Credo matches a
presentation definition's schema URI against literal `type` values, while ACA-Py matches expanded
types; an absolute IRI is the same in both views.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

VOCABULARY = "urn:akrida:vocab#"
CREDENTIAL_TYPE = f"{VOCABULARY}LoadTestCredential"


def credential(issuer_did: str, subject_did: str, sequence: int) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/2018/credentials/v1", {"@vocab": VOCABULARY}],
        "type": ["VerifiableCredential", CREDENTIAL_TYPE],
        "issuer": issuer_did,
        "issuanceDate": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "credentialSubject": {"id": subject_did, "givenName": "Holder", "sequence": str(sequence)},
    }


def presentation_definition() -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "format": {"ldp_vp": {"proof_type": ["Ed25519Signature2018"]}},
        "input_descriptors": [
            {
                "id": "akrida_credential",
                "schema": [{"uri": CREDENTIAL_TYPE}],
                "constraints": {"fields": [{"path": ["$.credentialSubject.givenName"]}]},
            }
        ],
    }


# AnonCreds (indy): the attributes of the schema that `akrida target bootstrap --format indy` writes.
def indy_attributes(sequence: int) -> dict[str, str]:
    return {"givenName": "Holder", "score": str(40 + sequence % 50)}


def indy_proof_request(cred_def_id: str, non_revoked_at: int | None = None) -> dict[str, Any]:
    """One revealed attribute and one predicate (score >= 18), both from the given credential definition.
    With `non_revoked_at` (epoch seconds) the holder must also prove the credential was not revoked then."""
    restriction = [{"cred_def_id": cred_def_id}]
    request: dict[str, Any] = {
        "name": "akrida proof",
        "version": "1.0",
        "requested_attributes": {"given_name": {"name": "givenName", "restrictions": restriction}},
        "requested_predicates": {
            "adult": {"name": "score", "p_type": ">=", "p_value": 18, "restrictions": restriction}
        },
    }
    if non_revoked_at is not None:
        request["non_revoked"] = {"from": non_revoked_at, "to": non_revoked_at}
    return request
