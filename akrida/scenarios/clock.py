"""A holder's requests on a clock (SCHEDULE=fixed or poisson) instead of the closed loop.

Each holder's requests fall due at set times: every `interval` (fixed, with a random phase so that
holders started together do not fire together) or at the arrivals of a Poisson process of the same
mean (poisson). A holder sends one request at a time, as a phone does: when its previous request is
still out at the next due time, that one goes out as soon as it can, late, and is timed from when it
was due; a holder that fell behind sends its overdue requests back to back until it is on time again.
So a target that stalls for 10 s is charged up to 10 s on every request that fell due meanwhile, not
once per holder.
"""

from __future__ import annotations

import random
import time

import gevent

from akrida.report.schedule import ScheduleCounts

# A holder far behind still counts the requests it owes at the end, up to this many (a bound on the loop).
MOST_UNSENT = 1_000_000


class Clock:
    def __init__(self, kind: str, interval: float, counts: ScheduleCounts, rng: random.Random | None = None):
        if interval <= 0:
            raise ValueError(f"a clock needs an interval above 0 s, not {interval:g}")
        self.kind = kind
        self.interval = interval
        self.counts = counts
        self.rng = rng or random.Random()
        first = self.rng.uniform(0, interval) if kind == "fixed" else self._gap()
        self.next_due = time.perf_counter() + first

    def _gap(self) -> float:
        return self.interval if self.kind == "fixed" else self.rng.expovariate(1 / self.interval)

    def wait(self) -> float:
        """Sleeps until the next request is due; returns its due time (time.perf_counter()) and counts how
        late it goes out. Call it when the holder is free to send (its previous request is done)."""
        free_at = time.perf_counter()
        if self.next_due > free_at:
            gevent.sleep(self.next_due - free_at)
        due = self.next_due
        self.next_due += self._gap()
        self.counts.record((time.perf_counter() - due) * 1000, behind=free_at > due)
        return due

    def count_unsent(self, now: float | None = None) -> int:
        """At the end: counts the requests that came due by `now` and never went out."""
        now = time.perf_counter() if now is None else now
        unsent = 0
        while self.next_due <= now and unsent < MOST_UNSENT:
            unsent += 1
            self.next_due += self._gap()
        self.counts.unsent += unsent
        return unsent
