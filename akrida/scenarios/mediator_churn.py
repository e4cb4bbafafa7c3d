"""mediator_churn: wallets that come and go. Each holder cycles online → offline → online.

Offline, a holder has stopped message pickup and closed its WebSocket to the mediator, as a phone
that sleeps; its wallet and connections stay. Meanwhile the issuer sends it CHURN_MESSAGES basic
messages, which the mediator has to keep. Back online, the holder picks them up with PICKUP_STRATEGY.

Steps: `go_offline` and `go_online` (the holder's side), `admin send_message` (the issuer's admin
call), and `pickup`: from going online until every message sent while it was away has arrived, the
pickup latency after reconnecting. A message that has not arrived by then is the target's failure;
it stays awaited and, if it comes later, counts as late. Every message is counted: sent, delivered
(in the pickup after reconnecting), late, lost (never delivered by the end of the run), duplicated.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import time
import uuid

import gevent

from akrida.agent import AgentError, CommandFailed, HolderClient
from akrida.scenarios.base import HolderUser
from akrida.scenarios.steps import ADMIN, StepFailed, TargetFailure, step

# Online and offline spells spread over ±JITTER, so holders started together do not churn together.
JITTER = 0.25
# How long a stopping holder still waits for messages that have not arrived.
STRAGGLER_WAIT_MS = 2000
# The most contents remembered to recognise duplicates, per holder.
REMEMBERED = 10_000


def jittered(seconds: float) -> float:
    return random.uniform(seconds * (1 - JITTER), seconds * (1 + JITTER))


class MediatorChurnUser(HolderUser):
    def on_start(self) -> None:
        self.sequence = itertools.count(1)
        self.awaited: set[str] = set()  # sent during the current offline spell, not received yet
        self.overdue: set[str] = set()  # sent earlier, not received by the end of their pickup
        self.received: set[str] = set()  # received already: a second arrival is a duplicate
        super().on_start()

    def prepare(self) -> None:
        # A new agent has a new connection: messages sent to the old one were lost with our agent,
        # not by the target: they leave the count.
        self.runtime.delivery.sent -= len(self.awaited) + len(self.overdue)
        self.awaited.clear()
        self.overdue.clear()
        self.connect_to_issuer()

    def wait_time(self) -> float:
        return jittered(self.settings.churn_online)  # the online spell

    def iteration(self) -> None:
        self.holder.call("go_offline", HolderClient.go_offline)
        self.holder.offline = True
        offline_until = time.monotonic() + jittered(self.settings.churn_offline)
        messages = self.settings.churn_messages
        for number in range(messages):
            # Spread over the spell: the last one goes out before the holder comes back.
            gevent.sleep(max(0.0, (offline_until - time.monotonic()) / (messages - number + 1)))
            self._send()
        gevent.sleep(max(0.0, offline_until - time.monotonic()))
        self._come_back()

    def _send(self) -> None:
        content = f"akrida churn #{next(self.sequence)} {uuid.uuid4()}"
        with step(self.environment, "send_message", ADMIN):
            self.runtime.issuer.send_message(self.holder.facts["issuer_connection_id"], content)
        self.runtime.delivery.sent += 1
        self.awaited.add(content)

    def _come_back(self) -> None:
        began = time.monotonic()
        try:
            self.holder.call("go_online", HolderClient.go_online)
        except StepFailed:
            self._give_up_on_awaited()
            raise
        self.holder.offline = False
        if not self.awaited:
            return  # every send failed: nothing to pick up
        with step(self.environment, "pickup"):
            deadline = began + self.settings.agent_timeout
            while self.awaited:
                left_ms = int((deadline - time.monotonic()) * 1000)
                try:
                    if left_ms < 1:
                        raise CommandFailed("receiveMessage", "timeout", "the pickup's time ran out")
                    self._receive(left_ms)
                except CommandFailed as error:
                    if error.harness:
                        raise
                    missing = self._give_up_on_awaited()
                    raise TargetFailure(
                        f"{missing} message(s) sent while the holder was offline had not arrived "
                        f"{self.settings.agent_timeout:g}s after it came back online"
                    ) from None

    def _give_up_on_awaited(self) -> int:
        """This spell's messages that did not arrive in its pickup: if they come later, they are late."""
        missing = len(self.awaited)
        self.overdue |= self.awaited
        self.awaited.clear()
        return missing

    def _receive(self, timeout_ms: int) -> None:
        """Takes one message and counts it: this spell's (delivered), an earlier one's (late), or a duplicate."""
        connection = self.holder.facts["holder_connection_id"]
        content = self.holder.client.receive_message(connection, timeout_ms).content
        if content in self.awaited:
            self.awaited.discard(content)
            self.runtime.delivery.delivered += 1
        elif content in self.overdue:
            self.overdue.discard(content)
            self.runtime.delivery.late += 1
        elif content in self.received:
            self.runtime.delivery.duplicated += 1
            return
        else:
            raise TargetFailure(f"received a message that was never sent to this holder: {content!r}")
        if len(self.received) >= REMEMBERED:
            self.received.clear()
        self.received.add(content)

    def on_stop(self) -> None:
        # Back online if the run ended during an offline spell; messages still out get a last chance.
        with contextlib.suppress(AgentError, TargetFailure):
            if self.holder.ready and self.holder.offline:
                self.holder.client.go_online()
                self.holder.offline = False
            for _ in range(len(self.awaited) + len(self.overdue) + 10):  # bounded even if the target keeps sending
                if not (self.awaited or self.overdue) or not self.holder.ready:
                    break
                self._receive(STRAGGLER_WAIT_MS)
        super().on_stop()
