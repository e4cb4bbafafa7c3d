"""The verdict of a run and its summary: printed at the end, and written as summary.md and summary.html."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

from akrida.report.arrivals import Arrivals, read_arrivals
from akrida.report.breaking import BreakingPoint, find
from akrida.report.charts import GENERATOR_CHART, LATENCY_CHART, LOAD_CHART, TARGET_CHART
from akrida.report.connectivity import Outage, StormRecord, outages, read_storm
from akrida.report.delivery import DeliveryCounts, read_delivery, read_delivery_by_strategy
from akrida.report.gates import GateResult
from akrida.report.health import SATURATED_CPU_PERCENT, HealthSample, HealthVerdict, judge, read_health
from akrida.report.limit import LimitRecord, read_limit
from akrida.report.loop_delay import LoopSample, read_loop_samples
from akrida.report.manifest import Manifest
from akrida.report.outcomes import Outcome, run_outcomes
from akrida.report.schedule import SPLIT_HEADER, ScheduleRecord, read_schedule, timing_lines
from akrida.report.stats import Failure, StepStats, read_failures, read_steps
from akrida.report.tables import OUTCOME_HEADER, latency_note, outcome_rows, step_table
from akrida.report.target import target_lines
from akrida.report.timeline import read_timeline
from akrida.report.validity import Validity, judge_validity
from akrida.report.windows import MIN_WINDOW_S, SteadyWindow, read_user_counts, steady_state
from akrida.slo import Gate
from akrida.target.profile import ProfileSummary, read_profiles
from akrida.target.samples import TargetRecord, read_samples

MIB = 2**20
CHARTS = (LATENCY_CHART, LOAD_CHART, TARGET_CHART, GENERATOR_CHART)


@dataclass
class Findings:
    """Everything the summary says, gathered from the run folder."""

    steps: list[StepStats]
    failures: list[Failure]
    gates: list[GateResult]
    delivery: DeliveryCounts | None
    health: HealthVerdict
    complete: bool
    windows: list[SteadyWindow] = field(default_factory=list)
    levels: frozenset[int] = frozenset()  # the holder counts the run planned to hold
    arrivals: Arrivals | None = None
    delivery_by_strategy: dict[str, DeliveryCounts] = field(default_factory=dict)
    storm: StormRecord | None = None
    outages: list[Outage] = field(default_factory=list)
    breaking: BreakingPoint | None = None  # where the run broke, and why
    limit: LimitRecord | None = None  # FIND_LIMIT's search, when the run was one
    profiles: list[ProfileSummary] = field(default_factory=list)  # TARGET_PROFILE's recordings
    target: TargetRecord | None = None  # the target's side, when it was sampled
    health_samples: list[HealthSample] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)  # the whole run's, from the timeline (none: not written)
    validity: Validity | None = None  # the generator judged per process and per stretch of the run
    schedule: ScheduleRecord | None = None  # SCHEDULE's counts and the target/queueing split
    loop: list[LoopSample] = field(default_factory=list)  # the agents' event-loop delay

    @property
    def target_failures(self) -> int:
        # A lost message is not added: its step already failed (it timed out, or another message came).
        return sum(s.failures for s in self.steps if not s.harness)

    @property
    def harness_failures(self) -> int:
        return sum(s.failures for s in self.steps if s.harness)

    @property
    def gates_breached(self) -> bool:
        return any(not result.passed for result in self.gates)

    @property
    def verdict(self) -> str:
        if not self.complete:
            verdict = "INCOMPLETE"
        elif self.limit is not None:
            verdict = search_verdict(self.limit)
        elif self.gates:
            verdict = "SLO BREACHED" if self.gates_breached else "PASS"
        elif not self.steps:
            verdict = "NO DATA"
        else:
            verdict = "FAIL" if self.target_failures or self.harness_failures else "PASS"
        if self.breaking is not None and self.breaking.generators_limit:
            verdict += " (the load generator's limit, not the target's: it ran out of CPU where it broke)"
        elif self.health.saturated_by_generator:
            verdict += " (not a valid measurement of the target: the load generator saturated)"
        elif self.health.saturated:
            where = "the cores the load generator may run on" if self.health.pinned_cores else "the generator's host"
            verdict += f" (not a valid measurement of the target: {where} ran out of CPU)"
        elif self.validity is not None:
            verdict += self.validity.verdict_note()
        return verdict


def gather(
    run_dir: Path,
    gates: list[GateResult],
    complete: bool,
    levels: frozenset[int] = frozenset(),
    slo: list[Gate] | None = None,
    planned_holders: int = 0,
) -> Findings:
    """What the run folder says; `levels` are the holder counts whose plateaus are steady-state windows,
    `slo` the gates the breaking point is judged by."""
    timeline = read_timeline(run_dir)
    failures = read_failures(run_dir)
    health = read_health(run_dir)
    target = read_samples(run_dir)
    counts = read_user_counts(run_dir)
    limit = read_limit(run_dir)
    breaking = find(timeline, counts, planned_holders, slo or [], failures, health, target, limit)
    profiles = read_profiles(run_dir)
    breaking.profiles = profiles
    windows = steady_state(run_dir, levels, timeline) if levels else []
    return Findings(
        steps=read_steps(run_dir),
        failures=failures,
        gates=gates,
        delivery=read_delivery(run_dir),
        health=judge(health),
        complete=complete,
        windows=windows,
        levels=levels,
        arrivals=read_arrivals(run_dir),
        delivery_by_strategy=read_delivery_by_strategy(run_dir),
        storm=read_storm(run_dir),
        outages=outages(timeline),
        breaking=breaking,
        profiles=profiles,
        limit=limit,
        target=target,
        health_samples=health,
        outcomes=run_outcomes(timeline, [second for second, _users in counts]) if timeline is not None else [],
        validity=judge_validity(health, windows, run_dir),
        schedule=read_schedule(run_dir),
        loop=read_loop_samples(run_dir),
    )


def search_verdict(limit: LimitRecord) -> str:
    broken, held = limit.broken, limit.last_held
    last = held.holders if held else 0
    if broken is None:
        return f"NO LIMIT FOUND: {last} holders held"
    return f"LIMIT FOUND ({broken.kind}): {last} holders held, {broken.holders} did not"


# --- the pieces, as plain rows, shared by the three renderings ---------------------------------------


def load_shape_lines(findings: Findings) -> list[tuple[str, SteadyWindow | None]]:
    """The open model's record and the steady-state windows, in words; a window's line comes with it,
    for each rendering to put its table under."""
    lines: list[tuple[str, SteadyWindow | None]] = []
    a = findings.arrivals
    if a is not None:
        lines.append((a.line(), None))
        if a.late or a.missed:
            warning = (
                "WARNING: the generator did not keep the arrival schedule: the target got less load than "
                "ARRIVAL_RATE asked for. Look at the load generator's health."
            )
            lines.append((warning, None))
    if findings.levels and not findings.windows:
        levels = " or ".join(str(level) for level in sorted(findings.levels))
        lines.append(
            (f"no steady state: the holder count never held at {levels} for {MIN_WINDOW_S}s; "
             "every figure above includes the ramp", None)
        )  # fmt: skip
    for number, steady in enumerate(findings.windows, 1):
        line = f"steady-state window {number}: {steady.window.describe()}"
        if steady.steps is None:
            line += "; no per-second timings were written (timeline/), so no figures"
        elif not steady.steps:
            line += "; no request ended in it"
        lines.append((line, steady))
    return lines


def failure_lines(findings: Findings) -> list[str]:
    lines = [
        f"failures of the system under test: {findings.target_failures}",
        f"failures of the harness (agents, ports, protocol): {findings.harness_failures}",
    ]
    for failure in sorted(findings.failures, key=lambda f: -f.occurrences)[:5]:
        lines.append(f"{failure.occurrences} x {failure.request_type} {failure.name}: {failure.error[:200]}")
    return lines


def delivery_lines(findings: Findings) -> list[str]:
    if findings.delivery is None:
        return []
    by_strategy = findings.delivery_by_strategy or {findings.delivery.pickup_strategy: findings.delivery}
    return [counts.line() for _strategy, counts in sorted(by_strategy.items())]


def connectivity_lines(findings: Findings) -> list[str]:
    """The reconnect storm and the target's outages, in words."""
    lines = findings.storm.lines() if findings.storm else []
    return lines + [outage.line() for outage in findings.outages]


def split_rows(findings: Findings) -> list[tuple[str, ...]]:
    return findings.schedule.split.rows() if findings.schedule is not None else []


def target_side(findings: Findings) -> list[str]:
    return target_lines(findings.target, findings.health_samples)


def profile_lines(findings: Findings) -> list[str]:
    lines = []
    for profile in findings.profiles:
        lines += profile.lines()
        if profile.svg is not None:
            lines.append(f"  flame graph: {_in_bundle(profile.svg)}")
        if profile.cpuprofile is not None:
            lines.append(f"  V8 CPU profile (Chrome DevTools opens it): {_in_bundle(profile.cpuprofile)}")
    return lines


def _in_bundle(path: Path) -> str:
    """'target/profiles/end-mediator.svg': a recording's file, from the run folder."""
    return f"{path.parent.parent.name}/{path.parent.name}/{path.name}"


def health_lines(findings: Findings) -> list[str]:
    h = findings.health
    if not h.samples:
        return ["no generator health samples were taken"]
    # Pinned to some of the host's cores (taskset), the generator's CPU is judged on those cores alone.
    cpu = f"the {h.pinned_cores} core(s) Locust and agents may run on" if h.pinned_cores else "the host"
    lines = [
        f"CPU of {cpu} above {SATURATED_CPU_PERCENT:.0f}% in {h.saturated_share:.0%} of samples "
        f"(peak {h.peak_cpu:.0f}%; Locust and agents peaked at {h.peak_generator_cpu:.0f}% of it)",
        f"memory of Locust and agents: peak PSS {h.peak_pss_bytes / MIB:.0f} MiB, USS {h.peak_uss_bytes / MIB:.0f} MiB",
        f"peak open files {h.peak_open_files} (on one host), peak live holders {h.peak_live_holders} "
        f"in {h.peak_agent_hosts} agent process(es)",
    ]
    if h.peak_live_holders:
        per_holder = h.pss_per_holder_bytes / MIB
        lines.insert(2, f"PSS per holder {per_holder:.1f} MiB (Locust and agents, at {h.peak_live_holders} holders)")
    if h.saturated_by_generator:
        lines.append(
            "WARNING: the load generator saturated its CPU: the latencies include its own queueing, so this run is "
            "not a valid measurement of the target. Use fewer users per host or more hosts."
        )
    elif h.saturated:
        lines.append(
            f"WARNING: the CPU of {cpu} ran out, mostly to other processes (Locust and agents used "
            f"{h.generator_share_when_hot:.0%} of it meanwhile): the latencies include the holders' wait for CPU, so "
            "this run is not a valid measurement of the target. A target on the same "
            + ("cores (pin it to others)" if h.pinned_cores else "host (the embedded one)")
            + " competes with its own load: run the target or the load elsewhere."
        )
    return lines + (findings.validity.lines() if findings.validity is not None else [])


# --- renderings ---------------------------------------------------------------------------------------


def _text_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=False)]
    widths[1] = max(widths[1], 20)

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(cells, widths, strict=False))
        )

    return [line(header), "-" * len(line(header)), *(line(row) for row in rows)]


def render_text(findings: Findings) -> str:
    header, rows, note = step_table(findings.outcomes, findings.steps)
    lines = [*_text_table(header, rows), note] if rows else ["no statistics were written"]
    lines += ["", *failure_lines(findings)]
    if findings.breaking is not None:
        lines += ["", "where it broke:", *(f"  {line}" for line in findings.breaking.lines())]
    if findings.arrivals or findings.levels:
        lines += ["", "load shape (figures over the steady-state windows only, not the ramp):"]
        for line, window in load_shape_lines(findings):
            lines.append(f"  {line}")
            if window is not None and window.steps:
                table = _text_table(OUTCOME_HEADER, outcome_rows(window.steps))
                lines += [f"    {row}" for row in [*table, latency_note(window.steps)]]
    if findings.gates:
        lines += ["", "SLO gates:", *(f"  {result.line()}" for result in findings.gates)]
    timing = timing_lines(findings.schedule, findings.loop)
    if timing:
        lines += ["", "how the latencies were timed:", *(f"  {line}" for line in timing)]
        if split_rows(findings):
            lines += [f"    {row}" for row in _text_table(SPLIT_HEADER, split_rows(findings))]
    if findings.delivery:
        lines += ["", *delivery_lines(findings)]
    if findings.storm or findings.outages:
        lines += ["", "connections to the mediator:", *(f"  {line}" for line in connectivity_lines(findings))]
    lines += [
        "",
        "the target's side:",
        *(f"  {line}" for line in target_lines(findings.target, findings.health_samples)),
    ]
    if findings.profiles:
        lines += ["", "the target's profile:", *(f"  {line}" for line in profile_lines(findings))]
    lines += ["", "load generator:", *(f"  {line}" for line in health_lines(findings))]
    lines += ["", f"verdict: {findings.verdict}"]
    return "\n".join(lines)


def render_markdown(findings: Findings, manifest: Manifest) -> str:
    out = [f"# Akrida run {manifest.run_id}", "", f"**Verdict: {findings.verdict}**", ""]
    out += [f"- {label}: {value}" for label, value in _facts(manifest)]
    header, rows, note = step_table(findings.outcomes, findings.steps)
    out += ["", "## Steps", "", note, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    out += ["", "## Failures", "", *(f"- {line}" for line in failure_lines(findings))]
    if findings.breaking is not None:
        out += ["", "## Where it broke", "", *(f"- {line}" for line in findings.breaking.lines())]
    if findings.arrivals or findings.levels:
        out += ["", "## Load shape", "", "Figures over the steady-state windows only, not the ramp.", ""]
        for line, window in load_shape_lines(findings):
            out.append(f"- {line}")
            if window is not None and window.steps:
                out += ["", "  | " + " | ".join(OUTCOME_HEADER) + " |", "  |" + "---|" * len(OUTCOME_HEADER)]
                out += ["  | " + " | ".join(row) + " |" for row in outcome_rows(window.steps)]
                out.append("")
    if findings.gates:
        out += ["", "## SLO gates", "", *(f"- {result.line()}" for result in findings.gates)]
    timing = timing_lines(findings.schedule, findings.loop)
    if timing:
        out += ["", "## How the latencies were timed", "", *(f"- {line}" for line in timing)]
        if split_rows(findings):
            out += ["", "| " + " | ".join(SPLIT_HEADER) + " |", "|" + "---|" * len(SPLIT_HEADER)]
            out += ["| " + " | ".join(row) + " |" for row in split_rows(findings)]
    if findings.delivery:
        out += ["", "## Message delivery", "", *(f"- {line}" for line in delivery_lines(findings))]
    if findings.storm or findings.outages:
        out += ["", "## Connections to the mediator", "", *(f"- {line}" for line in connectivity_lines(findings))]
    out += [
        "",
        "## The target's side",
        "",
        *(f"- {line}" for line in target_lines(findings.target, findings.health_samples)),
    ]
    if findings.profiles:
        out += ["", "## The target's profile", "", *(f"- {line}" for line in profile_lines(findings))]
    out += ["", "## Load generator health", "", *(f"- {line}" for line in health_lines(findings))]
    out += ["", "## Charts", ""]
    out += [f"![{name}]({name})" for name in CHARTS]
    out += ["", "Locust's own report: [report.html](report.html). Run details: [manifest.json](manifest.json).", ""]
    return "\n".join(out)


def render_html(findings: Findings, manifest: Manifest) -> str:
    e = html.escape
    bad = not findings.verdict.startswith("PASS")
    header, table, note = step_table(findings.outcomes, findings.steps)
    rows = "".join("<tr>" + "".join(f"<td>{e(cell)}</td>" for cell in row) + "</tr>" for row in table)

    def items(lines: list[str]) -> str:
        return "<ul>" + "".join(f"<li>{e(line)}</li>" for line in lines) + "</ul>"

    sections = [
        f"<h1>Akrida run {e(manifest.run_id)}</h1>",
        f'<p class="verdict {"bad" if bad else "good"}">Verdict: {e(findings.verdict)}</p>',
        items([f"{label}: {value}" for label, value in _facts(manifest)]),
        f"<h2>Steps</h2><p>{e(note)}</p><table><tr>"
        + "".join(f"<th>{e(h)}</th>" for h in header)
        + f"</tr>{rows}</table>",
        "<h2>Failures</h2>" + items(failure_lines(findings)),
    ]
    if findings.breaking is not None:
        sections.append("<h2>Where it broke</h2>" + items(findings.breaking.lines()))
    if findings.arrivals or findings.levels:
        parts = ["<h2>Load shape</h2><p>Figures over the steady-state windows only, not the ramp.</p>"]
        for line, window in load_shape_lines(findings):
            parts.append(f"<p>{e(line)}</p>")
            if window is not None and window.steps:
                body = "".join(
                    "<tr>" + "".join(f"<td>{e(cell)}</td>" for cell in row) + "</tr>"
                    for row in outcome_rows(window.steps)
                )
                parts.append(
                    "<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in OUTCOME_HEADER) + f"</tr>{body}</table>"
                )
        sections.append("".join(parts))
    if findings.gates:
        sections.append("<h2>SLO gates</h2>" + items([result.line() for result in findings.gates]))
    timing = timing_lines(findings.schedule, findings.loop)
    if timing:
        split = "".join(
            "<tr>" + "".join(f"<td>{e(cell)}</td>" for cell in row) + "</tr>" for row in split_rows(findings)
        )
        split_table = "<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in SPLIT_HEADER) + f"</tr>{split}</table>"
        sections.append("<h2>How the latencies were timed</h2>" + items(timing) + (split_table if split else ""))
    if findings.delivery:
        sections.append("<h2>Message delivery</h2>" + items(delivery_lines(findings)))
    if findings.storm or findings.outages:
        sections.append("<h2>Connections to the mediator</h2>" + items(connectivity_lines(findings)))
    sections.append("<h2>The target's side</h2>" + items(target_side(findings)))
    if findings.profiles:
        sections.append("<h2>The target's profile</h2>" + items(profile_lines(findings)))
    sections.append("<h2>Load generator health</h2>" + items(health_lines(findings)))
    sections.append("<h2>Charts</h2>" + "".join(f'<p><img src="{name}" alt="{name}"></p>' for name in CHARTS))
    sections.append('<p>Locust\'s own report: <a href="report.html">report.html</a>. '
                    'Run details: <a href="manifest.json">manifest.json</a>.</p>')  # fmt: skip
    style = (
        "body{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
        "td:nth-child(-n+2),th:nth-child(-n+2){text-align:left}.verdict{font-size:1.3em;font-weight:bold}"
        ".good{color:#17703a}.bad{color:#b3261e}img{max-width:100%}"
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Akrida {e(manifest.run_id)}</title>'
        f"<style>{style}</style></head><body>{''.join(sections)}</body></html>\n"
    )


def _facts(manifest: Manifest) -> list[tuple[str, str]]:
    hosts = ", ".join(f"{h['name']} ({h['cores']} cores, {h['memory_bytes'] / 2**30:.0f} GiB)" for h in manifest.hosts)
    return [
        ("scenario", manifest.scenario),
        ("holders", f"{manifest.users} {_arriving(manifest)} for {manifest.run_time_s}s"),
        ("started / ended", f"{manifest.started_at} / {manifest.ended_at or 'not ended'}"),
        ("status", manifest.abandoned or manifest.status),
        ("target", ", ".join(f"{k}: {v}" for k, v in manifest.target.items()) or "unknown"),
        ("hosts", hosts),
    ]


def _arriving(manifest: Manifest) -> str:
    if manifest.config.get("ARRIVAL_RATE"):
        return f"arriving at {manifest.spawn_rate:g}/s (ARRIVAL_RATE, open model)"
    return f"at {manifest.spawn_rate:g}/s"
