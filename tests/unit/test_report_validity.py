"""The generator's validity judged per process and per stretch of the run (issue 23, item 3).

Recorded health files stand for runs on an 8-core load host whose host CPU never reaches the whole-run
verdict's bar: one agent pegged at one core, Locust's own loop pegged, a 6 s burst, and a ramp that
saturates only in its last minute. Each is missed by the whole-run verdict and caught per stretch.
One real sample checks that the sampler finds a busy child process by its own main thread.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from dataclasses import asdict, fields
from pathlib import Path

from akrida.report.health import HEALTH_DIR, INTERVAL_SECONDS, HealthSample, HealthSampler, judge, read_health
from akrida.report.manifest import Manifest
from akrida.report.summary import gather, render_markdown, render_text
from akrida.report.validity import judge_validity
from tests.unit.test_report_windows import START, write_history

CORES = 8
AGENT_PID, LOCUST_PID = 4242, 4141


def recorded_health(run_dir: Path, seconds: int, **at) -> None:
    """health/loadhost-4141.csv: a sample every 3 s for `seconds`, quiet (host 20 %), except where `at`
    gives {name: (first_s, last_s, value)} for a column."""
    folder = run_dir / HEALTH_DIR
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"loadhost-{LOCUST_PID}.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, [f.name for f in fields(HealthSample)])
        writer.writeheader()
        for offset in range(3, seconds + 1, int(INTERVAL_SECONDS)):
            values = {"host_cpu_percent": 20.0, "generator_cpu_percent": 15.0, "locust_cores": 0.3,
                      "busiest_agent_cores": 0.4}  # fmt: skip
            for name, (first, last, value) in at.items():
                if first <= offset <= last:
                    values[name] = value
            writer.writerow(asdict(HealthSample(
                START + offset, "loadhost", values["host_cpu_percent"], values["generator_cpu_percent"], 0, 0, 10, 3,
                40, 2, CORES, CORES, LOCUST_PID, values["locust_cores"], values["busiest_agent_cores"], AGENT_PID,
                values.get("locust_cpu_warning", 0.0),
            )))  # fmt: skip


def held_run(run_dir: Path, seconds: int = 120) -> None:
    """4 s of ramp, then `seconds` at 4 holders: one steady-state window."""
    write_history(run_dir, [0, 1, 2, 3, *[4] * seconds, 0], half_written_tail=False)


def test_one_agent_pegged_at_one_core_makes_its_window_invalid(tmp_path):
    held_run(tmp_path)
    recorded_health(tmp_path, 124, busiest_agent_cores=(30, 124, 0.97))  # host CPU 20 % throughout
    assert not judge(read_health(tmp_path)).saturated  # the whole-run verdict sees nothing
    findings = gather(tmp_path, [], complete=True, levels=frozenset({4}))
    assert findings.validity is not None
    (window,) = findings.validity.stretches
    assert not window.valid and window.out_share > 0.7
    text = render_text(findings)
    assert "steady-state window 1 (4 holders from 4s to 124s (120s)): NOT VALID" in text
    assert f"agent process {AGENT_PID} on loadhost out for 96s from 27s (peak: main thread at 0.97 core)" in text
    assert "not a valid measurement of the target in steady-state window 1" in findings.verdict


def test_locust_pegged_at_one_core_makes_its_window_invalid(tmp_path):
    held_run(tmp_path)
    recorded_health(tmp_path, 124, locust_cores=(3, 124, 0.95))
    findings = gather(tmp_path, [], complete=True, levels=frozenset({4}))
    assert "not a valid measurement of the target in steady-state window 1" in findings.verdict
    assert f"Locust process {LOCUST_PID} on loadhost out for" in render_text(findings)


def test_a_short_burst_is_named_with_its_time(tmp_path):
    held_run(tmp_path, seconds=600)
    recorded_health(tmp_path, 604, host_cpu_percent=(300, 305, 99.0))  # 2 samples of 200
    assert not judge(read_health(tmp_path)).saturated
    findings = gather(tmp_path, [], complete=True, levels=frozenset({4}))
    assert findings.validity is not None
    (window,) = findings.validity.stretches
    assert window.valid and window.out_moments == 2  # too short to void the window, but said
    assert "host loadhost's CPU out for 6s from 297s (peak: 99% busy, Locust and agents 15% of it)" in render_text(
        findings
    )
    assert "not a valid" not in findings.verdict


def test_a_run_that_saturates_only_at_its_end_is_caught_there(tmp_path):
    # A ramp (STAGES with no plateau): no steady-state window, judged a minute at a time.
    write_history(tmp_path, list(range(300)), half_written_tail=False)
    recorded_health(tmp_path, 300, host_cpu_percent=(243, 300, 97.0))  # the last minute: 20 of 100 samples
    whole = judge(read_health(tmp_path))
    assert 0 < whole.saturated_share < 0.25 and not whole.saturated
    findings = gather(tmp_path, [], complete=True, levels=frozenset())
    assert findings.validity is not None and not findings.validity.by_window
    assert [s.label for s in findings.validity.invalid] == ["slice 240s-300s"]
    assert findings.verdict.endswith("(not a valid measurement of the target in slice 240s-300s: "
                                     "the load generator ran out of CPU there)")  # fmt: skip
    assert "validity judged per 60s slice of the run (no steady-state window)" in render_text(findings)


def test_locusts_own_cpu_warnings_are_shown(tmp_path):
    held_run(tmp_path)
    recorded_health(tmp_path, 124, locust_cpu_warning=(60, 60, 96.0))
    (tmp_path / "locust.log").write_text(
        "[2026-12-04 10:00:00,000] master/INFO/locust.main: Run time limit set to 120 seconds\n"
        "[2026-12-04 10:01:00,000] master/WARNING/locust.runners: Worker w1_abc (index 0) exceeded cpu threshold "
        "(will only log this once per worker)\n"
    )
    worker = tmp_path / "hosts" / "worker-1"
    worker.mkdir(parents=True)
    (worker / "locust-worker.log").write_text(
        "[2026-12-04 10:01:00,000] w1/WARNING/root: CPU usage above 90%! This may constrain your throughput\n"
    )
    findings = gather(tmp_path, [], complete=True, levels=frozenset({4}))
    text = render_text(findings)
    assert "Locust: this host: [2026-12-04 10:01:00,000] master/WARNING/locust.runners: Worker w1_abc" in text
    assert "Locust: worker-1: [2026-12-04 10:01:00,000] w1/WARNING/root: CPU usage above 90%!" in text
    assert "Locust's own CPU warning fired in 1 sample(s)" in text
    assert "Locust's CPU warning in process 4141 on loadhost out for 3s from 57s (peak: it measured 96%" in text
    markdown = render_markdown(findings, Manifest("r", "mediator_ping", 4, 1.0, 120, "now"))
    assert "- Locust: worker-1: [2026-12-04 10:01:00,000] w1/WARNING/root: CPU usage above 90%!" in markdown


def test_a_quiet_run_is_valid_in_every_window(tmp_path):
    held_run(tmp_path)
    recorded_health(tmp_path, 124)
    findings = gather(tmp_path, [], complete=True, levels=frozenset({4}))
    assert findings.validity is not None and not findings.validity.invalid
    assert "steady-state window 1 (4 holders from 4s to 124s (120s)): valid, the generator kept up" in render_text(
        findings
    )


def test_the_sampler_finds_a_busy_agent_by_its_main_thread():
    """Real child processes, one spinning and one asleep: the sampler names the spinner as the busiest."""
    ready = "import sys; print('ready', flush=True); "
    spinner = subprocess.Popen([sys.executable, "-c", ready + "\nwhile True: pass"], stdout=subprocess.PIPE, text=True)
    sleeper = subprocess.Popen([sys.executable, "-c", ready + "import time; time.sleep(60)"], stdout=subprocess.PIPE,
                               text=True)  # fmt: skip
    try:
        assert spinner.stdout is not None and sleeper.stdout is not None
        assert spinner.stdout.readline() == sleeper.stdout.readline() == "ready\n"  # both past their start-up
        sampler = HealthSampler()
        sampler.sample()  # the baseline
        time.sleep(1.0)
        sample = sampler.sample()
    finally:
        for child in (spinner, sleeper):
            child.kill()
            child.wait()
    # On a shared machine the spinner gets less than a core, but it is the busiest agent whatever it got.
    assert sample.busiest_agent_pid == spinner.pid and sample.busiest_agent_cores > 0
    assert sample.locust_pid == os.getpid()


def test_pinned_apart_from_its_target_the_generator_is_judged_on_its_own_core():
    """Locust and agents pinned to one core of two (taskset), the target on the other: a full target core
    keeps the host busy, and that is not the generator's; its own core full is, though the host is not."""

    def minute(own_core: float, host: float) -> list[HealthSample]:
        return [HealthSample(START + offset, "loadhost", host, 45.0, 0, 0, 10, 3, 40, 2, 2, 1, LOCUST_PID, 0.5, 0.4,
                             AGENT_PID, allowed_cpu_percent=own_core) for offset in range(3, 61, 3)]  # fmt: skip

    validity = judge_validity(minute(own_core=60.0, host=95.0), [])
    assert not validity.invalid, validity.lines()
    validity = judge_validity(minute(own_core=97.0, host=55.0), [])
    assert [s.label for s in validity.invalid] == ["slice 0s-60s"], validity.lines()
    assert "host loadhost's 1 core(s) Locust and its agents may run on out for" in "\n".join(validity.lines())


def test_the_sampler_records_how_busy_the_cores_it_may_run_on_were():
    sampler = HealthSampler()
    sampler.sample()
    time.sleep(0.5)
    sample = sampler.sample()
    assert sample.allowed_cores == len(os.sched_getaffinity(0))
    assert 0.0 <= sample.allowed_cpu_percent <= 100.0
