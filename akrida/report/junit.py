"""The run's verdict as JUnit XML (`junit.xml`), the test report format CI systems already read.

Each SLO gate is a test case, and a breached gate is a `<failure>`: GitHub Actions, GitLab CI and
Jenkins then show which gate broke and its measured value without anyone opening the bundle. A run
without gates has the one test its exit code follows: no request failed. A run that did not complete
has an `<error>` test case, so a CI page never shows an interrupted run as green.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from akrida.report.manifest import Manifest
from akrida.report.summary import Findings

JUNIT_FILE = "junit.xml"
SUITE = "akrida"  # the class name of every test case, which CI systems group by


@dataclass(frozen=True)
class Case:
    name: str
    failure: str | None = None  # why it failed, in a line; None: it passed
    error: str | None = None  # the run could not judge it (incomplete)
    output: str = ""  # shown beside it: the measured value


def cases(findings: Findings, manifest: Manifest) -> list[Case]:
    """The test cases of a run, in the order its exit code is decided (akrida.lifecycle.exit_code_for)."""
    found: list[Case] = []
    if not findings.complete:
        why = manifest.abandoned or "the run did not complete (interrupted, or Locust or a host failed)"
        found.append(Case("run completed", error=f"{manifest.status}: {why}"))
    if findings.limit is not None:
        # A search's answer is its success, whatever limit it found.
        found.append(Case("FIND_LIMIT search", output="\n".join(findings.limit.lines())))
    elif findings.gates:
        for result in findings.gates:
            line = result.line()
            found.append(Case(result.gate.text.strip(), failure=None if result.passed else line, output=line))
    else:
        failed = findings.target_failures + findings.harness_failures
        counts = (
            f"failures of the system under test: {findings.target_failures}; "
            f"failures of the harness: {findings.harness_failures}"
        )
        found.append(Case("no request failed", failure=counts if failed else None, output=counts))
    return found


def render(findings: Findings, manifest: Manifest) -> bytes:
    found = cases(findings, manifest)
    failures = sum(case.failure is not None for case in found)
    errors = sum(case.error is not None for case in found)
    totals = {"tests": str(len(found)), "failures": str(failures), "errors": str(errors)}
    root = ET.Element("testsuites", {"name": f"akrida run {manifest.run_id}", **totals})
    suite = ET.SubElement(
        root,
        "testsuite",
        {"name": f"{SUITE} SLO gates", **totals, "skipped": "0", "timestamp": manifest.started_at,
         "time": f"{float(manifest.run_time_s):g}"},
    )  # fmt: skip
    properties = ET.SubElement(suite, "properties")
    for name, value in (("run_id", manifest.run_id), ("scenario", manifest.scenario),
                        ("users", str(manifest.users)), ("verdict", findings.verdict)):  # fmt: skip
        ET.SubElement(properties, "property", {"name": name, "value": value})
    for case in found:
        element = ET.SubElement(suite, "testcase", {"classname": SUITE, "name": case.name, "time": "0"})
        if case.failure is not None:
            ET.SubElement(element, "failure", {"message": case.failure, "type": "SLOBreach"}).text = case.failure
        if case.error is not None:
            ET.SubElement(element, "error", {"message": case.error, "type": "Incomplete"}).text = case.error
        if case.output:
            ET.SubElement(element, "system-out").text = case.output
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def write_junit(run_dir: Path, findings: Findings, manifest: Manifest) -> Path:
    path = run_dir / JUNIT_FILE
    path.write_bytes(render(findings, manifest))
    return path
