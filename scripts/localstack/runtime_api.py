"""An emulated Lambda Runtime API (2018-06-01) on 127.0.0.1, for `make bench-lambda`: one
function process at a time polls `GET /2018-06-01/runtime/invocation/next`, gets the event with
the `Lambda-Runtime-Aws-Request-Id`, `-Deadline-Ms`, `-Invoked-Function-Arn` and `-Trace-Id`
headers, and posts `.../{id}/response` or `.../{id}/error` (or `/init/error` before its first
poll). The times taken are `time.perf_counter_ns()`: when each `next` arrives (the first is the
end of init), when an event is handed out (just before its answer is written) and when the
response's headers have been read.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"


class QuietServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that says nothing when a client (a stopped function) drops its
    connection."""

    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """A request's body, by its Content-Length or chunked (hyper sends either)."""
    if "chunked" in (handler.headers.get("transfer-encoding") or "").lower():
        out = bytearray()
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(out)
            out += handler.rfile.read(size)
            handler.rfile.readline()
    length = int(handler.headers.get("content-length") or 0)
    return handler.rfile.read(length) if length else b""


@dataclass
class Outcome:
    """What the function answered one invocation with."""

    request_id: str
    kind: str  # "response" or "error"
    body: bytes
    handed_ns: int
    posted_ns: int

    @property
    def duration_ns(self) -> int:
        return self.posted_ns - self.handed_ns

    def json(self):
        return json.loads(self.body)


@dataclass
class _Pending:
    request_id: str
    event: bytes
    deadline_ms: int
    handed_ns: int = 0
    done: queue.Queue = field(default_factory=lambda: queue.Queue(maxsize=1))


class RuntimeApi:
    """The emulator. `invoke(event)` hands the event to the next `next` poll and waits for the
    function's answer; `first_next_ns` is when the first poll arrived; `init_error` what an
    `/init/error` said."""

    def __init__(self, function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:bench"):
        self.function_arn = function_arn
        self.events: queue.Queue[_Pending] = queue.Queue()
        self.pending: dict[str, _Pending] = {}
        self.lock = threading.Lock()
        self.first_next_ns: int | None = None
        self.first_next = threading.Event()
        self.init_error: bytes | None = None
        self.unexpected: list[str] = []
        self.server = QuietServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> "RuntimeApi":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for_init(self, timeout: float) -> bool:
        """Whether the function polled for its first event (or reported an init error) in time."""
        return self.first_next.wait(timeout)

    def invoke(self, event: bytes, timeout: float = 30.0, deadline_s: float = 29.0) -> Outcome:
        """Hands `event` to the function and waits for its answer (TimeoutError after `timeout`)."""
        pending = _Pending(str(uuid.uuid4()), event, int((time.time() + deadline_s) * 1000))
        with self.lock:
            self.pending[pending.request_id] = pending
        self.events.put(pending)
        try:
            return pending.done.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no answer to invocation {pending.request_id} in {timeout} s") from None
        finally:
            with self.lock:
                self.pending.pop(pending.request_id, None)

    def _answered(self, request_id: str, kind: str, body: bytes, posted_ns: int) -> bool:
        with self.lock:
            pending = self.pending.get(request_id)
        if pending is None:
            return False
        pending.done.put(Outcome(request_id, kind, body, pending.handed_ns, posted_ns))
        return True

    def _handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without this, Nagle holds the body
            # back for the client's delayed ACK (40 ms).
            disable_nagle_algorithm = True

            def _reply(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    api.unexpected.append(f"GET {self.path}")
                    self._reply(404)
                    return
                if api.first_next_ns is None:
                    api.first_next_ns = time.perf_counter_ns()
                    api.first_next.set()
                pending = api.events.get()
                pending.handed_ns = time.perf_counter_ns()
                self._reply(200, pending.event, {
                    "Lambda-Runtime-Aws-Request-Id": pending.request_id,
                    "Lambda-Runtime-Deadline-Ms": str(pending.deadline_ms),
                    "Lambda-Runtime-Invoked-Function-Arn": api.function_arn,
                    "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0",
                })

            def do_POST(self) -> None:
                posted_ns = time.perf_counter_ns()
                body = read_body(self)
                if self.path == f"{PREFIX}/init/error":
                    api.init_error = body or b"init error"
                    api.first_next.set()
                    self._reply(202, b'{"status":"OK"}')
                    return
                parts = self.path[len(PREFIX):].strip("/").split("/")
                if self.path.startswith(PREFIX) and len(parts) == 3 and parts[0] == "invocation" \
                        and parts[2] in ("response", "error"):
                    if api._answered(parts[1], parts[2], body, posted_ns):
                        self._reply(202, b'{"status":"OK"}')
                        return
                api.unexpected.append(f"POST {self.path}")
                self._reply(400, b'{"errorMessage":"unknown invocation"}')

            def log_message(self, *args) -> None:
                pass

        return Handler
