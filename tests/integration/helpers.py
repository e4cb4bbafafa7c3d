"""Running `akrida` as a user would, and reading what a run left behind."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

from akrida import paths
from akrida.agent import CommandFailed, HolderClient
from akrida.report.stats import StepStats, read_failures, read_steps


def akrida(*arguments: str, results: Path, timeout: float = 300, **settings: str) -> subprocess.CompletedProcess:
    """`akrida ARGUMENTS` with SETTINGS in the environment and no .env file."""
    environment = dict(os.environ)
    environment.update({"RESULTS_DIR": str(results), **settings})
    return subprocess.run(
        [sys.executable, "-m", "akrida.cli", "--env-file", "/dev/null", *arguments],
        cwd=paths.ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_dirs(results: Path) -> list[Path]:
    return sorted(path for path in results.iterdir() if path.is_dir())


def only_run_dir(results: Path) -> Path:
    runs = run_dirs(results)
    assert len(runs) == 1, runs
    return runs[0]


def steps_by_key(run_dir: Path) -> dict[tuple[str, str], StepStats]:
    return {(step.request_type, step.name): step for step in read_steps(run_dir)}


def compare_table(output: str) -> dict[str, str]:
    """`type/step` → the regression column of each row of the table `akrida compare` prints."""
    lines = output.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("---")) + 1
    rows = {}
    for line in lines[start:]:
        if not line:
            break
        words = line.split()  # type, step, 10 figures, then the regression column
        rows[f"{words[0]}/{words[1]}"] = " ".join(words[12:])
    return rows


def compare_count(output: str) -> int:
    """The N of `akrida compare`'s closing `N step(s) regressed` line."""
    last = output.strip().splitlines()[-1]
    assert " step(s) regressed " in last, last
    return int(last.split()[0])


def describe(result: subprocess.CompletedProcess, run_dir: Path | None = None) -> str:
    text = f"exit {result.returncode}\n--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
    if run_dir is not None:
        text += "\n--- failures\n" + "\n".join(map(str, read_failures(run_dir)))
    return text


def invitation_to(endpoint: str) -> str:
    """A well-formed out-of-band invitation URL whose service is `endpoint`."""
    message = {
        "@type": "https://didcomm.org/out-of-band/1.1/invitation",
        "@id": "00000000-0000-0000-0000-000000000000",
        "label": "nobody",
        "handshake_protocols": ["https://didcomm.org/didexchange/1.1"],
        "services": [
            {
                "id": "#inline",
                "type": "did-communication",
                "recipientKeys": ["did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH"],
                "serviceEndpoint": endpoint,
            }
        ],
    }
    return f"{endpoint}?oob=" + base64.urlsafe_b64encode(json.dumps(message).encode()).decode().rstrip("=")


def receive_asking(holder: HolderClient, connection_id: str, asks: int = 4) -> str:
    """The next message, asked for again as a wallet with implicit pickup must ask ACA-Py 1.7.

    The mediator's WebSocket session holds one outgoing message at a time; a message forwarded while
    that place is taken goes to its undelivered queue, and it hands one queued message back after each
    inbound message that needs no reply (docs/scenarios.md, mediator_churn). So the ask is a trust ping
    that asks no answer: one that asks an answer fills the place itself and brings nothing."""
    for _ in range(asks):
        try:
            return holder.receive_message(connection_id, timeout_ms=5_000).content
        except CommandFailed as error:
            if error.kind != "timeout":
                raise
        with contextlib.suppress(CommandFailed):  # a ping lost on a socket going down: the next ask retries
            holder.ping_mediator(timeout_ms=15_000, response_requested=False)
    return holder.receive_message(connection_id, timeout_ms=15_000).content
