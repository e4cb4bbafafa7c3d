"""The local Indy ledger: `akrida local up --ledger` and `akrida target bootstrap`, as a user runs them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from akrida import paths
from tests.integration.helpers import akrida, describe

pytestmark = pytest.mark.integration

# Its own state and ports: apart from the session's embedded target.
LEDGER_SETTINGS = {"AKRIDA_LOCAL_STATE_DIR": str(paths.STATE_DIR / "test-ledger"), "LOCAL_BASE_PORT": "8500"}


def indy_nodes() -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and b"indy_wrapper.py" in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_ledger_up_bootstrap_and_down(tmp_path):
    up = akrida("local", "up", "--ledger", results=tmp_path, **LEDGER_SETTINGS)
    try:
        assert up.returncode == 0, describe(up)
        assert "Indy ledger genesis file:" in up.stdout
        status = json.loads(akrida("local", "status", results=tmp_path, **LEDGER_SETTINGS).stdout)
        assert status["running"] and status["genesis_file"]
        assert [name for name in status["processes"] if name.startswith("indy-node")] == [
            "indy-node1", "indy-node2", "indy-node3", "indy-node4"
        ]  # fmt: skip

        # AnonCreds: the issuer, trustee of the local ledger, writes a schema and a credential definition.
        indy = akrida("target", "bootstrap", "--format", "indy", results=tmp_path, **LEDGER_SETTINGS)
        assert indy.returncode == 0, describe(indy)
        assert re.search(r"^SCHEMA_ID=\w+:2:akrida:[\d.]+$", indy.stdout, re.MULTILINE), indy.stdout
        assert re.search(r"^CRED_DEF_ID=\w+:3:CL:\d+:akrida$", indy.stdout, re.MULTILINE), indy.stdout

        # JSON-LD needs no ledger: the issuer's did:key.
        jsonld = akrida("target", "bootstrap", results=tmp_path, **LEDGER_SETTINGS)
        assert jsonld.returncode == 0, describe(jsonld)
        assert re.fullmatch(r"ISSUER_DID=did:key:z6Mk\w+\n", jsonld.stdout)
    finally:
        down = akrida("local", "down", results=tmp_path, **LEDGER_SETTINGS)
    assert down.returncode == 0, describe(down)
    assert "stopping the local Indy ledger" in down.stdout
    assert not indy_nodes(), "an Indy node outlived `akrida local down`"


def test_bootstrap_without_a_target_says_what_to_do(tmp_path):
    result = akrida("target", "bootstrap", results=tmp_path, AKRIDA_LOCAL_STATE_DIR=str(tmp_path / "none"))
    assert result.returncode == 3
    assert "`akrida local up` first" in result.stderr
