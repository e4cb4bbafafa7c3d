"""Checks made before any load starts: is the target there, and does it answer?

A run against a target that is down would otherwise start thousands of agents only to watch them
fail one timeout at a time. These checks fail in seconds and name the setting to fix.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from akrida.agent import AgentConfig, AgentError, HostPool, StartOptions, silence
from akrida.agent.messages import PickupStrategy
from akrida.catalog import scenario_of
from akrida.controllers import TargetUnreachable, issuer_for
from akrida.egress import agent_environment, allowed_hosts
from akrida.invitation import decode_invitation, service_endpoints
from akrida.settings import Settings, SettingsError

CONNECT_TIMEOUT = 5.0
# A probe holder gets mediation in about a second from a healthy mediator; a mediator that takes
# longer than this before any load is not ready for one.
PROBE_TIMEOUT = 30.0


@dataclass
class TargetCheck:
    lines: list[str] = field(default_factory=list)  # what was checked, for people
    target: dict[str, str] = field(default_factory=dict)  # what was found, for the manifest
    acapy_version: str | None = None


def check_silence_here(settings: Settings) -> str | None:
    """CHURN_DISCONNECT=silent on a run whose Locust runs on this machine: can its packet filter silence
    holders' connections? Raises SettingsError saying what to do. A cluster run checks each worker host
    instead (akrida/execute/remote_silence.py): the filter acts where the holders are."""
    if settings.churn_disconnect != "silent":
        return None
    try:
        return silence.probe()
    except silence.SilenceUnavailable as error:
        raise SettingsError([str(error)]) from None


def check_target(settings: Settings, probe_dir: Path | None = None) -> TargetCheck:
    """Checks every part of the target the scenario uses; raises TargetUnreachable at the first failure.

    With `probe_dir`, real holders also take mediation through MEDIATION_URL before any load (their
    agent's log goes there): for a mediator the user brought, whose invitation Akrida did not make.
    """
    scenario = scenario_of(settings.scenario)
    if scenario.file and settings.issuer_url:  # what a user's file needs was checked as it loaded
        scenario = replace(scenario, needs_issuer=True)
    checked = TargetCheck()
    endpoints: list[str] = []
    if scenario.needs_mediator or (settings.with_mediation and scenario.name != "liveness"):
        checked.lines.append(check_mediator(settings.mediation_urls))
        endpoints = mediator_endpoints(settings.mediation_urls)
        checked.target["mediator"] = ", ".join(endpoints) or "DID service"
        if probe_dir is not None:
            checked.lines.append(probe_mediation(settings, probe_dir))
        if settings.pickup_strategy in PICKUP_PROTOCOLS:
            checked.lines.append(check_pickup(settings, probe_dir))
    if scenario.needs_issuer:
        if not settings.issuer_url:
            raise TargetUnreachable(f"SCENARIO={scenario.name} needs ISSUER_URL (the issuer's admin API URL)")
        issuer = issuer_for(settings.issuer_type, settings.issuer_url, settings.admin_headers(), timeout=10.0)
        version = issuer.check_ready()
        checked.lines.append(f"issuer admin API {settings.issuer_url} is ready (ACA-Py {version})")
        if shared := sorted(set(issuer.endpoints()) & {e.rstrip("/") for e in endpoints}):
            raise SettingsError(
                [
                    f"ISSUER_URL={settings.issuer_url} is the admin API of the mediator of MEDIATION_URL (both "
                    f"receive DIDComm at {', '.join(shared)}): set ISSUER_URL to the issuer's admin API"
                ]
            )
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


def mediator_endpoints(mediation_urls: tuple[str, ...]) -> list[str]:
    """The transport endpoints of all of MEDIATION_URL's invitations, each once, in order."""
    return list(dict.fromkeys(e for url in mediation_urls for e in service_endpoints(decode_invitation(url))))


def check_mediator(mediation_urls: tuple[str, ...]) -> str:
    """Each invitation must name at least one endpoint that accepts connections (invitations naming
    the same endpoints are checked once)."""
    if not mediation_urls:
        raise TargetUnreachable("MEDIATION_URL is not set: give the mediator's multi-use invitation URL")
    groups = dict.fromkeys(
        tuple(e for e in service_endpoints(decode_invitation(url)) if "://" in e) for url in mediation_urls
    )
    reached = []
    for endpoints in groups:
        if not endpoints:
            continue  # a DID-only service: nothing to dial before the load
        failures = []
        for endpoint in endpoints:
            reason = _tcp_reason(endpoint)
            if reason is None:
                reached.append(endpoint)
                break
            failures.append(f"{endpoint} ({reason})")
        else:
            raise TargetUnreachable(
                f"the mediator of MEDIATION_URL cannot be reached at {', '.join(failures)}: "
                "is it running, and is the invitation current?"
            )
    if not reached:
        return "MEDIATION_URL has no transport endpoint to check (DID-only service); skipped"
    if len(reached) == 1:
        return f"mediator endpoint {reached[0]} accepts connections"
    return f"mediator endpoints {', '.join(reached)} accept connections"


# The DIDComm protocol each polling pickup strategy needs the mediator to speak.
PICKUP_PROTOCOLS = {
    "pickup_v1": "https://didcomm.org/messagepickup/1.0",
    "pickup_v2": "https://didcomm.org/messagepickup/2.0",
    "pickup_v2_live": "https://didcomm.org/messagepickup/2.0",
}


def check_pickup(settings: Settings, log_dir: Path | None) -> str:
    """Asks the mediator (discover-features) whether it speaks the pickup protocol PICKUP_STRATEGY
    needs; a mediator without it would take holders and never hand them a message."""
    needed = PICKUP_PROTOCOLS[settings.pickup_strategy]
    config = AgentConfig(
        timeout=min(settings.agent_timeout, PROBE_TIMEOUT),
        log_level="error",
        log_dir=log_dir,
        extra_env=agent_environment(allowed_hosts(settings, None)),
    )
    pool = HostPool(config, holders_per_process=1)
    try:
        holder = pool.open()
        # Implicit pickup to ask: the probe must not depend on the protocol it asks about.
        holder.start(StartOptions(mediator_invitation_url=settings.mediation_urls[0], log_level="error"))
        protocols = holder.discover_features("https://didcomm.org/messagepickup/*").protocols
    except AgentError as error:
        raise TargetUnreachable(f"could not ask the mediator which pickup protocols it speaks: {error}") from None
    finally:
        pool.close_all(timeout=10.0)
    if needed not in protocols:
        spoken = ", ".join(protocols) or "none"
        raise SettingsError(
            [
                f"PICKUP_STRATEGY={settings.pickup_strategy} needs the mediator to speak {needed}, and it discloses "
                f"these pickup protocols: {spoken}. Use PICKUP_STRATEGY=implicit (WebSocket with return route), "
                "or a mediator with that protocol (ACA-Py: the pickup plugin)"
            ]
        )
    return f"the mediator speaks {needed} (discover-features), which PICKUP_STRATEGY={settings.pickup_strategy} needs"


def probe_mediation(settings: Settings, log_dir: Path) -> str:
    """Two holders take mediation through MEDIATION_URL, one after the other, as the run's holders will.

    The first shows that the mediator grants mediation at all; the second, that the invitation
    serves more than one holder: a single-use invitation lets the first in and no one after it.
    A run of one holder needs only one probe. Raises TargetUnreachable or SettingsError.
    """
    wanted = 2 if settings.peak_users > 1 else 1
    config = AgentConfig(
        timeout=min(settings.agent_timeout, PROBE_TIMEOUT),
        log_level="error",
        log_dir=log_dir,
        extra_env=agent_environment(allowed_hosts(settings, None)),  # where the run's holders may go
    )
    pool = HostPool(config, holders_per_process=wanted)
    options = StartOptions(
        mediator_invitation_url=settings.mediation_urls[0],
        # Settings checked it against PICKUP_STRATEGIES, the same names as the protocol's.
        pickup_strategy=cast(PickupStrategy, settings.pickup_strategy),
        log_level="error",
    )
    try:
        for number in range(1, wanted + 1):
            try:
                pool.open().start(options)
            except AgentError as error:
                if number == 1:
                    raise TargetUnreachable(
                        f"the mediator of MEDIATION_URL did not grant mediation to a probe holder: {error} "
                        f"(the probe waits {config.timeout:g}s at most, the lesser of AGENT_TIMEOUT and "
                        f"{PROBE_TIMEOUT:g}s; its agent's log is in {log_dir})"
                    ) from None
                raise SettingsError(
                    [
                        "MEDIATION_URL lets one holder in and no one after it (a single-use invitation?): "
                        f"a second probe holder failed: {error}. Give the mediator's multi-use invitation "
                        "(ACA-Py: POST /out-of-band/create-invitation?multi_use=true)"
                    ]
                ) from None
    finally:
        pool.close_all(timeout=10.0)
    several = len(settings.mediation_urls) > 1
    return f"mediation granted to {wanted} probe holder(s) through MEDIATION_URL" + (
        f" (its first of {len(settings.mediation_urls)} invitations)" if several else ""
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
