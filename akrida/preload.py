"""PRELOAD: a mediator that looks like production before the measured load begins.

A limit found on an empty mediator overstates it: ACA-Py 1.7's costs grow with every connection it
holds (docs/density.md), and on launch day most wallets already exist. So before Locust starts,
PRELOAD holders each take mediation through the run's invitations and then shut down, leaving
their connection and mediation records at the mediator. They go at whatever rate the target takes
(PRELOAD_IN_FLIGHT starts at a time) and are not measured: the run's figures begin after them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gevent
from gevent.pool import Pool

from akrida.agent import AgentConfig, AgentError, HostPool, StartOptions
from akrida.egress import agent_environment, allowed_hosts
from akrida.local.errors import LocalTargetError
from akrida.settings import Settings

IN_FLIGHT = 8  # starts at a time: enough to keep a mediator busy, few enough not to time out
PROGRESS_EVERY_S = 5.0
# Preloading stops when this share of the first starts failed: the target refuses, and thousands of
# timeouts would only delay saying so.
GIVE_UP_SHARE = 0.5
GIVE_UP_AFTER = 20


class PreloadError(LocalTargetError):
    """The target refused the preloaded holders; the message says how many and why."""


@dataclass
class Preloaded:
    requested: int
    mediated: int = 0
    failed: int = 0
    seconds: float = 0.0
    first_error: str = ""

    def line(self) -> str:
        rate = self.mediated / self.seconds if self.seconds else 0.0
        failed = f", {self.failed} failed ({self.first_error})" if self.failed else ""
        return (
            f"preload: {self.mediated} of {self.requested} holders took mediation and left in {self.seconds:.0f}s "
            f"({rate:.1f}/s, not measured){failed}"
        )


def preload(settings: Settings, run_dir: Path, progress: Callable[..., None]) -> Preloaded:
    """Starts and shuts down `settings.preload` mediated holders; returns what happened."""
    done = Preloaded(settings.preload)
    config = AgentConfig(
        timeout=settings.agent_timeout,
        log_level="off",
        log_dir=run_dir / "preload",
        log_max_bytes=settings.agent_log_max_bytes,
        extra_env=agent_environment(allowed_hosts(settings, None)),
    )
    pool = HostPool(config, settings.holders_per_process)
    invitations = settings.mediation_urls
    started = time.monotonic()
    reported = started

    def one(index: int) -> None:
        nonlocal reported
        if done.failed >= GIVE_UP_AFTER and done.failed >= GIVE_UP_SHARE * (done.failed + done.mediated):
            return
        client = pool.open()
        try:
            client.start(StartOptions(mediator_invitation_url=invitations[index % len(invitations)], log_level="off"))
            done.mediated += 1
            pool.release(client)  # its records stay at the mediator; its memory does not stay here
        except AgentError as error:
            done.failed += 1
            done.first_error = done.first_error or str(error)[:200]
            pool.release(client, graceful=False)
        if time.monotonic() - reported >= PROGRESS_EVERY_S:
            reported = time.monotonic()
            progress(f"preload: {done.mediated} of {done.requested} holders mediated, {done.failed} failed")

    progress(f"preload: {settings.preload} holders take mediation before the load (PRELOAD), {IN_FLIGHT} at a time")
    try:
        Pool(IN_FLIGHT).map(one, range(settings.preload))
    finally:
        pool.kill_all()
        gevent.sleep(0)
    done.seconds = time.monotonic() - started
    attempted = done.mediated + done.failed
    if done.failed >= GIVE_UP_AFTER and done.failed >= GIVE_UP_SHARE * attempted:
        raise PreloadError(
            f"preload stopped: {done.failed} of {attempted} holders could not take mediation ({done.first_error}); "
            "the target refuses them before any load: check it, or lower PRELOAD"
        )
    return done
