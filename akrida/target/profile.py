"""Profiles of the target's processes: each recorded for some seconds in the background, by the
profiler of its runtime, and read back by the summary as where its time went.

    profiler = Profiler(run_dir, {"mediator": 1234}, seconds=20)
    profiler.record("end")          # returns at once; the mediator is sampled for 20 s
    profiler.wait(timeout=40)
    for profile in read_profiles(run_dir): print(profile.lines())

Which profiler is chosen by what the process is, checked right before each recording: a Node
process (a Credo mediator) through its inspector, V8's own CPU profiler (akrida.target.inspector);
any other must be ACA-Py, recorded by py-spy (akrida.target.pyspy). Neither pauses the target: a
profile taken at the breaking point must not move the breaking point.

Each recording writes, under `<run_dir>/target/profiles/`:
    <label>-<source>.txt        collapsed stacks (`frame;frame;… count`, py-spy's raw format)
    <label>-<source>.svg        the flame graph of the same samples
    <label>-<source>.cpuprofile  Node only: V8's profile as the inspector gave it (Chrome DevTools opens it)
    <label>-<source>.json       what was recorded (pid, runtime, seconds, rate, when) and the problem, if any

Nothing here raises into its caller: a missing py-spy, a pid that is not the process named, a
process that is gone, a refused ptrace or an inspector that did not open becomes a named problem in
the recording's .json.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from akrida.target.cpuprofile import convert
from akrida.target.flamegraph import render_svg
from akrida.target.inspector import is_node, record_node
from akrida.target.pyspy import ACAPY_MARKERS, check_process, find_py_spy, record_python
from akrida.target.samples import TARGET_DIR
from akrida.target.stacks import FunctionShare, idle_line, percent, read_collapsed, shares

PROFILES_DIR = "profiles"
DEFAULT_SECONDS = 20.0
# py-spy's own default rate, and the inspector's too: 20 s give 2,000 samples of each thread, enough
# for a share to within a point or two, at a cost measured in docs/results.md.
DEFAULT_RATE = 100
PY_SPY, INSPECTOR = "py-spy", "inspector"


# --- what a recording left ------------------------------------------------------------------------------


@dataclass
class ProfileSummary:
    """One recording as the summary shows it. `problem` is set (and the rest may be empty) when it failed."""

    label: str  # when it was taken: "end", "break", "step-3" …
    source: str  # which process: "mediator", "issuer", "target" …
    pid: int
    seconds: float
    started_at: float = 0.0  # wall time (time.time()) the recording was started
    profiler: str = PY_SPY  # "py-spy" or "inspector" (a Node process)
    svg: Path | None = None
    stacks: Path | None = None
    cpuprofile: Path | None = None  # a Node process's V8 profile
    samples: int = 0  # counted samples (busy + idle)
    idle_share: float = 0.0
    top: list[FunctionShare] = field(default_factory=list)
    problem: str = ""

    def lines(self) -> list[str]:
        """'mediator at end (pid 1234, 20 s, 1,990 samples): idle 40 %', then one line per top function."""
        head = f"{self.source} at {self.label} (pid {self.pid}, {self.seconds:g} s"
        if self.problem:
            return [f"{head}): no profile: {self.problem}"]
        lines = [f"{head}, {self.samples:,} samples): idle {percent(self.idle_share)}"]
        return lines + [f"  {share.line()}" for share in self.top]


def profiles_dir(run_dir: Path) -> Path:
    return run_dir / TARGET_DIR / PROFILES_DIR


def read_profiles(run_dir: Path, n: int = 5) -> list[ProfileSummary]:
    """The run's recordings in the order they were started, each with its top `n` functions."""
    summaries = []
    for meta in sorted(profiles_dir(run_dir).glob("*.json")):
        try:
            raw = json.loads(meta.read_text())
            summary = ProfileSummary(
                label=str(raw["label"]),
                source=str(raw["source"]),
                pid=int(raw["pid"]),
                seconds=float(raw["seconds"]),
                started_at=float(raw.get("started_at") or 0.0),
                profiler=str(raw.get("profiler") or PY_SPY),
                problem=str(raw.get("problem") or ""),
            )
        except (OSError, ValueError, TypeError, KeyError):
            continue  # not one of ours, or cut short
        stacks, svg = meta.with_suffix(".txt"), meta.with_suffix(".svg")
        if not summary.problem and not raw.get("ended_at"):
            summary.problem = "the recording did not finish (the run ended first)"
        if stacks.is_file():
            profile = read_collapsed(stacks)
            summary.stacks = stacks
            summary.samples, summary.idle_share = profile.counted, profile.idle_share
            summary.top = shares(profile)[:n]
            if not profile.counted and not summary.problem:
                summary.problem = f"{summary.profiler} took no samples"
        summary.svg = svg if svg.is_file() else None
        cpuprofile = meta.with_suffix(".cpuprofile")
        summary.cpuprofile = cpuprofile if cpuprofile.is_file() else None
        summaries.append(summary)
    summaries.sort(key=lambda summary: (summary.started_at, summary.label, summary.source))
    return summaries


# --- recording ------------------------------------------------------------------------------------------


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "profile"


class Profiler:
    """Records the processes `targets` ({source name: pid}) for `seconds` at a time, each by the
    profiler of its runtime: the inspector for a Node process, py-spy for ACA-Py.

    `record(label)` starts one recording of each target and returns at once; each runs in a daemon
    thread, which draws the flame graph when the recording is done. A target still being recorded
    is not recorded twice at once (that would double the cost).
    """

    def __init__(
        self,
        run_dir: Path,
        targets: dict[str, int],
        seconds: float = DEFAULT_SECONDS,
        rate: int = DEFAULT_RATE,
        markers: tuple[str, ...] = ACAPY_MARKERS,
        kind: str = "ACA-Py",
        py_spy: str | None = None,
    ):
        self.folder = profiles_dir(run_dir)
        self.targets = dict(targets)
        self.seconds, self.rate = seconds, rate
        self.markers, self.kind = markers, kind  # what a Python target must be
        self.py_spy = py_spy if py_spy is not None else find_py_spy()
        self.problems: list[str] = []  # every recording's problem, "<source> at <label>: why"
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._stops: dict[str, Callable[[], None]] = {}  # by source: ends its recording early
        self._busy: set[str] = set()

    def record(self, label: str) -> None:
        """Starts recording every target for `seconds`, labelled `label`; never blocks, never raises."""
        for source, pid in sorted(self.targets.items()):
            with self._lock:
                if source in self._busy:
                    self._problem(label, source, "still being recorded: this recording was skipped")
                    continue
                self._busy.add(source)
            thread = threading.Thread(
                target=self._record, args=(label, source, pid), name=f"profile-{source}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Waits for the recordings started so far; True when all are done (False: `timeout` ran out)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    def stop(self, timeout: float = 10.0) -> None:
        """Ends the recordings now, keeping what each has (py-spy writes it on SIGINT, the inspector
        stops its profiler), and the flame graphs are drawn."""
        with self._lock:
            stops = list(self._stops.values())
        for stop in stops:
            stop()
        self.wait(timeout)

    def _problem(self, label: str, source: str, problem: str) -> None:
        self.problems.append(f"{source} at {label}: {problem}")

    def _record(self, label: str, source: str, pid: int) -> None:
        stem = self.folder / f"{_safe(label)}-{_safe(source)}"
        node = is_node(pid)
        meta: dict[str, object] = {
            "label": label, "source": source, "pid": pid, "kind": "Node" if node else self.kind,
            "profiler": INSPECTOR if node else PY_SPY, "seconds": self.seconds, "rate": self.rate,
            "started_at": time.time(), "ended_at": None, "problem": "",
        }  # fmt: skip
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            _write_json(stem.with_suffix(".json"), meta)
            meta["problem"] = self._node(source, pid, stem, meta) if node else self._python(source, pid, stem)
            if not meta["problem"]:
                self._draw(label, source, pid, stem)
        except Exception as error:  # a bug here must not reach the run: it is this recording's problem
            meta["problem"] = f"unexpected error: {type(error).__name__}: {error}"
        finally:
            with self._lock:
                self._busy.discard(source)
                self._stops.pop(source, None)
            meta["ended_at"] = time.time()
            if meta["problem"]:
                self._problem(label, source, str(meta["problem"]))
            with contextlib.suppress(OSError):
                _write_json(stem.with_suffix(".json"), meta)

    def _stoppable(self, source: str) -> Callable[[Callable[[], None]], None]:
        def register(stop: Callable[[], None]) -> None:
            with self._lock:
                self._stops[source] = stop

        return register

    def _python(self, source: str, pid: int, stem: Path) -> str:
        """py-spy, on a process checked to be ACA-Py; returns the problem, or ''."""
        if self.py_spy is None:
            return "py-spy is not installed (`make setup` installs it into .venv)"
        refused = check_process(pid, self.markers, self.kind)
        if refused:
            return refused
        return record_python(
            self.py_spy, pid, self.seconds, self.rate, stem.with_suffix(".txt"), self._stoppable(source)
        )

    def _node(self, source: str, pid: int, stem: Path, meta: dict[str, object]) -> str:
        """The inspector's CPU profile, turned into collapsed stacks; returns the problem, or ''."""
        cpuprofile = stem.with_suffix(".cpuprofile")
        recording = record_node(pid, self.seconds, self.rate, cpuprofile, self._stoppable(source))
        if recording.inspector:
            meta["inspector"] = recording.inspector
        if recording.problem:
            return recording.problem
        cwd = ""
        with contextlib.suppress(OSError):
            cwd = str(Path(f"/proc/{pid}/cwd").resolve(strict=True))
        if not convert(cpuprofile, stem.with_suffix(".txt"), cwd):
            return "the inspector's profile holds no samples"
        return ""

    def _draw(self, label: str, source: str, pid: int, stem: Path) -> None:
        profile = read_collapsed(stem.with_suffix(".txt"))
        title = f"{source} (pid {pid}) at {label}: {profile.counted:,} samples, {idle_line(profile)}"
        stem.with_suffix(".svg").write_text(render_svg(profile.stacks, title, profile.idle_stacks))


def _write_json(path: Path, payload: dict[str, object]) -> None:
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(payload, indent=2) + "\n")
    temporary.replace(path)  # whole or not at all: read_profiles may read it meanwhile


class ScheduledProfile:
    """One recording of every target, started by a timer after `delay` seconds: a run's last seconds.

    `finish()` at the run's end cancels it if it has not begun, and ends it early (what it has is
    kept) if the run ended first; it returns the recordings' problems, to be shown."""

    def __init__(self, profiler: Profiler, label: str, delay: float):
        self.profiler = profiler
        self._timer = threading.Timer(max(0.0, delay), profiler.record, (label,))
        self._timer.daemon = True  # a run that ends early must not wait for it

    def start(self) -> None:
        self._timer.start()

    def finish(self, grace: float = 5.0) -> list[str]:
        self._timer.cancel()
        if not self.profiler.wait(grace):
            self.profiler.stop()
        return list(self.profiler.problems)
