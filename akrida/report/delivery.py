"""Delivery completeness of message scenarios: what each holder was sent and what it received.

A message that never arrives is a failure of the system under test. It is reported by count, and
not only as a timeout, because a late message is not a lost one: a holder that times out on one
message may still receive it during a later wait. The count tells the two apart.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

DELIVERY_DIR = "delivery"


@dataclass
class DeliveryCounts:
    sent: int = 0  # accepted by the sender's admin API
    delivered: int = 0  # received by the holder in time
    late: int = 0  # received after its wait had timed out

    @property
    def lost(self) -> int:
        return max(0, self.sent - self.delivered - self.late)

    def add(self, other: DeliveryCounts) -> None:
        self.sent += other.sent
        self.delivered += other.delivered
        self.late += other.late

    def write(self, run_dir: Path) -> Path:
        folder = run_dir / DELIVERY_DIR
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{socket.gethostname()}-{os.getpid()}.json"
        path.write_text(json.dumps(asdict(self)))
        return path


def read_delivery(run_dir: Path) -> DeliveryCounts | None:
    """The run's totals, or None when no message scenario ran."""
    files = sorted((run_dir / DELIVERY_DIR).glob("*.json"))
    if not files:
        return None
    total = DeliveryCounts()
    for path in files:
        try:
            total.add(DeliveryCounts(**json.loads(path.read_text())))
        except (ValueError, TypeError):
            continue
    return total
