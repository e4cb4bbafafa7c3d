"""Formulas that settings are checked against and shown with: the embedded mediator's invitations, and
the least time a limit search takes."""

from __future__ import annotations

# The embedded mediator's invitations (MEDIATOR_INVITATIONS=auto): ACA-Py 1.7 reads every connection made
# through an invitation whenever a holder answers it, so a holder's onboarding costs the mediator more
# with every holder before it on the same invitation (bench/mediator_onboarding.py measures it). The cap
# keeps MEDIATION_URL, which carries them all, well below Linux's 128 KiB limit for one variable.
HOLDERS_PER_INVITATION = 50
MAX_MEDIATOR_INVITATIONS = 100


def auto_invitations(holders: int) -> int:
    """MEDIATOR_INVITATIONS=auto for `holders`: one invitation per HOLDERS_PER_INVITATION, within the cap."""
    return min(MAX_MEDIATOR_INVITATIONS, -(-holders // HOLDERS_PER_INVITATION))


def search_time_needed(step: tuple[int, int], users: int, spawn_rate: float) -> int:
    """The least time a limit search takes if every step holds: each step's joins, settling and hold."""
    step_holders, step_seconds = step
    steps = -(-users // step_holders)
    return int(steps * (step_seconds + SEARCH_SETTLE_S) + users / spawn_rate)


SEARCH_SETTLE_S = 10  # akrida.scenarios.search.SETTLE_S: holders settle this long before a step is judged
