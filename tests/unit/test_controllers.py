"""Another controller is one new module implementing the same small interfaces; ACA-Py's does."""

import http.server
import inspect
import threading

import pytest

from akrida.controllers import ISSUER_TYPES, AcapyAdmin, ControllerError, IssuerController, VerifierController


def interface_methods(protocol):
    return [name for name, member in vars(protocol).items() if inspect.isfunction(member) and not name.startswith("_")]


@pytest.mark.parametrize("controller", sorted(ISSUER_TYPES))
@pytest.mark.parametrize("protocol", [IssuerController, VerifierController])
def test_every_issuer_type_implements_the_controller_interfaces(protocol, controller):
    methods = interface_methods(protocol)
    assert methods, protocol
    cls = ISSUER_TYPES[controller]
    for name in methods:
        implementation = getattr(cls, name, None)
        assert implementation is not None, f"{cls.__name__} lacks {name}"
        expected = list(inspect.signature(getattr(protocol, name)).parameters)
        assert list(inspect.signature(implementation).parameters) == expected, name


def test_admin_client_never_shows_its_headers():
    admin = AcapyAdmin("http://127.0.0.1:9", {"x-api-key": "planted-key-123"})
    assert "planted-key-123" not in repr(admin)


class _Echo(http.server.BaseHTTPRequestHandler):
    """A misbehaving admin API on loopback: errors echo the request's headers; /html answers HTML."""

    def do_GET(self):
        if self.path == "/html":
            body, status, kind = b"<html>a login page</html>", 200, "text/html"
        else:
            body, status, kind = f"bad request; you sent:\n{self.headers}".encode(), 500, "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args):
        pass


@pytest.fixture
def echo_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_an_error_page_that_echoes_the_headers_does_not_leak_them(echo_url):
    admin = AcapyAdmin(echo_url, {"x-api-key": "planted-key-123", "Authorization": "Bearer planted-token-456"})
    with pytest.raises(ControllerError) as caught:
        admin.request("GET", "/status")
    message = str(caught.value)
    assert "failed (500)" in message and "you sent" in message  # the page is shown …
    assert "planted-key-123" not in message and "planted-token-456" not in message  # … without the secrets
    assert "x-api-key: ***" in message.lower()


def test_an_answer_that_is_not_json_names_the_setting(echo_url):
    with pytest.raises(ControllerError, match=r"not JSON \(text/html\): is ISSUER_URL an ACA-Py admin API"):
        AcapyAdmin(echo_url, {}).request("GET", "/html")
