"""The embedded target's tails server, spoken to as ACA-Py uploads and Credo downloads."""

import http.client
import threading
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer

import pytest
import requests

from akrida.local.tails import TailsHandler


@pytest.fixture
def tails_url(tmp_path):
    handler = type("Handler", (TailsHandler,), {"directory": tmp_path})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_upload_then_download(tails_url, tmp_path):
    name = "V4SGRU86Z58d6TV7PBUe6f:4:V4SGRU86Z58d6TV7PBUe6f:3:CL:8:revocable:CL_ACCUM:1"
    tails = bytes(range(256)) * 40
    uploaded = requests.put(
        f"{tails_url}/{name}", files={"tails": ("tails", tails)}, data={"genesis": "{}"}, timeout=10
    )
    assert uploaded.status_code == 200
    downloaded = requests.get(f"{tails_url}/{name}", timeout=10)
    assert downloaded.status_code == 200 and downloaded.content == tails


@pytest.mark.parametrize("path", ["/../escape", "/a/b", "/", "/..%2Fescape"])
def test_names_cannot_leave_the_folder(tails_url, tmp_path, path):
    # http.client sends the path as given; requests would normalise "../" away.
    host, port = tails_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("PUT", path, body=b"x", headers={"Content-Type": "application/octet-stream"})
    assert connection.getresponse().status == 400
    assert not (tmp_path.parent / "escape").exists()


def test_unknown_file_is_404(tails_url):
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{tails_url}/nothing", timeout=10)
    assert caught.value.code == 404


def test_upload_without_tails_part_is_refused(tails_url):
    response = requests.put(f"{tails_url}/x", files={"genesis": ("g", b"{}")}, timeout=10)
    assert response.status_code == 400
