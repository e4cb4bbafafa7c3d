"""Reading a target's profile: shares of the samples by function, idle apart, on a recorded file.

data/mediator-profile.txt holds py-spy's raw format (`--idle --threads`) with real ACA-Py 1.7 frames:
100 counted samples (40 of the event loop waiting in its selector, 60 busy), 100 of a thread-pool
worker parked on its queue, and a line cut short.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from akrida.target import profile as profile_module
from akrida.target.flamegraph import render_svg
from akrida.target.profile import Profiler, read_profiles
from akrida.target.stacks import FunctionShare, idle_line, read_collapsed, top_functions, waiting_kind

RECORDED = Path(__file__).parent / "data" / "mediator-profile.txt"


def test_samples_are_sorted_into_busy_idle_and_parked():
    profile = read_collapsed(RECORDED)
    assert (profile.busy, profile.idle, profile.parked) == (60, 40, 100)
    assert profile.counted == 100
    assert profile.idle_share == pytest.approx(0.4)
    assert idle_line(profile) == "idle 40 %"


def test_top_functions_rank_inclusive_shares_without_plumbing_or_pass_through_frames():
    top = top_functions(RECORDED, n=5)
    assert [(share.function, share.share, share.self_share) for share in top] == [
        ("InMemoryCache._remove_expired_cache_items", 0.23, 0.23),  # two lines of one function, summed
        ("upgrade_middleware", 0.15, 0.0),  # its samples split between two callees: it is named
        ("BaseRecord.query", 0.10, 0.10),
        ("LibLoad.invoke_async", 0.10, 0.10),
        ("deepcopy", 0.06, 0.06),  # recursive: each sample counts once
    ]
    assert top[0].file == "acapy_agent/cache/in_memory.py"
    names = {share.function for share in top_functions(RECORDED, n=100)}
    # The loop, its selector, the pool's parked worker and the thread frames are no one's time.
    assert not names & {"EpollSelector.select", "_worker", "Handle._run", "<module>", "thread"}
    assert not any("_run_once" in name or name.startswith("thread (") for name in names)
    # Pass-through frames are named through their callee: the cache's caller, the entry points.
    assert not names & {"InMemoryCache.get", "Dispatcher.handle_v1_message", "script_main", "execute"}


def test_a_share_reads_as_a_line():
    share = FunctionShare("InMemoryCache._remove_expired_cache_items", "acapy_agent/cache/in_memory.py", 0.234, 0.2)
    assert share.line() == (
        "23 % in InMemoryCache._remove_expired_cache_items (acapy_agent/cache/in_memory.py), 20 % in itself"
    )
    assert FunctionShare("upgrade_middleware", "acapy_agent/admin/server.py", 0.15, 0.0).line() == (
        "15 % in upgrade_middleware (acapy_agent/admin/server.py)"
    )


@pytest.mark.parametrize(
    ("leaf", "kind"),
    [
        ("EpollSelector.select (selectors.py:452)", "idle"),
        ("select (/usr/lib/python3.13/selectors.py:452)", "idle"),
        ("Runner.run (asyncio/runners.py:118)", "idle"),  # uvloop: the loop itself is C
        ("_worker (concurrent/futures/thread.py:89)", "parked"),
        ("Condition.wait (threading.py:355)", "parked"),
        ("Queue.get (queue.py:171)", "parked"),
        ("_WorkItem.run (concurrent/futures/thread.py:59)", ""),  # a pool thread at work
        ("InMemoryCache._remove_expired_cache_items (acapy_agent/cache/in_memory.py:22)", ""),
        ("select (acapy_agent/somewhere.py:1)", ""),  # a select() of one's own is work
    ],
)
def test_what_a_thread_was_waiting_on_is_read_from_its_top_frame(leaf: str, kind: str):
    assert waiting_kind(("thread (1): MainThread", "main (x.py:1)", leaf)) == kind


def test_an_empty_or_missing_file_has_no_shares(tmp_path: Path):
    (tmp_path / "empty.txt").write_text("")
    assert top_functions(tmp_path / "empty.txt") == []
    assert top_functions(tmp_path / "missing.txt") == []


def test_the_flame_graph_is_an_svg_with_every_visible_function(tmp_path: Path):
    profile = read_collapsed(RECORDED)
    svg = render_svg(profile.stacks, "mediator & co", profile.idle_stacks)
    root = ElementTree.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    titles = [element.text or "" for element in root.iter("{http://www.w3.org/2000/svg}title")]
    assert any(title.startswith("InMemoryCache._remove_expired_cache_items (acapy_agent/cache/in_memory.py:22)")
               for title in titles)  # fmt: skip
    assert "rgb(170,190,215)" in svg  # the waits are drawn apart


def write_recording(run_dir: Path, stem: str, meta: dict[str, object], stacks: Path | None) -> None:
    folder = run_dir / "target" / "profiles"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.json").write_text(json.dumps(meta))
    if stacks is not None:
        (folder / f"{stem}.txt").write_text(stacks.read_text())


def test_read_profiles_gives_each_recording_with_its_figures_or_its_problem(tmp_path: Path):
    write_recording(tmp_path, "end-mediator", {"label": "end", "source": "mediator", "pid": 11, "seconds": 20,
                    "started_at": 2.0, "ended_at": 22.0, "problem": ""}, RECORDED)  # fmt: skip
    gone = "pid 12 is gone (no such process)"
    write_recording(tmp_path, "end-issuer", {"label": "end", "source": "issuer", "pid": 12, "seconds": 20,
                    "started_at": 1.0, "ended_at": 1.5, "problem": gone}, None)  # fmt: skip
    write_recording(tmp_path, "break-mediator", {"label": "break", "source": "mediator", "pid": 11, "seconds": 20,
                    "started_at": 3.0, "ended_at": None, "problem": ""}, None)  # fmt: skip
    (tmp_path / "target" / "profiles" / "stray.json").write_text("{not json")
    issuer, mediator, unfinished = read_profiles(tmp_path)
    assert issuer.problem == "pid 12 is gone (no such process)"
    assert issuer.lines() == ["issuer at end (pid 12, 20 s): no profile: pid 12 is gone (no such process)"]
    assert (mediator.samples, mediator.idle_share, mediator.svg) == (100, pytest.approx(0.4), None)
    assert mediator.top[0].function == "InMemoryCache._remove_expired_cache_items"
    assert mediator.lines()[:2] == [
        "mediator at end (pid 11, 20 s, 100 samples): idle 40 %",
        "  23 % in InMemoryCache._remove_expired_cache_items (acapy_agent/cache/in_memory.py), 23 % in itself",
    ]
    assert unfinished.problem == "the recording did not finish (the run ended first)"


def test_no_py_spy_is_a_named_problem_not_an_exception(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(profile_module, "find_py_spy", lambda: None)
    profiler = Profiler(tmp_path, {"mediator": os.getpid()}, seconds=1)
    profiler.record("end")
    assert profiler.wait(timeout=10)
    assert profiler.problems == ["mediator at end: py-spy is not installed (`make setup` installs it into .venv)"]


def test_a_process_that_is_not_the_one_named_is_refused_before_attaching(tmp_path: Path):
    profiler = Profiler(tmp_path, {"mediator": os.getpid()}, seconds=1, py_spy="/bin/false")
    profiler.record("end")
    assert profiler.wait(timeout=10)
    [problem] = profiler.problems
    assert problem.startswith(f"mediator at end: pid {os.getpid()} is neither ACA-Py nor Node (its command line")
    assert not (tmp_path / "target" / "profiles" / "end-mediator.txt").exists()


def test_the_profile_settings_are_checked_by_name():
    from akrida.settings import Settings, SettingsError

    settings = Settings.from_mapping({"TARGET_PROFILE": "1", "TARGET_PROFILE_SECONDS": "5"})
    assert (settings.target_profile, settings.target_profile_pid, settings.target_profile_seconds) == (True, None, 5)
    assert Settings().target_profile is False and Settings().target_profile_seconds == 20
    for mapping, expected in [
        ({"TARGET_PROFILE_PID": "1234"}, "TARGET_PROFILE is off: set TARGET_PROFILE=1"),
        ({"TARGET_PROFILE": "1", "TARGET_PROFILE_PID": "aca-py"}, "TARGET_PROFILE_PID='aca-py': expected a process id"),
        ({"TARGET_PROFILE": "1", "TARGET_PROFILE_PID": "0"}, "expected a process id"),
        ({"TARGET_PROFILE": "1", "TARGET_PROFILE_SECONDS": "0"}, "TARGET_PROFILE_SECONDS='0'"),
    ]:
        with pytest.raises(SettingsError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            Settings.from_mapping(mapping)
    own = Settings.from_mapping(
        {"TARGET_PROFILE": "1", "TARGET_PROFILE_PID": "1234", "ISSUER_URL": "http://127.0.0.1:8031"}
    )
    assert own.target_profile_pid == 1234


def test_a_run_profiles_its_target_over_its_last_seconds(tmp_path: Path):
    import time

    from tests.unit.test_lifecycle import FakeExecutor, run

    executor = FakeExecutor(raises=lambda: time.sleep(2.5))  # the load runs 2.5 s; the profile is due at 1 s
    result, _manifest, printed = run(
        tmp_path, executor, RUN_TIME="3s", TARGET_PROFILE="1", TARGET_PROFILE_PID=str(os.getpid()),
        TARGET_PROFILE_SECONDS="2",
    )  # fmt: skip
    assert "target: target will be profiled when the run first breaks and over the run's last 2s" in printed.lines
    [summary] = read_profiles(result.run_dir)
    assert (summary.label, summary.source, summary.pid, summary.seconds) == ("end", "target", os.getpid(), 2)
    # pytest is not: refused, not fatal
    assert summary.problem.startswith(f"pid {os.getpid()} is neither ACA-Py nor Node")
    assert f"akrida: target profile: target at end: {summary.problem}" in printed.lines


def test_a_run_against_a_target_of_ones_own_without_a_pid_says_why_nothing_is_profiled(tmp_path: Path):
    from tests.unit.test_lifecycle import FakeExecutor, run

    result, _manifest, printed = run(tmp_path, FakeExecutor(), TARGET_PROFILE="1")
    expected = "name your target's ACA-Py or Node (Credo) process with TARGET_PROFILE_PID"
    assert any(expected in line for line in printed.lines)
    assert read_profiles(result.run_dir) == []
