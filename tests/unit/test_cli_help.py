"""Every command's --help says what it does, its exit codes and where its docs are (and they exist)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

COMMANDS = ["run", "check", "report", "compare", "plan", "scenarios", "settings", "local", "target", "cluster"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_a_description_exit_codes_and_docs_that_exist(command):
    result = subprocess.run(
        [sys.executable, "-m", "akrida.cli", command, "--help"], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    text = result.stdout
    _usage, _blank, rest = text.partition("\n\n")
    assert rest and not rest.startswith("positional") and not rest.startswith("options"), text  # a description
    codes = re.search(r"^exit codes: (.+)$", text, re.MULTILINE)
    assert codes and re.match(r"0\b", codes[1]), text
    docs = re.search(r"^docs: (.+)$", text, re.MULTILINE)
    assert docs, text
    for page in docs[1].split(", "):
        assert (ROOT / page.split("#")[0]).is_file(), f"{command} --help points to {page}, which does not exist"
