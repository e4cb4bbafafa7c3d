"""Bad cluster settings stop `make provision` with a clear message before Terraform runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cluster.conftest import lab_environment, make


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (["CLOUD=gcp"], "CLOUD='gcp': expected one of lab, aws"),
        (["WORKERS=0"], "WORKERS='0': expected a whole number from 1 to 200"),
        (["CLOUD=aws", "TARGET_CIDR=198.51.100.0/24"], "OPERATOR_CIDR is not set"),
        (["CLOUD=aws", "OPERATOR_CIDR=0.0.0.0/0", "TARGET_CIDR=198.51.100.0/24"], "OPERATOR_CIDR=0.0.0.0/0 opens"),
        (["CLOUD=aws", "OPERATOR_CIDR=203.0.113.7/32"], "TARGET_CIDR is not set"),
        (["OPERATOR_CIDR=not-a-network"], "OPERATOR_CIDR='not-a-network': expected a network in CIDR notation"),
    ],
)
def test_bad_settings_fail_before_terraform(settings: list[str], expected: str, tmp_path: Path):
    environment = lab_environment("bad-input", "akbad", "10.209.0.0/24", 8700, tmp_path)
    environment["CLOUD"] = ""  # let the make command line decide
    state = Path(environment["AKRIDA_CLUSTER_STATE_DIR"])
    result = make("provision", environment, *settings, timeout=300)
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stderr
    assert not state.exists(), "nothing may be made before the settings are known to be good"
