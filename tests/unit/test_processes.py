"""Stopping the embedded target's processes by pid, never an unrelated process that reused one."""

from __future__ import annotations

import subprocess
import sys

from akrida.local.processes import process_alive, running_with, runs, terminate

MARKER = b"akrida-test-marker-5e1b"


def sleeper(handles_sigterm: bool = False) -> subprocess.Popen:
    code = "import signal, time\n"
    if handles_sigterm:
        code += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    code += "print('ready', flush=True)\ntime.sleep(60)\n"
    process = subprocess.Popen([sys.executable, "-c", code, MARKER.decode()], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "ready\n"  # exec'd, and its SIGTERM handler is set
    return process


def test_a_process_is_found_by_its_marker_and_stopped():
    process = sleeper()
    try:
        assert process_alive(process.pid) and runs(process.pid, MARKER)
        assert process.pid in running_with(MARKER)
        terminate(process.pid, MARKER, grace=5)
        assert not process_alive(process.pid)  # the zombie child is reaped, not counted alive
        assert process.pid not in running_with(MARKER)
    finally:
        process.kill()


def test_a_pid_that_runs_something_else_is_left_alone():
    process = sleeper()
    try:
        assert not runs(process.pid, b"some-other-program")
        terminate(process.pid, b"some-other-program", grace=1)
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace():
    process = sleeper(handles_sigterm=True)
    try:
        terminate(process.pid, MARKER, grace=1)
        assert process.wait(timeout=5) == -9
    finally:
        process.kill()
