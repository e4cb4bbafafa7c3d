"""Collapsed stacks (`frame;frame;… count`, one line per distinct stack) and where their time went:
each function's share of the samples, with the runtime's idle wait and plumbing set apart.

Both profilers end here: py-spy writes this format itself (its `raw` format, Python frames such as
`Class.method (package/module.py:123)`); a Node process's V8 CPU profile is turned into it
(akrida.target.cpuprofile, frames such as `receiveMessage (@credo-ts/core/build/agent/Agent.js:45)`
and V8's own `(idle)`, `(program)`, `(garbage collector)`). So one reading and one flame graph serve
both, and the summary's lines read the same whichever runtime the target is.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")
# py-spy's frames that are no function: `thread (123): MainThread`, `thread (0x7f…)`, `process 123:"…"`.
_PSEUDO = re.compile(r"^(?:thread \((?:\d+|0x[0-9a-fA-F]+)\)(?::.*)?|process \d+:.*)$")
# V8's sample of a Node event loop waiting in libuv for something to do (its idle notifier's state).
V8_IDLE = "(idle)"


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
        own = f", {percent(self.self_share)} in itself" if self.self_share >= 0.005 else ""
        return f"{percent(self.share)} in {self.label}{own}"


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

    Node: V8 samples an idle event loop as `(idle)`. Python: frames only, since the wait itself
    happens in C (epoll_wait, a futex), so the top Python frame is the one that called it. The event
    loop waits in its selector's select(); under uvloop the loop is C altogether and its top Python
    frame is the runner's or run_forever's.
    """
    if not frames or _pseudo(frames[-1]):
        return ""
    if frames[-1] == V8_IDLE:
        return "idle"
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
# Node's are its microtask queue, timers and module loader (node:internal/…), which run everything.
_PLUMBING_FILES = (
    "threading.py",
    "selectors.py",
    "runpy.py",
    "nest_asyncio.py",
    "asyncio/*",
    "concurrent/futures/*",
    "uvloop/*",
    "node:internal/process/task_queues",
    "node:internal/timers",
    "node:internal/modules/*",
    "node:internal/main/*",
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


def percent(share: float) -> str:
    return f"{share * 100:.0f} %"


def idle_line(profile: CollapsedProfile) -> str:
    """'idle 40 %': the event loop's share of the time spent waiting for something to do."""
    return f"idle {percent(profile.idle_share)}"
