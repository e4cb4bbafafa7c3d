"""Locust entry file for a scenario file of your own: `SCENARIO=path/to/file.py locust -f locustfiles/custom.py`."""

from akrida.scenarios.custom import scenario_class
from akrida.scenarios.shapes import load_shape

# Locust takes every user class it finds here: exactly the one of SCENARIO's file, under its own name.
_user = scenario_class()
globals()[_user.__name__] = _user
del _user

LoadShape = load_shape()  # STAGES or ARRIVAL_RATE; None: USERS, SPAWN_RATE and RUN_TIME

__all__ = ["LoadShape"]
