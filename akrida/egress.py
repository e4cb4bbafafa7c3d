"""The hosts holders may connect to: those the settings name, for the agents' egress allowlist.

Holders follow the endpoints that invitations and DID documents give them. The agent refuses every
other host (agent/src/guard.ts) and fails the command that needed it as a harness failure naming the
host, so a target that points wallets elsewhere is caught instead of followed.
"""

from __future__ import annotations

import contextlib
from urllib.parse import urlsplit

from akrida.controllers import ControllerError, IssuerController
from akrida.invitation import InvitationError, decode_invitation, service_endpoints
from akrida.settings import Settings

ALLOWED_HOSTS_VARIABLE = "AKRIDA_AGENT_ALLOWED_HOSTS"


def allowed_hosts(settings: Settings, issuer: IssuerController | None) -> tuple[str, ...] | None:
    """The mediator's endpoints, the issuer's (its admin API's host and the endpoints it receives
    DIDComm on) and EGRESS_ALLOW; None when EGRESS_ALLOW=* turns the allowlist off.

    The ledger's nodes are not among them: Indy VDR reaches them from native code, not through
    Node's sockets, and only the nodes of the genesis file the settings name.
    """
    if settings.egress_allow == ("*",):
        return None
    hosts = set(settings.egress_allow)
    if settings.mediation_url:
        with contextlib.suppress(InvitationError):  # settings refused a bad invitation already
            hosts.update(
                _host(endpoint)
                for url in settings.mediation_urls
                for endpoint in service_endpoints(decode_invitation(url))
            )
    if settings.scenario == "mediator_forward":
        hosts.add(settings.agent_endpoint_host)  # the forward sender, which holders connect to
    if settings.issuer_url:
        hosts.add(_host(settings.issuer_url))
        if issuer is not None:
            with contextlib.suppress(ControllerError):  # its own steps report it down; its admin host is in
                hosts.update(_host(endpoint) for endpoint in issuer.endpoints())
    return tuple(sorted(host for host in hosts if host))


def agent_environment(hosts: tuple[str, ...] | None) -> dict[str, str]:
    """The variable the agents read their allowlist from (agent/PROTOCOL.md)."""
    return {} if hosts is None else {ALLOWED_HOSTS_VARIABLE: ",".join(hosts)}


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "") if "://" in url else ""
