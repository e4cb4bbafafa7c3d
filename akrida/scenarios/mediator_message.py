"""mediator_message: the issuer sends basic messages that reach each holder through the mediator.

Each holder connects to the issuer once (`create_invitation`, `receive_invitation`, `issuer_connection`);
then every iteration the issuer sends one message and the holder waits for it: `basic_message` is the
time from the admin API call to the holder having it. A message that never arrives, or arrives
changed, is a failure of the system under test. Every message is counted (sent, delivered, late,
lost) for the run's delivery report.
"""

import contextlib
import itertools
import uuid

from akrida.agent import AgentError
from akrida.scenarios.base import HolderUser
from akrida.scenarios.steps import TargetFailure, step

# How long a stopping holder still waits for messages that timed out earlier.
STRAGGLER_WAIT_MS = 2000


class MediatorMessageUser(HolderUser):
    def on_start(self) -> None:
        self.sequence = itertools.count(1)
        self.outstanding: set[str] = set()  # sent and not (yet) received: awaited now, or timed out
        super().on_start()

    def prepare(self) -> None:
        # A new agent has a new connection: messages sent to the old one (also the one it was
        # waiting for when it died) were lost with our agent, not by the target: they leave the count.
        self.runtime.delivery.sent -= len(self.outstanding)
        self.outstanding.clear()
        self.connect_to_issuer()

    def iteration(self) -> None:
        content = f"akrida #{next(self.sequence)} {uuid.uuid4()}"
        with step(self.environment, "basic_message", started=self.holder.take_due()):
            self.runtime.issuer.send_message(self.holder.facts["issuer_connection_id"], content)
            self.runtime.delivery.sent += 1
            self.outstanding.add(content)
            self._receive(content)

    def _receive(self, content: str, timeout_ms: int | None = None) -> None:
        """Waits for `content`, counting earlier timed-out messages that turn up on the way as late."""
        connection = self.holder.facts["holder_connection_id"]
        while True:
            # On a timeout `content` stays outstanding: it may still come, late.
            received = self.holder.client.receive_message(connection, timeout_ms).content
            if received == content:
                self.outstanding.discard(content)
                self.runtime.delivery.delivered += 1
                return
            if received in self.outstanding:
                self.outstanding.discard(received)
                self.runtime.delivery.late += 1
                continue
            raise TargetFailure(f"expected message {content!r}, received {received!r}")

    def on_stop(self) -> None:
        # Messages that timed out may still arrive: give them a last chance to count as late.
        with contextlib.suppress(AgentError):
            for _ in range(len(self.outstanding) + 10):  # bounded even if the target keeps sending
                if not self.outstanding or not self.holder.ready:
                    break
                connection = self.holder.facts["holder_connection_id"]
                received = self.holder.client.receive_message(connection, STRAGGLER_WAIT_MS).content
                if received in self.outstanding:
                    self.outstanding.discard(received)
                    self.runtime.delivery.late += 1
        super().on_stop()
