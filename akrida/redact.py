"""Secrets never reach a terminal, a log or a traceback: every text a process prints passes here.

Validation keeps a malformed key out (ISSUER_API_KEY must be printable ASCII), but a library's
error message may still quote a value it was handed (`requests` quotes a refused header value).
So each akrida process (the CLI and every Locust process) masks the secret values it holds in what
it writes to stderr, in its log records and in gevent's greenlet tracebacks.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import TextIO

MASK = "***"
SHORTEST_SECRET = 4  # masking "a" would garble every line; a key that short is no secret anyway


def variants(secret: str) -> set[str]:
    """The forms a value takes in print: as is, and as repr() quotes it (escaped line breaks …)."""
    return {secret, repr(secret)[1:-1], secret.strip()}


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()):
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        found = {form for secret in secrets if secret for form in variants(secret) if len(form) >= SHORTEST_SECRET}
        self.secrets = sorted(set(self.secrets) | found, key=len, reverse=True)  # longest first: no partial masks

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


class RedactingStream:
    """A text stream that masks secrets in everything written to it."""

    def __init__(self, stream: TextIO, redactor: Redactor):
        self._stream = stream
        self._redactor = redactor

    def write(self, text: str) -> int:
        self._stream.write(self._redactor(text))
        return len(text)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


class RedactingFilter(logging.Filter):
    """Masks secrets in a log record's message and traceback, whatever handler formats it."""

    def __init__(self, redactor: Redactor):
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.redactor(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor(record.exc_text)
        return True


_installed: Redactor | None = None


def protect_output(secrets: Iterable[str]) -> Redactor:
    """Masks `secrets` in this process's stderr and log handlers from now on; called again, it adds
    the new secrets (and the handlers made since, such as Locust's once it set up its logging)."""
    global _installed
    if _installed is None:
        _installed = Redactor()
        sys.stderr = RedactingStream(sys.stderr, _installed)
    _installed.add(secrets)
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in list(logging.Logger.manager.loggerDict))]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(existing, RedactingFilter) for existing in handler.filters):
                handler.addFilter(RedactingFilter(_installed))
    gevent_hub = sys.modules.get("gevent.hub")
    if gevent_hub is not None:
        # gevent prints a greenlet's traceback to the stream it found at start, not to sys.stderr.
        gevent_hub.get_hub().exception_stream = sys.stderr
    return _installed
