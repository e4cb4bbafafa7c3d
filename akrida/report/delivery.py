"""Delivery completeness of message scenarios: what each holder was sent and what it received.

A message that never arrives is a failure of the system under test. It is reported by count, and
not only as a timeout, because a late message is not a lost one: a holder that times out on one
message may still receive it during a later wait. The count tells the two apart. Counts are kept
per pickup strategy (PICKUP_STRATEGY), so runs with different strategies can be set side by side.
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
    delivered: int = 0  # received by the holder in time (mediator_churn: in the pickup after reconnecting)
    late: int = 0  # received after its wait had timed out
    duplicated: int = 0  # received again after it had been received once
    pickup_strategy: str = ""  # how the holders collected their messages

    @property
    def lost(self) -> int:
        return max(0, self.sent - self.delivered - self.late)

    @property
    def completeness(self) -> float:
        """The share of sent messages that arrived at all, in time or late."""
        return (self.delivered + self.late) / self.sent if self.sent else 1.0

    def add(self, other: DeliveryCounts) -> None:
        self.sent += other.sent
        self.delivered += other.delivered
        self.late += other.late
        self.duplicated += other.duplicated

    def line(self) -> str:
        text = (
            f"messages sent {self.sent}, delivered in time {self.delivered}, late {self.late}, lost {self.lost}, "
            f"duplicated {self.duplicated}"
        )
        if self.pickup_strategy:
            text = f"pickup {self.pickup_strategy}: {text} ({self.completeness:.0%} complete)"
        return text

    def write(self, run_dir: Path) -> Path:
        folder = run_dir / DELIVERY_DIR
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{socket.gethostname()}-{os.getpid()}.json"
        path.write_text(json.dumps(asdict(self)))
        return path


def read_delivery_by_strategy(run_dir: Path) -> dict[str, DeliveryCounts]:
    """The run's totals per pickup strategy (empty when no message scenario ran)."""
    totals: dict[str, DeliveryCounts] = {}
    for path in sorted((run_dir / DELIVERY_DIR).glob("*.json")):
        try:
            part = DeliveryCounts(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            continue
        totals.setdefault(part.pickup_strategy, DeliveryCounts(pickup_strategy=part.pickup_strategy)).add(part)
    return totals


def read_delivery(run_dir: Path) -> DeliveryCounts | None:
    """The run's totals, or None when no message scenario ran."""
    by_strategy = read_delivery_by_strategy(run_dir)
    if not by_strategy:
        return None
    total = DeliveryCounts(pickup_strategy=next(iter(by_strategy)) if len(by_strategy) == 1 else "")
    for counts in by_strategy.values():
        total.add(counts)
    return total
