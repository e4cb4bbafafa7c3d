"""A minimal tails server for the embedded target's revocable AnonCreds credentials.

Revocation needs a tails file per revocation registry. The issuer uploads it, and holders download
it to prove non-revocation. ACA-Py speaks a simple protocol:
- `PUT /<name>` with a multipart form carrying `tails` (the file) and `genesis`, which this server
  ignores;
- `GET /<name>` returns the file.

This server implements just that, on loopback, for load tests only.

    python -m akrida.local.tails --host 127.0.0.1 --port 8106 --directory DIR
"""

from __future__ import annotations

import argparse
import re
from email.parser import BytesParser
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# Revocation registry ids and tails hashes: letters, digits and : _ - . (no slashes, no ..).
SAFE_NAME = re.compile(r"^[A-Za-z0-9:_\-.]{1,200}$")
MAX_UPLOAD_BYTES = 256 * 2**20


class TailsHandler(BaseHTTPRequestHandler):
    directory: Path

    def _name(self) -> str | None:
        name = self.path.lstrip("/").replace("%3A", ":").replace("%3a", ":")
        return name if SAFE_NAME.match(name) and ".." not in name else None

    def do_GET(self) -> None:
        name = self._name()
        path = self.directory / name if name else None
        if path is None or not path.is_file():
            self.send_error(404, "no such tails file")
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self) -> None:
        name = self._name()
        length = int(self.headers.get("Content-Length") or 0)
        if name is None or not 0 < length <= MAX_UPLOAD_BYTES:
            self.send_error(400, "bad name or size")
            return
        body = self.rfile.read(length)
        header = f"Content-Type: {self.headers.get('Content-Type', '')}\r\n\r\n".encode()
        message = BytesParser(policy=default_policy).parsebytes(header + body)
        tails = next(
            (
                part.get_payload(decode=True)
                for part in message.iter_parts()
                if part.get_param("name", header="content-disposition") == "tails"
            ),
            None,
        )
        if not isinstance(tails, bytes) or not tails:
            self.send_error(400, "the form has no tails file")
            return
        (self.directory / name).write_bytes(tails)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(name.encode())

    def log_message(self, format: str, *args) -> None:
        print(f"{self.address_string()} {format % args}", flush=True)


def serve(host: str, port: int, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    handler = type("Handler", (TailsHandler,), {"directory": directory})
    with ThreadingHTTPServer((host, port), handler) as server:
        print(f"tails server on http://{host}:{port}, files in {directory}", flush=True)
        server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description="A minimal tails server for the embedded target")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--directory", type=Path, required=True)
    arguments = parser.parse_args()
    serve(arguments.host, arguments.port, arguments.directory)


if __name__ == "__main__":
    main()
