"""The generator's saturation verdict (akrida.report.health.judge) from health samples and files."""

from __future__ import annotations

import csv
from dataclasses import asdict, fields, replace

import pytest

from akrida.report.health import (
    HEALTH_DIR,
    INTERVAL_SECONDS,
    SATURATED_CPU_PERCENT,
    SATURATED_SHARE,
    HealthSample,
    judge,
    read_health,
)

MB = 1024 * 1024


def sample(moment: int, cpu: float, host: str = "worker-1", **figures) -> HealthSample:
    """A sample in the middle of the `moment`-th sampling interval."""
    values = dict(
        timestamp=(moment + 0.5) * INTERVAL_SECONDS,
        host=host,
        host_cpu_percent=cpu,
        generator_cpu_percent=cpu / 2,
        uss_bytes=100 * MB,
        pss_bytes=120 * MB,
        open_files=40,
        processes=2,
        live_holders=4,
        agent_hosts=1,
    )
    return HealthSample(**{**values, **figures})


def run_of(cpus: list[float]) -> list[HealthSample]:
    return [sample(moment, cpu) for moment, cpu in enumerate(cpus)]


def test_the_thresholds_are_the_documented_ones():
    # The boundary tests below are written around these figures.
    assert (SATURATED_CPU_PERCENT, SATURATED_SHARE) == (90.0, 0.25)


def test_no_samples_is_no_verdict_and_not_saturated():
    verdict = judge([])
    assert verdict.samples == 0 and verdict.saturated_share == 0.0
    assert not verdict.saturated


def test_a_cool_generator_is_not_saturated():
    verdict = judge(run_of([20.0, 35.0, 50.0, 40.0]))
    assert verdict.samples == 4 and verdict.saturated_share == 0.0
    assert not verdict.saturated
    assert verdict.peak_cpu == 50.0


def test_cpu_at_the_threshold_is_not_hot_and_just_above_it_is():
    at = judge(run_of([SATURATED_CPU_PERCENT] * 4))
    assert at.saturated_share == 0.0 and not at.saturated
    above = judge(run_of([SATURATED_CPU_PERCENT + 0.1] * 4))
    assert above.saturated_share == 1.0 and above.saturated


@pytest.mark.parametrize(
    ("hot", "of", "saturated"),
    [
        (1, 8, False),  # 12.5% of the samples: a short burst
        (2, 8, True),  # exactly SATURATED_SHARE
        (1, 4, True),  # exactly SATURATED_SHARE
        (1, 5, False),  # 20%
        (3, 8, True),
    ],
)
def test_saturated_when_hot_for_at_least_the_share_of_samples(hot, of, saturated):
    cpus = [99.0] * hot + [30.0] * (of - hot)
    verdict = judge(run_of(cpus))
    assert verdict.samples == of
    assert verdict.saturated_share == hot / of
    assert verdict.saturated is saturated


def test_processes_on_one_host_at_one_moment_count_once_and_add_up():
    # Two Locust processes on worker-1 sample the same interval, a second apart: one moment, hot if
    # either saw it hot; their memory, files, holders and agent hosts add up.
    first = sample(0, 95.0, live_holders=3, pss_bytes=100 * MB, uss_bytes=80 * MB, open_files=30, agent_hosts=1)
    second = sample(0, 60.0, live_holders=5, pss_bytes=140 * MB, uss_bytes=90 * MB, open_files=50, agent_hosts=2)
    samples = [
        replace(first, timestamp=first.timestamp - 1.0),
        replace(second, timestamp=second.timestamp + 1.0),
        sample(1, 40.0, live_holders=2, pss_bytes=90 * MB),
        sample(2, 40.0, live_holders=2, pss_bytes=90 * MB),
    ]
    verdict = judge(samples)
    assert verdict.samples == 3
    assert verdict.saturated_share == pytest.approx(1 / 3) and verdict.saturated
    assert verdict.peak_live_holders == 8
    assert verdict.peak_pss_bytes == 240 * MB and verdict.peak_uss_bytes == 170 * MB
    assert verdict.peak_open_files == 80 and verdict.peak_agent_hosts == 3
    assert verdict.pss_per_holder_bytes == 240 * MB // 8
    assert verdict.peak_cpu == 95.0
    assert verdict.peak_generator_cpu == (95.0 + 60.0) / 2


def test_hosts_are_judged_moment_by_moment_apart():
    # worker-2 is hot at every moment, worker-1 never: half of the (host, moment) samples are hot.
    samples = [sample(moment, 20.0, host="worker-1") for moment in range(4)]
    samples += [sample(moment, 97.0, host="worker-2") for moment in range(4)]
    verdict = judge(samples)
    assert verdict.samples == 8
    assert verdict.saturated_share == 0.5 and verdict.saturated


def test_the_holder_memory_is_read_at_the_busiest_moment():
    samples = [
        sample(0, 30.0, live_holders=0, pss_bytes=50 * MB),  # before any holder: no division by zero
        sample(1, 30.0, live_holders=10, pss_bytes=300 * MB),
        sample(2, 30.0, live_holders=4, pss_bytes=400 * MB),  # more memory, fewer holders
    ]
    verdict = judge(samples)
    assert verdict.peak_live_holders == 10
    assert verdict.pss_per_holder_bytes == 30 * MB


def test_no_holders_ever_gives_no_memory_per_holder():
    assert judge([sample(0, 30.0, live_holders=0)]).pss_per_holder_bytes == 0


def write_health(run_dir, name: str, samples: list[HealthSample]) -> None:
    folder = run_dir / HEALTH_DIR
    folder.mkdir(exist_ok=True)
    with open(folder / name, "w", newline="") as handle:
        writer = csv.DictWriter(handle, [field.name for field in fields(HealthSample)])
        writer.writeheader()
        for row in samples:
            writer.writerow(asdict(row))


def test_verdict_from_the_files_of_a_run(tmp_path):
    # Two generator processes of one host, each with its own file, as a run leaves them.
    write_health(tmp_path, "worker-1-100.csv", [sample(m, 95.0 if m < 2 else 30.0) for m in range(8)])
    write_health(tmp_path, "worker-1-101.csv", [sample(m, 95.0 if m < 2 else 30.0) for m in range(8)])
    with open(tmp_path / HEALTH_DIR / "worker-1-101.csv", "a") as handle:
        handle.write("1234.5,worker-1,99.0,")  # cut short by an interrupted run: skipped
    samples = read_health(tmp_path)
    assert len(samples) == 16
    assert [s.timestamp for s in samples] == sorted(s.timestamp for s in samples)
    verdict = judge(samples)
    assert verdict.samples == 8 and verdict.saturated_share == 0.25 and verdict.saturated
    assert verdict.peak_live_holders == 8


def test_files_of_older_bundles_are_read(tmp_path):
    # Bundles written before dense hosting have live_agents and no agent_hosts.
    old = [replace(sample(m, 99.0), agent_hosts=0) for m in range(4)]
    names = [field.name for field in fields(HealthSample) if field.name not in ("live_holders", "agent_hosts")]
    folder = tmp_path / HEALTH_DIR
    folder.mkdir()
    with open(folder / "gen-1.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*names, "live_agents"])
        for row in old:
            writer.writerow([*(getattr(row, name) for name in names), 6])
    verdict = judge(read_health(tmp_path))
    assert verdict.samples == 4 and verdict.saturated
    assert verdict.peak_live_holders == 6 and verdict.peak_agent_hosts == 0


def test_a_run_without_health_files_has_no_samples(tmp_path):
    assert read_health(tmp_path) == []
    assert not judge(read_health(tmp_path)).saturated


@pytest.mark.parametrize(
    ("generator", "by_generator"),
    [(95.0, True), (50.0, True), (49.0, False), (20.0, False)],
    ids=["all-generator", "half", "just-under-half", "mostly-others"],
)
def test_a_saturated_host_is_blamed_on_the_generator_only_when_it_used_most_of_it(generator, by_generator):
    """On a host shared with the embedded target, the target's CPU can saturate the host: the run is
    still not a valid measurement, but the generator is not what to scale."""
    samples = [sample(moment, 100.0, generator_cpu_percent=generator) for moment in range(4)]
    verdict = judge(samples)
    assert verdict.saturated
    assert verdict.generator_share_when_hot == pytest.approx(generator / 100)
    assert verdict.saturated_by_generator is by_generator


def test_cool_moments_do_not_count_towards_the_blame():
    samples = [sample(0, 100.0, generator_cpu_percent=10.0)] + [
        sample(moment, 30.0, generator_cpu_percent=30.0) for moment in range(1, 4)
    ]
    verdict = judge(samples)
    assert verdict.saturated and verdict.generator_share_when_hot == pytest.approx(0.1)
    assert not verdict.saturated_by_generator


def test_the_holders_and_memory_of_a_cluster_are_all_its_hosts_together():
    """Two workers, each with its own host name as on cloud VMs: the run held the holders of both,
    while CPU and open files stay judged host by host."""
    samples = []
    for moment in range(3):
        samples.append(sample(moment, 95.0, host="worker-1", live_holders=100 * moment, pss_bytes=200 * MB,
                              uss_bytes=150 * MB, open_files=300, agent_hosts=2))  # fmt: skip
        samples.append(sample(moment, 20.0, host="worker-2", live_holders=120 * moment, pss_bytes=240 * MB,
                              uss_bytes=160 * MB, open_files=400, agent_hosts=3))  # fmt: skip
    verdict = judge(samples)
    assert verdict.peak_live_holders == 440 and verdict.peak_agent_hosts == 5
    assert verdict.peak_pss_bytes == 440 * MB and verdict.peak_uss_bytes == 310 * MB
    assert verdict.pss_per_holder_bytes == 440 * MB // 440
    assert verdict.peak_open_files == 400  # the busiest host's, not the sum
    assert verdict.samples == 6 and verdict.saturated_share == 0.5


def pinned(moment: int, host_cpu: float, own_cores_cpu: float, generator_cpu: float) -> HealthSample:
    """Locust and its agents pinned to 1 of the host's 2 cores (taskset), the target on the other."""
    return sample(moment, host_cpu, generator_cpu_percent=generator_cpu, host_cores=2, allowed_cores=1,
                  allowed_cpu_percent=own_cores_cpu)  # fmt: skip


def test_pinned_apart_a_full_host_is_not_the_generators_when_its_own_core_has_room():
    # The target's core full, the generator's core at 60 %: the host reads 80-95 % busy.
    verdict = judge([pinned(moment, 95.0, 60.0, 30.0) for moment in range(8)])
    assert not verdict.saturated
    assert verdict.pinned_cores == 1 and verdict.peak_cpu == 60.0
    assert verdict.peak_generator_cpu == 60.0  # 30 % of the host is 60 % of its one core


def test_pinned_its_own_full_core_is_the_generators_limit_though_the_host_is_not_full():
    # The generator's core full (its own work), the target's core idle: the host reads about 50 %.
    verdict = judge([pinned(moment, 52.0, 97.0, 47.0) for moment in range(8)])
    assert verdict.saturated and verdict.saturated_by_generator
    assert verdict.peak_cpu == 97.0


def test_pinned_its_core_taken_by_others_is_not_blamed_on_the_generator():
    verdict = judge([pinned(moment, 98.0, 96.0, 10.0) for moment in range(8)])
    assert verdict.saturated and not verdict.saturated_by_generator


def test_a_sample_of_a_bundle_older_than_the_core_figure_is_judged_on_the_host():
    old = sample(0, 95.0, host_cores=2, allowed_cores=1)  # allowed_cpu_percent not recorded
    assert not old.pinned and old.cpu_percent == 95.0
