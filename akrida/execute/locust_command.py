"""The Locust command line of a run and the settings its processes are given, in one place for both executors.

A run's test is carried out by one Locust process here (local.py) or by the master of Locust's
distributed mode (distributed.py). Both are told the load, where their files go and how long holders
get to stop in the same words, and given the same settings; only where Locust runs and how it is
reached differ.
"""

from __future__ import annotations

from collections.abc import Mapping

from akrida.catalog import scenario_of
from akrida.settings import SETTINGS, Settings
from akrida.userscenario import UserScenario

STOP_TIMEOUT = 15  # seconds holders get to shut their agents down when the run time is up
# Locust's exit codes of a test that ran its course: 1 is "requests failed" and 4 "SLO breached"
# (akrida.scenarios.gating); the findings report both.
LOCUST_FINISHED = (0, 1, 4)
HEADLESS = ("--headless", "--only-summary")


def locustfile(settings: Settings, locustfiles: str) -> str:
    """The entry file of the run's scenario, in the folder of locustfiles of the host that runs it."""
    return f"{locustfiles}/{scenario_of(settings.scenario).locustfile}"


def load_options(settings: Settings) -> list[str]:
    """How many holders and for how long: Locust's -u, -r and -t, or nothing when STAGES, ARRIVAL_RATE or
    FIND_LIMIT shapes the load (the locustfile's LoadShape reads them itself, and Locust ignores those
    options then)."""
    if settings.stages or settings.arrival_rate is not None or settings.find_limit is not None:
        return []
    return ["-u", str(settings.users), "-r", f"{settings.spawn_rate:g}", "-t", f"{settings.run_time}s"]


def run_options(settings: Settings, run_dir: str) -> list[str]:
    """The options of the process that runs the test (not a worker's): the load, the files it writes
    into the run folder, and the holders' time to stop."""
    return [
        *load_options(settings),
        "--csv", f"{run_dir}/locust",
        "--csv-full-history",
        "--html", f"{run_dir}/report.html",
        "--logfile", f"{run_dir}/locust.log",
        "--stop-timeout", str(STOP_TIMEOUT),
    ]  # fmt: skip


def locust_variables(
    settings: Settings, user_scenario: UserScenario | None = None, replacing: Mapping[str, str] | None = None
) -> dict[str, str]:
    """What every Locust process of a run is given, as NAME=VALUE: each setting whose scope reaches
    Locust (every one but Scope.COMMAND), a load host's own values (`replacing`), then the scenario
    file's own settings. The local executor hands them over as variables, the cluster executor as each
    host's ./.env; either way akrida.scenarios.options.settings_from reads them back."""
    given = {
        declared.env: declared.show(getattr(settings, declared.attr))
        for declared in SETTINGS
        if declared.scope.reaches_locust
    }
    given.update(replacing or {})
    if user_scenario is not None:
        given.update(user_scenario.environment())
    return given
