"""Secrets never reach stderr, a log or a traceback: a library's error that quotes a key is masked."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from akrida.redact import MASK, Redactor

KEY = "secret-2b7f-key"


def test_a_secret_is_masked_as_is_and_as_repr_quotes_it():
    redact = Redactor([KEY + "\n"])
    assert redact(f"header value {KEY!r} and {(KEY + chr(10))!r}") == f"header value '{MASK}' and '{MASK}'"
    assert Redactor(["ab"])("ab cab") == "ab cab"  # too short to be a secret: masking it would garble text


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60)


def test_a_traceback_a_log_record_and_a_greenlet_error_show_no_secret(tmp_path):
    # A real process: gevent, logging set up as Locust sets it up (after the first protection, to the
    # console and to a log file, as --logfile does) and an uncaught error whose message quotes the
    # key, as `requests` quotes a refused header value.
    log = tmp_path / "locust.log"
    result = run_python(
        f"""
        import logging, gevent
        from akrida.redact import protect_output
        protect_output([{KEY!r}])
        logging.basicConfig(level=logging.INFO)
        logging.getLogger().addHandler(logging.FileHandler({str(log)!r}))
        protect_output([])  # the runtime calls it again once Locust's handlers exist
        logging.getLogger("x").info("sending x-api-key %s", {KEY!r})
        try:
            raise ValueError("bad header " + {KEY!r})
        except ValueError:
            logging.getLogger("x").exception("request failed")
        gevent.spawn(lambda: 1 / 0 if False else (_ for _ in ()).throw(RuntimeError({KEY!r}))).join()
        raise RuntimeError("Invalid header value " + repr({KEY!r} + "\\n"))
        """
    )
    assert result.returncode == 1
    assert KEY not in result.stderr, result.stderr
    assert result.stderr.count(MASK) >= 4, result.stderr  # each of the four outputs was printed, masked
    assert "Traceback" in result.stderr and "RuntimeError: Invalid header value" in result.stderr
    assert KEY not in log.read_text() and log.read_text().count(MASK) == 2, log.read_text()
