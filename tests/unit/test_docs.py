"""What the docs name exists: every setting they spell is a setting, every `make` target and `akrida`
command they tell a reader to type is one. (Figures are checked by hand against bench output.)"""

from __future__ import annotations

import re
import subprocess
import sys

from akrida.settings import SETTINGS
from tests.conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / ".env.example",
         ROOT / "agent" / "PROTOCOL.md", ROOT / "infra" / "aws" / "README.md"]  # fmt: skip
# Variables the docs name that are not Akrida settings: the agent's own, the native libraries', the
# cloud's, and placeholders.
OTHER_VARIABLES = {
    "AKRIDA_AGENT_ALLOWED_HOSTS", "AKRIDA_AGENT_LOG_LEVEL", "AKRIDA_AGENT_LOOPBACK_ONLY", "AKRIDA_AGENT_SCRIPT",
    "AKRIDA_AGENT_TIMEOUT_MS", "AKRIDA_DRIVER_PID", "AKRIDA_MOTO_PYTHON", "AKRIDA_LOCAL_STATE_DIR", "AKRIDA_HOST_NAME",
    "AKRIDA_RUN_DIR",
    "AKRIDA_TEST_STATE_DIR", "AKRIDA_TEST_BASE_PORT", "LIB_ANONCREDS_PATH", "LIB_ARIES_ASKAR_PATH", "LIB_INDY_VDR_PATH",
    "AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_SECRET_ACCESS_KEY", "CAP_NET_ADMIN", "CAP_SYS_PTRACE",
    "CHECKPOINT_DISABLE", "PYTEST_ARGS", "NAME", "ARGS", "NODE_OPTIONS",
}  # fmt: skip
# Settings of the scenario files' own: those examples/ declare, and the docs' sample file's.
SCENARIO_SETTINGS = {
    *re.findall(r'setting\(\s*"([A-Z][A-Z0-9_]+)"', "".join(p.read_text() for p in (ROOT / "examples").glob("*.py"))),
    "NAP_TIME",
}


def code_of(text: str) -> str:
    """The parts of a Markdown page a reader types: inline code and indented or fenced blocks."""
    spans = re.findall(r"`([^`\n]+)`", text)
    blocks = re.findall(r"^(?: {4}|\t)(.*)$", text, re.MULTILINE)
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    return "\n".join([*spans, *blocks, *fenced])


def test_every_variable_the_docs_name_is_a_setting_or_named_as_another_kind():
    settings = {setting.env for setting in SETTINGS}
    for page in PAGES:
        for name in re.findall(r"`([A-Z][A-Z0-9_]{2,})(?:=[^`]*)?`", page.read_text()):
            where = page.relative_to(ROOT)
            assert name in settings or name in OTHER_VARIABLES | SCENARIO_SETTINGS, (
                f"{where} names {name}: no such setting"
            )


def test_every_make_target_and_akrida_command_the_docs_show_exists():
    targets = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    help_text = subprocess.run([sys.executable, "-m", "akrida.cli", "--help"], capture_output=True, text=True,
                               check=True, cwd=ROOT).stdout  # fmt: skip
    commands = set(re.findall(r"^    ([a-z]+)\s", help_text, re.MULTILINE))
    assert {"run", "check", "report", "local", "cluster"} <= commands
    for page in PAGES:
        code = code_of(page.read_text())
        for target in re.findall(r"(?:^|\s)make ([a-z][a-z-]+)", code):
            assert target in targets, f"{page.relative_to(ROOT)} shows `make {target}`: no such target"
        for command in re.findall(r"akrida ([a-z]+)", code):
            assert command in commands, f"{page.relative_to(ROOT)} shows `akrida {command}`: no such command"
