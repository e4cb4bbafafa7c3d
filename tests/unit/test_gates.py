import pytest

from akrida.report.gates import evaluate
from akrida.report.stats import StepStats
from akrida.slo import GateSyntaxError, parse_gates


def step(name, count, failures, p95, request_type="didcomm", rps=1.0):
    return StepStats(request_type, name, count, failures, rps, {"95%": p95, "50%": p95 / 2, "99%": p95, "max": p95})


STEPS = [
    step("ping_mediator", 100, 1, 450),
    step("startup", 10, 0, 3000),
    step("startup", 2, 2, 10, request_type="harness"),
]


def test_parses_the_documented_examples():
    gates = parse_gates("p95(ping_mediator) < 500ms; fail_ratio < 0.01\nrps(receive_credential) > 5")
    assert [(g.metric, g.step, g.op, g.value) for g in gates] == [
        ("p95", "ping_mediator", "<", 500.0),
        ("fail_ratio", None, "<", 0.01),
        ("rps", "receive_credential", ">", 5.0),
    ]


def test_seconds_become_milliseconds():
    assert parse_gates("p99(startup) <= 2.5s")[0].value == 2500.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p95 ping < 500", "cannot read"),
        ("p97(ping) < 500", "unknown metric 'p97'"),
        ("rps(ping) > 5ms", "rps takes no unit"),
        ("fail_ratio < 5", "between 0 and 1"),
        ("p95(ping) = 500", "cannot read"),
    ],
)
def test_malformed_gates_are_clear_errors(text, message):
    with pytest.raises(GateSyntaxError, match=message):
        parse_gates(text)


def test_evaluation_reports_measured_values():
    results = evaluate(
        parse_gates("p95(ping_mediator) < 500ms; p95(startup) < 1s; fail_ratio < 0.05; rps(ping_mediator) > 2"),
        STEPS,
        duration_s=50,
    )
    assert [(r.passed, r.measured) for r in results] == [
        (True, 450),
        (False, 3000),  # the harness row of the same name is not a latency of the target
        (True, 3 / 110),  # harness failures count against the run
        (False, 99 / 50),
    ]
    assert results[1].line() == "FAIL  p95(startup) < 1s  (measured 3000ms)"


def test_gate_on_a_step_that_never_ran_fails():
    [result] = evaluate(parse_gates("p95(receive_credential) < 1s"), STEPS, 10)
    assert not result.passed and result.measured is None
    assert "never ran" in result.line()
