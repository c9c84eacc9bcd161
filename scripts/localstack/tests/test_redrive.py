"""redrive.py: the dead-letter queue's messages moved back, none lost, none doubled."""

from __future__ import annotations

import json
import unittest

import boto3
from moto import mock_aws

from localstack.redrive import redrive

from .support import clean_env


class Redrive(unittest.TestCase):
    def setUp(self):
        self.env = clean_env()
        self.env.__enter__()
        self.mock = mock_aws()
        self.mock.start()
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.dlq = self.sqs.create_queue(QueueName="invoices-dlq")["QueueUrl"]
        self.queue = self.sqs.create_queue(QueueName="invoices")["QueueUrl"]

    def tearDown(self):
        self.mock.stop()
        self.env.__exit__(None, None, None)

    def bodies(self, url: str) -> list[str]:
        out = []
        while True:
            got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)
            if not got.get("Messages"):
                return sorted(out)
            out += [m["Body"] for m in got["Messages"]]

    def test_every_message_moves_once_with_its_body(self):
        bodies = sorted(json.dumps({"charge_id": f"agmt-{n:02}-1"}) for n in range(23))
        for body in bodies:
            self.sqs.send_message(QueueUrl=self.dlq, MessageBody=body)
        self.assertEqual(redrive(self.sqs, self.dlq, self.queue), 23)
        self.assertEqual(self.bodies(self.queue), bodies)
        self.assertEqual(self.bodies(self.dlq), [])
        self.assertEqual(redrive(self.sqs, self.dlq, self.queue), 0, "nothing left to move")

    def test_a_limit_moves_that_many_and_leaves_the_rest(self):
        for n in range(5):
            self.sqs.send_message(QueueUrl=self.dlq, MessageBody=json.dumps({"charge_id": f"c-{n}"}))
        self.assertEqual(redrive(self.sqs, self.dlq, self.queue, limit=3), 3)
        self.assertEqual(len(self.bodies(self.queue)), 3)
        self.assertEqual(len(self.bodies(self.dlq)), 2)

    def test_a_filter_moves_only_the_named_messages_and_leaves_the_rest_visible(self):
        for n in range(4):
            self.sqs.send_message(QueueUrl=self.dlq, MessageBody=json.dumps({"charge_id": f"c-{n}"}))
        self.assertEqual(redrive(self.sqs, self.dlq, self.queue, containing='"c-2"'), 1)
        self.assertEqual(self.bodies(self.queue), [json.dumps({"charge_id": "c-2"})])
        self.assertEqual(len(self.bodies(self.dlq)), 3, "passed over, visible again at once")


if __name__ == "__main__":
    unittest.main()
