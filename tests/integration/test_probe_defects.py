"""The low defects of the second hostile probe (issue 22), each tried as a user would: a real `akrida`
process, a real Locust, the real embedded target. No test sends anything to a metadata address."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from akrida import paths
from akrida.settings import SETTINGS
from tests.integration.helpers import akrida, describe, invitation_to

pytestmark = pytest.mark.integration

CLOSED_PORT = 9239  # nothing listens here (this test session's range): a target that is not there


def akrida_with(env_file: Path, *arguments: str, timeout: float = 60, **settings: str) -> subprocess.CompletedProcess:
    """`akrida --env-file ENV_FILE ARGUMENTS`, with no setting from this test's environment."""
    environment = {k: v for k, v in os.environ.items() if k not in {s.env for s in SETTINGS}}
    return subprocess.run(
        [sys.executable, "-m", "akrida.cli", "--env-file", str(env_file), *arguments],
        cwd=paths.ROOT, env={**environment, **settings}, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def test_a_fifo_as_env_file_is_refused_by_name_not_waited_on(tmp_path):
    fifo = tmp_path / "settings.fifo"
    os.mkfifo(fifo)
    result = akrida_with(fifo, "check", timeout=30)  # before the fix: blocked forever in open()
    assert result.returncode == 2, describe(result)
    assert f"{fifo}: a FIFO (named pipe), not a regular file" in result.stderr, describe(result)


def test_a_line_without_equals_in_the_env_file_stops_naming_file_and_line(tmp_path):
    env_file = tmp_path / "my.env"
    env_file.write_text("USERS=3\nSPAWN_RATE\nRUN_TIME=10s\n")
    result = akrida_with(env_file, "check")
    assert result.returncode == 2, describe(result)
    assert f"{env_file} line 2: 'SPAWN_RATE' has no '='" in result.stderr, describe(result)
    empty = tmp_path / "empty-value.env"
    empty.write_text("USERS=3\nMEDIATION_URL=\n")  # NAME= is an empty value, as docs/settings.md says
    assert "has no '='" not in akrida_with(empty, "check").stderr


def test_ui_port_among_the_embedded_targets_ports_is_refused_before_anything_starts(tmp_path):
    result = akrida("run", "--ui", results=tmp_path, LOCAL_BASE_PORT="9230", UI_PORT="9233", timeout=60)
    assert result.returncode == 2, describe(result)
    assert "UI_PORT=9233 is one of the embedded target's ports (9230-9239, from LOCAL_BASE_PORT)" in result.stderr
    assert not list(tmp_path.iterdir()), "a run folder was made for a refused run"


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://2852039166/", "2852039166"),  # the same address as one number
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata.google.internal"),
    ],
    ids=["aws", "aws-as-a-number", "gcp"],
)
def test_a_cloud_metadata_address_as_issuer_is_refused_by_name_before_anything_is_sent(tmp_path, url, host):
    """`akrida check` probes its target: here it must stop at the settings, which send nothing.

    Should the refusal ever break, nothing leaves this machine either: the mediator (checked before the
    issuer) is a closed loopback port, and the issuer's admin API is reached through a proxy that is a
    closed loopback port too. MEDIATION_URL, which is checked over plain TCP, is tried without any
    process in tests/unit/test_cloud_metadata.py."""
    result = akrida("check", results=tmp_path, timeout=60, ISSUER_URL=url,
                    MEDIATION_URL=invitation_to(f"http://127.0.0.1:{CLOSED_PORT}"),
                    HTTP_PROXY=f"http://127.0.0.1:{CLOSED_PORT}", HTTPS_PROXY=f"http://127.0.0.1:{CLOSED_PORT}",
                    NO_PROXY="", no_proxy="")  # fmt: skip
    assert result.returncode == 2, describe(result)
    assert f"ISSUER_URL points at {host}, a cloud metadata service" in result.stderr, describe(result)
    assert "EGRESS_ALLOW" in result.stderr
    assert "check:" not in result.stdout, "the target was checked"


def test_local_host_is_named_as_unused_when_the_embedded_target_is_already_up(target, tmp_path):
    result = akrida("check", results=tmp_path, LOCAL_HOST="127.0.0.2", LOCAL_BASE_PORT="9240", timeout=120)
    assert result.returncode == 0, describe(result)
    assert "LOCAL_HOST=127.0.0.2 is not used: the embedded target already runs on 127.0.0.1" in result.stderr
    assert f"LOCAL_BASE_PORT=9240 is not used: the embedded target already runs from port {target.base_port}" in (
        result.stderr
    )


def test_sigterm_ends_locust_quietly_with_its_report(target, tmp_path):
    """SIGTERM (a CI job cancelled, a container stopped) ends Locust as Ctrl-C does: no gevent
    `SystemExit` traceback, the HTML report written."""
    environment = {k: v for k, v in os.environ.items() if k not in {s.env for s in SETTINGS}}
    environment["MEDIATION_URL"] = target.mediation_url
    command = [
        sys.executable, "-m", "locust", "-f", str(paths.LOCUSTFILES / "mediator_ping.py"), "--headless",
        "-u", "1", "-r", "1", "-t", "5m", "--csv", str(tmp_path / "locust"), "--html", str(tmp_path / "report.html"),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and process.poll() is None:
            stats = tmp_path / "locust_stats.csv"
            if stats.is_file() and "ping_mediator" in stats.read_text():
                break
            time.sleep(1)
        os.killpg(process.pid, signal.SIGTERM)  # the whole group, as `kill -TERM -PGID` does
        output, _ = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode in (0, 1), output[-3000:]
    assert "Traceback" not in output and "SystemExit" not in output, output[-3000:]
    assert (tmp_path / "report.html").is_file(), "no HTML report after SIGTERM"


def test_check_leaves_no_probe_folder_behind(target, tmp_path):
    """`akrida check` of a target of one's own probes it with real holders, whose agent logs into a
    folder: none is left in the temporary folder, neither after a probe that passed nor after a
    target that did not answer."""
    own_tmp = tmp_path / "tmp"
    own_tmp.mkdir()
    probes = paths.STATE_DIR / "check"
    before = set(probes.iterdir()) if probes.is_dir() else set()
    passing = akrida("check", results=tmp_path, TMPDIR=str(own_tmp), timeout=180,
                     MEDIATION_URL=target.mediation_url, ISSUER_URL=target.issuer_admin_url,
                     ISSUER_API_KEY=target.admin_api_key)  # fmt: skip
    assert passing.returncode == 0, describe(passing)
    assert "mediation granted to 2 probe holder(s)" in passing.stdout, describe(passing)
    failing = akrida("check", results=tmp_path, TMPDIR=str(own_tmp), timeout=120,
                     MEDIATION_URL=invitation_to(f"http://127.0.0.1:{CLOSED_PORT}"),
                     ISSUER_URL=target.issuer_admin_url, ISSUER_API_KEY=target.admin_api_key)  # fmt: skip
    assert failing.returncode == 3, describe(failing)
    assert not list(own_tmp.iterdir()), f"left in the temporary folder: {list(own_tmp.iterdir())}"
    left = (set(probes.iterdir()) if probes.is_dir() else set()) - before
    assert not left, f"probe folders left after a passing and an unreachable check: {left}"
