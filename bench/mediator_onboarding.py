"""What a mediated holder's onboarding costs the embedded mediator, as it comes to hold more of them.

    .venv/bin/python bench/mediator_onboarding.py [--batches 250,250,250,250] [--in-flight 8]
                                                  [--per-process 250] [--invitations 1] [--no-profile]

Holders are started in batches through fresh multi-use invitations of the mediator (one by default,
as a mediator that publishes one invitation has; --invitations spreads them as MEDIATOR_INVITATIONS
does in a run), and kept connected. For each batch it prints how many connections the mediator held before it, the
holders started per second, and the mediator's CPU-seconds per start. With py-spy installed
(`.venv/bin/pip install py-spy`; it needs the right to trace the mediator, as root has), it also
samples the mediator during each batch and prints the share of its time spent under each of the
ACA-Py functions that dominate, so the growth can be traced to its cause in ACA-Py's code.

It uses a running embedded target, or starts its own (AKRIDA_LOCAL_STATE_DIR=.akrida/bench-onboarding,
LOCAL_BASE_PORT=9460, loopback only) and stops it at the end. docs/density.md ("What bounds
onboarding") shows its output.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Before akrida is imported: akrida.paths reads the state folder once, at import.
os.environ.setdefault("AKRIDA_LOCAL_STATE_DIR", str(ROOT / ".akrida" / "bench-onboarding"))
os.environ.setdefault("LOCAL_BASE_PORT", "9460")

import psutil  # noqa: E402
from density import cpu_of, start_mediated  # noqa: E402  (bench/ is on the path of a bench script)

from akrida import paths  # noqa: E402
from akrida.agent import AgentConfig, HolderClient, HostPool  # noqa: E402
from akrida.agent.limits import raise_open_files_limit  # noqa: E402
from akrida.local.stack import LocalTarget, run_invitations  # noqa: E402

# ACA-Py functions whose share of the mediator's time is printed for every batch (inclusive).
WATCHED = (
    "ConnRecord.retrieve_by_invitation_msg_id",
    "DIDXManager.receive_request",
    "BaseConnectionManager.find_inbound_connection",
    "InMemoryCache._remove_expired_cache_items",
)


@dataclass
class Batch:
    held_before: int
    started: int
    failures: int
    holders_per_second: float
    mediator_cpu_s_per_start: float
    shares: dict[str, float]  # watched function -> share of the mediator's samples, 0..1
    samples: int


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="250,250,250,250", help="holders per batch, comma-separated")
    parser.add_argument("--in-flight", type=int, default=8, help="starts in flight at once (default 8)")
    parser.add_argument("--per-process", type=int, default=250, help="holders per agent process (default 250)")
    parser.add_argument(
        "--invitations", type=int, default=1, help="fresh invitations the holders are spread across (default 1)"
    )
    parser.add_argument("--no-profile", action="store_true", help="do not sample the mediator with py-spy")
    arguments = parser.parse_args()
    batches = [int(size) for size in arguments.batches.split(",")]
    spy = (
        None
        if arguments.no_profile
        else shutil.which("py-spy", path=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    )
    if not arguments.no_profile and spy is None:
        print("py-spy is not installed (.venv/bin/pip install py-spy): CPU per start only", file=sys.stderr)

    raise_open_files_limit()
    target, info = None, LocalTarget.current()
    if info is None:
        target = LocalTarget(base_port=int(os.environ["LOCAL_BASE_PORT"]))
        info = target.up(paths.LOCAL_STATE_DIR / "logs")
    mediator = psutil.Process(info.pids["mediator"])
    invitations = run_invitations(info, arguments.invitations, "onboarding bench")
    print(f"{len(invitations)} fresh invitation(s); holders spread across them in turn", flush=True)
    pool = HostPool(AgentConfig(timeout=120), arguments.per_process)
    held: list[HolderClient] = []
    results: list[Batch] = []
    try:
        for size in batches:
            results.append(run_batch(pool, invitations, mediator, size, len(held), held, arguments, spy))
            print(row(results[-1]), flush=True)
    finally:
        pool.close_all(timeout=60)
        if target is not None:
            target.down()
    print()
    print(table(results))
    return 0 if all(batch.failures == 0 for batch in results) else 1


def run_batch(pool, invitations, mediator, size, held_before, held, arguments, spy) -> Batch:
    with tempfile.TemporaryDirectory() as folder:
        profile = Path(folder) / "mediator.txt"
        sampler = None
        if spy:
            sampler = subprocess.Popen(
                [spy, "record", "--pid", str(mediator.pid), "--format", "raw", "--output", str(profile),
                 "--rate", "50", "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        before = cpu_of(mediator)
        began = time.monotonic()
        failures = start_mediated(pool, invitations, size, arguments.in_flight, held)
        elapsed = time.monotonic() - began
        spent = cpu_of(mediator) - before
        if sampler is not None:
            sampler.send_signal(signal.SIGINT)  # py-spy writes its samples when interrupted
            sampler.wait(timeout=60)
        shares, samples = read_shares(profile) if profile.is_file() else ({}, 0)
    started = size - failures
    return Batch(
        held_before=held_before,
        started=started,
        failures=failures,
        holders_per_second=round(started / elapsed, 1),
        mediator_cpu_s_per_start=round(spent / max(1, started), 3),
        shares=shares,
        samples=samples,
    )


def read_shares(profile: Path) -> tuple[dict[str, float], int]:
    """Share of the samples with each watched function on the stack (py-spy's raw format: one
    `frame;frame;… count` line per distinct stack)."""
    counts: collections.Counter[str] = collections.Counter()
    total = 0
    for line in profile.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        if not stack or not number.isdigit():
            continue
        total += int(number)
        for name in WATCHED:
            if f"{name} (" in stack:
                counts[name] += int(number)
    return {name: counts[name] / total for name in WATCHED} if total else {}, total


def row(batch: Batch) -> str:
    return (
        f"held {batch.held_before:5d}: started {batch.started} ({batch.failures} failed) at "
        f"{batch.holders_per_second} holders/s, mediator {batch.mediator_cpu_s_per_start} CPU-s per start"
    )


def table(results: list[Batch]) -> str:
    names = [name.split(".")[-1] for name in WATCHED]
    lines = [
        "| connections held before | started | failures | holders/s | mediator CPU-s/start | "
        + " | ".join(f"in {name}" for name in names)
        + " |",
        "|---" * (5 + len(names)) + "|",
    ]
    for batch in results:
        shares = [f"{batch.shares[name]:.0%}" if name in batch.shares else "n/a" for name in WATCHED]
        lines.append(
            f"| {batch.held_before} | {batch.started} | {batch.failures} | {batch.holders_per_second} | "
            f"{batch.mediator_cpu_s_per_start} | " + " | ".join(shares) + " |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
