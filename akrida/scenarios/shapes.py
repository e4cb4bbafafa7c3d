"""STAGES as a Locust load shape: ramps and plateaus, as k6 writes them (`2m:1000,10m:1000,1m:0`).

Each stage moves the number of holders linearly from where the previous one ended to its own
target over its duration; after the last stage the test ends. Every locustfile exposes
`StagesShape = stages_shape()`: a shape class when STAGES is set, and None otherwise, so that
USERS, SPAWN_RATE and RUN_TIME apply. STAGES is read from the environment (and .env) when Locust
imports the locustfile, before it parses its options: set it as a variable, not as an option.
"""

from __future__ import annotations

import os

from locust import LoadTestShape

from akrida.scenarios.options import env_file_values
from akrida.settings import Settings


class StagesShape(LoadTestShape):
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


def stages_shape() -> type[StagesShape] | None:
    raw = {**env_file_values(), **os.environ}.get("STAGES", "")
    if not raw.strip():
        return None
    stages = Settings.from_mapping({"STAGES": raw}).stages  # a bad value stops Locust, naming STAGES
    return type("StagesShape", (StagesShape,), {"stages": stages, "abstract": False})
