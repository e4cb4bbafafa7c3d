"""What Akrida knows by name: its scenarios (what each needs of the target) and public Indy ledgers.

Plain data at the bottom of the package: settings, reports and the CLI read it without importing
Locust or the scenarios' code.
"""

from __future__ import annotations

from dataclasses import dataclass

# Locust request types (see steps.py). Kept here, free of Locust imports, for the report code.
DIDCOMM = "didcomm"  # a step of the holder against the target
ADMIN = "admin"  # a call to the target's admin API
HARNESS = "harness"  # a failure of Akrida itself


@dataclass(frozen=True)
class Scenario:
    name: str
    user_class: str  # "module:Class"
    needs_mediator: bool
    needs_issuer: bool
    summary: str
    credentials: bool = False  # issues or proves credentials (CREDENTIAL_FORMAT applies)
    file: str = ""  # a scenario file of the user's own (SCENARIO=path/to/file.py), absolute
    scheduled: bool = False  # offers SCHEDULE=fixed and poisson (requests on a clock) beside the closed loop

    @property
    def locustfile(self) -> str:
        # A user's file is loaded by one entry file of its own (akrida/scenarios/custom.py).
        return USER_LOCUSTFILE if self.file else f"{self.name}.py"


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario(
            "mediator_ping",
            "akrida.scenarios.mediator_ping:MediatorPingUser",
            needs_mediator=True,
            needs_issuer=False,
            summary="holders take mediation and trust-ping the mediator",
            scheduled=True,
        ),
        Scenario(
            "mediator_hold",
            "akrida.scenarios.mediator_hold:MediatorHoldUser",
            needs_mediator=True,
            needs_issuer=False,
            summary="holders take mediation and stay connected, idle, pinging every HOLD_PING_INTERVAL",
            scheduled=True,
        ),
        Scenario(
            "mediator_message",
            "akrida.scenarios.mediator_message:MediatorMessageUser",
            needs_mediator=True,
            needs_issuer=True,
            summary="the issuer sends basic messages to holders through the mediator",
            scheduled=True,
        ),
        Scenario(
            "mediator_churn",
            "akrida.scenarios.mediator_churn:MediatorChurnUser",
            needs_mediator=True,
            needs_issuer=True,
            summary="holders go offline and online again; the issuer sends messages while they are away",
        ),
        Scenario(
            "mediator_forward",
            "akrida.scenarios.mediator_forward:MediatorForwardUser",
            needs_mediator=True,
            needs_issuer=False,
            summary="a sender of akrida's own packs forward messages for holders and posts them to the mediator",
        ),
        Scenario(
            "connection",
            "akrida.scenarios.connection:ConnectionUser",
            needs_mediator=False,
            needs_issuer=True,
            summary="holders make CONNECTIONS_PER_USER new connections to the issuer per iteration",
        ),
        Scenario(
            "issue",
            "akrida.scenarios.credentials:IssueUser",
            needs_mediator=False,
            needs_issuer=True,
            summary="the issuer offers W3C JSON-LD credentials; holders accept and store them",
            credentials=True,
        ),
        Scenario(
            "present",
            "akrida.scenarios.credentials:PresentUser",
            needs_mediator=False,
            needs_issuer=True,
            summary="each holder gets one JSON-LD credential, then proves it to the verifier over and over",
            credentials=True,
        ),
        Scenario(
            "issue_revoke",
            "akrida.scenarios.credentials:IssueRevokeUser",
            needs_mediator=False,
            needs_issuer=True,
            summary="AnonCreds: each iteration issues a revocable credential, then revokes and publishes it",
            credentials=True,
        ),
        Scenario(
            "mix",
            "akrida.scenarios.credentials:MixUser",
            needs_mediator=False,
            needs_issuer=True,
            summary="issuances and proofs drawn with the weights ISSUE_WEIGHT:PRESENT_WEIGHT",
            credentials=True,
        ),
        Scenario(
            "liveness",
            "akrida.scenarios.liveness:LivenessUser",
            needs_mediator=False,
            needs_issuer=True,
            summary="HTTP users poll the issuer's /status/live (no holders)",
        ),
    )
}


# What an agent of the seed protocol can serve (AGENT_PROTOCOL=seed: start, ping_mediator, receiveInvitation,
# shutdown), besides scenario files of the user's own.
SEED_SCENARIOS = ("mediator_ping", "mediator_hold", "connection", "liveness")
USER_LOCUSTFILE = "custom.py"  # locustfiles/custom.py: the entry file of SCENARIO=path/to/file.py


def is_scenario_file(value: str) -> bool:
    """SCENARIO names a file of the user's own rather than one of SCENARIOS."""
    return value.endswith(".py")


def scenario_of(value: str) -> Scenario:
    """The scenario SCENARIO names: one of SCENARIOS, or a user's file. What a user's file needs of the
    target is known only once it was loaded (akrida.userscenario); here it needs nothing for certain."""
    if not is_scenario_file(value):
        return SCENARIOS[value]
    stem = value.rsplit("/", 1)[-1].removesuffix(".py")
    return Scenario(stem, "", needs_mediator=False, needs_issuer=False, summary=f"your own: {value}", file=value)


# Public test networks that serve their genesis file over HTTP (VON network ledger browsers).
KNOWN_NETWORKS = {
    "bcovrin-test": "http://test.bcovrin.vonx.io/genesis",
    "bcovrin-greenlight": "http://greenlight.bcovrin.vonx.io/genesis",
}
