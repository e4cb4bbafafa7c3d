"""Writes agent/src/protocol.generated.ts, the TypeScript types of agent/protocol.schema.json.

    python3 scripts/protocol_types.py           write the file (`make protocol-types`)
    python3 scripts/protocol_types.py --check   exit 1 if the file differs from what the schema gives

The schema is the one source: the Python client is checked against it by a test, and the agent is
typed from it here, so tsc refuses a handler whose result or arguments the schema does not allow.
Only the keywords the schema uses are understood; any other stops the script, naming it, rather than
being quietly dropped. The output follows the agent's Prettier style, so `npm run lint` passes on it.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "agent" / "protocol.schema.json"
OUTPUT_FILE = ROOT / "agent" / "src" / "protocol.generated.ts"

HEADER = """\
// Generated from agent/protocol.schema.json by scripts/protocol_types.py: do not edit.
// After changing the schema, run `make protocol-types`; tests/unit/test_protocol_types.py fails until then.
"""

# Keywords that only validate values (a range, a length, a pattern) and have no TypeScript type, or
# only document. `additionalProperties: false` is what a TypeScript object type means already (an
# object literal with another property is refused); an open object is typed by the properties it names.
# `if`/`then`/`else` narrow the reply for errors; its type is the wider one its properties give.
VALUE_ONLY = {
    "minimum", "maximum", "minLength", "maxLength", "pattern", "minItems", "maxItems",
    "$schema", "$id", "title", "description", "if", "then", "else",
}  # fmt: skip
TYPING = {"type", "properties", "required", "additionalProperties", "items", "enum", "const"}
IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")
SIMPLE = {"string": "string", "integer": "number", "number": "number", "boolean": "boolean", "null": "null"}


class UnsupportedSchema(ValueError):
    """The schema uses a keyword (or a value of one) that this script does not turn into a type."""


def literal(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return repr(value)
    raise UnsupportedSchema(f"a const or enum value of {type(value).__name__}: {value!r}")


def property_name(name: str) -> str:
    return name if IDENTIFIER.fullmatch(name) else literal(name)


def type_of(schema: Any, where: str, indent: str = "") -> str:
    """The TypeScript type of `schema`; `indent` is the indentation of the line the type starts on."""
    if schema is True:
        return "unknown"
    if not isinstance(schema, dict):
        raise UnsupportedSchema(f"{where}: a schema must be an object or true, not {schema!r}")
    unknown = set(schema) - VALUE_ONLY - TYPING
    if unknown:
        raise UnsupportedSchema(f"{where}: {', '.join(sorted(unknown))} not understood by {Path(__file__).name}")
    if isinstance(schema.get("additionalProperties"), dict):
        raise UnsupportedSchema(f"{where}: additionalProperties with a schema (a map) is not supported")
    if "const" in schema:
        return literal(schema["const"])
    if "enum" in schema:
        return " | ".join(literal(value) for value in schema["enum"])
    if "type" not in schema:
        raise UnsupportedSchema(f"{where}: a schema without type, enum or const")
    kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    return " | ".join(kind_type(kind, schema, where, indent) for kind in kinds)


def kind_type(kind: str, schema: dict[str, Any], where: str, indent: str) -> str:
    if kind in SIMPLE:
        return SIMPLE[kind]
    if kind == "array":
        item = type_of(schema.get("items", True), f"{where}[]", indent)
        return f"({item})[]" if " | " in item else f"{item}[]"
    if kind == "object":
        return object_type(schema, where, indent)
    raise UnsupportedSchema(f"{where}: type {kind!r}")


def object_type(schema: dict[str, Any], where: str, indent: str) -> str:
    properties = schema.get("properties", {})
    if not properties:
        # `{}` would take any object (and ESLint refuses it); this has no property to read or set.
        return "Record<never, never>"
    required = set(schema.get("required", []))
    inner = indent + "  "
    lines = [
        f"{inner}{property_name(name)}{'' if name in required else '?'}: {type_of(value, f'{where}.{name}', inner)}"
        for name, value in properties.items()
    ]
    return "{\n" + "\n".join(lines) + f"\n{indent}}}"


def declaration(name: str, schema: Any, where: str, doc: str = "") -> str:
    typed = type_of(schema, where)
    comment = f"/** {doc} */\n" if doc else ""
    if typed.startswith("{\n") and typed.endswith("}"):
        return f"{comment}export interface {name} {typed}\n"
    return f"{comment}export type {name} = {typed}\n"


def pascal(command: str) -> str:
    """ping_mediator and receiveInvitation alike: PingMediator, ReceiveInvitation."""
    return "".join(part[:1].upper() + part[1:] for part in command.split("_"))


def render(schema: dict[str, Any]) -> str:
    commands = schema["commands"]
    parts = [
        HEADER,
        declaration("Envelope", schema["envelope"], "envelope", "The fields of every request, whatever its command."),
        declaration("Reply", schema["reply"], "reply", "Every reply."),
    ]
    for command, spec in commands.items():
        if set(spec) != {"arguments", "result"}:
            raise UnsupportedSchema(f"commands.{command}: has {sorted(spec)}, not arguments and result")
        parts.append(declaration(f"{pascal(command)}Arguments", spec["arguments"], f"{command}.arguments"))
        parts.append(declaration(f"{pascal(command)}Result", spec["result"], f"{command}.result"))
    parts.append("export type CommandName =\n" + "\n".join(f"  | {literal(command)}" for command in commands) + "\n")
    for side, suffix in (("Arguments", "Arguments"), ("Results", "Result")):
        members = "\n".join(f"  {property_name(command)}: {pascal(command)}{suffix}" for command in commands)
        parts.append(f"/** Each command's {side.lower()}, by its name. */\nexport interface {side} {{\n{members}\n}}\n")
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    if argv not in ([], ["--check"]):
        print(__doc__, file=sys.stderr)
        return 2
    text = render(json.loads(SCHEMA_FILE.read_text()))
    if argv == ["--check"]:
        if OUTPUT_FILE.exists() and OUTPUT_FILE.read_text() == text:
            return 0
        print(f"{OUTPUT_FILE.relative_to(ROOT)} is stale: run `make protocol-types`", file=sys.stderr)
        return 1
    OUTPUT_FILE.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
