"""The live latency histogram (akrida_request_duration_seconds) counts the successes only: a ping that
timed out after 60 s is a failure, not a latency, and must not reach the quantiles a dashboard draws.

Real Locust: its Environment and local runner, and requests fired through its request event, as a
user's steps fire them; the endpoint's families read from the runner as they do in a run. It runs in
a process of its own: a Locust runner's greenlets in a pytest-xdist worker keep the worker from
exiting."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

SCRIPT = r"""
import json
from locust import User
from locust.env import Environment
from akrida.agent.errors import CommandFailed
from akrida.report.exposition import render
from akrida.scenarios.live_outcomes import keep_live_outcomes
from akrida.scenarios.metrics import families


class Idle(User):
    pass


environment = Environment(user_classes=[Idle])
runner = environment.create_local_runner()
keep_live_outcomes(environment)
fire = environment.events.request.fire
for ms in (20.0, 30.0, 40.0):
    fire(request_type="didcomm", name="mediator_ping", response_time=ms, response_length=0, exception=None)
timeout = CommandFailed("pingMediator", "timeout", "no answer from the mediator in 60000 ms")
fire(request_type="didcomm", name="mediator_ping", response_time=60_000.0, response_length=0, exception=timeout)
lines = render(families(environment)).splitlines()
runner.quit()
print(json.dumps(dict(line.rsplit(" ", 1) for line in lines if line.startswith("akrida_"))))
"""


def test_a_timeout_is_counted_as_a_failure_and_left_out_of_the_latency():
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.splitlines()[-1])
    labels = 'step="mediator_ping",type="didcomm"'
    assert got[f"akrida_requests_total{{{labels}}}"] == "4"
    assert got[f'akrida_failures_total{{kind="timeout",{labels}}}'] == "1"
    assert got[f"akrida_request_duration_seconds_count{{{labels}}}"] == "3"
    assert float(got[f"akrida_request_duration_seconds_sum{{{labels}}}"]) == 0.09
    assert got[f'akrida_request_duration_seconds_bucket{{{labels},le="0.05"}}'] == "3"
    assert got[f'akrida_request_duration_seconds_bucket{{{labels},le="120"}}'] == "3"
