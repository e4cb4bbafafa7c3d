"""Every root module under infra/ has the same outputs, so nothing after provisioning knows the cloud."""

from __future__ import annotations

import re
from pathlib import Path

from akrida.cluster.provision import cluster_from_outputs
from akrida.cluster.state import CloudDir

INFRA = Path(__file__).resolve().parents[2] / "infra"
OUTPUT = re.compile(r'^output\s+"([a-z_]+)"', re.MULTILINE)


def outputs_of(module: Path) -> set[str]:
    return {name for path in module.glob("*.tf") for name in OUTPUT.findall(path.read_text())}


def test_root_modules_share_their_outputs():
    modules = sorted(path for path in INFRA.iterdir() if (path / "outputs.tf").is_file())
    assert [module.name for module in modules] == ["aws", "lab"]
    expected = outputs_of(modules[0])
    for module in modules[1:]:
        assert outputs_of(module) == expected, module.name


def test_the_driver_reads_exactly_those_outputs():
    names = outputs_of(INFRA / "lab")
    values = {name: ["10.0.0.2"] if name.endswith("_ips") else "10.0.0.1" for name in names}
    cluster = cluster_from_outputs("lab", values, CloudDir("lab"))
    assert [host.name for host in cluster.hosts] == ["master", "worker-1"]
