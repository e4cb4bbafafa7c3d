"""Cloud metadata addresses as a target are refused by the settings, read from the URL alone (no lookup,
no connection), unless EGRESS_ALLOW names them."""

from __future__ import annotations

import pytest

from akrida.cloud_metadata import metadata_host
from akrida.settings import Settings, SettingsError
from tests.integration.helpers import invitation_to


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://169.254.169.254.:80/", "169.254.169.254"),
        ("http://0xa9fea9fe/", "0xa9fea9fe"),
        ("http://169.254.43518/", "169.254.43518"),
        ("http://[fd00:ec2::254]/", "fd00:ec2::254"),
        ("http://[::ffff:169.254.169.254]/", "::ffff:169.254.169.254"),
        ("https://METADATA.google.internal/", "metadata.google.internal"),
        ("http://169.254.170.2/v2/credentials", "169.254.170.2"),
    ],
)
def test_metadata_addresses_in_every_spelling_are_recognised(url, host):
    assert metadata_host(url) == host


@pytest.mark.parametrize("url", ["http://127.0.0.1:8031", "https://issuer.example.org/", "http://169.254.1.1/", ""])
def test_other_addresses_are_not(url):
    assert metadata_host(url) is None


def test_a_mediation_url_at_a_metadata_address_is_refused_naming_it():
    with pytest.raises(SettingsError) as refused:
        Settings.from_mapping({"MEDIATION_URL": invitation_to("http://[fd00:ec2::254]/")})
    assert "MEDIATION_URL points at fd00:ec2::254, a cloud metadata service" in str(refused.value)


def test_egress_allow_naming_the_address_lets_it_through():
    settings = Settings.from_mapping({"ISSUER_URL": "http://169.254.169.254/", "EGRESS_ALLOW": "169.254.169.254"})
    assert settings.issuer_url.rstrip("/") == "http://169.254.169.254"
    with pytest.raises(SettingsError):
        Settings.from_mapping({"ISSUER_URL": "http://169.254.169.254/", "EGRESS_ALLOW": "*"})  # naming it, not *
