"""CHURN_DISCONNECT=silent on a cluster: the packet filter that silences holders is each worker host's own.

Each Locust process drops its holders' packets in the filter of the host it runs on (on lab hosts,
the host's network namespace), so that is where the run checks nft and the privilege to use it, and
where it deletes the tables of Locust processes that were killed before they could. The controller's
own filter plays no part. Both run with the host's release (akrida/agent/silence.py), as root or the
cluster's SSH user.
"""

from __future__ import annotations

import shlex

from akrida.cluster.remote import RemoteHost
from akrida.cluster.state import Host
from akrida.settings import SettingsError

# Prints "yes: ..." or, when the host cannot silence, "no: " and silence.py's own message (what to do).
_PROBE = """
from akrida.agent.silence import SilenceUnavailable, probe
try:
    print("yes:", probe())
except SilenceUnavailable as error:
    print("no:", error)
"""
_REMOVE_STALE = """
from akrida.agent.silence import remove_stale_tables
print(" ".join(remove_stale_tables()))
"""


def _python(host: Host, program: str) -> str:
    release = f"{host.root}/current"  # as bin/akrida-locust runs it (playbooks/roles/locust_akrida)
    python, home = shlex.quote(f"{release}/venv/bin/python"), shlex.quote(f"{release}/home")
    return f"PYTHONPATH={home} {python} -c {shlex.quote(program)}"


def check_silence(remote: RemoteHost, host: Host) -> str:
    """The host's answer to "can you silence?"; raises SettingsError naming the host and what to do."""
    answer, _, line = remote.run(_python(host, _PROBE), timeout=60).strip().partition(": ")
    if answer != "yes":
        raise SettingsError([f"{host.name}: {line}"])
    return f"{host.name}: {line}"


def remove_stale_silence(remote: RemoteHost, host: Host) -> list[str]:
    """Deletes the silence tables left on the host by Locust processes that no longer run (killed)."""
    return remote.run(_python(host, _REMOVE_STALE), timeout=60).split()
