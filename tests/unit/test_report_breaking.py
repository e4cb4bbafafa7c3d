"""Where a run broke, and why, on recorded timelines: the first failure, the first SLO breach, the
holders live then, and the resource that had run out on each side."""

from __future__ import annotations

from akrida.report.breaking import Holders, find, first_breach
from akrida.report.health import HealthSample
from akrida.report.stats import Failure
from akrida.report.timeline import Timeline
from akrida.slo import parse_gates
from akrida.target.samples import PG_CONNECTIONS_PREFIX, Source, TargetRecord

T0 = 1_800_000_000


def ramp(seconds: int = 120, per_second: int = 2) -> list[tuple[int, int]]:
    """Locust's user count: `per_second` more holders each second."""
    return [(T0 + s, min(200, per_second * s)) for s in range(seconds)]


def pings(timeline: Timeline, second: int, ms: float, count: int = 5, failed: int = 0) -> None:
    for n in range(count):
        timeline.record(T0 + second + 0.5, "didcomm", "ping_mediator", ms, failed=n < failed)


def steady_then_slow(slow_from: int = 60) -> Timeline:
    timeline = Timeline()
    for second in range(120):
        pings(timeline, second, 40 if second < slow_from else 1500)
    return timeline


def record(**series: list[tuple[float, float]]) -> TargetRecord:
    return TargetRecord({tuple(key.split("__")): points for key, points in series.items()}, {})


def flat(value: float, seconds: int = 120) -> list[tuple[float, float]]:
    return [(T0 + s, value) for s in range(seconds)]


def test_a_run_with_no_failure_and_no_slo_says_it_held_them_all():
    timeline = Timeline()
    for second in range(100):
        pings(timeline, second, 40)
    point = find(timeline, ramp(100), 198, [], [], [], None)
    assert point.broke is None
    assert point.lines() == ["Held all 198 holders with no failure of the target"]


def test_the_first_failure_names_its_second_the_holders_live_then_and_its_error():
    timeline = steady_then_slow()
    pings(timeline, 73, 60000, count=3, failed=2)
    failures = [Failure("didcomm", "ping_mediator", "TargetFailure('Mediator timeout!')", 2)]
    point = find(timeline, ramp(), 200, [], failures, [], None)
    assert point.first_failure is not None
    assert (point.first_failure.into_s, point.first_failure.holders) == (73, 146)
    assert "ping_mediator (2) failed" in point.first_failure.what and "Mediator timeout!" in point.first_failure.what
    assert "it broke at 146 holders live, 73s into the run" in point.lines()


def test_harness_failures_are_not_where_the_target_broke():
    timeline = steady_then_slow(slow_from=999)
    timeline.record(T0 + 50, "harness", "ping_mediator", 10, failed=True)
    assert find(timeline, ramp(), 200, [], [], [], None).first_failure is None


def test_the_first_slo_breach_is_the_first_10_s_stretch_that_breaks_it():
    gates = parse_gates("p95(ping_mediator) < 500ms")
    moment = first_breach(steady_then_slow(slow_from=60), Holders(ramp()), gates)
    assert moment is not None
    # 10 s stretches of 5 pings a second: the stretch that ends with the first slow second (60) has 5
    # slow pings of 50, so its p95 is theirs.
    assert moment.into_s == 60 and moment.holders == 120
    assert "p95(ping_mediator) < 500ms" in moment.what and "measured 1500ms" in moment.what


def test_a_gate_on_a_step_that_never_ran_in_a_stretch_is_no_breach():
    gates = parse_gates("p95(basic_message) < 500ms")
    assert first_breach(steady_then_slow(), Holders(ramp()), gates) is None


def test_with_an_slo_a_failure_within_it_is_not_where_it_broke():
    timeline = steady_then_slow(slow_from=999)
    pings(timeline, 30, 40, count=100, failed=1)
    point = find(timeline, ramp(), 200, parse_gates("fail_ratio < 0.05"), [], [], None)
    assert point.broke is None
    assert point.lines()[0] == "Held 200 holders within the SLO".replace("200", "all 200", 1)
    assert point.lines()[1].startswith("first failure (within the SLO): 30s into the run")


def test_the_mediators_event_loop_at_its_ceiling_is_named_as_the_cause():
    target = record(
        mediator__main_thread_cpu_cores=[(T0 + s, 0.3 if s < 50 else 0.97) for s in range(120)],
        mediator__cpu_cores=flat(1.4),
        **{"mediator admin API__live_probe_ms": flat(5)},
    )
    point = find(steady_then_slow(), ramp(), 200, parse_gates("p95(ping_mediator) < 500ms"), [], [], target)
    assert point.target_causes == [
        "mediator's main thread (its event loop) at 0.97 of its one-core ceiling; the whole process 1.40 cores"
    ]
    assert "load generator: had headroom" in point.lines()


def test_no_cause_found_names_the_busiest_resource_instead():
    target = record(mediator__main_thread_cpu_cores=flat(0.4), issuer__main_thread_cpu_cores=flat(0.1))
    point = find(steady_then_slow(), ramp(), 200, parse_gates("p95(ping_mediator) < 500ms"), [], [], target)
    assert point.target_causes == []
    assert any("no sampled resource had run out" in line and "mediator's main thread" in line for line in point.lines())


def test_postgresql_lock_waits_used_up_connections_and_a_stalled_probe_are_causes():
    target = record(
        postgres__pg_lock_waits=flat(3),
        postgres__pg_max_connections=flat(100),
        **{f"postgres__{PG_CONNECTIONS_PREFIX}active": flat(60), f"postgres__{PG_CONNECTIONS_PREFIX}idle": flat(35)},
        **{"mediator admin API__live_probe_ms": flat(1200)},
    )
    point = find(steady_then_slow(), ramp(), 200, parse_gates("p95(ping_mediator) < 500ms"), [], [], target)
    assert "postgres: sessions waiting on locks (up to 3 at once)" in point.target_causes
    assert "postgres: connections used up (95 of max_connections 100)" in point.target_causes
    assert any("/status/live took 1200 ms" in cause for cause in point.target_causes)


def test_the_generators_host_out_of_cpu_is_named_with_whose_cpu_it_was():
    health = [HealthSample(T0 + s, "loadhost", 97.0, 30.0, 0, 0, 0, 1, 100, 1) for s in range(0, 120, 3)]
    point = find(steady_then_slow(), ramp(), 200, parse_gates("p95(ping_mediator) < 500ms"), [], health, None)
    assert point.generator_causes == [
        "host loadhost out of CPU (97 %; mostly other processes (a target beside it): Locust and agents 30 %)"
    ]
    assert any(line.startswith("target side: not sampled") for line in point.lines())


def test_a_generator_pinned_to_one_core_of_two_is_out_of_cpu_though_the_host_is_not():
    # taskset -c 1 akrida run: Locust and agents at 48 % of a 2-core host is all of their one core.
    pinned = [HealthSample(T0 + s, "loadhost", 70.0, 48.0, 0, 0, 0, 1, 100, 1, 2, 1) for s in range(0, 120, 3)]
    gates = parse_gates("p95(ping_mediator) < 500ms")
    point = find(steady_then_slow(), ramp(), 200, gates, [], pinned, None)
    assert point.generator_causes == [
        "on loadhost, Locust and its agents used 0.96 of the 1 core(s) they may run on (CPU affinity): out of CPU"
    ]
    unpinned = [HealthSample(T0 + s, "loadhost", 70.0, 48.0, 0, 0, 0, 1, 100, 1, 2, 2) for s in range(0, 120, 3)]
    assert find(steady_then_slow(), ramp(), 200, gates, [], unpinned, None).generator_causes == []
    # Samples that also know how busy the allowed core was: Locust and agents at 45 % of the host are
    # 90 % of their one core, 0.90 of it (not 1.80: a process pinned to one core cannot use more).
    known = [
        HealthSample(T0 + s, "loadhost", 70.0, 45.0, 0, 0, 0, 1, 100, 1, 2, 1, allowed_cpu_percent=85.0)
        for s in range(0, 120, 3)
    ]
    assert find(steady_then_slow(), ramp(), 200, gates, [], known, None).generator_causes == [
        "on loadhost, Locust and its agents used 0.90 of the 1 core(s) they may run on (CPU affinity): out of CPU"
    ]


def test_one_agent_at_its_one_core_ceiling_is_the_generators_limit_though_the_host_is_idle():
    # An 8-core host at 20 %: the whole host is far from out, but one agent's event loop is at a full core.
    def health(agent_cores: float) -> list[HealthSample]:
        return [HealthSample(T0 + s, "loadhost", 20.0, 15.0, 0, 0, 0, 1, 100, 1, 8, 8, 41, 0.3, agent_cores, 42)
                for s in range(0, 120, 3)]  # fmt: skip

    gates = parse_gates("p95(ping_mediator) < 500ms")
    point = find(steady_then_slow(), ramp(), 200, gates, [], health(0.96), None)
    assert point.generator_causes == [
        "on loadhost, the busiest agent of Locust process 41 at its one-core ceiling (0.96 core, process 42)"
    ]
    assert point.generators_limit
    assert find(steady_then_slow(), ramp(), 200, gates, [], health(0.5), None).generator_causes == []


def test_a_break_where_only_the_generator_ran_out_is_the_generators_limit_in_the_verdict(tmp_path):
    from akrida.report.summary import gather

    pinned = [HealthSample(T0 + s, "loadhost", 70.0, 48.0, 0, 0, 0, 1, 100, 1, 2, 1) for s in range(0, 120, 3)]
    point = find(steady_then_slow(), ramp(), 200, parse_gates("p95(ping_mediator) < 500ms"), [], pinned, None)
    assert point.generators_limit
    findings = gather(tmp_path, [], complete=True)
    findings.breaking, findings.steps = point, []
    assert findings.verdict.endswith("(the load generator's limit, not the target's: it ran out of CPU where it broke)")
    target = record(mediator__main_thread_cpu_cores=flat(0.97))
    point = find(steady_then_slow(), ramp(), 200, parse_gates("p95(ping_mediator) < 500ms"), [], pinned, target)
    assert not point.generators_limit  # the target had run out too: not the generator's alone


def test_a_brief_breach_in_the_ramp_is_named_but_is_not_where_it_broke():
    timeline = Timeline()
    for second in range(120):
        pings(timeline, second, 1500 if 10 <= second < 14 else 40)
    point = find(timeline, ramp(), 200, parse_gates("p95(ping_mediator) < 500ms"), [], [], None)
    assert point.first_breach is not None and point.first_breach.into_s == 10
    assert point.broke is None
    assert point.lines()[0] == "Held all 200 holders within the SLO"
    assert point.lines()[1].startswith("first SLO breach (not sustained for 30s): 10s into the run, 20 holders live")


def test_the_cpu_of_a_host_the_load_shares_is_not_a_target_side_cause():
    target = TargetRecord(
        {("target host", "host_cpu_percent"): flat(95)},
        {"target host": Source(kind="2 cores, shared with the load", shared_with_load=True)},
    )
    point = find(steady_then_slow(), ramp(), 200, parse_gates("p95(ping_mediator) < 500ms"), [], [], target)
    assert point.target_causes == []
    assert point.target_busiest == "busiest: target host CPU at 95 %, with the load on it"
    alone = TargetRecord({("target host", "host_cpu_percent"): flat(95)}, {"target host": Source(kind="2 cores")})
    point = find(steady_then_slow(), ramp(), 200, parse_gates("p95(ping_mediator) < 500ms"), [], [], alone)
    assert point.target_causes == ["target host CPU at 95 % (out of CPU)"]
