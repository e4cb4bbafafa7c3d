import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from akrida.settings import SETTINGS, Scope, Settings, SettingsError, defaults, table
from akrida.settings import setting as declare

ROOT = Path(__file__).resolve().parents[2]


def invitation_url(endpoint: str = "http://127.0.0.1:8100") -> str:
    message = {
        "@type": "https://didcomm.org/out-of-band/1.1/invitation",
        "@id": "1",
        "services": [{"id": "#inline", "type": "did-communication", "serviceEndpoint": endpoint}],
    }
    encoded = base64.urlsafe_b64encode(json.dumps(message).encode()).decode().rstrip("=")
    return f"{endpoint}?oob={encoded}"


def load(**values: str) -> Settings:
    return Settings.load(values, env_file=None)


def test_defaults_are_valid_and_documented():
    settings = load()
    assert settings.scenario == "mediator_ping"
    assert settings.users == 10 and settings.run_time == 60
    assert settings.uses_embedded_target


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("1", True), ("YES", True), ("false", False), ("0", False), ("no", False)]
)
def test_booleans(raw, expected):
    assert load(UI=raw).ui is expected


@pytest.mark.parametrize("raw", ["maybe", "on", "2", "tru"])
def test_bad_boolean_names_setting_value_and_expectation(raw):
    with pytest.raises(SettingsError) as caught:
        load(UI=raw)
    message = str(caught.value)
    assert f"UI='{raw}'" in message
    assert "expected true/false, 1/0 or yes/no" in message


@pytest.mark.parametrize(("raw", "seconds"), [("90", 90), ("90s", 90), ("5m", 300), ("1h30m", 5400), ("1h2m3s", 3723)])
def test_run_time(raw, seconds):
    assert load(RUN_TIME=raw).run_time == seconds


@pytest.mark.parametrize(
    ("variable", "raw", "expected"),
    [
        ("USERS", "abc", "expected a whole number of at least 1"),
        ("USERS", "0", "expected a whole number of at least 1"),
        ("SPAWN_RATE", "fast", "expected a finite number"),
        ("RUN_TIME", "soon", "expected a duration"),
        ("SCENARIO", "nope", "expected one of mediator_ping"),
        ("AGENT_PORT_RANGE", "10-5", "expected"),
        ("AGENT_PORT_RANGE", "20000", "FIRST-LAST"),
        ("ISSUER_URL", "ftp://x", "http(s) URL"),
        ("MEDIATION_URL", "http://127.0.0.1:8100/?foo=1", "invitation URL"),
        ("MEDIATION_URL", "http://127.0.0.1:8100/?oob=notbase64!!", "invitation URL"),
        ("PICKUP_STRATEGY", "carrier-pigeon", "implicit"),
        ("HOLDERS_PER_PROCESS", "0", "expected a whole number from 1 to 5000"),
        ("HOLDERS_PER_PROCESS", "-4", "expected a whole number from 1 to 5000"),
        ("HOLDERS_PER_PROCESS", "many", "expected a whole number from 1 to 5000"),
    ],
)
def test_bad_values_are_named(variable, raw, expected):
    with pytest.raises(SettingsError) as caught:
        load(**{variable: raw})
    assert f"{variable}={raw!r}" in str(caught.value)
    assert expected in str(caught.value)


def test_all_problems_reported_at_once():
    with pytest.raises(SettingsError) as caught:
        load(USERS="x", UI="perhaps")
    assert len(caught.value.problems) == 2


def test_cross_checks():
    with pytest.raises(SettingsError, match="WAIT_MAX=1 is below WAIT_MIN=3"):
        load(WAIT_MIN="3", WAIT_MAX="1")
    with pytest.raises(SettingsError, match="SCENARIO=mediator_ping needs WITH_MEDIATION=true"):
        load(WITH_MEDIATION="false")


def test_valid_target_settings():
    url = invitation_url()
    settings = load(MEDIATION_URL=url, ISSUER_URL="http://127.0.0.1:8031/", ISSUER_API_KEY="k")
    assert settings.mediation_url == url
    assert settings.issuer_url == "http://127.0.0.1:8031"
    assert settings.admin_headers() == {"x-api-key": "k"}
    assert not settings.uses_embedded_target


def test_secrets_never_shown():
    secret = "s3cr3t-admin-key"
    settings = load(ISSUER_API_KEY=secret, ISSUER_HEADERS=json.dumps({"Authorization": "Bearer " + secret}))
    assert secret not in repr(settings)
    assert secret not in json.dumps(settings.redacted())
    with pytest.raises(SettingsError) as caught:
        load(ISSUER_HEADERS="not json " + secret)
    assert secret not in str(caught.value)


def test_environment_wins_over_env_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("USERS=7\nRUN_TIME=2m\n")
    settings = Settings.load({"USERS": "9"}, env_file=env_file)
    assert settings.users == 9 and settings.run_time == 120


def test_round_trip_through_environment():
    settings = load(USERS="3", AGENT_PORT_RANGE="12000-12010", ISSUER_HEADERS='{"a": "b"}')
    assert Settings.from_mapping(settings.as_environment()) == settings


def test_env_example_documents_every_setting_with_its_default():
    text = (ROOT / ".env.example").read_text()
    documented = dict(re.findall(r"^#?\s*([A-Z_]+)=(.*)$", text, re.MULTILINE))
    for name, default in defaults().items():
        assert name in documented, f"{name} missing from .env.example"
        assert documented[name] == default, f"{name}: .env.example says {documented[name]!r}, default is {default!r}"


def test_docs_hold_the_settings_table_as_the_code_declares_it():
    docs = (ROOT / "docs" / "settings.md").read_text()
    printed = subprocess.run(
        [sys.executable, "-m", "akrida.cli", "settings"], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert printed == table()
    assert printed in docs, "docs/settings.md's table differs from `akrida settings`: paste its output there"
    for setting in SETTINGS:
        assert f"| `{setting.env}` |" in printed


def test_anoncreds_against_a_real_target_needs_its_ids(tmp_path):
    target = {"MEDIATION_URL": invitation_url(), "ISSUER_URL": "http://127.0.0.1:8031"}
    with pytest.raises(SettingsError) as caught:
        load(SCENARIO="issue", CREDENTIAL_FORMAT="indy", **target)
    assert "CREDENTIAL_FORMAT=indy needs CRED_DEF_ID" in str(caught.value)
    assert "CREDENTIAL_FORMAT=indy needs the issuer's ledger: set LEDGER_GENESIS_FILE" in str(caught.value)
    with pytest.raises(SettingsError, match=r"LEDGER_GENESIS_FILE=.*: no such file"):
        load(SCENARIO="issue", CREDENTIAL_FORMAT="indy", CRED_DEF_ID="x", LEDGER_GENESIS_FILE=str(tmp_path / "no"))
    genesis = tmp_path / "genesis"
    genesis.write_text("{}\n")  # a file, but not a genesis file: every holder's start would fail
    with pytest.raises(SettingsError, match=r"LEDGER_GENESIS_FILE=.*: not an Indy genesis file: transaction 1 has no"):
        load(SCENARIO="present", CREDENTIAL_FORMAT="indy", CRED_DEF_ID="a:3:CL:1:t", LEDGER_GENESIS_FILE=str(genesis),
             **target)  # fmt: skip
    genesis.write_text('{"reqSignature": {}, "txn": {"data": {}}}\n')
    settings = load(SCENARIO="present", CREDENTIAL_FORMAT="indy", CRED_DEF_ID="a:3:CL:1:t",
                    LEDGER_GENESIS_FILE=str(genesis), **target)  # fmt: skip
    assert settings.ledger_genesis_file == genesis
    # Or the ledger by name, but not both.
    named = load(SCENARIO="issue", CREDENTIAL_FORMAT="indy", CRED_DEF_ID="x", LEDGER_NETWORK="bcovrin-test", **target)
    assert named.ledger_network == "bcovrin-test"
    with pytest.raises(SettingsError, match="LEDGER_NETWORK and LEDGER_GENESIS_FILE are both set"):
        load(LEDGER_NETWORK="bcovrin-test", LEDGER_GENESIS_FILE=str(genesis))
    with pytest.raises(SettingsError, match=r"LEDGER_NETWORK='sovrin': expected one of bcovrin-test"):
        load(LEDGER_NETWORK="sovrin")
    # Scenarios without credentials ignore the format.
    assert load(SCENARIO="mediator_ping", CREDENTIAL_FORMAT="indy", **target).credential_format == "indy"


def test_arrival_rate_replaces_spawn_rate_and_survives_the_trip_to_locust(tmp_path):
    from akrida.execute.locust_command import load_options

    settings = load(ARRIVAL_RATE="2.5", USERS="6")
    assert settings.arrival_rate == 2.5 and settings.start_rate == 2.5
    assert Settings.from_mapping(settings.as_environment()) == settings  # as Locust's process reads it
    assert load_options(settings) == []  # the locustfile's LoadShape reads ARRIVAL_RATE, USERS and RUN_TIME
    # SPAWN_RATE at its default is the same as unset: .env.example writes it out.
    assert load(ARRIVAL_RATE="5", SPAWN_RATE="2").arrival_rate == 5
    assert load().start_rate == 2 and load().arrival_rate is None


def test_schedule_names_its_choices_and_the_scenarios_that_offer_it():
    assert load(SCHEDULE="poisson", SCENARIO="mediator_hold").schedule == "poisson"
    with pytest.raises(SettingsError, match=r"SCHEDULE='hourly'.*closed, fixed, poisson"):
        load(SCHEDULE="hourly")
    with pytest.raises(SettingsError) as caught:
        load(SCHEDULE="fixed", SCENARIO="issue")
    assert "SCHEDULE=fixed is offered by mediator_ping, mediator_hold, mediator_message" in str(caught.value)
    assert "set SCHEDULE=closed" in str(caught.value)
    with pytest.raises(SettingsError, match="which is 0: raise WAIT_MAX"):
        load(SCHEDULE="fixed", WAIT_MIN="0", WAIT_MAX="0")


def test_every_setting_declares_exactly_one_scope():
    """A setting's scope alone decides how it reaches Locust (docs/settings.md, How a setting reaches Locust)."""
    for declared in SETTINGS:
        assert isinstance(declared.scope, Scope), declared.env
    by_scope = {scope: {d.env for d in SETTINGS if d.scope is scope} for scope in Scope}
    assert sum(len(names) for names in by_scope.values()) == len(SETTINGS)
    assert {"USERS", "SPAWN_RATE", "RUN_TIME"} == by_scope[Scope.LOCUST]
    assert {"AGENT_ENDPOINT_HOST", "AGENT_LISTEN_HOST", "LEDGER_GENESIS_FILE"} == by_scope[Scope.HOST]
    assert {"UI", "RESULTS_DIR", "WORKERS"} <= by_scope[Scope.COMMAND]
    with pytest.raises(TypeError, match="scope"):  # a new setting cannot leave its route unsaid
        declare("NEW_SETTING", str, "A setting without a scope.", default="")
