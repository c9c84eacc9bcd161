"""A fault-injecting proxy between the functions and moto, for the e2e fault tier.

The functions reach AWS through it (their AWS_ENDPOINT_URL); the SQS poller and the tests talk
to moto directly. Each request's service is read from its SigV4 credential scope
(`Credential=AKID/date/region/SERVICE/aws4_request`), and a control endpoint sets a fault per
service:

    POST /__faults {"service": "dynamodb", "mode": "refuse"}   the connection is dropped
                                                                unanswered, as by a stopped
                                                                moto or a closed port
    POST /__faults {"service": "ses", "mode": "error500"}      an AWS-shaped 500
    POST /__faults {"service": "dynamodb", "mode": "hang"}     the request is read and never
                                                                answered, as by an endpoint
                                                                that accepts and stalls; held
                                                                until the fault is lifted
                                                                (then dropped) or HANG_LIMIT
    POST /__faults {"service": "*", "mode": "pass"}            every service passes again
    GET  /__faults                                             the current faults, as JSON

moto keeps its state in memory, so stopping it would lose the data a test means to check:
dropping the functions' connections is what a dependency outage looks like from their side.

Given the template's policies (iam.py), it also refuses each DynamoDB request that the calling
function's IAM policy would not allow, as AWS does and moto does not:

    GET  /__iam                                                 the requests refused so far
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from localstack import iam

MODES = ("pass", "refuse", "error500", "hang")
# The longest a hung request is held: past any SDK timeout of the functions, short of the
# e2e client's own 120 s.
HANG_LIMIT = 90.0
CONTROL_PATH = "/__faults"
IAM_PATH = "/__iam"
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")

# Hop-by-hop headers are the proxy's own (RFC 9110, 7.6.1); the rest is relayed as sent.
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
               "proxy-authorization", "proxy-authenticate", "content-length"}


def service_of(authorization: str | None) -> str | None:
    """The AWS service a SigV4-signed request is for, from its Authorization header."""
    match = _SCOPE.search(authorization or "")
    return match.group(1) if match else None


class Faults:
    """The fault of each service; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._modes: dict[str, str] = {}

    def set(self, service: str, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        with self._lock:
            if service == "*":
                self._modes = {} if mode == "pass" else {"*": mode}
            elif mode == "pass":
                self._modes.pop(service, None)
            else:
                self._modes[service] = mode
            self._lock.notify_all()

    def mode(self, service: str | None) -> str:
        with self._lock:
            return self._mode(service)

    def _mode(self, service: str | None) -> str:
        return self._modes.get(service or "", self._modes.get("*", "pass"))

    def hold(self, service: str | None, limit: float = HANG_LIMIT) -> None:
        """Returns once `service` no longer hangs, or after `limit` seconds."""
        with self._lock:
            self._lock.wait_for(lambda: self._mode(service) != "hang", timeout=limit)

    def snapshot(self) -> dict[str, str]:
        with self._lock:
            return dict(self._modes)


def make_handler(upstream: str, faults: Faults,
                 policies: iam.Policies | None = None) -> type[BaseHTTPRequestHandler]:
    target = urllib.parse.urlsplit(upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args) -> None:  # quiet: the functions log their side
            pass

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _control(self) -> None:
            if self.command == "POST":
                try:
                    wanted = json.loads(self._body() or b"{}")
                    faults.set(str(wanted["service"]), str(wanted["mode"]))
                except (ValueError, KeyError, TypeError) as e:
                    self._answer(400, json.dumps({"error": str(e)}).encode(), "application/json")
                    return
            self._answer(200, json.dumps(faults.snapshot()).encode(), "application/json")

        def _handle(self) -> None:
            if self.path.startswith(CONTROL_PATH):
                self._control()
                return
            if self.path.startswith(IAM_PATH):
                denied = policies.denied() if policies else []
                self._answer(200, json.dumps(denied).encode(), "application/json")
                return
            body = self._body()
            service = service_of(self.headers.get("Authorization"))
            mode = faults.mode(service)
            if mode == "hang":
                faults.hold(service)
            if mode in ("refuse", "hang"):
                # No answer at all: the client sees the connection closed under it.
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if mode == "error500":
                failure = {"__type": "InternalFailure", "message": "injected by the fault proxy"}
                self._answer(500, json.dumps(failure).encode(), "application/x-amz-json-1.0")
                return
            operation = iam.dynamodb_operation(self.headers) if service == "dynamodb" else None
            if policies and operation:
                refused = policies.refusal(iam.app_of(self.headers), operation, iam.parse_body(body))
                if refused:
                    print(f"fault proxy: IAM refused: {refused}", flush=True)
                    self._answer(400, iam.access_denied(refused), "application/x-amz-json-1.0")
                    return
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                conn.request(self.command, self.path, body=body, headers=headers)
                reply = conn.getresponse()
                data = reply.read()
                self.send_response(reply.status)
                for key, value in reply.getheaders():
                    if key.lower() not in _HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            finally:
                conn.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle

    return Handler


def serve(host: str, port: int, upstream: str, faults: Faults | None = None,
          policies: iam.Policies | None = None) -> ThreadingHTTPServer:
    """The proxy, bound and ready; the caller runs `serve_forever` (or a thread does)."""
    server = ThreadingHTTPServer((host, port), make_handler(upstream, faults or Faults(), policies))
    server.daemon_threads = True
    return server
