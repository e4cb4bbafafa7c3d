"""Imports run one way: each module imports only its own layer or the layers below it, with no circles.

Every `import` counts, also one inside a function (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "akrida"

# Layers, lowest first, by module name prefix (the longest prefix wins).
LAYERS: dict[str, int] = {
    # 0: plain data, parsers and error types that everything may use
    "akrida": 0,
    "akrida.paths": 0,
    "akrida.catalog": 0,
    "akrida.invitation": 0,
    "akrida.slo": 0,
    "akrida.sockets": 0,
    "akrida.private": 0,
    "akrida.redact": 0,
    "akrida.parsers": 0,
    "akrida.agent.errors": 0,
    "akrida.local.errors": 0,
    "akrida.cluster.errors": 0,
    "akrida.report.errors": 0,
    # 1: the settings
    "akrida.settings": 1,
    # 2: the parts: the agent driver, the target's clients, the embedded target, the report
    "akrida.agent": 2,
    "akrida.controllers": 2,
    "akrida.ledgers": 2,
    "akrida.local": 2,
    "akrida.report": 2,
    "akrida.preflight": 2,
    "akrida.egress": 2,
    "akrida.target": 2,
    "akrida.userscenario": 2,
    # 3: what uses the parts: Locust users, the cluster's provisioning
    "akrida.scenarios": 3,
    "akrida.cluster": 3,
    "akrida.preload": 3,
    "akrida.profile_triggers": 3,
    # 4: a run: its lifecycle, its executors and its exit codes
    "akrida.exits": 4,
    "akrida.execute": 4,
    "akrida.lifecycle": 4,
    # 5: the command line
    "akrida.cli": 5,
}

# The agent driver is a library of its own: it knows nothing of settings, scenarios or reports.
SELF_CONTAINED = {"akrida.agent": ("akrida.agent", "akrida.paths", "akrida.sockets", "akrida")}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The akrida modules `path` imports (`from akrida.x import y` counts y when y is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("akrida"):
            module = node.module or ""
            found.add(module)
            for alias in node.names:
                if is_module(f"{module}.{alias.name}"):
                    found.add(f"{module}.{alias.name}")
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("akrida"))
    return found


def is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def layer_of(module: str) -> int:
    prefixes = [p for p in LAYERS if module == p or module.startswith(p + ".")]
    return LAYERS[max(prefixes, key=len)]


GRAPH = {module_name(path): imports_of(path) for path in sorted(PACKAGE.rglob("*.py"))}


def test_the_graph_is_read():
    # Guards the reader itself: a known downhill edge must be found.
    assert "akrida.settings" in GRAPH["akrida.lifecycle"]
    assert "akrida.agent.host" in GRAPH["akrida.agent.pool"]


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_no_module_imports_a_layer_above_its_own(module):
    uphill = sorted(d for d in GRAPH[module] if d != "akrida" and layer_of(d) > layer_of(module))
    assert not uphill, f"{module} (layer {layer_of(module)}) imports " + ", ".join(
        f"{d} (layer {layer_of(d)})" for d in uphill
    )


@pytest.mark.parametrize("package", sorted(SELF_CONTAINED))
def test_self_contained_packages_import_only_what_they_may(package):
    allowed = SELF_CONTAINED[package]
    for module, dependencies in GRAPH.items():
        if module == package or module.startswith(package + "."):
            outside = sorted(
                d for d in dependencies if not any(d == a or d.startswith(a + ".") for a in allowed if a != "akrida")
            )
            outside = [d for d in outside if d != "akrida"]
            assert not outside, f"{module} imports {', '.join(outside)}"


def test_there_are_no_import_circles():
    cycles = strongly_connected(GRAPH)
    assert not cycles, "import circles: " + "; ".join(" -> ".join(sorted(c)) for c in cycles)


def package_of(module: str) -> str:
    """`akrida.report.summary` -> `akrida.report`; a top-level module is its own package."""
    return ".".join(module.split(".")[:2])


def test_there_are_no_circles_between_packages():
    # Module by module there may be no circle while packages still import each other round (a package's
    # modules are read as one: importing akrida.cluster.errors runs akrida/cluster/__init__.py).
    packages: dict[str, set[str]] = {}
    for module, dependencies in GRAPH.items():
        outside = {package_of(d) for d in dependencies if d != "akrida"} - {package_of(module)}
        packages.setdefault(package_of(module), set()).update(outside)
    cycles = strongly_connected(packages)
    assert not cycles, "package circles: " + "; ".join(" -> ".join(sorted(c)) for c in cycles)


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm: the groups of modules that reach each other (circles of two or more)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for neighbour in graph.get(node, ()):
            if neighbour not in graph:
                continue
            if neighbour not in index:
                visit(neighbour)
                low[node] = min(low[node], low[neighbour])
            elif neighbour in on_stack:
                low[node] = min(low[node], index[neighbour])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_command_line_never_loads_locust():
    # Locust patches the standard library with gevent when imported: the CLI's subprocesses,
    # signals and SSH must stay unpatched, so the CLI side must not import it, not even indirectly.
    import subprocess
    import sys

    probe = "import sys, akrida.cli, akrida.lifecycle, akrida.execute.distributed; print('locust' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert loaded.stdout.strip() == "False"
