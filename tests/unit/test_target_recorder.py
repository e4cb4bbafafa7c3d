"""Target sources never stall or fail the run: a dead one is named and stops, a slow one only takes
fewer samples, and the others keep their pace."""

from __future__ import annotations

import threading
import time

from akrida.target.recorder import Poller, Recorder, SourceError
from akrida.target.samples import Sample, Source, read_samples


def counting(name: str) -> Poller:
    def sample() -> list[Sample]:
        return [Sample(time.time(), name, "cpu_cores", 0.5)]

    return Poller(name, Source(kind="test"), sample)


def test_a_dead_source_is_named_and_the_others_keep_sampling(tmp_path):
    def dead() -> list[Sample]:
        raise SourceError("http://127.0.0.1:9/metrics: ConnectionError")

    hung = threading.Event()

    def slow() -> list[Sample]:
        hung.wait(5)  # a source that never answers within the run
        return []

    pollers = [
        counting("mediator"),
        Poller("exporter", Source(kind="test"), dead),
        Poller("slow", Source("test"), slow),
    ]
    started = time.monotonic()
    with Recorder(tmp_path, pollers, interval_s=0.05):
        time.sleep(0.8)
    assert time.monotonic() - started < 0.8 + 3.5  # stopping waits a few seconds at most for the hung one
    hung.set()
    record = read_samples(tmp_path)
    assert record is not None
    assert len(record.get("mediator", "cpu_cores")) >= 10  # every 0.05 s, unhindered by the other two
    assert record.sources["exporter"].problem == (
        "stopped after 5 failed samples in a row: http://127.0.0.1:9/metrics: ConnectionError"
    )
    assert "no answer after the run" in record.sources["slow"].problem
    assert not record.sources["mediator"].problem


def test_a_bug_in_one_source_is_named_not_raised(tmp_path):
    def broken() -> list[Sample]:
        raise KeyError("cpu")

    with Recorder(tmp_path, [Poller("buggy", Source(kind="test"), broken), counting("mediator")], interval_s=0.05):
        time.sleep(0.3)
    record = read_samples(tmp_path)
    assert record.sources["buggy"].problem == "stopped by an unexpected error: KeyError: 'cpu'"
    assert record.get("mediator", "cpu_cores")
