"""The checks of akrida's code that runs inside Locust, each in a process where Locust comes first.

Importing Locust patches the standard library with gevent. In a Locust process that happens before
anything else; in this test session other modules imported ssl long before, so patching now would
break it. The checks therefore run in a pytest process of their own, and fail here when they fail.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

CHECKS = sorted((ROOT / "tests" / "locust_side").glob("checks_*.py"))


@pytest.mark.parametrize("checks", CHECKS, ids=[path.stem for path in CHECKS])
def test_locust_side(checks):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(checks.relative_to(ROOT))],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout.splitlines()[-1] and "failed" not in result.stdout.splitlines()[-1]
