"""Where the project's own files live: the built agent, native libraries and local state."""

from __future__ import annotations

import os
import socket
from pathlib import Path

# AKRIDA_HOME lets an installed copy point at a checkout; by default the package sits in one.
ROOT = Path(os.environ.get("AKRIDA_HOME") or Path(__file__).resolve().parent.parent)
AGENT_DIR = ROOT / "agent"
AGENT_SCRIPT = AGENT_DIR / "dist" / "launch.js"  # the bundled agent behind V8's code cache
STATE_DIR = ROOT / ".akrida"
NATIVE_LIBS = STATE_DIR / "native-libs"
ACAPY_VENV = STATE_DIR / "acapy-venv"
# The embedded target's state (pids, keys, its PostgreSQL cluster). Tests point it elsewhere so that
# they never touch a target the user keeps running with `akrida local up`.
# A relative folder is taken from where akrida runs, once: PostgreSQL's tools run elsewhere (as the
# postgres user), and with a relative data folder `local down` found no server and left it running.
LOCAL_STATE_DIR = Path(os.environ.get("AKRIDA_LOCAL_STATE_DIR") or STATE_DIR / "local").absolute()
LOCUSTFILES = ROOT / "locustfiles"
# The run folder of a Locust process started by `akrida run`: agent logs, health and delivery go there.
RUN_DIR_VARIABLE = "AKRIDA_RUN_DIR"
# A load host's name in the cluster (master, worker-1 …), given to its Locust processes by the driver.
HOST_NAME_VARIABLE = "AKRIDA_HOST_NAME"
# The pid of the `akrida run` that started a Locust process: Locust quits when it is no longer its parent.
PARENT_PID_VARIABLE = "AKRIDA_PARENT_PID"


def host_name() -> str:
    """This load host's name: its name in the cluster where the driver gave one, else the machine's."""
    return os.environ.get(HOST_NAME_VARIABLE) or socket.gethostname()
