"""The open-files limit thousands of holders need: raised where it is ours, refused where it is not."""

from __future__ import annotations

import os
import resource
import subprocess
import sys

from akrida.agent.limits import check_open_files, open_files_needed


def test_dense_hosts_need_files_per_process_not_per_run():
    per_host, in_locust = open_files_needed(holders=10_000, holders_per_process=200)
    assert per_host == open_files_needed(200, 200)[0]  # each host holds its own 200 holders' files
    assert in_locust < per_host * 2  # Locust holds only three pipes per host


def test_a_limit_below_one_hosts_needs_names_the_setting_and_the_fix():
    problem = check_open_files(1000, 1000, hard_limit=4096)
    assert problem and "HOLDERS_PER_PROCESS=1000" in problem and "ulimit -Hn) is 4096" in problem
    assert check_open_files(1000, 200, hard_limit=4096) is None  # smaller hosts fit


def test_process_per_holder_runs_out_in_locust_first():
    problem = check_open_files(2000, 1, hard_limit=4096)
    assert problem and "2000 holders in one Locust process" in problem and "raise HOLDERS_PER_PROCESS" in problem


def test_the_embedded_mediator_is_counted_when_it_runs_here():
    assert check_open_files(5000, 200, embedded_mediator=False, hard_limit=7000) is None
    problem = check_open_files(5000, 200, embedded_mediator=True, hard_limit=7000)
    assert problem and "USERS=5000 against the embedded mediator needs about 8012 open files" in problem
    # This machine's hard limit (20,000) carries the README's USERS=10000 with its mediator beside it.
    assert check_open_files(10_000, 200, embedded_mediator=True, hard_limit=20_000) is None


def test_raising_sets_the_soft_limit_to_the_hard_one_and_children_inherit_it():
    code = (
        "import resource, subprocess;"
        "from akrida.agent.limits import raise_open_files_limit;"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, resource.getrlimit(resource.RLIMIT_NOFILE)[1]));"
        "limit = raise_open_files_limit();"
        "child = subprocess.run(['sh', '-c', 'ulimit -Sn'], capture_output=True, text=True).stdout.strip();"
        "print(limit.soft, limit.hard, child)"
    )
    soft, hard, child = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert soft == hard and child in (hard, "unlimited")


def test_a_run_beyond_the_hard_limit_is_refused_before_anything_starts(tmp_path):
    def low_hard_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 4096))

    result = subprocess.run(
        [sys.executable, "-m", "akrida.cli", "--env-file", "/dev/null", "run"],
        env={**os.environ, "USERS": "1000", "HOLDERS_PER_PROCESS": "1000", "RESULTS_DIR": str(tmp_path / "results")},
        capture_output=True, text=True, timeout=60, preexec_fn=low_hard_limit,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "HOLDERS_PER_PROCESS=1000 needs about 8064 open files per agent process" in result.stderr
    assert "hard limit (ulimit -Hn) is 4096" in result.stderr
    assert not (tmp_path / "results").exists(), "nothing should start"
