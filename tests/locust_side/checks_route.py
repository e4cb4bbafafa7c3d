"""The one route of a setting into a Locust process (docs/settings.md, How a setting reaches Locust).

What akrida gives a Locust process (akrida.execute.locust_command.locust_variables) is read back by
the one reader (akrida.scenarios.options.settings_from), whichever way it was handed over: as the
process's variables (a local run) or as ./.env (each host of a cluster run). And a setting given by
hand to plain `locust -f` is read from ./.env, its variable or its option, the later winning.

Run by tests/unit/test_locust_side.py in a pytest process of its own (Locust first, as in a Locust process).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from locust.argument_parser import get_parser

from akrida.cluster.state import Host
from akrida.execute.distributed import dotenv_text, host_environment
from akrida.execute.local import process_environment
from akrida.execute.locust_command import locust_variables
from akrida.scenarios.options import settings_from
from akrida.settings import SETTINGS, Scope, Settings
from tests.locust_side.locust_options import clean_environ, parse  # noqa: F401 (a fixture, used by name)
from tests.unit.test_settings import invitation_url

pytestmark = pytest.mark.usefixtures("clean_environ")

URL = invitation_url("http://127.0.0.1:8100")


def env_file(**values: str) -> None:
    Path(".env").write_text(dotenv_text(values))


def a_run() -> Settings:
    """A run's settings with a value other than the default in each scope."""
    return Settings.from_mapping(
        {
            "MEDIATION_URL": URL,
            "HOLDERS_PER_PROCESS": "7",  # LOAD
            "ISSUER_HEADERS": '{"Authorization": "Bearer a b"}',  # LOAD, a secret with spaces and quotes
            "USERS": "33",  # LOCUST
            "AGENT_LISTEN_HOST": "127.0.0.5",  # HOST
            "UI_PORT": "9999",  # COMMAND
        }
    )


def read_locust_settings(settings: Settings) -> dict[str, object]:
    return {d.env: getattr(settings, d.attr) for d in SETTINGS if d.scope.reaches_locust}


def test_a_load_setting_is_read_from_each_source_the_later_winning(monkeypatch):
    assert settings_from(parse()).holders_per_process == 200  # the declared default
    env_file(HOLDERS_PER_PROCESS="3")
    assert settings_from(parse()).holders_per_process == 3  # ./.env over the default
    monkeypatch.setenv("HOLDERS_PER_PROCESS", "4")
    assert settings_from(parse()).holders_per_process == 4  # the variable over ./.env
    assert settings_from(parse("--holders-per-process", "5")).holders_per_process == 5  # the option over both
    assert settings_from(None).holders_per_process == 4  # no parser: the variable, then ./.env


def test_a_host_setting_is_read_from_the_variable_then_env_file_and_is_no_option(monkeypatch):
    env_file(AGENT_ENDPOINT_HOST="127.0.0.8")
    assert settings_from(parse()).agent_endpoint_host == "127.0.0.8"
    monkeypatch.setenv("AGENT_ENDPOINT_HOST", "127.0.0.9")
    assert settings_from(parse()).agent_endpoint_host == "127.0.0.9"
    with pytest.raises(SystemExit):
        parse("--agent-endpoint-host", "10.0.0.1")


def test_a_command_setting_is_neither_given_nor_read(monkeypatch):
    assert "UI_PORT" not in locust_variables(a_run())
    # Nonsense for akrida's commands (a web UI on the embedded target's ports, an open admin API) does not
    # stop a Locust process: it is not Locust's to read.
    env_file(UI="true", UI_PORT="8101", LOCAL_HOST="0.0.0.0", MEDIATION_URL=URL)
    monkeypatch.setenv("WORKERS", "0")
    settings = settings_from(parse())
    assert (settings.ui, settings.local_host, settings.workers) == (False, "127.0.0.1", 2)  # the defaults


def test_what_a_local_run_gives_as_variables_is_what_the_process_reads(monkeypatch):
    run = a_run()
    env_file(HOLDERS_PER_PROCESS="1", AGENT_LISTEN_HOST="127.0.0.1")  # a user's ./.env loses to what is given
    # akrida's own environment, with variables of settings this run did not take (--env-file, say).
    inherited = {"PATH": "/usr/bin", "HOLDERS_PER_PROCESS": "2", "UI": "true"}
    environment = process_environment(inherited, run)
    assert environment["PATH"] == "/usr/bin" and "UI" not in environment
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert read_locust_settings(settings_from(parse())) == read_locust_settings(run)


def test_what_a_cluster_host_gives_as_env_file_is_what_its_processes_read():
    run = a_run()
    host = Host("worker-1", "198.51.100.11", "10.0.1.11", "/opt/akrida")
    env_file(**host_environment(run, host, "/opt/akrida/runs/run-1"))
    read = settings_from(parse())
    assert (read.agent_endpoint_host, read.agent_listen_host) == ("198.51.100.11", "10.0.1.11")  # the host's own
    assert read.holders_per_process == 7 and read.issuer_headers == {"Authorization": "Bearer a b"}
    assert read.users == 33 and read.mediation_url == URL


def test_every_scope_is_used_and_only_load_settings_are_options():
    assert {declared.scope for declared in SETTINGS} == set(Scope)
    options = {getattr(action, "env_var", None) for action in get_parser()._actions}
    assert {declared.env for declared in SETTINGS if declared.env in options} == {
        declared.env for declared in SETTINGS if declared.scope is Scope.LOAD
    }
