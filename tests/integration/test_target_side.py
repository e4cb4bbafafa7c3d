"""The target's side of a real run, and a real limit search, against the real embedded target."""

from __future__ import annotations

import json

import psutil
import pytest

from akrida.local.stack import mediator_connections
from akrida.report.limit import read_limit
from akrida.target.samples import read_samples
from tests.integration.helpers import akrida, describe, only_run_dir, steps_by_key

pytestmark = pytest.mark.integration


def test_a_run_samples_the_mediator_postgresql_and_the_probe_and_its_summary_shows_them(target, tmp_path):
    result = akrida("run", results=tmp_path, SCENARIO="mediator_ping", USERS="4", SPAWN_RATE="4", RUN_TIME="20s",
                    WAIT_MIN="0.2", WAIT_MAX="0.5")  # fmt: skip
    run_dir = only_run_dir(tmp_path)
    assert result.returncode == 0, describe(result, run_dir)
    record = read_samples(run_dir)
    assert record is not None
    mediator_pid = target.pids["mediator"]
    assert record.sources["mediator"].pid == mediator_pid and not record.sources["mediator"].problem
    # About one sample a second for the whole run, from each source.
    cpu = record.get("mediator", "cpu_cores")
    assert len(cpu) >= 15, len(cpu)
    # The mediator worked: its CPU rose above idle while holders pinged it, and its main thread is part of it.
    assert max(value for _t, value in cpu) > 0.02
    main = dict(record.get("mediator", "main_thread_cpu_cores"))
    assert all(main[stamp] <= whole + 1e-6 for stamp, whole in cpu)
    # Its memory is what the kernel says of that process now, within 20 %.
    rss = record.get("mediator", "rss_bytes")[-1][1]
    assert abs(rss - psutil.Process(mediator_pid).memory_info().rss) < 0.2 * rss
    # PostgreSQL's own statistics: the private cluster's max_connections, the mediator's pool, its writes.
    assert {value for _t, value in record.get("postgres", "pg_max_connections")} == {300}
    connections = sum(value for metric in record.metrics_of("postgres") if metric.startswith("pg_connections:")
                      for _t, value in record.get("postgres", metric))  # fmt: skip
    assert connections > 0
    assert max(value for _t, value in record.get("postgres", "pg_transactions_per_s")) > 0
    probe = [value for _t, value in record.get("mediator admin API", "live_probe_ms")]
    assert len(probe) >= 15 and 0 < max(probe) < 2000
    summary = (run_dir / "summary.md").read_text()
    assert "## The target's side" in summary and f"mediator (ACA-Py, pid {mediator_pid}): CPU median" in summary
    assert "## Where it broke" in summary and "Held all 4 holders with no failure of the target" in summary
    assert (run_dir / "target.png").stat().st_size > 10_000
    assert "target: sampling" in result.stdout


def test_a_limit_search_holds_a_step_breaks_the_next_names_it_and_exits_0(target, tmp_path):
    # A criterion this short run can break on purpose: the mediator's ping rate. Three holders pinging
    # every 0.2-0.4 s stay under 11 a second; six do not.
    # The mediator is profiled over the last 5 s of each step, so the step that broke has its profile.
    result = akrida("run", results=tmp_path, SCENARIO="mediator_ping", USERS="9", SPAWN_RATE="3", RUN_TIME="3m",
                    WAIT_MIN="0.2", WAIT_MAX="0.4", FIND_LIMIT="3/10s", SLO="rps(ping_mediator) < 11",
                    TARGET_PROFILE="1", TARGET_PROFILE_SECONDS="5")  # fmt: skip
    run_dir = only_run_dir(tmp_path)
    assert result.returncode == 0, describe(result, run_dir)
    record = read_limit(run_dir)
    assert record is not None, describe(result, run_dir)
    assert [(step.holders, step.verdict) for step in record.steps] == [(3, "held"), (6, "broke")], record.lines()
    assert record.broken.kind == "holding" and "rps(ping_mediator) < 11" in record.broken.reasons[0]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["limit"]["last_held_holders"] == 3 and manifest["limit"]["first_broken_holders"] == 6
    assert manifest["exit_code"] == 0 and manifest["verdict"].startswith("LIMIT FOUND (holding): 3 holders held")
    assert "search: hold limit: 3 holders held within the criterion; 6 did not" in result.stdout
    assert "why, at 6 holders live" in result.stdout
    assert "searching for the limit: 3 more holders a step" in result.stdout
    profiles = sorted(path.name for path in (run_dir / "target" / "profiles").glob("*.svg"))
    assert profiles == ["step-1-issuer.svg", "step-1-mediator.svg", "step-2-issuer.svg", "step-2-mediator.svg"]
    assert (
        "profile of mediator (5 s around it): " in result.stdout
        and "## The target's profile" in (run_dir / "summary.md").read_text()
    )


def test_preload_leaves_its_holders_connections_at_the_mediator_before_the_load(target, tmp_path):
    before = mediator_connections(target)
    result = akrida("run", results=tmp_path, SCENARIO="mediator_ping", USERS="2", SPAWN_RATE="2", RUN_TIME="10s",
                    PRELOAD="6")  # fmt: skip
    run_dir = only_run_dir(tmp_path)
    assert result.returncode == 0, describe(result, run_dir)
    assert "preload: 6 of 6 holders took mediation and left" in result.stdout
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["target"]["preloaded_holders"] == 6
    # Counted by the mediator itself, after the preload and before the load's own holders.
    assert manifest["target"]["mediator_connections_before_load"] == before + 6
    assert mediator_connections(target) == before + 6 + 2
    # Preloaded holders are not measured: the run's statistics hold only its own two starts.
    assert steps_by_key(run_dir)[("didcomm", "startup")].count == 2


def test_kept_wallets_return_next_run_with_their_mediation_and_sign_up_nothing_new(target, tmp_path):
    wallets = tmp_path / "wallets"
    settings = {"SCENARIO": "mediator_ping", "USERS": "3", "SPAWN_RATE": "3", "RUN_TIME": "8s",
                "HOLDER_WALLETS": "keep", "WALLETS_DIR": str(wallets)}  # fmt: skip
    first = akrida("run", results=tmp_path / "first", **settings)
    first_dir = only_run_dir(tmp_path / "first")
    assert first.returncode == 0, describe(first, first_dir)
    steps = steps_by_key(first_dir)
    assert steps[("didcomm", "startup")].count == 3 and ("didcomm", "reconnect") not in steps
    held = mediator_connections(target)

    second = akrida("run", results=tmp_path / "second", **settings)
    second_dir = only_run_dir(tmp_path / "second")
    assert second.returncode == 0, describe(second, second_dir)
    steps = steps_by_key(second_dir)
    # The same three holders came back: no sign-up, no new connection at the mediator, and their
    # pings still reach it through the mediation they took last run.
    assert steps[("didcomm", "reconnect")].count == 3 and ("didcomm", "startup") not in steps
    assert mediator_connections(target) == held
    assert steps[("didcomm", "ping_mediator")].count > 0 and steps[("didcomm", "ping_mediator")].failures == 0
    wallet_files = sorted(wallets.rglob("wallet.json"))
    assert len(wallet_files) == 3 and all(path.stat().st_mode & 0o077 == 0 for path in wallet_files)


def test_kept_wallets_with_a_target_made_for_one_run_are_refused_before_anything_starts(tmp_path):
    result = akrida("run", results=tmp_path, HOLDER_WALLETS="keep", AKRIDA_LOCAL_STATE_DIR=str(tmp_path / "state"),
                    LOCAL_BASE_PORT="9950")  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert "HOLDER_WALLETS=keep needs a mediator that outlives the run" in result.stderr
    assert "akrida local up" in result.stderr and not (tmp_path / "state").exists()
