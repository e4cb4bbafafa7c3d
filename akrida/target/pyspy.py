"""py-spy on a Python target (ACA-Py): records a pid into collapsed stacks, without pausing it.

py-spy runs with `--nonblocking`: it reads the target's memory while the target keeps running,
instead of stopping it at each sample. A profile taken at the breaking point must not move the
breaking point; the price is an occasional torn stack, which a share of thousands of samples
absorbs. Reading another process's memory still needs the right to trace it (ptrace: root, or
CAP_SYS_PTRACE, or kernel.yama.ptrace_scope 0 for one's own processes).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from akrida.target.processes import command_line
from akrida.target.stacks import read_collapsed

# What an ACA-Py process's command line holds: the `aca-py` script, or `python -m` of its package
# (acapy_agent since 1.0, aries_cloudagent before).
ACAPY_MARKERS = ("aca-py", "acapy_agent", "aries_cloudagent")
# py-spy ends by itself after --duration; this is how long after that it may take to write.
WRITE_GRACE_S = 30.0


def find_py_spy() -> str | None:
    """py-spy beside this Python (the venv `make setup` made), else on PATH."""
    return shutil.which("py-spy", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")


def check_process(pid: int, markers: tuple[str, ...], kind: str) -> str:
    """'' when `pid` runs and its command line holds one of `markers`; else why it is refused.
    Checked right before attaching: a pid reused by another program is never profiled in its name."""
    line = command_line(pid)
    if not line:
        return f"pid {pid} is gone (no such process)"
    if not any(marker in line for marker in markers):
        shown = " or ".join(repr(marker) for marker in markers)
        program = line.split(" ", 1)[0][:80]
        return (
            f"pid {pid} is neither {kind} nor Node (its command line, {program} …, lacks {shown}, and its "
            "program is not node): not profiled"
        )
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


Stop = Callable[[], None]


def record_python(
    py_spy: str | None, pid: int, seconds: float, rate: int, stacks: Path, on_start: Callable[[Stop], None]
) -> str:
    """Runs py-spy on `pid` for `seconds` into `stacks` (collapsed); returns the problem, or ''.
    `on_start` gets a function that ends the recording early (py-spy writes what it has on SIGINT)."""
    if py_spy is None:
        return "py-spy is not installed (`make setup` installs it into .venv)"
    command = [
        py_spy, "record", "--nonblocking", "--pid", str(pid), "--duration", str(max(1, round(seconds))),
        "--rate", str(rate), "--format", "raw", "--output", str(stacks),
        # --idle keeps the samples of waiting threads, so that idle time is seen rather than
        # silently missing; --threads names each sample's thread (the loop's, a pool's).
        "--idle", "--threads",
    ]  # fmt: skip
    try:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except OSError as error:
        return f"py-spy could not be started: {error.strerror or error}"

    def interrupt() -> None:
        with contextlib.suppress(OSError):  # ended meanwhile
            process.send_signal(signal.SIGINT)

    on_start(interrupt)
    try:
        _out, err = process.communicate(timeout=seconds + WRITE_GRACE_S)
    except subprocess.TimeoutExpired:
        interrupt()
        try:
            _out, err = process.communicate(timeout=WRITE_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            return f"py-spy did not finish within {seconds + 2 * WRITE_GRACE_S:g} s and was killed"
    if not read_collapsed(stacks).samples:
        return _explain(pid, process.returncode, err.decode(errors="replace"))
    return ""
