"""Files that settings name, read before anything starts: a broken one is a setting's error, not the
target's (every holder's start would fail on a bad genesis file)."""

from __future__ import annotations

from pathlib import Path

from akrida.parsers import InvalidValue, genesis_problem, parse_query_lines


def query_file_problems(path: Path) -> list[str]:
    try:
        parse_query_lines(path.read_text(errors="replace"))
    except FileNotFoundError:
        return [f"TARGET_PROMETHEUS_QUERIES={path}: no such file"]
    except OSError as error:
        return [f"TARGET_PROMETHEUS_QUERIES={path}: cannot read it ({error.strerror})"]
    except InvalidValue as error:
        return [f"TARGET_PROMETHEUS_QUERIES={path}: {error}"]
    return []


def genesis_file_problems(path: Path) -> list[str]:
    # Read here, before load: a broken file would otherwise fail every holder's start, blamed on the target.
    try:
        problem = genesis_problem(path.read_text(errors="replace"))
    except FileNotFoundError:
        return [f"LEDGER_GENESIS_FILE={path}: no such file"]
    except OSError as error:
        return [f"LEDGER_GENESIS_FILE={path}: cannot read it ({error.strerror})"]
    return [f"LEDGER_GENESIS_FILE={path}: not an Indy genesis file: {problem}"] if problem else []
