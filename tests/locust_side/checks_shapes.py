"""STAGES and ARRIVAL_RATE as Locust load shapes: the user counts and rates Locust is told, second by second.

Run by tests/unit/test_locust_side.py in a pytest process where Locust is imported first.
"""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest

from akrida.paths import RUN_DIR_VARIABLE
from akrida.scenarios.shapes import load_shape
from akrida.settings import SettingsError


def shape_at(shape_class, seconds: float):
    shape = shape_class()
    shape.start_time = time.perf_counter() - seconds  # as if the test began `seconds` ago
    return shape.tick()


def test_without_stages_there_is_no_shape(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STAGES", raising=False)
    monkeypatch.delenv("ARRIVAL_RATE", raising=False)
    assert load_shape() is None


def test_stages_ramp_hold_and_end(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STAGES", "20s:40,10s:40,5s:0")
    shape = load_shape()
    assert shape is not None and shape.stages == ((20, 40), (10, 40), (5, 0))
    assert shape_at(shape, 1) == (40, 2.0)  # 40 holders over 20 s
    assert shape_at(shape, 25) == (40, 1.0)  # hold: nothing to move, the floor rate
    assert shape_at(shape, 32) == (0, 8.0)  # down from 40 in 5 s
    assert shape_at(shape, 36) is None  # over: the test ends


def test_stages_come_from_the_env_file_too(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STAGES", raising=False)
    (tmp_path / ".env").write_text("STAGES=1m:10\n")
    assert load_shape().stages == ((60, 10),)


def test_bad_stages_stop_locust_naming_the_setting(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STAGES", "2m:lots")
    with pytest.raises(SettingsError, match="STAGES='2m:lots'"):
        load_shape()


# --- ARRIVAL_RATE ----------------------------------------------------------------------------------


class Clock:
    """Drives a shape through simulated seconds, with a runner whose user count the test sets."""

    def __init__(self, shape_class):
        self.shape = shape_class()
        self.shape.runner = SimpleNamespace(user_count=0)

    def at(self, seconds: float, started: int):
        self.shape.runner.user_count = started
        self.shape.start_time = time.perf_counter() - seconds
        return self.shape.tick()


def arrival_shape(monkeypatch, tmp_path, **variables):
    monkeypatch.chdir(tmp_path)
    for name in ("STAGES", "ARRIVAL_RATE", "USERS", "RUN_TIME", "SPAWN_RATE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(RUN_DIR_VARIABLE, str(tmp_path))
    shape = load_shape()
    assert shape is not None and shape.__name__ == "ArrivalShape"
    return shape


def test_arrivals_rise_by_the_rate_each_second_up_to_users_then_end(monkeypatch, tmp_path):
    clock = Clock(arrival_shape(monkeypatch, tmp_path, ARRIVAL_RATE="5", USERS="22", RUN_TIME="10s"))
    # Locust keeps up: every tick asks for one holder at 0 s and 5 more each second, at 5 a second.
    assert [clock.at(second, started=min(22, 5 * second - 4 if second else 0)) for second in range(6)] == [
        (1, 5.0), (6, 5.0), (11, 5.0), (16, 5.0), (21, 5.0), (22, 5.0)
    ]  # fmt: skip
    assert clock.at(7, started=22) == (22, 5.0)  # USERS reached: the count holds
    assert clock.at(10, started=22) is None  # RUN_TIME is over: the test ends
    arrivals = json.loads((tmp_path / "arrivals.json").read_text())
    assert arrivals == {"rate": 5.0, "due": 22, "started": 22, "late": 0, "missed": 0}


def test_arrivals_do_not_wait_for_slow_starts_and_late_ones_are_counted(monkeypatch, tmp_path):
    clock = Clock(arrival_shape(monkeypatch, tmp_path, ARRIVAL_RATE="2", USERS="100", RUN_TIME="5s"))
    assert clock.at(0, started=0) == (1, 2.0)
    assert clock.at(1, started=1) == (3, 2.0)
    # Locust fell behind (a busy generator): the 5 owed by 3 s are asked for at once, not at 2 a second.
    assert clock.at(3, started=2) == (7, 5.0)
    assert clock.shape.arrivals.late == 1  # the third, asked for at 1 s, had not started a tick later
    assert clock.at(4, started=4) == (9, 5.0)
    assert clock.shape.arrivals.late == 4  # and 3 more of the 7 asked for at 3 s
    assert clock.at(5, started=8) is None
    arrivals = json.loads((tmp_path / "arrivals.json").read_text())
    assert arrivals == {"rate": 2.0, "due": 9, "started": 8, "late": 5, "missed": 1}


def test_slow_arrival_rates_start_one_holder_at_a_time(monkeypatch, tmp_path):
    clock = Clock(arrival_shape(monkeypatch, tmp_path, ARRIVAL_RATE="0.5", USERS="3", RUN_TIME="1m"))
    assert [clock.at(second, started=second // 2 + 1 if second else 0)[0] for second in range(6)] == [1, 1, 2, 2, 3, 3]


def test_arrival_rate_with_stages_stops_locust_naming_both(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARRIVAL_RATE", "5")
    monkeypatch.setenv("STAGES", "1m:10")
    with pytest.raises(SettingsError, match="ARRIVAL_RATE and STAGES are both set"):
        load_shape()


def test_bad_arrival_rate_stops_locust_naming_the_setting(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STAGES", raising=False)
    monkeypatch.setenv("ARRIVAL_RATE", "0")
    with pytest.raises(SettingsError, match="ARRIVAL_RATE='0'"):
        load_shape()
