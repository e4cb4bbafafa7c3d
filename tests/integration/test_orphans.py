"""`kill -9` of `akrida run`: nothing of it goes on loading the target, and what it left is named.

A run killed outright runs none of its clean-up. Its Locust (a process group of its own) notices that
akrida is gone and quits, and its agents follow Locust; its embedded target is left, recorded as that
run's, so the next run stops it instead of adopting it as the user's, and says so; the killed run's
manifest, which still says `running`, is marked `abandoned` by the next run or by `akrida report`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import psutil
import pytest

from akrida import paths
from akrida.sockets import listening
from tests.integration.helpers import akrida, describe, run_dirs
from tests.integration.test_faults import agents_of_run, history_rows, local_down

pytestmark = pytest.mark.integration

BASE_PORT = 9220  # a target of this test's own, apart from every other test's
ORPHAN_GONE_WITHIN_S = 90  # Locust notices within a second, then has ORPHAN_EXIT_S (60) to stop in order


def locust_of(akrida_pid: int) -> list[psutil.Process]:
    with contextlib.suppress(psutil.Error):
        return [p for p in psutil.Process(akrida_pid).children() if "locust" in " ".join(p.cmdline())]
    return []


def alive(process: psutil.Process) -> bool:
    with contextlib.suppress(psutil.Error):
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    return False


def test_a_run_killed_outright_leaves_no_load_and_the_next_run_stops_its_target_and_names_it(tmp_path):
    own_state = paths.STATE_DIR / "test-orphaned-target"
    results = tmp_path / "results"
    settings = {"LOCAL_BASE_PORT": str(BASE_PORT), "AKRIDA_LOCAL_STATE_DIR": str(own_state)}
    local_down(own_state)
    environment = {**os.environ, "RESULTS_DIR": str(results), "USERS": "2", "SPAWN_RATE": "2", "RUN_TIME": "5m",
                   **settings}  # fmt: skip
    output_path = tmp_path / "killed-run.txt"
    locust: list[psutil.Process] = []
    agents: list[psutil.Process] = []
    try:
        with open(output_path, "w") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "akrida.cli", "--env-file", "/dev/null", "run"],
                cwd=paths.ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 180
            while history_rows(results) <= 3 and process.poll() is None and time.monotonic() < deadline:
                time.sleep(1)
            assert history_rows(results) > 3, f"the load never ran:\n{output_path.read_text()[-3000:]}"
            locust = locust_of(process.pid)
            agents = [psutil.Process(pid) for pid in agents_of_run(results)]
            assert locust and agents, f"no Locust or agent seen: {locust} {agents}"
            process.kill()  # kill -9: akrida runs none of its clean-up
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
        killed_at = time.monotonic()
        while any(alive(p) for p in locust + agents) and time.monotonic() - killed_at < ORPHAN_GONE_WITHIN_S:
            time.sleep(1)
        left = [f"{p.pid} {' '.join(p.cmdline())[:100]}" for p in locust + agents if alive(p)]
        assert not left, f"still running {ORPHAN_GONE_WITHIN_S} s after akrida was killed: {left}"
        assert not agents_of_run(results), "agents of the killed run are still running"

        (killed_run,) = run_dirs(results)
        manifest = json.loads((killed_run / "manifest.json").read_text())
        assert manifest["status"] == "running" and manifest["owner"]["pid"] == process.pid, manifest
        state = json.loads((own_state / "state.json").read_text())
        assert state["owner"]["run_dir"] == str(killed_run), "the target was not recorded as the run's own"
        assert listening("127.0.0.1", BASE_PORT + 2), "the killed run's target should still be up for this test"

        # `akrida report` of a copy of the killed run, in a folder of its own: it is found abandoned.
        copy = tmp_path / "copies" / killed_run.name
        shutil.copytree(killed_run, copy)
        reported = akrida("report", str(copy), results=tmp_path / "copies")
        assert reported.returncode == 0, describe(reported)
        copied = json.loads((copy / "manifest.json").read_text())
        assert copied["status"] == "abandoned", copied
        assert f"pid {process.pid}" in copied["abandoned"] and "`akrida report`" in copied["abandoned"]

        # The next run stops the orphaned target by name (never "already running … using it") and
        # marks the killed run's manifest.
        after = akrida("run", results=results, USERS="1", SPAWN_RATE="1", RUN_TIME="5s", **settings)
        assert after.returncode == 0, describe(after)
        assert "already running" not in after.stdout, describe(after)
        named = f"started by run {killed_run} (pid {process.pid}), which is gone"
        assert named in after.stdout and "stopping it" in after.stdout, describe(after)
        manifest = json.loads((killed_run / "manifest.json").read_text())
        assert manifest["status"] == "abandoned", manifest
        assert f"{killed_run.name} is abandoned" in after.stdout + after.stderr, describe(after)
        assert not (own_state / "state.json").exists(), "the next run's own target is still recorded"
        busy = [port for port in range(BASE_PORT, BASE_PORT + 10) if listening("127.0.0.1", port)]
        assert not busy, f"the target's ports {busy} still listen"
    finally:
        for leftover in locust + agents:  # a failed test leaves nothing loading either
            with contextlib.suppress(psutil.Error):
                if alive(leftover):
                    leftover.kill()
        local_down(own_state)


def test_a_target_of_a_run_still_going_is_refused_by_name_not_adopted(tmp_path):
    """Two runs on one state folder: the second must not take the first's target as the user's (the
    first would stop it under the second)."""
    own_state = paths.STATE_DIR / "test-orphaned-target"
    results = tmp_path / "results"
    settings = {"LOCAL_BASE_PORT": str(BASE_PORT), "AKRIDA_LOCAL_STATE_DIR": str(own_state)}
    local_down(own_state)
    environment = {**os.environ, "RESULTS_DIR": str(results), "USERS": "1", "SPAWN_RATE": "1", "RUN_TIME": "5m",
                   **settings}  # fmt: skip
    first = subprocess.Popen(
        [sys.executable, "-m", "akrida.cli", "--env-file", "/dev/null", "run"],
        cwd=paths.ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while history_rows(results) <= 1 and first.poll() is None and time.monotonic() < deadline:
            time.sleep(1)
        assert first.poll() is None, "the first run ended early"
        second = akrida("run", results=tmp_path / "second", USERS="1", RUN_TIME="5s", **settings)
        assert second.returncode == 3, describe(second)
        assert f"belongs to run {run_dirs(results)[0]} (pid {first.pid}), still running" in second.stderr
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=120)
        assert first.returncode == 130
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=30)
        local_down(own_state)
