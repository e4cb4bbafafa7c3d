"""Profiles of the target's Python processes: py-spy records a pid for some seconds in the background,
and the summary reads back where its time went.

    profiler = Profiler(run_dir, {"mediator": 1234}, seconds=20)
    profiler.record("end")          # returns at once; py-spy samples the mediator for 20 s
    profiler.wait(timeout=40)
    for profile in read_profiles(run_dir): print(profile.lines())

Each recording writes, under `<run_dir>/target/profiles/`:
    <label>-<source>.txt   collapsed stacks (`frame;frame;… count`, py-spy's raw format)
    <label>-<source>.svg   the flame graph of the same samples
    <label>-<source>.json  what was recorded (pid, seconds, rate, when) and the problem, if any

py-spy runs with `--nonblocking`: it reads the target's memory while the target keeps running,
instead of stopping it at each sample. A profile taken at the breaking point must not move the
breaking point; the price is an occasional torn stack, which a share of thousands of samples
absorbs. Reading another process's memory still needs the right to trace it (ptrace: root, or
CAP_SYS_PTRACE, or kernel.yama.ptrace_scope 0 for one's own processes).

Nothing here raises into its caller: a missing py-spy, a pid that is not the process named, a
process that is gone or a refused ptrace becomes a named problem in the recording's .json.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from akrida.target.flamegraph import render_svg
from akrida.target.processes import command_line
from akrida.target.samples import TARGET_DIR

PROFILES_DIR = "profiles"
DEFAULT_SECONDS = 20.0
# py-spy's own default rate: 20 s give 2,000 samples of each thread, enough for a share to within
# a point or two, at a cost measured in docs/results.md (py-spy's CPU, not the target's).
DEFAULT_RATE = 100
# What an ACA-Py process's command line holds: the `aca-py` script, or `python -m` of its package
# (acapy_agent since 1.0, aries_cloudagent before).
ACAPY_MARKERS = ("aca-py", "acapy_agent", "aries_cloudagent")
# py-spy ends by itself after --duration; this is how long after that it may take to write.
WRITE_GRACE_S = 30.0

_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")
# py-spy's frames that are no function: `thread (123): MainThread`, `thread (0x7f…)`, `process 123:"…"`.
_PSEUDO = re.compile(r"^(?:thread \((?:\d+|0x[0-9a-fA-F]+)\)(?::.*)?|process \d+:.*)$")


# --- reading collapsed stacks -------------------------------------------------------------------------


@dataclass(frozen=True)
class FunctionShare:
    """One function's share of a profile's samples: `share` with it anywhere on the stack
    (inclusive), `self_share` with it on top (its own code running)."""

    function: str  # "InMemoryCache._remove_expired_cache_items"
    file: str  # "acapy_agent/cache/in_memory.py"
    share: float  # 0..1
    self_share: float  # 0..1

    @property
    def label(self) -> str:
        return f"{self.function} ({self.file})" if self.file else self.function

    def line(self) -> str:
        """'23 % in InMemoryCache._remove_expired_cache_items (acapy_agent/cache/in_memory.py)'."""
        own = f", {_percent(self.self_share)} in itself" if self.self_share >= 0.005 else ""
        return f"{_percent(self.share)} in {self.label}{own}"


@dataclass
class CollapsedProfile:
    """A recording's samples, sorted by what its threads were doing.

    busy: a thread running code; idle: an event loop waiting for something to do (its selector),
    which is the process being idle; parked: a thread other than a loop waiting for work (a thread
    pool's worker on its queue, a lock). Shares are of busy + idle samples: a parked pool thread is
    not the process waiting, and counting it would make a process look idler the more threads it has.
    """

    stacks: dict[tuple[str, ...], int]  # frames, root first (a `thread (…)` frame first with --threads)
    busy: int = 0
    idle: int = 0
    parked: int = 0
    idle_stacks: frozenset[tuple[str, ...]] = frozenset()
    parked_stacks: frozenset[tuple[str, ...]] = frozenset()

    @property
    def counted(self) -> int:
        return self.busy + self.idle

    @property
    def samples(self) -> int:
        return self.busy + self.idle + self.parked

    @property
    def idle_share(self) -> float:
        return self.idle / self.counted if self.counted else 0.0


def split_frame(frame: str) -> tuple[str, str]:
    """'Class.method (package/module.py:123)' -> ('Class.method', 'package/module.py')."""
    match = _FRAME.match(frame)
    return (match["function"], match["file"]) if match else (frame, "")


def _pseudo(frame: str) -> bool:
    """A frame that is no function: py-spy's thread (`thread (123): MainThread`) and process frames."""
    return bool(_PSEUDO.match(frame))


def _is(file: str, *names: str) -> bool:
    return any(file == name or file.endswith("/" + name) for name in names)


def waiting_kind(frames: tuple[str, ...]) -> str:
    """'idle', 'parked' or '' (busy), from the frame on top of the stack.

    Python frames only: the wait itself happens in C (epoll_wait, a futex), so the top Python frame
    is the one that called it. The event loop waits in its selector's select(); under uvloop the
    loop is C altogether and its top Python frame is the runner's or run_forever's.
    """
    if not frames or _pseudo(frames[-1]):
        return ""
    function, file = split_frame(frames[-1])
    name = function.rsplit(".", 1)[-1]
    if _is(file, "selectors.py") and name == "select":
        return "idle"
    if _is(file, "asyncio/runners.py") or (
        _is(file, "asyncio/base_events.py") and name in ("run_forever", "run_until_complete")
    ):
        return "idle"
    if _is(file, "concurrent/futures/thread.py") and name == "_worker":
        return "parked"  # a pool thread waiting on its queue for work
    if _is(file, "threading.py", "queue.py") and name in ("wait", "get", "acquire", "join", "_wait_for_tstate_lock"):
        return "parked"
    return ""


def read_collapsed(path: Path) -> CollapsedProfile:
    """The collapsed stacks of `path` (py-spy --format raw); lines that do not parse are skipped
    (a recording cut short may end mid-line)."""
    stacks: Counter[tuple[str, ...]] = Counter()
    with contextlib.suppress(OSError), open(path, errors="replace") as handle:
        for line in handle:
            text, _space, number = line.rstrip("\n").rpartition(" ")
            if not text or not number.isdigit():
                continue
            stacks[tuple(text.split(";"))] += int(number)
    profile = CollapsedProfile(dict(stacks))
    idle, parked = set(), set()
    for frames, count in stacks.items():
        kind = waiting_kind(frames)
        if kind == "idle":
            profile.idle += count
            idle.add(frames)
        elif kind == "parked":
            profile.parked += count
            parked.add(frames)
        else:
            profile.busy += count
    profile.idle_stacks, profile.parked_stacks = frozenset(idle), frozenset(parked)
    return profile


# The runtime's own machinery: on nearly every stack, and never the reason for anything.
# nest_asyncio (which ACA-Py loads) replaces the loop's _run_once with its own: the loop still.
_PLUMBING_FILES = (
    "threading.py",
    "selectors.py",
    "runpy.py",
    "nest_asyncio.py",
    "asyncio/*",
    "concurrent/futures/*",
    "uvloop/*",
)
# A function that passes this share of its samples on to one callee is named through that callee.
PASS_THROUGH = 0.9


def _plumbing(function: str, file: str) -> bool:
    if function == "<module>":
        return True
    for pattern in _PLUMBING_FILES:
        if pattern.endswith("/*"):
            folder = pattern[:-1]
            if file.startswith(folder) or f"/{folder}" in file:
                return True
        elif _is(file, pattern):
            return True
    return False


def shares(profile: CollapsedProfile) -> list[FunctionShare]:
    """Every function's inclusive and self share of the profile's counted (busy + idle) samples,
    highest inclusive share first. The idle wait itself and the runtime's plumbing are left out
    (the idle share is reported apart), and so are pass-through functions: a function that hands
    over 90 % of its samples to one callee (an entry point, a wrapper) is named through the callee."""
    if not profile.counted:
        return []
    inclusive: Counter[tuple[str, str]] = Counter()
    own: Counter[tuple[str, str]] = Counter()
    callees: dict[tuple[str, str], Counter[tuple[str, str] | None]] = {}
    for frames, count in profile.stacks.items():
        if frames in profile.parked_stacks or frames in profile.idle_stacks:
            continue  # the wait is reported apart (idle); what called it is the loop, named by no one
        functions = [split_frame(frame) for frame in frames if not _pseudo(frame)]
        # Recursion: a sample counts once for a function, and its callee is the one of its deepest call.
        deepest = {key: index for index, key in enumerate(functions)}
        for key, index in deepest.items():
            inclusive[key] += count
            callee = functions[index + 1] if index + 1 < len(functions) else None
            callees.setdefault(key, Counter())[callee] += count
        if functions:
            own[functions[-1]] += count
    result = []
    for key, count in inclusive.items():
        function, file = key
        if _plumbing(function, file):
            continue
        callee, handed = callees[key].most_common(1)[0]
        if callee is not None and handed >= PASS_THROUGH * count:
            continue
        result.append(FunctionShare(function, file, count / profile.counted, own[key] / profile.counted))
    result.sort(key=lambda item: (-item.share, -item.self_share, item.label))
    return result


def top_functions(collapsed_stacks_path: Path, n: int = 5) -> list[FunctionShare]:
    """The `n` functions with the highest inclusive share of a recording (see `shares`)."""
    return shares(read_collapsed(collapsed_stacks_path))[:n]


def _percent(share: float) -> str:
    return f"{share * 100:.0f} %"


def idle_line(profile: CollapsedProfile) -> str:
    """'idle 40 %': the event loop's share of the time spent waiting for something to do."""
    return f"idle {_percent(profile.idle_share)}"


# --- what a recording left ------------------------------------------------------------------------------


@dataclass
class ProfileSummary:
    """One recording as the summary shows it. `problem` is set (and the rest may be empty) when it failed."""

    label: str  # when it was taken: "end", "break", "step-3" …
    source: str  # which process: "mediator", "issuer", "target" …
    pid: int
    seconds: float
    started_at: float = 0.0  # wall time (time.time()) py-spy was started
    svg: Path | None = None
    stacks: Path | None = None
    samples: int = 0  # counted samples (busy + idle)
    idle_share: float = 0.0
    top: list[FunctionShare] = field(default_factory=list)
    problem: str = ""

    def lines(self) -> list[str]:
        """'mediator at end (pid 1234, 20 s, 1,990 samples): idle 40 %', then one line per top function."""
        head = f"{self.source} at {self.label} (pid {self.pid}, {self.seconds:g} s"
        if self.problem:
            return [f"{head}): no profile: {self.problem}"]
        lines = [f"{head}, {self.samples:,} samples): idle {_percent(self.idle_share)}"]
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
                summary.problem = "py-spy took no samples"
        summary.svg = svg if svg.is_file() else None
        summaries.append(summary)
    summaries.sort(key=lambda summary: (summary.started_at, summary.label, summary.source))
    return summaries


# --- recording ------------------------------------------------------------------------------------------


def find_py_spy() -> str | None:
    """py-spy beside this Python (the venv `make setup` made), else on PATH."""
    return shutil.which("py-spy", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "profile"


def check_process(pid: int, markers: tuple[str, ...], kind: str) -> str:
    """'' when `pid` runs and its command line holds one of `markers`; else why it is refused.
    Checked right before attaching: a pid reused by another program is never profiled in its name."""
    line = command_line(pid)
    if not line:
        return f"pid {pid} is gone (no such process)"
    if not any(marker in line for marker in markers):
        shown = " or ".join(repr(marker) for marker in markers)
        program = line.split(" ", 1)[0][:80]
        return f"pid {pid} is not {kind} (its command line, {program} …, lacks {shown}): not profiled"
    return ""


def _explain(pid: int, code: int, stderr: str) -> str:
    """py-spy's failure, in words: the process gone, ptrace refused, or py-spy's own last line."""
    if not command_line(pid):
        return f"pid {pid} ended while it was being profiled"
    if "ermission" in stderr or "Operation not permitted" in stderr:
        return (
            f"py-spy may not read pid {pid}: ptrace is not permitted here (run as root, or grant "
            "CAP_SYS_PTRACE, or set kernel.yama.ptrace_scope to 0); --nonblocking still reads its memory"
        )
    last = [line.strip() for line in stderr.splitlines() if line.strip()]
    return f"py-spy failed (exit {code}): {last[-1][:300] if last else 'no message'}"


class Profiler:
    """Records the processes `targets` ({source name: pid}) with py-spy for `seconds` at a time.

    `record(label)` starts one recording of each target and returns at once; each runs in a
    subprocess, watched by a daemon thread that draws the flame graph when py-spy is done.
    A target still being recorded is not recorded twice at once (that would double the cost).
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
        self.markers, self.kind = markers, kind
        self.py_spy = py_spy if py_spy is not None else find_py_spy()
        self.problems: list[str] = []  # every recording's problem, "<source> at <label>: why"
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._running: dict[str, subprocess.Popen[bytes]] = {}  # by source
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
        """Ends the recordings now: py-spy writes what it has on SIGINT, and the flame graph is drawn."""
        with self._lock:
            running = list(self._running.values())
        for process in running:
            with contextlib.suppress(OSError):
                process.send_signal(signal.SIGINT)
        self.wait(timeout)

    def _problem(self, label: str, source: str, problem: str) -> None:
        self.problems.append(f"{source} at {label}: {problem}")

    def _record(self, label: str, source: str, pid: int) -> None:
        stem = self.folder / f"{_safe(label)}-{_safe(source)}"
        meta: dict[str, object] = {
            "label": label, "source": source, "pid": pid, "kind": self.kind, "seconds": self.seconds,
            "rate": self.rate, "started_at": time.time(), "ended_at": None, "problem": "",
        }  # fmt: skip
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            _write_json(stem.with_suffix(".json"), meta)
            meta["problem"] = self._spy(label, source, pid, stem)
        except Exception as error:  # a bug here must not reach the run: it is this recording's problem
            meta["problem"] = f"unexpected error: {type(error).__name__}: {error}"
        finally:
            with self._lock:
                self._busy.discard(source)
                self._running.pop(source, None)
            meta["ended_at"] = time.time()
            if meta["problem"]:
                self._problem(label, source, str(meta["problem"]))
            with contextlib.suppress(OSError):
                _write_json(stem.with_suffix(".json"), meta)

    def _spy(self, label: str, source: str, pid: int, stem: Path) -> str:
        """Runs py-spy to its end and draws the flame graph; returns the problem, or ''."""
        if self.py_spy is None:
            return "py-spy is not installed (`make setup` installs it into .venv)"
        refused = check_process(pid, self.markers, self.kind)
        if refused:
            return refused
        stacks = stem.with_suffix(".txt")
        command = [
            self.py_spy, "record", "--nonblocking", "--pid", str(pid), "--duration", str(max(1, round(self.seconds))),
            "--rate", str(self.rate), "--format", "raw", "--output", str(stacks),
            # --idle keeps the samples of waiting threads, so that idle time is seen rather than
            # silently missing; --threads names each sample's thread (the loop's, a pool's).
            "--idle", "--threads",
        ]  # fmt: skip
        try:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        except OSError as error:
            return f"py-spy could not be started: {error.strerror or error}"
        with self._lock:
            self._running[source] = process
        try:
            _out, err = process.communicate(timeout=self.seconds + WRITE_GRACE_S)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGINT)
            try:
                _out, err = process.communicate(timeout=WRITE_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
                return f"py-spy did not finish within {self.seconds + 2 * WRITE_GRACE_S:g} s and was killed"
        profile = read_collapsed(stacks)
        if not profile.samples:
            return _explain(pid, process.returncode, err.decode(errors="replace"))
        title = f"{source} (pid {pid}) at {label}: {profile.counted:,} samples, {idle_line(profile)}"
        stem.with_suffix(".svg").write_text(render_svg(profile.stacks, title, profile.idle_stacks))
        return ""


def _write_json(path: Path, payload: dict[str, object]) -> None:
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(payload, indent=2) + "\n")
    temporary.replace(path)  # whole or not at all: read_profiles may read it meanwhile


class ScheduledProfile:
    """One recording of every target, started by a timer after `delay` seconds: a run's last seconds.

    `finish()` at the run's end cancels it if it has not begun, and ends it early (py-spy writes what
    it has) if the run ended first; it returns the recordings' problems, to be shown."""

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
