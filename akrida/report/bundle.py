"""The run bundle: everything a run leaves in results/<run-id>/, finished in one place.

`finish()` is called at the end of every run, also a failed or interrupted one, and `akrida report`
calls `rebuild()` to write the summary again from the files alone.
"""

from __future__ import annotations

import csv
from pathlib import Path

from akrida.report import charts
from akrida.report.errors import BundleError
from akrida.report.junit import write_junit
from akrida.report.manifest import Manifest, mark_if_abandoned, now
from akrida.report.outcomes import write_outcomes
from akrida.report.progress import HISTORY_FILE
from akrida.report.summary import Findings, gather, render_html, render_markdown
from akrida.report.window_gates import judge_gates
from akrida.report.windows import planned_levels
from akrida.slo import parse_gates

SUMMARY_MD = "summary.md"
SUMMARY_HTML = "summary.html"


def finish(run_dir: Path, manifest: Manifest, complete: bool) -> Findings:
    """Evaluates the gates, draws the charts, writes summary.md, summary.html, junit.xml and manifest.json."""
    manifest.ended_at = manifest.ended_at or now()
    if manifest.status != "abandoned":  # a run found killed stays so named when its report is rebuilt
        manifest.status = "complete" if complete else "incomplete"
    gates = parse_gates(manifest.config.get("SLO", ""))
    # A search's steps are its windows (limit.json); USERS is only its ceiling, never meant to be held.
    levels = frozenset() if manifest.config.get("FIND_LIMIT") else planned_levels(manifest.config, manifest.users)
    findings = gather(run_dir, [], complete, levels, slo=gates, planned_holders=manifest.users)
    if findings.limit is not None or manifest.config.get("FIND_LIMIT"):
        # A search's SLO is its criterion, judged step by step (limit.json), not a gate of the whole run.
        manifest.limit = findings.limit.summary() if findings.limit is not None else {"found": False, "ended": ""}
    else:
        findings.gates = judge_gates(
            gates, findings.windows, findings.outcomes, findings.steps, _duration(run_dir, manifest), bool(levels)
        )
    _write_outcomes(run_dir, findings)
    manifest.verdict = findings.verdict
    manifest.gates = [
        {"gate": r.gate.text.strip(), "measured": r.measured, "passed": r.passed, "where": r.where, "note": r.note}
        for r in findings.gates
    ]
    charts.latency_chart(run_dir)
    charts.load_chart(run_dir)
    charts.generator_chart(run_dir, findings.health_samples)
    charts.target_chart(run_dir, findings.target)
    (run_dir / SUMMARY_MD).write_text(render_markdown(findings, manifest))
    (run_dir / SUMMARY_HTML).write_text(render_html(findings, manifest))
    write_junit(run_dir, findings, manifest)
    manifest.write(run_dir)
    return findings


def _write_outcomes(run_dir: Path, findings: Findings) -> None:
    """outcomes.csv: the whole run's and each steady-state window's outcomes, for tools to read."""
    if not findings.outcomes:
        return  # no timeline: Locust's own CSV is all there is
    scoped = [("run", "the whole run", findings.outcomes)]
    scoped += [
        (f"window {number}", steady.window.describe(), steady.steps)
        for number, steady in enumerate(findings.windows, 1)
        if steady.steps
    ]
    write_outcomes(run_dir, scoped)


def rebuild(run_dir: Path) -> Findings:
    try:
        manifest = Manifest.read(run_dir)
    except (OSError, ValueError, TypeError) as error:
        raise BundleError(f"{run_dir / 'manifest.json'} is not a readable manifest ({error})") from None
    if mark_if_abandoned(run_dir, "`akrida report`") is not None:
        manifest = Manifest.read(run_dir)
    try:
        return finish(run_dir, manifest, complete=manifest.status == "complete")
    except (ValueError, KeyError, TypeError) as error:
        raise BundleError(f"the files of {run_dir} cannot be read ({type(error).__name__}: {error})") from None


def _duration(run_dir: Path, manifest: Manifest) -> float:
    """Seconds of load, from Locust's history (the run may have ended early)."""
    try:
        with open(run_dir / HISTORY_FILE, newline="") as handle:
            stamps = [float(row["Timestamp"]) for row in csv.DictReader(handle) if row.get("Name") == "Aggregated"]
    except (OSError, KeyError, ValueError):
        stamps = []
    if len(stamps) >= 2 and stamps[-1] > stamps[0]:
        return stamps[-1] - stamps[0]
    return float(manifest.run_time_s)
