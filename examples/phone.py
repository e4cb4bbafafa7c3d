"""A phone whose owner opens the wallet app every few minutes. The app is closed most of the time
(message pickup stopped, its WebSocket to the mediator closed, the wallet kept); while it is closed
the issuer writes to it, and the mediator keeps the message. Each time the app opens, it comes
online, picks the message up, trust-pings the mediator and goes offline again.

    make run SCENARIO=examples/phone.py USERS=200 RUN_TIME=30m                # opens every 3 minutes
    make run SCENARIO=examples/phone.py PHONE_INTERVAL=20s USERS=10 RUN_TIME=2m

Rows in Locust's statistics: `didcomm startup`, the connection to the issuer (`admin create_invitation`,
`didcomm receive_invitation`, `admin issuer_connection`), and this file's own `admin send_message`,
`didcomm online`, `didcomm pick_up`, `didcomm ping_mediator` and `didcomm offline`.
"""

from __future__ import annotations

import random
import uuid

from akrida.scenarios.api import ADMIN, HolderClient, HolderUser, TargetFailure, duration, setting

PHONE_INTERVAL = setting(
    "PHONE_INTERVAL",
    duration,
    "examples/phone.py: how long the app stays closed between two openings (spread ±25 %), e.g. 3m.",
    default="3m",
)


class Phone(HolderUser):
    needs_mediator = True  # refused with WITH_MEDIATION=false, before any holder starts
    needs_issuer = True

    def prepare(self) -> None:
        self.connect_to_issuer()
        self.close_app()

    def wait_time(self) -> float:
        # Phones started together do not all open the app together.
        return PHONE_INTERVAL.value(self.environment) * random.uniform(0.75, 1.25)

    def iteration(self) -> None:
        content = f"phone {uuid.uuid4()}"
        with self.step("send_message", ADMIN):  # the issuer writes while the app is closed
            self.issuer.send_message(self.holder.facts["issuer_connection_id"], content)
        self.holder.call("online", HolderClient.go_online)
        self.holder.offline = False
        # Timed from coming online until the message written while the app was closed has arrived.
        with self.step("pick_up"):
            message = self.holder.client.receive_message(self.holder.facts["holder_connection_id"])
            if message.content != content:
                raise TargetFailure(f"picked up {message.content!r}, expected {content!r}")
        self.holder.call("ping_mediator", HolderClient.ping_mediator)
        self.close_app()

    def close_app(self) -> None:
        self.holder.call("offline", HolderClient.go_offline)
        self.holder.offline = True
