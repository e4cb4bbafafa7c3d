"""Reading a .env file: NAME=VALUE lines, every line that cannot be read named by number."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from akrida.settings.declaring import SettingsError


def read_env_file(path: Path) -> dict[str, str]:
    """The variables of a .env file. A line that cannot be read, or a file that is not UTF-8, is a
    SettingsError naming it: silently keeping defaults would run a test the user did not ask for."""
    if _is_dev_null(path):
        return {}  # `--env-file /dev/null`: no settings file
    try:
        kind = _file_kind(path.stat().st_mode)
        if kind is not None:  # reading a FIFO waits for a writer forever; a directory or device is no .env
            raise SettingsError([f"{path}: a {kind}, not a regular file: give a file of NAME=VALUE lines"])
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise SettingsError([f"{path}: not UTF-8 text (byte {error.start}): save it as UTF-8"]) from None
    except OSError as error:
        raise SettingsError([f"{path}: cannot read it ({error.strerror})"]) from None
    problems: list[tuple[int, str]] = []
    for binding in parse_stream(io.StringIO(text)):
        line, shown = binding.original.line, binding.original.string.strip()[:80]
        if binding.error:
            problems.append((line, f"cannot read {shown!r}: expected NAME=VALUE (quote values with spaces or #)"))
        elif binding.key is not None and binding.value is None:  # a bare NAME, which dotenv drops in silence
            problems.append((line, f"{shown!r} has no '=': expected NAME=VALUE (NAME= for an empty value)"))
    if problems:
        raise SettingsError([f"{path} line {line}: {problem}" for line, problem in problems])
    return {key: value for key, value in dotenv_values(stream=io.StringIO(text)).items() if value is not None}


def _is_dev_null(path: Path) -> bool:
    try:
        return os.path.samefile(path, os.devnull)
    except OSError:
        return False


def _file_kind(mode: int) -> str | None:
    """What a path that is not a regular file is, in words; None for a regular file."""
    for test, kind in ((stat.S_ISFIFO, "FIFO (named pipe)"), (stat.S_ISDIR, "directory"), (stat.S_ISSOCK, "socket"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device")):  # fmt: skip
        if test(mode):
            return kind
    return None
