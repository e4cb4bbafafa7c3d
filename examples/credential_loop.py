"""A holder that connects to the issuer once, then in a loop takes a credential and answers the
verifier's proof request for it (W3C JSON-LD, no ledger).

    make run SCENARIO=examples/credential_loop.py USERS=5 RUN_TIME=60s
    make run SCENARIO=examples/credential_loop.py PROOFS_PER_CREDENTIAL=3   # three proofs per credential

Rows in Locust's statistics: `didcomm startup`, `admin create_invitation`, `didcomm receive_invitation`,
`admin issuer_connection` (from connect_to_issuer), `didcomm create_did_key`, `admin issuer_did`, and
this file's own `didcomm take_credential` and `didcomm answer_proof`.
"""

from __future__ import annotations

import uuid

from akrida.scenarios.api import (
    ADMIN,
    HolderClient,
    HolderUser,
    TargetFailure,
    credential,
    integer,
    presentation_definition,
    setting,
)

PROOFS_PER_CREDENTIAL = setting(
    "PROOFS_PER_CREDENTIAL",
    integer(1, 1000),
    "examples/credential_loop.py: proof requests a holder answers with each credential before it takes a new one.",
    default="1",
)

_issuer_dids: dict[str, str] = {}  # the issuer's signing did:key, made once per Locust process


class CredentialLoopHolder(HolderUser):
    needs_issuer = True  # a run without an issuer is refused before any holder starts

    def prepare(self) -> None:
        # After every (re)start of the holder: a new wallet needs a new connection and subject DID.
        self.connect_to_issuer()
        self.subject = self.holder.call("create_did_key", HolderClient.create_did_key).did
        self.proofs_left = 0
        self.taken = 0

    def iteration(self) -> None:
        if self.proofs_left == 0:
            self.take_credential()
            self.proofs_left = PROOFS_PER_CREDENTIAL.value(self.environment)
        self.answer_proof()
        self.proofs_left -= 1

    def issuer_did(self) -> str:
        if self.issuer.base_url not in _issuer_dids:
            with self.step("issuer_did", ADMIN):
                _issuer_dids[self.issuer.base_url] = self.issuer.create_did_key()
        return _issuer_dids[self.issuer.base_url]

    def take_credential(self) -> None:
        issuer_did = self.issuer_did()
        self.taken += 1
        offer = credential(issuer_did, self.subject, self.taken)
        # Timed from the issuer's offer until the credential is stored in the holder's wallet.
        with self.step("take_credential"):
            self.issuer.offer_ld_credential(self.holder.facts["issuer_connection_id"], offer)
            self.holder.client.receive_credential(self.holder.facts["holder_connection_id"])

    def answer_proof(self) -> None:
        # Timed from the verifier's request until the verifier has checked the presentation.
        with self.step("answer_proof"):
            exchange = self.issuer.request_ld_presentation(
                self.holder.facts["issuer_connection_id"], presentation_definition(), str(uuid.uuid4())
            )
            self.holder.client.presentation_exchange(self.holder.facts["holder_connection_id"])
            state, verified = self.issuer.wait_for_verification(exchange, self.settings.agent_timeout)
            if not verified:
                raise TargetFailure(f"the verifier did not verify the presentation (state {state})")
