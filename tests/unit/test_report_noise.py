"""`akrida compare` over the steady-state windows, with the run-to-run noise weighed (issue 23, item 4).

Recorded runs: a ramp of slow pings, then 60 s at 4 holders whose 10 s chunks each answer at one
latency. Quiet runs hold one latency throughout; noisy ones swing from chunk to chunk.
"""

from __future__ import annotations

from pathlib import Path

from akrida.report.compare import compare, render
from akrida.report.manifest import Manifest
from akrida.report.timeline import Timeline
from tests.integration.helpers import compare_count, compare_table
from tests.unit.test_report_windows import START, write_history

HOLD_S = 60
RATE = 10  # pings a second


def recorded_run(run_dir: Path, chunk_ms: list[float], timeouts_per_chunk: int = 0) -> Path:
    """A run folder: 4 s of ramp (pings of 5 s), then HOLD_S at 4 holders, chunk k answering in chunk_ms[k]."""
    run_dir.mkdir(parents=True)
    Manifest(run_dir.name, "mediator_ping", 4, 1.0, HOLD_S + 5, "now", config={"USERS": "4"}).write(run_dir)
    write_history(run_dir, [0, 1, 2, 3, *[4] * HOLD_S, 0])
    timeline = Timeline()
    for offset in range(4):
        for _ in range(RATE):
            timeline.record(START + offset + 0.5, "didcomm", "ping_mediator", 5000.0, failed=False)
    for second in range(HOLD_S):
        chunk = second // 10
        for n in range(RATE):
            timed_out = n < timeouts_per_chunk and second % 10 == 0
            latency = 60000.0 if timed_out else chunk_ms[chunk]
            timeline.record(START + 4 + second + 0.5, "didcomm", "ping_mediator", latency, timed_out, timed_out)
    timeline.write(run_dir)
    return run_dir


def test_compare_reads_the_window_and_prints_what_each_figure_rests_on(tmp_path):
    a = recorded_run(tmp_path / "a", [200.0] * 6)
    changes, runs_a, runs_b = compare(a, a)
    text = render(changes, runs_a, runs_b)
    assert f"A: {a} (1 steady-state window(s), {HOLD_S}s)" in text
    (ping,) = changes
    assert ping.before is not None and ping.before.p95_ms == 200.0  # the ramp's 5 s pings are left out
    assert ping.before.successes == HOLD_S * RATE and ping.before.noise_from == "6 chunks of 10s"
    row = next(line for line in text.splitlines() if line.startswith("didcomm  ping_mediator"))
    assert row.split()[2:6] == ["200", str(HOLD_S * RATE), "200", str(HOLD_S * RATE)]
    assert compare_count(text) == 0


def test_a_slower_quiet_run_regressed(tmp_path):
    a = recorded_run(tmp_path / "a", [200.0, 201.0] * 3)
    b = recorded_run(tmp_path / "b", [230.0, 231.0] * 3)  # +15%, and each run's chunks agree within 1 ms
    changes, runs_a, runs_b = compare(a, b)
    text = render(changes, runs_a, runs_b)
    assert compare_table(text) == {"didcomm/ping_mediator": "p95"}, text
    assert compare_count(text) == 1


def test_the_same_change_within_noisy_runs_is_no_regression(tmp_path):
    a = recorded_run(tmp_path / "a", [100.0, 200.0] * 3)
    b = recorded_run(tmp_path / "b", [100.0, 230.0] * 3)  # p95 +15% too, but the chunks swing by 100 ms
    changes, runs_a, runs_b = compare(a, b)
    (ping,) = changes
    assert ping.before is not None and ping.after is not None
    assert (ping.before.p95_ms, ping.after.p95_ms) == (200.0, 230.0)
    noise = ping.p95_noise
    assert noise is not None and 2 * noise > 30.0
    text = render(changes, runs_a, runs_b)
    assert compare_table(text) == {"didcomm/ping_mediator": ""}, text


def test_repeated_runs_give_the_noise(tmp_path):
    steady = [recorded_run(tmp_path / f"a{n}", [ms] * 6) for n, ms in enumerate((200.0, 210.0, 190.0))]
    slower = [recorded_run(tmp_path / f"b{n}", [ms] * 6) for n, ms in enumerate((230.0, 240.0, 220.0))]
    changes, runs_a, runs_b = compare(steady[0], slower[0], steady[1:], slower[1:])
    (ping,) = changes
    assert ping.before is not None and ping.before.noise_from == "3 runs" and ping.before.p95_ms == 200.0
    assert ping.before.successes == 3 * HOLD_S * RATE
    assert ping.regressions == ["p95"]  # +30 ms against a spread of 10 ms over three runs each
    text = render(changes, runs_a, runs_b)
    assert text.count("   repeat: ") == 4
    # The same means from runs that spread by 50 ms: within the noise.
    wide_a = [recorded_run(tmp_path / f"wa{n}", [ms] * 6) for n, ms in enumerate((150.0, 250.0, 200.0))]
    wide_b = [recorded_run(tmp_path / f"wb{n}", [ms] * 6) for n, ms in enumerate((180.0, 280.0, 230.0))]
    (wide,) = compare(wide_a[0], wide_b[0], wide_a[1:], wide_b[1:])[0]
    assert wide.regressions == []


def test_timeouts_count_as_failures_not_as_latency(tmp_path):
    a = recorded_run(tmp_path / "a", [200.0] * 6)
    b = recorded_run(tmp_path / "b", [200.0] * 6, timeouts_per_chunk=5)  # 30 of 600 pings timed out
    changes, runs_a, runs_b = compare(a, b)
    (ping,) = changes
    assert ping.after is not None and (ping.after.p95_ms, ping.after.timeouts) == (200.0, 30)
    assert ping.regressions == ["failures"]
    text = render(changes, runs_a, runs_b)
    assert "t/o didcomm ping_mediator: A 0 of 600, B 30 of 600" in text
