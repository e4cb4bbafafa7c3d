"""PROMETHEUS_PORT and PROMETHEUS_HOST: off by default, on loopback by default, refused where they cannot
serve; and the dashboard names only metrics the endpoint serves."""

from __future__ import annotations

import json
import re
import socket

import pytest

from akrida.execute.local import LocalExecutor
from akrida.settings import Settings, SettingsError
from tests.conftest import ROOT


def load(**values: str) -> Settings:
    return Settings.load(values, env_file=None)


def test_off_by_default_and_on_loopback():
    settings = load()
    assert settings.prometheus_port is None and settings.prometheus_host == "127.0.0.1"
    assert load(PROMETHEUS_PORT="9646").prometheus_port == 9646


@pytest.mark.parametrize("raw", ["0", "70000", "http"])
def test_a_bad_port_is_named(raw):
    with pytest.raises(SettingsError, match=rf"PROMETHEUS_PORT={raw!r}.*expected a whole number from 1 to 65535"):
        load(PROMETHEUS_PORT=raw)


def test_not_on_the_embedded_targets_ports_nor_the_web_uis():
    with pytest.raises(SettingsError, match="PROMETHEUS_PORT=8103 is one of the embedded target's ports"):
        load(PROMETHEUS_PORT="8103", LOCAL_BASE_PORT="8100")
    with pytest.raises(SettingsError, match="PROMETHEUS_PORT=9000 is UI_PORT too"):
        load(PROMETHEUS_PORT="9000", UI="1", UI_PORT="9000")


def test_a_port_in_use_is_refused_before_anything_starts():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(SettingsError, match=f"PROMETHEUS_PORT={port}: cannot listen on 127.0.0.1:{port}"):
            LocalExecutor().check(load(PROMETHEUS_PORT=str(port)))


def test_the_dashboard_names_only_served_metrics():
    source = (ROOT / "akrida" / "scenarios" / "metrics.py").read_text()
    served = set(re.findall(r'Family\(\s*"(akrida_[a-z_]+)"', source))
    assert "akrida_request_duration_seconds" in served
    dashboard = json.loads((ROOT / "dashboards" / "akrida.json").read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    names = {name for expression in expressions for name in re.findall(r"akrida_[a-z_]+", expression)}
    named = {re.sub(r"_(bucket|sum|count)$", "", name) for name in names}
    assert named and named <= served, named - served
    assert all(t["datasource"]["uid"] == "${datasource}" for p in dashboard["panels"] for t in p.get("targets", []))
