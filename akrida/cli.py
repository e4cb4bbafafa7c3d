"""`akrida …`: the one entry point the Makefile and users call."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from akrida import __version__, paths
from akrida.agent.limits import raise_open_files_limit
from akrida.catalog import SCENARIOS
from akrida.cluster.errors import ClusterError
from akrida.cluster.state import Cluster
from akrida.controllers import issuer_for
from akrida.execute.local import LocalExecutor
from akrida.exits import ExitCode, for_error
from akrida.lifecycle import Run
from akrida.local.aim import aimed_at_running_target
from akrida.local.errors import LocalTargetError
from akrida.local.stack import LocalTarget, bootstrap_anoncreds
from akrida.preflight import check_silence_here, check_target
from akrida.redact import protect_output
from akrida.report import bundle, compare
from akrida.report.summary import render_text
from akrida.settings import SECRET_VARIABLES, Settings, SettingsError, read_env_file
from akrida.settings import table as settings_table
from akrida.userscenario import load_user_scenario

# Where `akrida check`'s probe holders log: a folder per check, removed unless its probe failed; of
# those, only the newest KEPT_PROBE_DIRS stay (they used to pile up in /tmp, one per check).
CHECK_PROBE_DIRS = paths.STATE_DIR / "check"
KEPT_PROBE_DIRS = 3

# Command-line options of `akrida run` and the settings they override.
RUN_OPTIONS = {
    "cloud": "CLOUD",
    "workers": "WORKERS",
    "scenario": "SCENARIO",
    "users": "USERS",
    "spawn_rate": "SPAWN_RATE",
    "run_time": "RUN_TIME",
}


def main(argv: list[str] | None = None) -> int:
    protect_output(os.environ.get(name, "") for name in SECRET_VARIABLES)
    parser = _parser()
    arguments = parser.parse_args(argv)
    if not hasattr(arguments, "handler"):
        parser.print_help()
        return ExitCode.BAD_SETTINGS
    try:
        return int(arguments.handler(arguments))
    except (Exception, KeyboardInterrupt) as error:
        mapped = for_error(error)
        if mapped is None:
            raise
        code, message = mapped
        print(message, file=sys.stderr)
        return code


# What each exit code means to a command, for its --help (docs/results.md, "Exit codes", has them all).
CODES = {
    "run": "0 passed (or FIND_LIMIT's search ran), 1 requests failed or the run could not be carried out, "
    "2 bad settings, 3 target unreachable, 4 an SLO gate failed, 130 interrupted",
    "check": "0 settings valid and target answers, 2 bad settings, 3 target unreachable",
    "report": "0 written, 1 the run's files cannot be read",
    "compare": "0 no step regressed, 1 a step regressed or a run cannot be read",
    "plan": "0 planned, 2 bad settings",
    "info": "0",
    "local": "0 done, 2 bad settings, 3 the embedded target cannot start",
    "target": "0 done, 2 bad settings, 3 target unreachable",
    "cluster": "0 done, 1 a cluster step failed, 2 bad settings",
}


def _command(commands, name: str, help: str, description: str, docs: str, codes: str | None = None):
    """A subcommand whose --help says what it does, its exit codes and where its docs are."""
    codes = codes or CODES.get(name, CODES["info"])
    return commands.add_parser(
        name,
        help=help,
        description=description,
        epilog=f"exit codes: {codes}\ndocs: {docs}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="akrida",
        description="Load tests for DIDComm deployments: real Credo holders under Locust.",
        epilog="`akrida COMMAND --help` for each command. docs: README.md and docs/",
    )
    parser.add_argument("--version", action="version", version=f"akrida {__version__}")
    parser.add_argument("--env-file", help="settings file read before the environment (default: .env, if present)")
    commands = parser.add_subparsers(title="commands")

    run = _command(
        commands, "run", "run a load test (the embedded target unless one is configured)",
        "Runs a load test: checks the settings and the target, starts the holders under Locust, samples the "
        "target beside the load, and writes results/<run-id>/ with summary.md, summary.html and manifest.json. "
        "Every setting is read from the environment and .env (akrida settings lists them).",
        "docs/quickstart.md, docs/results.md, docs/finding-the-limit.md",
    )  # fmt: skip
    run.add_argument("--scenario", help="one of `akrida scenarios`, or path/to/your_scenario.py (SCENARIO)")
    run.add_argument("--users", help="number of holders (USERS)")
    run.add_argument("--spawn-rate", help="holders started per second (SPAWN_RATE)")
    run.add_argument("--run-time", help="duration such as 60s or 5m (RUN_TIME)")
    run.add_argument("--ui", action="store_true", help="start Locust's web UI instead of running headless")
    run.add_argument("--local", action="store_true", help="run on this machine even when a cluster is provisioned")
    run.set_defaults(handler=_run)

    _command(
        commands, "check", "validate the settings and check that the target answers",
        "Validates every setting as a run would, then checks that the target answers (and, for a mediator of "
        "your own, that probe holders get mediation), without starting any load or writing any results.",
        "docs/settings.md, docs/troubleshooting.md",
    ).set_defaults(handler=_check)  # fmt: skip

    report = _command(
        commands, "report", "rebuild a run's summary and charts from its files",
        "Writes a run's summary.md, summary.html and charts again from the files in its folder, with this "
        "version's judgement (where it broke, the target's side).",
        "docs/results.md",
    )  # fmt: skip
    report.add_argument("run", help="run id (a folder under RESULTS_DIR) or path")
    report.set_defaults(handler=_report)

    compare = _command(
        commands, "compare", "step-by-step differences between two runs",
        "Compares two runs step by step over their steady-state windows: p95 of successes, throughput and "
        "failure share, with how many samples each rests on. A step whose p95 rose or whose throughput fell by "
        "more than 10 % and beyond the noise (from --repeat-a/--repeat-b runs, else each run's 10 s chunks), or "
        "whose failure share rose beyond its noise, is marked regressed.",
        "docs/results.md#after-the-run-report-and-compare",
    )  # fmt: skip
    compare.add_argument("run_a", help="the earlier run (id or path)")
    compare.add_argument("run_b", help="the later run (id or path)")
    compare.add_argument(
        "--repeat-a",
        action="append",
        default=[],
        metavar="RUN",
        help="another run of A's setup: the spread of A's runs is its noise (repeatable)",
    )
    compare.add_argument(
        "--repeat-b", action="append", default=[], metavar="RUN", help="another run of B's setup (repeatable)"
    )
    compare.set_defaults(handler=_compare)

    plan = _command(
        commands, "plan", "how many worker hosts USERS of SCENARIO need, from bench/density.py's calibration",
        "Sizes a run before it is made: worker hosts for USERS holders of SCENARIO from measured costs per "
        "holder, and the mediator's cores for the requested SPAWN_RATE and waits.",
        "docs/scale-out.md#planning-akrida-plan",
    )  # fmt: skip
    plan.add_argument("--scenario", help="one of `akrida scenarios`, or path/to/your_scenario.py (SCENARIO)")
    plan.add_argument("--users", help="number of holders (USERS)")
    plan.add_argument("--calibration", type=Path, help="calibration file (default bench/calibration.json)")
    plan.set_defaults(handler=_plan)

    _command(
        commands, "scenarios", "list the scenarios", "Lists every scenario with what its holders do.",
        "docs/scenarios.md",
    ).set_defaults(handler=_scenarios)  # fmt: skip
    _command(
        commands, "settings", "every setting with its default and meaning (a Markdown table)",
        "Prints every setting, its default and its meaning, as docs/settings.md holds them.", "docs/settings.md",
    ).set_defaults(handler=_settings_table)  # fmt: skip

    local = _command(
        commands, "local", "the embedded target (ACA-Py mediator and issuer on this machine)",
        "Starts, stops and shows the embedded target: an ACA-Py mediator and issuer on loopback with wallets "
        "in PostgreSQL. Started with `up`, it serves every run until `down`.",
        "docs/embedded-target.md",
    )  # fmt: skip
    local_commands = local.add_subparsers(title="actions", required=True)
    up = local_commands.add_parser("up", help="start it and keep it running between runs")
    up.add_argument("--ledger", action="store_true", help="also start a local Indy ledger; the issuer writes to it")
    up.set_defaults(handler=_local_up)
    local_commands.add_parser("down", help="stop it").set_defaults(handler=_local_down)
    local_commands.add_parser("status", help="show whether it runs and where").set_defaults(handler=_local_status)

    target = _command(
        commands, "target", "prepare the target for credential scenarios",
        "Prepares an issuer for the credential scenarios: its signing DID (ld_proof), or a schema and a "
        "credential definition on its ledger (indy).",
        "docs/scenarios.md#preparing-an-issuer",
    )  # fmt: skip
    target_commands = target.add_subparsers(title="actions", required=True)
    bootstrap = target_commands.add_parser(
        "bootstrap", help="create the issuer's signing DID (ld_proof) or a schema and credential definition (indy)"
    )
    bootstrap.add_argument("--format", choices=("ld_proof", "indy"), default="ld_proof")
    bootstrap.set_defaults(handler=_target_bootstrap)

    cluster = _command(
        commands, "cluster", "load hosts: lab hosts here or cloud VMs (CLOUD, WORKERS)",
        "Makes load hosts with Terraform and prepares them with Ansible (provision), runs the playbook again "
        "(prepare), destroys them (teardown) or shows them (status). `make provision` and `make teardown` call it.",
        "docs/scale-out.md, infra/aws/README.md",
    )  # fmt: skip
    cluster_commands = cluster.add_subparsers(title="actions", required=True)
    provision = cluster_commands.add_parser("provision", help="make the hosts with Terraform and prepare them")
    provision.add_argument("--cloud", help="lab or aws (CLOUD)")
    provision.add_argument("--workers", help="worker hosts besides the master (WORKERS)")
    provision.set_defaults(handler=_cluster_provision)
    cluster_commands.add_parser(
        "prepare", help="run the playbook again on the provisioned hosts (a second run changes nothing)"
    ).set_defaults(handler=_cluster_prepare)
    cluster_commands.add_parser("teardown", help="destroy what provision made (safe to run twice)").set_defaults(
        handler=_cluster_teardown
    )
    cluster_commands.add_parser("status", help="show the provisioned cluster").set_defaults(handler=_cluster_status)
    return parser


def _settings(arguments: argparse.Namespace) -> Settings:
    return _configured(arguments)[0]


def _configured(arguments: argparse.Namespace) -> tuple[Settings, dict[str, str]]:
    """The settings, and the variables they were read from (the settings file, then the environment
    and the command line over it), where a scenario file's own settings are read."""
    overrides = {}
    for attribute, variable in RUN_OPTIONS.items():
        value = getattr(arguments, attribute, None)
        if value is not None:
            overrides[variable] = str(value)
    if getattr(arguments, "ui", False):
        overrides["UI"] = "true"
    environment = {**os.environ, **overrides}
    env_file = arguments.env_file or ".env"
    settings = Settings.load(environment, env_file, required=arguments.env_file is not None)
    protect_output(settings.secret_values())
    from_file = read_env_file(Path(env_file)) if Path(env_file).is_file() else {}
    return settings, {**from_file, **environment}


def _run(arguments: argparse.Namespace) -> int:
    settings, raw = _configured(arguments)
    cluster = None if arguments.local else Cluster.current()
    if cluster is not None and not cluster.prepared:
        raise ClusterError(
            "the provisioned cluster was never fully prepared: run `make provision` again, or `make teardown`; "
            "`akrida run --local` runs on this machine"
        )
    if cluster is None:
        return Run(settings, LocalExecutor(), environment=raw).run().exit_code
    from akrida.execute.distributed import ClusterExecutor  # Fabric loads only for cluster runs

    print(f"cluster: {cluster.cloud}, {len(cluster.workers)} workers (`akrida run --local` runs here)")
    return Run(settings, ClusterExecutor(cluster), environment=raw).run().exit_code


def _warn(line: str) -> None:
    print(f"akrida: {line}", file=sys.stderr)


def _check(arguments: argparse.Namespace) -> int:
    settings, raw = _configured(arguments)
    if settings.cloud == "aws":
        from akrida.cluster.provision import cloud_problems

        if problems := cloud_problems(settings):
            raise SettingsError(problems)
    LocalExecutor().check(settings)  # what a run here would refuse: open files, inbound ports
    user_scenario = load_user_scenario(settings, raw)  # a scenario file of one's own, loaded as a run would
    print("settings: valid")
    if user_scenario is not None:
        print(f"scenario: {user_scenario.path} line {user_scenario.line}: {user_scenario.class_name}")
    for name, value in settings.redacted().items():
        print(f"  {name}={value}")
    print(f"open files: {settings.peak_users} holders fit this machine's limit ({raise_open_files_limit().hard})")
    probe_dir = None
    if settings.uses_embedded_target:
        aimed = aimed_at_running_target(settings, _warn)
        if aimed is None:
            print(
                "target: none to check: no MEDIATION_URL or ISSUER_URL is set and the embedded target is not "
                "running (`akrida run` starts it; `akrida local up` starts it now)",
                file=sys.stderr,
            )
            return ExitCode.TARGET_UNREACHABLE
        settings = aimed
    else:  # holders take mediation as a run's would; their agent's log goes to a folder of its own
        probe_dir = _new_probe_dir()
    passed = False
    try:
        for line in check_target(settings, probe_dir).lines:
            print(f"check: {line}")
        if silence := check_silence_here(settings):  # as a run here would (a cluster's workers check theirs)
            print(f"check: {silence}")
        passed = True
    finally:
        # Kept only when a probe failed and left a log, which the message names (the newest few).
        if probe_dir is not None and (passed or not any(probe_dir.rglob("*.log"))):
            shutil.rmtree(probe_dir, ignore_errors=True)
    return ExitCode.OK


def _new_probe_dir() -> Path:
    CHECK_PROBE_DIRS.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # another check may be pruning at the same time
        for old in sorted(CHECK_PROBE_DIRS.iterdir(), key=lambda path: path.stat().st_mtime)[:-KEPT_PROBE_DIRS]:
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=CHECK_PROBE_DIRS))


def _run_dir(arguments: argparse.Namespace, run: str) -> Path:
    """A run id under RESULTS_DIR, or a path to a run folder."""
    candidates = [Path(run), _settings(arguments).results_dir / run]
    for candidate in candidates:
        if (candidate / "locust_stats.csv").is_file() or (candidate / "manifest.json").is_file():
            return candidate
    raise SystemExit(f"akrida: no run {run!r}: looked in {' and '.join(str(c) for c in candidates)}")


def _report(arguments: argparse.Namespace) -> int:
    run_dir = _run_dir(arguments, arguments.run)
    findings = bundle.rebuild(run_dir)
    print(render_text(findings))
    print(f"written: {run_dir / bundle.SUMMARY_MD}, {run_dir / bundle.SUMMARY_HTML}")
    return ExitCode.OK


def _compare(arguments: argparse.Namespace) -> int:
    run_a, run_b = _run_dir(arguments, arguments.run_a), _run_dir(arguments, arguments.run_b)
    repeats_a = [_run_dir(arguments, run) for run in arguments.repeat_a]
    repeats_b = [_run_dir(arguments, run) for run in arguments.repeat_b]
    changes, runs_a, runs_b = compare.compare(run_a, run_b, repeats_a, repeats_b)
    print(compare.render(changes, runs_a, runs_b))
    return ExitCode.FAILURES if any(change.regressions for change in changes) else ExitCode.OK


def _scenarios(_arguments: argparse.Namespace) -> int:
    for scenario in SCENARIOS.values():
        print(f"{scenario.name:<18} {scenario.summary}")
    print(f"{'path/to/file.py':<18} your own scenario file (docs/scenarios.md, Writing a scenario; examples/ has two)")
    return ExitCode.OK


def _settings_table(_arguments: argparse.Namespace) -> int:
    print(settings_table(), end="")
    return ExitCode.OK


def _local_up(arguments: argparse.Namespace) -> int:
    settings = _settings(arguments)
    target = LocalTarget(settings.local_host, settings.local_base_port, ledger=arguments.ledger)
    target.stop_orphan()  # a killed run's own target, never taken for the user's
    info = target.up(paths.LOCAL_STATE_DIR / "logs")
    print(f"mediator invitation (MEDIATION_URL): {info.mediation_url[:60]}…")
    print(f"issuer admin API (ISSUER_URL):      {info.issuer_admin_url}")
    if info.genesis_file:
        print(f"Indy ledger genesis file:          {info.genesis_file}")
    if info.cred_def_id:
        print(f"credential definition (CRED_DEF_ID): {info.cred_def_id}")
    print(f"logs: {info.log_dir}")
    print("`akrida run` uses this target until `akrida local down`.")
    return ExitCode.OK


def _target_bootstrap(arguments: argparse.Namespace) -> int:
    settings = _settings(arguments)
    if settings.uses_embedded_target:
        aimed = aimed_at_running_target(settings, _warn)
        if aimed is None:
            raise LocalTargetError("no target configured and the embedded one is not running: `akrida local up` first")
        settings = aimed
    issuer = issuer_for(settings.issuer_type, settings.issuer_url, settings.admin_headers(), timeout=30)
    issuer.check_ready()
    if arguments.format == "ld_proof":
        print(f"ISSUER_DID={issuer.create_did_key()}")
        return ExitCode.OK
    print(f"CRED_DEF_ID={bootstrap_anoncreds(issuer)}")
    return ExitCode.OK


def _local_down(_arguments: argparse.Namespace) -> int:
    if not LocalTarget().down():
        print("embedded target: not running")
    return ExitCode.OK


def _local_status(_arguments: argparse.Namespace) -> int:
    status = LocalTarget.status()
    print(json.dumps(status, indent=2))
    return ExitCode.OK if status["running"] else 1


def _plan(arguments: argparse.Namespace) -> int:
    from akrida.cluster.plan import CALIBRATION_FILE, Calibration, HostSize, PlanError, make_plan

    settings = _settings(arguments)
    try:
        calibration = Calibration.load(arguments.calibration or CALIBRATION_FILE)
        made = make_plan(settings, calibration, HostSize.of(settings))
    except PlanError as error:
        print(f"akrida: plan: {error}", file=sys.stderr)
        return ExitCode.BAD_SETTINGS
    print("\n".join(made.reasoning))
    for warning in made.warnings:
        print(f"WARNING: {warning}")
    print(f"WORKERS={made.workers}")
    return ExitCode.OK


def _cluster_provision(arguments: argparse.Namespace) -> int:
    from akrida.cluster import provision  # Terraform and Ansible helpers load only here
    from akrida.cluster.plan import Calibration, HostSize, PlanError, make_plan

    settings = _settings(arguments)
    if settings.cloud == "aws" and not _given(arguments, "workers", "WORKERS"):
        # No WORKERS: as many as the plan for USERS and SCENARIO needs.
        try:
            made = make_plan(settings, Calibration.load(), HostSize.of(settings))
        except PlanError as error:
            raise SettingsError([f"WORKERS is not set and no plan could be made: {error}"]) from None
        print("\n".join(f"plan: {line}" if not line.startswith("plan:") else line for line in made.reasoning))
        for warning in made.warnings:
            print(f"plan: WARNING: {warning}")
        settings = replace(settings, workers=made.workers)
    provision.provision(settings)
    return ExitCode.OK


def _given(arguments: argparse.Namespace, option: str, variable: str) -> bool:
    """True when the user set `variable` (on the command line, in the environment or the .env file)."""
    if getattr(arguments, option, None) is not None or os.environ.get(variable, "").strip():
        return True
    env_file = Path(arguments.env_file or ".env")
    return env_file.is_file() and bool((read_env_file(env_file).get(variable) or "").strip())


def _cluster_prepare(arguments: argparse.Namespace) -> int:
    from akrida.cluster import provision

    result = provision.prepare(_settings(arguments))
    for host, counts in sorted(result.recap.items()):
        print(f"{host}: ok={counts.ok} changed={counts.changed} failed={counts.failed}")
    return ExitCode.OK


def _cluster_teardown(_arguments: argparse.Namespace) -> int:
    from akrida.cluster import provision

    if not provision.teardown():
        print("cluster: nothing to tear down")
    return ExitCode.OK


def _cluster_status(_arguments: argparse.Namespace) -> int:
    cluster = Cluster.current()
    if cluster is None:
        print("cluster: none provisioned (`make provision`)")
        return 1
    print(f"cluster: {cluster.cloud}, {'prepared' if cluster.prepared else 'NOT prepared (provision failed?)'}")
    for host in cluster.hosts:
        print(f"  {host.name:<10} {host.public_ip:<16} private {host.private_ip:<16} {host.root}")
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
