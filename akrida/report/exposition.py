"""Prometheus' text exposition format (version 0.0.4), written by hand: a few metric families, no
client library to install on every load host.

Label counts are bounded: a family takes at most `max_series` label sets, and the ones past that are
counted in `akrida_metrics_dropped_series` rather than served, so a run with a runaway step name (a
user's scenario naming a step after each holder) cannot grow Prometheus' memory without bound.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MAX_SERIES = 200  # label sets per family
# Latency buckets in seconds: Locust rounds response times to 2 significant digits above 100 ms, so
# finer bounds would only split its own rounding.
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_KIND = re.compile(r"^\s*(?P<cls>[A-Za-z_][A-Za-z0-9_]*)\((?P<rest>.*)$", re.DOTALL)
_COMMAND_KIND = re.compile(r"failed \((?P<kind>[a-z_]+)\)")
# Failure kinds the agent protocol names (agent/PROTOCOL.md); any other becomes "other".
COMMAND_KINDS = frozenset({"timeout", "failed", "request", "local"})
KNOWN_ERRORS = frozenset(
    {"AgentCrashed", "AgentHung", "ProtocolViolation", "PortPoolExhausted", "AgentNotBuilt", "ControllerError",
     "TargetUnreachable", "TargetFailure", "TimeoutError", "ConnectionError", "RuntimeError", "ValueError"}
)  # fmt: skip

Labels = tuple[tuple[str, str], ...]


@dataclass
class Family:
    """One metric family: its samples keyed by label set (histograms: by label set and bucket)."""

    name: str
    kind: str  # counter, gauge, histogram
    help: str
    max_series: int = MAX_SERIES
    samples: dict[Labels, float] = field(default_factory=dict)
    buckets: dict[Labels, tuple[list[tuple[float, int]], float, int]] = field(default_factory=dict)
    dropped: int = 0

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"not a metric name: {self.name!r}")

    def _admits(self, labels: Labels) -> bool:
        if labels in self.samples or labels in self.buckets:
            return True
        if len(self.samples) + len(self.buckets) >= self.max_series:
            self.dropped += 1
            return False
        return True

    def set(self, value: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        if self._admits(key):
            self.samples[key] = value

    def add(self, value: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        if self._admits(key):
            self.samples[key] = self.samples.get(key, 0.0) + value

    def observe_counts(
        self, response_times_ms: Mapping[int, int] | Mapping[float, int], total_ms: float, **labels: str
    ) -> None:
        """A histogram from Locust's response-time counts ({rounded ms: requests}), in seconds."""
        key = tuple(sorted(labels.items()))
        if not self._admits(key):
            return
        cumulative = []
        for bound in LATENCY_BUCKETS_S:
            limit_ms = bound * 1000
            cumulative.append((bound, sum(n for ms, n in response_times_ms.items() if ms <= limit_ms)))
        count = sum(response_times_ms.values())
        self.buckets[key] = (cumulative, total_ms / 1000, count)


def render(families: Iterable[Family]) -> str:
    lines: list[str] = []
    dropped = Family("akrida_metrics_dropped_series", "gauge", "Label sets left out to keep label counts bounded.")
    for family in families:
        lines.append(f"# HELP {family.name} {_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for labels, value in sorted(family.samples.items()):
            lines.append(f"{family.name}{_labels(labels)} {_value(value)}")
        for labels, (cumulative, total_s, count) in sorted(family.buckets.items()):
            for bound, n in cumulative:
                lines.append(f"{family.name}_bucket{_labels((*labels, ('le', f'{bound:g}')))} {n}")
            lines.append(f"{family.name}_bucket{_labels((*labels, ('le', '+Inf')))} {count}")
            lines.append(f"{family.name}_sum{_labels(labels)} {_value(total_s)}")
            lines.append(f"{family.name}_count{_labels(labels)} {count}")
        if family.dropped:
            dropped.set(family.dropped, family=family.name)
    lines.append(f"# HELP {dropped.name} {dropped.help}")
    lines.append(f"# TYPE {dropped.name} gauge")
    lines += [f"{dropped.name}{_labels(labels)} {_value(v)}" for labels, v in sorted(dropped.samples.items())]
    return "\n".join(lines) + "\n"


def failure_kind(error: str) -> str:
    """A bounded kind for one of Locust's error texts, such as
    "CommandFailed('ping_mediator failed (timeout): ...')" -> "timeout", "AgentCrashed(...)" -> "AgentCrashed"."""
    match = _KIND.match(error)
    if match is None:
        return "other"
    if match["cls"] == "CommandFailed":
        command = _COMMAND_KIND.search(match["rest"])
        return command["kind"] if command is not None and command["kind"] in COMMAND_KINDS else "other"
    return match["cls"] if match["cls"] in KNOWN_ERRORS else "other"


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in labels) + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))
