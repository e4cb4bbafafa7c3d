"""The short summary printed at the end of a run."""

from __future__ import annotations

from pathlib import Path

from akrida.report.stats import read_failures, read_steps


def summarize(run_dir: Path) -> tuple[str, int, int]:
    """Returns (text, target failures, harness failures)."""
    steps = read_steps(run_dir)
    if not steps:
        return f"no statistics were written ({run_dir / 'locust_stats.csv'} is missing or empty)", 0, 0
    header = (
        f"{'type':<9} {'step':<22} {'count':>7} {'fails':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>7}"
    )
    lines = [header, "-" * len(header)]
    for step in sorted(steps, key=lambda s: (s.harness, s.request_type, s.name)):
        lines.append(
            f"{step.request_type:<9} {step.name:<22} {step.count:>7} {step.failures:>6} "
            f"{step.median_ms:>8.0f} {step.p95_ms:>8.0f} {step.p99_ms:>8.0f} {step.rps:>7.2f}"
        )
    target_failures = sum(s.failures for s in steps if not s.harness)
    harness_failures = sum(s.failures for s in steps if s.harness)
    lines.append("")
    lines.append(f"failures of the system under test: {target_failures}")
    lines.append(f"failures of the harness (agents, ports, protocol): {harness_failures}")
    failures = read_failures(run_dir)
    if failures:
        lines.append("most frequent errors:")
        for failure in sorted(failures, key=lambda f: -f.occurrences)[:5]:
            lines.append(f"  {failure.occurrences:>5} x {failure.request_type} {failure.name}: {failure.error[:160]}")
    return "\n".join(lines), target_failures, harness_failures
