"""A small agent of the seed protocol, in Python, for the tests (AGENT_SCRIPT=tests/seed_agent.py
AGENT_PROTOCOL=seed).

It is NOT a DIDComm agent: it has no wallet and takes no mediation. What it does for real:
- `start` reads the mediator's invitation from MEDIATION_URL (with mediation), decodes it, and
  checks that the mediator's endpoint accepts a TCP connection;
- `ping_mediator` sends the mediator's endpoint an HTTP request and times the answer (any HTTP
  answer is a live mediator; no answer within 10 s is "Mediator timeout!");
- `receiveInvitation` decodes the out-of-band invitation and answers a made-up connection id;
- `shutdown` answers and exits.
Its log (stderr) has each request exactly as received, and the id of the invitation in MEDIATION_URL.
SEED_MISBEHAVE=hang:<cmd> never answers <cmd>; SEED_MISBEHAVE=garbage:<cmd> answers it with a line
that is not JSON. Logs go to stderr, one line per command.
"""

import base64
import json
import os
import socket
import sys
import time
import uuid
from urllib.parse import parse_qs, urlsplit


def decode(url):
    query = parse_qs(urlsplit(url).query)
    encoded = (query.get("oob") or query.get("c_i") or [""])[0]
    return json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))


def endpoint_of(invitation):
    for service in invitation.get("services", []):
        if isinstance(service, dict) and str(service.get("serviceEndpoint", "")).startswith("http"):
            return service["serviceEndpoint"]
    raise ValueError("the invitation has no HTTP service endpoint")


def http_answer(endpoint, timeout=10.0):
    parts = urlsplit(endpoint)
    began = time.monotonic()
    with socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout) as connection:
        connection.sendall(f"GET {parts.path or '/'} HTTP/1.0\r\nHost: {parts.hostname}\r\n\r\n".encode())
        first = connection.recv(64)
    if not first.startswith(b"HTTP/"):
        raise ConnectionError(f"no HTTP answer from {endpoint}")
    return int((time.monotonic() - began) * 1000)


def handle(request, state):
    command = request.get("cmd")
    if command == "start":
        if request.get("withMediation"):
            url = os.environ.get("MEDIATION_URL", "")
            if not url or " " in url:
                return 1, f"MEDIATION_URL should hold this holder's one invitation, not {url[:80]!r}"
            state["mediator"] = endpoint_of(decode(url))
            state["invitation"] = decode(url).get("@id")
            print(f"seed agent {os.getpid()} mediator invitation {state['invitation']}", file=sys.stderr, flush=True)
            parts = urlsplit(state["mediator"])
            socket.create_connection((parts.hostname, parts.port or 80), timeout=10).close()
        return 0, {"label": f"python-seed-{os.getpid()}", "invitation": state.get("invitation")}
    if command == "ping_mediator":
        if "mediator" not in state:
            return 1, "no mediator: start with withMediation first"
        try:
            return 0, {"roundTripMs": http_answer(state["mediator"])}
        except OSError:
            return 1, "Mediator timeout!"
    if command == "receiveInvitation":
        invitation = decode(request.get("invitationUrl", ""))
        return 0, {"connectionId": str(uuid.uuid4()), "invitationId": invitation.get("@id")}
    if command == "shutdown":
        return 0, {}
    return 1, f"unknown command {command!r}"


def main():
    state = {}
    misbehave = os.environ.get("SEED_MISBEHAVE", "")
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            print(f"seed agent {os.getpid()} received {json.dumps(request)}", file=sys.stderr, flush=True)
            if misbehave == f"hang:{request.get('cmd')}":
                time.sleep(3600)
            if misbehave == f"garbage:{request.get('cmd')}":
                print("this is not JSON", flush=True)
                continue
            error, result = handle(request, state)
        except Exception as failure:  # every request gets a reply, even one that broke the agent
            error, result, request = 1, f"{type(failure).__name__}: {failure}", {}
        print(json.dumps({"error": error, "result": result}), flush=True)
        if request.get("cmd") == "shutdown":
            return


if __name__ == "__main__":
    main()
