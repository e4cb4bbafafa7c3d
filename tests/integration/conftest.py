"""A real embedded target (ACA-Py mediator and issuer on PostgreSQL) shared by the integration tests."""

from __future__ import annotations

import os

import pytest

from akrida import paths
from akrida.controllers import AcapyAdmin
from akrida.local.stack import LocalTarget, TargetInfo

# Apart from the default 8100 so a target the user keeps running is never disturbed.
TEST_BASE_PORT = int(os.environ.get("AKRIDA_TEST_BASE_PORT") or 8300)


@pytest.fixture(scope="session")
def target() -> TargetInfo:
    local = LocalTarget("127.0.0.1", TEST_BASE_PORT)
    local.down(progress=lambda _message: None)  # leftovers of an aborted session
    info = local.up(paths.LOCAL_STATE_DIR / "logs", progress=lambda _message: None)
    yield info
    local.down(progress=lambda _message: None)


@pytest.fixture(scope="session")
def issuer(target: TargetInfo) -> AcapyAdmin:
    return AcapyAdmin(target.issuer_admin_url, {"x-api-key": target.admin_api_key})
