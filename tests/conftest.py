"""Test-wide set-up. Runs before akrida is imported anywhere in the test session."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Tests keep the embedded target's state apart from the user's (`akrida local up`), and hold their
# holder agents to loopback: the agents' own guard refuses any other address (see PROTOCOL.md).
os.environ["AKRIDA_LOCAL_STATE_DIR"] = str(ROOT / ".akrida" / "test-local")
os.environ["AKRIDA_AGENT_LOOPBACK_ONLY"] = "1"
