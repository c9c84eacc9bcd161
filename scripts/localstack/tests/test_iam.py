"""iam.py: the template's policies as AWS applies them to the functions' DynamoDB calls, and the
least privilege of the internet-facing punchout-setup function (issue 14, point 6)."""

from __future__ import annotations

import http.client
import json
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from localstack import iam
from localstack.fault_proxy import serve
from localstack.template import load_template

DYNAMODB_AUTH = (
    "AWS4-HMAC-SHA256 Credential=testing/20261203/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=abc"
)
# What aws-sdk-rust sends with an app name (procurement_aws::aws_deps).
SDK_USER_AGENT = "aws-sdk-rust/1.3.9 ua/2.1 api/dynamodb/1.136.0 os/linux lang/rust/1.95.0 app/{}"

# The partitions of what a purchase order makes, and of settings and mail: the catalog and
# setup code must not write any of them.
NOT_THE_CATALOGS = ["AGREEMENT#agmt-1", "ORDER#org-1#PO-1", "CHARGE#chg-1", "PAYLOAD#org-1#p-1",
                    "CONFIRMATION#c-1", "OUTBOX#e-1", "ORG#org-1", "ACCOUNT#123456789012"]
THE_CATALOGS = ["SESSION#s-1", "QUOTE#q-1", "OPENBUY#t-1", "MSGLOG#org-1"]


def put(pk: str) -> dict:
    return {"TableName": "t", "Item": {"PK": {"S": pk}, "SK": {"S": "X"}}}


def transact(*steps: tuple[str, str]) -> dict:
    items = []
    for kind, pk in steps:
        key = "Item" if kind == "Put" else "Key"
        items.append({kind: {"TableName": "t", key: {"PK": {"S": pk}, "SK": {"S": "X"}}}})
    return {"TransactItems": items}


class Requested(unittest.TestCase):
    def test_each_operation_needs_its_actions_with_the_partition_keys_it_touches(self):
        self.assertEqual(iam.requested("PutItem", put("QUOTE#q")), [("dynamodb:PutItem", ["QUOTE#q"])])
        self.assertEqual(iam.requested("UpdateItem", {"Key": {"PK": {"S": "A#1"}}}),
                         [("dynamodb:UpdateItem", ["A#1"])])
        self.assertEqual(
            iam.requested("TransactWriteItems", transact(("Put", "QUOTE#q"), ("Update", "AGREEMENT#a"),
                                                         ("Delete", "S#1"), ("ConditionCheck", "C#1"))),
            [("dynamodb:PutItem", ["QUOTE#q"]), ("dynamodb:UpdateItem", ["AGREEMENT#a"]),
             ("dynamodb:DeleteItem", ["S#1"]), ("dynamodb:ConditionCheckItem", ["C#1"])])
        batch = {"RequestItems": {"t": [{"PutRequest": {"Item": {"PK": {"S": "A#1"}}}},
                                        {"DeleteRequest": {"Key": {"PK": {"S": "B#1"}}}}]}}
        self.assertEqual(iam.requested("BatchWriteItem", batch), [("dynamodb:BatchWriteItem", ["A#1", "B#1"])])
        self.assertEqual(iam.requested("Query", {"KeyConditionExpression": "PK = :pk"}), [("dynamodb:Query", [])])

    def test_the_app_is_read_from_the_sdks_user_agent(self):
        self.assertEqual(iam.app_of({"x-amz-user-agent": SDK_USER_AGENT.format("punchout-setup")}),
                         "punchout-setup")
        self.assertIsNone(iam.app_of({"user-agent": "python-urllib/3.11"}))


class TemplatePolicies(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.policies = iam.Policies.of_template(load_template())

    def refused(self, app: str, operation: str, body: dict) -> bool:
        return self.policies.refusal(app, operation, body) is not None

    def test_every_function_of_the_template_has_its_statements(self):
        self.assertLessEqual({"punchout-setup", "admin-api", "order-request", "invoice-dispatch",
                              "offer-expiry-check"}, set(self.policies.statements))

    def test_the_catalog_and_setup_write_only_their_own_partitions(self):
        for pk in THE_CATALOGS:
            self.assertFalse(self.refused("punchout-setup", "PutItem", put(pk)), pk)
            self.assertFalse(self.refused("punchout-setup", "TransactWriteItems", transact(("Put", pk))), pk)
        for pk in NOT_THE_CATALOGS:
            self.assertTrue(self.refused("punchout-setup", "PutItem", put(pk)), pk)
            self.assertTrue(self.refused("punchout-setup", "UpdateItem", {"Key": put(pk)["Item"]}), pk)
            # One forbidden item refuses the whole transaction.
            self.assertTrue(self.refused("punchout-setup", "TransactWriteItems",
                                         transact(("Put", "QUOTE#q-1"), ("Put", pk))), pk)
        self.assertTrue(self.refused("punchout-setup", "DeleteItem", {"Key": put("SESSION#s")["Item"]}))
        self.assertTrue(self.refused("punchout-setup", "BatchWriteItem",
                                     {"RequestItems": {"t": [{"PutRequest": put("QUOTE#q")}]}}))

    def test_the_catalog_and_setup_read_anything(self):
        for pk in THE_CATALOGS + NOT_THE_CATALOGS:
            self.assertFalse(self.refused("punchout-setup", "GetItem", {"Key": put(pk)["Item"]}), pk)
        self.assertFalse(self.refused("punchout-setup", "Query", {}))
        # A catalog page's first read: the session, its integration, organisation and product.
        keys = [put(pk)["Item"] for pk in ("SESSION#s", "ORG#o", "PRODUCT#p")]
        self.assertFalse(self.refused("punchout-setup", "BatchGetItem", {"RequestItems": {"t": {"Keys": keys}}}))

    def test_an_orders_first_read_is_one_batch(self):
        keys = [put(pk)["Item"] for pk in ("BUYER#duns#b", "QUOTE#q", "PRODUCT#p")]
        self.assertFalse(self.refused("order-request", "BatchGetItem", {"RequestItems": {"t": {"Keys": keys}}}))

    def test_the_agreement_of_a_pre_approved_subscription_is_the_dispatchers_to_write(self):
        self.assertFalse(self.refused("invoice-dispatch", "TransactWriteItems",
                                      transact(("Put", "QUOTE#q-1"), ("Put", "AGREEMENT#agmt-1"))))

    def test_callers_that_name_no_function_are_not_checked(self):
        self.assertIsNone(self.policies.refusal(None, "DeleteItem", {"Key": put("AGREEMENT#a")["Item"]}))
        self.assertEqual(self.policies.denied(), [])

    def test_an_unknown_condition_is_an_error_not_an_allow(self):
        policies = iam.Policies({"f": [{"Effect": "Allow", "Action": "dynamodb:PutItem",
                                        "Condition": {"StringEquals": {"aws:SourceVpc": "v"}}}]})
        with self.assertRaises(ValueError):
            policies.refusal("f", "PutItem", put("A#1"))


class Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


class ProxyEnforcesThePolicies(unittest.TestCase):
    def setUp(self):
        self.upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
        threading.Thread(target=self.upstream.serve_forever, daemon=True).start()
        self.proxy = serve("127.0.0.1", 0, f"http://127.0.0.1:{self.upstream.server_address[1]}",
                           policies=iam.Policies.of_template(load_template()))
        threading.Thread(target=self.proxy.serve_forever, daemon=True).start()

    def tearDown(self):
        for server in (self.proxy, self.upstream):
            server.shutdown()
            server.server_close()

    def request(self, method: str, path: str, body: bytes = b"", headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.proxy.server_address[1], timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            reply = conn.getresponse()
            return reply.status, reply.read()
        finally:
            conn.close()

    def dynamodb(self, app: str, operation: str, body: dict):
        return self.request("POST", "/", json.dumps(body).encode(), {
            "Authorization": DYNAMODB_AUTH,
            "X-Amz-Target": f"DynamoDB_20120810.{operation}",
            "x-amz-user-agent": SDK_USER_AGENT.format(app),
        })

    def test_a_refused_write_gets_dynamodbs_access_denied_and_is_listed(self):
        status, body = self.dynamodb("punchout-setup", "PutItem", put("AGREEMENT#agmt-1"))
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["__type"], "com.amazon.coral.service#AccessDeniedException")
        self.assertIn("dynamodb:PutItem", json.loads(body)["Message"])
        status, body = self.dynamodb("punchout-setup", "PutItem", put("SESSION#s-1"))
        self.assertEqual((status, body), (200, b"{}"))
        status, body = self.request("GET", "/__iam")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), [{"function": "punchout-setup", "operation": "PutItem",
                                             "action": "dynamodb:PutItem", "keys": ["AGREEMENT#agmt-1"]}])


if __name__ == "__main__":
    unittest.main()
