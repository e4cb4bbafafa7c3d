"""agent/protocol.schema.json for tests: validate requests and replies as they cross the seam."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema

from akrida import paths
from akrida.agent import AgentHost

SCHEMA_FILE = paths.AGENT_DIR / "protocol.schema.json"


@cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text())


def check_request(request: dict[str, Any]) -> None:
    """Raises jsonschema.ValidationError unless `request` is a valid request of its command."""
    jsonschema.validate(request, schema()["envelope"])
    arguments = {k: v for k, v in request.items() if k not in schema()["envelope"]["properties"]}
    jsonschema.validate(arguments, schema()["commands"][request["cmd"]]["arguments"])


def check_reply(reply: dict[str, Any]) -> None:
    """Raises jsonschema.ValidationError unless `reply` is a valid reply (to the command it echoes)."""
    jsonschema.validate(reply, schema()["reply"])
    assert reply["error"] == 1 or "cmd" in reply, "a success reply echoes its command"
    if reply["error"] == 0:
        jsonschema.validate(reply["result"], schema()["commands"][reply["cmd"]]["result"])


class CheckedHost(AgentHost):
    """An AgentHost that checks every request it sends and every result it gets against the schema."""

    def request(self, command, arguments=None, holder=None, read_timeout=None):
        envelope = {"cmd": command, "id": 0, **(arguments or {})}
        if holder is not None:
            envelope["holder"] = holder
        check_request(envelope)
        result = super().request(command, arguments, holder, read_timeout)
        jsonschema.validate(result, schema()["commands"][command]["result"])
        return result
