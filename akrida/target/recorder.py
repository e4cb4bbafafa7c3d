"""Runs the target's sources beside the load: each in a thread of its own, on a steady interval.

Off the critical path by construction: the load runs in other processes (Locust and its agents),
a source that is slow only takes fewer samples, and a source that fails is named in
target/sources.json and stops, without touching the others or the run. Stopping never waits on a
hung source for more than a few seconds (its thread is a daemon).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from akrida.target.samples import Sample, SampleLog, Source

INTERVAL_S = 1.0
# A source that failed this many times in a row stops, named: a dead exporter is not asked forever.
FAILURES_IN_A_ROW = 5
STOP_WAIT_S = 3.0


class SourceError(Exception):
    """A source could not take a sample; the message says what and why, in words for the summary."""


def _none_found() -> dict[str, Source]:
    return {}


@dataclass
class Poller:
    """One source: `sample()` returns the samples of this moment or raises SourceError.

    A poller whose samples go under other names than its own (an exporter's process groups) says
    what each is in `found()`; they are described in target/sources.json as they appear."""

    name: str
    describe: Source
    sample: Callable[[], list[Sample]]
    close: Callable[[], None] = lambda: None
    found: Callable[[], dict[str, Source]] = _none_found


class Recorder:
    """Samples every poller each INTERVAL_S into the run's target/samples.csv until stopped."""

    def __init__(self, run_dir: Path, pollers: list[Poller], interval_s: float = INTERVAL_S):
        self.log = SampleLog(run_dir)
        self.pollers = pollers
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        for poller in pollers:
            self.log.describe(poller.name, poller.describe)

    def __enter__(self) -> Recorder:
        self.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()

    def start(self) -> None:
        for poller in self.pollers:
            thread = threading.Thread(target=self._run, args=(poller,), name=f"target-{poller.name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        deadline = time.monotonic() + STOP_WAIT_S
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for poller, thread in zip(self.pollers, self._threads, strict=True):
            if thread.is_alive():
                self._problem(poller, f"a sample still had no answer after the run ({STOP_WAIT_S:.0f}s)")
        self.log.close()

    def _describe_found(self, poller: Poller) -> None:
        found = poller.found()
        for name, source in found.items():
            known = self.log.sources.get(name)
            if known is None or known.kind != source.kind:
                kept = replace(source, samples=known.samples, problem=known.problem) if known else source
                self.log.describe(name, kept)
        if found and poller.name not in found:
            self.log.forget(poller.name)  # its samples all go under the names it found

    def _problem(self, poller: Poller, problem: str) -> None:
        if poller.name not in self.log.sources:
            self.log.describe(poller.name, poller.describe)
        self.log.problem(poller.name, problem)

    def _run(self, poller: Poller) -> None:
        failures = 0
        next_at = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    samples = poller.sample()
                    self._describe_found(poller)
                    self.log.write(samples)
                    failures = 0
                except SourceError as error:
                    failures += 1
                    if failures >= FAILURES_IN_A_ROW:
                        self._problem(poller, f"stopped after {failures} failed samples in a row: {error}")
                        return
                except Exception as error:  # a bug in one source must not end the others, or the run
                    self._problem(poller, f"stopped by an unexpected error: {type(error).__name__}: {error}")
                    return
                next_at += self.interval_s
                late = time.monotonic() - next_at
                if late > 0:  # a slow sample: skip the moments it missed rather than bunch them up
                    next_at += (late // self.interval_s + 1) * self.interval_s
                self._stop.wait(max(0.0, next_at - time.monotonic()))
        finally:
            with contextlib.suppress(Exception):  # closing a source must not hide the run's own end
                poller.close()
