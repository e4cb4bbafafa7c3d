"""issue, present and mix: W3C JSON-LD credentials (ld_proof, DIF presentation exchange), no ledger needed.

issue:   each holder connects to the issuer once and creates its did:key; then every iteration the
         issuer offers a credential and the holder accepts it. `receive_credential` is the time from
         the offer (admin call included) until the credential is stored in the holder's wallet.
present: each holder gets one credential once; then every iteration the verifier asks for a
         presentation. `present_proof` is the time from the request until the verifier has verified
         it. A presentation the verifier rejects is a failure of the system under test.
issue_revoke: AnonCreds only: issue a revocable credential, then revoke it, every iteration.
mix:     each iteration is an issuance or a proof, drawn with the weights ISSUE_WEIGHT:PRESENT_WEIGHT
         (3:1 by default), on holders that hold at least one credential.
"""

import itertools
import random
import time
import uuid

from gevent.lock import BoundedSemaphore

from akrida.agent import HolderClient
from akrida.scenarios.base import HolderUser
from akrida.scenarios.credential_content import (
    credential,
    indy_attributes,
    indy_proof_request,
    presentation_definition,
)
from akrida.scenarios.steps import ADMIN, TargetFailure, step

_issuer_did: dict[str, str] = {}  # per issuer admin URL, created once per process


class CredentialUser(HolderUser):
    abstract = True

    def prepare(self) -> None:
        self.connect_to_issuer()
        if not self.indy:  # AnonCreds binds credentials to the link secret instead
            self.holder.facts["subject_did"] = self.holder.call("create_did_key", HolderClient.create_did_key).did
        self.sequence = itertools.count(1)

    def issuer_did(self) -> str:
        issuer = self.runtime.issuer
        if issuer.base_url not in _issuer_did:
            with step(self.environment, "issuer_did", ADMIN):
                _issuer_did[issuer.base_url] = issuer.create_did_key()
        return _issuer_did[issuer.base_url]

    @property
    def indy(self) -> bool:
        return self.settings.credential_format == "indy"

    def issue_one(self, cred_def_id: str | None = None) -> str:
        """Issues one credential to this holder; returns the issuer's exchange id."""
        issuer, connection = self.runtime.issuer, self.holder.facts["issuer_connection_id"]
        sequence = next(self.sequence)
        if not self.indy:
            offer = credential(self.issuer_did(), self.holder.facts["subject_did"], sequence)
        with step(self.environment, "receive_credential"):
            if self.indy:
                cred_def = cred_def_id or self.settings.cred_def_id
                exchange = issuer.offer_indy_credential(connection, cred_def, indy_attributes(sequence))
            else:
                exchange = issuer.offer_ld_credential(connection, offer)
            self.holder.timed(
                "receive_credential", HolderClient.receive_credential, self.holder.facts["holder_connection_id"]
            )
        return exchange


class IssueUser(CredentialUser):
    def iteration(self) -> None:
        self.issue_one()


class PresentUser(CredentialUser):
    def prepare(self) -> None:
        super().prepare()
        self.issue_one()

    def iteration(self) -> None:
        self.present_one()

    def present_one(self) -> None:
        verifier = self.runtime.issuer
        connection = self.holder.facts["issuer_connection_id"]
        with step(self.environment, "present_proof"):
            if self.indy:
                # With PROOF_NON_REVOKED the verifier asks for non-revocation now, as production verifiers do.
                now = int(time.time()) if self.settings.proof_non_revoked else None
                request = indy_proof_request(self.settings.cred_def_id, non_revoked_at=now)
                exchange = verifier.request_indy_presentation(connection, request)
            else:
                exchange = verifier.request_ld_presentation(connection, presentation_definition(), str(uuid.uuid4()))
            connection_id = self.holder.facts["holder_connection_id"]
            self.holder.timed("present_proof", HolderClient.presentation_exchange, connection_id)
            state, verified = verifier.wait_for_verification(exchange, self.settings.agent_timeout)
            if not verified:
                raise TargetFailure(f"the verifier did not verify the presentation (state {state})")


# ACA-Py rejects concurrent publications to one revocation registry: the ledger refuses the second
# registry entry written against a stale accumulator (InvalidClientRequest, seen with 3 holders).
# Revocations are therefore published one at a time per load process; the wait for this lock is
# not part of the measured step.
_publishing = BoundedSemaphore(1)


class IssueRevokeUser(CredentialUser):
    """issue_revoke: every iteration issues a revocable AnonCreds credential, then revokes it and
    publishes the revocation: `receive_credential` and `revoke_credential` (the admin call, ledger
    write included; one at a time per load process)."""

    def iteration(self) -> None:
        exchange = self.issue_one(self.settings.revocable_cred_def_id)
        with _publishing, step(self.environment, "revoke_credential", ADMIN):
            self.runtime.issuer.revoke(exchange)


class MixUser(PresentUser):
    def iteration(self) -> None:
        weights = (self.settings.issue_weight, self.settings.present_weight)
        action = random.choices((self.issue_one, self.present_one), weights=weights)[0]
        action()
