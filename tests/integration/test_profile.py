"""py-spy on the real embedded ACA-Py mediator: a flame graph and top functions while it serves
admin API calls, and a pid that is not ACA-Py refused by name."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from akrida.target.profile import Profiler, read_profiles
from akrida.target.stacks import read_collapsed, top_functions

pytestmark = pytest.mark.integration

PROFILE_SECONDS = 5
MAX_CALLS = 20_000  # the exercise's bound in count; its bound in time is the profile's length + 3 s


def exercise(target, stop: threading.Event) -> int:
    """Admin API calls to the mediator (/status, /connections) until `stop`; returns how many answered."""
    session = requests.Session()
    session.headers["x-api-key"] = target.admin_api_key
    answered = 0
    deadline = time.monotonic() + PROFILE_SECONDS + 3
    for number in range(MAX_CALLS):
        if stop.is_set() or time.monotonic() > deadline:
            break
        path = "/status" if number % 2 else "/connections?limit=10"
        session.get(f"{target.mediator_admin_url}{path}", timeout=5).raise_for_status()
        answered += 1
    session.close()
    return answered


def test_a_busy_mediator_profiled_gives_a_flame_graph_and_its_top_functions(target, tmp_path: Path):
    stop = threading.Event()
    answered: list[int] = []
    worker = threading.Thread(target=lambda: answered.append(exercise(target, stop)), daemon=True)
    worker.start()
    time.sleep(0.5)  # the calls are flowing before py-spy attaches
    profiler = Profiler(tmp_path, {"mediator": target.pids["mediator"]}, seconds=PROFILE_SECONDS)
    began = time.monotonic()
    profiler.record("busy")
    assert time.monotonic() - began < 1.0, "record() must return at once, not wait for the recording"
    assert profiler.wait(timeout=PROFILE_SECONDS + 40), "the recording did not finish"
    stop.set()
    worker.join(10)
    assert answered and answered[0] > 20, f"the mediator was not exercised: {answered}"
    assert profiler.problems == []

    [summary] = read_profiles(tmp_path)
    assert (summary.label, summary.source, summary.pid) == ("busy", "mediator", target.pids["mediator"])
    assert summary.problem == ""
    assert summary.svg == tmp_path / "target" / "profiles" / "busy-mediator.svg"
    svg = summary.svg.read_text()
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and svg.rstrip().endswith("</svg>")
    assert "<rect" in svg and "aiohttp" in svg

    assert summary.stacks is not None
    profile = read_collapsed(summary.stacks)
    assert profile.samples > PROFILE_SECONDS * 50, f"too few samples at 100 Hz: {profile.samples}"
    assert profile.busy > 0 and 0.0 <= profile.idle_share < 1.0
    top = top_functions(summary.stacks, n=10)
    assert top, "no function ranked"
    for share in top:
        assert 0.0 < share.share <= 1.0 and 0.0 <= share.self_share <= share.share, share
    files = " ".join(share.file for share in top)
    assert "acapy_agent/" in files or "aiohttp/" in files, f"no ACA-Py or aiohttp frame in {files}"
    print("\n" + "\n".join(summary.lines()))
    print(f"admin calls answered while profiled: {answered[0]}")


def test_a_pid_that_is_not_acapy_is_refused_by_name(target, tmp_path: Path):
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        profiler = Profiler(tmp_path, {"impostor": other.pid}, seconds=2)
        profiler.record("end")
        assert profiler.wait(timeout=10)
    finally:
        other.kill()
        other.wait()
    [summary] = read_profiles(tmp_path)
    assert f"pid {other.pid} is neither ACA-Py nor Node" in summary.problem
    assert "'aca-py'" in summary.problem
    assert summary.svg is None and summary.stacks is None
    assert profiler.problems == [f"impostor at end: {summary.problem}"]
    assert not (tmp_path / "target" / "profiles" / "end-impostor.txt").exists(), "py-spy attached anyway"
