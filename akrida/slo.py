"""SLO gates: thresholds a run must meet, written in one small syntax.

    p95(ping_mediator) < 500ms; fail_ratio < 0.01; rps(basic_message) > 5

A gate is `METRIC(STEP) OP VALUE[UNIT]`, or `METRIC OP VALUE` for the whole run. Gates are
separated by `;` or new lines.

- Latency metrics: p50, p66, p75, p80, p90, p95, p98, p99, avg, max. Units: ms (default) or s.
- rps: successful requests per second, over the run.
- fail_ratio: failures / requests, from 0 to 1. It counts harness failures too: a run whose
  generator failed has not shown that the target meets the SLO.
- failures, requests: counts.
- OP: <, <=, >, >=.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LATENCY = {"p50": "50%", "p66": "66%", "p75": "75%", "p80": "80%", "p90": "90%", "p95": "95%",
           "p98": "98%", "p99": "99%", "avg": "avg", "max": "max"}  # fmt: skip
METRICS = (*LATENCY, "rps", "fail_ratio", "failures", "requests")
OPERATORS = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}

_GATE = re.compile(
    r"^\s*(?P<metric>[a-z_0-9]+)\s*(?:\(\s*(?P<step>[^()]+?)\s*\))?\s*"
    r"(?P<op><=|>=|<|>)\s*(?P<value>[0-9]*\.?[0-9]+)\s*(?P<unit>ms|s)?\s*$"
)


class GateSyntaxError(ValueError):
    """A threshold that cannot be read. The message quotes it and shows the syntax."""


@dataclass(frozen=True)
class Gate:
    text: str
    metric: str
    step: str | None
    op: str
    value: float  # in ms for latency metrics

    def describe_value(self) -> str:
        return f"{self.value:g}ms" if self.metric in LATENCY else f"{self.value:g}"


def parse_gates(text: str, setting: str = "SLO") -> list[Gate]:
    gates = []
    for part in re.split(r"[;\n]", text or ""):
        if not part.strip():
            continue
        match = _GATE.match(part)
        if not match:
            raise GateSyntaxError(
                f"{setting}: cannot read {part.strip()!r}; expected METRIC(STEP) OP VALUE such as "
                "'p95(ping_mediator) < 500ms', 'fail_ratio < 0.01' or 'rps(basic_message) > 5'"
            )
        metric, unit = match["metric"], match["unit"]
        if metric not in METRICS:
            known = ", ".join(METRICS)
            raise GateSyntaxError(f"{setting}: unknown metric {metric!r} in {part.strip()!r}; known: {known}")
        if unit and metric not in LATENCY:
            raise GateSyntaxError(f"{setting}: {metric} takes no unit, but {part.strip()!r} gives {unit!r}")
        value = float(match["value"]) * (1000 if unit == "s" else 1)
        if metric == "fail_ratio" and value > 1:
            raise GateSyntaxError(f"{setting}: fail_ratio is between 0 and 1, got {value:g} in {part.strip()!r}")
        gates.append(Gate(part, metric, match["step"], match["op"], value))
    return gates
