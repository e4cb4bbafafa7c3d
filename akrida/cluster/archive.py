"""The release archive: everything a load host needs, built on the controller and shipped as one file.

Lab hosts cannot reach PyPI or npm, and cloud hosts should not each rebuild what the controller has
already built, so the controller packs one `.tar.gz` holding:

    home/          a minimal akrida checkout: the akrida package, locustfiles/, the built agent with
                   only the node_modules its bundle leaves external, and the native libraries
    wheelhouse/    wheels of akrida's run-time dependencies, pinned to the controller's versions
    requirements.txt
    RELEASE        the release id

The id is a digest of the contents, so an unchanged tree gives the same archive and the playbook
reports no change; a changed one lands in a new release folder on the hosts.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from akrida import paths
from akrida.cluster.errors import ClusterError

# Packages that agent/dist/bundle.js requires at run time instead of bundling (see agent/package.json).
EXTERNAL_AGENT_PACKAGES = ("@hyperledger/", "@2060.io/")
AGENT_DIST_FILES = ("launch.js", "bundle.js", "bundle.js.cache")
HOME_TREES = ("akrida", "locustfiles")
SKIPPED_NAMES = {"__pycache__", ".pytest_cache"}


@dataclass(frozen=True)
class Archive:
    path: Path
    release: str  # the content digest; also the release folder's name on the hosts


def runtime_requirements(distribution: str = "akrida") -> list[str]:
    """`name==version` for akrida's run-time dependencies and theirs, as installed here (no extras)."""
    from packaging.requirements import Requirement  # a dependency of the cluster extra

    pins: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    pending = [(text, "") for text in metadata.requires(distribution) or []]
    while pending:
        text, extra = pending.pop()
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = _normalise(requirement.name)
        for wanted in ("", *sorted(requirement.extras)):
            if (name, wanted) in seen:
                continue
            seen.add((name, wanted))
            try:
                pins[name] = metadata.version(requirement.name)
            except metadata.PackageNotFoundError:
                break  # not for this platform
            pending.extend((dependency, wanted) for dependency in metadata.requires(requirement.name) or [])
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def agent_runtime_packages(agent_dir: Path) -> list[Path]:
    """The node_modules folders the bundled agent needs: its external packages and their dependencies."""
    modules = agent_dir / "node_modules"
    manifest = json.loads((agent_dir / "package.json").read_text())
    found: dict[Path, None] = {}

    def resolve(name: str, start: Path) -> Path | None:
        folder = start
        while True:
            candidate = folder / "node_modules" / name
            if (candidate / "package.json").is_file():
                return candidate
            if folder == agent_dir or folder.parent == folder:
                return None
            folder = folder.parent

    def visit(package: Path) -> None:
        if package in found:
            return
        found[package] = None
        package_json = json.loads((package / "package.json").read_text())
        for name in {**package_json.get("dependencies", {}), **package_json.get("optionalDependencies", {})}:
            dependency = resolve(name, package)
            if dependency is not None:
                visit(dependency)

    for name in manifest.get("dependencies", {}):
        if name.startswith(EXTERNAL_AGENT_PACKAGES):
            package = modules / name
            if not (package / "package.json").is_file():
                raise ClusterError(f"the agent's {name} is not installed in {modules}: run `make setup`")
            visit(package)
    # A package nested in another one's node_modules comes along with the folder of its parent.
    return sorted(package for package in found if not any(other in package.parents for other in found))


def _home_files(root: Path) -> Iterator[tuple[Path, str]]:
    """(source file, name in the archive) for the minimal checkout under home/."""
    for tree in HOME_TREES:
        for path in sorted((root / tree).rglob("*")):
            if path.is_file() and not SKIPPED_NAMES.intersection(path.parts):
                yield path, f"home/{path.relative_to(root)}"
    yield root / "pyproject.toml", "home/pyproject.toml"
    agent = root / "agent"
    for name in AGENT_DIST_FILES:
        path = agent / "dist" / name
        if not path.is_file():
            raise ClusterError(f"the agent is not built ({path} is missing): run `make setup`")
        yield path, f"home/agent/dist/{name}"
    yield agent / "package.json", "home/agent/package.json"
    for package in agent_runtime_packages(agent):
        for path in sorted(package.rglob("*")):
            if path.is_file() and not path.is_symlink():
                yield path, f"home/agent/{path.relative_to(agent)}"
    libs = paths.NATIVE_LIBS
    if not libs.is_dir():
        raise ClusterError(f"the native libraries are missing ({libs}): run `make setup`")
    for path in sorted(libs.rglob("*.so")):
        yield path, f"home/.akrida/native-libs/{path.relative_to(libs)}"


def build_wheelhouse(requirements: list[str], folder: Path, progress: Callable[[str], None]) -> Path:
    """Wheels of the pinned requirements, built once per set of pins (pip's cache makes repeats quick)."""
    digest = hashlib.sha256("\n".join(requirements).encode()).hexdigest()[:16]
    wheelhouse = folder / f"wheelhouse-{digest}"
    if (wheelhouse / ".complete").is_file():
        return wheelhouse
    progress(f"wheelhouse: {len(requirements)} pinned packages (once per dependency change)")
    wheelhouse.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check"]
    command += ["--wheel-dir", str(wheelhouse), *requirements]
    result = subprocess.run(command, capture_output=True, text=True, timeout=1800, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise ClusterError(f"building the wheelhouse failed:\n{result.stderr.strip()[-2000:]}")
    (wheelhouse / ".complete").write_text("\n".join(requirements) + "\n")
    return wheelhouse


def build(folder: Path, progress: Callable[[str], None] = print) -> Archive:
    """Builds the release archive in `folder`, or reuses it when nothing it holds has changed."""
    root = paths.ROOT
    requirements = runtime_requirements()
    wheelhouse = build_wheelhouse(requirements, folder, progress)
    members = list(_home_files(root))
    members += [(path, f"wheelhouse/{path.name}") for path in sorted(wheelhouse.glob("*.whl"))]
    digest = hashlib.sha256()
    for path, name in members:
        digest.update(name.encode() + b"\0")
        digest.update(_file_digest(path))
    digest.update("\n".join(requirements).encode())
    release = digest.hexdigest()[:16]
    archive = folder / f"akrida-{release}.tar.gz"
    if archive.is_file():
        return Archive(archive, release)
    progress(f"release archive {archive.name}: {len(members)} files")
    for stale in folder.glob("akrida-*.tar.gz"):
        stale.unlink()
    partial = archive.with_suffix(".partial")
    with tarfile.open(partial, "w:gz", compresslevel=1) as tar:
        for path, name in members:
            tar.add(path, arcname=name, recursive=False)
        _add_text(tar, "requirements.txt", "\n".join(requirements) + "\n")
        _add_text(tar, "RELEASE", release + "\n")
    partial.rename(archive)
    return Archive(archive, release)


def _file_digest(path: Path) -> bytes:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").digest()


def _add_text(tar: tarfile.TarFile, name: str, text: str) -> None:
    data = text.encode()
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))
