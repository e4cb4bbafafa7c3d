"""The checks between settings: each value parsed well on its own, and these find the combinations that
cannot run together (a scenario without what it needs, two settings that say the same thing)."""

from __future__ import annotations

from akrida.catalog import SCENARIOS as _SCENARIOS
from akrida.catalog import SEED_SCENARIOS, is_scenario_file, scenario_of
from akrida.cloud_metadata import metadata_host
from akrida.parsers import MAX_DURATION_S
from akrida.settings.files import genesis_file_problems, query_file_problems
from akrida.settings.model import (
    DEFAULT_SPAWN_RATE,
    LOCAL_PORT_SPAN,
    SOCKET_PICKUPS,
    WILDCARD_ADDRESSES,
    DeclaredSettings,
)
from akrida.settings.sizing import search_time_needed


def cross_check(settings: DeclaredSettings) -> list[str]:
    """What is wrong with these settings taken together, one line each (none: they can run)."""
    problems = []
    if settings.stages and sum(seconds for seconds, _users in settings.stages) > MAX_DURATION_S:
        problems.append(f"STAGES last {settings.duration}s in all: at most 30 days ({MAX_DURATION_S}s); split the runs")
    if settings.wait_max < settings.wait_min:
        problems.append(f"WAIT_MAX={settings.wait_max:g} is below WAIT_MIN={settings.wait_min:g}: raise WAIT_MAX")
    problems += _schedule_problems(settings)
    if settings.credential_format == "indy" and scenario_of(settings.scenario).credentials:
        if not settings.cred_def_id and not settings.uses_embedded_target:
            problems.append(
                "CREDENTIAL_FORMAT=indy needs CRED_DEF_ID: create one with `akrida target bootstrap --format indy`"
            )
        if settings.ledger_genesis_file is not None:
            problems.extend(genesis_file_problems(settings.ledger_genesis_file))
        if settings.ledger_genesis_file is None and not settings.ledger_network and not settings.uses_embedded_target:
            problems.append(
                "CREDENTIAL_FORMAT=indy needs the issuer's ledger: set LEDGER_GENESIS_FILE (its genesis file) "
                "or LEDGER_NETWORK (a name or a genesis URL)"
            )
    if settings.scenario == "issue_revoke":
        if settings.credential_format != "indy":
            problems.append("SCENARIO=issue_revoke needs CREDENTIAL_FORMAT=indy (revocation is AnonCreds only here)")
        elif not settings.revocable_cred_def_id and not settings.uses_embedded_target:
            problems.append("SCENARIO=issue_revoke needs REVOCABLE_CRED_DEF_ID, a revocable credential definition")
    if (
        settings.issuer_type == "acapy"
        and settings.credential_format != "indy"
        and scenario_of(settings.scenario).credentials
    ):
        problems.append("ISSUER_TYPE=acapy (the 1.0 protocols) carries AnonCreds only: set CREDENTIAL_FORMAT=indy")
    if settings.proof_non_revoked and settings.credential_format != "indy":
        problems.append("PROOF_NON_REVOKED=true needs CREDENTIAL_FORMAT=indy (revocation is AnonCreds only here)")
    if settings.ledger_network and settings.ledger_genesis_file is not None:
        problems.append("LEDGER_NETWORK and LEDGER_GENESIS_FILE are both set: keep one")
    if settings.local_host in WILDCARD_ADDRESSES:
        problems.append(
            f"LOCAL_HOST={settings.local_host} would open the embedded target's admin APIs on every interface: "
            "give one address, such as 127.0.0.1"
        )
    problems.extend(_address_problems(settings))
    problems.extend(_load_shape_problems(settings))
    problems.extend(_storm_problems(settings))
    problems.extend(_silence_problems(settings))
    problems.extend(_target_metrics_problems(settings))
    problems.extend(_profile_problems(settings))
    problems.extend(_agent_problems(settings))
    if settings.issue_weight + settings.present_weight == 0:
        problems.append("ISSUE_WEIGHT and PRESENT_WEIGHT are both 0: give at least one a positive weight")
    if scenario_of(settings.scenario).needs_mediator and not settings.with_mediation:
        problems.append(f"SCENARIO={settings.scenario} needs WITH_MEDIATION=true")
    return problems


def _address_problems(settings: DeclaredSettings) -> list[str]:
    """Targets that are no target (a cloud metadata service), and a web UI on the embedded target's ports."""
    problems = []
    for name, urls in (("ISSUER_URL", (settings.issuer_url,)), ("MEDIATION_URL", settings.mediation_urls)):
        for url in urls:
            host = metadata_host(url) if url else None
            if host is not None and host.lower() not in {allowed.lower() for allowed in settings.egress_allow}:
                problems.append(
                    f"{name} points at {host}, a cloud metadata service (it hands out this machine's "
                    f"credentials), not a target; nothing was sent to it: correct {name}, or name {host} in "
                    "EGRESS_ALLOW if you really mean to load it"
                )
    first, last = settings.local_base_port, settings.local_base_port + LOCAL_PORT_SPAN - 1
    if settings.ui and settings.uses_embedded_target and first <= settings.ui_port <= last:
        problems.append(
            f"UI_PORT={settings.ui_port} is one of the embedded target's ports ({first}-{last}, from LOCAL_BASE_PORT): "
            "choose another UI_PORT or LOCAL_BASE_PORT"
        )
    port = settings.prometheus_port
    if port is not None and settings.uses_embedded_target and first <= port <= last:
        problems.append(
            f"PROMETHEUS_PORT={port} is one of the embedded target's ports ({first}-{last}, from "
            "LOCAL_BASE_PORT): choose another PROMETHEUS_PORT or LOCAL_BASE_PORT"
        )
    if port is not None and settings.ui and port == settings.ui_port:
        problems.append(f"PROMETHEUS_PORT={port} is UI_PORT too: give the metrics endpoint a port of its own")
    return problems


def _agent_problems(settings: DeclaredSettings) -> list[str]:
    if settings.agent_protocol != "seed":
        return []
    if settings.agent_script is None:
        return ["AGENT_PROTOCOL=seed needs AGENT_SCRIPT, the agent that speaks it (Akrida's own speaks `akrida`)"]
    problems = []
    if not is_scenario_file(settings.scenario) and settings.scenario not in SEED_SCENARIOS:
        problems.append(
            f"SCENARIO={settings.scenario} needs holder commands that AGENT_PROTOCOL=seed does not carry (it has "
            "start, ping_mediator, receiveInvitation, shutdown): choose one of "
            + ", ".join(SEED_SCENARIOS)
            + ", or a scenario file of your own"
        )
    for name, value, why in (
        ("STORM_AT", settings.storm_at is not None, "drops connections with a command the seed lacks"),
        ("HOLDER_WALLETS=keep", settings.holder_wallets == "keep", "needs wallets kept on disk"),
        (f"PICKUP_STRATEGY={settings.pickup_strategy}", settings.pickup_strategy != "implicit", "is not sent to it"),
    ):
        if value:
            problems.append(f"{name} {why}: AGENT_PROTOCOL=seed cannot serve it; unset it")
    return problems


def _profile_problems(settings: DeclaredSettings) -> list[str]:
    if settings.target_profile_pid is not None and not settings.target_profile:
        return ["TARGET_PROFILE_PID names a process to profile, but TARGET_PROFILE is off: set TARGET_PROFILE=1"]
    # A target of one's own without TARGET_PROFILE_PID is told at the run (Run._profile_target), not
    # here: a run aimed at the embedded target is re-read with its MEDIATION_URL, and looks like one's own.
    return []


def _target_metrics_problems(settings: DeclaredSettings) -> list[str]:
    if not settings.target_prometheus:
        unused = [name for name, value in (("TARGET_PROMETHEUS_SELECTOR", settings.target_prometheus_selector),
                  ("TARGET_PROMETHEUS_QUERIES", settings.target_prometheus_queries)) if value]  # fmt: skip
        return [f"{name} is set but TARGET_PROMETHEUS is not: set the Prometheus server's URL" for name in unused]
    return query_file_problems(settings.target_prometheus_queries) if settings.target_prometheus_queries else []


def _silence_problems(settings: DeclaredSettings) -> list[str]:
    if settings.churn_disconnect != "silent":
        return []
    if settings.scenario != "mediator_churn":
        return [f"CHURN_DISCONNECT=silent applies to SCENARIO=mediator_churn, not {settings.scenario}: unset it"]
    if settings.pickup_strategy not in SOCKET_PICKUPS:
        return [
            f"CHURN_DISCONNECT=silent silences the holder's open WebSocket, and PICKUP_STRATEGY="
            f"{settings.pickup_strategy} keeps none open: use {' or '.join(SOCKET_PICKUPS)}"
        ]
    return []


def _schedule_problems(settings: DeclaredSettings) -> list[str]:
    if settings.schedule == "closed":
        return []
    if not scenario_of(settings.scenario).scheduled:
        offered = ", ".join(name for name, scenario in _SCENARIOS.items() if scenario.scheduled)
        return [f"SCHEDULE={settings.schedule} is offered by {offered}; SCENARIO={settings.scenario} runs its closed "
                "loop: set SCHEDULE=closed"]  # fmt: skip
    if settings.scenario != "mediator_hold" and settings.wait_max <= 0:
        return [f"SCHEDULE={settings.schedule} spaces each holder's requests by the mean of WAIT_MIN and WAIT_MAX, "
                "which is 0: raise WAIT_MAX"]  # fmt: skip
    return []


def _storm_problems(settings: DeclaredSettings) -> list[str]:
    if settings.storm_at is None:
        return []
    if settings.storm_at >= settings.duration:
        ends = "the stages end" if settings.stages else f"RUN_TIME={settings.run_time}s ends the run"
        return [
            f"STORM_AT={settings.storm_at}s is not within the run ({ends} after {settings.duration}s): "
            "give a time before the end"
        ]
    scenario = scenario_of(settings.scenario)
    if not scenario.needs_mediator and not (scenario.file and settings.with_mediation):
        return [f"STORM_AT drops the holders' connections to the mediator; SCENARIO={settings.scenario} has none"]
    return []


def _load_shape_problems(settings: DeclaredSettings) -> list[str]:
    problems = _search_problems(settings)
    if settings.arrival_rate is None:
        return problems
    if settings.stages:
        problems.append(
            "ARRIVAL_RATE and STAGES are both set: keep one (STAGES shapes the whole run; ARRIVAL_RATE "
            "starts holders at a fixed rate up to USERS)"
        )
    # SPAWN_RATE at its default is the same as unset (.env.example writes it out): only another value conflicts.
    if settings.spawn_rate != DEFAULT_SPAWN_RATE:
        problems.append(
            f"ARRIVAL_RATE={settings.arrival_rate:g} and SPAWN_RATE={settings.spawn_rate:g} both say how fast holders "
            "start: keep ARRIVAL_RATE and unset SPAWN_RATE"
        )
    return problems


def _search_problems(settings: DeclaredSettings) -> list[str]:
    if settings.find_limit is None:
        return []
    for name, set_ in (("STAGES", bool(settings.stages)), ("ARRIVAL_RATE", settings.arrival_rate is not None)):
        if set_:
            return [f"FIND_LIMIT and {name} both shape the load: keep one"]
    needed = search_time_needed(settings.find_limit, settings.users, settings.spawn_rate)
    if settings.run_time < needed:
        step_holders, step_seconds = settings.find_limit
        return [
            f"RUN_TIME={settings.run_time}s is too short for FIND_LIMIT={step_holders}/{step_seconds}s up to "
            f"USERS={settings.users}: every step held needs at least {needed}s in all: raise RUN_TIME to {needed}s or "
            "more (it caps the search; the search stops by itself at the limit)"
        ]
    return []
