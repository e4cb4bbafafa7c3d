"""STAGES as a Locust load shape: the user counts and rates Locust is told, stage by stage.

Run by tests/unit/test_locust_side.py in a pytest process where Locust is imported first.
"""

from __future__ import annotations

import time

import pytest

from akrida.scenarios.shapes import stages_shape
from akrida.settings import SettingsError


def shape_at(shape_class, seconds: float):
    shape = shape_class()
    shape.start_time = time.perf_counter() - seconds  # as if the test began `seconds` ago
    return shape.tick()


def test_without_stages_there_is_no_shape(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STAGES", raising=False)
    assert stages_shape() is None


def test_stages_ramp_hold_and_end(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STAGES", "20s:40,10s:40,5s:0")
    shape = stages_shape()
    assert shape is not None and shape.stages == ((20, 40), (10, 40), (5, 0))
    assert shape_at(shape, 1) == (40, 2.0)  # 40 holders over 20 s
    assert shape_at(shape, 25) == (40, 1.0)  # hold: nothing to move, the floor rate
    assert shape_at(shape, 32) == (0, 8.0)  # down from 40 in 5 s
    assert shape_at(shape, 36) is None  # over: the test ends


def test_stages_come_from_the_env_file_too(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STAGES", raising=False)
    (tmp_path / ".env").write_text("STAGES=1m:10\n")
    assert stages_shape().stages == ((60, 10),)


def test_bad_stages_stop_locust_naming_the_setting(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STAGES", "2m:lots")
    with pytest.raises(SettingsError, match="STAGES='2m:lots'"):
        stages_shape()
