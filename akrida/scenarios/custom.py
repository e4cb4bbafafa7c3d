"""A scenario file of the user's own (SCENARIO=path/to/file.py): loading it into Locust, its own
settings, and checking it before any holder starts.

`akrida run` checks the file in a child process (`python -m akrida.scenarios.custom check FILE OUT`,
see akrida/userscenario.py), because loading it runs the user's code and imports Locust, which
patches the standard library with gevent. The same loader then runs in every Locust process,
through locustfiles/custom.py.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Generic, TypeVar

from locust import User, events
from locust.env import Environment

from akrida import paths
from akrida.parsers import InvalidValue
from akrida.scenarios.options import env_file, read, variables  # also registers Akrida's settings as options
from akrida.settings import SETTINGS

T = TypeVar("T")
MODULE_PREFIX = "akrida_user_scenario_"


class ScenarioFileError(Exception):
    """The file cannot serve as a scenario; each problem names the file (and the line, where there is one)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class OwnSetting(Generic[T]):
    """A setting a scenario file declares for itself (`setting(...)` in akrida.scenarios.api). It is
    read as Akrida's own are: a variable, a line of .env or a Locust option (--phone-interval), and
    reaches the workers of a distributed run with Locust's own arguments."""

    name: str
    parse: Callable[[str], T]
    help: str
    default: str
    secret: bool
    declared_at: str  # "file line N"

    @property
    def destination(self) -> str:
        return self.name.lower()

    def raw(self, environment: Environment | None = None) -> str:
        options = environment.parsed_options if environment is not None else None
        value = read(options, [(self.name, self.destination)]).get(self.name)
        return value if value else self.default

    def value(self, environment: Environment | None = None) -> T:
        """The setting's value in this Locust process (a user's `self.environment`)."""
        return self.parse(self.raw(environment))


OWN_SETTINGS: dict[str, OwnSetting[Any]] = {}
_AKRIDA_NAMES = frozenset(declared.env for declared in SETTINGS)


def declare(name: str, parse: Callable[[str], T], help: str, default: str, secret: bool, depth: int) -> OwnSetting[T]:
    caller = inspect.stack()[depth]
    declared_at = f"{caller.filename} line {caller.lineno}"
    if not name.isupper() or not name.replace("_", "").isalnum() or not name[0].isalpha():
        raise ValueError(f"{declared_at}: setting {name!r}: name it in capitals, digits and _, such as PHONE_INTERVAL")
    if name in _AKRIDA_NAMES:
        raise ValueError(f"{declared_at}: setting {name} is one of Akrida's own settings: choose another name")
    previous = OWN_SETTINGS.get(name)
    if previous is not None and previous.declared_at != declared_at:
        raise ValueError(f"{declared_at}: setting {name} is declared already, at {previous.declared_at}")
    own = OwnSetting(name, parse, help, default, secret, declared_at)
    OWN_SETTINGS[name] = own
    return own


@events.init_command_line_parser.add_listener
def _add_own_settings(parser: Any, **_kwargs: Any) -> None:
    for own in OWN_SETTINGS.values():
        parser.add_argument(
            "--" + own.destination.replace("_", "-"),
            env_var=own.name,
            default=env_file().get(own.name) or own.default,
            help=own.help,
            is_secret=own.secret,
        )


# --- loading -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    user: type[User]
    line: int
    files: list[str]  # every user file the scenario loaded, the scenario file first


def load(path: Path) -> Loaded:
    """Imports the scenario file and finds its one user class; raises ScenarioFileError otherwise."""
    if not path.is_file():
        raise ScenarioFileError([f"SCENARIO={path}: no such file"])
    try:
        source = path.read_text()
        compile(source, str(path), "exec")
    except SyntaxError as error:
        raise ScenarioFileError([f"{path} line {error.lineno}: {error.msg}"]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioFileError([f"{path}: cannot read it ({error})"]) from None
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # so that the file can import modules beside it
    before = set(sys.modules)
    name = MODULE_PREFIX + "".join(c if c.isalnum() else "_" for c in path.stem)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # the user's code failed as it loaded: name where
        raise ScenarioFileError([_where_it_failed(path, error)]) from None
    user, line = _the_user_class(path, module)
    # The modules it brought in from its own folder are user files too (shipped and hashed with it).
    files = [str(path.resolve())]
    for key in sorted(set(sys.modules) - before):
        file = getattr(sys.modules[key], "__file__", None)
        if file and _is_user_file(Path(file), path.parent.resolve()):
            files.append(str(Path(file).resolve()))
    return Loaded(user, line, list(dict.fromkeys(files)))


def _the_user_class(path: Path, module: ModuleType) -> tuple[type[User], int]:
    from akrida.scenarios.base import HolderUser

    found = sorted(
        ((_line_of(value), value) for value in vars(module).values()
         if inspect.isclass(value) and issubclass(value, User) and value.__module__ == module.__name__
         and not value.__dict__.get("abstract", False)),
        key=lambda pair: pair[0],
    )  # fmt: skip
    if not found:
        lines = len(path.read_text().splitlines())
        raise ScenarioFileError(
            [
                f"{path} line {lines}: no scenario class by the end of the file: define one class that subclasses "
                "HolderUser (`from akrida.scenarios.api import HolderUser`)"
            ]
        )
    if len(found) > 1:
        named = " and ".join(f"line {line}: {user.__name__}" for line, user in found)
        raise ScenarioFileError(
            [f"{path} {named} are each a scenario class: keep one, or mark the others `abstract = True`"]
        )
    line, user = found[0]
    if issubclass(user, HolderUser) and user.iteration is HolderUser.iteration:
        raise ScenarioFileError(
            [f"{path} line {line}: {user.__name__} has no iteration(): write what each holder repeats"]
        )
    return user, line


def _line_of(value: type) -> int:
    try:
        return inspect.getsourcelines(value)[1]
    except (OSError, TypeError):
        return 0


def _where_it_failed(path: Path, error: Exception) -> str:
    """`file line N: Error: message`, at the deepest frame in a user file (the scenario's folder)."""
    folder = path.parent.resolve()
    frames = [
        frame for frame in traceback.extract_tb(error.__traceback__) if _is_user_file(Path(frame.filename), folder)
    ]
    where = f"{frames[-1].filename} line {frames[-1].lineno}" if frames else str(path)
    return f"{where}: {type(error).__name__}: {error} (while loading the scenario)"


def _is_user_file(file: Path, folder: Path) -> bool:
    try:
        resolved = file.resolve()
    except OSError:
        return False
    # A scenario beside Akrida's checkout (its folder the checkout's root) must not take Akrida or its
    # Python environment for user files.
    others = ((paths.ROOT / "akrida").resolve(), Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve())
    return (
        resolved.is_relative_to(folder)
        and not any(resolved.is_relative_to(other) for other in others)
        and "site-packages" not in resolved.parts
    )


def scenario_class() -> type[User]:
    """The user class of SCENARIO's file, for locustfiles/custom.py; exits naming the problem otherwise."""
    scenario = variables().get("SCENARIO", "")
    if not scenario.endswith(".py"):
        raise SystemExit(f"akrida: locustfiles/custom.py loads SCENARIO=path/to/file.py; SCENARIO is {scenario!r}")
    try:
        return load(Path(scenario)).user
    except ScenarioFileError as error:
        raise SystemExit(f"akrida: the scenario file cannot be used:\n{error}") from None


# --- the check before a run ------------------------------------------------------------------------------


def check(path: Path) -> dict[str, Any]:
    """What `akrida run` needs to know of a scenario file, or its problems."""
    try:
        loaded = load(path)
    except ScenarioFileError as error:
        return {"problems": error.problems}
    except ValueError as error:  # a setting declared wrongly
        return {"problems": [str(error)]}
    problems = []
    for own in OWN_SETTINGS.values():
        raw = os.environ.get(own.name) or own.default
        try:
            own.parse(raw)
        except (InvalidValue, ValueError) as error:
            shown = "***" if own.secret else repr(raw)
            problems.append(f"{own.name}={shown}: {error} (declared in {own.declared_at})")
    user = loaded.user
    return {
        "problems": problems,
        "class": user.__name__,
        "line": loaded.line,
        "needs_mediator": bool(getattr(user, "needs_mediator", False)),
        "needs_issuer": bool(getattr(user, "needs_issuer", False)),
        "files": loaded.files,
        "settings": [
            {key: value for key, value in asdict(own).items() if key != "parse"} for own in OWN_SETTINGS.values()
        ],
    }


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] != "check":
        print("usage: python -m akrida.scenarios.custom check FILE OUT", file=sys.stderr)
        return 2
    result = check(Path(argv[1]))
    Path(argv[2]).write_text(json.dumps(result))  # a file: the user's code may print to stdout
    return 0


if __name__ == "__main__":
    # Run as __main__, this file is a copy of itself: the scenario's `setting(...)` calls reach the
    # module that akrida.scenarios.api imports, whose registry is the one to read.
    from akrida.scenarios.custom import main as _main

    sys.exit(_main(sys.argv[1:]))
