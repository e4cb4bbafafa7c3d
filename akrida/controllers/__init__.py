"""Clients of the target's admin APIs."""

from akrida.controllers.acapy import AcapyAdmin
from akrida.controllers.base import (
    ControllerError,
    Invitation,
    IssuerController,
    TargetUnreachable,
    VerifierController,
)

__all__ = [
    "AcapyAdmin",
    "ControllerError",
    "Invitation",
    "IssuerController",
    "TargetUnreachable",
    "VerifierController",
]
