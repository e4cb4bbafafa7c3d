"""Prometheus' text format as akrida writes it: histograms from Locust's counts, bounded labels, failure kinds."""

from __future__ import annotations

import re

import pytest

from akrida.report.exposition import MAX_SERIES, Family, failure_kind, render


def lines_of(text: str, name: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        if line.startswith(name):
            key, value = line.rsplit(" ", 1)
            found[key] = value
    return found


def test_a_histogram_from_locusts_response_time_counts():
    latency = Family("akrida_request_duration_seconds", "histogram", "Response time.")
    # Locust's {rounded ms: requests}: three at 4 ms, one at 250 ms (on a bound: le is "at most"), one at 90 s.
    latency.observe_counts({4: 3, 250: 1, 90000: 1}, total_ms=3 * 4 + 250 + 90000, type="didcomm", step="ping")
    text = render([latency])
    got = lines_of(text, "akrida_request_duration_seconds")
    labels = 'step="ping",type="didcomm"'
    assert got[f'akrida_request_duration_seconds_bucket{{{labels},le="0.005"}}'] == "3"
    assert got[f'akrida_request_duration_seconds_bucket{{{labels},le="0.1"}}'] == "3"
    assert got[f'akrida_request_duration_seconds_bucket{{{labels},le="0.25"}}'] == "4"
    assert got[f'akrida_request_duration_seconds_bucket{{{labels},le="60"}}'] == "4"
    assert got[f'akrida_request_duration_seconds_bucket{{{labels},le="+Inf"}}'] == "5"
    assert got[f"akrida_request_duration_seconds_count{{{labels}}}"] == "5"
    assert float(got[f"akrida_request_duration_seconds_sum{{{labels}}}"]) == pytest.approx(90.262)
    assert "# TYPE akrida_request_duration_seconds histogram" in text


def test_label_values_are_escaped():
    family = Family("akrida_requests_total", "counter", "Requests.")
    family.set(1, step='a "quoted"\\step\nname')
    assert 'akrida_requests_total{step="a \\"quoted\\"\\\\step\\nname"} 1' in render([family])


def test_label_sets_are_bounded_and_the_rest_counted():
    family = Family("akrida_requests_total", "counter", "Requests.")
    for index in range(MAX_SERIES + 7):
        family.set(1, step=f"step-{index}")
    text = render([family])
    assert len([line for line in text.splitlines() if line.startswith("akrida_requests_total{")]) == MAX_SERIES
    assert 'akrida_metrics_dropped_series{family="akrida_requests_total"} 7' in text


def test_every_line_is_a_comment_or_a_sample():
    family = Family("akrida_users", "gauge", "Users.")
    family.set(2.5)
    sample = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eEInfNa]+$")
    for line in render([family]).splitlines():
        assert line.startswith("# ") or sample.match(line), line


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (
            "CommandFailed('ping_mediator failed (timeout): mediator trust ping response: no answer within 44990 ms')",
            "timeout",
        ),
        ("CommandFailed('start failed (failed): start failed: Timeout has occurred')", "failed"),
        ("CommandFailed('start failed (local): port in use')", "local"),
        ("CommandFailed('x failed (made_up): y')", "other"),
        ("AgentCrashed('agent process exited with code 1')", "AgentCrashed"),
        ("ControllerError('POST /send-message: 500')", "ControllerError"),
        ("SomethingNew('with a message')", "other"),
        ("no class at all", "other"),
    ],
)
def test_failure_kinds_are_few_whatever_the_message(error, kind):
    assert failure_kind(error) == kind
