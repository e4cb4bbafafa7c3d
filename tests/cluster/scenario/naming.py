"""A module beside the scenario file: it must reach the worker hosts with it."""


def step_name(name: str) -> str:
    return f"pinger_{name}"
