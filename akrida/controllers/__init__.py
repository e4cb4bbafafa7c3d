"""Clients of the target's admin APIs. `issuer_for` picks one by ISSUER_TYPE.

A new controller (a Credo-based issuer, a custom one) is one module whose class implements
IssuerController and VerifierController (base.py), plus one entry in ISSUER_TYPES.
"""

from __future__ import annotations

from akrida.controllers.acapy import AcapyAdmin
from akrida.controllers.acapy_v1 import AcapyAdminV1
from akrida.controllers.base import (
    ControllerError,
    Invitation,
    IssuerController,
    TargetUnreachable,
    VerifierController,
)

# ISSUER_TYPE -> the controller class; acapy_v2 (issue-credential 2.0, present-proof 2.0) is the default.
ISSUER_TYPES: dict[str, type[AcapyAdmin]] = {"acapy_v2": AcapyAdmin, "acapy": AcapyAdminV1}


def issuer_for(issuer_type: str, base_url: str, headers: dict[str, str], timeout: float) -> AcapyAdmin:
    """The controller of the issuer/verifier under test, as ISSUER_TYPE names it."""
    return ISSUER_TYPES[issuer_type](base_url, headers, timeout=timeout)


__all__ = [
    "ISSUER_TYPES",
    "AcapyAdmin",
    "AcapyAdminV1",
    "ControllerError",
    "Invitation",
    "IssuerController",
    "TargetUnreachable",
    "VerifierController",
    "issuer_for",
]
