"""LEDGER_NETWORK: genesis files fetched by name or URL (served here on 127.0.0.1), checked and cached."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from akrida import ledgers
from akrida.controllers import TargetUnreachable

GENESIS = '{"reqSignature":{},"txn":{"data":{"data":{"alias":"Node1"}},"type":"0"},"ver":"1"}\n' * 4


@pytest.fixture
def server() -> Iterator[str]:
    """Serves /genesis (a genesis file) and /other (not one) on a free loopback port."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = {"/genesis": GENESIS, "/other": "<html>nope</html>"}.get(self.path)
            self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write((body or "").encode())

        def log_message(self, *_args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_a_genesis_url_is_fetched_once_and_cached(server: str, tmp_path: Path):
    path = ledgers.genesis_file(f"{server}/genesis", folder=tmp_path)
    assert path.read_text() == GENESIS
    assert ledgers.genesis_file(f"{server}/genesis", folder=tmp_path) == path


def test_what_is_not_a_genesis_file_is_refused(server: str, tmp_path: Path):
    with pytest.raises(TargetUnreachable, match="did not give a genesis file"):
        ledgers.genesis_file(f"{server}/other", folder=tmp_path)
    assert not list(tmp_path.iterdir()), "nothing is cached"


def test_an_unreachable_network_names_the_fix(server: str, tmp_path: Path):
    with pytest.raises(TargetUnreachable, match="set LEDGER_GENESIS_FILE instead"):
        ledgers.genesis_file(f"{server}/missing", folder=tmp_path)


def test_known_networks_are_genesis_urls():
    assert all(url.startswith(("http://", "https://")) for url in ledgers.KNOWN_NETWORKS.values())
    assert ledgers.genesis_url("bcovrin-test") == ledgers.KNOWN_NETWORKS["bcovrin-test"]
