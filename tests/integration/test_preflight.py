"""The checks before load against a target the user brings: its mediator takes real probe holders.

The embedded target stands in for the user's: its multi-use invitation, a single-use one made by its
mediator's admin API, and the mediator's admin API given as the issuer's.
"""

from __future__ import annotations

from akrida.controllers import AcapyAdmin
from tests.integration.helpers import akrida


def check(tmp_path, **settings: str):
    result = akrida("check", results=tmp_path / "results", timeout=180, **settings)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_a_multi_use_invitation_lets_two_probe_holders_take_mediation(target, tmp_path):
    result = check(tmp_path, SCENARIO="mediator_ping", USERS="5", MEDIATION_URL=target.mediation_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "check: mediation granted to 2 probe holder(s) through MEDIATION_URL" in result.stdout


def test_a_single_use_invitation_is_refused_before_load_naming_mediation_url(target, tmp_path):
    mediator = AcapyAdmin(target.mediator_admin_url, {"x-api-key": target.admin_api_key}, setting="MEDIATION_URL")
    single_use = mediator.create_invitation(multi_use=False, alias="akrida test: single use").url
    result = check(tmp_path, SCENARIO="mediator_ping", USERS="5", MEDIATION_URL=single_use, AGENT_TIMEOUT="15")
    assert result.returncode == 2, result.stdout + result.stderr
    refusal = "akrida: invalid settings:\n  - MEDIATION_URL lets one holder in and no one after it"
    assert result.stderr.startswith(refusal), result.stderr
    assert "multi_use=true" in result.stderr


def test_the_mediators_admin_api_given_as_the_issuer_is_refused_naming_issuer_url(target, tmp_path):
    result = check(
        tmp_path,
        SCENARIO="issue",
        USERS="1",
        MEDIATION_URL=target.mediation_url,
        ISSUER_URL=target.mediator_admin_url,
        ISSUER_API_KEY=target.admin_api_key,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    refusal = f"akrida: invalid settings:\n  - ISSUER_URL={target.mediator_admin_url} is the admin API of the mediator"
    assert result.stderr.startswith(refusal), result.stderr
    assert target.admin_api_key not in result.stdout + result.stderr


def test_a_pickup_strategy_the_mediator_does_not_speak_is_refused_naming_both(target, tmp_path):
    # ACA-Py 1.7 has no message pickup protocol: asked through discover-features, it discloses none.
    result = check(tmp_path, SCENARIO="mediator_message", USERS="2", MEDIATION_URL=target.mediation_url,
                   ISSUER_URL=target.issuer_admin_url, ISSUER_API_KEY=target.admin_api_key,
                   PICKUP_STRATEGY="pickup_v2")  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert (
        "PICKUP_STRATEGY=pickup_v2 needs the mediator to speak https://didcomm.org/messagepickup/2.0, and it "
        "discloses these pickup protocols: none"
    ) in result.stderr


def test_the_mediator_discloses_its_protocols_to_a_holder(target, tmp_path):
    from akrida.agent import AgentConfig, HostPool, StartOptions

    pool = HostPool(AgentConfig(timeout=30, log_dir=tmp_path), holders_per_process=1)
    try:
        holder = pool.open()
        holder.start(StartOptions(mediator_invitation_url=target.mediation_url))
        everything = holder.discover_features().protocols
        pings = holder.discover_features("https://didcomm.org/trust_ping/*").protocols
    finally:
        pool.close_all(timeout=10)
    assert "https://didcomm.org/coordinate-mediation/1.0" in everything
    assert pings == ["https://didcomm.org/trust_ping/1.0"]
