"""Test-wide set-up. Runs before akrida is imported anywhere in the test session."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Tests keep the embedded target's state apart from the user's (`akrida local up`), and hold their
# holder agents to loopback: the agents' own guard refuses any other address (see PROTOCOL.md).
# AKRIDA_TEST_STATE_DIR (with AKRIDA_TEST_BASE_PORT) lets two test sessions run side by side.
os.environ["AKRIDA_LOCAL_STATE_DIR"] = os.environ.get("AKRIDA_TEST_STATE_DIR") or str(ROOT / ".akrida" / "test-local")
os.environ["AKRIDA_AGENT_LOOPBACK_ONLY"] = "1"
# Holders wait 60 to 120 s between pings by default, a wallet's pace; the tests' runs last seconds,
# so unless a test says otherwise its holders ping every 1 to 2 s, to have something to measure.
os.environ.setdefault("WAIT_MIN", "1")
os.environ.setdefault("WAIT_MAX", "2")


def pytest_terminal_summary(terminalreporter) -> None:
    """Names the agent the protocol tests ran against, with the versions it reported."""
    seen = set()
    for reports in terminalreporter.stats.values():
        for report in reports:
            properties = dict(getattr(report, "user_properties", ()))
            if "agent_versions" not in properties:
                continue
            versions = ", ".join(f"{name} {version}" for name, version in sorted(properties["agent_versions"].items()))
            seen.add(f"{properties.get('agent_script', 'agent')}: {versions}")
    if seen:
        terminalreporter.write_sep("-", "agent under test")
        for line in sorted(seen):
            terminalreporter.write_line(line)
