"""Delivery completeness of message scenarios: what each holder was sent and what it received.

A message that never arrives is a failure of the system under test. It is reported by count, and
not only as a timeout, because a late message is not a lost one: a holder that times out on one
message may still receive it during a later wait. The count tells the two apart. Counts are kept
per pickup strategy (PICKUP_STRATEGY), so runs with different strategies can be set side by side.

A stranded message is one the mediator kept but handed over only once the holder had sent it more
messages: ACA-Py's implicit pickup returns one queued message per message the holder sends, so a
holder that reconnects to three queued messages gets one and the others stay queued until it speaks
again. mediator_churn asks again after its pickup's deadline (trust pings that ask no answer) and
counts what comes only then as stranded; "lost" is only what never arrives.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path

DELIVERY_DIR = "delivery"


@dataclass
class DeliveryCounts:
    sent: int = 0  # accepted by the sender's admin API
    delivered: int = 0  # received by the holder in time (mediator_churn: in the pickup after reconnecting)
    late: int = 0  # received after its wait had timed out
    duplicated: int = 0  # received again after it had been received once
    pickup_strategy: str = ""  # how the holders collected their messages
    stranded: int = 0  # kept by the mediator, handed over only after the holder sent it more messages
    stranded_asks: int = 0  # the most messages a holder had to send before a stranded one came

    @property
    def lost(self) -> int:
        """Never received, however long or often the holder asked."""
        return max(0, self.sent - self.delivered - self.late - self.stranded)

    @property
    def completeness(self) -> float:
        """The share of sent messages that arrived at all: in time, stranded or late."""
        return (self.delivered + self.late + self.stranded) / self.sent if self.sent else 1.0

    def add(self, other: DeliveryCounts) -> None:
        self.sent += other.sent
        self.delivered += other.delivered
        self.late += other.late
        self.duplicated += other.duplicated
        self.stranded += other.stranded
        self.stranded_asks = max(self.stranded_asks, other.stranded_asks)

    def line(self) -> str:
        stranded = ""
        if self.stranded:
            # Said only where it happened: the scenarios that never ask again cannot strand a message.
            stranded = (
                f"stranded {self.stranded} (delivered only after the holder sent up to {self.stranded_asks} "
                "more message(s) to the mediator), "
            )
        text = (
            f"messages sent {self.sent}, delivered in time {self.delivered}, {stranded}late {self.late}, "
            f"lost {self.lost}, duplicated {self.duplicated}"
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


class Arrival(Enum):
    DELIVERED = "delivered"
    STRANDED = "stranded"
    LATE = "late"
    DUPLICATED = "duplicated"
    UNKNOWN = "unknown"  # never sent to this holder


# The most contents remembered to recognise duplicates, per holder.
REMEMBERED = 10_000


@dataclass
class MessageLedger:
    """One holder's messages, from sent to received, counted into `counts` as they arrive.

    A message of the current offline spell that arrives in the pickup after reconnecting is delivered;
    one that arrives only after the holder asked again (`asks` > 0: it had sent that many more messages
    since the pickup's deadline) is stranded; one given up on earlier that turns up in a later spell is
    late. What is still out at the end of the run is lost (DeliveryCounts.lost).
    """

    counts: DeliveryCounts
    awaited: set[str] = field(default_factory=set)  # sent during the current offline spell, not received yet
    overdue: set[str] = field(default_factory=set)  # given up on (not received after asking again)
    received: set[str] = field(default_factory=set)  # received already: a second arrival is a duplicate

    @property
    def outstanding(self) -> int:
        return len(self.awaited) + len(self.overdue)

    def sent(self, content: str) -> None:
        self.counts.sent += 1
        self.awaited.add(content)

    def arrived(self, content: str, asks: int = 0) -> Arrival:
        if content in self.awaited:
            self.awaited.discard(content)
            if asks:
                self.counts.stranded += 1
                self.counts.stranded_asks = max(self.counts.stranded_asks, asks)
                kind = Arrival.STRANDED
            else:
                self.counts.delivered += 1
                kind = Arrival.DELIVERED
        elif content in self.overdue:
            self.overdue.discard(content)
            self.counts.late += 1
            kind = Arrival.LATE
        elif content in self.received:
            self.counts.duplicated += 1
            return Arrival.DUPLICATED
        else:
            return Arrival.UNKNOWN
        if len(self.received) >= REMEMBERED:
            self.received.clear()
        self.received.add(content)
        return kind

    def give_up(self) -> int:
        """The spell's messages that did not come even after asking again: if they come later, they are late."""
        missing = len(self.awaited)
        self.overdue |= self.awaited
        self.awaited.clear()
        return missing

    def forget(self) -> None:
        """The holder's agent was replaced: messages sent to its old connection were lost with our agent,
        not by the target, so they leave the count."""
        self.counts.sent -= self.outstanding
        self.awaited.clear()
        self.overdue.clear()


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
