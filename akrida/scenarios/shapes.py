"""The load shapes of a run, as Locust `LoadTestShape`s: STAGES (k6's ramps and plateaus) and
ARRIVAL_RATE (an open model: holders arrive at a fixed rate, whatever the target answers).

Every locustfile exposes `LoadShape = load_shape()`: a shape class when STAGES or ARRIVAL_RATE is
set, and None otherwise, so that USERS, SPAWN_RATE and RUN_TIME apply. The shape's settings are read
from the environment (and .env) when Locust imports the locustfile, before it parses its options:
set them as variables, not as options.
"""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path

from locust import LoadTestShape

from akrida import paths
from akrida.report.arrivals import Arrivals
from akrida.report.limit import criterion_words
from akrida.scenarios.options import variables
from akrida.scenarios.search import SearchShape
from akrida.settings import Settings
from akrida.slo import parse_gates

# What a shape needs to know; USERS and RUN_TIME are Locust's own options, so read here as variables.
SHAPE_VARIABLES = (
    "STAGES", "ARRIVAL_RATE", "USERS", "RUN_TIME", "SPAWN_RATE",
    "FIND_LIMIT", "LIMIT_FAIL_RATIO", "SLO", "AGENT_TIMEOUT",
)  # fmt: skip


class StagesShape(LoadTestShape):
    """Each stage moves the number of holders linearly from where the previous one ended to its own
    target over its duration; after the last stage the test ends."""

    abstract = True
    stages: tuple[tuple[int, int], ...] = ()

    def tick(self) -> tuple[int, float] | None:
        elapsed = self.get_run_time()
        begun, users_before = 0.0, 0
        for seconds, users in self.stages:
            if elapsed < begun + seconds:
                # Locust moves towards `users` at this rate: the stage's slope, at least one holder a second.
                return users, max(abs(users - users_before) / seconds, 1.0)
            begun, users_before = begun + seconds, users
        return None  # the last stage is over: the test ends


class ArrivalShape(LoadTestShape):
    """The open model: one holder at 0 s, then `rate` more a second, up to `users`, for `run_time`.

    Each tick (Locust ticks every second) asks for every arrival due by now, whether or not earlier
    holders have finished starting: Locust's spawner only creates the user, and a holder's start
    runs in the user's own greenlet, so nothing waits on the target. When Locust fell behind (a busy
    generator), the arrivals owed are asked for at once rather than at `rate`, so the schedule is
    kept by the clock and not by Locust's pace; those that still had not started a tick later are
    counted late, and those never started by the end missed (arrivals.json, shown in the summary).
    """

    abstract = True
    rate: float = 1.0
    users: int = 1
    run_time: int = 60

    def __init__(self) -> None:
        super().__init__()
        self.arrivals = Arrivals(rate=self.rate)
        self._asked = 0  # arrivals asked for at the previous tick
        self._judged = 0  # arrivals already judged late or on time

    def due(self, elapsed: float) -> int:
        return min(self.users, math.floor(self.rate * elapsed + 1e-9) + 1)

    def tick(self) -> tuple[int, float] | None:
        elapsed = self.get_run_time()
        started = self.runner.user_count if self.runner is not None else 0
        self._judge(started)
        if elapsed >= self.run_time:
            self.arrivals.missed = max(0, self.arrivals.due - started)
            self._record()
            return None
        due = self.due(elapsed)
        self._asked = self.arrivals.due = due
        self._record()
        # On schedule this is `rate`; behind it, everything owed at once (Locust spawns a batch of
        # floor(rate) users per dispatch, so this is one batch).
        return due, max(self.rate, float(due - started))

    def _judge(self, started: int) -> None:
        self.arrivals.started = started
        self.arrivals.late += max(0, self._asked - max(self._judged, started))
        self._judged = max(self._judged, self._asked)

    def _record(self) -> None:
        run_dir = os.environ.get(paths.RUN_DIR_VARIABLE)
        if run_dir:
            # A full disk must not stop the shape: the summary then says nothing of arrivals.
            with contextlib.suppress(OSError):
                self.arrivals.write(Path(run_dir))


def load_shape() -> type[LoadTestShape] | None:
    """The shape that STAGES, ARRIVAL_RATE or FIND_LIMIT asks for, or None: Locust's own ramp."""
    environment = variables()  # read at import, before Locust parses any option
    raw = {name: environment[name] for name in SHAPE_VARIABLES if name in environment}
    if not any(raw.get(name, "").strip() for name in ("STAGES", "ARRIVAL_RATE", "FIND_LIMIT")):
        return None
    settings = Settings.from_mapping(raw)  # a bad value or a conflict stops Locust, naming the settings
    if settings.find_limit is not None:
        return search_shape(settings)
    if settings.stages:
        return type("StagesShape", (StagesShape,), {"stages": settings.stages, "abstract": False})
    attributes = {"rate": settings.arrival_rate, "users": settings.users, "run_time": settings.run_time}
    return type("ArrivalShape", (ArrivalShape,), {**attributes, "abstract": False})


def search_shape(settings: Settings) -> type[LoadTestShape]:
    assert settings.find_limit is not None
    step_holders, step_seconds = settings.find_limit
    gates = tuple(parse_gates(settings.slo))
    attributes = {
        "step_holders": step_holders,
        "step_seconds": step_seconds,
        "ceiling": settings.users,
        "spawn_rate": settings.spawn_rate,
        "run_time": settings.run_time,
        "agent_timeout": settings.agent_timeout,
        "gates": gates,
        "fail_ratio": settings.limit_fail_ratio,
        "criterion": criterion_words(list(gates), settings.limit_fail_ratio),
        "abstract": False,
    }
    return type("SearchShape", (SearchShape,), attributes)
