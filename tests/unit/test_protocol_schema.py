"""One schema, three parties: agent/protocol.schema.json against the Python client's dataclasses,
the TypeScript agent's commands and agent/PROTOCOL.md. The real agent's replies are checked against
it in test_agent_protocol.py and tests/integration/test_flows.py."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import typing

import jsonschema
import pytest

from akrida import paths
from akrida.agent import AgentConfig, HolderClient
from akrida.agent.messages import COMMANDS, from_wire, python_name, to_wire, wire_name
from tests.protocol import schema

SCHEMA = schema()


def wire_fields(cls: type) -> dict[str, dataclasses.Field]:
    return {wire_name(f.name): f for f in dataclasses.fields(cls)}


def nested_dataclass(cls: type, name: str) -> type | None:
    hint = typing.get_type_hints(cls)[name]
    if typing.get_origin(hint) is list:
        return None  # listed_dataclass
    for option in typing.get_args(hint) or (hint,):
        if dataclasses.is_dataclass(option):
            return option
    return None


def listed_dataclass(cls: type, name: str) -> type | None:
    """X of a field typed list[X], X a dataclass."""
    hint = typing.get_type_hints(cls)[name]
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint)
        return item if dataclasses.is_dataclass(item) else None
    return None


def assert_object_matches(cls: type, object_schema: dict, where: str) -> None:
    fields = wire_fields(cls)
    assert set(fields) == set(object_schema["properties"]), f"{where}: fields differ from the schema"
    required = {name for name, f in fields.items() if f.default is dataclasses.MISSING}
    assert required == set(object_schema.get("required", [])), f"{where}: required fields differ"
    for name in fields:
        nested = nested_dataclass(cls, python_name(name))
        if nested is not None:
            assert_object_matches(nested, object_schema["properties"][name], f"{where}.{name}")
        listed = listed_dataclass(cls, python_name(name))
        if listed is not None:
            assert_object_matches(listed, object_schema["properties"][name]["items"], f"{where}.{name}[]")


def test_the_schema_is_valid_json_schema():
    for part in (SCHEMA["envelope"], SCHEMA["reply"]):
        jsonschema.Draft202012Validator.check_schema(part)
    for name, command in SCHEMA["commands"].items():
        for side in ("arguments", "result"):
            try:
                jsonschema.Draft202012Validator.check_schema(command[side])
            except jsonschema.SchemaError as error:
                pytest.fail(f"{name}.{side} is not a valid schema: {error.message}")


def test_python_client_and_schema_name_the_same_commands():
    assert set(COMMANDS) == set(SCHEMA["commands"])


@pytest.mark.parametrize("command", sorted(SCHEMA["commands"]))
def test_python_dataclasses_match_the_schema(command):
    spec = COMMANDS[command]
    assert_object_matches(spec.arguments, SCHEMA["commands"][command]["arguments"], f"{command} arguments")
    if spec.result is None:
        assert SCHEMA["commands"][command]["result"] == {"const": "ok"}
    else:
        assert_object_matches(spec.result, SCHEMA["commands"][command]["result"], f"{command} result")


def test_every_command_has_a_client_method():
    methods = {
        "start": HolderClient.start, "ping_mediator": HolderClient.ping_mediator,
        "receiveInvitation": HolderClient.receive_invitation, "receiveMessage": HolderClient.receive_message,
        "createDidKey": HolderClient.create_did_key, "receiveCredential": HolderClient.receive_credential,
        "presentationExchange": HolderClient.presentation_exchange,
        "deleteOobRecordById": HolderClient.delete_oob_record, "status": HolderClient.status,
        "shutdown": HolderClient.shutdown, "drop_connection": HolderClient.drop_connection,
        "go_offline": HolderClient.go_offline, "go_online": HolderClient.go_online,
        "discover_features": HolderClient.discover_features, "mediator_sockets": HolderClient.mediator_sockets,
        "create_invitation": HolderClient.create_invitation, "forward_messages": HolderClient.forward_messages,
        "event_loop_delay": HolderClient.event_loop_delay,
    }  # fmt: skip
    assert set(methods) == set(SCHEMA["commands"])
    for command, method in methods.items():
        result = COMMANDS[command].result
        returned = typing.get_type_hints(method)["return"]
        assert returned is (result or type(None)), f"{method.__name__} returns {returned}, the schema {result}"


def test_the_agent_knows_exactly_the_schemas_commands():
    # The agent lists its commands when asked for an unknown one.
    reply = subprocess.run(
        ["node", str(paths.AGENT_SCRIPT)], input='{"cmd": "list-them", "id": 1}\n', capture_output=True, text=True,
        env=AgentConfig().environment(), timeout=60, check=True,
    ).stdout  # fmt: skip
    known = re.search(r"known commands: ([\w, ]+)", reply).group(1).split(", ")
    assert sorted(known) == sorted(SCHEMA["commands"])


def test_protocol_md_documents_every_command_and_argument():
    text = (paths.AGENT_DIR / "PROTOCOL.md").read_text()
    sections = dict(re.findall(r"^### `(\w+)`\n(.*?)(?=^### |\Z)", text, re.M | re.S))
    assert set(sections) == set(SCHEMA["commands"])
    for command, section in sections.items():
        for argument in SCHEMA["commands"][command]["arguments"]["properties"]:
            assert f"`{argument}`" in section, f"PROTOCOL.md: {command} does not document {argument}"
        result = SCHEMA["commands"][command]["result"]
        for name in result.get("properties", {}):
            assert f'"{name}"' in section or f"`{name}`" in section, f"PROTOCOL.md: {command} result lacks {name}"
    for field in SCHEMA["envelope"]["properties"]:
        assert f"`{field}`" in text


def test_wire_translation_round_trips():
    spec = COMMANDS["start"].arguments
    options = spec(mediator_invitation_url="http://127.0.0.1:1?oob=x", inbound_port=None, log_level="warn")
    assert to_wire(options) == {"mediatorInvitationUrl": "http://127.0.0.1:1?oob=x", "logLevel": "warn"}
    pinged = from_wire(COMMANDS["ping_mediator"].result, {"connectionId": "c", "roundTripMs": 3})
    assert (pinged.connection_id, pinged.round_trip_ms) == ("c", 3)
    with pytest.raises(TypeError, match="lacks roundTripMs"):
        from_wire(COMMANDS["ping_mediator"].result, {"connectionId": "c"})
