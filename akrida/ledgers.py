"""Indy ledgers by name: LEDGER_NETWORK gives a known network or the URL of a genesis file, which is
fetched once and kept under .akrida/genesis/. LEDGER_GENESIS_FILE gives a local file instead."""

from __future__ import annotations

import hashlib
from pathlib import Path

import requests

from akrida import paths
from akrida.catalog import KNOWN_NETWORKS
from akrida.controllers.base import TargetUnreachable
from akrida.parsers import genesis_problem

GENESIS_DIR = paths.STATE_DIR / "genesis"


def genesis_url(network: str) -> str:
    return KNOWN_NETWORKS.get(network, network)


def genesis_file(network: str, folder: Path = GENESIS_DIR, timeout: float = 30.0) -> Path:
    """The genesis file of `network` (a known name or a URL), fetched on first use."""
    url = genesis_url(network)
    name = network if network in KNOWN_NETWORKS else "url-" + hashlib.sha256(url.encode()).hexdigest()[:16]
    path = folder / f"{name}.txn"
    if path.is_file():
        return path
    try:
        response = requests.get(url, timeout=timeout)
        response.raise_for_status()
    except requests.RequestException as error:
        raise TargetUnreachable(
            f"LEDGER_NETWORK={network}: its genesis file could not be fetched from {url} ({type(error).__name__}); "
            "download it yourself and set LEDGER_GENESIS_FILE instead"
        ) from None
    check_genesis(response.text, f"LEDGER_NETWORK={network} ({url})")
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(response.text)
    partial.replace(path)
    return path


def check_genesis(text: str, source: str) -> None:
    """Genesis files hold one JSON transaction per line, each with a `txn`."""
    problem = genesis_problem(text)
    if problem:
        raise TargetUnreachable(f"{source} did not give a genesis file (one JSON transaction per line): {problem}")
