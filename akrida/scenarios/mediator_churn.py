"""mediator_churn: wallets that come and go. Each holder cycles online → offline → online.

Offline, a holder has stopped message pickup and closed its WebSocket to the mediator, as a phone
that sleeps; its wallet and connections stay. Meanwhile the issuer sends it CHURN_MESSAGES basic
messages, which the mediator has to keep. Back online, the holder picks them up with PICKUP_STRATEGY.

Steps: `go_offline` and `go_online` (the holder's side), `admin send_message` (the issuer's admin
call), and `pickup`: from going online until every message sent while it was away has arrived, the
pickup latency after reconnecting. A message that has not arrived by then (AGENT_TIMEOUT) fails the
pickup as the target's failure; the holder then asks again, as a wallet that sends something does:
up to one trust ping per missing message (and ASK_SLACK more), each asking no answer. ACA-Py's implicit
pickup hands over one queued message per message the holder sends, so what comes only then was kept
by the mediator but stranded there: counted as stranded, not lost. Every message is counted: sent,
delivered (in the pickup after reconnecting), stranded, late (in a later spell), lost (never
delivered by the end of the run), duplicated (akrida/report/delivery.py).

CHURN_DISCONNECT=silent: the holder does not close anything; it goes quiet, as a phone that lost its
network. `go_silent` drops every packet of its WebSocket's TCP connection with the kernel's packet
filter (akrida/agent/silence.py), so the mediator believes the socket open until its own heartbeat
or TCP gives up, and what it forwards meanwhile goes into a socket nobody reads. `come_back`: the
holder abandons that socket (still silenced, so the mediator sees no close) and Credo reconnects on a
new one, as a phone on a new network; then the old connection's packets pass again. The same counts
then tell what the mediator did with the messages sent meanwhile: queued them (delivered or stranded)
or wrote them into the dead socket (lost).
"""

from __future__ import annotations

import contextlib
import itertools
import random
import time
import uuid

import gevent

from akrida.agent import AgentError, CommandFailed, HolderClient
from akrida.agent.messages import Message
from akrida.agent.silence import Connection
from akrida.report.delivery import Arrival, MessageLedger
from akrida.scenarios.base import HolderUser
from akrida.scenarios.steps import ADMIN, StepFailed, TargetFailure, step

# Online and offline spells spread over ±JITTER, so holders started together do not churn together.
JITTER = 0.25
# How long a stopping holder still waits for messages that have not arrived, before it asks again.
STRAGGLER_WAIT_MS = 2000
# Asking again: pings beyond one per missing message (a ping can bring an older, overdue message
# first), how long each waits for what it brings, and the most time all of them may take.
ASK_SLACK = 1
ASK_WAIT_MS = 2000
ASK_AGAIN_S = 30.0
# A silenced connection's entry in the packet filter expires by itself this long after its spell
# should have ended, should the holder never come back to lift it (a killed Locust process).
SILENCE_SAFETY_S = 60.0


def jittered(seconds: float) -> float:
    return random.uniform(seconds * (1 - JITTER), seconds * (1 + JITTER))


class MediatorChurnUser(HolderUser):
    def on_start(self) -> None:
        self.sequence = itertools.count(1)
        self.ledger = MessageLedger(self.runtime.delivery)
        self.silenced: list[Connection] = []  # CHURN_DISCONNECT=silent: the connections silenced now
        super().on_start()

    def prepare(self) -> None:
        self.ledger.forget()  # a new agent has a new connection: the old one's messages leave the count
        self._speak_again()  # and the old agent's silenced connection is gone with it
        self.connect_to_issuer()

    def wait_time(self) -> float:
        return jittered(self.settings.churn_online)  # the online spell

    @property
    def silent(self) -> bool:
        return self.settings.churn_disconnect == "silent"

    def iteration(self) -> None:
        spell = jittered(self.settings.churn_offline)
        if self.silent:
            self._go_silent(spell)
        else:
            self.holder.call("go_offline", HolderClient.go_offline)
        self.holder.offline = True
        offline_until = time.monotonic() + spell
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
        self.ledger.sent(content)

    def _go_silent(self, spell: float) -> None:
        """Drops every packet of the holder's connections to the mediator; the sockets stay open."""
        with step(self.environment, "go_silent"):
            sockets = self.holder.client.mediator_sockets().sockets
            if not sockets:
                raise TargetFailure("the holder had no open WebSocket to the mediator to silence (it was closed)")
            for socket in sockets:
                connection = Connection.of(socket)
                self.runtime.silencer.silence(connection, spell + SILENCE_SAFETY_S)
                self.silenced.append(connection)

    def _return(self) -> None:
        """Back online: `go_online` (CHURN_DISCONNECT=close), or `come_back` on a new socket (silent)."""
        if not self.silent:
            self.holder.call("go_online", HolderClient.go_online)
            return
        try:
            # Cut while still silenced: the mediator sees neither a close nor a reset, only silence.
            self.holder.call("come_back", HolderClient.drop_connection)
        finally:
            self._speak_again()

    def _speak_again(self) -> None:
        silenced, self.silenced = self.silenced, []
        for connection in silenced:
            self.runtime.silencer.restore(connection)

    def _come_back(self) -> None:
        began = time.monotonic()
        try:
            self._return()
        except StepFailed:
            self.ledger.give_up()
            raise
        self.holder.offline = False
        if not self.ledger.awaited:
            return  # every send failed: nothing to pick up
        with step(self.environment, "pickup"):
            self._pick_up(began, "sent while the holder was offline", "it came back online")

    def _pick_up(self, began: float, sent_when: str, since: str) -> None:
        """Takes what is awaited until AGENT_TIMEOUT from `began`, then asks again for what is missing;
        raises TargetFailure naming what came only when asked (stranded) and what not even then."""
        deadline = began + self.settings.agent_timeout
        while self.ledger.awaited:
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms < 1:
                break
            try:
                self._receive(left_ms)
            except CommandFailed as error:
                if error.harness:
                    raise
                break  # the wait ran out: what is missing may still be queued at the mediator
        missing = len(self.ledger.awaited)
        if missing:
            asks = self._ask_again()
            never = self.ledger.give_up()  # this holder's own: the run's counts are shared by its users
            raise TargetFailure(
                f"{missing} message(s) {sent_when} had not arrived {self.settings.agent_timeout:g}s after "
                f"{since}: {missing - never} came only once it sent the mediator more messages ({asks} trust "
                f"ping(s); stranded), {never} not even then"
            )

    def _ask_again(self) -> int:
        """Sends the mediator trust pings that ask no answer, one at a time, taking what each brings,
        until nothing is outstanding or the pings (one per outstanding message and ASK_SLACK more) or
        ASK_AGAIN_S run out. Returns how many it sent."""
        limit = self.ledger.outstanding + ASK_SLACK
        until = time.monotonic() + ASK_AGAIN_S
        asks = 0
        while self.ledger.outstanding and asks < limit and time.monotonic() < until:
            try:
                self.holder.client.ping_mediator(ASK_WAIT_MS, response_requested=False)
            except CommandFailed as error:
                if error.harness:
                    raise
                break  # the mediator cannot be reached: what is out stays out
            asks += 1
            try:
                self._receive(ASK_WAIT_MS, asks)
            except CommandFailed as error:
                if error.harness:
                    raise  # nothing came for this ping (an empty queue, or it comes with the next)
        return asks

    def _receive(self, timeout_ms: int, asks: int = 0) -> Message:
        """Takes one message and counts it (MessageLedger.arrived); `asks`: pings sent since the pickup's deadline."""
        connection = self.holder.facts["holder_connection_id"]
        message = self.holder.client.receive_message(connection, timeout_ms)
        if self.ledger.arrived(message.content, asks) is Arrival.UNKNOWN:
            raise TargetFailure(f"received a message that was never sent to this holder: {message.content!r}")
        return message

    def on_stop(self) -> None:
        # Back online if the run ended during an offline spell; messages still out get a last chance:
        # a wait, then the holder asks again. What does not come even then is lost.
        with contextlib.suppress(AgentError, TargetFailure):
            if self.holder.ready and self.holder.offline:
                if self.silent:
                    try:
                        self.holder.client.drop_connection()
                    finally:
                        self._speak_again()
                else:
                    self.holder.client.go_online()
                self.holder.offline = False
            for _ in range(len(self.ledger.awaited)):  # what is on its way: each wait bounded
                if not (self.holder.ready and self.ledger.awaited):
                    break
                try:
                    self._receive(STRAGGLER_WAIT_MS)
                except CommandFailed:
                    break
            if self.holder.ready and self.ledger.outstanding:
                self._ask_again()
        self._speak_again()  # a holder that broke while silenced: its connection speaks again
        super().on_stop()
