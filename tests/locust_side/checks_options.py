"""Settings as Locust arguments, and SLO gates that set a plain Locust run's exit code.

Run by tests/unit/test_locust_side.py in a pytest process of its own: importing Locust patches the
standard library with gevent, which must come before anything imports ssl, as in a Locust process.
Importing akrida.scenarios.options registers the settings on Locust's parser.
"""

from __future__ import annotations

import gevent
import pytest
from locust.argument_parser import get_parser
from locust.env import Environment

from akrida.scenarios.gating import gate, steps_of
from akrida.scenarios.options import settings_from
from akrida.scenarios.runtime import renew_runtime, runtime_of
from tests.locust_side.locust_options import clean_environ, parse  # noqa: F401 (a fixture, used by name)
from tests.unit.test_settings import invitation_url

pytestmark = pytest.mark.usefixtures("clean_environ")


def test_options_and_variables_both_set_a_setting(monkeypatch):
    url = invitation_url("http://127.0.0.1:8100")
    assert settings_from(parse("--mediation-url", url, "--holders-per-process", "7")).holders_per_process == 7
    monkeypatch.setenv("PICKUP_STRATEGY", "pickup_v2")
    settings = settings_from(parse())
    assert settings.pickup_strategy == "pickup_v2"
    assert settings.mediation_url == ""  # the default


def test_secrets_are_masked_in_the_web_ui():
    parser = get_parser()
    assert {"issuer_api_key", "issuer_headers"} <= set(parser.secret_args_included_in_web_ui)
    assert "mediation_url" in parser.args_included_in_web_ui
    assert "mediation_url" not in parser.secret_args_included_in_web_ui


def test_host_local_settings_come_from_the_host_not_the_master(monkeypatch):
    monkeypatch.setenv("AGENT_ENDPOINT_HOST", "127.0.0.9")
    options = parse()
    # A worker's parsed options after the master's spawn message: the master's values for its arguments.
    vars(options).update({"agent_endpoint_host": "10.0.0.1"})
    assert settings_from(options).agent_endpoint_host == "127.0.0.9"
    with pytest.raises(SystemExit):
        parse("--agent-endpoint-host", "10.0.0.1")


def test_a_bad_value_names_the_setting():
    with pytest.raises(ValueError, match="HOLDERS_PER_PROCESS='0'"):
        settings_from(parse("--holders-per-process", "0"))


def locust_environment(slo: str) -> Environment:
    environment = Environment(parsed_options=parse("--slo", slo))
    for _ in range(9):
        environment.stats.log_request("didcomm", "ping_mediator", 100, 0)
    environment.stats.log_request("didcomm", "ping_mediator", 900, 0)
    environment.stats.log_error("didcomm", "ping_mediator", "timeout")
    return environment


def test_the_runtime_lives_on_the_environment_and_is_renewed_per_test():
    environment = Environment(parsed_options=parse("--holders-per-process", "3"))
    first = runtime_of(environment)
    assert runtime_of(environment) is first and first.settings.holders_per_process == 3
    environment.parsed_options.holders_per_process = "5"  # edited in the web UI before the next test
    assert renew_runtime(environment).settings.holders_per_process == 5
    assert runtime_of(environment) is not first


def test_users_arriving_together_share_one_pool_of_agent_hosts(monkeypatch):
    # Making the pool asks the issuer for its endpoints, which yields to the other users' greenlets,
    # as a network call does in Locust. Each first user must still get the same pool.
    import akrida.scenarios.runtime as runtime_module

    def slow_allowed_hosts(settings, issuer):
        gevent.sleep(0.05)
        return ("127.0.0.1",)

    monkeypatch.setattr(runtime_module, "allowed_hosts", slow_allowed_hosts)
    runtime = runtime_of(Environment(parsed_options=parse("--holders-per-process", "3")))
    pools = gevent.joinall([gevent.spawn(lambda: runtime.hosts) for _ in range(3)])
    assert len({id(greenlet.value) for greenlet in pools}) == 1
    assert runtime.hosts.config.extra_env == {"AKRIDA_AGENT_ALLOWED_HOSTS": "127.0.0.1"}


def test_live_stats_become_the_report_steps():
    (ping,) = steps_of(locust_environment("").stats)
    assert (ping.request_type, ping.name, ping.count, ping.failures) == ("didcomm", "ping_mediator", 10, 1)
    assert ping.median_ms == 100 and ping.latency("max") == 900


@pytest.mark.parametrize(
    ("slo", "code"),
    [
        ("p50(ping_mediator) < 200ms", 0),
        ("p50(ping_mediator) < 50ms", 4),
        ("fail_ratio < 0.05", 4),  # 1 failure in 10 requests
        ("fail_ratio < 0.2", 0),  # gates decide: the failure alone does not fail the run
    ],
)
def test_gates_set_locusts_exit_code(slo, code):
    environment = locust_environment(slo)
    gate(environment)
    assert environment.process_exit_code == code


def test_no_gates_leave_locusts_exit_code_alone():
    environment = locust_environment("")
    assert gate(environment) == [] and environment.process_exit_code is None
