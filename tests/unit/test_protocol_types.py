"""The agent's TypeScript types come from agent/protocol.schema.json (scripts/protocol_types.py); the
generated file is committed, so a build needs no Python, and these tests keep it in step with the schema."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "protocol_types.py"


def load_generator():
    spec = importlib.util.spec_from_file_location("protocol_types", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = load_generator()


def test_the_committed_types_are_what_the_schema_gives():
    checked = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr


def test_each_command_has_its_arguments_and_result_types():
    types = GENERATOR.render(json.loads((ROOT / "agent" / "protocol.schema.json").read_text()))
    assert "export interface ReceiveInvitationArguments {\n  invitationUrl: string\n}" in types
    assert "export interface GoOfflineResult {\n  closedSockets: number\n}" in types
    assert "  reconnectMs: number | null\n" in types  # a nullable field: not an optional one
    assert "  connectionId?: string\n" in types  # an argument the schema does not require
    assert "export type ShutdownResult = 'ok'\n" in types
    # A command without arguments has no field to read: `{}` would let any name through.
    assert "export type StatusArguments = Record<never, never>\n" in types


def test_a_keyword_the_generator_does_not_know_stops_it():
    schema = {"envelope": {"type": "object"}, "reply": {"type": "object"}, "commands": {
        "go": {"arguments": {"type": "object", "properties": {"to": {"oneOf": [{"type": "string"}]}}}, "result": True},
    }}  # fmt: skip
    with pytest.raises(GENERATOR.UnsupportedSchema, match=r"go\.arguments\.to: oneOf not understood"):
        GENERATOR.render(schema)
