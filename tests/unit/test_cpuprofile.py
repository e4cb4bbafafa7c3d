"""A Node target's V8 CPU profile read as collapsed stacks: the same shares, idle apart, as py-spy's.

The profile below has the shape the inspector's Profiler.stop returns (a call tree and a timeline of
samples), with frames as a Credo mediator's look: 10 samples, 6 of them (idle).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from akrida.target.cpuprofile import collapse, convert, frame_name, short_file
from akrida.target.inspector import configured_address, loopback
from akrida.target.stacks import read_collapsed, shares

CREDO = "file:///srv/mediator/node_modules/@credo-ts/core/build/agent/MessageReceiver.js"


def frame(node_id: int, name: str, url: str = "", line: int = 0, children: tuple[int, ...] = ()) -> dict:
    call = {"functionName": name, "scriptId": str(node_id), "url": url, "lineNumber": line, "columnNumber": 0}
    return {"id": node_id, "callFrame": call, "hitCount": 0, "children": list(children)}


PROFILE = {
    "nodes": [
        frame(1, "(root)", children=(2, 3, 4, 7)),
        frame(2, "(idle)"),
        frame(3, "(program)"),
        frame(4, "processTicksAndRejections", "node:internal/process/task_queues", 94, children=(5,)),
        frame(5, "receiveMessage", CREDO, 44, children=(6,)),
        frame(6, "", "file:///srv/mediator/dist/mediator.js", 9),
        frame(7, "(garbage collector)"),
    ],
    "startTime": 0,
    "endTime": 100_000,
    "samples": [2, 2, 2, 6, 5, 2, 3, 2, 7, 2],
    "timeDeltas": [10_000] * 10,
}


def test_frames_read_like_py_spy_ones_with_packages_named_from_node_modules():
    assert short_file(CREDO) == "@credo-ts/core/build/agent/MessageReceiver.js"
    assert short_file("file:///srv/mediator/dist/mediator.js", cwd="/srv/mediator") == "dist/mediator.js"
    assert short_file("node:internal/timers") == "node:internal/timers"
    assert frame_name(PROFILE["nodes"][4]["callFrame"]) == (
        "receiveMessage (@credo-ts/core/build/agent/MessageReceiver.js:45)"  # V8 counts lines from 0
    )
    assert frame_name(PROFILE["nodes"][1]["callFrame"]) == "(idle)"
    assert frame_name({"functionName": "", "url": "file:///a;b.js", "lineNumber": 0}) == "(anonymous) (/a,b.js:1)"


def test_a_cpuprofile_collapses_to_each_samples_path_from_the_root():
    stacks = collapse(PROFILE, cwd="/srv/mediator")
    task_queue = "processTicksAndRejections (node:internal/process/task_queues:95)"
    receive = "receiveMessage (@credo-ts/core/build/agent/MessageReceiver.js:45)"
    assert stacks == {
        ("(idle)",): 6,
        ("(program)",): 1,
        ("(garbage collector)",): 1,
        (task_queue, receive): 1,
        (task_queue, receive, "(anonymous) (dist/mediator.js:10)"): 1,
    }


def test_its_shares_set_the_idle_loop_and_nodes_plumbing_apart(tmp_path: Path):
    source, collapsed = tmp_path / "end-mediator.cpuprofile", tmp_path / "end-mediator.txt"
    source.write_text(json.dumps(PROFILE))
    assert convert(source, collapsed, cwd="/srv/mediator") == 10
    profile = read_collapsed(collapsed)
    assert (profile.busy, profile.idle, profile.parked) == (4, 6, 0)
    assert profile.idle_share == pytest.approx(0.6)
    ranked = {share.function: share for share in shares(profile)}
    assert "processTicksAndRejections" not in ranked, "Node's microtask queue runs everything: plumbing"
    assert ranked["receiveMessage"].file == "@credo-ts/core/build/agent/MessageReceiver.js"
    assert ranked["receiveMessage"].share == pytest.approx(0.2)
    assert ranked["receiveMessage"].self_share == pytest.approx(0.1)
    assert ranked["(program)"].share == pytest.approx(0.1)
    assert "(idle)" not in ranked


def test_a_profile_without_its_timeline_counts_each_nodes_hits():
    nodes = [frame(1, "(root)", children=(2,)), {**frame(2, "work", "file:///w.js"), "hitCount": 3}]
    assert collapse({"nodes": nodes}) == {("work (/w.js:1)",): 3}


@pytest.mark.parametrize(
    "options, expected",
    [
        ([], ("127.0.0.1", 9229)),
        (["--inspect-port=9333"], ("127.0.0.1", 9333)),
        (["--inspect-port=0.0.0.0:9229"], ("0.0.0.0", 9229)),
        (["--inspect=[::1]:9230", "--max-old-space-size=512"], ("::1", 9230)),
        (["--inspect=localhost"], ("localhost", 9229)),
        (["--debug-port=9231", "--inspect-port=9232"], ("127.0.0.1", 9232)),  # the last one wins, as in Node
    ],
)
def test_where_sigusr1_opens_the_inspector_is_read_from_nodes_options(monkeypatch, options, expected):
    monkeypatch.setattr("akrida.target.inspector._arguments", lambda _pid: options)
    assert configured_address(1) == expected


def test_only_loopback_counts_as_loopback():
    assert loopback("127.0.0.1") and loopback("::1") and loopback("localhost") and loopback("127.0.0.2")
    assert not loopback("0.0.0.0") and not loopback("::") and not loopback("10.0.0.5") and not loopback("mediator")
