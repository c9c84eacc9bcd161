"""sqs_poller.py: SQS records, Lambda's batch failure rules, the template's sources, the deliveries ledger."""

from __future__ import annotations

import base64
import hashlib
import json
import tempfile
import unittest
import urllib.error
from pathlib import Path
from unittest import mock

from moto import mock_aws

from localstack import config, resources, sqs_poller
from localstack.config import REGION
from localstack.resources import Moto
from localstack.sqs_poller import failed_ids, poll_once, record_deliveries, sqs_record, sqs_sources
from localstack.template import Stack, load_template

from .support import clean_env, quiet, real_stack, synthetic_stack

RECORD_KEYS = {
    "messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
    "eventSource", "eventSourceARN", "awsRegion",
}


class Record(unittest.TestCase):
    def test_shape_of_a_plain_message(self):
        msg = {
            "MessageId": "m1", "ReceiptHandle": "rh", "Body": "hello",
            "Attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1700000000000", "Policy": "not a record attribute"},
        }
        record = sqs_record(msg, "arn:aws:sqs:us-east-1:1:q")
        self.assertEqual(set(record), RECORD_KEYS)
        self.assertEqual(record["messageId"], "m1")
        self.assertEqual(record["receiptHandle"], "rh")
        self.assertEqual(record["body"], "hello")
        self.assertEqual(record["attributes"], {"ApproximateReceiveCount": "2", "SentTimestamp": "1700000000000"})
        self.assertEqual(record["messageAttributes"], {})
        self.assertEqual(record["md5OfBody"], hashlib.md5(b"hello").hexdigest())  # computed when SQS gave none
        self.assertEqual(record["eventSource"], "aws:sqs")
        self.assertEqual(record["eventSourceARN"], "arn:aws:sqs:us-east-1:1:q")
        self.assertEqual(record["awsRegion"], REGION)

    def test_message_attributes_are_camel_case_and_binary_is_base64(self):
        msg = {
            "MessageId": "m1", "ReceiptHandle": "rh", "Body": "b", "MD5OfBody": "given",
            "MD5OfMessageAttributes": "attrs-md5",
            "MessageAttributes": {
                "kind": {"StringValue": "invoice", "DataType": "String"},
                "blob": {"BinaryValue": b"\x00\x01", "DataType": "Binary"},
            },
        }
        record = sqs_record(msg, "arn")
        self.assertEqual(
            record["messageAttributes"],
            {
                "kind": {"stringValue": "invoice", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
                "blob": {"binaryValue": base64.b64encode(b"\x00\x01").decode(), "stringListValues": [],
                         "binaryListValues": [], "dataType": "Binary"},
            },
        )
        self.assertEqual(record["md5OfBody"], "given")
        self.assertEqual(record["md5OfMessageAttributes"], "attrs-md5")


class FailedIds(unittest.TestCase):
    """Lambda's rules for an SQS batch (Lambda developer guide, "Reporting batch item failures")."""

    IDS = ["a", "b", "c"]

    def test_invocation_failure_returns_the_whole_batch(self):
        self.assertEqual(failed_ids(500, None, self.IDS, partial=True), set(self.IDS))
        self.assertEqual(failed_ids(502, "Bad Gateway", self.IDS, partial=False), set(self.IDS))

    def test_function_error_returns_the_whole_batch(self):
        error = {"errorType": "Runtime.ExitError", "errorMessage": "boom"}
        self.assertEqual(failed_ids(200, error, self.IDS, partial=True), set(self.IDS))
        self.assertEqual(failed_ids(200, error, self.IDS, partial=False), set(self.IDS))

    def test_success_without_partial_responses_ignores_the_response(self):
        response = {"batchItemFailures": [{"itemIdentifier": "a"}]}
        self.assertEqual(failed_ids(200, response, self.IDS, partial=False), set())

    def test_empty_or_null_responses_are_complete_successes(self):
        for response in (None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}):
            with self.subTest(response=response):
                self.assertEqual(failed_ids(200, response, self.IDS, partial=True), set())

    def test_a_response_that_is_not_json_fails_the_whole_batch(self):
        for response in ("{not json", "ok", ["a"]):
            with self.subTest(response=response):
                self.assertEqual(failed_ids(200, response, self.IDS, partial=True), set(self.IDS))

    def test_invalid_item_identifiers_fail_the_whole_batch(self):
        for item in ({"itemIdentifier": "unknown"}, {"itemIdentifier": ""}, {"itemIdentifier": None},
                     {"itemId": "a"}, "a"):
            with self.subTest(item=item):
                response = {"batchItemFailures": [{"itemIdentifier": "a"}, item]}
                self.assertEqual(failed_ids(200, response, self.IDS, partial=True), set(self.IDS))

    def test_partial_failure_returns_only_the_reported(self):
        response = {"batchItemFailures": [{"itemIdentifier": "c"}, {"itemIdentifier": "a"}]}
        self.assertEqual(failed_ids(200, response, self.IDS, partial=True), {"a", "c"})


class Sources(unittest.TestCase):
    def test_the_templates_sqs_event(self):
        self.assertEqual(
            sqs_sources(real_stack()),
            [{"function": "invoice-dispatch", "queue": "InvoiceQueue", "batch_size": 3, "partial": True, "timeout": 240}],
        )

    def test_defaults(self):
        text = """
Globals: {Function: {Timeout: 29}}
Resources:
  Q: {Type: AWS::SQS::Queue}
  F:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Jobs: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn}}
        Web: {Type: Api}
  G:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: g-bin}}
    Properties:
      Timeout: 7
      Events:
        Jobs: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn, BatchSize: 3}}
"""
        self.assertEqual(
            sqs_sources(synthetic_stack(text)),
            [
                {"function": "F", "queue": "Q", "batch_size": 10, "partial": False, "timeout": 29},
                {"function": "g-bin", "queue": "Q", "batch_size": 3, "partial": False, "timeout": 7},
            ],
        )
        without_globals = text.replace("Globals: {Function: {Timeout: 29}}", "")
        self.assertEqual(sqs_sources(synthetic_stack(without_globals))[0]["timeout"], 3)  # Lambda's default

    def test_queue_must_be_get_att(self):
        text = """
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Jobs: {Type: SQS, Properties: {Queue: arn:aws:sqs:us-east-1:1:q}}
"""
        with self.assertRaisesRegex(SystemExit, "F: SQS event Queue must be !GetAtt <Queue>.Arn"):
            sqs_sources(synthetic_stack(text))


class LedgerTestCase(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.ledger = Path(tmp.name) / "sqs-deliveries.jsonl"
        patcher = mock.patch.object(config, "DELIVERIES", self.ledger)
        patcher.start()
        self.addCleanup(patcher.stop)

    def lines(self) -> list[dict]:
        if not self.ledger.exists():
            return []
        text = self.ledger.read_text()
        self.assertTrue(text == "" or text.endswith("\n"), "the ledger holds whole lines only")
        return [json.loads(line) for line in text.splitlines()]


class Ledger(LedgerTestCase):
    def test_one_line_per_message_appended(self):
        source = {"queue": "InvoiceQueue", "function": "invoice-dispatch"}
        record_deliveries(source, [
            {"MessageId": "a", "Body": "A", "Attributes": {"ApproximateReceiveCount": "3"}},
            {"MessageId": "b", "Body": "B"},
        ], failed={"b"})
        record_deliveries(source, [{"MessageId": "c", "Body": "C"}], failed=set())
        self.assertEqual(self.lines(), [
            {"queue": "InvoiceQueue", "function": "invoice-dispatch", "message_id": "a", "receive_count": 3,
             "body": "A", "outcome": "deleted"},
            {"queue": "InvoiceQueue", "function": "invoice-dispatch", "message_id": "b", "receive_count": 1,
             "body": "B", "outcome": "returned"},
            {"queue": "InvoiceQueue", "function": "invoice-dispatch", "message_id": "c", "receive_count": 1,
             "body": "C", "outcome": "deleted"},
        ])


class Poller(LedgerTestCase):
    """poll_once against the template's queues on moto.mock_aws, with a stand-in for the function."""

    def setUp(self):
        super().setUp()
        self.mock = mock_aws()
        self.mock.start()
        self.addCleanup(self.mock.stop)
        backend = Moto(create=True, endpoint=None)
        with clean_env():
            self.stack = Stack(load_template(), backend)
        with quiet():
            resources.create_all(self.stack)
            self.sqs = backend.client("sqs")
            self.sources = sqs_sources(self.stack)
            sqs_poller.locate(self.stack, self.sqs, self.sources)
        self.url = self.sources[0]["url"]
        self.invocations: list[tuple[str, dict]] = []

    def send(self, *bodies: str) -> list[str]:
        return [
            self.sqs.send_message(
                QueueUrl=self.url, MessageBody=b,
                MessageAttributes={"kind": {"DataType": "String", "StringValue": "invoice"}},
            )["MessageId"]
            for b in bodies
        ]

    def function(self, status, response):
        """A stand-in for invoke(): records the invocation, answers (status, response)."""
        def invoker(function, event, timeout):
            self.invocations.append((function, event))
            return status, response
        return invoker

    def poll(self, invoker, visibility_timeout=0) -> bool:
        with quiet():
            return poll_once(self.sqs, self.sources, 0, visibility_timeout, 5, invoker)

    def visible(self) -> list[dict]:
        return self.sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=0,
            AttributeNames=["All"],
        ).get("Messages", [])

    def test_the_event_handed_to_the_function(self):
        ids = self.send("one", "two")
        self.assertFalse(self.poll(self.function(200, None)))
        [(function, event)] = self.invocations
        self.assertEqual(function, "invoice-dispatch")
        self.assertEqual([r["messageId"] for r in event["Records"]], ids)
        record = event["Records"][0]
        self.assertTrue(RECORD_KEYS <= set(record))
        self.assertEqual(record["eventSourceARN"], self.stack.ensure("InvoiceQueue")["Arn"])
        self.assertEqual(record["attributes"]["ApproximateReceiveCount"], "1")
        self.assertEqual(record["messageAttributes"]["kind"]["stringValue"], "invoice")
        self.assertEqual(record["md5OfBody"], hashlib.md5(b"one").hexdigest())

    def test_partial_failure_deletes_the_rest_and_records_each(self):
        a, b, c = self.send("A", "B", "C")
        self.poll(self.function(200, {"batchItemFailures": [{"itemIdentifier": b}]}))
        self.assertEqual(
            [(d["message_id"], d["body"], d["receive_count"], d["outcome"]) for d in self.lines()],
            [(a, "A", 1, "deleted"), (b, "B", 1, "returned"), (c, "C", 1, "deleted")],
        )
        self.assertEqual({d["queue"] for d in self.lines()}, {"InvoiceQueue"})
        self.assertEqual({d["function"] for d in self.lines()}, {"invoice-dispatch"})
        # The returned one is redelivered (visibility timeout 0 here), the others are gone.
        self.assertEqual([m["MessageId"] for m in self.visible()], [b])

    def test_a_returned_message_comes_back_with_its_receive_count(self):
        [a] = self.send("A")
        self.poll(self.function(500, {"errorType": "Unhandled"}))
        self.poll(self.function(200, {}))
        self.assertEqual(
            [(d["message_id"], d["receive_count"], d["outcome"]) for d in self.lines()],
            [(a, 1, "returned"), (a, 2, "deleted")],
        )
        self.assertEqual(self.visible(), [])

    def test_invocation_failure_returns_the_whole_batch(self):
        ids = self.send("A", "B")
        self.poll(self.function(500, "Internal Server Error"))
        self.assertEqual([d["outcome"] for d in self.lines()], ["returned", "returned"])
        self.assertEqual(sorted(m["MessageId"] for m in self.visible()), sorted(ids))

    def test_without_the_override_the_queues_visibility_timeout_holds_a_failed_message(self):
        self.send("A")
        self.poll(self.function(500, None), visibility_timeout=None)
        self.assertEqual([d["outcome"] for d in self.lines()], ["returned"])
        # 1440 s on the template's queue: not visible again now.
        self.assertEqual(
            self.sqs.receive_message(QueueUrl=self.url, WaitTimeSeconds=0).get("Messages", []), [],
        )

    def test_unreachable_function_settles_nothing(self):
        [a] = self.send("A")

        def down(function, event, timeout):
            raise urllib.error.URLError("connection refused")

        with mock.patch.object(sqs_poller.time, "sleep") as slept:
            self.assertFalse(self.poll(down))
        slept.assert_called_once_with(2)
        self.assertEqual(self.lines(), [])  # no outcome yet: the message was neither deleted nor returned
        self.assertEqual([m["MessageId"] for m in self.visible()], [a])

    def test_empty_queue_is_idle(self):
        self.assertTrue(self.poll(self.function(200, None)))
        self.assertEqual(self.invocations, [])
        self.assertEqual(self.lines(), [])

    def test_batches_are_at_most_ten(self):
        self.send(*[str(i) for i in range(12)])
        self.poll(self.function(200, None))
        [(_, event)] = self.invocations
        self.assertLessEqual(len(event["Records"]), 10)
        self.assertEqual(len(self.lines()), len(event["Records"]))


if __name__ == "__main__":
    unittest.main()
