"""Checks made before any load starts: is the target there, and does it answer?

A run against a target that is down would otherwise start thousands of agents only to watch them
fail one timeout at a time. These checks fail in seconds and name the setting to fix.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from akrida.catalog import SCENARIOS
from akrida.controllers import TargetUnreachable, issuer_for
from akrida.invitation import decode_invitation, service_endpoints
from akrida.settings import Settings

CONNECT_TIMEOUT = 5.0


@dataclass
class TargetCheck:
    lines: list[str] = field(default_factory=list)  # what was checked, for people
    target: dict[str, str] = field(default_factory=dict)  # what was found, for the manifest
    acapy_version: str | None = None


def check_target(settings: Settings) -> TargetCheck:
    """Checks every part of the target the scenario uses; raises TargetUnreachable at the first failure."""
    scenario = SCENARIOS[settings.scenario]
    checked = TargetCheck()
    if scenario.needs_mediator or (settings.with_mediation and scenario.name != "liveness"):
        checked.lines.append(check_mediator(settings.mediation_url))
        endpoints = service_endpoints(decode_invitation(settings.mediation_url))
        checked.target["mediator"] = ", ".join(endpoints) or "DID service"
    if scenario.needs_issuer:
        if not settings.issuer_url:
            raise TargetUnreachable(f"SCENARIO={scenario.name} needs ISSUER_URL (the issuer's admin API URL)")
        issuer = issuer_for(settings.issuer_type, settings.issuer_url, settings.admin_headers(), timeout=10.0)
        version = issuer.check_ready()
        checked.lines.append(f"issuer admin API {settings.issuer_url} is ready (ACA-Py {version})")
        checked.target["issuer"] = settings.issuer_url
        checked.acapy_version = version
        if scenario.credentials:
            issuer.check_protocols()
        if scenario.credentials and settings.credential_format == "indy":
            if not settings.cred_def_id or settings.ledger_genesis_file is None:
                raise TargetUnreachable(
                    "CREDENTIAL_FORMAT=indy needs an issuer on a ledger: set CRED_DEF_ID and LEDGER_GENESIS_FILE, "
                    "or start the embedded target with `akrida local up --ledger`"
                )
            issuer.check_credential_definition(settings.cred_def_id)
            checked.lines.append(f"credential definition {settings.cred_def_id} is known to the issuer")
            checked.target["cred_def_id"] = settings.cred_def_id
    return checked


def check_mediator(mediation_url: str) -> str:
    if not mediation_url:
        raise TargetUnreachable("MEDIATION_URL is not set: give the mediator's multi-use invitation URL")
    endpoints = [e for e in service_endpoints(decode_invitation(mediation_url)) if "://" in e]
    if not endpoints:
        return "MEDIATION_URL has no transport endpoint to check (DID-only service); skipped"
    failures = []
    for endpoint in endpoints:
        reason = _tcp_reason(endpoint)
        if reason is None:
            return f"mediator endpoint {endpoint} accepts connections"
        failures.append(f"{endpoint} ({reason})")
    raise TargetUnreachable(
        f"the mediator of MEDIATION_URL cannot be reached at {', '.join(failures)}: "
        "is it running, and is the invitation current?"
    )


def _tcp_reason(endpoint: str) -> str | None:
    """None when a TCP connection to the endpoint's host and port succeeds, else why not."""
    parts = urlsplit(endpoint)
    port = parts.port or (443 if parts.scheme in ("https", "wss") else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT):
            return None
    except TimeoutError:
        return f"no answer within {CONNECT_TIMEOUT:g}s"
    except OSError as error:
        return error.strerror or str(error)
