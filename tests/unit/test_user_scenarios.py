"""Scenario files of the user's own (SCENARIO=path/to/file.py): refused before any holder starts when
they cannot serve, hashed for the manifest, and shipped to cluster hosts with their own settings.

Each check loads the file for real, in a child process, as `akrida run` does.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from akrida import paths
from akrida.cluster.state import Host
from akrida.execute.distributed import host_environment, locust_arguments, user_files
from akrida.settings import Settings, SettingsError
from akrida.userscenario import load_user_scenario

GOOD = """\
from akrida.scenarios.api import HolderClient, HolderUser, duration, setting
from helpers import greeting

NAP = setting("NAP_TIME", duration, "How long it naps.", default="2s")


class Napper(HolderUser):
    needs_mediator = True

    def iteration(self):
        self.holder.call("ping_mediator", HolderClient.ping_mediator)
"""


def scenario(folder: Path, text: str, name: str = "mine.py") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def settings_for(path: Path, **more: str) -> Settings:
    return Settings.from_mapping({"SCENARIO": str(path), **more})


def refused(path: Path, **more: str) -> str:
    with pytest.raises(SettingsError) as raised:
        load_user_scenario(settings_for(path), {"SCENARIO": str(path), **more})
    return str(raised.value)


def test_a_syntax_error_is_refused_naming_the_file_and_line(tmp_path: Path):
    path = scenario(tmp_path, "from akrida.scenarios.api import HolderUser\n\nclass Broken(HolderUser)\n    pass\n")
    assert f"{path} line 3" in refused(path)


def test_a_file_without_a_scenario_class_is_refused(tmp_path: Path):
    path = scenario(tmp_path, "from akrida.scenarios.api import HolderUser\n\nX = 1\n")
    message = refused(path)
    assert f"{path} line 3: no scenario class" in message and "HolderUser" in message


def test_two_scenario_classes_are_refused_naming_both_lines(tmp_path: Path):
    text = (
        "from akrida.scenarios.api import HolderUser\n\n"
        "class One(HolderUser):\n    def iteration(self): pass\n\n"
        "class Two(HolderUser):\n    def iteration(self): pass\n"
    )
    path = scenario(tmp_path, text)
    assert f"{path} line 3: One and line 6: Two are each a scenario class" in refused(path)


def test_an_abstract_base_class_is_not_a_second_scenario(tmp_path: Path):
    text = (
        "from akrida.scenarios.api import HolderUser\n\n"
        "class Base(HolderUser):\n    abstract = True\n\n"
        "class Real(Base):\n    def iteration(self): pass\n"
    )
    checked = load_user_scenario(settings_for(path := scenario(tmp_path, text)), {})
    assert checked is not None and (checked.class_name, checked.line) == ("Real", 6), path


def test_an_error_while_it_loads_names_the_line_that_raised(tmp_path: Path):
    path = scenario(tmp_path, "import json\n\nVALUE = json.loads('not json')\n")
    message = refused(path)
    assert f"{path} line 3: JSONDecodeError" in message


def test_a_missing_file_is_refused(tmp_path: Path):
    assert f"SCENARIO={tmp_path / 'nowhere.py'}: no such file" in refused(tmp_path / "nowhere.py")


def test_its_own_setting_with_a_bad_value_is_refused_naming_where_it_is_declared(tmp_path: Path):
    (tmp_path / "helpers.py").write_text("greeting = 'hi'\n")
    path = scenario(tmp_path, GOOD)
    message = refused(path, NAP_TIME="soon")
    assert "NAP_TIME='soon'" in message and f"{path} line 4" in message


def test_a_scenario_that_needs_the_mediator_is_refused_without_mediation(tmp_path: Path):
    (tmp_path / "helpers.py").write_text("greeting = 'hi'\n")
    path = scenario(tmp_path, GOOD)
    with pytest.raises(SettingsError, match=r"Napper needs the mediator .*WITH_MEDIATION=true"):
        load_user_scenario(settings_for(path, WITH_MEDIATION="false"), {})


def test_the_manifest_has_the_sha256_of_every_user_file_it_loaded(tmp_path: Path):
    (tmp_path / "helpers.py").write_text("greeting = 'hi'\n")
    path = scenario(tmp_path, GOOD)
    checked = load_user_scenario(settings_for(path), {"NAP_TIME": "5s"})
    assert checked is not None
    entry = checked.manifest_entry()
    digests = {Path(file["path"]).name: file["sha256"] for file in entry["files"]}
    assert digests == {
        "mine.py": hashlib.sha256(path.read_bytes()).hexdigest(),
        "helpers.py": hashlib.sha256((tmp_path / "helpers.py").read_bytes()).hexdigest(),
    }
    assert entry["settings"] == {"NAP_TIME": "5s"} and entry["class"] == "Napper"


def test_cluster_hosts_get_the_files_beside_each_other_and_the_own_settings(tmp_path: Path):
    (tmp_path / "helpers.py").write_text("greeting = 'hi'\n")
    path = scenario(tmp_path, GOOD)
    settings = settings_for(path)
    checked = load_user_scenario(settings, {"NAP_TIME": "7s"})
    host = Host("worker-1", "198.51.100.11", "10.0.1.11", "/opt/akrida")
    folder = "/opt/akrida/runs/run-1"
    environment = host_environment(settings, host, folder, checked)
    assert environment["SCENARIO"] == f"{folder}/scenario/mine.py"
    assert environment["NAP_TIME"] == "7s" and environment["AGENT_ENDPOINT_HOST"] == "198.51.100.11"
    shipped = dict(user_files(folder, checked))
    assert shipped == {f"{folder}/scenario/mine.py": GOOD, f"{folder}/scenario/helpers.py": "greeting = 'hi'\n"}
    assert locust_arguments(settings, host)[-1] == "/opt/akrida/current/home/locustfiles/custom.py"


def test_the_shipped_files_load_where_they_land(tmp_path: Path):
    """What a host does with them: SCENARIO points at the shipped copy, which imports its neighbour."""
    (tmp_path / "helpers.py").write_text("greeting = 'hi'\n")
    path = scenario(tmp_path, GOOD)
    checked = load_user_scenario(settings_for(path), {})
    host_folder = tmp_path / "host" / "runs" / "run-1"
    for remote, text in user_files(str(host_folder), checked):
        Path(remote).parent.mkdir(parents=True, exist_ok=True)
        Path(remote).write_text(text)
    shipped = host_folder / "scenario" / "mine.py"
    again = load_user_scenario(settings_for(shipped), {})
    assert again is not None and again.class_name == "Napper"
    assert [file.sha256 for file in again.files] == [file.sha256 for file in checked.files]


def test_akrida_run_refuses_a_broken_file_before_anything_starts(tmp_path: Path):
    path = scenario(tmp_path, "def broken(:\n")
    results = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, "-m", "akrida.cli", "--env-file", "/dev/null", "run"],
        env={"PATH": "/usr/bin:/bin", "SCENARIO": str(path), "RESULTS_DIR": str(results)},
        cwd=paths.ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"{path} line 1" in done.stderr
    assert not results.exists()  # no run folder, no target, no holder


def test_the_examples_load(tmp_path: Path):
    for example in ("credential_loop.py", "phone.py"):
        checked = load_user_scenario(settings_for(paths.ROOT / "examples" / example), {})
        assert checked is not None and checked.needs_issuer
        assert [file.relative for file in checked.files] == [example]


def test_a_scenario_file_imports_the_api_outside_locust(tmp_path: Path):
    # A user's own unit test imports their scenario with plain Python: the API must not need Locust to
    # have been imported first (it died in a RecursionError when ssl was patched after requests took it).
    script = "import akrida.scenarios.api; import requests; print(requests.Session)"
    done = subprocess.run([sys.executable, "-W", "error::Warning", "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "requests.sessions.Session" in done.stdout
