"""Parsers for setting values: each takes the raw text of one variable and returns the typed value,
or raises InvalidValue with the "expected …" half of the error message (settings.py adds the name)."""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from akrida.invitation import InvitationError, decode_invitation
from akrida.slo import GateSyntaxError, parse_gates


class InvalidValue(ValueError):
    """Raised by a parser with the 'expected …' half of the message."""


_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


# Linux's largest pid_max (2^22): a larger number cannot be a process.
MAX_PID = 4_194_304


def parse_pid(raw: str) -> int:
    """A process id on this machine (TARGET_PROFILE_PID)."""
    value = raw.strip()
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_PID:
        raise InvalidValue(f"expected a process id, a whole number from 1 to {MAX_PID} (e.g. from `pgrep -f aca-py`)")
    return int(value)


def parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidValue("expected true/false, 1/0 or yes/no")


def _ascii_digits(raw: str) -> str:
    """The text, if it is plain ASCII: Python's int() and float() also read full-width and
    Arabic-Indic digits, which no other tool in a run (Locust, Node, a shell) would."""
    if not raw.isascii():
        raise ValueError(raw)
    return raw.strip()


def integer(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(_ascii_digits(raw))
        except ValueError:
            value = None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            bound = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
            raise InvalidValue(f"expected a whole number {bound}")
        return value

    return parse


def number(minimum: float, maximum: float | None = None, why: str = "") -> Callable[[str], float]:
    """A finite number within the bounds; `why` explains the maximum in the message."""

    def parse(raw: str) -> float:
        try:
            value = float(_ascii_digits(raw))
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or value < minimum or (maximum is not None and value > maximum):
            bound = (
                f"from {_shown(minimum)} to {_shown(maximum)}{why}"
                if maximum is not None
                else f"of at least {_shown(minimum)}"
            )
            raise InvalidValue(f"expected a finite number {bound}")
        return value

    return parse


def _shown(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise InvalidValue(f"expected one of {', '.join(choices)}")
        return value

    return parse


# Locust's units; a bare number (seconds) only on its own, so "1h30" is an error, not 1h and 30 s.
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$|^(\d+)$", re.ASCII)
# Longer than any load test, short enough for every timer that must fire at its end (gevent's, in
# Locust, overflows on a C long); a soak of weeks is several runs.
MAX_DURATION_S = 30 * 24 * 3600


def parse_duration(raw: str) -> int:
    """Locust's run-time syntax (`90`, `90s`, `5m`, `1h30m`) to seconds."""
    match = _DURATION.match(raw.strip().lower())
    if not raw.strip() or not match or not any(match.groups()):
        raise InvalidValue("expected a duration such as 60s, 5m or 1h30m")
    hours, minutes, seconds, bare = (int(part or 0) for part in match.groups())
    seconds += bare
    total = hours * 3600 + minutes * 60 + seconds
    if total < 1:
        raise InvalidValue("expected a duration of at least 1s")
    if total > MAX_DURATION_S:
        raise InvalidValue(f"expected a duration of at most 30 days ({MAX_DURATION_S}s); split a longer soak into runs")
    return total


Stage = tuple[int, int]  # (seconds, users at its end)


def parse_stages(raw: str) -> tuple[Stage, ...]:
    """k6's stages: `2m:1000,10m:1000,1m:0`, each a duration and the users to reach by its end."""
    stages = []
    for part in raw.split(","):
        duration, colon, users = part.strip().partition(":")
        if not colon:
            raise InvalidValue(f"cannot read {part.strip()!r}: expected DURATION:USERS, e.g. 2m:1000,10m:1000,1m:0")
        try:
            seconds = parse_duration(duration)
        except InvalidValue:
            raise InvalidValue(f"{part.strip()!r}: {duration.strip()!r} is not a duration such as 90s or 2m") from None
        if not (users.strip().isascii() and users.strip().isdigit()):
            raise InvalidValue(f"{part.strip()!r}: {users.strip()!r} is not a whole number of users")
        stages.append((seconds, int(users)))
    if not any(users for _seconds, users in stages):
        raise InvalidValue("every stage has 0 users: give at least one stage a target above 0")
    return tuple(stages)


def parse_search_step(raw: str) -> tuple[int, int]:
    """FIND_LIMIT's `HOLDERS/TIME`: each step adds HOLDERS and holds them for TIME (`250/2m`)."""
    holders, slash, duration = raw.strip().partition("/")
    if not slash or not (holders.strip().isascii() and holders.strip().isdigit()) or int(holders) < 1:
        raise InvalidValue("expected HOLDERS/TIME, the holders each step adds and how long it holds them, e.g. 250/2m")
    try:
        seconds = parse_duration(duration)
    except InvalidValue:
        raise InvalidValue(f"{duration.strip()!r} is not a duration such as 90s or 2m: expected HOLDERS/TIME") from None
    if seconds < MIN_SEARCH_STEP_S:
        raise InvalidValue(f"a step must hold for at least {MIN_SEARCH_STEP_S}s to judge it (expected HOLDERS/TIME)")
    return int(holders), seconds


MIN_SEARCH_STEP_S = 10


def parse_port_range(raw: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", raw)
    if not match:
        raise InvalidValue("expected FIRST-LAST, for example 10000-10999")
    first, last = int(match[1]), int(match[2])
    if not 1024 <= first <= last <= 65535:
        raise InvalidValue("expected 1024 <= FIRST <= LAST <= 65535")
    return first, last


def genesis_problem(text: str) -> str | None:
    """What is wrong with an Indy genesis file (one JSON transaction with a `txn` per line), or None."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return "it is empty"
    for number, line in enumerate(lines, 1):
        try:
            transaction = json.loads(line)
        except ValueError:
            return f"transaction {number} is not JSON"
        if not isinstance(transaction, dict) or "txn" not in transaction:
            return f"transaction {number} has no txn"
    return None


def parse_http_url(raw: str) -> str:
    value = raw.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidValue("expected an http(s) URL such as http://127.0.0.1:8031")
    return value


def parse_invitation_urls(raw: str) -> str:
    """One invitation URL, or several separated by spaces (holders are spread across them)."""
    urls = raw.split()
    for position, url in enumerate(urls, 1):
        try:
            decode_invitation(url)
        except InvitationError as error:
            which = f"invitation {position} of {len(urls)}: " if len(urls) > 1 else ""
            raise InvalidValue(f"expected a DIDComm invitation URL with ?oob=… or ?c_i=… ({which}{error})") from None
    return " ".join(urls)


def parse_count_or_auto(maximum: int) -> Callable[[str], int]:
    """A whole number from 1 to `maximum`, or `auto` (read as 0: the caller decides)."""
    exact = integer(1, maximum)

    def parse(raw: str) -> int:
        if raw.strip().lower() == "auto":
            return 0
        try:
            return exact(raw)
        except InvalidValue:
            raise InvalidValue(f"expected auto or a whole number from 1 to {maximum}") from None

    return parse


def parse_headers(raw: str) -> dict[str, str]:
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InvalidValue('expected a JSON object of strings, for example {"Authorization": "Bearer …"}')
    if any(not " " <= character <= "~" for text in (*value, *value.values()) for character in text):
        raise InvalidValue(
            "header names and values must be printable ASCII: no line breaks, control or non-ASCII characters"
        )
    if any(not name.strip() or name != name.strip() or ":" in name or " " in name for name in value):
        raise InvalidValue("header names cannot be empty or hold spaces or colons")
    return value


def parse_host(raw: str) -> str:
    value = raw.strip()
    if not value or any(c.isspace() for c in value) or "/" in value:
        raise InvalidValue("expected a host name or IP address")
    return value


def parse_host_list(raw: str) -> tuple[str, ...]:
    """Comma-separated host names or addresses; `*` alone stands for every host."""
    hosts = tuple(host.strip() for host in raw.split(",") if host.strip())
    if hosts == ("*",):
        return hosts
    for host in hosts:
        if any(c.isspace() for c in host) or "/" in host or host == "*":
            raise InvalidValue("expected host names or addresses separated by commas (no ports, no URLs), or *")
    return hosts


def parse_path(raw: str) -> Path:
    if not raw.strip():
        raise InvalidValue("expected a folder path")
    return Path(raw.strip())


def parse_text(raw: str) -> str:
    return raw.strip()


def parse_header_value(raw: str) -> str:
    """Text sent as an HTTP header value (an API key): printable ASCII only. A line break would end
    the header (and `requests` refuses it with the value in its message); other characters are
    encoded differently by each client."""
    value = raw.strip()
    if not all(" " <= character <= "~" for character in value):
        raise InvalidValue("expected printable ASCII only: no line breaks, tabs, control or non-ASCII characters")
    return value


def parse_slo(raw: str) -> str:
    try:
        parse_gates(raw, setting="SLO")
    except GateSyntaxError as error:
        raise InvalidValue(str(error).removeprefix("SLO: ")) from None
    return raw.strip()


def parse_cidr(raw: str) -> str:
    """An IPv4 or IPv6 network such as 203.0.113.7/32; a bare address means that one address."""
    text = raw.strip()
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidValue("expected a network in CIDR notation, such as 203.0.113.7/32") from None
    return str(network)


def parse_instance_type(raw: str) -> str:
    text = raw.strip()
    if not re.fullmatch(r"[a-z][a-z0-9-]*\.[a-z0-9]+", text):
        raise InvalidValue("expected an instance type such as c7i.2xlarge")
    return text


def parse_region(raw: str) -> str:
    text = raw.strip()
    if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", text):
        raise InvalidValue("expected an AWS region such as eu-central-1")
    return text


def parse_ledger_network(known: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip()
        if value in known or (urlsplit(value).scheme in ("http", "https") and urlsplit(value).netloc):
            return value
        raise InvalidValue(f"expected one of {', '.join(known)}, or the http(s) URL of a genesis file")

    return parse


# --- the target's own metrics (TARGET_METRICS, TARGET_PROMETHEUS) ---------------------------------------

_SOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", re.ASCII)
_LABEL_MATCHERS = re.compile(r'\s*[A-Za-z_][A-Za-z0-9_]*\s*(=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*(,|$)', re.ASCII)
_METRIC_NAME = re.compile(r"[a-z_][a-z0-9_]*(:[A-Za-z0-9_.-]*)?", re.ASCII)  # pg_connections: too


def _metrics_url(raw: str, what: str, default_path: str) -> str:
    """An http(s) URL that carries no credentials: the run's manifest records it, and a bundle is shared."""
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidValue(f"{raw!r} is not an http(s) URL: expected {what}")
    try:
        parts.port  # noqa: B018 - reading it checks it
    except ValueError:
        raise InvalidValue(f"{raw!r} has no valid port: expected {what}") from None
    if "@" in raw:
        raise InvalidValue(
            f"{parts.scheme}://{parts.hostname}…: credentials in a URL would be written into the run's manifest: "
            "give a URL without user, password or DSN (docs/target-metrics.md)"
        )
    return raw if parts.path not in ("", "/") else parts._replace(path=default_path).geturl()


def parse_exporter_urls(raw: str) -> tuple[tuple[str, str], ...]:
    """TARGET_METRICS: exporter URLs separated by spaces or commas, each optionally `NAME=URL`.
    Returns (name, url) pairs; the name is empty when none was given. A bare host:port gets /metrics."""
    exporters: list[tuple[str, str]] = []
    for entry in re.split(r"[\s,]+", raw.strip()):
        if not entry:
            continue
        name, url = "", entry
        if not entry.startswith(("http://", "https://")):
            name, equals, url = entry.partition("=")
            if not equals or not _SOURCE_NAME.fullmatch(name):
                raise InvalidValue(
                    f"{entry!r}: expected an exporter URL, or NAME=URL with a name of letters, digits, '.', '_' "
                    "or '-', e.g. mediator=http://10.0.0.5:9256/metrics"
                )
        url = _metrics_url(url, "an exporter's URL, e.g. http://10.0.0.5:9100/metrics", "/metrics")
        exporters.append((name, url))
    if not exporters:
        raise InvalidValue("expected exporter URLs, e.g. http://10.0.0.5:9100/metrics mediator=http://10.0.0.5:9256")
    names = [name for name, _url in exporters if name]
    urls = [url for _name, url in exporters]
    for seen, what in ((names, "name"), (urls, "URL")):
        repeated = sorted({item for item in seen if seen.count(item) > 1})
        if repeated:
            raise InvalidValue(f"the {what} {repeated[0]} is given twice: give each exporter once, with its own name")
    return tuple(exporters)


def format_exporter_urls(exporters: tuple[tuple[str, str], ...]) -> str:
    return " ".join(f"{name}={url}" if name else url for name, url in exporters)


def parse_prometheus_url(raw: str) -> str:
    """TARGET_PROMETHEUS: a Prometheus server's base URL (its HTTP API is under /api/v1)."""
    value = raw.strip().rstrip("/")
    if "?" in value or "#" in value:
        raise InvalidValue("expected a Prometheus server's base URL without a query, e.g. http://10.0.0.9:9090")
    return _metrics_url(value, "a Prometheus server's URL, e.g. http://10.0.0.9:9090", "")


def parse_label_matchers(raw: str) -> str:
    """TARGET_PROMETHEUS_SELECTOR: PromQL label matchers, the inside of `{…}`, e.g. `job="mediator"`."""
    value = raw.strip().strip("{}").strip().rstrip(",").strip()
    position = 0
    while position < len(value):
        match = _LABEL_MATCHERS.match(value, position)
        if match is None or match.end() == position:
            raise InvalidValue(
                'expected PromQL label matchers separated by commas, e.g. job="mediator" or '
                'instance=~"10\\\\.0\\\\.0\\\\.5:.*" (write it in single quotes in .env)'
            )
        position = match.end()
    return value


def parse_query_lines(text: str) -> dict[str, str]:
    """A TARGET_PROMETHEUS_QUERIES file: one `METRIC PROMQL` a line; `#` starts a comment line.
    Returns {metric: PromQL}; raises InvalidValue naming the first line it cannot read."""
    queries: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        metric, _space, promql = stripped.partition(" ")
        if not _METRIC_NAME.fullmatch(metric) or not promql.strip():
            raise InvalidValue(
                f"line {number}: expected METRIC PROMQL, e.g. `pg_lock_waits sum(pg_lock_waits_sessions)`, "
                "with a metric name of lower-case letters, digits and '_'"
            )
        if metric in queries:
            raise InvalidValue(f"line {number}: {metric} is given twice: keep one query per metric")
        queries[metric] = promql.strip()
    return queries
