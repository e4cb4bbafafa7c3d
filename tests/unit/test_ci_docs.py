"""docs/ci.md: its pipelines are valid YAML that keep akrida's exit code and the results, and its
junit.xml example is what the writer writes."""

from __future__ import annotations

import re

import yaml

from akrida.report.gates import evaluate
from akrida.report.health import judge
from akrida.report.junit import JUNIT_FILE, render
from akrida.report.manifest import Manifest
from akrida.report.stats import StepStats
from akrida.report.summary import Findings
from akrida.slo import parse_gates
from tests.conftest import ROOT

PAGE = (ROOT / "docs" / "ci.md").read_text()


def fenced(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", PAGE, re.MULTILINE | re.DOTALL)


def test_the_pipelines_call_akrida_and_keep_the_results():
    github, gitlab = (yaml.safe_load(block) for block in fenced("yaml"))
    steps = github["jobs"]["load"]["steps"]
    run = next(step for step in steps if step.get("id") == "load")["run"]
    assert ".venv/bin/akrida run" in run and "make run" not in run
    assert 'exit "$code"' in run  # the step ends with akrida's own code
    upload = next(step for step in steps if str(step.get("uses", "")).startswith("actions/upload-artifact"))
    assert upload["if"] == "always()" and upload["with"]["path"] == "results/"

    job = gitlab["load-test"]
    assert ".venv/bin/akrida run" in job["script"] and "make run" not in " ".join(job["script"])
    assert job["artifacts"]["when"] == "always" and "results/" in job["artifacts"]["paths"]
    assert job["artifacts"]["reports"]["junit"] == f"results/*/{JUNIT_FILE}"
    assert job["allow_failure"]["exit_codes"] == [4]


def test_the_junit_example_is_what_a_run_writes():
    (example,) = fenced("xml")
    steps = [StepStats("didcomm", "ping_mediator", 12000, 0, 40.0, {"95%": 730.0})]
    gates = evaluate(parse_gates("p95(ping_mediator) < 500ms; fail_ratio < 0.01"), steps, duration_s=300)
    findings = Findings(steps=steps, failures=[], gates=gates, delivery=None, health=judge([]), complete=True)
    run_id = "20261204-103000-mediator_ping"
    manifest = Manifest(run_id, "mediator_ping", 50, 5.0, 300, "2026-12-04T10:30:00Z")
    assert render(findings, manifest).decode() == example
