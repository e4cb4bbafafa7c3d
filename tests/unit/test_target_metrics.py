"""TARGET_METRICS and TARGET_PROMETHEUS in seconds: their settings, the exporters' text format mapped
onto akrida's metrics with only a few labels read, Prometheus's answers named, and a Prometheus that
cannot be reached named as a problem without failing the run (a real closed port on loopback).

The real exporters and a real Prometheus are in tests/integration/test_target_exporters.py.
"""

from __future__ import annotations

import json
import socket

import pytest

from akrida.exits import ExitCode
from akrida.parsers import InvalidValue, parse_exporter_urls, parse_label_matchers, parse_query_lines
from akrida.settings import Settings, SettingsError
from akrida.target.exporters import Exporter, ExporterPoller, Rates, parse
from akrida.target.prometheus import DEFAULT_QUERIES, Series, disambiguate, named, queries
from tests.unit.test_lifecycle import FakeExecutor, run

NODE = """\
# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 100
node_cpu_seconds_total{cpu="0",mode="user"} 50
node_cpu_seconds_total{cpu="1",mode="idle"} 100
node_cpu_seconds_total{cpu="1",mode="iowait"} 10
node_memory_MemAvailable_bytes 4.2e+09
node_uname_info{nodename="db-1",release="6.1"} 1
"""
PROCESS = """\
namedprocess_namegroup_cpu_seconds_total{groupname="aca-py",mode="system"} 1
namedprocess_namegroup_cpu_seconds_total{groupname="aca-py",mode="user"} 2
namedprocess_namegroup_memory_bytes{groupname="aca-py",memtype="resident"} 1.5e+08
namedprocess_namegroup_memory_bytes{groupname="aca-py",memtype="virtual"} 9e+08
namedprocess_namegroup_open_filedesc{groupname="aca-py"} 40
namedprocess_namegroup_num_threads{groupname="aca-py"} 12
namedprocess_namegroup_threads_wchan{groupname="aca-py",wchan="ep_poll"} 3
some_exporter_info{cmdline="aca-py start --wallet-key s3cret"} 1
"""


def test_exporter_urls_are_named_or_named_by_host_and_port_and_round_trip():
    parsed = parse_exporter_urls("mediator=http://10.0.0.5:9256/metrics, http://10.0.0.5:9100 db=https://db:9187/m")
    assert parsed == (
        ("mediator", "http://10.0.0.5:9256/metrics"),
        ("", "http://10.0.0.5:9100/metrics"),  # a bare host:port gets /metrics
        ("db", "https://db:9187/m"),
    )
    assert [Exporter(url, name).name for name, url in parsed] == ["mediator", "10.0.0.5:9100", "db"]
    settings = Settings.from_mapping({"TARGET_METRICS": "mediator=http://10.0.0.5:9256/metrics http://h:9100"})
    assert Settings.from_mapping(settings.as_environment()).target_metrics == settings.target_metrics


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://user:pw@10.0.0.5:9100/metrics", "credentials in a URL would be written into the run's manifest"),
        ("pg=http://h:9187/probe?target=postgres://u:p@db/x", "credentials in a URL"),
        ("ftp://h/metrics", "expected an exporter URL"),
        ("mediator=ftp://h/metrics", "is not an http(s) URL"),
        ("my exporter=http://h:9100", "expected an exporter URL, or NAME=URL"),
        ("a=http://h:1 a=http://h:2", "the name a is given twice"),
        ("http://h:99999", "has no valid port"),
    ],
)
def test_bad_exporter_urls_are_refused_by_name(raw, expected):
    with pytest.raises(SettingsError) as caught:
        Settings.from_mapping({"TARGET_METRICS": raw})
    assert "TARGET_METRICS=" in str(caught.value) and expected in str(caught.value)


def test_prometheus_settings_are_checked_together():
    assert parse_label_matchers('{job="mediator", instance=~"10\\\\.0\\\\.0\\\\.5:.*"}') == (
        'job="mediator", instance=~"10\\\\.0\\\\.0\\\\.5:.*"'
    )
    with pytest.raises(InvalidValue, match="label matchers"):
        parse_label_matchers("job=mediator")
    with pytest.raises(SettingsError, match="TARGET_PROMETHEUS_SELECTOR is set but TARGET_PROMETHEUS is not"):
        Settings.from_mapping({"TARGET_PROMETHEUS_SELECTOR": 'job="x"'})
    with pytest.raises(SettingsError, match="TARGET_PROMETHEUS_QUERIES=/no/such/file: no such file"):
        Settings.from_mapping({"TARGET_PROMETHEUS": "http://p:9090", "TARGET_PROMETHEUS_QUERIES": "/no/such/file"})


def test_a_query_file_replaces_and_adds_queries_and_names_a_bad_line(tmp_path):
    assert parse_query_lines('# comment\n\npg_lock_waits  sum(my_waits)\nqueue_depth max(q{job="m"})\n') == {
        "pg_lock_waits": "sum(my_waits)",
        "queue_depth": 'max(q{job="m"})',
    }
    assert parse_query_lines("pg_connections: sum by (state) (backends)") == {
        "pg_connections:": "sum by (state) (backends)"  # completed by each series' state, as the default is
    }
    with pytest.raises(InvalidValue, match="line 2: expected METRIC PROMQL"):
        parse_query_lines("ok sum(x)\nNot-A-Metric sum(y)\n")
    chosen = queries('job="m"', 15, {"pg_lock_waits": "sum(my_waits{$SELECTOR})"})
    assert chosen["pg_lock_waits"] == 'sum(my_waits{job="m"})'
    assert "[60s]" in chosen["cpu_cores"] and 'job="m"' in chosen["cpu_cores"]  # rates over 4 steps
    assert set(DEFAULT_QUERIES) <= set(chosen)


def test_only_the_used_series_and_labels_are_read():
    series = parse(NODE + PROCESS)
    names = {s.name for s in series}
    assert "node_uname_info" not in names and "some_exporter_info" not in names
    assert "namedprocess_namegroup_threads_wchan" not in names
    text = repr(series)
    for dropped in ("s3cret", "cmdline", "db-1", "nodename", "wchan"):
        assert dropped not in text


def test_counters_become_rates_and_a_counter_that_went_back_gives_none():
    rates = Rates()
    assert rates.rate("x", 10, 100.0) is None  # the first reading
    assert rates.rate("x", 30, 102.0) == 10
    assert rates.rate("x", 5, 103.0) is None  # the exporter restarted
    assert rates.rate("x", 8, 104.0) == 3


class TextPoller(ExporterPoller):
    """An exporter poller reading given texts instead of HTTP (the HTTP side is in the integration test)."""

    def __init__(self, name: str, texts: list[str]):
        super().__init__(Exporter("http://10.0.0.5:9256/metrics", name))
        self.texts = texts

    def scrape(self) -> str:
        return self.texts.pop(0)


def test_host_cpu_counts_iowait_as_idle_as_psutil_does():
    later = NODE.replace('mode="idle"} 100', 'mode="idle"} 110').replace('mode="user"} 50', 'mode="user"} 70')
    poller = TextPoller("", [NODE, later])
    first = {s.metric: s.value for s in poller.sample()}
    assert first == {"host_cores": 2, "host_memory_available_bytes": 4.2e9}  # no rate yet
    second = {s.metric: s.value for s in poller.sample()}
    assert second["host_cpu_percent"] == pytest.approx(100 * 20 / 40)  # 20 of 40 CPU-seconds busy


def test_a_named_exporter_with_one_group_gives_it_its_name_and_several_are_told_apart():
    two = PROCESS + PROCESS.replace("aca-py", "postgres")
    assert {s.source for s in TextPoller("mediator", [PROCESS]).sample()} == {"mediator"}
    assert {s.source for s in TextPoller("", [PROCESS]).sample()} == {"aca-py"}
    assert {s.source for s in TextPoller("db", [two]).sample()} == {"db/aca-py", "db/postgres"}
    samples = {s.metric: s.value for s in TextPoller("mediator", [PROCESS]).sample()}
    assert samples == {"rss_bytes": 1.5e8, "open_files": 40, "threads": 12}  # resident, not virtual


def test_prometheus_series_are_named_by_group_state_or_instance_and_told_apart():
    results = [
        {"metric": {"instance": "10.0.0.5:9256", "groupname": "aca-py", "cmdline": "x"}, "values": [[1, "2"]]},
        {"metric": {"instance": "10.0.0.6:9256", "groupname": "aca-py"}, "values": [[1, "3"], [2, "NaN"]]},
    ]
    found = disambiguate(named("cpu_cores", results))
    assert [(s.source, s.points) for s in found] == [
        ("10.0.0.5:9256/aca-py", [(1.0, 2.0)]),
        ("10.0.0.6:9256/aca-py", [(1.0, 3.0)]),
    ]
    states = named("pg_connections:", [{"metric": {"instance": "db:9187", "state": "idle"}, "values": [[1, "4"]]}])
    assert [(s.source, s.metric) for s in states] == [("postgres", "pg_connections:idle")]
    host = named("host_cpu_percent", [{"metric": {"instance": "10.0.0.5:9100"}, "values": [[1, "50"]]}])
    assert host == [Series("10.0.0.5:9100", "host_cpu_percent", host[0].kind, "10.0.0.5:9100", [(1.0, 50.0)])]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when this returns


def test_a_prometheus_that_cannot_be_reached_is_named_and_the_run_still_passes(tmp_path):
    port = closed_port()
    result, _manifest, printed = run(tmp_path, FakeExecutor(), TARGET_PROMETHEUS=f"http://127.0.0.1:{port}")
    assert result.exit_code is ExitCode.OK, printed.text
    sources = json.loads((result.run_dir / "target" / "sources.json").read_text())
    assert f"http://127.0.0.1:{port} cannot be reached" in sources["prometheus"]["problem"], sources
