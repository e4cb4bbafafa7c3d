"""The settings' declarations: every one declared once, as a field of DeclaredSettings, with what is worked
out of them (the load's duration, the mediator's invitations, the variables for a child process).

Settings (loading.py) adds their construction; checks.py checks them against each other."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from akrida.catalog import KNOWN_NETWORKS, SEED_SCENARIOS, is_scenario_file
from akrida.catalog import SCENARIOS as _SCENARIOS
from akrida.parsers import (
    InvalidValue,
    choice,
    format_exporter_urls,
    integer,
    number,
    parse_bool,
    parse_cidr,
    parse_count_or_auto,
    parse_duration,
    parse_exporter_urls,
    parse_header_value,
    parse_headers,
    parse_host,
    parse_host_list,
    parse_http_url,
    parse_instance_type,
    parse_invitation_urls,
    parse_label_matchers,
    parse_ledger_network,
    parse_path,
    parse_pid,
    parse_port_range,
    parse_prometheus_url,
    parse_region,
    parse_search_step,
    parse_slo,
    parse_stages,
    parse_text,
)
from akrida.settings.declaring import DECLARED, Scope, Setting, setting
from akrida.settings.sizing import (
    HOLDERS_PER_INVITATION,
    MAX_MEDIATOR_INVITATIONS,
    auto_invitations,
)

SCENARIOS = tuple(_SCENARIOS)
CREDENTIAL_FORMATS = ("ld_proof", "indy")
CLOUDS = ("lab", "aws")
ISSUER_TYPES = ("acapy_v2", "acapy")
HOLDER_WALLET_MODES = ("fresh", "keep")
SCHEDULES = ("closed", "fixed", "poisson")
LOCAL_PORT_SPAN = 10  # ports the embedded target takes from LOCAL_BASE_PORT (akrida.local.stack.PORT_SPAN)
AGENT_PROTOCOLS = ("akrida", "seed")
CHURN_DISCONNECTS = ("close", "silent")
# The pickups that keep a WebSocket to the mediator open, which a silent disconnect silences.
SOCKET_PICKUPS = ("implicit", "pickup_v2_live")
PICKUP_STRATEGIES = ("implicit", "pickup_v1", "pickup_v2", "pickup_v2_live", "none")
AGENT_LOG_LEVELS = ("test", "trace", "debug", "info", "warn", "error", "fatal", "off")
REDACTED = "***"
WILDCARD_ADDRESSES = ("0.0.0.0", "::", "[::]", "*")
DEFAULT_SPAWN_RATE = 2.0
NODE_TIMER_LIMIT_S = 2_147_483  # setTimeout fires at once beyond 2^31 - 1 ms: every wait would "time out"


def parse_scenario(raw: str) -> str:
    """One of SCENARIOS, or a path ending in .py (made absolute here: Locust runs from another folder).
    Whether the file exists and holds one scenario is checked when a run loads it (akrida.userscenario)."""
    value = raw.strip()
    if is_scenario_file(value):
        return str(Path(value).expanduser().absolute())
    try:
        return choice(SCENARIOS)(value)
    except InvalidValue as error:
        raise InvalidValue(f"{error}; or a scenario file of your own, ending in .py") from None


@dataclass(frozen=True)
class DeclaredSettings:
    """Every setting, declared once below. Settings (loading.py) is this with its construction: build one
    with `Settings.load()`."""

    scenario: str = setting(
        "SCENARIO",
        parse_scenario,
        "Scenario to run: " + ", ".join(SCENARIOS) + "; or a scenario file of your own, path/to/file.py "
        "(docs/scenarios.md, Writing a scenario).",
        scope=Scope.LOAD,
        default="mediator_ping",
    )
    users: int = setting(
        "USERS", integer(1), "Number of simulated holders (Locust users).", scope=Scope.LOCUST, default=10
    )
    spawn_rate: float = setting(
        "SPAWN_RATE", number(0.01), "Holders started per second.", scope=Scope.LOCUST, default=DEFAULT_SPAWN_RATE
    )
    run_time: int = setting(
        "RUN_TIME",
        parse_duration,
        "How long the load runs (60s, 5m, 1h30m).",
        scope=Scope.LOCUST,
        default=60,
        show=lambda v: f"{v}s",
    )
    ui: bool = setting(
        "UI", parse_bool, "Start Locust's web UI instead of running headless.", scope=Scope.COMMAND, default=False
    )
    ui_port: int = setting("UI_PORT", integer(1, 65535), "Port of Locust's web UI.", scope=Scope.COMMAND, default=8089)
    prometheus_port: int | None = setting(
        "PROMETHEUS_PORT",
        integer(1, 65535),
        "Port on which the Locust master serves the run's live metrics in Prometheus' text format "
        "(/metrics): per-step requests, failures by kind, latency histograms, holders live, delivery counts, "
        "generator health, the target's samples. Empty: off.",
        scope=Scope.LOAD,
        default=None,
    )
    prometheus_host: str = setting(
        "PROMETHEUS_HOST",
        parse_host,
        "PROMETHEUS_PORT: the address the metrics endpoint listens on. `0.0.0.0` serves every interface "
        "(the cloud firewall never opens the port: reach it through an SSH tunnel).",
        scope=Scope.LOAD,
        default="127.0.0.1",
    )
    mediation_url: str = setting(
        "MEDIATION_URL",
        parse_invitation_urls,
        "Multi-use invitation URL of the mediator under test; several, separated by spaces, spread the "
        "holders evenly across them. Empty: the embedded local mediator.",
        scope=Scope.LOAD,
        default="",
    )
    issuer_url: str = setting(
        "ISSUER_URL",
        parse_http_url,
        "Admin API URL of the ACA-Py issuer under test. Empty: the embedded local issuer.",
        scope=Scope.LOAD,
        default="",
    )
    issuer_type: str = setting(
        "ISSUER_TYPE",
        choice(ISSUER_TYPES),
        "Admin API generation of the issuer/verifier: `acapy_v2` (issue-credential and present-proof 2.0) "
        "or `acapy` (the 1.0 protocols of ACA-Py up to 1.0.x; AnonCreds only).",
        scope=Scope.LOAD,
        default="acapy_v2",
    )
    issuer_api_key: str = setting(
        "ISSUER_API_KEY",
        parse_header_value,
        "Admin API key of the issuer (x-api-key).",
        scope=Scope.LOAD,
        default="",
        secret=True,
    )
    issuer_headers: dict[str, str] = setting(
        "ISSUER_HEADERS",
        parse_headers,
        'Extra admin API headers as JSON, e.g. {"Authorization": "Bearer …"}.',
        scope=Scope.LOAD,
        default_factory=dict,
        secret=True,
    )
    with_mediation: bool = setting(
        "WITH_MEDIATION", parse_bool, "Holders connect through the mediator.", scope=Scope.LOAD, default=True
    )
    pickup_strategy: str = setting(
        "PICKUP_STRATEGY",
        choice(PICKUP_STRATEGIES),
        "How holders collect messages from the mediator: " + ", ".join(PICKUP_STRATEGIES) + ".",
        scope=Scope.LOAD,
        default="implicit",
    )
    agent_port_range: tuple[int, int] = setting(
        "AGENT_PORT_RANGE",
        parse_port_range,
        "Inbound HTTP ports for holders without mediation, FIRST-LAST.",
        scope=Scope.LOAD,
        default=(10000, 10999),
    )
    agent_endpoint_host: str = setting(
        "AGENT_ENDPOINT_HOST",
        parse_host,
        "Host name the target uses to reach holders without mediation.",
        scope=Scope.HOST,
        default="127.0.0.1",
    )
    agent_listen_host: str = setting(
        "AGENT_LISTEN_HOST",
        parse_host,
        "Address the inbound ports of holders without mediation listen on (cluster hosts: their own "
        "address, set by `make run`). `0.0.0.0` listens on every interface.",
        scope=Scope.HOST,
        default="127.0.0.1",
    )
    egress_allow: tuple[str, ...] = setting(
        "EGRESS_ALLOW",
        parse_host_list,
        "Hosts holders may connect to besides the mediator's and the issuer's, comma-separated; "
        "`*` turns the agents' egress allowlist off. A cloud metadata address (169.254.169.254, fd00:ec2::254, "
        "metadata.google.internal …) as ISSUER_URL or MEDIATION_URL is refused unless named here.",
        scope=Scope.LOAD,
        default=(),
        show=lambda v: ",".join(v),
    )
    agent_timeout: float = setting(
        "AGENT_TIMEOUT",
        number(1, NODE_TIMER_LIMIT_S, " (Node's timers stop at 2^31 - 1 ms)"),
        "Seconds a holder waits for any one answer.",
        scope=Scope.LOAD,
        default=60.0,
    )
    agent_log_level: str = setting(
        "AGENT_LOG_LEVEL",
        choice(AGENT_LOG_LEVELS),
        "Log level of the holder agents.",
        scope=Scope.LOAD,
        default="warn",
    )
    agent_log_max_bytes: int = setting(
        "AGENT_LOG_MAX_BYTES",
        integer(4096),
        "Size cap in bytes of each agent process's log (all of its holders), `.log` and `.log.1` together.",
        scope=Scope.LOAD,
        default=1_048_576,
    )
    holders_per_process: int = setting(
        "HOLDERS_PER_PROCESS",
        integer(1, 5000),
        "Holders packed into one agent (Node) process; 1 gives each holder a process of its own.",
        scope=Scope.LOAD,
        default=200,
    )
    agent_script: Path | None = setting(
        "AGENT_SCRIPT",
        parse_path,
        "An agent of your own instead of Akrida's Credo agent: a file run as a program (executable), or with "
        "node (.js) or this Python (.py); it speaks AGENT_PROTOCOL. Akrida's egress allowlist (EGRESS_ALLOW) "
        "is off for it (docs/agents.md). Empty: the Credo agent.",
        scope=Scope.LOAD,
        default=None,
    )
    agent_protocol: str = setting(
        "AGENT_PROTOCOL",
        choice(AGENT_PROTOCOLS),
        "What AGENT_SCRIPT speaks: `akrida` (agent/PROTOCOL.md: request ids, many holders a process) or `seed` "
        "(one holder a process, one command at a time, replies without ids, the invitation in MEDIATION_URL; "
        "serves " + ", ".join(SEED_SCENARIOS) + " and scenario files of your own).",
        scope=Scope.LOAD,
        default="akrida",
    )
    connections_per_user: int = setting(
        "CONNECTIONS_PER_USER",
        integer(1, 10000),
        "Connections each holder makes per iteration in the connection scenario.",
        scope=Scope.LOAD,
        default=1,
    )
    credential_format: str = setting(
        "CREDENTIAL_FORMAT",
        choice(CREDENTIAL_FORMATS),
        "Credentials of issue, present and mix: ld_proof (W3C JSON-LD, no ledger) or indy (AnonCreds).",
        scope=Scope.LOAD,
        default="ld_proof",
    )
    cred_def_id: str = setting(
        "CRED_DEF_ID",
        parse_text,
        "indy: the credential definition to issue (`akrida target bootstrap --format indy`).",
        scope=Scope.LOAD,
        default="",
    )
    revocable_cred_def_id: str = setting(
        "REVOCABLE_CRED_DEF_ID",
        parse_text,
        "issue_revoke: a revocable credential definition (its issuer needs a tails server).",
        scope=Scope.LOAD,
        default="",
    )
    proof_non_revoked: bool = setting(
        "PROOF_NON_REVOKED",
        parse_bool,
        "indy: proof requests also ask for proof of non-revocation (CRED_DEF_ID must be revocable).",
        scope=Scope.LOAD,
        default=False,
    )
    ledger_network: str = setting(
        "LEDGER_NETWORK",
        parse_ledger_network(tuple(KNOWN_NETWORKS)),
        "indy: the issuer's ledger by name ("
        + ", ".join(f"`{name}`" for name in KNOWN_NETWORKS)
        + ") or the http(s) URL of its genesis file, instead of `LEDGER_GENESIS_FILE`; "
        "fetched once into `.akrida/genesis/`.",
        scope=Scope.LOAD,
        default="",
    )
    ledger_genesis_file: Path | None = setting(
        "LEDGER_GENESIS_FILE",
        parse_path,
        "indy: genesis file of the issuer's Indy ledger, for the holders to read it.",
        scope=Scope.HOST,
        default=None,
    )
    issue_weight: int = setting(
        "ISSUE_WEIGHT", integer(0), "mix scenario: relative weight of issuances.", scope=Scope.LOAD, default=3
    )
    present_weight: int = setting(
        "PRESENT_WEIGHT", integer(0), "mix scenario: relative weight of proofs.", scope=Scope.LOAD, default=1
    )
    stages: tuple[tuple[int, int], ...] = setting(
        "STAGES",
        parse_stages,
        "Load in stages, as k6 writes them: `2m:1000,10m:1000,1m:0` ramps to 1000 holders in 2 minutes, "
        "holds 10 and ramps down in 1. Instead of USERS, SPAWN_RATE and RUN_TIME.",
        scope=Scope.LOAD,
        default=(),
        show=lambda stages: ",".join(f"{seconds}s:{users}" for seconds, users in stages),
    )
    arrival_rate: float | None = setting(
        "ARRIVAL_RATE",
        number(0.01),
        "Open load model: new holders started per second, whatever the target answers, up to USERS, for "
        "RUN_TIME. Instead of SPAWN_RATE; not with STAGES. Empty: Locust's ramp at SPAWN_RATE.",
        scope=Scope.LOAD,
        default=None,
    )
    find_limit: tuple[int, int] | None = setting(
        "FIND_LIMIT",
        parse_search_step,
        "Search for the target's limit: `HOLDERS/TIME` (e.g. 250/2m) adds HOLDERS at SPAWN_RATE each step, up to "
        "USERS, and judges each step over TIME once its holders have joined, against SLO and LIMIT_FAIL_RATIO; "
        "the first step that breaks them ends the search (docs/finding-the-limit.md). RUN_TIME caps the search.",
        scope=Scope.LOAD,
        default=None,
        show=lambda step: f"{step[0]}/{step[1]}s" if step else "",
    )
    preload: int = setting(
        "PRELOAD",
        integer(0, 1_000_000),
        "Holders that take mediation and leave before the load, so the mediator holds their connections "
        "as it would in production; made at whatever rate it takes, not measured. 0: none.",
        scope=Scope.LOAD,
        default=0,
    )
    holder_wallets: str = setting(
        "HOLDER_WALLETS",
        choice(HOLDER_WALLET_MODES),
        "`fresh`: every holder signs up with a new in-memory wallet. `keep`: wallets are kept in WALLETS_DIR, "
        "so the same holders return next run and reconnect with their existing mediation (a mediator that "
        "outlives runs: `akrida local up`, or your own).",
        scope=Scope.LOAD,
        default="fresh",
    )
    wallets_dir: Path = setting(
        "WALLETS_DIR",
        parse_path,
        "HOLDER_WALLETS=keep: where holders' wallets are kept (relative to the working directory). Delete it "
        "to start over, and after the mediator lost its database.",
        scope=Scope.LOAD,
        default=Path(".akrida/wallets"),
    )
    limit_fail_ratio: float = setting(
        "LIMIT_FAIL_RATIO",
        number(0.0001, 1),
        "FIND_LIMIT: a step breaks when this share of the target's requests fail (besides SLO).",
        scope=Scope.LOAD,
        default=0.01,
    )
    hold_ping_interval: int = setting(
        "HOLD_PING_INTERVAL",
        parse_duration,
        "mediator_hold: how often each connected holder trust-pings the mediator (±25 %), e.g. 5m.",
        scope=Scope.LOAD,
        default=300,
        show=lambda v: f"{v}s",
    )
    churn_online: int = setting(
        "CHURN_ONLINE",
        parse_duration,
        "mediator_churn: how long each holder stays online between offline spells (±25 %), e.g. 30s.",
        scope=Scope.LOAD,
        default=30,
        show=lambda v: f"{v}s",
    )
    churn_offline: int = setting(
        "CHURN_OFFLINE",
        parse_duration,
        "mediator_churn: how long each holder stays offline (CHURN_DISCONNECT says how it goes; wallet kept; "
        "±25 %); the issuer sends it CHURN_MESSAGES meanwhile.",
        scope=Scope.LOAD,
        default=15,
        show=lambda v: f"{v}s",
    )
    churn_disconnect: str = setting(
        "CHURN_DISCONNECT",
        choice(CHURN_DISCONNECTS),
        "mediator_churn: how a holder goes away. `close`: it stops pickup and closes its WebSocket, so the "
        "mediator knows at once. `silent`: every packet of its connection is dropped (nftables; needs root) "
        "and the socket stays open, as a phone that lost its network; it comes back on a new socket.",
        scope=Scope.LOAD,
        default="close",
    )
    churn_messages: int = setting(
        "CHURN_MESSAGES",
        integer(1, 1000),
        "mediator_churn: basic messages the issuer sends each holder while it is offline.",
        scope=Scope.LOAD,
        default=3,
    )
    forward_batch: int = setting(
        "FORWARD_BATCH",
        integer(1, 1000),
        "mediator_forward: basic messages the forward sender packs and posts to the mediator for each holder "
        "per iteration.",
        scope=Scope.LOAD,
        default=1,
    )
    storm_at: int | None = setting(
        "STORM_AT",
        parse_duration,
        "Reconnect storm: at this time into the run (e.g. 3m) every holder's connection to the mediator is "
        "dropped at once; they reconnect by themselves. Scenarios with mediation. Empty: no storm.",
        scope=Scope.LOAD,
        default=None,
        show=lambda v: f"{v}s" if v else "",
    )
    schedule: str = setting(
        "SCHEDULE",
        choice(SCHEDULES),
        "When a holder's requests go out (mediator_ping, mediator_hold, mediator_message). `closed`: it waits "
        "WAIT_MIN to WAIT_MAX (mediator_hold: HOLD_PING_INTERVAL ±25 %) after each answer, so a slow target is "
        "asked less and a stall counts once per holder; latencies are timed from each send. `fixed`: its "
        "requests fall due every (WAIT_MIN+WAIT_MAX)/2 s (mediator_hold: HOLD_PING_INTERVAL), whatever the "
        "target answers; `poisson`: at random times with the same mean. On a clock, latencies are timed from "
        "when each request was due and the requests that went out late are counted (docs/results.md).",
        scope=Scope.LOAD,
        default="closed",
    )
    wait_min: float = setting(
        "WAIT_MIN", number(0), "Least seconds a holder waits between iterations.", scope=Scope.LOAD, default=60.0
    )
    wait_max: float = setting(
        "WAIT_MAX", number(0), "Most seconds a holder waits between iterations.", scope=Scope.LOAD, default=120.0
    )
    results_dir: Path = setting(
        "RESULTS_DIR",
        parse_path,
        "Folder that receives one sub-folder per run.",
        scope=Scope.COMMAND,
        default=Path("results"),
    )
    slo: str = setting(
        "SLO",
        parse_slo,
        "Pass/fail gates, e.g. `p95(ping_mediator) < 500ms; fail_ratio < 0.01`. A breach makes `akrida run` exit "
        "with code 4 (`make run` exits 2 on any failure: in CI call `.venv/bin/akrida run`, docs/ci.md); "
        "each run's junit.xml lists the gates.",
        scope=Scope.LOAD,
        default="",
    )
    local_host: str = setting(
        "LOCAL_HOST", parse_host, "Address the embedded target listens on.", scope=Scope.COMMAND, default="127.0.0.1"
    )
    local_base_port: int = setting(
        "LOCAL_BASE_PORT",
        integer(1024, 65000),
        f"First of the ports the embedded target uses (it takes {LOCAL_PORT_SPAN} from here).",
        scope=Scope.COMMAND,
        default=8100,
    )
    mediator_invitations: int = setting(
        "MEDIATOR_INVITATIONS",
        parse_count_or_auto(MAX_MEDIATOR_INVITATIONS),
        "Fresh multi-use invitations the embedded mediator makes for each run, holders spread across them: "
        f"`auto` is one per {HOLDERS_PER_INVITATION} holders (at most {MAX_MEDIATOR_INVITATIONS}); `1` sends every "
        "holder through one invitation, as a mediator that publishes one does: ACA-Py then reads every connection "
        "made through it at each new holder's connection (docs/density.md, What bounds onboarding).",
        scope=Scope.COMMAND,
        default=0,
        show=lambda v: str(v) if v else "auto",
    )
    # --- the target's own metrics (docs/target-metrics.md) ---
    target_metrics: tuple[tuple[str, str], ...] = setting(
        "TARGET_METRICS",
        parse_exporter_urls,
        "Prometheus exporters of the target's hosts (node exporter, process-exporter, postgres exporter), scraped "
        "each second during the run: URLs separated by spaces or commas, each optionally named, e.g. "
        "`mediator=http://10.0.0.5:9256/metrics`. A slow or dead one is named in the summary, never waited on.",
        scope=Scope.LOAD,
        default=(),
        show=format_exporter_urls,
    )
    target_prometheus: str = setting(
        "TARGET_PROMETHEUS",
        parse_prometheus_url,
        "URL of a Prometheus server that scrapes the target's exporters; after the run, the run's window is read "
        "from it with query_range (default queries for the node, process and postgres exporters).",
        scope=Scope.LOAD,
        default="",
    )
    target_prometheus_selector: str = setting(
        "TARGET_PROMETHEUS_SELECTOR",
        parse_label_matchers,
        "TARGET_PROMETHEUS: label matchers that pick the target's series out of everything Prometheus holds, e.g. "
        '`job=~"mediator|wallet-db"`. Empty: every series of those exporters.',
        scope=Scope.LOAD,
        default="",
    )
    target_prometheus_step: int = setting(
        "TARGET_PROMETHEUS_STEP",
        parse_duration,
        "TARGET_PROMETHEUS: seconds between the points read; rates are taken over 4 steps, so no shorter than "
        "Prometheus's scrape interval.",
        scope=Scope.LOAD,
        default=15,
        show=lambda v: f"{v}s",
    )
    target_prometheus_queries: Path | None = setting(
        "TARGET_PROMETHEUS_QUERIES",
        parse_path,
        "TARGET_PROMETHEUS: a file of `METRIC PROMQL` lines that replace or add to the default queries.",
        scope=Scope.LOAD,
        default=None,
    )
    target_profile: bool = setting(
        "TARGET_PROFILE",
        parse_bool,
        "Profile the target without pausing it: the embedded target's ACA-Py processes, or TARGET_PROFILE_PID, for "
        "the run's last TARGET_PROFILE_SECONDS (py-spy `--nonblocking` for ACA-Py, the inspector's CPU profile for "
        "Node); a flame graph of each in target/profiles/ and its top functions in the summary. py-spy needs the "
        "right to trace (root).",
        scope=Scope.LOAD,
        default=False,
    )
    target_profile_pid: int | None = setting(
        "TARGET_PROFILE_PID",
        parse_pid,
        "TARGET_PROFILE: an ACA-Py or Node (Credo) process of your own target on this machine, by pid; it is "
        "checked to be the one named before anything attaches. Empty: the embedded target's.",
        scope=Scope.LOAD,
        default=None,
    )
    target_profile_seconds: int = setting(
        "TARGET_PROFILE_SECONDS",
        integer(1, 600),
        "TARGET_PROFILE: how long each profile records, in seconds.",
        scope=Scope.LOAD,
        default=20,
    )
    # --- the cluster (make provision / run / teardown) ---
    cloud: str = setting(
        "CLOUD",
        choice(CLOUDS),
        "Where `make provision` makes hosts: `lab` (this machine, needs root) or `aws`.",
        scope=Scope.COMMAND,
        default="lab",
    )
    workers: int = setting(
        "WORKERS",
        integer(1, 200),
        "Worker hosts `make provision` makes, besides the master (1 to 200).",
        scope=Scope.COMMAND,
        default=2,
    )
    worker_processes: int = setting(
        "WORKER_PROCESSES",
        integer(0, 256),
        "Locust worker processes per worker host; 0 means one per CPU core.",
        scope=Scope.COMMAND,
        default=0,
    )
    lab_cidr: str = setting(
        "LAB_CIDR",
        parse_cidr,
        "Private network of the lab hosts (`CLOUD=lab`).",
        scope=Scope.COMMAND,
        default="10.200.0.0/24",
    )
    operator_cidr: str = setting(
        "OPERATOR_CIDR",
        parse_cidr,
        "`CLOUD=aws`: your address; SSH opens only to it. Required; 0.0.0.0/0 is refused.",
        scope=Scope.COMMAND,
        default="",
    )
    target_cidr: str = setting(
        "TARGET_CIDR",
        parse_cidr,
        "`CLOUD=aws`: the system under test's addresses; `AGENT_PORT_RANGE` opens only to them. Required.",
        scope=Scope.COMMAND,
        default="",
    )
    aws_region: str = setting(
        "AWS_REGION", parse_region, "`CLOUD=aws`: region of the hosts.", scope=Scope.COMMAND, default="eu-central-1"
    )
    master_instance_type: str = setting(
        "MASTER_INSTANCE_TYPE",
        parse_instance_type,
        "`CLOUD=aws`: the master's instance type.",
        scope=Scope.COMMAND,
        default="c7i.large",
    )
    worker_instance_type: str = setting(
        "WORKER_INSTANCE_TYPE",
        parse_instance_type,
        "`CLOUD=aws`: each worker's instance type.",
        scope=Scope.COMMAND,
        default="c7i.2xlarge",
    )

    @property
    def start_rate(self) -> float:
        """Holders started per second: ARRIVAL_RATE, or SPAWN_RATE."""
        return self.arrival_rate if self.arrival_rate is not None else self.spawn_rate

    @property
    def duration(self) -> int:
        """Seconds of load: the stages' total, or RUN_TIME."""
        return sum(seconds for seconds, _users in self.stages) if self.stages else self.run_time

    @property
    def peak_users(self) -> int:
        """The most holders at once: the highest stage, or USERS."""
        return max(users for _seconds, users in self.stages) if self.stages else self.users

    @property
    def mediation_urls(self) -> tuple[str, ...]:
        """The mediator's invitations (MEDIATION_URL holds one, or several separated by spaces)."""
        return tuple(self.mediation_url.split())

    @property
    def embedded_invitations(self) -> int:
        """How many invitations the embedded mediator makes for this run (MEDIATOR_INVITATIONS)."""
        return self.mediator_invitations or auto_invitations(self.peak_users)

    @property
    def uses_embedded_target(self) -> bool:
        """True when no target is configured, so `akrida run` brings up the local one."""
        return not self.mediation_url and not self.issuer_url

    def admin_headers(self) -> dict[str, str]:
        headers = dict(self.issuer_headers)
        if self.issuer_api_key:
            headers["x-api-key"] = self.issuer_api_key
        return headers

    def secret_values(self) -> list[str]:
        """Every secret this configuration holds (API keys, header values), for masking in output."""
        values: list[str] = []
        for declared in SETTINGS:
            value = getattr(self, declared.attr)
            if declared.secret and value:
                values.extend(value.values() if isinstance(value, dict) else [str(value)])
        return values

    def as_environment(self) -> dict[str, str]:
        """The settings as environment variables, to hand to a child process (secrets included)."""
        env = {}
        for declared in SETTINGS:
            env[declared.env] = declared.show(getattr(self, declared.attr))
        return env

    def redacted(self) -> dict[str, Any]:
        """The settings for humans and reports: secrets replaced by ***."""
        shown: dict[str, Any] = {}
        for declared in SETTINGS:
            value = getattr(self, declared.attr)
            shown[declared.env] = REDACTED if declared.secret and value else declared.show(value)
        return shown


# Every setting, in the order declared (the order of .env.example and the settings table).
SETTINGS: tuple[Setting, ...] = tuple(
    replace(f.metadata[DECLARED], attr=f.name) for f in fields(DeclaredSettings) if DECLARED in f.metadata
)
SECRET_VARIABLES = frozenset(declared.env for declared in SETTINGS if declared.secret)
