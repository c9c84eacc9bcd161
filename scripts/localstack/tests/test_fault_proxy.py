"""fault_proxy.py: requests pass to the upstream unchanged until a service is given a fault."""

from __future__ import annotations

import http.client
import json
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from localstack.fault_proxy import Faults, serve, service_of

DYNAMODB_AUTH = (
    "AWS4-HMAC-SHA256 Credential=testing/20261202/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=abc"
)
SES_AUTH = DYNAMODB_AUTH.replace("/dynamodb/", "/ses/")


class Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        reply = json.dumps({"echo": body.decode(), "target": self.headers.get("X-Amz-Target")}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


def start(server: ThreadingHTTPServer) -> int:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


class FaultProxy(unittest.TestCase):
    def setUp(self):
        self.upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
        upstream_port = start(self.upstream)
        self.faults = Faults()
        self.proxy = serve("127.0.0.1", 0, f"http://127.0.0.1:{upstream_port}", self.faults)
        self.port = start(self.proxy)

    def tearDown(self):
        self.proxy.shutdown()
        self.upstream.shutdown()

    def post(self, path: str, body: bytes, headers: dict[str, str]):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("POST", path, body=body, headers=headers)
            reply = conn.getresponse()
            return reply.status, reply.read()
        finally:
            conn.close()

    def test_the_service_is_read_from_the_credential_scope(self):
        self.assertEqual(service_of(DYNAMODB_AUTH), "dynamodb")
        self.assertEqual(service_of(SES_AUTH), "ses")
        self.assertIsNone(service_of(None))

    def test_requests_pass_unchanged_without_a_fault(self):
        status, body = self.post("/", b'{"TableName":"t"}', {"Authorization": DYNAMODB_AUTH, "X-Amz-Target": "DynamoDB_20120810.GetItem"})
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), {"echo": '{"TableName":"t"}', "target": "DynamoDB_20120810.GetItem"})

    def test_a_fault_hits_its_service_only_until_it_is_lifted(self):
        status, _ = self.post("/__faults", json.dumps({"service": "ses", "mode": "error500"}).encode(), {})
        self.assertEqual(status, 200)
        self.assertEqual(self.post("/", b"{}", {"Authorization": SES_AUTH})[0], 500)
        self.assertEqual(self.post("/", b"{}", {"Authorization": DYNAMODB_AUTH})[0], 200)
        self.post("/__faults", json.dumps({"service": "dynamodb", "mode": "refuse"}).encode(), {})
        with self.assertRaises((http.client.HTTPException, ConnectionError)):
            self.post("/", b"{}", {"Authorization": DYNAMODB_AUTH})
        self.post("/__faults", json.dumps({"service": "*", "mode": "pass"}).encode(), {})
        self.assertEqual(self.post("/", b"{}", {"Authorization": SES_AUTH})[0], 200)
        self.assertEqual(self.post("/", b"{}", {"Authorization": DYNAMODB_AUTH})[0], 200)

    def test_a_hung_request_is_held_unanswered_until_the_fault_is_lifted(self):
        self.post("/__faults", json.dumps({"service": "dynamodb", "mode": "hang"}).encode(), {})
        outcome: dict[str, object] = {}
        answered = threading.Event()

        def call():
            try:
                outcome["answer"] = self.post("/", b"{}", {"Authorization": DYNAMODB_AUTH})
            except (http.client.HTTPException, ConnectionError) as e:
                outcome["dropped"] = e
            answered.set()

        threading.Thread(target=call, daemon=True).start()
        # Other services pass meanwhile.
        self.assertEqual(self.post("/", b"{}", {"Authorization": SES_AUTH})[0], 200)
        self.assertFalse(answered.is_set(), "a hung request was answered")
        self.post("/__faults", json.dumps({"service": "*", "mode": "pass"}).encode(), {})
        self.assertTrue(answered.wait(10), "a lifted hang still holds the request")
        self.assertIn("dropped", outcome, "a hung request is dropped, never answered")
        self.assertEqual(self.post("/", b"{}", {"Authorization": DYNAMODB_AUTH})[0], 200)

    def test_an_unknown_mode_is_refused(self):
        status, body = self.post("/__faults", json.dumps({"service": "ses", "mode": "explode"}).encode(), {})
        self.assertEqual(status, 400, body)


if __name__ == "__main__":
    unittest.main()
