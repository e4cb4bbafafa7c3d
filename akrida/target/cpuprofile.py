"""A V8 CPU profile (`.cpuprofile`, the Chrome DevTools Protocol's Profiler.Profile) as collapsed
stacks, the format the summary's shares and the flame graph read (akrida.target.stacks).

A profile is a call tree (`nodes`, each a call frame with its children) and a timeline of samples
(`samples`, the node on top of the stack at each tick). Each sample becomes the path from the tree's
root to its node, and equal paths are counted together, which is what py-spy's raw format holds.
Frames read `function (file:line)` like py-spy's; V8's own nodes keep their names: `(idle)` (the
event loop waiting in libuv), `(program)` (the VM outside JavaScript: native add-ons, the compiler)
and `(garbage collector)`.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

ROOT = "(root)"
ANONYMOUS = "(anonymous)"


def short_file(url: str, cwd: str = "") -> str:
    """'file:///srv/app/node_modules/@credo-ts/core/build/agent/Agent.js' -> '@credo-ts/core/build/agent/Agent.js'.

    A package's file is named from its package (as py-spy names a module from its package); the
    application's own files relative to the process's working directory; Node's own stay
    `node:internal/…`."""
    if not url.startswith("file://"):
        return url
    path = unquote(urlparse(url).path)
    _before, found, after = path.rpartition("node_modules/")
    if found:
        return after
    if cwd and path.startswith(cwd.rstrip("/") + "/"):
        return os.path.relpath(path, cwd)
    return path


def frame_name(call_frame: dict[str, Any], cwd: str = "") -> str:
    """One call frame as a collapsed-stack frame: 'receiveMessage (@credo-ts/core/build/agent/Agent.js:45)'."""
    name = str(call_frame.get("functionName") or "")
    url = str(call_frame.get("url") or "")
    if name.startswith("(") and name.endswith(")") and not url:
        return name  # V8's own: (root), (program), (idle), (garbage collector)
    name = name or ANONYMOUS
    if not url:
        return name  # a builtin with no script
    line = int(call_frame.get("lineNumber") or 0) + 1  # V8 counts lines from 0
    # `;` separates frames and a newline ends a stack: neither may stay in a name.
    return f"{name} ({short_file(url, cwd)}:{line})".replace(";", ",").replace("\n", " ")


def collapse(profile: dict[str, Any], cwd: str = "") -> dict[tuple[str, ...], int]:
    """{frames, root first (V8's `(root)` left out): samples} of a Profiler.Profile."""
    nodes = {int(node["id"]): node for node in profile.get("nodes", [])}
    parent: dict[int, int] = {}
    for node_id, node in nodes.items():
        for child in node.get("children", []) or []:
            parent[int(child)] = node_id
    hits: Counter[int] = Counter(int(sample) for sample in profile.get("samples", []) or [])
    if not hits:  # a profile without its timeline still has each node's count
        hits = Counter({node_id: int(node.get("hitCount") or 0) for node_id, node in nodes.items()})
    paths: dict[int, tuple[str, ...]] = {}

    def path_of(node_id: int) -> tuple[str, ...]:
        chain = []
        current: int | None = node_id
        while current is not None and current not in paths and current in nodes:
            chain.append(current)
            current = parent.get(current)
        known = paths.get(current, ()) if current is not None else ()
        for link in reversed(chain):  # root first: each node's path is its parent's and itself
            frame = frame_name(nodes[link].get("callFrame", {}), cwd)
            known = known if frame == ROOT else (*known, frame)
            paths[link] = known
        return paths.get(node_id, ())

    stacks: Counter[tuple[str, ...]] = Counter()
    for node_id, count in hits.items():
        frames = path_of(node_id)
        if count > 0 and frames:
            stacks[frames] += count
    return dict(stacks)


def write_collapsed(stacks: dict[tuple[str, ...], int], path: Path) -> None:
    """`frame;frame;… count` lines, as py-spy's raw format, most samples first."""
    lines = [f"{';'.join(frames)} {count}" for frames, count in sorted(stacks.items(), key=lambda item: -item[1])]
    path.write_text("".join(line + "\n" for line in lines))


def convert(cpuprofile: Path, collapsed: Path, cwd: str = "") -> int:
    """Writes the collapsed stacks of the `.cpuprofile` file; returns how many samples they hold."""
    stacks = collapse(json.loads(cpuprofile.read_text()), cwd)
    write_collapsed(stacks, collapsed)
    return sum(stacks.values())
