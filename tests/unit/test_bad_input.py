"""Bad input through the real CLI (`akrida check`, `akrida report`): each case exits with the right
code, names the setting or file and the fix in one message, shows no traceback, leaks no secret and
leaves nothing behind. `akrida check` refuses what `akrida run` would refuse before it starts."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from akrida.settings import SETTINGS


def invitation(**fields) -> str:
    message = {"@type": "https://didcomm.org/out-of-band/1.1/invitation", "@id": "7a1c", **fields}
    encoded = base64.urlsafe_b64encode(json.dumps(message).encode()).decode().rstrip("=")
    return f"http://127.0.0.1:9/?oob={encoded}"


def akrida(tmp_path: Path, *arguments: str, env_file: bytes | None = None, **settings: str):
    environment = {k: v for k, v in os.environ.items() if k not in {s.env for s in SETTINGS}}
    environment.update(settings)
    # A state folder of its own: no embedded target of another test or of the user is seen.
    environment["AKRIDA_LOCAL_STATE_DIR"] = str(tmp_path / "state")
    if env_file is not None:
        (tmp_path / ".env").write_bytes(env_file)
    return subprocess.run(
        [sys.executable, "-m", "akrida.cli", *arguments], cwd=tmp_path, env=environment,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


ENDPOINT = {"services": [{"id": "#inline", "type": "did-communication", "serviceEndpoint": "http://127.0.0.1:9"}]}

CASES = [
    # (id, settings, .env contents, exit code, words the message must hold)
    ("timeout-infinite", {"AGENT_TIMEOUT": "inf"}, None, 2, "AGENT_TIMEOUT='inf': expected a finite number"),
    ("timeout-beyond-node", {"AGENT_TIMEOUT": "2147484"}, None, 2, "AGENT_TIMEOUT='2147484': expected a finite"),
    ("spawn-rate-infinite", {"SPAWN_RATE": "inf"}, None, 2, "SPAWN_RATE='inf'"),
    ("wait-nan", {"WAIT_MIN": "nan"}, None, 2, "WAIT_MIN='nan'"),
    ("run-time-without-unit", {"RUN_TIME": "1h30"}, None, 2, "RUN_TIME='1h30': expected a duration"),
    ("invitation-without-id", {"MEDIATION_URL": invitation(**{"@id": None}, **ENDPOINT)}, None, 2,
     "the invitation has no @id"),
    ("services-not-a-list", {"MEDIATION_URL": invitation(services="http://127.0.0.1:9")}, None, 2,
     "services must be a list"),
    ("endpoint-port-out-of-range",
     {"MEDIATION_URL": invitation(services=[{"id": "#a", "serviceEndpoint": "http://127.0.0.1:99999"}])}, None, 2,
     "has an invalid port"),
    ("env-file-garbage-line", {}, b"USERS=3\nthis is not a setting\n", 2, ".env line 2: cannot read"),
    ("env-file-not-utf8", {}, b"USERS=3\nSLO=p95(x) < 5\xff\n", 2, ".env: not UTF-8 text"),
    ("aws-without-operator-cidr", {"CLOUD": "aws", "TARGET_CIDR": "198.51.100.20/32"}, None, 2,
     "OPERATOR_CIDR is not set"),
    ("aws-operator-half-the-internet", {"CLOUD": "aws", "OPERATOR_CIDR": "0.0.0.0/1",
                                        "TARGET_CIDR": "198.51.100.20/32"}, None, 2,
     "OPERATOR_CIDR=0.0.0.0/1 opens the hosts to 2,147,483,648 addresses"),
    ("aws-ipv6-target", {"CLOUD": "aws", "OPERATOR_CIDR": "203.0.113.7/32", "TARGET_CIDR": "2001:db8::/64"}, None, 2,
     "TARGET_CIDR=2001:db8::/64: the AWS hosts take IPv4 networks only"),
    ("headers-with-a-line-break", {"ISSUER_HEADERS": '{"X-Key": "secret-2b7f\\nInjected: 1"}'}, None, 2,
     "ISSUER_HEADERS=***: header names and values must be printable ASCII: no line breaks"),
    ("api-key-with-a-line-break", {"ISSUER_API_KEY": "secret-2b7f\nInjected: 1"}, None, 2,
     "ISSUER_API_KEY=***: expected printable ASCII only"),
    ("api-key-with-a-tab", {"ISSUER_API_KEY": "secret\t2b7f"}, None, 2, "ISSUER_API_KEY=***: expected printable"),
    ("api-key-not-ascii", {"ISSUER_API_KEY": "secret-2b7f\u00e9"}, None, 2, "ISSUER_API_KEY=***: expected printable"),
    ("headers-not-ascii", {"ISSUER_HEADERS": '{"X-Key": "secret-2b7f\u00e9"}'}, None, 2,
     "ISSUER_HEADERS=***: header names and values must be printable ASCII"),
    ("run-time-absurd", {"RUN_TIME": "99999999999999999999999h"}, None, 2,
     "RUN_TIME='99999999999999999999999h': expected a duration of at most 30 days"),
    ("run-time-31-days", {"RUN_TIME": "744h"}, None, 2, "RUN_TIME='744h': expected a duration of at most 30 days"),
    ("stages-absurd", {"STAGES": "720h:10,720h:10"}, None, 2, "STAGES last 5184000s in all: at most 30 days"),
    ("users-full-width", {"USERS": "\uff15"}, None, 2, "USERS='\uff15': expected a whole number"),
    ("users-arabic-indic", {"USERS": "\u0665"}, None, 2, "USERS='\u0665': expected a whole number"),
    ("wait-full-width", {"WAIT_MIN": "\uff11"}, None, 2, "WAIT_MIN='\uff11': expected a finite number"),
    ("run-time-full-width", {"RUN_TIME": "\uff15m"}, None, 2, "RUN_TIME='\uff15m': expected a duration"),
    ("headers-not-json", {"ISSUER_HEADERS": "{x-api-key: secret-2b7f}"}, None, 2,
     "ISSUER_HEADERS=***: expected a JSON"),
    ("local-host-every-interface", {"LOCAL_HOST": "0.0.0.0"}, None, 2,
     "LOCAL_HOST=0.0.0.0 would open the embedded target's admin APIs on every interface"),
    ("users-zero", {"USERS": "0"}, None, 2, "USERS='0': expected a whole number of at least 1"),
    ("users-scientific", {"USERS": "1e3"}, None, 2, "USERS='1e3'"),
    ("spawn-rate-zero", {"SPAWN_RATE": "0"}, None, 2, "SPAWN_RATE='0'"),
    ("run-time-zero", {"RUN_TIME": "0s"}, None, 2, "RUN_TIME='0s': expected a duration of at least 1s"),
    ("run-time-words", {"RUN_TIME": "5 minutes"}, None, 2, "RUN_TIME='5 minutes'"),
    ("scenario-unknown", {"SCENARIO": "ping"}, None, 2, "SCENARIO='ping': expected one of mediator_ping"),
    ("pickup-unknown", {"PICKUP_STRATEGY": "push"}, None, 2, "PICKUP_STRATEGY='push'"),
    ("port-range-reversed", {"AGENT_PORT_RANGE": "11000-10000"}, None, 2, "AGENT_PORT_RANGE='11000-10000'"),
    ("port-range-privileged", {"AGENT_PORT_RANGE": "80-90"}, None, 2, "expected 1024 <= FIRST"),
    ("port-range-too-small", {"SCENARIO": "connection", "WITH_MEDIATION": "false", "USERS": "5",
                              "AGENT_PORT_RANGE": "20000-20002"}, None, 2,
     "AGENT_PORT_RANGE=20000-20002 gives 3 inbound port(s) for 5 holders"),
    ("mediation-url-not-a-url", {"MEDIATION_URL": "not-a-url"}, None, 2, "MEDIATION_URL='not-a-url'"),
    ("mediation-url-garbage-oob", {"MEDIATION_URL": "http://127.0.0.1:9/?oob=!!!"}, None, 2,
     "is not a base64url-encoded JSON invitation"),
    ("mediator-unreachable", {"MEDIATION_URL": invitation(**ENDPOINT)}, None, 3, "target check failed"),
    ("issuer-url-ftp", {"ISSUER_URL": "ftp://x"}, None, 2, "ISSUER_URL='ftp://x': expected an http(s) URL"),
    ("issuer-url-no-scheme", {"ISSUER_URL": "127.0.0.1:8031"}, None, 2, "ISSUER_URL='127.0.0.1:8031'"),
    ("slo-syntax", {"SLO": "p95 ping < 5"}, None, 2, "SLO='p95 ping < 5': cannot read"),
    ("slo-unknown-metric", {"SLO": "p97(ping) < 5"}, None, 2, "unknown metric 'p97'"),
    ("slo-ratio-above-one", {"SLO": "fail_ratio < 2"}, None, 2, "fail_ratio is between 0 and 1"),
    ("credential-format", {"CREDENTIAL_FORMAT": "jwt"}, None, 2, "CREDENTIAL_FORMAT='jwt'"),
    ("issuer-type", {"ISSUER_TYPE": "credo"}, None, 2, "ISSUER_TYPE='credo'"),
    ("ledger-network", {"LEDGER_NETWORK": "ftp://x"}, None, 2, "LEDGER_NETWORK='ftp://x'"),
    ("boolean", {"WITH_MEDIATION": "maybe"}, None, 2, "WITH_MEDIATION='maybe': expected true/false"),
    ("holders-per-process-zero", {"HOLDERS_PER_PROCESS": "0"}, None, 2, "HOLDERS_PER_PROCESS='0'"),
    ("wait-max-below-min", {"WAIT_MIN": "200"}, None, 2, "WAIT_MAX=120 is below WAIT_MIN=200"),
    ("workers-above-limit", {"WORKERS": "500"}, None, 2, "WORKERS='500': expected a whole number from 1 to 200"),
    ("cloud-unknown", {"CLOUD": "gcp"}, None, 2, "CLOUD='gcp'"),
    ("stages-unreadable", {"STAGES": "2m:lots"}, None, 2, "STAGES='2m:lots'"),
    ("arrival-rate-zero", {"ARRIVAL_RATE": "0"}, None, 2,
     "ARRIVAL_RATE='0': expected a finite number of at least 0.01"),
    ("arrival-rate-negative", {"ARRIVAL_RATE": "-5"}, None, 2, "ARRIVAL_RATE='-5': expected a finite number"),
    ("arrival-rate-words", {"ARRIVAL_RATE": "fast"}, None, 2, "ARRIVAL_RATE='fast': expected a finite number"),
    ("arrival-rate-infinite", {"ARRIVAL_RATE": "inf"}, None, 2, "ARRIVAL_RATE='inf': expected a finite number"),
    ("arrival-rate-with-stages", {"ARRIVAL_RATE": "5", "STAGES": "1m:10"}, None, 2,
     "ARRIVAL_RATE and STAGES are both set: keep one"),
    ("arrival-rate-with-spawn-rate", {"ARRIVAL_RATE": "5", "SPAWN_RATE": "3"}, None, 2,
     "ARRIVAL_RATE=5 and SPAWN_RATE=3 both say how fast holders start: keep ARRIVAL_RATE and unset SPAWN_RATE"),
    ("hold-interval-zero", {"HOLD_PING_INTERVAL": "0s"}, None, 2, "HOLD_PING_INTERVAL='0s'"),
    ("churn-online-zero", {"CHURN_ONLINE": "0s"}, None, 2, "CHURN_ONLINE='0s': expected a duration of at least 1s"),
    ("churn-offline-zero", {"CHURN_OFFLINE": "0"}, None, 2, "CHURN_OFFLINE='0': expected a duration of at least 1s"),
    ("churn-offline-negative", {"CHURN_OFFLINE": "-30s"}, None, 2, "CHURN_OFFLINE='-30s': expected a duration"),
    ("churn-online-garbage", {"CHURN_ONLINE": "often"}, None, 2, "CHURN_ONLINE='often': expected a duration"),
    ("churn-messages-zero", {"CHURN_MESSAGES": "0"}, None, 2, "CHURN_MESSAGES='0'"),
    ("storm-after-the-run", {"STORM_AT": "3m", "RUN_TIME": "2m"}, None, 2,
     "STORM_AT=180s is not within the run (RUN_TIME=120s ends the run after 120s)"),
    ("storm-at-the-end", {"STORM_AT": "60s"}, None, 2, "STORM_AT=60s is not within the run"),
    ("storm-after-the-stages", {"STORM_AT": "5m", "STAGES": "1m:10,1m:0"}, None, 2,
     "STORM_AT=300s is not within the run (the stages end after 120s)"),
    ("storm-garbage", {"STORM_AT": "soon"}, None, 2, "STORM_AT='soon': expected a duration"),
    ("storm-without-mediator", {"STORM_AT": "10s", "SCENARIO": "liveness"}, None, 2,
     "STORM_AT drops the holders' connections to the mediator; SCENARIO=liveness has none"),
    ("nothing-to-check", {}, None, 3, "target: none to check"),
]  # fmt: skip


@pytest.mark.parametrize(("settings", "env_file", "code", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_check_refuses_bad_input_by_name(tmp_path, settings, env_file, code, words):
    result = akrida(tmp_path, "check", env_file=env_file, **settings)
    assert result.returncode == code, result.stdout + result.stderr
    assert words in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert "secret-2b7f" not in result.stdout + result.stderr
    # Nothing was started or half-written: no run folder, no embedded target state.
    assert not (tmp_path / "results").exists() and not (tmp_path / "state" / "state.json").exists()
    assert "settings: valid" not in result.stdout or code == 3


def test_a_named_env_file_that_is_missing_is_an_error(tmp_path):
    result = akrida(tmp_path, "--env-file", "prod.env", "check")
    assert result.returncode == 2
    assert "prod.env: no such settings file" in result.stderr and "Traceback" not in result.stderr


def test_a_corrupt_bundle_is_named_not_a_traceback(tmp_path):
    run = tmp_path / "results" / "20261129-000000-mediator_ping"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text('{"run_id": "x", "scenario": ')  # cut short
    result = akrida(tmp_path, "report", str(run))
    assert result.returncode == 1, result.stderr
    assert "report: " in result.stderr and "manifest.json is not a readable manifest" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_relative_state_folder_is_taken_from_where_akrida_runs():
    # pg_ctl runs as the postgres user (as root), from elsewhere: with a relative AKRIDA_LOCAL_STATE_DIR
    # it was given a relative data folder, found no server there, and `akrida local down` left it running.
    script = "from akrida.local.postgres import LocalPostgres; print(LocalPostgres('127.0.0.1', 9).data_dir)"
    # A folder the postgres user can reach (pytest's own is private to root), so the cluster lives in it.
    folder = Path(tempfile.mkdtemp(prefix="akrida-state-test-", dir="/var/tmp"))
    folder.chmod(0o755)

    def data_dir(state: str) -> str:
        environment = {**os.environ, "AKRIDA_LOCAL_STATE_DIR": state}
        done = subprocess.run([sys.executable, "-c", script], cwd=folder, env=environment, capture_output=True,
                              text=True, timeout=60)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    try:
        assert data_dir("state") == data_dir(str(folder / "state")) == str(folder / "state" / "postgres" / "data")
    finally:
        shutil.rmtree(folder)
