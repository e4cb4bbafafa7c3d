"""junit.xml: the SLO gates as a JUnit report, read back as a CI system reads it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from akrida.report.gates import evaluate
from akrida.report.health import judge
from akrida.report.junit import write_junit
from akrida.report.manifest import Manifest
from akrida.report.stats import StepStats
from akrida.report.summary import Findings
from akrida.slo import parse_gates

STEPS = [
    StepStats("didcomm", "ping_mediator", 100, 0, 2.0, {"95%": 450.0}),
    StepStats("didcomm", "startup", 10, 0, 0.2, {"95%": 3000.0}),
]
MANIFEST = Manifest("20261204-101500-mediator_ping", "mediator_ping", 10, 2.0, 60, "2026-12-04T10:15:00Z")


def findings(gates: str, steps: list[StepStats] = STEPS, complete: bool = True) -> Findings:
    results = evaluate(parse_gates(gates), steps, duration_s=50)
    return Findings(steps=steps, failures=[], gates=results, delivery=None, health=judge([]), complete=complete)


def read(path: Path) -> tuple[ET.Element, list[ET.Element]]:
    root = ET.parse(path).getroot()
    return root, list(root.iter("testcase"))


def test_a_breached_gate_is_a_failure_element(tmp_path):
    path = write_junit(tmp_path, findings("p95(ping_mediator) < 500ms; p95(startup) < 1s"), MANIFEST)
    assert path == tmp_path / "junit.xml"
    root, cases = read(path)
    assert [case.get("name") for case in cases] == ["p95(ping_mediator) < 500ms", "p95(startup) < 1s"]
    held, breached = cases
    assert held.find("failure") is None and held.find("error") is None
    failure = breached.find("failure")
    assert failure is not None, ET.tostring(breached)
    assert failure.get("message") == "FAIL  p95(startup) < 1s  (measured 3000ms)"
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "0")
    assert (root.get("tests"), root.get("failures")) == ("2", "1")
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["verdict"] == "SLO BREACHED" and properties["run_id"] == MANIFEST.run_id


def test_gates_that_hold_have_no_failure(tmp_path):
    root, cases = read(write_junit(tmp_path, findings("p95(ping_mediator) < 500ms; fail_ratio < 0.01"), MANIFEST))
    assert len(cases) == 2 and all(case.find("failure") is None for case in cases)
    assert root.get("failures") == "0"
    assert "measured 450ms" in (cases[0].findtext("system-out") or "")


def test_a_gate_on_a_step_that_never_ran_fails(tmp_path):
    _, cases = read(write_junit(tmp_path, findings("p95(basic_message) < 1s"), MANIFEST))
    assert "never ran" in (cases[0].find("failure").get("message") or "")  # type: ignore[union-attr]


def test_without_gates_the_test_is_that_no_request_failed(tmp_path):
    failing = [*STEPS, StepStats("harness", "startup", 3, 3, 0.0)]
    _, cases = read(write_junit(tmp_path, findings("", failing), MANIFEST))
    assert [case.get("name") for case in cases] == ["no request failed"]
    assert "failures of the harness: 3" in (cases[0].find("failure").get("message") or "")  # type: ignore[union-attr]
    _, cases = read(write_junit(tmp_path, findings("", STEPS), MANIFEST))
    assert cases[0].find("failure") is None


def test_an_incomplete_run_is_an_error_not_a_pass(tmp_path):
    root, cases = read(write_junit(tmp_path, findings("p95(ping_mediator) < 500ms", complete=False), MANIFEST))
    assert cases[0].get("name") == "run completed" and cases[0].find("error") is not None
    assert root.get("errors") == "1"


def test_names_and_messages_are_escaped(tmp_path):
    # `<` in every gate, quotes and ampersands in a message: the file stays well-formed XML.
    _, cases = read(
        write_junit(
            tmp_path, findings('p95(a&b "x") < 1ms', [StepStats("didcomm", 'a&b "x"', 1, 0, 1, {"95%": 5.0})]), MANIFEST
        )
    )
    assert cases[0].get("name") == 'p95(a&b "x") < 1ms' and cases[0].find("failure") is not None
