"""HOLDER_WALLETS=keep: holders whose wallets outlive the run, so they return instead of signing up.

On launch day most wallets already exist: they reconnect to the mediator with the connection and
mediation they took long ago. A kept wallet is a folder under WALLETS_DIR with the holder's askar
sqlite file and a private `wallet.json` (its raw key and the invitation it took mediation through:
Credo recognises a returning holder only by that same invitation). Wallets are shelved by mediator
(its endpoint) and by Locust process (a worker's index), and each Locust user takes the next slot,
so the same USERS on the same hosts return as the same holders run after run.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from akrida.invitation import InvitationError, decode_invitation
from akrida.private import write_private

WALLET_FILE = "wallet.json"
_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def raw_key() -> str:
    """A new askar raw key: 32 random bytes in base58, as askar's own generator writes it."""
    number = int.from_bytes(os.urandom(32), "big")
    digits = ""
    while number:
        number, digit = divmod(number, 58)
        digits = _ALPHABET[digit] + digits
    return digits.rjust(1, _ALPHABET[0])


def mediator_shelf(invitation_url: str) -> str:
    """A folder name for the mediator an invitation leads to: its endpoints, hashed (an invitation
    itself is new every run on the embedded target; the mediator's address is not)."""
    try:
        services = decode_invitation(invitation_url).get("services") or []
    except InvitationError:
        services = []
    endpoints = [str(service.get("serviceEndpoint")) for service in services if isinstance(service, dict)]
    endpoints = sorted(endpoints) or [invitation_url.split("?")[0]]
    return "mediator-" + hashlib.sha256("\n".join(endpoints).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class KeptWallet:
    folder: Path
    key: str
    invitation_url: str | None  # None: a new wallet, which takes the run's invitation

    @property
    def returning(self) -> bool:
        return self.invitation_url is not None

    def remember(self, invitation_url: str) -> None:
        """Written once the holder took mediation: from the next run on it returns through it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        record = {"key": self.key, "invitation_url": invitation_url}
        write_private(self.folder / WALLET_FILE, json.dumps(record) + "\n")


class WalletShelf:
    """The kept wallets of one Locust process, handed out one per user in a stable order."""

    def __init__(self, root: Path, process: str):
        self.root = root
        self.process = process
        self._numbers = itertools.count(1)

    def take(self, invitation_url: str) -> KeptWallet:
        folder = self.root / mediator_shelf(invitation_url) / self.process / f"holder-{next(self._numbers):05d}"
        try:
            record = json.loads((folder / WALLET_FILE).read_text())
            return KeptWallet(folder, str(record["key"]), str(record["invitation_url"]))
        except (OSError, ValueError, KeyError, TypeError):
            # New, or half made (its start failed before it was remembered): its file, if any, was
            # written under a key nobody kept, so it is made again.
            shutil.rmtree(folder, ignore_errors=True)
            return KeptWallet(folder, raw_key(), None)
