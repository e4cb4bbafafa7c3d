"""The run lifecycle with a fake executor: every step's order, every exit code, in seconds.

The executor is fake (it writes the CSV files Locust would write) because this tests the lifecycle,
not Locust; the real executors are exercised by tests/integration and tests/cluster. The preflight is
also replaced, except in the unreachable-target test, which checks a real closed port on loopback.
"""

from __future__ import annotations

import csv
import json
import os
import signal
from pathlib import Path

import pytest

from akrida import cli
from akrida.cluster.errors import ClusterError
from akrida.controllers import TargetUnreachable
from akrida.execute import Execution, locust_command
from akrida.execute.local import LocalExecutor
from akrida.exits import ExitCode, for_error
from akrida.invitation import InvitationError
from akrida.lifecycle import Run
from akrida.local.errors import LocalTargetError
from akrida.preflight import TargetCheck, check_target
from akrida.settings import Settings, SettingsError
from tests.unit.test_settings import invitation_url

STATS_HEADER = ["Type", "Name", "Request Count", "Failure Count", "Requests/s", "50%", "95%", "99%"]


class FakeExecutor:
    """Records the calls the lifecycle makes; writes a stats file as a Locust run would."""

    role = "generator"

    def __init__(self, rows=(("didcomm", "ping_mediator", 100, 0),), execution=None, raises=None, problems=()):
        self.rows = rows
        self.execution = execution or Execution(complete=True)
        self.raises = raises
        self.problems = list(problems)
        self.calls: list[str] = []
        self.during_collect = None  # called inside collect, e.g. to send a second signal

    def check(self, settings):
        self.calls.append("check")

    def target_host(self):
        self.calls.append("target_host")
        return None

    def describe(self, manifest):
        self.calls.append("describe")
        manifest.target["where"] = "fake"

    def execute(self, settings, run_dir, progress):
        self.calls.append("execute")
        with open(Path(run_dir) / "locust_stats.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(STATS_HEADER)
            for request_type, name, count, failures in self.rows:
                writer.writerow([request_type, name, count, failures, 1.0, 40, 90, 120])
        if callable(self.raises):
            self.raises()
        elif self.raises is not None:
            raise self.raises
        return self.execution

    def collect(self, run_dir, manifest, progress):
        self.calls.append("collect")
        if self.during_collect:
            self.during_collect()
        self.calls.append("collected")
        return self.problems


class Printed:
    def __init__(self):
        self.lines: list[str] = []

    def __call__(self, *parts, file=None):
        self.lines.append(" ".join(str(part) for part in parts))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def passed_check(settings, probe_dir=None):
    return TargetCheck(lines=["mediator answers (fake)"], target={"mediator": "fake"})


def settings_for(tmp_path, **overrides) -> Settings:
    values = {
        "MEDIATION_URL": invitation_url("http://127.0.0.1:9"),  # configured, so no embedded target starts
        "RESULTS_DIR": str(tmp_path / "results"),
        "RUN_TIME": "10s",
        **overrides,
    }
    return Settings.from_mapping(values)


def run(tmp_path, executor, check=passed_check, **overrides):
    printed = Printed()
    result = Run(settings_for(tmp_path, **overrides), executor, printed, check=check).run()
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    return result, manifest, printed


def test_a_clean_run_takes_every_step_in_order_and_exits_0(tmp_path):
    executor = FakeExecutor()
    result, manifest, printed = run(tmp_path, executor)
    assert executor.calls == ["check", "describe", "execute", "collect", "collected"]
    assert result.exit_code is ExitCode.OK
    assert (manifest["status"], manifest["exit_code"], manifest["verdict"]) == ("complete", 0, "PASS")
    assert manifest["target"] == {"where": "fake", "mediator": "fake"}
    assert (result.run_dir / "summary.md").is_file() and (result.run_dir / "summary.html").is_file()
    assert "check: mediator answers (fake)" in printed.lines


@pytest.mark.parametrize(
    ("rows", "expected", "target", "harness"),
    [
        ((("didcomm", "ping_mediator", 100, 3),), ExitCode.FAILURES, 3, 0),
        ((("didcomm", "ping_mediator", 100, 0), ("harness", "startup", 5, 2)), ExitCode.FAILURES, 0, 2),
    ],
    ids=["target-failures", "harness-failures"],
)
def test_failed_requests_exit_1_and_are_counted_on_their_side(tmp_path, rows, expected, target, harness):
    result, manifest, _ = run(tmp_path, FakeExecutor(rows=rows))
    assert (result.exit_code, result.target_failures, result.harness_failures) == (expected, target, harness)
    assert manifest["exit_code"] == 1 and manifest["verdict"] == "FAIL"


def test_a_breached_gate_exits_4(tmp_path):
    result, manifest, _ = run(tmp_path, FakeExecutor(), SLO="p95(ping_mediator) < 50ms")
    assert result.exit_code is ExitCode.GATES_BREACHED
    # The fake executor writes no timeline: Locust's figures, over the whole run, and the manifest says so.
    assert manifest["gates"] == [{
        "gate": "p95(ping_mediator) < 50ms", "measured": 90.0, "passed": False, "note": "",
        "where": "over the whole run, ramp included, with Locust's latency of all requests (no timeline was written)",
    }]  # fmt: skip


def test_gates_decide_when_there_are_some(tmp_path):
    # 1 failure in 100 is within the gate, so the run passes although a request failed.
    executor = FakeExecutor(rows=(("didcomm", "ping_mediator", 100, 1),))
    result, _, _ = run(tmp_path, executor, SLO="fail_ratio < 0.05; p95(ping_mediator) < 500ms")
    assert result.exit_code is ExitCode.OK


def test_bad_settings_start_nothing_and_write_nothing(tmp_path):
    class Refusing(FakeExecutor):
        def check(self, settings):
            raise SettingsError(["USERS=5000 cannot fit: lower USERS"])

    executor = Refusing()
    with pytest.raises(SettingsError):
        Run(settings_for(tmp_path), executor, Printed(), check=passed_check).run()
    assert executor.calls == []
    assert not (tmp_path / "results").exists()


def test_an_unreachable_target_exits_3_before_any_load(tmp_path):
    executor = FakeExecutor()
    # The real preflight, against a port on loopback where nothing listens.
    result, manifest, printed = run(tmp_path, executor, check=check_target)
    assert result.exit_code is ExitCode.TARGET_UNREACHABLE
    assert "execute" not in executor.calls and "collected" in executor.calls
    assert manifest["status"] == "incomplete" and manifest["exit_code"] == 3
    assert "target check failed" in printed.text and "127.0.0.1:9" in printed.text


def test_a_cluster_failure_during_the_load_exits_1_and_still_collects(tmp_path):
    executor = FakeExecutor(raises=ClusterError("worker-1 stopped answering"))
    result, manifest, printed = run(tmp_path, executor)
    assert result.exit_code is ExitCode.FAILURES
    assert executor.calls[-2:] == ["collect", "collected"]
    assert manifest["status"] == "incomplete" and manifest["verdict"].startswith("INCOMPLETE")
    assert "akrida: cluster: worker-1 stopped answering" in printed.lines


def test_a_crashed_locust_exits_1_even_without_failed_requests(tmp_path):
    executor = FakeExecutor(execution=Execution(complete=False, code=ExitCode.FAILURES))
    result, manifest, _ = run(tmp_path, executor)
    assert result.exit_code is ExitCode.FAILURES and manifest["status"] == "incomplete"


def test_files_lost_in_collection_make_a_clean_run_exit_1(tmp_path):
    executor = FakeExecutor(problems=["host worker-2: its files were not fetched: timed out"])
    result, _, printed = run(tmp_path, executor)
    assert result.exit_code is ExitCode.FAILURES
    assert "akrida: host worker-2: its files were not fetched: timed out" in printed.lines


def test_ctrl_c_exits_130_with_a_bundle_marked_incomplete(tmp_path):
    result, manifest, _ = run(tmp_path, FakeExecutor(raises=KeyboardInterrupt()))
    assert result.exit_code is ExitCode.INTERRUPTED
    assert (manifest["status"], manifest["exit_code"]) == ("incomplete", 130)
    assert (result.run_dir / "summary.md").is_file()


def test_sigterm_ends_the_run_like_ctrl_c_and_a_second_one_does_not_cut_the_clean_up(tmp_path):
    executor = FakeExecutor(raises=lambda: os.kill(os.getpid(), signal.SIGTERM))
    executor.during_collect = lambda: os.kill(os.getpid(), signal.SIGTERM)
    handler_before = signal.getsignal(signal.SIGTERM)
    result, manifest, printed = run(tmp_path, executor)
    assert result.exit_code is ExitCode.INTERRUPTED
    assert executor.calls[-2:] == ["collect", "collected"]  # the second SIGTERM did not stop the clean-up
    assert "SIGTERM again" in printed.text
    assert manifest["exit_code"] == 130 and (result.run_dir / "summary.md").is_file()
    assert signal.getsignal(signal.SIGTERM) is handler_before


def test_a_bug_still_leaves_a_finished_bundle_and_shows_its_traceback(tmp_path):
    executor = FakeExecutor(raises=ZeroDivisionError("a bug"))
    with pytest.raises(ZeroDivisionError):
        Run(settings_for(tmp_path), executor, Printed(), check=passed_check).run()
    (run_dir,) = (tmp_path / "results").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "incomplete" and (run_dir / "summary.md").is_file()
    assert "collected" in executor.calls


@pytest.mark.parametrize(
    ("error", "code", "words"),
    [
        (SettingsError(["USERS='x': expected an integer"]), ExitCode.BAD_SETTINGS, "USERS='x'"),
        (TargetUnreachable("mediator at ws://127.0.0.1:9 refused"), ExitCode.TARGET_UNREACHABLE, "target check"),
        (InvitationError("no services"), ExitCode.TARGET_UNREACHABLE, "target check failed: no services"),
        (LocalTargetError("PostgreSQL did not start"), ExitCode.TARGET_UNREACHABLE, "embedded target: PostgreSQL"),
        (ClusterError("no cluster"), ExitCode.FAILURES, "cluster: no cluster"),
        (KeyboardInterrupt(), ExitCode.INTERRUPTED, "interrupted"),
    ],
)
def test_every_known_failure_has_one_exit_code_and_a_message(error, code, words):
    mapped = for_error(error)
    assert mapped is not None
    assert mapped[0] is code and words in mapped[1] and mapped[1].startswith("akrida: ")


def test_a_bug_has_no_exit_code_of_its_own():
    assert for_error(ZeroDivisionError()) is None


def test_the_cli_exits_2_naming_the_setting(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("USERS", "many")
    assert cli.main(["check"]) == ExitCode.BAD_SETTINGS
    error = capsys.readouterr().err
    assert "USERS='many'" in error and "Traceback" not in error


def test_a_signal_during_the_clean_up_of_a_finished_run_is_acknowledged_not_obeyed(tmp_path):
    executor = FakeExecutor()
    executor.during_collect = lambda: os.kill(os.getpid(), signal.SIGINT)
    result, manifest, printed = run(tmp_path, executor)
    assert executor.calls[-2:] == ["collect", "collected"]
    assert "SIGINT again" in printed.text
    assert result.exit_code is ExitCode.OK and manifest["status"] == "complete"


def test_a_second_ctrl_c_while_the_executor_stops_the_load_does_not_abandon_it(tmp_path):
    class StoppingGracefully(FakeExecutor):
        """As the local executor does: on Ctrl-C it stops Locust and waits for its files."""

        def execute(self, settings, run_dir, progress):
            try:
                os.kill(os.getpid(), signal.SIGINT)
            except KeyboardInterrupt:
                os.kill(os.getpid(), signal.SIGINT)  # impatient user: a second Ctrl-C while Locust stops
                self.calls.append("stopped the load")
                return Execution(complete=False, code=ExitCode.INTERRUPTED)
            raise AssertionError("the first Ctrl-C did not interrupt the load")

    executor = StoppingGracefully()
    result, _, printed = run(tmp_path, executor)
    assert "stopped the load" in executor.calls and "SIGINT again" in printed.text
    assert result.exit_code is ExitCode.INTERRUPTED


@pytest.mark.parametrize("shape", ["a file", "inside a file"])
def test_a_results_dir_that_cannot_hold_runs_is_a_setting_to_fix(tmp_path, shape):
    # (Read-only folders are not tried: the CI runs as root, for whom none is.)
    (tmp_path / "results").write_text("not a folder")
    results = tmp_path / "results" if shape == "a file" else tmp_path / "results" / "runs"
    executor = FakeExecutor()
    with pytest.raises(SettingsError, match=r"RESULTS_DIR=.*cannot make the run folder there"):
        Run(settings_for(tmp_path, RESULTS_DIR=str(results)), executor, Printed(), check=passed_check).run()
    assert executor.calls == ["check"]


def test_a_locust_that_crashes_is_a_failed_run_whatever_its_exit_code(tmp_path, monkeypatch):
    # A real Locust process, crashed as the probe crashed it: a run time its own parser overflows on
    # (settings refuse such a RUN_TIME now, so it is handed to Locust directly). Locust exits 1, the
    # code it also gives when requests failed; only the missing exit file tells a crash apart.
    monkeypatch.setattr(locust_command, "load_options", lambda _settings: ["-u", "1", "-t", "99999999999999999999999h"])
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    printed = Printed()
    execution = LocalExecutor().execute(settings_for(tmp_path), run_dir, printed)
    assert (execution.complete, execution.code) == (False, ExitCode.FAILURES)
    assert "Locust crashed (exit code 1)" in printed.text


def test_the_manifest_of_a_run_ended_by_a_bug_records_exit_1(tmp_path):
    with pytest.raises(ZeroDivisionError):
        executor = FakeExecutor(raises=ZeroDivisionError("a bug"))
        Run(settings_for(tmp_path), executor, Printed(), check=passed_check).run()
    (run_dir,) = (tmp_path / "results").iterdir()
    assert json.loads((run_dir / "manifest.json").read_text())["exit_code"] == 1
